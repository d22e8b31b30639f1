//! What a trial is made of, all drawn from its seed: the runtime, the
//! producers and their scripts, the pipeline, the subscribers and the stop.

use std::fmt;

use super::{Lane, all_lanes};

/// Most events a trial's sources publish (reactor bursts and relay copies
/// come on top). Sized so that 2,000 trials run in well under two minutes
/// in a debug build on two cores.
const MAX_SOURCE_EVENTS: u32 = 400;

/// Settings of one actor.
#[derive(Clone, Debug)]
pub struct ActorSpec {
    /// Mailbox capacity, 1 to 1024.
    pub mailbox: usize,
    /// Events handled between two steps.
    pub per_tick: usize,
    /// 0 for a fast handler; otherwise it yields up to this many times per
    /// event (and very rarely sleeps for a moment, as simulated work).
    pub slowness: u8,
}

/// What a source outside the actors sends, in order: `None` for a data
/// event, `Some((reactor, burst))` for a trigger.
#[derive(Clone, Debug)]
pub struct Script {
    /// The sends.
    pub sends: Vec<Option<(u8, u8)>>,
    /// Up to this many yields before each send.
    pub max_yields: u8,
}

/// An actor publishing from `step()`.
#[derive(Clone, Debug)]
pub struct StepperSpec {
    /// Its settings (it subscribes to nothing).
    pub actor: ActorSpec,
    /// Events it publishes in total.
    pub events: u32,
    /// Up to this many events per call of `step()`.
    pub burst_max: u32,
    /// Returns `StepAction::Yield` rather than `StepAction::Continue`.
    pub yields: bool,
}

/// A recording subscriber.
#[derive(Clone, Debug)]
pub struct SinkSpec {
    /// Its settings.
    pub actor: ActorSpec,
    /// Subscribes with `Subscribe::all()`.
    pub all: bool,
    /// Otherwise, these lanes.
    pub lanes: Vec<Lane>,
}

/// How the test task stops the supervisor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriverStop {
    /// `Supervisor::shutdown()`.
    Shutdown,
    /// `Supervisor::stop()`, then the report from a handle.
    Stop,
    /// `SupervisorHandle::request_stop()`, then `shutdown()` or `stopped()`.
    HandleRequestStop,
    /// `SupervisorHandle::request_stop()` from a spawned task.
    TaskRequestStop,
}

/// When and by whom the runtime is stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopPlan {
    /// The test task, once the sources have this many accepted publishes.
    AfterAccepted {
        /// Threshold.
        accepted: u64,
        /// Mechanism.
        how: DriverStop,
    },
    /// The test task, after yielding this many times.
    AfterYields {
        /// Threshold.
        yields: u32,
        /// Mechanism.
        how: DriverStop,
    },
    /// Stepper 0 calls `Context::stop_runtime()` from `step()` after this
    /// many steps that published; the test task waits in `join()`.
    FromStep {
        /// Threshold.
        after_steps: u32,
    },
    /// Sink 0 calls `Context::stop_runtime()` from `handle_event` after
    /// this many events; the test task waits in `join()`.
    FromHandler {
        /// Threshold.
        after_handled: u32,
    },
}

/// Everything random about one trial, drawn from its seed.
#[derive(Clone, Debug)]
pub struct Params {
    /// The seed these parameters were drawn from.
    pub seed: u64,
    /// A multi-thread runtime with 2 workers, or a current-thread one.
    pub multi_thread: bool,
    /// Stage-1 channel capacity, 1 to 1024.
    pub broker_capacity: usize,
    /// `SupervisorConfig::with_strict_shutdown`.
    pub strict: bool,
    /// Number of `Data` lanes, 1 to 4.
    pub depth: u8,
    /// What the test task itself sends.
    pub driver: Script,
    /// What each spawned handle task sends.
    pub external: Vec<Script>,
    /// Actors publishing from `step()`.
    pub steppers: Vec<StepperSpec>,
    /// Actors publishing from `handle_event` when triggered.
    pub reactors: Vec<ActorSpec>,
    /// The relays of each pipeline stage `0..depth - 1`.
    pub relays: Vec<Vec<ActorSpec>>,
    /// Recording subscribers.
    pub sinks: Vec<SinkSpec>,
    /// The stop.
    pub stop: StopPlan,
}

/// A capacity from 1 to 1024, log-uniform so that tiny ones are common.
fn capacity(rng: &mut fastrand::Rng) -> usize {
    let high = 1usize << rng.u32(0..=10);
    rng.usize((high / 2).max(1)..=high)
}

