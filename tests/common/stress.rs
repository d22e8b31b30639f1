//! The engine of the randomised shutdown stress test.
//!
//! A *trial* builds a fresh supervisor from parameters drawn from one seed
//! ([`Params::draw`]), runs producers, a pipeline and subscribers on it,
//! stops it at a random moment and then compares, per publisher and
//! sequence number, what was accepted with what was handled
//! ([`run_trial`]).
//!
//! # The system under test
//!
//! Every event is a [`Msg`]: a [`Lane`] (its topic), the id of the
//! participant that published it, and that publisher's sequence number.
//!
//! - *Sources* publish to `Data(0)`: the test task itself through
//!   `Supervisor::send` / `publish` (the "driver"), spawned tasks through
//!   `SupervisorHandle::send`, actors from `step()`, and *reactors*, which
//!   publish a burst from `handle_event` when a source sends them a
//!   `Trigger`.
//! - *Relays* form the pipeline: a relay of stage `k` handles `Data(k)` and
//!   publishes one `Data(k + 1)` per event from `handle_event`.
//! - *Sinks* only record what they handle; each subscribes to some lanes,
//!   or to all of them.
//!
//! Every publisher records the publishes that returned `Ok` (and only
//! those); every subscriber records what it handled, in order.
//!
//! # What a trial checks
//!
//! After the shutdown has returned, for every subscriber and every
//! publisher, the sequence numbers handled on the lanes the subscriber
//! takes must be exactly the ones accepted on those lanes, each once, in
//! accepted order. Besides, no publish from outside the handlers that
//! started after the stop request had returned may be accepted, and the
//! [`ShutdownReport`] must balance, be clean, and count what the actors
//! counted.

use std::{
    collections::{HashMap, HashSet},
    fmt,
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    task::Poll,
    time::Duration,
};

use maiko::*;
use tokio::{sync::Notify, task::JoinSet};

/// Most events a trial's sources publish (reactor bursts and relay copies
/// come on top). Sized so that 2,000 trials run in well under two minutes
/// in a debug build on two cores.
const MAX_SOURCE_EVENTS: u32 = 400;

/// The topic of every stress event.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Lane {
    /// Pipeline stage `k`: sources publish to `Data(0)`, the relays of stage
    /// `k` take `Data(k)` and publish to `Data(k + 1)`.
    Data(u8),
    /// Asks reactor `n` to publish a burst from its handler.
    Trigger(u8),
}

impl Topic<Msg> for Lane {
    fn from_event(event: &Msg) -> Self {
        event.lane
    }
}

/// One stress event.
#[derive(Event, Clone, Debug, PartialEq, Eq)]
pub struct Msg {
    /// Its topic.
    pub lane: Lane,
    /// The participant that published it.
    pub publisher: u16,
    /// Its place in the publisher's stream (counting refused attempts too).
    pub seq: u32,
    /// For a trigger: how many events the reactor publishes in answer.
    pub burst: u8,
}

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

