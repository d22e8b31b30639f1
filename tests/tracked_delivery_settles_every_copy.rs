//! A tracked publish (`send_tracked`) resolves once every copy of its event
//! is settled, and says how each one was: handled by every subscriber,
//! dropped under `OverflowPolicy::Drop`, lost to a failed actor, interrupted
//! or abandoned at the shutdown deadline. An event nobody subscribes to
//! resolves at once; dropping a `Delivery` changes nothing for its event.

mod support;

use std::time::Duration;

use maiko::*;
use support::{Door, poll_once, within};

#[derive(Event, Clone, Debug)]
enum Job {
    /// Handled by whoever subscribes to `Work`; `Job::Work(0)` waits at the
    /// door.
    Work(u32),
    /// Makes `fragile` panic.
    Poison,
    /// Of a topic nobody subscribes to.
    Nobody,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Lane {
    Work,
    Nobody,
}

impl Topic<Job> for Lane {
    fn from_event(job: &Job) -> Self {
        match job {
            Job::Work(_) | Job::Poison => Lane::Work,
            Job::Nobody => Lane::Nobody,
        }
    }
}

/// Waits at the door on `Work(0)`, panics on `Poison`.
struct Worker {
    door: Door,
}

impl Actor for Worker {
    type Event = Job;

    async fn handle_event(&mut self, envelope: &Envelope<Job>) -> Result {
        match envelope.event() {
            Job::Work(0) => self.door.pass().await,
            Job::Poison => panic!("poisoned"),
            _ => {}
        }
        Ok(())
    }
}

fn worker(door: &Door) -> impl FnOnce(Context<Job>) -> Worker + use<> {
    let door = door.clone();
    move |_| Worker { door }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolves_once_every_subscriber_handled_it() -> Result {
    let (held, free) = (Door::new(), Door::new());
    free.open();
    let mut sup = Supervisor::<Job, Lane>::default();
    sup.add_actor("held", worker(&held), [Lane::Work])?;
    sup.add_actor("free", worker(&free), [Lane::Work])?;
    sup.start().await?;

    let mut delivery = sup.send_tracked(Job::Work(0)).await?;
    held.arrivals(1).await;
    free.arrivals(1).await;
    assert!(
        poll_once(&mut delivery).await.is_pending(),
        "resolved while `held` is still in its handler"
    );
    held.open();
    let outcome = within("the delivery", delivery).await;
    assert_eq!((outcome.handled, outcome.is_handled()), (2, true));

    let report = sup.shutdown().await;
    assert!(report.is_clean(), "{report}");
    Ok(())
}

#[tokio::test]
async fn an_event_nobody_subscribes_to_resolves_at_once() -> Result {
    let door = Door::new();
    let mut sup = Supervisor::<Job, Lane>::default();
    sup.add_actor("worker", worker(&door), [Lane::Work])?;
    sup.start().await?;

    let outcome = within("the delivery", sup.send_tracked(Job::Nobody).await?).await;
    assert_eq!(outcome.handled, 0);
    assert!(outcome.is_handled());
    assert!(sup.shutdown().await.is_clean());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_copy_is_reported() -> Result {
    /// `Work` with the `Drop` policy.
    #[derive(Clone, Debug, Hash, PartialEq, Eq)]
    struct Lossy;
    impl Topic<Job> for Lossy {
        fn from_event(_: &Job) -> Self {
            Lossy
        }
        fn overflow_policy(&self) -> OverflowPolicy {
            OverflowPolicy::Drop
        }
    }

    let door = Door::new();
    let mut sup = Supervisor::<Job, Lossy>::default();
    let door_in = door.clone();
    sup.build_actor("slow", move |_| Worker { door: door_in })
        .topics([Lossy])
        .channel_capacity(1)
        .build()?;
    sup.start().await?;

    sup.send(Job::Work(0)).await?;
    door.arrivals(1).await; // the mailbox's one slot is free again
    let mut queued = sup.send_tracked(Job::Work(1)).await?;
    let spilled = sup.send_tracked(Job::Work(2)).await?;
    let outcome = within("the dropped copy", spilled).await;
    assert_eq!((outcome.handled, outcome.dropped), (0, 1));
    assert!(!outcome.is_handled());
    assert!(poll_once(&mut queued).await.is_pending());

    door.open();
    let outcome = within("the queued copy", queued).await;
    assert_eq!((outcome.handled, outcome.dropped), (1, 0));
    let report = sup.shutdown().await;
    assert_eq!(report.actor("slow").unwrap().dropped, 1, "{report}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_lost_to_a_failed_actor_is_reported() -> Result {
    let door = Door::new();
    door.open();
    // The rest keeps running after the failure, so later events are still
    // routed to the failed actor (and lost).
    let config = SupervisorConfig::default().with_stop_on_failure(false);
    let mut sup = Supervisor::<Job, Lane>::new(config);
    sup.add_actor("fragile", worker(&door), [Lane::Work])?;
    sup.add_actor("sturdy", |_| Sturdy, [Lane::Work])?;
    sup.start().await?;

    let poison = within("the poisoned event", sup.send_tracked(Job::Poison).await?).await;
    assert_eq!((poison.handled, poison.lost), (1, 1), "{poison:?}");
    let after = within("a later event", sup.send_tracked(Job::Work(1)).await?).await;
    assert_eq!((after.handled, after.lost), (1, 1), "{after:?}");

    let report = sup.shutdown().await;
    let fragile = report.actor("fragile").unwrap();
    assert_eq!((fragile.routed, fragile.lost), (2, 2), "{report}");
    Ok(())
}

/// Handles everything, including `Poison`.
struct Sturdy;

impl Actor for Sturdy {
    type Event = Job;
}

#[tokio::test(start_paused = true)]
async fn copies_cut_short_by_the_deadline_are_reported() -> Result {
    let config = SupervisorConfig::default()
        .with_shutdown_timeout(Duration::from_secs(2))
        .with_shutdown_grace(Duration::from_secs(1));
    let door = Door::new(); // never opened: the handler ignores the signal
    let mut sup = Supervisor::<Job, Lane>::new(config);
    sup.add_actor("stuck", worker(&door), [Lane::Work])?;
    sup.start().await?;

    let in_hand = sup.send_tracked(Job::Work(0)).await?;
    let queued = sup.send_tracked(Job::Work(1)).await?;
    door.arrivals(1).await;
    let report = sup.shutdown().await;
    assert!(report.deadline_hit, "{report}");

    let in_hand = within("the copy in hand", in_hand).await;
    assert_eq!((in_hand.handled, in_hand.interrupted), (0, 1));
    let queued = within("the queued copy", queued).await;
    assert_eq!((queued.handled, queued.abandoned), (0, 1));
    assert!(
        report.actors.iter().all(ActorReport::is_balanced),
        "{report}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_delivery_changes_nothing_for_the_event() -> Result {
    let door = Door::new();
    let mut sup = Supervisor::<Job, Lane>::default();
    sup.add_actor("worker", worker(&door), [Lane::Work])?;
    sup.start().await?;

    let mut delivery = sup.send_tracked(Job::Work(0)).await?;
    door.arrivals(1).await;
    assert!(poll_once(&mut delivery).await.is_pending());
    drop(delivery);
    drop(sup.send_tracked(Job::Work(1)).await?);
    door.open();

    let report = sup.shutdown().await;
    assert_eq!(report.actor("worker").unwrap().handled, 2, "{report}");
    assert!(report.is_clean(), "{report}");
    Ok(())
}

#[tokio::test]
async fn refused_after_the_stop_with_the_event_back() -> Result {
    let door = Door::new();
    let mut sup = Supervisor::<Job, Lane>::default();
    sup.add_actor("worker", worker(&door), [Lane::Work])?;
    sup.start().await?;
    let handle = sup.handle();
    sup.stop().await?;

    let refused = handle.send_tracked(Job::Work(7)).await.unwrap_err();
    assert!(matches!(refused.into_event(), Job::Work(7)));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_can_track_what_it_publishes() -> Result {
    /// On `Work(1)`, publishes `Work(2)` tracked and records the outcome.
    struct Relay {
        ctx: Context<Job>,
        outcomes: tokio::sync::mpsc::UnboundedSender<DeliveryOutcome>,
    }
    impl Actor for Relay {
        type Event = Job;
        async fn handle_event(&mut self, envelope: &Envelope<Job>) -> Result {
            if let Job::Work(1) = envelope.event() {
                let delivery = self.ctx.send_tracked(Job::Work(2)).await?;
                let outcomes = self.outcomes.clone();
                tokio::spawn(async move { outcomes.send(delivery.await) });
            }
            Ok(())
        }
    }

    let (outcomes, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let door = Door::new();
    door.open();
    let mut sup = Supervisor::<Job, Lane>::default();
    sup.add_actor("relay", |ctx| Relay { ctx, outcomes }, [Lane::Work])?;
    sup.add_actor("a", worker(&door), [Lane::Work])?;
    sup.add_actor("b", worker(&door), [Lane::Work])?;
    sup.start().await?;

    sup.send(Job::Work(1)).await?;
    let outcome = within("the relayed delivery", seen.recv()).await.unwrap();
    // Every subscriber but the publisher itself.
    assert_eq!((outcome.handled, outcome.is_handled()), (2, true));
    assert!(sup.shutdown().await.is_clean());
    Ok(())
}
