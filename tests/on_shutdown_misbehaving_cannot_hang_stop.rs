//! `on_shutdown` that panics is reported as a failure; `on_shutdown` that
//! never returns is aborted at the deadline. Neither makes `stop()` hang.
//! Runs under paused time.

use std::time::Duration;

use maiko::*;
use tokio::time::Instant;

#[derive(Event, Clone, Debug)]
struct Tick;

struct PanicsOnShutdown;

impl Actor for PanicsOnShutdown {
    type Event = Tick;

    async fn on_shutdown(&mut self) -> Result {
        panic!("on_shutdown blew up");
    }
}

struct NeverShutsDown;

impl Actor for NeverShutsDown {
    type Event = Tick;

    async fn on_shutdown(&mut self) -> Result {
        std::future::pending().await
    }
}

fn config() -> SupervisorConfig {
    SupervisorConfig::default()
        .with_shutdown_timeout(Duration::from_secs(2))
        .with_shutdown_grace(Duration::from_millis(100))
}

#[tokio::test(start_paused = true)]
async fn panicking_on_shutdown_is_a_failure_not_a_hang() {
    let mut sup = Supervisor::<Tick>::new(config());
    sup.add_actor("panics", |_| PanicsOnShutdown, [DefaultTopic])
        .unwrap();
    sup.start().await.unwrap();
    sup.send(Tick).await.unwrap();
    let stop_requested = Instant::now();
    let report = sup.shutdown().await;
    assert_eq!(stop_requested.elapsed(), Duration::ZERO, "{report}");
    let actor = report.actor("panics").unwrap();
    assert!(
        matches!(&actor.outcome, ActorOutcome::Failed(Error::Panicked(m)) if m.contains("blew up")),
        "{report}"
    );
    assert_eq!(actor.handled, 1);
    let error = report.into_result().unwrap_err();
    assert!(matches!(error, Error::ActorFailed { ref actor, .. } if actor.as_str() == "panics"));
}

#[tokio::test(start_paused = true)]
async fn endless_on_shutdown_is_aborted_at_the_deadline() {
    let mut sup = Supervisor::<Tick>::new(config());
    sup.add_actor("endless", |_| NeverShutsDown, [DefaultTopic])
        .unwrap();
    sup.start().await.unwrap();
    sup.send(Tick).await.unwrap();
    let stop_requested = Instant::now();
    let report = sup.shutdown().await;
    let took = stop_requested.elapsed();
    assert!(took >= Duration::from_millis(2100) && took < Duration::from_millis(2110));
    let actor = report.actor("endless").unwrap();
    assert_eq!(actor.outcome, ActorOutcome::Aborted, "{report}");
    assert_eq!(
        actor.stuck_in.as_deref(),
        Some("in on_shutdown"),
        "{report}"
    );
    assert_eq!(actor.handled, 1, "the event was handled before on_shutdown");
    assert_eq!(actor.abandoned, 0);
}