impl Params {
    /// Draw the parameters of one trial from `seed`.
    pub fn draw(seed: u64) -> Self {
        let mut rng = fastrand::Rng::with_seed(seed);
        let multi_thread = rng.u8(0..5) != 0;
        let broker_capacity = capacity(&mut rng);
        let strict = rng.u8(0..4) == 0;
        let depth = rng.u8(1..=4);

        // 1 to 16 producers: the driver plus the others.
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
        let driver = script(&mut rng);
        let external: Vec<Script> = (0..externals).map(|_| script(&mut rng)).collect();
        let steppers: Vec<StepperSpec> = (0..steppers)
            .map(|_| StepperSpec {
                actor: actor_spec(&mut rng),
                events: rng.u32(1..=share),
                burst_max: rng.u32(1..=4),
                yields: rng.bool(),
            })
            .collect();
        let reactors: Vec<ActorSpec> = (0..reactors).map(|_| actor_spec(&mut rng)).collect();

        // At most four copies of an event at the last stage.
        let mut fan_out = 1;
        let relays: Vec<Vec<ActorSpec>> = (0..depth - 1)
            .map(|_| {
                let n = if fan_out < 4 && rng.u8(0..3) == 0 {
                    2
                } else {
                    1
                };
                fan_out *= n;
                (0..n).map(|_| actor_spec(&mut rng)).collect()
            })
            .collect();

        let lanes = all_lanes(depth, reactors.len());
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
                    actor: actor_spec(&mut rng),
                    all: rng.u8(0..10) == 0,
                    lanes: chosen,
                }
            })
            .collect();
        // The end of the pipeline always has a subscriber.
        if !sinks[0].lanes.contains(&Lane::Data(depth - 1)) {
            sinks[0].lanes.push(Lane::Data(depth - 1));
        }

        // What is certain to be accepted if nobody stops: every scripted
        // send, every stepper event and every burst a trigger asks for. Of
        // these, `data_events` reach `Data(0)`.
        let scripts = std::iter::once(&driver).chain(&external);
        let data_events: u64 = scripts
            .clone()
            .flat_map(|s| &s.sends)
            .map(|send| match send {
                None => 1,
                Some((_, burst)) => u64::from(*burst),
            })
            .sum::<u64>()
            + steppers.iter().map(|s| u64::from(s.events)).sum::<u64>();
        let certain = data_events
            + scripts
                .flat_map(|s| &s.sends)
                .filter(|s| s.is_some())
                .count() as u64;

        let how = match rng.u8(0..4) {
            0 => DriverStop::Shutdown,
            1 => DriverStop::Stop,
            2 => DriverStop::HandleRequestStop,
            _ => DriverStop::TaskRequestStop,
        };
        let stop = match rng.u8(0..10) {
            7 | 8 if !steppers.is_empty() => StopPlan::FromStep {
                after_steps: rng.u32(1..=steppers[0].events.div_ceil(steppers[0].burst_max)),
            },
            9 if data_events > 0 => {
                if !sinks[0].lanes.contains(&Lane::Data(0)) {
                    sinks[0].lanes.push(Lane::Data(0));
                }
                StopPlan::FromHandler {
                    after_handled: rng.u32(1..=u32::try_from(data_events).unwrap_or(u32::MAX)),
                }
            }
            0..=4 => StopPlan::AfterAccepted {
                accepted: rng.u64(0..=certain),
                how,
            },
            _ => StopPlan::AfterYields {
                yields: rng.u32(0..=400),
                how,
            },
        };

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

fn all_lanes(depth: u8, reactors: usize) -> Vec<Lane> {
    let triggers = (0..reactors).map(|r| Lane::Trigger(u8::try_from(r).expect("few reactors")));
    (0..depth).map(Lane::Data).chain(triggers).collect()
}

/// Counts over one or many trials. Every field but `trials`,
/// `events_accepted` and `deliveries` must end at zero.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Trials run.
    pub trials: u64,
    /// Publishes that returned `Ok`.
    pub events_accepted: u64,
    /// Events handled by subscribers.
    pub deliveries: u64,
    /// Publishes refused with `Stopping` (the stop cut a stream short).
    pub refused: u64,
    /// Trials in which at least one publish was refused.
    pub cut_short: u64,
    /// Accepted events a subscriber of their lane never handled (G1).
    pub lost: u64,
    /// Events a subscriber handled more than once (G1).
    pub duplicated: u64,
    /// Events handled that were never accepted, plus publishes from outside
    /// the handlers accepted although they started after the stop request
    /// had returned (G2).
    pub accepted_after_close: u64,
    /// Events a subscriber handled after a later one from the same publisher
    /// (G4).
    pub out_of_order: u64,
    /// Events handled by an actor not subscribed to their lane.
    pub misrouted: u64,
    /// Trials that did not finish within the timeout.
    pub hangs: u64,
    /// Actor reports with `routed != handled + dropped + lost + abandoned +
    /// interrupted`.
    pub unbalanced: u64,
    /// Reports that are not clean, or a `stop()`/`join()` that failed.
    pub unclean: u64,
    /// Actor reports whose `handled` differs from what the actor recorded,
    /// or missing actor reports.
    pub report_mismatches: u64,
    /// Publishes from `handle_event` refused without strict shutdown.
    pub handler_refusals: u64,
    /// Refusals with an error other than `Stopping`, or whose handed-back
    /// event is not the one published.
    pub bad_refusals: u64,
}

impl Tally {
    /// Add another tally to this one.
    pub fn add(&mut self, other: &Self) {
        self.trials += other.trials;
        self.events_accepted += other.events_accepted;
        self.deliveries += other.deliveries;
        self.refused += other.refused;
        self.cut_short += other.cut_short;
        self.lost += other.lost;
        self.duplicated += other.duplicated;
        self.accepted_after_close += other.accepted_after_close;
        self.out_of_order += other.out_of_order;
        self.misrouted += other.misrouted;
        self.hangs += other.hangs;
        self.unbalanced += other.unbalanced;
        self.unclean += other.unclean;
        self.report_mismatches += other.report_mismatches;
        self.handler_refusals += other.handler_refusals;
        self.bad_refusals += other.bad_refusals;
    }