fn actor_spec(rng: &mut fastrand::Rng) -> ActorSpec {
    ActorSpec {
        mailbox: capacity(rng),
        per_tick: if rng.bool() { 1 } else { rng.usize(1..=16) },
        slowness: if rng.bool() { 0 } else { rng.u8(1..=4) },
    }
}

// Each `draw` step below takes its numbers from the one generator in the
// order the steps are called, so a seed always draws the same trial.
impl Params {
    /// Draw the parameters of one trial from `seed`.
    pub fn draw(seed: u64) -> Self {
        let mut rng = fastrand::Rng::with_seed(seed);
        let multi_thread = rng.u8(0..5) != 0;
        let broker_capacity = capacity(&mut rng);
        let strict = rng.u8(0..4) == 0;
        let depth = rng.u8(1..=4);
        let Producers {
            driver,
            external,
            steppers,
            reactors,
        } = Producers::draw(&mut rng);
        let relays = draw_relays(&mut rng, depth);
        let mut sinks = draw_sinks(&mut rng, depth, reactors.len());
        let certain = Certain::count(&driver, &external, &steppers);
        let stop = draw_stop(&mut rng, certain, &steppers, &mut sinks);
        Self {
            seed,
            multi_thread,
            broker_capacity,
            strict,
            depth,
            driver,
            external,
            steppers,
            reactors,
            relays,
            sinks,
            stop,
        }
    }
}

/// The sources of a trial.
struct Producers {
    driver: Script,
    external: Vec<Script>,
    steppers: Vec<StepperSpec>,
    reactors: Vec<ActorSpec>,
}

impl Producers {
    /// 1 to 16 producers: the driver plus externals, steppers and reactors,
    /// sharing a budget of up to [`MAX_SOURCE_EVENTS`] events.
    fn draw(rng: &mut fastrand::Rng) -> Self {
        let producers = rng.u32(1..=16);
        let (mut externals, mut steppers, mut reactors) = (0, 0, 0);
        for _ in 1..producers {
            match rng.u8(0..3) {
                0 => externals += 1,
                1 => steppers += 1,
                _ => reactors += 1,
            }
        }
        let budget = rng.u32(1..=MAX_SOURCE_EVENTS);
        let share = (2 * budget / producers).max(1);
        let script = |rng: &mut fastrand::Rng| Script {
            sends: (0..rng.u32(0..=share))
                .map(|_| {
                    (reactors > 0 && rng.u8(0..6) == 0)
                        .then(|| (rng.u8(0..reactors), rng.u8(1..=8)))
                })
                .collect(),
            max_yields: if rng.bool() { 0 } else { rng.u8(1..=8) },
        };
        let driver = script(rng);
        let external: Vec<Script> = (0..externals).map(|_| script(rng)).collect();
        let steppers: Vec<StepperSpec> = (0..steppers)
            .map(|_| StepperSpec {
                actor: actor_spec(rng),
                events: rng.u32(1..=share),
                burst_max: rng.u32(1..=4),
                yields: rng.bool(),
            })
            .collect();
        let reactors: Vec<ActorSpec> = (0..reactors).map(|_| actor_spec(rng)).collect();
        Self {
            driver,
            external,
            steppers,
            reactors,
        }
    }
}

/// The relays of each stage but the last: one or two per stage, with at
/// most four copies of an event at the last stage.
fn draw_relays(rng: &mut fastrand::Rng, depth: u8) -> Vec<Vec<ActorSpec>> {
    let mut fan_out = 1;
    (0..depth - 1)
        .map(|_| {
            let n = if fan_out < 4 && rng.u8(0..3) == 0 {
                2
            } else {
                1
            };
            fan_out *= n;
            (0..n).map(|_| actor_spec(rng)).collect()
        })
        .collect()
}

/// 1 to 8 recording subscribers, each to some lanes; the end of the
/// pipeline always has one.
fn draw_sinks(rng: &mut fastrand::Rng, depth: u8, reactors: usize) -> Vec<SinkSpec> {
    let lanes = all_lanes(depth, reactors);
    let mut sinks: Vec<SinkSpec> = (0..rng.usize(1..=8))
        .map(|_| {
            let mut chosen: Vec<Lane> = lanes
                .iter()
                .copied()
                .filter(|lane| match lane {
                    Lane::Data(_) => rng.bool(),
                    Lane::Trigger(_) => rng.u8(0..4) == 0,
                })
                .collect();
            if chosen.is_empty() {
                chosen.push(Lane::Data(rng.u8(0..depth)));
            }
            SinkSpec {
                actor: actor_spec(rng),
                all: rng.u8(0..10) == 0,
                lanes: chosen,
            }
        })
        .collect();
    if !sinks[0].lanes.contains(&Lane::Data(depth - 1)) {
        sinks[0].lanes.push(Lane::Data(depth - 1));
    }
    sinks
}

