//! HTTP-style callers holding a `SupervisorHandle` get every event they were
//! told `Ok` for handled, and from the moment the shutdown starts they get
//! `Stopping` with their own event handed back.

mod support;

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
};

use maiko::*;
use support::Tally;

#[derive(Event, Clone, Debug, PartialEq, Eq, Hash)]
struct Request {
    caller: u32,
    seq: u32,
}

struct Backend {
    seen: Arc<Mutex<HashSet<Request>>>,
    handled: Tally,
}

impl Actor for Backend {
    type Event = Request;

    async fn handle_event(&mut self, envelope: &Envelope<Request>) -> Result {
        self.seen.lock().unwrap().insert(envelope.event().clone());
        self.handled.add_one();
        tokio::task::yield_now().await;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_means_handled_and_refusal_returns_the_event() {
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let mut sup = Supervisor::<Request>::new(
        SupervisorConfig::default()
            .with_broker_channel_capacity(8)
            .with_default_actor_channel_capacity(8),
    );
    let handled = Tally::new();
    let (backend_seen, backend_handled) = (Arc::clone(&seen), handled.clone());
    sup.add_actor(
        "backend",
        |_| Backend {
            seen: backend_seen,
            handled: backend_handled,
        },
        [DefaultTopic],
    )
    .unwrap();
    sup.start().await.unwrap();

    let callers: Vec<_> = (0..8)
        .map(|caller| {
            let handle = sup.handle();
            tokio::spawn(async move {
                let mut accepted = Vec::new();
                for seq in 0.. {
                    let request = Request { caller, seq };
                    match handle.send(request.clone()).await {
                        Ok(()) => accepted.push(request),
                        Err(refused) => {
                            assert!(refused.is_stopping());
                            assert!(handle.is_stopping());
                            assert_eq!(refused.into_event(), request, "the same event comes back");
                            return accepted;
                        }
                    }
                }
                unreachable!()
            })
        })
        .collect();

    // Let the callers get going, then stop while they are sending.
    handled.reaches(200).await;
    let report = sup.shutdown().await;

    let seen = seen.lock().unwrap().clone();
    let mut accepted_total = 0;
    for caller in callers {
        for request in caller.await.unwrap() {
            assert!(
                seen.contains(&request),
                "{request:?} was accepted but not handled"
            );
            accepted_total += 1;
        }
    }
    assert_eq!(
        seen.len(),
        accepted_total,
        "only accepted requests were handled"
    );
    assert_eq!(
        report.actor("backend").unwrap().handled,
        accepted_total as u64
    );
    assert!(report.is_clean(), "{report}");
}