    /// The sum of every failure count.
    pub fn failures(&self) -> u64 {
        self.lost
            + self.duplicated
            + self.accepted_after_close
            + self.out_of_order
            + self.misrouted
            + self.hangs
            + self.unbalanced
            + self.unclean
            + self.report_mismatches
            + self.handler_refusals
            + self.bad_refusals
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "G1/G2/G4: {} trials, {} lost, {} duplicated, {} accepted-after-close, {} out of order, \
             {} hangs, {} unbalanced, {} unclean, {} report mismatches, {} misrouted, \
             {} handler refusals, {} bad refusals ({} events accepted, {} deliveries checked, \
             {} publishes refused at the stop in {} trials)",
            self.trials,
            self.lost,
            self.duplicated,
            self.accepted_after_close,
            self.out_of_order,
            self.hangs,
            self.unbalanced,
            self.unclean,
            self.report_mismatches,
            self.misrouted,
            self.handler_refusals,
            self.bad_refusals,
            self.events_accepted,
            self.deliveries,
            self.refused,
            self.cut_short
        )
    }
}

/// The result of one trial: its counts and, if any failed, what failed.
#[derive(Debug, Default)]
pub struct TrialOutcome {
    /// The counts.
    pub tally: Tally,
    /// Human-readable notes on each failure.
    pub notes: Vec<String>,
}

/// A publish that was refused.
struct Refused {
    error: Error,
    handed_back: Option<Msg>,
}

impl From<Error> for Refused {
    fn from(error: Error) -> Self {
        Self {
            error,
            handed_back: None,
        }
    }
}

impl From<SendError<Msg>> for Refused {
    fn from(refused: SendError<Msg>) -> Self {
        Self {
            error: refused.error().clone(),
            handed_back: Some(refused.into_event()),
        }
    }
}

/// Where a publish came from, for the gate's rules.
#[derive(Clone, Copy)]
enum Side {
    /// The supervisor, a handle or `step()`; `late` if it started after a
    /// stop request had returned.
    Outside { late: bool },
    /// `handle_event`.
    Handler,
}

/// Everything a trial records, shared by its actors and tasks.
struct Shared {
    strict: bool,
    /// Per participant: `(lane, seq)` of every accepted publish, in order.
    accepted: Vec<Mutex<Vec<(Lane, u32)>>>,
    /// Per participant: `(lane, publisher, seq)` of every handled event, in
    /// order.
    handled: Vec<Mutex<Vec<(Lane, u16, u32)>>>,
    /// Accepted publishes of sources (everyone but relays).
    sources_accepted: AtomicU64,
    /// `StopPlan::AfterAccepted`'s threshold.
    milestone: u64,
    milestone_reached: Notify,
    /// Set right after a stop request has returned.
    stop_requested: AtomicBool,
    late_accepts: AtomicU64,
    refused: AtomicU64,
    handler_refusals: AtomicU64,
    bad_refusals: AtomicU64,
}

impl Shared {
    fn stop_requested(&self) -> bool {
        self.stop_requested.load(Ordering::SeqCst)
    }

    fn mark_stop_requested(&self) {
        self.stop_requested.store(true, Ordering::SeqCst);
    }

    fn handled(&self, by: u16, msg: &Msg) {
        self.handled[usize::from(by)]
            .lock()
            .unwrap()
            .push((msg.lane, msg.publisher, msg.seq));
    }

    /// Record the outcome of a publish of `msg`; `true` if it was accepted.
    fn outcome(
        &self,
        msg: &Msg,
        result: std::result::Result<(), Refused>,
        side: Side,
        source: bool,
    ) -> bool {
        match result {
            Ok(()) => {
                self.accepted[usize::from(msg.publisher)]
                    .lock()
                    .unwrap()
                    .push((msg.lane, msg.seq));
                if let Side::Outside { late: true } = side {
                    self.late_accepts.fetch_add(1, Ordering::SeqCst);
                }
                if source
                    && self.sources_accepted.fetch_add(1, Ordering::SeqCst) + 1 == self.milestone
                {
                    self.milestone_reached.notify_one();
                }
                true
            }
            Err(refused) => {
                self.refused.fetch_add(1, Ordering::SeqCst);
                if !refused.error.is_stopping()
                    || refused.handed_back.as_ref().is_some_and(|back| back != msg)
                {
                    self.bad_refusals.fetch_add(1, Ordering::SeqCst);
                }
                if matches!(side, Side::Handler) && !self.strict {
                    self.handler_refusals.fetch_add(1, Ordering::SeqCst);
                }
                false
            }
        }
    }
}

