//! `stop()` on a supervisor that was never started returns at once with
//! `Ok`, and events accepted by `send()` before the start are still handled
//! (guarantee G1 of the `maiko::shutdown` guide): `stop()` starts the actors
//! only to drain them.
//!
//! Paused time: any wait on a timer would show up as virtual time passing.

mod support;

use std::sync::{
    Arc,
    atomic::{AtomicU32, Ordering},
};

use maiko::*;
use support::within;
use tokio::time::Instant;

#[derive(Event, Clone, Debug)]
struct Job;

struct Counter {
    handled: Arc<AtomicU32>,
}

impl Actor for Counter {
    type Event = Job;

    async fn handle_event(&mut self, _envelope: &Envelope<Job>) -> Result {
        self.handled.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn stop_without_start_or_actors_returns_ok_at_once() {
    let sup = Supervisor::<Job>::default();
    let before = Instant::now();
    within("stop() before start()", sup.stop()).await.unwrap();
    assert_eq!(Instant::now(), before, "virtual time passed");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn stop_without_start_returns_ok_at_once() -> Result {
    let handled = Arc::new(AtomicU32::new(0));
    let mut sup = Supervisor::<Job>::default();
    let counter = Arc::clone(&handled);
    sup.add_actor(
        "counter",
        move |_| Counter { handled: counter },
        [DefaultTopic],
    )?;
    let handle = sup.handle();

    let before = Instant::now();
    within("stop() before start()", sup.stop()).await?;
    assert_eq!(Instant::now(), before, "virtual time passed");

    let report = handle.stopped().await;
    assert!(report.is_clean(), "{report}");
    assert_eq!(handled.load(Ordering::SeqCst), 0);
    Ok(())
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn events_sent_before_start_are_handled_by_stop() -> Result {
    let handled = Arc::new(AtomicU32::new(0));
    let mut sup = Supervisor::<Job>::default();
    let counter = Arc::clone(&handled);
    sup.add_actor(
        "counter",
        move |_| Counter { handled: counter },
        [DefaultTopic],
    )?;
    let handle = sup.handle();
    for _ in 0..5 {
        sup.send(Job).await?;
    }

    let before = Instant::now();
    within("stop() before start()", sup.stop()).await?;
    assert_eq!(Instant::now(), before, "virtual time passed");

    assert_eq!(
        handled.load(Ordering::SeqCst),
        5,
        "accepted before start, handled by stop"
    );
    let report = handle.stopped().await;
    let counter = report.actor("counter").unwrap();
    assert_eq!((counter.routed, counter.handled), (5, 5), "{report}");
    assert!(report.is_clean(), "{report}");
    Ok(())
}
