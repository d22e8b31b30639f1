//! The harness's record is the same on every run of the same program, also
//! on a multi-thread runtime where the actors' tasks interleave differently
//! each time: the record follows causality and each actor's own order, not
//! the scheduling.
//!
//! The program fans out: a splitter sends each order to two workers, each
//! worker answers on its own lane, and a sink per lane records. 50 runs on a
//! 2-worker runtime must give identical records (sender, receiver, event,
//! and which earlier entry is the event's parent).
#![cfg(feature = "test-harness")]

use maiko::{testing::Harness, *};

#[derive(Event, Label, Clone, Debug, PartialEq, Eq, Hash)]
enum Work {
    Order(u32),
    Part { order: u32, lane: u8 },
    Done { order: u32, lane: u8 },
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Lane {
    Orders,
    Parts(u8),
    Done(u8),
}

impl Topic<Work> for Lane {
    fn from_event(event: &Work) -> Self {
        match *event {
            Work::Order(_) => Lane::Orders,
            Work::Part { lane, .. } => Lane::Parts(lane),
            Work::Done { lane, .. } => Lane::Done(lane),
        }
    }
}

/// Splits each order into a part per lane.
struct Splitter {
    ctx: Context<Work>,
}

impl Actor for Splitter {
    type Event = Work;

    async fn handle_event(&mut self, envelope: &Envelope<Work>) -> Result {
        if let Work::Order(order) = *envelope.event() {
            for lane in 0..2 {
                let part = Work::Part { order, lane };
                self.ctx.send_child_event(part, envelope.id()).await?;
            }
        }
        Ok(())
    }
}

/// Works on the parts of one lane and reports them done.
struct Worker {
    ctx: Context<Work>,
}

impl Actor for Worker {
    type Event = Work;

    async fn handle_event(&mut self, envelope: &Envelope<Work>) -> Result {
        if let Work::Part { order, lane } = *envelope.event() {
            tokio::task::yield_now().await;
            let done = Work::Done { order, lane };
            self.ctx.send_child_event(done, envelope.id()).await?;
        }
        Ok(())
    }
}

struct Sink;

impl Actor for Sink {
    type Event = Work;
}

/// One entry as compared across runs: sender, receiver, event, and the
/// position of the first entry of its parent event (ids differ per run).
type Line = (String, String, Work, Option<usize>);

async fn one_run() -> Vec<Line> {
    let mut sup = Supervisor::<Work, Lane>::default();
    sup.add_actor("splitter", |ctx| Splitter { ctx }, [Lane::Orders])
        .unwrap();
    for lane in 0..2 {
        sup.add_actor(
            &format!("worker{lane}"),
            |ctx| Worker { ctx },
            [Lane::Parts(lane)],
        )
        .unwrap();
        sup.add_actor(&format!("sink{lane}"), |_| Sink, [Lane::Done(lane)])
            .unwrap();
    }
    let mut test = Harness::new(&mut sup).await;
    sup.start().await.unwrap();
    let client = ActorId::new("client");
    for order in 0..10 {
        test.send_as(&client, Work::Order(order)).await.unwrap();
    }
    test.settle().await;
    sup.stop().await.unwrap();

    let entries = test.events().all_deliveries();
    entries
        .iter()
        .map(|entry| {
            let parent = entry
                .meta()
                .parent_id()
                .and_then(|p| entries.iter().position(|e| e.id() == p));
            (
                entry.sender().to_string(),
                entry.receiver().to_string(),
                entry.payload().clone(),
                parent,
            )
        })
        .collect()
}

#[test]
fn fifty_runs_on_a_multi_thread_runtime_give_the_same_record() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let first = runtime.block_on(one_run());
    // 10 orders, 20 parts, 20 done: one entry each.
    assert_eq!(first.len(), 50, "{first:#?}");
    for run in 1..50 {
        let again = runtime.block_on(one_run());
        assert_eq!(again, first, "run {run} differs from run 0");
    }
}