/// Simulated work: a slow handler yields a few times, and very rarely
/// sleeps for a moment. Never used to wait for anything.
async fn work(rng: &mut fastrand::Rng, slowness: u8) {
    if slowness == 0 {
        return;
    }
    for _ in 0..rng.u8(1..=slowness) {
        tokio::task::yield_now().await;
    }
    if rng.u16(0..1000) == 0 {
        tokio::time::sleep(Duration::from_micros(50)).await;
    }
}

/// Publish from an actor through one of `send`, `publish` and
/// `send_child_event`, chosen at random.
async fn publish(
    ctx: &Context<Msg>,
    rng: &mut fastrand::Rng,
    msg: Msg,
    parent: Option<EventId>,
) -> std::result::Result<(), Refused> {
    match (rng.u8(0..3), parent) {
        (1, _) => ctx.publish(msg).await.map_err(Refused::from),
        (2, Some(parent)) => ctx
            .send_child_event(msg, parent)
            .await
            .map_err(Refused::from),
        _ => ctx.send(msg).await.map_err(Refused::from),
    }
}

/// Publishes `events` events to `Data(0)` from `step()`.
struct Stepper {
    id: u16,
    ctx: Context<Msg>,
    shared: Arc<Shared>,
    rng: fastrand::Rng,
    next_seq: u32,
    remaining: u32,
    burst_max: u32,
    yields: bool,
    steps: u32,
    stop_after_steps: Option<u32>,
}

impl Actor for Stepper {
    type Event = Msg;

    async fn step(&mut self) -> Result<StepAction> {
        if self.remaining == 0 {
            return Ok(StepAction::Never);
        }
        for _ in 0..self.rng.u32(1..=self.burst_max).min(self.remaining) {
            let msg = Msg {
                lane: Lane::Data(0),
                publisher: self.id,
                seq: self.next_seq,
                burst: 0,
            };
            self.next_seq += 1;
            let late = self.shared.stop_requested();
            let result = publish(&self.ctx, &mut self.rng, msg.clone(), None).await;
            if !self
                .shared
                .outcome(&msg, result, Side::Outside { late }, true)
            {
                return Ok(StepAction::Never);
            }
            self.remaining -= 1;
        }
        self.steps += 1;
        if Some(self.steps) == self.stop_after_steps {
            self.ctx.stop_runtime()?;
            self.shared.mark_stop_requested();
        }
        Ok(if self.yields {
            StepAction::Yield
        } else {
            StepAction::Continue
        })
    }
}

/// Answers each `Trigger` with a burst of `Data(0)` events from
/// `handle_event`.
struct Reactor {
    id: u16,
    ctx: Context<Msg>,
    shared: Arc<Shared>,
    rng: fastrand::Rng,
    slowness: u8,
    next_seq: u32,
}

impl Actor for Reactor {
    type Event = Msg;

    async fn handle_event(&mut self, envelope: &Envelope<Msg>) -> Result {
        work(&mut self.rng, self.slowness).await;
        let trigger = envelope.event();
        self.shared.handled(self.id, trigger);
        for _ in 0..trigger.burst {
            let msg = Msg {
                lane: Lane::Data(0),
                publisher: self.id,
                seq: self.next_seq,
                burst: 0,
            };
            self.next_seq += 1;
            let result = publish(&self.ctx, &mut self.rng, msg.clone(), Some(envelope.id())).await;
            if !self.shared.outcome(&msg, result, Side::Handler, true) {
                break;
            }
        }
        Ok(())
    }
}

/// Pipeline stage `level`: handles `Data(level)`, publishes `Data(level + 1)`.
struct Relay {
    id: u16,
    level: u8,
    ctx: Context<Msg>,
    shared: Arc<Shared>,
    rng: fastrand::Rng,
    slowness: u8,
    next_seq: u32,
}

impl Actor for Relay {
    type Event = Msg;

