//! `SupervisorHandle::snapshot()` gives live figures of a running
//! supervisor: per actor what was routed to it, handled and queued, and its
//! state and what it is doing; for the runtime what is in flight. Taken
//! while an actor holds an event at a door with more waiting behind it.

mod support;

use std::sync::Arc;

use maiko::*;
use support::{Door, until, within};
use tokio::sync::Notify;

#[derive(Event, Clone, Debug)]
struct Job(u32);

struct Slow {
    door: Door,
}

impl Actor for Slow {
    type Event = Job;

    async fn handle_event(&mut self, envelope: &Envelope<Job>) -> Result {
        if envelope.event().0 == 0 {
            self.door.pass().await;
        }
        Ok(())
    }
}

/// Tells the test when it has handled job 4: by then every job was routed
/// to the slow actor too (each job goes to the slow actor first).
struct Fast {
    done: Arc<Notify>,
}

impl Actor for Fast {
    type Event = Job;

    async fn handle_event(&mut self, envelope: &Envelope<Job>) -> Result {
        if envelope.event().0 == 4 {
            self.done.notify_one();
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_shows_routed_handled_queued_and_what_each_actor_does() -> Result {
    let door = Door::new();
    let mut sup = Supervisor::<Job>::default();
    let slow_door = door.clone();
    sup.add_actor("slow", move |_| Slow { door: slow_door }, [DefaultTopic])?;
    let done = Arc::new(Notify::new());
    let fast_done = Arc::clone(&done);
    sup.add_actor("fast", move |_| Fast { done: fast_done }, [DefaultTopic])?;
    let handle = sup.handle();
    let before = handle.snapshot();
    assert_eq!(before.actors.len(), 2);
    assert_eq!(before.actor("slow").unwrap().state, ActorState::Starting);
    sup.start().await?;

    sup.send(Job(0)).await?;
    door.arrivals(1).await;
    for n in 1..=4 {
        sup.send(Job(n)).await?;
    }
    within("the fast actor to handle job 4", done.notified()).await;
    // The slow actor reached the door inside its handler; the runtime
    // records what it is doing once the handler's poll returns, a moment
    // later, and signals nobody: a bounded look at the snapshot.
    let snapshot = until("the slow actor's activity to be recorded", || {
        let snapshot = handle.snapshot();
        let doing = &snapshot.actor("slow").unwrap().doing;
        (doing != "idle").then_some(snapshot)
    })
    .await;
    let slow = snapshot.actor("slow").unwrap();
    assert_eq!(
        (slow.routed, slow.handled, slow.queued),
        (5, 0, 5),
        "{snapshot}"
    );
    assert_eq!(slow.state, ActorState::Running);
    assert_eq!(slow.doing, "handling an event of topic 'default'");
    // The fast actor adds its counts once per batch, and how the five jobs
    // fall into batches depends on scheduling: what it has not counted yet
    // shows as queued.
    let fast = snapshot.actor("fast").unwrap();
    assert_eq!(fast.routed, 5, "{snapshot}");
    assert!(fast.handled >= 1, "{snapshot}");
    assert_eq!(fast.handled + fast.queued, 5, "{snapshot}");
    assert!(
        snapshot.in_flight >= 5,
        "the slow actor's five, at least: {snapshot}"
    );
    assert!(!snapshot.stopping && !snapshot.finished);
    assert!(snapshot.to_string().contains("slow: running"), "{snapshot}");

    door.open();
    sup.stop().await?;
    let after = handle.snapshot();
    let slow = after.actor("slow").unwrap();
    assert_eq!((slow.handled, slow.queued), (5, 0));
    let fast = after.actor("fast").unwrap();
    assert_eq!(
        (fast.routed, fast.handled, fast.queued),
        (5, 5, 0),
        "{after}"
    );
    assert_eq!(slow.state, ActorState::Ended(ActorOutcome::Completed));
    assert!(after.finished && after.in_flight == 0, "{after}");
    Ok(())
}
