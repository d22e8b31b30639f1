//! An actor that fails still runs `on_shutdown` exactly once (guarantee G5
//! of the `maiko::shutdown` guide), after the handler that failed and before
//! anything else happens to it. What was still in its mailbox is counted as
//! `lost`, the report balances, the other actors are unaffected, and
//! `stop()` returns `Error::ActorFailed` naming the failed actor.
//!
//! Two ways to fail: a handler that returns an error (propagated by the
//! default `on_error`) and a handler that panics.

mod support;

use maiko::*;
use support::{Door, Log};

#[derive(Event, Clone, Debug)]
struct Job(u32);

const JOBS: u32 = 10;
/// The job the fragile actor fails on.
const BAD: u32 = 3;

#[derive(Clone, Copy)]
enum HowToFail {
    ReturnError,
    Panic,
}

/// Holds Job(0) until the door opens (so the rest queues up), then handles
/// jobs until it fails on `BAD`.
struct Fragile {
    log: Log,
    door: Door,
    how: HowToFail,
}

impl Actor for Fragile {
    type Event = Job;

    async fn handle_event(&mut self, envelope: &Envelope<Job>) -> Result {
        let Job(n) = *envelope.event();
        if n == 0 {
            self.door.pass().await;
        }
        self.log.push(format!("fragile handled {n}"));
        if n == BAD {
            match self.how {
                HowToFail::ReturnError => {
                    return Err(Error::external(std::io::Error::other("disk full")));
                }
                HowToFail::Panic => panic!("boom on job {n}"),
            }
        }
        Ok(())
    }

    async fn on_shutdown(&mut self) -> Result {
        self.log.push("fragile on_shutdown");
        Ok(())
    }
}

struct Bystander {
    log: Log,
}

impl Actor for Bystander {
    type Event = Job;

    async fn handle_event(&mut self, envelope: &Envelope<Job>) -> Result {
        self.log
            .push(format!("bystander handled {}", envelope.event().0));
        Ok(())
    }

    async fn on_shutdown(&mut self) -> Result {
        self.log.push("bystander on_shutdown");
        Ok(())
    }
}

/// Runs the scenario and returns what `stop()` returned, the report and the
/// log.
async fn fail_and_stop(how: HowToFail) -> Result<(Result, ShutdownReport, Log)> {
    let log = Log::new();
    let door = Door::new();
    let mut sup = Supervisor::<Job>::default();
    let (fragile_log, fragile_door) = (log.clone(), door.clone());
    sup.add_actor(
        "fragile",
        move |_| Fragile {
            log: fragile_log,
            door: fragile_door,
            how,
        },
        [DefaultTopic],
    )?;
    let bystander_log = log.clone();
    sup.add_actor(
        "bystander",
        move |_| Bystander { log: bystander_log },
        [DefaultTopic],
    )?;
    sup.start().await?;
    let handle = sup.handle();

    for n in 0..JOBS {
        sup.send(Job(n)).await?;
    }
    door.arrivals(1).await;
    door.open();

    let stopped = sup.stop().await;
    let report = handle.stopped().await;
    Ok((stopped, report, log))
}

fn expected_fragile_log() -> Vec<String> {
    let mut expected: Vec<String> = (0..=BAD).map(|n| format!("fragile handled {n}")).collect();
    expected.push("fragile on_shutdown".to_owned());
    expected
}

fn assert_bystander_unaffected(report: &ShutdownReport, log: &Log) {
    let mut expected: Vec<String> = (0..JOBS)
        .map(|n| format!("bystander handled {n}"))
        .collect();
    expected.push("bystander on_shutdown".to_owned());
    assert_eq!(log.of("bystander"), expected);
    let bystander = report.actor("bystander").unwrap();
    assert_eq!(bystander.outcome, ActorOutcome::Completed, "{report}");
    assert_eq!(bystander.handled, u64::from(JOBS), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_error_fails_the_actor_and_on_shutdown_still_runs_once() -> Result {
    let (stopped, report, log) = fail_and_stop(HowToFail::ReturnError).await?;

    assert_eq!(
        log.of("fragile"),
        expected_fragile_log(),
        "nothing handled after the failure, then on_shutdown exactly once"
    );

    let fragile = report.actor("fragile").unwrap();
    assert!(
        matches!(&fragile.outcome, ActorOutcome::Failed(Error::External(e)) if e.to_string() == "disk full"),
        "{report}"
    );
    // Handled means its handler returned `Ok`: the failing event is lost
    // (a dead letter, `DeadReason::Failed`), like every event after it.
    assert_eq!(fragile.routed, u64::from(JOBS), "{report}");
    assert_eq!(fragile.handled, u64::from(BAD), "{report}");
    assert_eq!(fragile.lost, u64::from(JOBS - BAD), "{report}");
    assert!(
        report.actors.iter().all(ActorReport::is_balanced),
        "{report}"
    );
    assert_bystander_unaffected(&report, &log);

    match stopped {
        Err(Error::ActorFailed { actor, error }) => {
            assert_eq!(actor.as_str(), "fragile");
            assert_eq!(error.to_string(), "disk full");
        }
        other => panic!("stop() should name the failed actor, got {other:?}"),
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panicking_handler_fails_the_actor_and_on_shutdown_still_runs_once() -> Result {
    let (stopped, report, log) = fail_and_stop(HowToFail::Panic).await?;

    assert_eq!(
        log.of("fragile"),
        expected_fragile_log(),
        "nothing handled after the panic, then on_shutdown exactly once"
    );

    let fragile = report.actor("fragile").unwrap();
    let panicked = Error::Panicked(format!("boom on job {BAD}"));
    assert_eq!(
        fragile.outcome,
        ActorOutcome::Failed(panicked.clone()),
        "{report}"
    );
    // The event it panicked on is lost, not handled.
    assert_eq!(fragile.routed, u64::from(JOBS), "{report}");
    assert_eq!(fragile.handled, u64::from(BAD), "{report}");
    assert_eq!(fragile.lost, u64::from(JOBS - BAD), "{report}");
    assert!(
        report.actors.iter().all(ActorReport::is_balanced),
        "{report}"
    );
    assert_bystander_unaffected(&report, &log);

    match stopped {
        Err(Error::ActorFailed { actor, error }) => {
            assert_eq!(actor.as_str(), "fragile");
            assert_eq!(*error, panicked);
        }
        other => panic!("stop() should name the failed actor, got {other:?}"),
    }
    Ok(())
}
