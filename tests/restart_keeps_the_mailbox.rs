//! `Supervisor::add_restartable`: an actor that fails is rebuilt with the
//! same mailbox, so every queued event is handled once, in order, the
//! failed one retried first; every instance that started gets exactly one
//! `on_shutdown`; an exhausted budget is a failure for good; an `on_start`
//! that fails after a restart is one more failure; and a restart loop ends
//! at the shutdown deadline.

mod support;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use maiko::*;
use support::{Door, send_until_refused, within};

#[derive(Event, Clone, Debug)]
struct Job(u32);

/// What every instance of a test's actor shares.
#[derive(Default, Clone)]
struct Shared {
    built: Arc<AtomicU32>,
    started: Arc<AtomicU32>,
    shut_down: Arc<AtomicU32>,
    handled: Arc<Mutex<Vec<u32>>>,
}

/// Instance `instance` (from 1) panics on the jobs `fails(instance, job)`
/// says; the first one waits at `door` on job 1.
struct Flaky {
    instance: u32,
    shared: Shared,
    door: Option<Door>,
    fails: fn(u32, u32) -> bool,
    start_fails: fn(u32) -> bool,
}

impl Actor for Flaky {
    type Event = Job;

    async fn on_start(&mut self) -> Result {
        if (self.start_fails)(self.instance) {
            return Err(Error::external(std::io::Error::other("cannot start")));
        }
        self.shared.started.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn handle_event(&mut self, envelope: &Envelope<Job>) -> Result {
        let job = envelope.event().0;
        if job == 1
            && let Some(door) = self.door.take()
        {
            door.pass().await;
        }
        if (self.fails)(self.instance, job) {
            panic!("instance {} fails on job {job}", self.instance);
        }
        self.shared.handled.lock().unwrap().push(job);
        Ok(())
    }

    async fn on_shutdown(&mut self) -> Result {
        self.shared.shut_down.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn flaky(
    shared: &Shared,
    door: Option<Door>,
    fails: fn(u32, u32) -> bool,
    start_fails: fn(u32) -> bool,
) -> impl FnMut(Context<Job>) -> Flaky + Send + 'static {
    let shared = shared.clone();
    move |_ctx| {
        let instance = shared.built.fetch_add(1, Ordering::SeqCst) + 1;
        Flaky {
            instance,
            shared: shared.clone(),
            door: if instance == 1 { door.clone() } else { None },
            fails,
            start_fails,
        }
    }
}

fn never(_: u32) -> bool {
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_every_queued_event_and_its_order() -> Result {
    let shared = Shared::default();
    let door = Door::new();
    let mut sup = Supervisor::<Job>::default();
    sup.add_restartable(
        "flaky",
        flaky(
            &shared,
            Some(door.clone()),
            |instance, job| instance == 1 && job == 5,
            never,
        ),
        [DefaultTopic],
        RestartPolicy::on_failure(),
    )?;
    sup.start().await?;
    sup.send(Job(1)).await?;
    door.arrivals(1).await;
    // Queued behind job 1 while the first instance waits: the failure on
    // job 5 must lose none of them.
    for n in 2..=100 {
        sup.send(Job(n)).await?;
    }
    door.open();
    let report = within("the stop", sup.shutdown()).await;
    let actor = report.actor("flaky").expect("flaky");
    assert_eq!(actor.restarts, 1, "{report}");
    assert_eq!(
        (actor.routed, actor.handled, actor.lost),
        (100, 100, 0),
        "{report}"
    );
    assert!(report.is_clean(), "{report}");
    assert_eq!(
        *shared.handled.lock().unwrap(),
        (1..=100).collect::<Vec<_>>()
    );
    assert_eq!(shared.started.load(Ordering::SeqCst), 2);
    assert_eq!(
        shared.shut_down.load(Ordering::SeqCst),
        2,
        "one on_shutdown per instance"
    );
    Ok(())
}

#[tokio::test]
async fn an_exhausted_budget_is_a_failure_for_good() -> Result {
    let shared = Shared::default();
    let mut sup = Supervisor::<Job>::default();
    sup.add_restartable(
        "flaky",
        flaky(&shared, None, |_, job| job == 3, never),
        [DefaultTopic],
        RestartPolicy::on_failure()
            .max_restarts(2)
            .within(Duration::from_secs(60))
            .retry_event(5),
    )?;
    let handle = sup.handle();
    let joined = tokio::spawn(sup.join());
    // Refused once the failure has stopped the supervisor.
    send_until_refused(&handle, (1..=5).map(Job)).await;
    // The third failure exhausts the budget: the actor fails for good and,
    // by default, stops the supervisor.
    let result = within("join after the failure", joined)
        .await
        .expect("join task");
    assert!(
        matches!(result, Err(Error::ActorFailed { .. })),
        "{result:?}"
    );
    let report = handle.stopped().await;
    let actor = report.actor("flaky").expect("flaky");
    assert_eq!(actor.restarts, 2, "{report}");
    assert!(
        matches!(actor.outcome, ActorOutcome::Failed(Error::Panicked(_))),
        "{report}"
    );
    assert!(actor.is_balanced(), "{report}");
    assert_eq!(*shared.handled.lock().unwrap(), vec![1, 2]);
    assert_eq!(shared.started.load(Ordering::SeqCst), 3);
    assert_eq!(
        shared.shut_down.load(Ordering::SeqCst),
        3,
        "one on_shutdown per instance"
    );
    Ok(())
}

#[tokio::test]
async fn an_on_start_that_fails_after_a_restart_is_one_more_failure() -> Result {
    let shared = Shared::default();
    let mut sup = Supervisor::<Job>::default();
    sup.add_restartable(
        "flaky",
        flaky(
            &shared,
            None,
            |instance, job| instance == 1 && job == 2,
            |instance| instance == 2,
        ),
        [DefaultTopic],
        RestartPolicy::on_failure(),
    )?;
    sup.start().await?;
    for n in 1..=3 {
        sup.send(Job(n)).await?;
    }
    let report = within("the stop", sup.shutdown()).await;
    let actor = report.actor("flaky").expect("flaky");
    // Instance 1 fails on job 2, instance 2 cannot start, instance 3 takes
    // job 2 again and goes on.
    assert_eq!(actor.restarts, 2, "{report}");
    assert_eq!((actor.handled, actor.lost), (3, 0), "{report}");
    assert!(report.is_clean(), "{report}");
    assert_eq!(*shared.handled.lock().unwrap(), vec![1, 2, 3]);
    assert_eq!(shared.built.load(Ordering::SeqCst), 3);
    // Instances 1 and 3 started; instance 2 never did, so it gets none.
    assert_eq!(shared.started.load(Ordering::SeqCst), 2);
    assert_eq!(shared.shut_down.load(Ordering::SeqCst), 2);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_restart_loop_ends_at_the_deadline() -> Result {
    let shared = Shared::default();
    let config = SupervisorConfig::default()
        .with_shutdown_timeout(Duration::from_secs(2))
        .with_shutdown_grace(Duration::from_millis(100));
    let mut sup = Supervisor::<Job>::new(config);
    sup.add_restartable(
        "flaky",
        flaky(&shared, None, |_, _| true, never),
        [DefaultTopic],
        RestartPolicy::on_failure()
            .max_restarts(u32::MAX)
            .backoff(Duration::from_millis(50), Duration::from_millis(50))
            .retry_event(u32::MAX),
    )?;
    for n in 1..=10 {
        sup.send(Job(n)).await?;
    }
    let started = tokio::time::Instant::now();
    let report = sup.shutdown().await;
    let took = started.elapsed();
    assert!(report.deadline_hit, "{report}");
    assert!(took <= Duration::from_millis(2_100), "{took:?}");
    let actor = report.actor("flaky").expect("flaky");
    assert!(actor.restarts >= 30, "{report}");
    assert!(actor.is_balanced(), "{report}");
    assert_eq!(actor.handled, 0, "{report}");
    assert_eq!(
        shared.started.load(Ordering::SeqCst),
        shared.shut_down.load(Ordering::SeqCst),
        "one on_shutdown per started instance"
    );
    Ok(())
}
