//! `Harness::settle()` returns when the work is done, not after a moment of
//! silence: a handler that takes 20 ms is waited for, and the child event
//! it publishes (and the handling of that child) is in the record, every
//! time. A settle that waits for a quiet window shorter than the handler
//! returns before the child is published, and fails here.
#![cfg(feature = "test-harness")]

use std::time::Duration;

use maiko::{testing::Harness, *};

#[derive(Event, Label, Clone, Debug, PartialEq)]
enum Job {
    Slow(u32),
    Done(u32),
}

/// Takes 20 ms per job (simulated work), then reports it done.
struct Worker {
    ctx: Context<Job>,
}

impl Actor for Worker {
    type Event = Job;

    async fn handle_event(&mut self, envelope: &Envelope<Job>) -> Result {
        if let Job::Slow(n) = *envelope.event() {
            tokio::time::sleep(Duration::from_millis(20)).await;
            self.ctx
                .send_child_event(Job::Done(n), envelope.id())
                .await?;
        }
        Ok(())
    }
}

struct Ledger;

impl Actor for Ledger {
    type Event = Job;
}

const ROUNDS: u32 = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settle_waits_for_a_slow_handler_and_records_its_child() -> Result {
    for round in 0..ROUNDS {
        let mut sup = Supervisor::<Job>::default();
        let worker = sup.add_actor("worker", |ctx| Worker { ctx }, [DefaultTopic])?;
        let ledger = sup.add_actor("ledger", |_| Ledger, [DefaultTopic])?;
        let mut test = Harness::new(&mut sup).await;
        sup.start().await?;

        let job = test
            .send_as(&ActorId::new("client"), Job::Slow(round))
            .await?;
        test.settle().await;

        // The child reaches the ledger (a publisher never receives its own
        // event): the job to both actors, then the child to the ledger.
        let children = test.event(job).children();
        assert_eq!(children.count(), 1, "round {round}: the child is recorded");
        let done = children.first().expect("the child event");
        assert_eq!(*done.payload(), Job::Done(round));
        assert_eq!(done.sender(), &worker);
        assert!(test.event(done.id()).was_delivered_to(&ledger));
        assert_eq!(test.event_count(), 3, "round {round}");
        sup.stop().await?;
    }
    Ok(())
}
