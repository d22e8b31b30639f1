//! A `Supervisor` is `Send + Sync`: it can be shared (for example in an
//! `Arc` held by a server) and published through from spawned tasks, then
//! taken back and stopped.

use std::sync::Arc;

use maiko::*;

#[derive(Event, Clone, Debug)]
struct Hit;

struct Counter;

impl Actor for Counter {
    type Event = Hit;
}

fn assert_send_sync<T: Send + Sync>() {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_tasks_publish_through_a_shared_supervisor() {
    assert_send_sync::<Supervisor<Hit>>();
    assert_send_sync::<SupervisorHandle<Hit>>();
    assert_send_sync::<Context<Hit>>();

    let mut sup = Supervisor::<Hit>::default();
    sup.add_actor("counter", |_| Counter, [DefaultTopic])
        .unwrap();
    sup.start().await.unwrap();
    let shared = Arc::new(sup);
    let senders: Vec<_> = (0..4)
        .map(|_| {
            let sup = Arc::clone(&shared);
            tokio::spawn(async move {
                for _ in 0..25 {
                    sup.send(Hit).await.unwrap();
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.unwrap();
    }
    let sup = Arc::try_unwrap(shared).expect("the tasks are done");
    let report = sup.shutdown().await;
    assert_eq!(report.actor("counter").unwrap().handled, 100, "{report}");
}
