//! A stuck member cannot hold a `ShutdownGroup` past its deadline: the
//! group's `shutdown()` returns at the timeout plus the grace, the stuck
//! actors are aborted, the other member still runs its `on_shutdown` (its
//! turn comes at the deadline) and completes, and the report names the
//! member, the actor, and the topic and broker a blocked publish waited on.
//!
//! Runs under paused time: the deadline passes instantly.

mod support;

use std::time::Duration;

use maiko::*;
use support::Log;
use tokio::time::Instant;

const TIMEOUT: Duration = Duration::from_secs(10);
const GRACE: Duration = Duration::from_millis(200);

#[derive(Event, Clone, Debug)]
enum Work {
    /// Makes the feeder publish this many jobs from its handler.
    Feed(u32),
    Job,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Lane {
    Feed,
    Jobs,
}

impl Topic<Work> for Lane {
    fn from_event(event: &Work) -> Self {
        match event {
            Work::Feed(_) => Lane::Feed,
            Work::Job => Lane::Jobs,
        }
    }

    fn broker(&self) -> &'static str {
        match self {
            Lane::Feed => "default",
            Lane::Jobs => "commands",
        }
    }

    fn name(&self) -> std::borrow::Cow<'static, str> {
        match self {
            Lane::Feed => "feed".into(),
            Lane::Jobs => "jobs".into(),
        }
    }
}

/// Publishes jobs from its handler; it blocks once the worker is full.
struct Feeder {
    ctx: Context<Work>,
}

impl Actor for Feeder {
    type Event = Work;

    async fn handle_event(&mut self, envelope: &Envelope<Work>) -> Result {
        if let Work::Feed(jobs) = *envelope.event() {
            for _ in 0..jobs {
                self.ctx.send(Work::Job).await?;
            }
        }
        Ok(())
    }
}

/// Never returns from its first job, and ignores the shutdown signal.
struct Worker;

impl Actor for Worker {
    type Event = Work;

    async fn handle_event(&mut self, _envelope: &Envelope<Work>) -> Result {
        std::future::pending::<()>().await;
        Ok(())
    }
}

#[derive(Event, Clone, Debug)]
struct Note;

/// A healthy actor in the other member.
struct Clerk {
    log: Log,
}

impl Actor for Clerk {
    type Event = Note;

    async fn on_shutdown(&mut self) -> Result {
        self.log.push("clerk on_shutdown");
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_stuck_member_is_aborted_at_the_group_deadline_and_named() {
    let config = SupervisorConfig::default()
        .with_broker_channel_capacity(1)
        .with_default_actor_channel_capacity(1);
    let mut ingest = Supervisor::<Work, Lane>::new(config);
    ingest
        .add_actor("feeder", |ctx| Feeder { ctx }, [Lane::Feed])
        .unwrap();
    ingest
        .add_actor("worker", |_| Worker, [Lane::Jobs])
        .unwrap();
    let log = Log::new();
    let mut records = Supervisor::<Note>::default();
    let clerk_log = log.clone();
    records
        .add_actor("clerk", move |_| Clerk { log: clerk_log }, [DefaultTopic])
        .unwrap();

    // The stuck member first: the healthy one waits for its turn, which
    // the deadline gives it.
    let mut group = ShutdownGroup::new()
        .with_shutdown_timeout(TIMEOUT)
        .with_shutdown_grace(GRACE);
    let feed = group.add("ingest", ingest);
    group.add("records", records);
    group.start().await.unwrap();
    feed.send(Work::Feed(100)).await.unwrap();

    let stop_requested = Instant::now();
    let report = group.shutdown().await;
    let took = stop_requested.elapsed();

    assert!(took >= TIMEOUT + GRACE, "returned early: {took:?}");
    assert!(
        took < TIMEOUT + GRACE + Duration::from_millis(10),
        "{took:?}"
    );
    assert!(report.deadline_hit && !report.is_clean(), "{report}");

    let ingest = report.member("ingest").expect("the ingest member");
    let worker = ingest.actor("worker").unwrap();
    assert_eq!(worker.outcome, ActorOutcome::Aborted, "{report}");
    assert_eq!(
        worker.stuck_in.as_deref(),
        Some("handling an event of topic 'jobs'")
    );
    let feeder = ingest.actor("feeder").unwrap();
    assert_eq!(feeder.outcome, ActorOutcome::Aborted, "{report}");
    assert_eq!(
        feeder.stuck_in.as_deref(),
        Some("blocked publishing to topic 'jobs' of broker 'commands'")
    );
    assert!(
        ingest.actors.iter().all(ActorReport::is_balanced),
        "{report}"
    );

    let records = report.member("records").expect("the records member");
    assert_eq!(
        records.actor("clerk").unwrap().outcome,
        ActorOutcome::Completed
    );
    assert_eq!(log.entries(), ["clerk on_shutdown"]);

    let printed = report.to_string();
    assert!(printed.contains("member 'ingest':"), "{printed}");
    assert!(printed.contains("worker: aborted"), "{printed}");
    assert!(matches!(
        report.into_result(),
        Err(Error::ShutdownTimedOut { .. })
    ));
}
