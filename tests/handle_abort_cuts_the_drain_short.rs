//! `SupervisorHandle::abort()` does what a second signal does: the drain is
//! cut short at once (no waiting for the shutdown timeout, no grace), the
//! stuck actor is aborted, and the report says it was aborted. And
//! `SupervisorHandle::stopping()` resolves when the shutdown starts, for an
//! HTTP server's graceful shutdown.
//!
//! Runs under paused time: any wait for the timeout would show as elapsed
//! virtual time.

use std::time::Duration;

use maiko::*;
use tokio::{sync::oneshot, time::Instant};

#[derive(Event, Clone, Debug)]
struct Job;

/// Never returns from its first job, and ignores the shutdown signal.
struct Stuck {
    entered: Option<oneshot::Sender<()>>,
}

impl Actor for Stuck {
    type Event = Job;

    async fn handle_event(&mut self, _envelope: &Envelope<Job>) -> Result {
        if let Some(entered) = self.entered.take() {
            let _ = entered.send(());
        }
        std::future::pending::<()>().await;
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn abort_skips_the_drain_and_the_grace() -> Result {
    let config = SupervisorConfig::default()
        .with_shutdown_timeout(Duration::from_secs(30))
        .with_shutdown_grace(Duration::from_secs(5));
    let mut sup = Supervisor::<Job>::new(config);
    let (entered, stuck_entered) = oneshot::channel();
    sup.add_actor(
        "stuck",
        move |_| Stuck {
            entered: Some(entered),
        },
        [DefaultTopic],
    )?;
    sup.start().await?;
    let handle = sup.handle();
    let stopping = tokio::spawn(handle.stopping());
    sup.send(Job).await?;
    stuck_entered.await.expect("the job reached the handler");

    let started = Instant::now();
    handle.request_stop();
    stopping
        .await
        .expect("stopping() resolved at the stop request");
    handle.abort();
    let report = sup.shutdown().await;

    assert_eq!(started.elapsed(), Duration::ZERO, "no timeout, no grace");
    assert!(report.deadline_hit && report.aborted_by_signal, "{report}");
    let stuck = report.actor("stuck").unwrap();
    assert_eq!(stuck.outcome, ActorOutcome::Aborted, "{report}");
    assert!(stuck.is_balanced(), "{report}");
    Ok(())
}
