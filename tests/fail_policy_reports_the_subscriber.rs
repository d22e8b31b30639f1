//! Under `OverflowPolicy::Fail`, a subscriber whose mailbox overflows is
//! stopped as failed, and this is reported, not silent (maiko 0.3.1 killed
//! the consumer and `stop()` still returned `Ok`): `stop()` returns
//! `Error::ActorFailed` naming it with `Error::MailboxOverflow`, the report
//! shows it `Failed` with the overflowing and later events counted as
//! `lost`, every count balances, its `on_shutdown` still runs, and other
//! subscribers of the same topic get every event.
//!
//! The subscriber has a one-slot mailbox and holds `Job(0)` in its handler
//! while `Job(1)` to `Job(4)` arrive: `Job(1)` fills the slot, `Job(2)`
//! overflows.

mod support;

use maiko::*;
use support::{Door, Log, within};
use tokio::sync::mpsc;

#[derive(Event, Clone, Debug)]
struct Job(u32);

/// The one topic, with the `Fail` policy.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Strict;

impl Topic<Job> for Strict {
    fn from_event(_job: &Job) -> Self {
        Strict
    }

    fn overflow_policy(&self) -> OverflowPolicy {
        OverflowPolicy::Fail
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

    async fn on_shutdown(&mut self) -> Result {
        self.log.push("slow on_shutdown");
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
async fn overflow_under_fail_is_reported_as_the_subscribers_failure() -> Result {
    let (log, door) = (Log::new(), Door::new());
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let mut sup = Supervisor::<Job, Strict>::default();
    let (slow_log, slow_door) = (log.clone(), door.clone());
    sup.build_actor("slow", move |_| Slow {
        log: slow_log,
        door: slow_door,
    })
    .topics([Strict])
    .channel_capacity(1)
    .build()?;
    sup.add_actor("witness", move |_| Witness { seen: seen_tx }, [Strict])?;
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

    let overflow = Error::MailboxOverflow(ActorId::new("slow"));
    assert_eq!(
        stopped,
        Err(Error::ActorFailed {
            actor: ActorId::new("slow"),
            error: overflow.clone().into(),
        }),
        "{report}"
    );
    let slow = report.actor("slow").unwrap();
    assert_eq!(slow.outcome, ActorOutcome::Failed(overflow), "{report}");
    // Job(0) handled; Job(1) was in the mailbox when it failed, Job(2)
    // overflowed, Job(3) and Job(4) came after: all lost.
    assert_eq!(
        (slow.routed, slow.handled, slow.lost),
        (5, 1, 4),
        "{report}"
    );
    assert_eq!(log.entries(), ["slow handled 0", "slow on_shutdown"]);

    let witness = report.actor("witness").unwrap();
    assert_eq!(witness.outcome, ActorOutcome::Completed, "{report}");
    assert_eq!(witness.handled, u64::from(JOBS), "{report}");
    assert!(
        report.actors.iter().all(ActorReport::is_balanced),
        "{report}"
    );
    assert!(!report.is_clean(), "{report}");
    Ok(())
}
