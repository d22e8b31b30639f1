//! What the runtime shares about one actor: its identity, where its handler
//! is in a drain chain, its event accounting, and how it ended.
//!
//! The [`ShutdownReport`](crate::ShutdownReport)'s entry for an actor is
//! built from its cell in one place, [`ActorCell::report`].

use std::{
    borrow::Cow,
    sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering},
    task::Waker,
};

use parking_lot::Mutex;

use std::sync::{Arc, LazyLock, OnceLock};

use super::{
    gate::Origin,
    meters::{ActorMeters, Life},
    tracker::Tracker,
    watch::Clock,
};
use crate::{
    ActorFigures, ActorId, ActorOutcome, ActorReport, ActorState, Error, EventId, counts::Counts,
    topic::DEFAULT_BROKER,
};

/// Whether an actor still takes events, as the routing loops see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Status {
    /// Copies of events are delivered to its mailbox.
    Running = 0,
    /// It stopped itself (`Context::stop`): it takes no new events, and
    /// events published after that are not routed to it at all.
    SelfStopped = 1,
    /// It failed: copies meant for it are lost.
    Failed = 2,
}

impl Status {
    fn from_u8(value: u8) -> Self {
        match value {
            0 => Self::Running,
            1 => Self::SelfStopped,
            _ => Self::Failed,
        }
    }
}

/// What an actor is doing, recorded only when it waits (see
/// [`guarded`](super::guard::guarded)), for the shutdown report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Activity {
    Starting,
    Idle,
    Handling(Cow<'static, str>),
    Stepping,
    Sending(Box<Waiting>),
    AwaitingTurn,
    ShuttingDown,
}

/// A publish waiting for room in a channel to a broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Waiting {
    pub(crate) topic: Cow<'static, str>,
    pub(crate) broker: &'static str,
}

impl Activity {
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Starting => "in on_start".to_owned(),
            Self::Idle => "idle".to_owned(),
            Self::Handling(topic) => format!("handling an event of topic '{topic}'"),
            Self::Stepping => "in step()".to_owned(),
            Self::Sending(waiting) if waiting.broker == DEFAULT_BROKER => {
                format!("blocked publishing to topic '{}'", waiting.topic)
            }
            Self::Sending(waiting) => format!(
                "blocked publishing to topic '{}' of broker '{}'",
                waiting.topic, waiting.broker
            ),
            Self::AwaitingTurn => {
                "waiting for the group members added before it to finish".to_owned()
            }
            Self::ShuttingDown => "in on_shutdown".to_owned(),
        }
    }
}

/// How an actor task ended, as recorded by the task itself. A task that
/// records nothing was aborted.
#[derive(Debug, Clone)]
pub(crate) enum Ending {
    Completed,
    Failed(Error),
    Interrupted,
}

/// The ending most actors record, shared, so that recording it allocates
/// nothing.
static COMPLETED: LazyLock<Arc<Ending>> = LazyLock::new(|| Arc::new(Ending::Completed));

/// Where a copy of an event was when its outcome was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// The routing loop could not put it into the mailbox: it is counted as
    /// routed and settled in the same call.
    Broker,
    /// It was in the mailbox (counted as routed by
    /// [`Counters::delivered`]) and the actor settled it.
    Mailbox,
}

event_counts! {
    /// The event accounting of one actor.
    ///
    /// # Invariant
    ///
    /// Every copy of an event that a routing loop meant for this actor is
    /// counted once as `routed`, and settled once as exactly one of `handled`,
    /// `dropped`, `lost`, `abandoned` or `interrupted`:
    ///
    /// - a copy the routing loop puts into the mailbox is counted by
    ///   [`delivered`](Self::delivered) and settled later by the actor's task
    ///   when it takes the copy out ([`handled`](Self::handled),
    ///   [`interrupted`](Self::interrupted), or [`lost`](Self::lost) /
    ///   [`abandoned`](Self::abandoned) at [`Stage::Mailbox`]);
    /// - a copy that never reaches the mailbox is routed and settled in one call
    ///   ([`dropped`](Self::dropped), or `lost` / `abandoned` at
    ///   [`Stage::Broker`]).
    ///
    /// So once the actor's task has ended (normally, or aborted: its drop
    /// guards settle the event in hand, the rest of its batch and what is left
    /// in its mailbox), `routed == handled + dropped + lost + abandoned +
    /// interrupted`. The methods below are the only writers.
    ///
    /// # Orderings
    ///
    /// Relaxed: the counts are read for the report after the tasks that write
    /// them have been joined, which synchronises; and for the live figures,
    /// where a count a moment old is fine.
    #[derive(Debug, Default)]
    pub(crate) struct Counters {
        head {}
        counts(AtomicU64)
        tail {
            /// Not an outcome: publishes of this actor that went over
            /// capacity to break a cycle.
            over_capacity: AtomicU64,
            /// The same counts for the `metrics` facade, moved here and
            /// only here (see `internal::meters`).
            meters: ActorMeters,
        }
    }
}

