//! Under `OverflowPolicy::Fail`, a subscriber whose mailbox overflows is
//! stopped as failed, and this is reported, not silent: `stop()` returns
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
use support::overflow::{Job, Outcome, overflow_one_slot_mailbox};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overflow_under_fail_is_reported_as_the_subscribers_failure() -> Result {
    let Outcome {
        stopped,
        report,
        log,
    } = overflow_one_slot_mailbox(Strict).await?;

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
    assert_eq!(log, ["slow handled 0", "slow on_shutdown"]);

    let witness = report.actor("witness").unwrap();
    assert_eq!(witness.outcome, ActorOutcome::Completed, "{report}");
    assert_eq!(
        witness.handled,
        u64::from(support::overflow::JOBS),
        "{report}"
    );
    assert!(
        report.actors.iter().all(ActorReport::is_balanced),
        "{report}"
    );
    assert!(!report.is_clean(), "{report}");
    Ok(())
}
