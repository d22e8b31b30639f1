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
use support::overflow::{Lossy, Outcome, overflow_one_slot_mailbox};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_events_are_counted_per_actor_and_stop_is_ok() -> Result {
    let Outcome {
        stopped,
        report,
        log,
    } = overflow_one_slot_mailbox(Lossy).await?;

    assert_eq!(stopped, Ok(()), "{report}");
    assert_eq!(
        log,
        ["slow handled 0", "slow handled 1", "slow on_shutdown"]
    );
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
