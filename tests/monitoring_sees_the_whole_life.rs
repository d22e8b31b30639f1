//! Monitors see the whole life of a supervisor, in a defined order: actors
//! registered before the monitor was added are reported registered; steps
//! are reported entering and exiting; handler errors and overflows are
//! reported; events handled during the shutdown drain are reported; every
//! actor is reported stopped by the time `stop()` returns; monitors are
//! called in the order they were added; a monitor that panics is removed
//! while the others go on; and a monitor added after the stop gets an
//! error, not a panic.
#![cfg(feature = "monitoring")]

mod support;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use maiko::{monitoring::Monitor, *};
use support::{Door, within};
use tokio::sync::Notify;

#[derive(Event, Clone, Debug, PartialEq)]
enum Msg {
    Work(u32),
    Fail,
    Tick,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Lane {
    Work,
    Ticks,
}

impl Topic<Msg> for Lane {
    fn from_event(event: &Msg) -> Self {
        match event {
            Msg::Tick => Lane::Ticks,
            _ => Lane::Work,
        }
    }

    fn overflow_policy(&self) -> OverflowPolicy {
        match self {
            Lane::Work => OverflowPolicy::Block,
            Lane::Ticks => OverflowPolicy::Drop,
        }
    }
}

/// Holds its first job at a door; fails (and carries on) on `Fail`.
struct Worker {
    door: Door,
}

impl Actor for Worker {
    type Event = Msg;

    async fn handle_event(&mut self, envelope: &Envelope<Msg>) -> Result {
        match envelope.event() {
            Msg::Work(0) => self.door.pass().await,
            Msg::Fail => return Err(Error::InvalidConfig("a failing job")),
            _ => {}
        }
        Ok(())
    }

    fn on_error(&mut self, _error: Error) -> Result {
        Ok(())
    }
}

/// Steps twice, then never again, and says so.
struct Stepper {
    steps: u32,
    done: Arc<Notify>,
}

impl Actor for Stepper {
    type Event = Msg;