    async fn handle_event(&mut self, envelope: &Envelope<Msg>) -> Result {
        work(&mut self.rng, self.slowness).await;
        self.shared.handled(self.id, envelope.event());
        let msg = Msg {
            lane: Lane::Data(self.level + 1),
            publisher: self.id,
            seq: self.next_seq,
            burst: 0,
        };
        self.next_seq += 1;
        let result = publish(&self.ctx, &mut self.rng, msg.clone(), Some(envelope.id())).await;
        self.shared.outcome(&msg, result, Side::Handler, false);
        Ok(())
    }
}

/// Records what it handles; sink 0 may stop the runtime.
struct Sink {
    id: u16,
    ctx: Context<Msg>,
    shared: Arc<Shared>,
    rng: fastrand::Rng,
    slowness: u8,
    handled: u32,
    stop_after: Option<u32>,
}

impl Actor for Sink {
    type Event = Msg;

    async fn handle_event(&mut self, envelope: &Envelope<Msg>) -> Result {
        work(&mut self.rng, self.slowness).await;
        self.shared.handled(self.id, envelope.event());
        self.handled += 1;
        if Some(self.handled) == self.stop_after {
            self.ctx.stop_runtime()?;
            self.shared.mark_stop_requested();
        }
        Ok(())
    }
}

/// One participant of a trial: a publisher, a subscriber or both.
struct Participant {
    name: String,
    /// The lanes it handles, if it is a subscriber.
    lanes: Option<Vec<Lane>>,
    /// Whether it is an actor (and so has an entry in the report).
    actor: bool,
}

/// Send a source's script from outside the actors through `send` (whose
/// second argument picks a method at random), until `until(yields so far)`
/// holds or a publish is refused. Returns the number of yields made.
async fn run_script<F, Fut>(
    id: u16,
    script: &Script,
    shared: &Shared,
    rng: &mut fastrand::Rng,
    mut until: impl FnMut(u32) -> bool,
    mut send: F,
) -> u32
where
    F: FnMut(Msg, bool) -> Fut,
    Fut: Future<Output = std::result::Result<(), Refused>>,
{
    let mut yields = 0;
    for (seq, entry) in (0u32..).zip(&script.sends) {
        if until(yields) {
            break;
        }
        for _ in 0..rng.u8(0..=script.max_yields) {
            tokio::task::yield_now().await;
            yields += 1;
        }
        if until(yields) {
            break;
        }
        let msg = match *entry {
            None => Msg {
                lane: Lane::Data(0),
                publisher: id,
                seq,
                burst: 0,
            },
            Some((reactor, burst)) => Msg {
                lane: Lane::Trigger(reactor),
                publisher: id,
                seq,
                burst,
            },
        };
        let late = shared.stop_requested();
        let result = send(msg.clone(), rng.bool()).await;
        if !shared.outcome(&msg, result, Side::Outside { late }, true) {
            break;
        }
    }
    yields
}

/// Poll a future once.
async fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx))).await
}

/// Stop the supervisor from the test task as `how` says; the report, and a
/// note if `stop()` failed.
async fn stop_by(
    how: DriverStop,
    sup: Supervisor<Msg, Lane>,
    handle: &SupervisorHandle<Msg>,
    shared: &Arc<Shared>,
    coin: bool,
) -> (ShutdownReport, Option<String>) {
    match how {
        DriverStop::Shutdown => {
            // The first poll makes the stop request; then it is marked.
            let mut shutdown = Box::pin(sup.shutdown());
            let first = poll_once(&mut shutdown).await;
            shared.mark_stop_requested();
            let report = match first {
                Poll::Ready(report) => report,
                Poll::Pending => shutdown.await,
            };
            (report, None)
        }
        DriverStop::Stop => {
            let mut stop = Box::pin(sup.stop());
            let first = poll_once(&mut stop).await;
            shared.mark_stop_requested();
            let result = match first {
                Poll::Ready(result) => result,
                Poll::Pending => stop.await,
            };
            let note = result.err().map(|e| format!("stop() failed: {e}"));
            (handle.stopped().await, note)
        }
        DriverStop::HandleRequestStop => {
            handle.request_stop();
            shared.mark_stop_requested();
            if coin {
                (sup.shutdown().await, None)
            } else {
                let report = handle.stopped().await;
                drop(sup);
                (report, None)
            }
        }
        DriverStop::TaskRequestStop => {
            let (stopper, marks) = (handle.clone(), Arc::clone(shared));
            tokio::spawn(async move {
                stopper.request_stop();
                marks.mark_stop_requested();
            })
            .await
            .expect("the stopping task panicked");
            let report = handle.stopped().await;
            drop(sup);
            (report, None)
        }
    }
}

