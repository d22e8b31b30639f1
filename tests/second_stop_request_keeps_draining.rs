//! A second (and third, and hundredth) stop request during a drain changes
//! nothing: every accepted event is still handled, and the handle's
//! `stopped()` sees the same single shutdown.

use std::time::Duration;

use maiko::*;

#[derive(Event, Clone, Debug)]
struct Slow;

struct Worker {
    ctx: Context<Slow>,
}

impl Actor for Worker {
    type Event = Slow;

    async fn handle_event(&mut self, _envelope: &Envelope<Slow>) -> Result {
        // Ask again from inside the drain, every time.
        self.ctx.stop_runtime()?;
        tokio::time::sleep(Duration::from_millis(10)).await;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn repeated_requests_do_not_cut_the_drain_short() {
    let mut sup = Supervisor::<Slow>::default();
    sup.add_actor("worker", |ctx| Worker { ctx }, [DefaultTopic])
        .unwrap();
    sup.start().await.unwrap();
    for _ in 0..20 {
        sup.send(Slow).await.unwrap();
    }
    let handle = sup.handle();
    handle.request_stop();
    handle.request_stop();
    let watcher = handle.clone();
    let watched = tokio::spawn(async move { watcher.stopped().await });
    handle.request_stop();

    let report = sup.shutdown().await;
    assert_eq!(report.actor("worker").unwrap().handled, 20, "{report}");
    assert!(report.is_clean(), "{report}");
    assert!(!report.deadline_hit);
    assert_eq!(watched.await.unwrap(), report);
}
