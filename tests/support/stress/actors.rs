//! The actors of a trial, and the record they share with the test task.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use maiko::*;
use tokio::sync::Notify;

use super::{ActorSpec, Lane, Msg, Params, SinkSpec, StepperSpec, StopPlan};

/// A publish that was refused.
pub(super) struct Refused {
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
pub(super) enum Side {
    /// The supervisor, a handle or `step()`; `late` if it started after a
    /// stop request had returned.
    Outside { late: bool },
    /// `handle_event`.
    Handler,
}

/// Everything a trial records, shared by its actors and tasks.
pub(super) struct Shared {
    strict: bool,
    /// Per participant: `(lane, seq)` of every accepted publish, in order.
    pub(super) accepted: Vec<Mutex<Vec<(Lane, u32)>>>,
    /// Per participant: `(lane, publisher, seq)` of every handled event, in
    /// order.
    pub(super) handled: Vec<Mutex<Vec<(Lane, u16, u32)>>>,
    /// Accepted publishes of sources (everyone but relays).
    pub(super) sources_accepted: AtomicU64,
    /// `StopPlan::AfterAccepted`'s threshold.
    milestone: u64,
    pub(super) milestone_reached: Notify,
    /// Set right after a stop request has returned.
    stop_requested: AtomicBool,
    pub(super) late_accepts: AtomicU64,
    pub(super) refused: AtomicU64,
    pub(super) handler_refusals: AtomicU64,
    pub(super) bad_refusals: AtomicU64,
}

impl Shared {
    /// A fresh record for a trial of `params` with `participants`
    /// participants.
    pub(super) fn new(params: &Params, participants: usize) -> Self {
        let milestone = match params.stop {
            StopPlan::AfterAccepted { accepted, .. } => accepted,
            _ => 0,
        };
        Self {
            strict: params.strict,
            accepted: (0..participants).map(|_| Mutex::default()).collect(),
            handled: (0..participants).map(|_| Mutex::default()).collect(),
            sources_accepted: AtomicU64::new(0),
            milestone,
            milestone_reached: Notify::new(),
            stop_requested: AtomicBool::new(false),
            late_accepts: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            handler_refusals: AtomicU64::new(0),
            bad_refusals: AtomicU64::new(0),
        }
    }

    pub(super) fn stop_requested(&self) -> bool {
        self.stop_requested.load(Ordering::SeqCst)
    }

    pub(super) fn mark_stop_requested(&self) {
        self.stop_requested.store(true, Ordering::SeqCst);
    }

    fn handled(&self, by: u16, msg: &Msg) {
        self.handled[usize::from(by)]
            .lock()
            .unwrap()
            .push((msg.lane, msg.publisher, msg.seq));
    }