/// Run one trial and check it. Call inside a timeout: a trial that does not
/// return has hung.
pub async fn run_trial(params: Arc<Params>) -> TrialOutcome {
    let mut rng = fastrand::Rng::with_seed(params.seed ^ 0x9e37_79b9_7f4a_7c15);
    let all = all_lanes(params.depth, params.reactors.len());

    // Participants, in id order: driver, externals, steppers, reactors,
    // relays, sinks.
    let mut parts = vec![Participant {
        name: "driver".into(),
        lanes: None,
        actor: false,
    }];
    let mut add = |name: String, lanes: Option<Vec<Lane>>, actor: bool| {
        parts.push(Participant { name, lanes, actor });
        u16::try_from(parts.len() - 1).expect("few participants")
    };
    let externals: Vec<u16> = (0..params.external.len())
        .map(|i| add(format!("ext{i}"), None, false))
        .collect();
    let steppers: Vec<u16> = (0..params.steppers.len())
        .map(|i| add(format!("stepper{i}"), None, true))
        .collect();
    let reactors: Vec<u16> = (0..params.reactors.len())
        .map(|i| {
            let lane = Lane::Trigger(u8::try_from(i).expect("few reactors"));
            add(format!("reactor{i}"), Some(vec![lane]), true)
        })
        .collect();
    let relays: Vec<Vec<u16>> = (0u8..)
        .zip(&params.relays)
        .map(|(level, stage)| {
            (0..stage.len())
                .map(|j| {
                    add(
                        format!("relay{level}.{j}"),
                        Some(vec![Lane::Data(level)]),
                        true,
                    )
                })
                .collect()
        })
        .collect();
    let sinks: Vec<u16> = params
        .sinks
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let lanes = if s.all { all.clone() } else { s.lanes.clone() };
            add(format!("sink{i}"), Some(lanes), true)
        })
        .collect();

    let milestone = match params.stop {
        StopPlan::AfterAccepted { accepted, .. } => accepted,
        _ => 0,
    };
    let shared = Arc::new(Shared {
        strict: params.strict,
        accepted: parts.iter().map(|_| Mutex::default()).collect(),
        handled: parts.iter().map(|_| Mutex::default()).collect(),
        sources_accepted: AtomicU64::new(0),
        milestone,
        milestone_reached: Notify::new(),
        stop_requested: AtomicBool::new(false),
        late_accepts: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        handler_refusals: AtomicU64::new(0),
        bad_refusals: AtomicU64::new(0),
    });

    let config = SupervisorConfig::default()
        .with_broker_channel_capacity(params.broker_capacity)
        .with_strict_shutdown(params.strict);
    let mut sup = Supervisor::<Msg, Lane>::new(config);
    let name = |id: u16| parts[usize::from(id)].name.clone();

    for (i, (&id, spec)) in steppers.iter().zip(&params.steppers).enumerate() {
        let stop_after_steps = match params.stop {
            StopPlan::FromStep { after_steps } if i == 0 => Some(after_steps),
            _ => None,
        };
        let (shared, seed) = (Arc::clone(&shared), rng.u64(..));
        sup.build_actor(&name(id), move |ctx| Stepper {
            id,
            ctx,
            shared,
            rng: fastrand::Rng::with_seed(seed),
            next_seq: 0,
            remaining: spec.events,
            burst_max: spec.burst_max,
            yields: spec.yields,
            steps: 0,
            stop_after_steps,
        })
        .channel_capacity(spec.actor.mailbox)
        .with_config(|c| c.with_max_events_per_tick(spec.actor.per_tick))
        .build()
        .expect("register a stepper");
    }
    for (i, (&id, spec)) in reactors.iter().zip(&params.reactors).enumerate() {
        let (shared, seed) = (Arc::clone(&shared), rng.u64(..));
        sup.build_actor(&name(id), move |ctx| Reactor {
            id,
            ctx,
            shared,
            rng: fastrand::Rng::with_seed(seed),
            slowness: spec.slowness,
            next_seq: 0,
        })
        .topics([Lane::Trigger(u8::try_from(i).expect("few reactors"))])
        .channel_capacity(spec.mailbox)
        .with_config(|c| c.with_max_events_per_tick(spec.per_tick))
        .build()
        .expect("register a reactor");
    }
    for ((level, ids), specs) in (0u8..).zip(&relays).zip(&params.relays) {
        for (&id, spec) in ids.iter().zip(specs) {
            let (shared, seed) = (Arc::clone(&shared), rng.u64(..));
            sup.build_actor(&name(id), move |ctx| Relay {
                id,
                level,
                ctx,
                shared,
                rng: fastrand::Rng::with_seed(seed),
                slowness: spec.slowness,
                next_seq: 0,
            })
            .topics([Lane::Data(level)])
            .channel_capacity(spec.mailbox)
            .with_config(|c| c.with_max_events_per_tick(spec.per_tick))
            .build()
            .expect("register a relay");
        }
    }
    for (i, (&id, spec)) in sinks.iter().zip(&params.sinks).enumerate() {
        let stop_after = match params.stop {
            StopPlan::FromHandler { after_handled } if i == 0 => Some(after_handled),
            _ => None,
        };
        let (shared, seed) = (Arc::clone(&shared), rng.u64(..));
        let topics: Subscribe<Msg, Lane> = if spec.all {
            Subscribe::all()
        } else {
            Subscribe::to(spec.lanes.iter().copied())
        };
        sup.build_actor(&name(id), move |ctx| Sink {
            id,
            ctx,
            shared,
            rng: fastrand::Rng::with_seed(seed),
            slowness: spec.actor.slowness,
            handled: 0,
            stop_after,
        })
        .topics(topics)
        .channel_capacity(spec.actor.mailbox)
        .with_config(|c| c.with_max_events_per_tick(spec.actor.per_tick))
        .build()
        .expect("register a sink");
    }

    sup.start().await.expect("start");
    let handle = sup.handle();

    let mut tasks = JoinSet::new();
    for (&id, script) in externals.iter().zip(&params.external) {
        let (handle, shared, script, seed) = (
            handle.clone(),
            Arc::clone(&shared),
            script.clone(),
            rng.u64(..),
        );
        tasks.spawn(async move {
            let mut rng = fastrand::Rng::with_seed(seed);
            run_script(
                id,
                &script,
                &shared,
                &mut rng,
                |_| false,
                |msg, _| {
                    let handle = handle.clone();
                    async move { handle.send(msg).await.map_err(Refused::from) }
                },
            )
            .await;
        });
    }

    // The driver's own sends, until its stop condition (if it stops).
    let until = |yields: u32| match params.stop {
        StopPlan::AfterAccepted { accepted, .. } => {
            shared.sources_accepted.load(Ordering::SeqCst) >= accepted
        }
        StopPlan::AfterYields { yields: limit, .. } => yields >= limit,
        StopPlan::FromStep { .. } | StopPlan::FromHandler { .. } => false,
    };
    let sup_ref = &sup;
    let mut yields = run_script(
        0,
        &params.driver,
        &shared,
        &mut rng,
        until,
        |msg, via_publish| async move {
            if via_publish {
                sup_ref.publish(msg).await.map_err(Refused::from)
            } else {
                sup_ref.send(msg).await.map_err(Refused::from)
            }
        },
    )
    .await;

    let (report, note) = match params.stop {
        StopPlan::AfterAccepted { accepted, how } => {
            if shared.sources_accepted.load(Ordering::SeqCst) < accepted {
                shared.milestone_reached.notified().await;
            }
            stop_by(how, sup, &handle, &shared, rng.bool()).await
        }
        StopPlan::AfterYields { yields: limit, how } => {
            while yields < limit {
                tokio::task::yield_now().await;
                yields += 1;
            }
            stop_by(how, sup, &handle, &shared, rng.bool()).await
        }
        StopPlan::FromStep { .. } | StopPlan::FromHandler { .. } => {
            let note = sup
                .join()
                .await
                .err()
                .map(|e| format!("join() failed: {e}"));
            (handle.stopped().await, note)
        }
    };
    while let Some(joined) = tasks.join_next().await {
        joined.expect("an external producer panicked");
    }

    check(&parts, &shared, &report, note)
}

