//! When every actor has stopped itself with `Context::stop`, the runtime has
//! nothing left to run: `join()` and `run()` return `Ok`, after every
//! actor's `on_shutdown`, with a clean report.

mod support;

use maiko::*;
use support::{Log, within};

#[derive(Event, Clone, Debug)]
struct Done;

/// Stops itself when it handles `Done`.
struct StopsOnEvent {
    ctx: Context<Done>,
    name: &'static str,
    log: Log,
}

impl Actor for StopsOnEvent {
    type Event = Done;

    async fn handle_event(&mut self, _envelope: &Envelope<Done>) -> Result {
        self.ctx.stop()
    }

    async fn on_shutdown(&mut self) -> Result {
        self.log.push(format!("{} on_shutdown", self.name));
        Ok(())
    }
}

/// Stops itself from its first step.
struct StopsFromStep {
    ctx: Context<Done>,
    name: &'static str,
    log: Log,
}

impl Actor for StopsFromStep {
    type Event = Done;

    async fn step(&mut self) -> Result<StepAction> {
        self.ctx.stop()?;
        Ok(StepAction::Never)
    }

    async fn on_shutdown(&mut self) -> Result {
        self.log.push(format!("{} on_shutdown", self.name));
        Ok(())
    }
}

fn assert_every_actor_completed(report: &ShutdownReport, log: &Log, names: &[&str]) {
    assert!(report.is_clean(), "{report}");
    for name in names {
        assert_eq!(report.actor(name).unwrap().outcome, ActorOutcome::Completed);
        assert_eq!(log.count(&format!("{name} on_shutdown")), 1, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_returns_ok_once_every_actor_has_stopped_itself() -> Result {
    let log = Log::new();
    let names = ["a", "b", "c"];
    let mut sup = Supervisor::<Done>::default();
    for name in names {
        let log = log.clone();
        sup.add_actor(
            name,
            move |ctx| StopsOnEvent { ctx, name, log },
            [DefaultTopic],
        )?;
    }
    sup.start().await?;
    let handle = sup.handle();
    sup.send(Done).await?;

    within("join() after every actor stopped itself", sup.join()).await?;

    let report = handle.stopped().await;
    assert_every_actor_completed(&report, &log, &names);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_returns_ok_once_every_actor_has_stopped_itself() -> Result {
    let log = Log::new();
    let names = ["x", "y"];
    let mut sup = Supervisor::<Done>::default();
    for name in names {
        let log = log.clone();
        sup.add_actor(
            name,
            move |ctx| StopsFromStep { ctx, name, log },
            [DefaultTopic],
        )?;
    }
    let handle = sup.handle();

    within("run() after every actor stopped itself", sup.run()).await?;

    let report = handle.stopped().await;
    assert_every_actor_completed(&report, &log, &names);
    Ok(())
}