#[inline]
fn add(counter: &AtomicU64, n: u64) {
    if n > 0 {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

impl Counters {
    /// The actor published one event beyond its channel's capacity to
    /// break a cycle.
    pub(crate) fn over_capacity(&self) {
        add(&self.over_capacity, 1);
    }

    /// `n` copies were put into the mailbox.
    #[inline]
    pub(crate) fn delivered(&self, n: u64) {
        add(&self.routed, n);
        self.meters.routed(n);
    }

    /// A copy was not delivered because the mailbox was full under
    /// `OverflowPolicy::Drop`.
    pub(crate) fn dropped(&self) {
        add(&self.routed, 1);
        add(&self.dropped, 1);
        self.meters.routed(1);
        self.meters.dropped(1);
    }

    /// `n` copies were lost because the actor failed (or overflowed under
    /// `OverflowPolicy::Fail`, or panicked while handling one).
    pub(crate) fn lost(&self, n: u64, at: Stage) {
        if at == Stage::Broker {
            add(&self.routed, n);
            self.meters.routed(n);
        }
        add(&self.lost, n);
        self.meters.lost(n);
    }

    /// `n` copies were left unhandled at the shutdown deadline.
    pub(crate) fn abandoned(&self, n: u64, at: Stage) {
        if at == Stage::Broker {
            add(&self.routed, n);
            self.meters.routed(n);
        }
        add(&self.abandoned, n);
        self.meters.abandoned(n);
    }

    /// `n` copies were handled.
    #[inline]
    pub(crate) fn handled(&self, n: u64) {
        add(&self.handled, n);
        self.meters.handled(n);
    }

    /// `n` handlers returned `Error::Interrupted`, or were cut off by the
    /// abort at the end of the grace.
    pub(crate) fn interrupted(&self, n: u64) {
        add(&self.interrupted, n);
        self.meters.interrupted(n);
    }

    fn load(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// The six counts now.
    pub(crate) fn counts(&self) -> Counts {
        map_counts!(self, Self::load)
    }

    /// Copies abandoned so far.
    pub(crate) fn abandoned_count(&self) -> u64 {
        Self::load(&self.abandoned)
    }
}

/// The shared part of one actor.
#[derive(Debug)]
pub(crate) struct ActorCell {
    pub(crate) id: ActorId,
    /// 0 outside `handle_event`; `depth + 1` while handling an event of
    /// drain depth `depth`. Written and read by the actor's own task only
    /// (a `Context` is used from within the handler), hence Relaxed.
    in_handler: AtomicU32,
    /// The id of the event being handled (high and low halves), valid while
    /// `in_handler` is not 0; the source event of a `Context::forward`.
    /// Written and read by the actor's own task only, hence Relaxed.
    handling: [AtomicU64; 2],
    /// The actor's logical clock, for the order of monitoring records
    /// (sized zero without the feature `monitoring`).
    pub(crate) clock: Clock,
    /// Set by `Context::defer` inside a handler: the handler's event is
    /// settled by a `Completion`, not by the handler's return. Written and
    /// read by the actor's own task.
    deferred: AtomicBool,
    /// Copies settled by completions not yet completed: counted as
    /// abandoned in a report made meanwhile (at the deadline).
    deferred_outstanding: AtomicU64,
    /// Woken when this actor, blocked publishing, is found to be the
    /// breaker of a cycle (see `internal::cycle`). Made at its first wait:
    /// most actors never wait, and an idle one is smaller without it.
    cycle_break: OnceLock<Arc<tokio::sync::Notify>>,
    /// A [`Status`].
    status: AtomicU8,
    /// Times the actor was rebuilt after a failure.
    restarts: AtomicU32,
    stop_requested: AtomicBool,
    /// Stopped from outside (`SupervisorHandle::stop_actor`): unsubscribed,
    /// and its ending does not count as the actor stopping itself.
    retired: AtomicBool,
    /// Whether a dead letter of this actor found no taker yet (it is
    /// logged once).
    untaken_warned: AtomicBool,
    /// The actor task's waker while it waits for its mailbox, so a stop
    /// request, a failure or the deadline can wake it without it having to
    /// build a wait future for each of them every time it waits.
    waker: Mutex<Option<Waker>>,
    pub(crate) counters: Counters,
    /// What the actor's task is doing, and the topic a publish of it is
    /// waiting on, if any. Two layers because a handler's first poll can
    /// record a waiting publish before the handler itself is recorded.
    /// The waiting publish is boxed, so that an idle actor is smaller.
    activity: Mutex<(Activity, Option<Box<Waiting>>)>,
    /// What is set rarely, under one lock, so that an idle actor is smaller.
    rare: Mutex<Rare>,
}

/// The parts of an [`ActorCell`] set once or seldom.
#[derive(Debug, Default)]
struct Rare {
    /// The tracker of the event being handled, if it is tracked (for
    /// `Context::defer`).
    tracker: Option<Arc<Tracker>>,
    /// Told when the task records its ending, for `stop_actor`.
    on_ending: Option<tokio::sync::oneshot::Sender<()>>,
    ending: Option<Arc<Ending>>,
    failure: Option<Box<Error>>,
}

impl ActorCell {
    /// The cell of the actor `id`, with its meters (see `internal::meters`).
    pub(crate) fn new(id: ActorId, meters: ActorMeters) -> Self {
        Self {
            id,
            in_handler: AtomicU32::new(0),
            handling: [AtomicU64::new(0), AtomicU64::new(0)],
            clock: Clock::new(),
            deferred: AtomicBool::new(false),
            deferred_outstanding: AtomicU64::new(0),
            cycle_break: OnceLock::new(),
            status: AtomicU8::new(Status::Running as u8),
            restarts: AtomicU32::new(0),
            stop_requested: AtomicBool::new(false),
            retired: AtomicBool::new(false),
            untaken_warned: AtomicBool::new(false),
            waker: Mutex::new(None),
            counters: Counters {
                meters,
                ..Counters::default()
            },
            activity: Mutex::new((Activity::Starting, None)),
            rare: Mutex::default(),
        }
    }

    #[inline]
    pub(crate) fn origin(&self) -> Origin {
        match self.in_handler.load(Ordering::Relaxed) {
            0 => Origin::Outside,
            n => Origin::Handler {
                parent_depth: n - 1,
            },
        }
    }

    #[inline]
    pub(crate) fn enter_handler(&self, depth: u32, event: EventId) {
        let id = event.as_u128();
        self.handling[0].store((id >> 64) as u64, Ordering::Relaxed);
        self.handling[1].store(id as u64, Ordering::Relaxed);
        self.in_handler
            .store(depth.saturating_add(1), Ordering::Relaxed);
    }

    /// The id of the event being handled, if the actor is in a handler.
    pub(crate) fn handling(&self) -> Option<EventId> {
        if self.in_handler.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let high = u128::from(self.handling[0].load(Ordering::Relaxed));
        let low = u128::from(self.handling[1].load(Ordering::Relaxed));
        Some(EventId::from((high << 64) | low))
    }

    #[inline]
    pub(crate) fn leave_handler(&self) {
        self.in_handler.store(0, Ordering::Relaxed);
    }

    /// `Context::defer`: defer the handler's event, once. `false` outside a
    /// handler or if it was deferred already.
    pub(crate) fn defer(&self) -> bool {
        if self.handling().is_none() || self.deferred.swap(true, Ordering::Relaxed) {
            return false;
        }
        self.deferred_outstanding.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Whether the handler's event was deferred; clears the mark.
    #[inline]
    pub(crate) fn take_deferred(&self) -> bool {
        self.deferred.load(Ordering::Relaxed) && self.deferred.swap(false, Ordering::Relaxed)
    }

    /// A deferred copy was settled by its completion.
    pub(crate) fn deferred_settled(&self) {
        self.deferred_outstanding.fetch_sub(1, Ordering::Relaxed);
    }

    /// The tracker of the event being handled (set around a tracked
    /// event's handler), for a completion to settle.
    pub(crate) fn set_tracker(&self, tracker: Option<Arc<Tracker>>) {
        self.rare.lock().tracker = tracker;
    }

    pub(crate) fn take_tracker(&self) -> Option<Arc<Tracker>> {
        self.rare.lock().tracker.take()
    }

    #[inline]
    pub(crate) fn status(&self) -> Status {
        Status::from_u8(self.status.load(Ordering::Acquire))
    }

    pub(crate) fn has_failed(&self) -> bool {
        self.status() == Status::Failed
    }

    /// The actor is being rebuilt after a failure.
    pub(crate) fn count_restart(&self) {
        self.restarts.fetch_add(1, Ordering::Relaxed);
        self.counters.meters.restarted();
    }

    /// The actor's meters (see `internal::meters`).
    #[inline]
    pub(crate) fn meters(&self) -> &ActorMeters {
        &self.counters.meters
    }

    /// Ask the actor to stop itself (from `Context::stop`).
    pub(crate) fn request_stop(&self) {
        self.stop_requested.store(true, Ordering::Release);
        self.wake();
    }

    pub(crate) fn stop_requested(&self) -> bool {
        self.stop_requested.load(Ordering::Acquire)
    }

    /// Stop the actor from outside: from now on no copy is routed to it,
    /// and it is asked to stop (it still handles what its mailbox holds).
    /// `None` if it was retired already; otherwise a receiver told when its
    /// task records its ending.
    pub(crate) fn retire(&self) -> Option<tokio::sync::oneshot::Receiver<()>> {
        if self.retired.swap(true, Ordering::AcqRel) {
            return None;
        }
        let (told, ended) = tokio::sync::oneshot::channel();
        let mut rare = self.rare.lock();
        // Ended already: no one will tell (the receiver sees the sender go).
        if rare.ending.is_none() {
            rare.on_ending = Some(told);
        }
        drop(rare);
        let _ = self.status.compare_exchange(
            Status::Running as u8,
            Status::SelfStopped as u8,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        self.note_life();
        self.request_stop();
        Some(ended)
    }

    /// Whether the actor was stopped from outside.
    pub(crate) fn is_retired(&self) -> bool {
        self.retired.load(Ordering::Acquire)
    }

    /// `true` the first time a dead letter of this actor finds no taker.
    pub(crate) fn first_untaken_letter(&self) -> bool {
        !self.untaken_warned.swap(true, Ordering::Relaxed)
    }

    /// The actor acted on its own stop request: it takes no new events.
    pub(crate) fn mark_self_stopped(&self) {
        let _ = self.status.compare_exchange(
            Status::Running as u8,
            Status::SelfStopped as u8,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        self.note_life();
    }

    /// Woken when this actor, blocked publishing, is found to be the
    /// breaker of a cycle.
    pub(crate) fn cycle_break(&self) -> &Arc<tokio::sync::Notify> {
        self.cycle_break.get_or_init(Arc::default)
    }

    /// Record a failure. The first one wins; the actor is woken so it stops.
    pub(crate) fn fail(&self, error: Error) {
        let mut rare = self.rare.lock();
        if rare.failure.is_none() {
            rare.failure = Some(Box::new(error));
        }
        drop(rare);
        self.status.store(Status::Failed as u8, Ordering::Release);
        self.note_life();
        self.wake();
    }

    pub(crate) fn take_failure(&self) -> Option<Error> {
        self.rare.lock().failure.take().map(|error| *error)
    }

    /// Remember the waiting task's waker. The caller re-checks its flags
    /// after this: a flag set before the registration is seen by that
    /// re-check, one set after it finds the waker (the mutex orders both).
    pub(crate) fn register(&self, waker: &Waker) {
        let mut slot = self.waker.lock();
        if !slot
            .as_ref()
            .is_some_and(|current| current.will_wake(waker))
        {
            *slot = Some(waker.clone());
        }
    }

    /// Wake the actor task if it is waiting.
    pub(crate) fn wake(&self) {
        let waker = self.waker.lock().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    pub(crate) fn set_activity(&self, activity: Activity) {
        let mut slot = self.activity.lock();
        let starting = |activity: &Activity| matches!(activity, Activity::Starting);
        let moved = starting(&slot.0) != starting(&activity);
        slot.0 = activity;
        drop(slot);
        if moved {
            self.note_life();
        }
    }

    /// Where the actor is in its life: the state of its
    /// [`figures`](Self::figures), and the one `maiko_actors` counts it in.
    /// Starting lasts until `on_start` has returned, also while it waits to
    /// publish.
    fn life(&self) -> Life {
        if self.has_ended() {
            return Life::Ended;
        }
        match self.status() {
            Status::Failed => Life::Failing,
            Status::SelfStopped => Life::Stopping,
            Status::Running if self.is_starting() => Life::Starting,
            Status::Running => Life::Running,
        }
    }

    /// Whether `on_start` (of the first instance, or of a rebuilt one) has
    /// not returned yet.
    fn is_starting(&self) -> bool {
        matches!(self.activity.lock().0, Activity::Starting)
    }

    /// Count the actor in the state it is in now (see `internal::meters`).
    #[inline]
    fn note_life(&self) {
        self.counters.meters.life(|| self.life());
    }

    /// Record (or clear) a publish waiting for room on a topic.
    pub(crate) fn set_sending(&self, waiting: Option<Waiting>) {
        self.activity.lock().1 = waiting.map(Box::new);
    }

    pub(crate) fn activity(&self) -> Activity {
        match &*self.activity.lock() {
            (_, Some(waiting)) => Activity::Sending(waiting.clone()),
            (activity, None) => activity.clone(),
        }
    }

    /// Whether the actor's task has recorded how it ended.
    pub(crate) fn has_ended(&self) -> bool {
        self.rare.lock().ending.is_some()
    }

    pub(crate) fn set_ending(&self, ending: Ending) {
        let mut rare = self.rare.lock();
        rare.ending = Some(match ending {
            Ending::Completed => Arc::clone(&COMPLETED),
            other => Arc::new(other),
        });
        let told = rare.on_ending.take();
        drop(rare);
        self.counters.meters.life(|| Life::Ended);
        if let Some(told) = told {
            let _ = told.send(());
        }
    }

    /// This actor's live figures; `finished`: its supervisor's shutdown has
    /// finished, so its task has ended (also if it was aborted, which
    /// records no ending).
    pub(crate) fn figures(&self, finished: bool) -> ActorFigures {
        let counts = self.counters.counts();
        let activity = self.activity();
        // The state `maiko_actors` counts it in, with the outcome once ended.
        let life = if finished { Life::Ended } else { self.life() };
        let ended = life == Life::Ended;
        let state = match life {
            Life::Ended => ActorState::Ended(self.report(false).outcome),
            Life::Failing => ActorState::Failing,
            Life::Stopping => ActorState::Stopping,
            Life::Starting => ActorState::Starting,
            Life::Running => ActorState::Running,
        };
        with_counts!(ActorFigures {
            actor: self.id.clone(),
            queued: counts.routed.saturating_sub(counts.settled()),
            over_capacity: Counters::load(&self.counters.over_capacity),
            state: state,
            doing: if ended { "ended".to_owned() } else { activity.describe() },
        } from counts)
    }

    /// This actor's entry in the shutdown report, once its task has ended
    /// or been aborted and joined. When `deadline_hit`, an actor that was
    /// aborted or abandoned events says what it was doing.
    pub(crate) fn report(&self, deadline_hit: bool) -> ActorReport {
        let c = &self.counters;
        // An aborted task records no ending: it has ended all the same.
        c.meters.life(|| Life::Ended);
        let ending = self.rare.lock().ending.as_deref().cloned();
        let outcome = match ending {
            Some(Ending::Completed) => ActorOutcome::Completed,
            Some(Ending::Failed(error)) => ActorOutcome::Failed(error),
            Some(Ending::Interrupted) => ActorOutcome::Interrupted,
            None => ActorOutcome::Aborted,
        };
        // Copies whose completion is still out are settled by nothing yet:
        // at the deadline they are abandoned.
        let mut counts = c.counts();
        counts.abandoned += self.deferred_outstanding.load(Ordering::Relaxed);
        let stuck = outcome == ActorOutcome::Aborted || (deadline_hit && counts.abandoned > 0);
        with_counts!(ActorReport {
            actor: self.id.clone(),
            outcome: outcome,
            stuck_in: stuck.then(|| self.activity().describe()),
            over_capacity: Counters::load(&c.over_capacity),
            restarts: self.restarts.load(Ordering::Relaxed),
        } from counts)
    }
}