    async fn step(&mut self) -> Result<StepAction> {
        self.steps += 1;
        if self.steps < 2 {
            return Ok(StepAction::Continue);
        }
        self.done.notify_one();
        Ok(StepAction::Never)
    }
}

/// Writes one line per callback into a shared log, prefixed with its name.
#[derive(Clone)]
struct Logging {
    name: &'static str,
    log: Arc<Mutex<Vec<String>>>,
}

impl Logging {
    fn push(&self, line: String) {
        self.log
            .lock()
            .unwrap()
            .push(format!("{} {line}", self.name));
    }
}

fn describe(event: &Msg) -> String {
    format!("{event:?}")
}

impl Monitor<Msg, Lane> for Logging {
    fn on_actor_registered(&self, actor: &ActorId) {
        self.push(format!("registered {actor}"));
    }
    fn on_event_dispatched(&self, e: &Envelope<Msg>, _: &Lane, to: &ActorId) {
        self.push(format!("dispatched {} to {to}", describe(e.event())));
    }
    fn on_event_delivered(&self, e: &Envelope<Msg>, _: &Lane, to: &ActorId) {
        self.push(format!("delivered {} to {to}", describe(e.event())));
    }
    fn on_event_handled(&self, e: &Envelope<Msg>, _: &Lane, to: &ActorId) {
        self.push(format!("handled {} by {to}", describe(e.event())));
    }
    fn on_error(&self, error: &str, actor: &ActorId) {
        self.push(format!("error {error} in {actor}"));
    }
    fn on_step_enter(&self, actor: &ActorId) {
        self.push(format!("step {actor}"));
    }
    fn on_step_exit(&self, action: &StepAction, actor: &ActorId) {
        self.push(format!("stepped {actor} {action}"));
    }
    fn on_overflow(&self, e: &Envelope<Msg>, _: &Lane, to: &ActorId, policy: OverflowPolicy) {
        self.push(format!("overflow {} to {to} {policy}", describe(e.event())));
    }
    fn on_actor_stop(&self, actor: &ActorId) {
        self.push(format!("stopped {actor}"));
    }
}

/// Panics at the first event it is told of.
struct Fragile;

impl Monitor<Msg, Lane> for Fragile {
    fn on_event_dispatched(&self, _: &Envelope<Msg>, _: &Lane, _: &ActorId) {
        panic!("a fragile monitor");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitors_see_registration_steps_errors_overflows_the_drain_and_stops() -> Result {
    let door = Door::new();
    let mut sup = Supervisor::<Msg, Lane>::default();
    let worker_door = door.clone();
    sup.build_actor("worker", move |_| Worker { door: worker_door })
        .topics([Lane::Work, Lane::Ticks])
        .channel_capacity(1)
        .build()?;
    let stepped = Arc::new(Notify::new());
    let done = Arc::clone(&stepped);
    sup.add_actor(
        "stepper",
        move |_| Stepper { steps: 0, done },
        Subscribe::none(),
    )?;

    // Added after both actors were registered.
    let log = Arc::new(Mutex::new(Vec::new()));
    let first = Logging {
        name: "first",
        log: Arc::clone(&log),
    };
    let second = Logging {
        name: "second",
        log: Arc::clone(&log),
    };
    sup.monitors().add(first).await;
    sup.monitors().add(Fragile).await;
    let second = sup.monitors().add(second).await;
    sup.start().await?;

    // Work 0 held at the door, Work 1 fills the one-slot mailbox, Work 2
    // waits under Block (an overflow), a tick is dropped (an overflow).
    sup.send(Msg::Work(0)).await?;
    door.arrivals(1).await;
    sup.send(Msg::Work(1)).await?;
    sup.send(Msg::Work(2)).await?;
    sup.send(Msg::Tick).await?;
    sup.send(Msg::Fail).await?;
    // (No step runs after a stop request: let the stepper finish first.)
    within("the stepper's two steps", stepped.notified()).await;
    // Stop with all of that still to handle: it is handled in the drain.
    let handle = sup.handle();
    handle.request_stop();
    door.open();
    let report = within("the shutdown", sup.shutdown()).await;
    assert!(report.monitor_records_lost == 0, "{report}");

    let log = log.lock().unwrap().clone();
    let lines = |name: &str| -> Vec<String> {
        log.iter()
            .filter_map(|l| l.strip_prefix(&format!("{name} ")))
            .map(str::to_owned)
            .collect()
    };
    let first = lines("first");
    let has = |line: &str| first.iter().any(|l| l == line);
    let at = |line: &str| {
        first
            .iter()
            .position(|l| l == line)
            .unwrap_or_else(|| panic!("missing {line:?} in {first:#?}"))
    };
    assert!(at("registered worker") < at("registered stepper"));
    assert!(at("step stepper") < at("stepped stepper Continue"));
    assert!(has("stepped stepper Never"));
    assert!(has("overflow Work(2) to worker Block"), "{first:#?}");
    for n in 0..3 {
        let (dispatched, delivered, handled) = (
            at(&format!("dispatched Work({n}) to worker")),
            at(&format!("delivered Work({n}) to worker")),
            at(&format!("handled Work({n}) by worker")),
        );
        assert!(dispatched < delivered && delivered < handled, "Work({n})");
    }
    assert!(has("handled Fail by worker"), "{first:#?}");
    assert!(has("error invalid configuration: a failing job in worker"));
    assert!(has("stopped worker") && has("stopped stepper"));

    // The second monitor saw the same; each was told of the actors already
    // registered when it was added, and from then on every record went to
    // the first, then the second. The fragile one panicked and was removed
    // without disturbing them.
    assert_eq!(lines("second"), first);
    let after_replays: Vec<&String> = log.iter().filter(|l| !l.contains(" registered ")).collect();
    for pair in after_replays.chunks(2) {
        assert!(
            pair[0].starts_with("first ") && pair[1].starts_with("second "),
            "{pair:?}"
        );
    }

    // After the stop: an error, not a panic.
    let mut stopped = Supervisor::<Msg, Lane>::default();
    let stopped_handle = stopped.handle();
    stopped.start().await?;
    stopped_handle.request_stop();
    within("its shutdown", stopped_handle.stopped()).await;
    let refused = stopped.monitors().try_add(Fragile).await.unwrap_err();
    assert_eq!(refused, Error::Stopping);
    let inert = stopped.monitors().add(Fragile).await;
    inert.flush(Duration::ZERO).await;
    second.flush(Duration::ZERO).await;
    Ok(())
}
