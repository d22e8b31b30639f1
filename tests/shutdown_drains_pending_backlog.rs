//! 300 events pending for a consumer that takes 1 ms each: `stop()` returns
//! only after all 300 were handled (guarantee G1 of the `maiko::shutdown`
//! guide).

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use maiko::*;

#[derive(Event, Clone, Debug)]
struct Job(#[allow(dead_code)] u32);

struct SlowConsumer {
    handled: Arc<AtomicUsize>,
}

impl Actor for SlowConsumer {
    type Event = Job;

    async fn handle_event(&mut self, _envelope: &Envelope<Job>) -> Result {
        tokio::time::sleep(Duration::from_millis(1)).await;
        self.handled.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_handles_every_pending_event() -> Result {
    let handled = Arc::new(AtomicUsize::new(0));
    let config = SupervisorConfig::default().with_default_actor_channel_capacity(512);
    let mut sup = Supervisor::<Job>::new(config);
    let counter = Arc::clone(&handled);
    sup.add_actor(
        "consumer",
        move |_| SlowConsumer { handled: counter },
        [DefaultTopic],
    )?;
    sup.start().await?;
    for i in 0..300 {
        sup.send(Job(i)).await?;
    }
    let report = sup.shutdown().await;
    assert_eq!(handled.load(Ordering::SeqCst), 300, "{report}");
    let consumer = report.actor("consumer").unwrap();
    assert_eq!(consumer.routed, 300);
    assert_eq!(consumer.handled, 300);
    assert!(report.is_clean(), "{report}");
    Ok(())
}
