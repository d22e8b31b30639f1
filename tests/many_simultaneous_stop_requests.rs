//! Hundreds of stop requests at once, from handles, from actors'
//! `Context::stop_runtime` and one `stop()`, converge on a single shutdown
//! (guarantee G6 of the `maiko::shutdown` guide): no request is fatal, none
//! cuts the drain short, every actor handles its whole backlog and runs
//! `on_shutdown` once, and every waiter sees the same clean report.

mod support;

use std::sync::{Arc, Mutex};

use maiko::*;
use support::{Door, Log, within};
use tokio::sync::Barrier;

#[derive(Event, Clone, Debug)]
struct Job(u32);

const JOBS: u32 = 100;
/// Stop requests of each kind (handle, context).
const REQUESTS: usize = 300;
const REPORT_WAITERS: usize = 50;

struct Consumer {
    name: &'static str,
    log: Log,
    door: Door,
}

impl Actor for Consumer {
    type Event = Job;

    async fn handle_event(&mut self, envelope: &Envelope<Job>) -> Result {
        if envelope.event().0 == 0 {
            self.door.pass().await;
        }
        self.log.push(format!("{} handled", self.name));
        Ok(())
    }

    async fn on_shutdown(&mut self) -> Result {
        self.log.push(format!("{} on_shutdown", self.name));
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_stop_requests_make_one_clean_shutdown() -> Result {
    let (log, door) = (Log::new(), Door::new());
    let contexts: Arc<Mutex<Vec<Context<Job>>>> = Arc::default();
    let names = ["a", "b", "c"];
    let mut sup = Supervisor::<Job>::default();
    for name in names {
        let (log, door, contexts) = (log.clone(), door.clone(), Arc::clone(&contexts));
        sup.add_actor(
            name,
            move |ctx| {
                contexts.lock().unwrap().push(ctx);
                Consumer { name, log, door }
            },
            [DefaultTopic],
        )?;
    }
    sup.start().await?;
    let handle = sup.handle();
    for n in 0..JOBS {
        sup.send(Job(n)).await?;
    }
    // Every consumer holds Job(0); 99 more wait behind it in each mailbox.
    door.arrivals(3).await;

    let waiters: Vec<_> = (0..REPORT_WAITERS)
        .map(|_| {
            let handle = handle.clone();
            tokio::spawn(async move { handle.stopped().await })
        })
        .collect();

    let barrier = Arc::new(Barrier::new(2 * REQUESTS + 1));
    let mut requests = Vec::new();
    for i in 0..REQUESTS {
        let (start, handle) = (Arc::clone(&barrier), handle.clone());
        requests.push(tokio::spawn(async move {
            start.wait().await;
            handle.request_stop();
        }));
        let ctx = contexts.lock().unwrap()[i % names.len()].clone();
        let start = Arc::clone(&barrier);
        requests.push(tokio::spawn(async move {
            start.wait().await;
            ctx.stop_runtime().expect("stop_runtime never fails");
        }));
    }
    let stopping = tokio::spawn({
        let barrier = Arc::clone(&barrier);
        async move {
            barrier.wait().await;
            sup.stop().await
        }
    });
    for request in requests {
        within("a stop request", request)
            .await
            .expect("a stop request panicked");
    }
    assert!(handle.is_stopping());
    // All requests are in; only now may the drain proceed.
    door.open();

    within("stop()", stopping).await.expect("stop() panicked")?;

    let report = handle.stopped().await;
    assert!(report.is_clean(), "{report}");
    assert!(!report.deadline_hit, "{report}");
    for name in names {
        assert_eq!(
            log.count(&format!("{name} handled")),
            JOBS as usize,
            "{report}"
        );
        assert_eq!(log.count(&format!("{name} on_shutdown")), 1, "{name}");
        assert_eq!(report.actor(name).unwrap().handled, u64::from(JOBS));
    }
    for waiter in waiters {
        let seen = within("a report waiter", waiter)
            .await
            .expect("waiter panicked");
        assert_eq!(seen, report, "every waiter sees the one shutdown");
    }
    Ok(())
}
