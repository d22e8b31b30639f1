//! Dropping the future of `stop()` (here: losing a `select!`) does not
//! abandon the shutdown: it runs to its end in its own task, and a handle's
//! `stopped()` sees every accepted event handled.

use std::time::Duration;

use maiko::*;

#[derive(Event, Clone, Debug)]
struct Job;

struct Worker;

impl Actor for Worker {
    type Event = Job;

    async fn handle_event(&mut self, _envelope: &Envelope<Job>) -> Result {
        tokio::time::sleep(Duration::from_millis(5)).await;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn shutdown_survives_its_dropped_future() {
    let mut sup = Supervisor::<Job>::default();
    sup.add_actor("worker", |_| Worker, [DefaultTopic]).unwrap();
    sup.start().await.unwrap();
    for _ in 0..10 {
        sup.send(Job).await.unwrap();
    }
    let handle = sup.handle();

    tokio::select! {
        biased;
        _ = sup.stop() => panic!("ten 5 ms jobs cannot be drained in one poll"),
        () = std::future::ready(()) => {}
    }
    assert!(
        handle.is_stopping(),
        "the first poll of stop() started the shutdown"
    );

    let report = handle.stopped().await;
    assert_eq!(report.actor("worker").unwrap().handled, 10, "{report}");
    assert!(report.is_clean(), "{report}");
}