/// Compare what was accepted with what was handled, and the report with
/// both.
fn check(
    parts: &[Participant],
    shared: &Shared,
    report: &ShutdownReport,
    note: Option<String>,
) -> TrialOutcome {
    let mut tally = Tally {
        trials: 1,
        ..Tally::default()
    };
    // A failed `stop()` or `join()` means the shutdown was not clean.
    tally.unclean += u64::from(note.is_some());
    let mut notes: Vec<String> = note.into_iter().collect();
    let accepted: Vec<Vec<(Lane, u32)>> = shared
        .accepted
        .iter()
        .map(|a| a.lock().unwrap().clone())
        .collect();
    tally.events_accepted = accepted.iter().map(|a| a.len() as u64).sum();
    tally.refused = shared.refused.load(Ordering::SeqCst);
    tally.cut_short = u64::from(tally.refused > 0);
    tally.accepted_after_close = shared.late_accepts.load(Ordering::SeqCst);
    if tally.accepted_after_close > 0 {
        notes.push(format!(
            "{} publishes from outside the handlers were accepted after the stop request had returned",
            tally.accepted_after_close
        ));
    }
    tally.handler_refusals = shared.handler_refusals.load(Ordering::SeqCst);
    if tally.handler_refusals > 0 {
        notes.push(format!(
            "{} publishes from handle_event were refused while draining",
            tally.handler_refusals
        ));
    }
    tally.bad_refusals = shared.bad_refusals.load(Ordering::SeqCst);
    if tally.bad_refusals > 0 {
        notes.push(format!(
            "{} refusals were not a clean `Stopping` with the event",
            tally.bad_refusals
        ));
    }

    for (s, sub) in parts.iter().enumerate() {
        let handled = shared.handled[s].lock().unwrap().clone();
        tally.deliveries += handled.len() as u64;
        if let Some(a) = report.actor(&sub.name)
            && a.handled != handled.len() as u64
        {
            tally.report_mismatches += 1;
            notes.push(format!(
                "{}: the report says handled {}, the actor counted {}",
                sub.name,
                a.handled,
                handled.len()
            ));
        }
        let Some(lanes) = &sub.lanes else { continue };
        let mut by_publisher: HashMap<u16, Vec<u32>> = HashMap::new();
        for (lane, publisher, seq) in handled {
            if lanes.contains(&lane) {
                by_publisher.entry(publisher).or_default().push(seq);
            } else {
                tally.misrouted += 1;
                notes.push(format!(
                    "{} handled {lane:?} #{seq} of participant {publisher}",
                    sub.name
                ));
            }
        }
        for (p, from) in accepted.iter().enumerate() {
            let publisher = u16::try_from(p).expect("few participants");
            let actual = by_publisher.remove(&publisher).unwrap_or_default();
            if p == s {
                // The broker never routes a publisher's event back to it.
                tally.misrouted += actual.len() as u64;
                continue;
            }
            let expected: HashSet<u32> = from
                .iter()
                .filter(|(lane, _)| lanes.contains(lane))
                .map(|&(_, seq)| seq)
                .collect();
            let mut seen = HashSet::new();
            let (mut lost, mut duplicated, mut unaccepted) = (Vec::new(), 0, Vec::new());
            for &seq in &actual {
                if !seen.insert(seq) {
                    duplicated += 1;
                } else if !expected.contains(&seq) {
                    unaccepted.push(seq);
                }
            }
            lost.extend(expected.difference(&seen).copied());
            lost.sort_unstable();
            let out_of_order = actual.windows(2).filter(|w| w[1] <= w[0]).count();
            tally.lost += lost.len() as u64;
            tally.duplicated += duplicated;
            tally.accepted_after_close += unaccepted.len() as u64;
            tally.out_of_order += out_of_order as u64;
            if !lost.is_empty() || duplicated > 0 || !unaccepted.is_empty() || out_of_order > 0 {
                notes.push(format!(
                    "{} from {}: accepted {}, handled {}; lost {:?}, duplicated {duplicated}, \
                     handled but never accepted {:?}, out of order {out_of_order}",
                    sub.name,
                    parts[p].name,
                    expected.len(),
                    actual.len(),
                    &lost[..lost.len().min(16)],
                    &unaccepted[..unaccepted.len().min(16)],
                ));
            }
        }
        for (publisher, seqs) in by_publisher {
            tally.accepted_after_close += seqs.len() as u64;
            notes.push(format!(
                "{} handled events of unknown publisher {publisher}",
                sub.name
            ));
        }
    }

    let actors = parts.iter().filter(|p| p.actor).count();
    if report.actors.len() != actors {
        tally.report_mismatches += 1;
        notes.push(format!(
            "the report lists {} actors, {actors} were registered",
            report.actors.len()
        ));
    }
    for a in &report.actors {
        if !a.is_balanced() {
            tally.unbalanced += 1;
            notes.push(format!("unbalanced: {a:?}"));
        }
    }
    if !report.is_clean() {
        tally.unclean += 1;
    }
    if tally.failures() > 0 {
        notes.push(format!("report: {report}"));
    }
    TrialOutcome { tally, notes }
}
