//! A handler that never returns and ignores the shutdown signal cannot make
//! `stop()` hang: it returns at the shutdown timeout plus the grace, and the
//! report names the stuck actor, what it was doing and what it abandoned.
//! Runs under paused time, so the deadline costs no real time.

use std::{sync::Arc, time::Duration};

use maiko::*;
use tokio::{sync::Notify, time::Instant};

#[derive(Event, Clone, Debug)]
struct Work;

/// The shutdown timeout under test (not a safety net: the test runs under
/// paused time).
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
const GRACE: Duration = Duration::from_secs(1);

/// Signals that it is inside its handler, then never returns.
struct Stuck {
    entered: Arc<Notify>,
}

impl Actor for Stuck {
    type Event = Work;

    async fn handle_event(&mut self, _envelope: &Envelope<Work>) -> Result {
        self.entered.notify_one();
        std::future::pending::<()>().await;
        Ok(())
    }
}

struct Fine;

impl Actor for Fine {
    type Event = Work;
}

#[tokio::test(start_paused = true)]
async fn stuck_handler_is_aborted_after_timeout_plus_grace() {
    let config = SupervisorConfig::default()
        .with_shutdown_timeout(SHUTDOWN_TIMEOUT)
        .with_shutdown_grace(GRACE);
    let mut sup = Supervisor::<Work>::new(config);
    let entered = Arc::new(Notify::new());
    let signal = Arc::clone(&entered);
    sup.add_actor("stuck", |_| Stuck { entered: signal }, [DefaultTopic])
        .unwrap();
    sup.add_actor("fine", |_| Fine, [DefaultTopic]).unwrap();
    sup.start().await.unwrap();
    for _ in 0..3 {
        sup.send(Work).await.unwrap();
    }
    entered.notified().await;

    let stop_requested = Instant::now();
    let report = sup.shutdown().await;
    let took = stop_requested.elapsed();

    assert!(
        took >= SHUTDOWN_TIMEOUT + GRACE,
        "returned before the grace ran out: {took:?}"
    );
    assert!(
        took < SHUTDOWN_TIMEOUT + GRACE + Duration::from_millis(10),
        "took {took:?}"
    );
    assert!(report.deadline_hit && !report.aborted_by_signal, "{report}");
    assert!(!report.is_clean());

    let stuck = report.actor("stuck").unwrap();
    assert_eq!(stuck.outcome, ActorOutcome::Aborted, "{report}");
    assert_eq!(stuck.routed, 3);
    assert_eq!(
        (stuck.interrupted, stuck.abandoned),
        (1, 2),
        "one in hand (interrupted by the abort), two in the mailbox (abandoned): {report}"
    );
    let doing = stuck.stuck_in.as_deref().unwrap_or_default();
    assert!(
        doing.contains("handling an event of topic 'default'"),
        "{doing}"
    );

    let fine = report.actor("fine").unwrap();
    assert_eq!(fine.handled, 3);
    assert_eq!(fine.outcome, ActorOutcome::Completed, "{report}");
    assert!(
        report.actors.iter().all(ActorReport::is_balanced),
        "{report}"
    );

    let printed = report.to_string();
    assert!(printed.contains("stuck: aborted"), "{printed}");
    assert!(matches!(
        report.into_result(),
        Err(Error::ShutdownTimedOut { abandoned: 2, .. })
    ));
}
