//! A long handler that watches the cooperative shutdown signal returns
//! `Error::Interrupted` as soon as the shutdown starts. The event counts as
//! interrupted, not as a failure; the actor keeps going and the shutdown
//! finishes at once, with no virtual time passing.

use std::{sync::Arc, time::Duration};

use maiko::*;
use tokio::{sync::Notify, time::Instant};

#[derive(Event, Clone, Debug)]
struct Job;

struct Patient {
    ctx: Context<Job>,
    entered: Arc<Notify>,
}

impl Actor for Patient {
    type Event = Job;

    async fn handle_event(&mut self, _envelope: &Envelope<Job>) -> Result {
        self.entered.notify_one();
        tokio::select! {
            () = self.ctx.stopping() => Err(Error::Interrupted),
            () = tokio::time::sleep(Duration::from_secs(3600)) => Ok(()),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn interrupted_handlers_end_the_drain_promptly() {
    let mut sup = Supervisor::<Job>::default();
    let entered = Arc::new(Notify::new());
    let signal = Arc::clone(&entered);
    sup.add_actor(
        "patient",
        |ctx| Patient {
            ctx,
            entered: signal,
        },
        [DefaultTopic],
    )
    .unwrap();
    sup.start().await.unwrap();
    for _ in 0..3 {
        sup.send(Job).await.unwrap();
    }
    entered.notified().await;

    let stop_requested = Instant::now();
    let report = sup.shutdown().await;
    assert_eq!(stop_requested.elapsed(), Duration::ZERO, "{report}");

    let patient = report.actor("patient").unwrap();
    assert_eq!(patient.interrupted, 3, "{report}");
    assert_eq!(patient.handled, 0);
    assert_eq!(patient.outcome, ActorOutcome::Completed);
    assert!(patient.is_balanced());
    assert!(!report.deadline_hit);
    assert!(report.is_clean(), "interrupted is not a failure: {report}");
}