/// What is certain to be accepted if nobody stops: every scripted send,
/// every stepper event and every burst a trigger asks for.
#[derive(Clone, Copy)]
struct Certain {
    /// Of these, the events that reach `Data(0)`.
    data_events: u64,
    /// All of them.
    publishes: u64,
}

impl Certain {
    fn count(driver: &Script, external: &[Script], steppers: &[StepperSpec]) -> Self {
        let scripts = std::iter::once(driver).chain(external);
        let data_events: u64 = scripts
            .clone()
            .flat_map(|s| &s.sends)
            .map(|send| match send {
                None => 1,
                Some((_, burst)) => u64::from(*burst),
            })
            .sum::<u64>()
            + steppers.iter().map(|s| u64::from(s.events)).sum::<u64>();
        let publishes = data_events
            + scripts
                .flat_map(|s| &s.sends)
                .filter(|s| s.is_some())
                .count() as u64;
        Self {
            data_events,
            publishes,
        }
    }
}

/// When and how the trial stops. A stop from a handler makes sink 0 take
/// `Data(0)`, so that it has something to count.
fn draw_stop(
    rng: &mut fastrand::Rng,
    certain: Certain,
    steppers: &[StepperSpec],
    sinks: &mut [SinkSpec],
) -> StopPlan {
    let how = match rng.u8(0..4) {
        0 => DriverStop::Shutdown,
        1 => DriverStop::Stop,
        2 => DriverStop::HandleRequestStop,
        _ => DriverStop::TaskRequestStop,
    };
    match rng.u8(0..10) {
        7 | 8 if !steppers.is_empty() => StopPlan::FromStep {
            after_steps: rng.u32(1..=steppers[0].events.div_ceil(steppers[0].burst_max)),
        },
        9 if certain.data_events > 0 => {
            if !sinks[0].lanes.contains(&Lane::Data(0)) {
                sinks[0].lanes.push(Lane::Data(0));
            }
            StopPlan::FromHandler {
                after_handled: rng.u32(1..=u32::try_from(certain.data_events).unwrap_or(u32::MAX)),
            }
        }
        0..=4 => StopPlan::AfterAccepted {
            accepted: rng.u64(0..=certain.publishes),
            how,
        },
        _ => StopPlan::AfterYields {
            yields: rng.u32(0..=400),
            how,
        },
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let actor =
            |a: &ActorSpec| format!("mb{}/tick{}/slow{}", a.mailbox, a.per_tick, a.slowness);
        let script = |s: &Script| {
            let triggers = s.sends.iter().filter(|s| s.is_some()).count();
            format!(
                "{} sends ({triggers} triggers, yields<={})",
                s.sends.len(),
                s.max_yields
            )
        };
        writeln!(
            f,
            "seed {:#018x}: {} runtime, broker capacity {}, {}, depth {}, stop {:?}",
            self.seed,
            if self.multi_thread {
                "multi-thread(2)"
            } else {
                "current-thread"
            },
            self.broker_capacity,
            if self.strict { "strict" } else { "draining" },
            self.depth,
            self.stop
        )?;
        writeln!(f, "  driver: {}", script(&self.driver))?;
        for (i, s) in self.external.iter().enumerate() {
            writeln!(f, "  ext{i}: {}", script(s))?;
        }
        for (i, s) in self.steppers.iter().enumerate() {
            writeln!(
                f,
                "  stepper{i}: {} events, burst<={}, {}, {}",
                s.events,
                s.burst_max,
                if s.yields { "Yield" } else { "Continue" },
                actor(&s.actor)
            )?;
        }
        for (i, a) in self.reactors.iter().enumerate() {
            writeln!(f, "  reactor{i}: {}", actor(a))?;
        }
        for (level, stage) in self.relays.iter().enumerate() {
            for (j, a) in stage.iter().enumerate() {
                writeln!(f, "  relay{level}.{j}: {}", actor(a))?;
            }
        }
        for (i, s) in self.sinks.iter().enumerate() {
            let lanes = if s.all {
                "all".to_owned()
            } else {
                format!("{:?}", s.lanes)
            };
            writeln!(f, "  sink{i}: {lanes}, {}", actor(&s.actor))?;
        }
        Ok(())
    }
}
