//! The shutdown report balances also when the deadline aborts a routing
//! loop in the middle of a batch and an actor in the middle of a handler
//! (the report's rule in the `maiko::shutdown` guide: every copy routed to
//! an actor is settled exactly once).
//!
//! A ledger handles every event at once; an auditor holds its first event
//! and ignores the shutdown signal. Every event is accepted before the
//! supervisor starts, so the routing loop takes a full batch at once and
//! then waits, under `Block`, for room in the auditor's full mailbox with
//! the rest of the batch still in its hands. The deadline then aborts the
//! auditor (with an event in its handler and more in its mailbox) and the
//! routing loop (with copies delivered to the ledger not yet added to its
//! counts, and events never routed).
//!
//! Runs under paused time: the deadline and the grace pass instantly.

use std::time::Duration;

use maiko::*;
use tokio::sync::oneshot;

#[derive(Event, Clone, Debug)]
struct Entry;

/// Events accepted before the start: more than one routing batch.
const EVENTS: u32 = 100;

/// The auditor's mailbox: full long before the batch is through.
const AUDITOR_MAILBOX: usize = 4;

struct Ledger;

impl Actor for Ledger {
    type Event = Entry;
}

/// Holds its first event for ever, ignoring the shutdown signal.
struct Auditor {
    entered: Option<oneshot::Sender<()>>,
}

impl Actor for Auditor {
    type Event = Entry;

    async fn handle_event(&mut self, _envelope: &Envelope<Entry>) -> Result {
        if let Some(entered) = self.entered.take() {
            let _ = entered.send(());
        }
        std::future::pending::<()>().await;
        Ok(())
    }
}

/// Register the two actors and accept every event, before the start.
async fn accept_every_event() -> (Supervisor<Entry>, oneshot::Receiver<()>) {
    let config = SupervisorConfig::default()
        .with_broker_channel_capacity(EVENTS as usize)
        .with_default_actor_channel_capacity(EVENTS as usize)
        .with_shutdown_timeout(Duration::from_secs(5))
        .with_shutdown_grace(Duration::from_millis(100));
    let mut sup = Supervisor::<Entry>::new(config);
    sup.add_actor("ledger", |_| Ledger, [DefaultTopic])
        .expect("a valid actor");
    let (entered, auditor_entered) = oneshot::channel();
    sup.build_actor("auditor", |_| Auditor {
        entered: Some(entered),
    })
    .topics([DefaultTopic])
    .channel_capacity(AUDITOR_MAILBOX)
    .build()
    .expect("a valid actor");
    for _ in 0..EVENTS {
        sup.send(Entry).await.expect("accepted before the start");
    }
    (sup, auditor_entered)
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn an_abort_in_the_middle_of_a_batch_and_of_a_handler_leaves_a_balanced_report() {
    let (mut sup, auditor_entered) = accept_every_event().await;
    sup.start().await.expect("start");
    auditor_entered
        .await
        .expect("the auditor holds its first event");

    let report = sup.shutdown().await;

    assert!(report.deadline_hit, "{report}");
    let ledger = report.actor("ledger").expect("ledger in the report");
    let auditor = report.actor("auditor").expect("auditor in the report");
    assert_eq!(auditor.outcome, ActorOutcome::Aborted, "{report}");
    for actor in [ledger, auditor] {
        assert!(actor.is_balanced(), "unbalanced: {actor:?}\n{report}");
        // Every accepted event was either routed to this actor (and then
        // settled) or never routed to anyone.
        assert_eq!(
            actor.routed + report.unrouted,
            u64::from(EVENTS),
            "routed to {} plus unrouted is not what was accepted\n{report}",
            actor.actor
        );
    }
    // The routing loop was stopped in the middle of its first batch.
    assert!(report.unrouted > 0, "{report}");
    assert!(ledger.routed > AUDITOR_MAILBOX as u64, "{report}");
    // The ledger handled every copy it was given.
    assert_eq!(ledger.handled, ledger.routed, "{report}");
    // The event in the auditor's hands at the abort is counted as
    // interrupted; the rest of what reached it as abandoned.
    assert_eq!(auditor.handled, 0, "{report}");
    assert_eq!(auditor.interrupted, 1, "{report}");
    assert_eq!(auditor.abandoned, auditor.routed - 1, "{report}");
    assert_eq!(
        auditor.stuck_in.as_deref(),
        Some("handling an event of topic 'default'")
    );
}
