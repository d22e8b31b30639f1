//! An actor whose `on_start` fails never started, so it has nothing to shut
//! down: `on_shutdown` is not called and no event reaches `handle_event`.
//! Every event routed to it is counted as `lost`, the other actors run
//! normally, and `stop()` returns `Error::ActorFailed` naming it.

mod support;

use maiko::*;
use support::{Log, within};
use tokio::sync::mpsc;

#[derive(Event, Clone, Debug)]
struct Job(u32);

const JOBS: u32 = 5;

struct NeverStarts {
    log: Log,
}

impl Actor for NeverStarts {
    type Event = Job;

    async fn on_start(&mut self) -> Result {
        self.log.push("on_start");
        Err(Error::external(std::io::Error::other("no database")))
    }

    async fn handle_event(&mut self, _envelope: &Envelope<Job>) -> Result {
        self.log.push("handle_event");
        Ok(())
    }

    async fn on_shutdown(&mut self) -> Result {
        self.log.push("on_shutdown");
        Ok(())
    }
}

/// Reports every job it handles, so the test knows the broker has routed it
/// (to both actors) before stopping.
struct Healthy {
    handled: mpsc::UnboundedSender<u32>,
}

impl Actor for Healthy {
    type Event = Job;

    async fn handle_event(&mut self, envelope: &Envelope<Job>) -> Result {
        let _ = self.handled.send(envelope.event().0);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_on_start_means_no_on_shutdown_and_lost_events() -> Result {
    let log = Log::new();
    let (handled_tx, mut handled) = mpsc::unbounded_channel();
    // Keep running after the failure, so every job is accepted whenever
    // `on_start` fails; by default the failure would stop the supervisor.
    let mut sup = Supervisor::<Job>::new(SupervisorConfig::default().with_stop_on_failure(false));
    let broken_log = log.clone();
    sup.add_actor(
        "broken",
        move |_| NeverStarts { log: broken_log },
        [DefaultTopic],
    )?;
    sup.add_actor(
        "healthy",
        move |_| Healthy {
            handled: handled_tx,
        },
        [DefaultTopic],
    )?;
    sup.start().await?;
    let handle = sup.handle();

    for n in 0..JOBS {
        sup.send(Job(n)).await?;
    }
    for n in 0..JOBS {
        assert_eq!(within("the healthy actor", handled.recv()).await, Some(n));
    }

    let stopped = sup.stop().await;
    let report = handle.stopped().await;

    assert_eq!(
        log.entries(),
        ["on_start"],
        "no handle_event, no on_shutdown"
    );
    let broken = report.actor("broken").unwrap();
    assert!(
        matches!(&broken.outcome, ActorOutcome::Failed(Error::External(e)) if e.to_string() == "no database"),
        "{report}"
    );
    assert_eq!(
        (broken.routed, broken.handled, broken.lost),
        (5, 0, 5),
        "{report}"
    );
    let healthy = report.actor("healthy").unwrap();
    assert_eq!(healthy.outcome, ActorOutcome::Completed, "{report}");
    assert_eq!(healthy.handled, u64::from(JOBS), "{report}");
    assert!(
        report.actors.iter().all(ActorReport::is_balanced),
        "{report}"
    );

    match stopped {
        Err(Error::ActorFailed { actor, error }) => {
            assert_eq!(actor.as_str(), "broken");
            assert_eq!(error.to_string(), "no database");
        }
        other => panic!("stop() should name the actor that failed to start, got {other:?}"),
    }
    Ok(())
}