    /// Record the outcome of a publish of `msg`; `true` if it was accepted.
    pub(super) fn outcome(
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

/// What every actor of a trial has: its participant id, its context, the
/// trial's record, its random numbers, and the next sequence number of
/// what it publishes.
struct Voice {
    id: u16,
    ctx: Context<Msg>,
    shared: Arc<Shared>,
    rng: fastrand::Rng,
    next_seq: u32,
}

impl Voice {
    fn new(id: u16, ctx: Context<Msg>, shared: Arc<Shared>, seed: u64) -> Self {
        Self {
            id,
            ctx,
            shared,
            rng: fastrand::Rng::with_seed(seed),
            next_seq: 0,
        }
    }

    /// Publish the next event of this actor's stream on `lane`, as a child
    /// of `parent` if given, and record the outcome; `true` if accepted.
    async fn publish_next(&mut self, lane: Lane, parent: Option<EventId>, side: Side) -> bool {
        let msg = Msg {
            lane,
            publisher: self.id,
            seq: self.next_seq,
            burst: 0,
        };
        self.next_seq += 1;
        let result = publish(&self.ctx, &mut self.rng, msg.clone(), parent).await;
        // Sources publish into the first stage; relays into later ones.
        let source = !matches!(lane, Lane::Data(level) if level > 0);
        self.shared.outcome(&msg, result, side, source)
    }

    /// Record `msg` as handled, after the simulated work.
    async fn handle(&mut self, slowness: u8, msg: &Msg) {
        work(&mut self.rng, slowness).await;
        self.shared.handled(self.id, msg);
    }

    /// Stop the runtime from inside an actor and note it.
    fn stop_runtime(&self) -> Result {
        self.ctx.stop_runtime()?;
        self.shared.mark_stop_requested();
        Ok(())
    }
}

/// Publishes `events` events to `Data(0)` from `step()`.
pub(super) struct Stepper {
    voice: Voice,
    remaining: u32,
    burst_max: u32,
    yields: bool,
    steps: u32,
    stop_after_steps: Option<u32>,
}

impl Stepper {
    /// Stepper `id` as `spec` says, stopping the runtime after
    /// `stop_after_steps` steps if that is given.
    pub(super) fn new(
        id: u16,
        ctx: Context<Msg>,
        shared: Arc<Shared>,
        seed: u64,
        spec: &StepperSpec,
        stop_after_steps: Option<u32>,
    ) -> Self {
        Self {
            voice: Voice::new(id, ctx, shared, seed),
            remaining: spec.events,
            burst_max: spec.burst_max,
            yields: spec.yields,
            steps: 0,
            stop_after_steps,
        }
    }
}

impl Actor for Stepper {
    type Event = Msg;

    async fn step(&mut self) -> Result<StepAction> {
        if self.remaining == 0 {
            return Ok(StepAction::Never);
        }
        let burst = self.voice.rng.u32(1..=self.burst_max).min(self.remaining);
        for _ in 0..burst {
            let late = self.voice.shared.stop_requested();
            let side = Side::Outside { late };
            if !self.voice.publish_next(Lane::Data(0), None, side).await {
                return Ok(StepAction::Never);
            }
            self.remaining -= 1;
        }
        self.steps += 1;
        if Some(self.steps) == self.stop_after_steps {
            self.voice.stop_runtime()?;
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
pub(super) struct Reactor {
    voice: Voice,
    slowness: u8,
}

impl Reactor {
    /// Reactor `id` as `spec` says.
    pub(super) fn new(
        id: u16,
        ctx: Context<Msg>,
        shared: Arc<Shared>,
        seed: u64,
        spec: &ActorSpec,
    ) -> Self {
        Self {
            voice: Voice::new(id, ctx, shared, seed),
            slowness: spec.slowness,
        }
    }
}

impl Actor for Reactor {
    type Event = Msg;

    async fn handle_event(&mut self, envelope: &Envelope<Msg>) -> Result {
        let trigger = envelope.event();
        self.voice.handle(self.slowness, trigger).await;
        for _ in 0..trigger.burst {
            let parent = Some(envelope.id());
            if !self
                .voice
                .publish_next(Lane::Data(0), parent, Side::Handler)
                .await
            {
                break;
            }
        }
        Ok(())
    }
}

/// Pipeline stage `level`: handles `Data(level)`, publishes `Data(level + 1)`.
pub(super) struct Relay {
    voice: Voice,
    level: u8,
    slowness: u8,
}

impl Relay {
    /// Relay `id` of stage `level` as `spec` says.
    pub(super) fn new(
        id: u16,
        level: u8,
        ctx: Context<Msg>,
        shared: Arc<Shared>,
        seed: u64,
        spec: &ActorSpec,
    ) -> Self {
        Self {
            voice: Voice::new(id, ctx, shared, seed),
            level,
            slowness: spec.slowness,
        }
    }
}

impl Actor for Relay {
    type Event = Msg;

    async fn handle_event(&mut self, envelope: &Envelope<Msg>) -> Result {
        self.voice.handle(self.slowness, envelope.event()).await;
        let lane = Lane::Data(self.level + 1);
        self.voice
            .publish_next(lane, Some(envelope.id()), Side::Handler)
            .await;
        Ok(())
    }
}

/// Records what it handles; sink 0 may stop the runtime.
pub(super) struct Sink {
    voice: Voice,
    slowness: u8,
    handled: u32,
    stop_after: Option<u32>,
}

impl Sink {
    /// Sink `id` as `spec` says, stopping the runtime after `stop_after`
    /// events if that is given.
    pub(super) fn new(
        id: u16,
        ctx: Context<Msg>,
        shared: Arc<Shared>,
        seed: u64,
        spec: &SinkSpec,
        stop_after: Option<u32>,
    ) -> Self {
        Self {
            voice: Voice::new(id, ctx, shared, seed),
            slowness: spec.actor.slowness,
            handled: 0,
            stop_after,
        }
    }
}

impl Actor for Sink {
    type Event = Msg;

    async fn handle_event(&mut self, envelope: &Envelope<Msg>) -> Result {
        self.voice.handle(self.slowness, envelope.event()).await;
        self.handled += 1;
        if Some(self.handled) == self.stop_after {
            self.voice.stop_runtime()?;
        }
        Ok(())
    }
}
