//! Under `OverflowPolicy::Drop`, an event that finds a subscriber's mailbox
//! full is dropped for that subscriber only and counted, per actor, in the
//! report's `dropped`; every count balances, the subscriber keeps running
//! and completes, other subscribers get every event, and `stop()` returns
//! `Ok` (dropping is by design, not a failure).
//!
//! The subscriber has a one-slot mailbox and holds `Job(0)` in its handler
//! while `Job(1)` to `Job(4)` arrive: `Job(1)` fills the slot, the other
//! three are dropped.

mod support;

use maiko::*;
use support::{Door, Log, within};
use tokio::sync::mpsc;

#[derive(Event, Clone, Debug)]
struct Job(u32);

/// The one topic, with the `Drop` policy.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Lossy;

impl Topic<Job> for Lossy {
    fn from_event(_job: &Job) -> Self {
        Lossy
    }

    fn overflow_policy(&self) -> OverflowPolicy {
        OverflowPolicy::Drop
    }
}

const JOBS: u32 = 5;

struct Slow {
    log: Log,
    door: Door,
}

impl Actor for Slow {
    type Event = Job;

    async fn handle_event(&mut self, envelope: &Envelope<Job>) -> Result {
        let Job(n) = *envelope.event();
        if n == 0 {
            self.door.pass().await;
        }
        self.log.push(format!("slow handled {n}"));
        Ok(())
    }
}

/// Registered after `slow`, so when it has seen a job the broker has
/// already tried to deliver that job to `slow`.
struct Witness {
    seen: mpsc::UnboundedSender<u32>,
}

impl Actor for Witness {
    type Event = Job;

    async fn handle_event(&mut self, envelope: &Envelope<Job>) -> Result {
        let _ = self.seen.send(envelope.event().0);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_events_are_counted_per_actor_and_stop_is_ok() -> Result {
    let (log, door) = (Log::new(), Door::new());
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let mut sup = Supervisor::<Job, Lossy>::default();
    let (slow_log, slow_door) = (log.clone(), door.clone());
    sup.build_actor("slow", move |_| Slow {
        log: slow_log,
        door: slow_door,
    })
    .topics([Lossy])
    .channel_capacity(1)
    .build()?;
    sup.add_actor("witness", move |_| Witness { seen: seen_tx }, [Lossy])?;
    sup.start().await?;
    let handle = sup.handle();

    sup.send(Job(0)).await?;
    door.arrivals(1).await; // Job(0) is out of the mailbox, in the handler
    for n in 1..JOBS {
        sup.send(Job(n)).await?;
    }
    for n in 0..JOBS {
        assert_eq!(within("the witness", seen.recv()).await, Some(n));
    }
    door.open();

    let stopped = sup.stop().await;
    let report = handle.stopped().await;

    assert_eq!(stopped, Ok(()), "{report}");
    assert_eq!(log.entries(), ["slow handled 0", "slow handled 1"]);
    let slow = report.actor("slow").unwrap();
    assert_eq!(slow.outcome, ActorOutcome::Completed, "{report}");
    assert_eq!(
        (slow.routed, slow.handled, slow.dropped, slow.lost),
        (5, 2, 3, 0),
        "{report}"
    );
    let witness = report.actor("witness").unwrap();
    assert_eq!((witness.handled, witness.dropped), (5, 0), "{report}");
    assert!(
        report.actors.iter().all(ActorReport::is_balanced),
        "{report}"
    );
    assert!(
        !report.is_clean(),
        "a drop makes the report not clean\n{report}"
    );
    Ok(())
}
