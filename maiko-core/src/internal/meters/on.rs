//! The meters with the feature `metrics`: handles of the `metrics` facade.

use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};

use metrics::{Counter, Gauge, Histogram, counter, gauge, histogram};

use super::Life;
use crate::{DeadReason, Envelope, PhaseTimes, meta::now_nanos};

/// The `reason` labels of `maiko_dead_letters_total`, in the order of
/// [`reason_index`].
const REASONS: [&str; 4] = ["dropped", "failed", "actor_failed", "abandoned"];

/// The `state` labels of `maiko_actors`, in the order of [`Life`].
const STATES: [&str; 5] = ["starting", "running", "stopping", "failing", "ended"];

fn reason_index(reason: &DeadReason) -> usize {
    match reason {
        DeadReason::Dropped => 0,
        DeadReason::Failed(_) => 1,
        DeadReason::ActorFailed => 2,
        DeadReason::Abandoned => 3,
    }
}

/// One supervisor's meters, and the label every meter of its actors has.
#[derive(Debug)]
pub(crate) struct SupervisorMeters {
    supervisor: String,
    refused: Counter,
    cycles_broken: Counter,
    in_flight: Gauge,
    /// The shutdown's phases: draining, closing, on_shutdown.
    phases: [Histogram; 3],
    /// Its actors by state, in the order of [`Life`].
    actors: [Gauge; 5],
}

impl SupervisorMeters {
    pub(crate) fn new(supervisor: &str) -> Self {
        let supervisor = supervisor.to_owned();
        Self {
            refused: counter!("maiko_publishes_refused_total", "supervisor" => supervisor.clone()),
            cycles_broken: counter!("maiko_cycles_broken_total", "supervisor" => supervisor.clone()),
            in_flight: gauge!("maiko_events_in_flight", "supervisor" => supervisor.clone()),
            phases: ["draining", "closing", "on_shutdown"].map(|phase| {
                histogram!(
                    "maiko_shutdown_phase_seconds",
                    "supervisor" => supervisor.clone(),
                    "phase" => phase
                )
            }),
            actors: STATES.map(|state| {
                gauge!("maiko_actors", "supervisor" => supervisor.clone(), "state" => state)
            }),
            supervisor,
        }
    }

    /// The events the gate counts as accepted and not yet settled.
    #[inline]
    pub(crate) fn in_flight(&self, count: impl FnOnce() -> u64) {
        self.in_flight.set(count() as f64);
    }

    /// The shutdown has ended, in these phases.
    pub(crate) fn shutdown_phases(&self, phases: &PhaseTimes) {
        let times = [phases.draining, phases.closing, phases.on_shutdown];
        for (histogram, time) in self.phases.iter().zip(times) {
            histogram.record(time.as_secs_f64());
        }
    }

    /// A publish was refused.
    #[inline]
    pub(crate) fn refused(&self) {
        self.refused.increment(1);
    }

    /// A publish broke a cycle of actors waiting for each other.
    pub(crate) fn cycle_broken(&self) {
        self.cycles_broken.increment(1);
    }
}

/// A routing loop's meter: the events it takes from one publisher's
/// channel to one broker, `maiko_events_published_total{actor, broker}`
/// (`actor="supervisor"` for the supervisor and its handles).
#[derive(Debug)]
pub(crate) struct LaneMeters {
    published: Counter,
}

impl LaneMeters {
    pub(crate) fn new(
        supervisor: &SupervisorMeters,
        publisher: Option<&str>,
        broker: &str,
    ) -> Self {
        Self {
            published: counter!(
                "maiko_events_published_total",
                "supervisor" => supervisor.supervisor.clone(),
                "actor" => publisher.unwrap_or("supervisor").to_owned(),
                "broker" => broker.to_owned()
            ),
        }
    }

    /// The loop took `n` events.
    #[inline]
    pub(crate) fn published(&self, n: u64) {
        self.published.increment(n);
    }
}

/// One actor's meters: its six counts, its restarts, its
/// dead letters by reason, its mailbox, its timings and its state.
#[derive(Debug)]
pub(crate) struct ActorMeters {
    /// The supervisor's `maiko_actors` gauges, in the order of [`Life`].
    actors: [Gauge; 5],
    /// The state this actor is counted in, a [`Life`].
    life: AtomicU8,
    /// The batches the actor has begun, for the timing's sample.
    batches: AtomicU32,
    handle_duration: Histogram,
    latency: Histogram,
    restarts: Counter,
    dead_letters: [Counter; 4],
    mailbox: Gauge,
    routed: Counter,
    handled: Counter,
    dropped: Counter,
    lost: Counter,
    abandoned: Counter,
    interrupted: Counter,
}

impl Default for ActorMeters {
    /// Handles that record nothing (for a cell made outside a supervisor).
    fn default() -> Self {
        Self {
            actors: [const { Gauge::noop() }; 5],
            life: AtomicU8::new(UNCOUNTED),
            batches: AtomicU32::new(0),
            handle_duration: Histogram::noop(),
            latency: Histogram::noop(),
            restarts: Counter::noop(),
            dead_letters: [const { Counter::noop() }; 4],
            mailbox: Gauge::noop(),
            routed: Counter::noop(),
            handled: Counter::noop(),
            dropped: Counter::noop(),
            lost: Counter::noop(),
            abandoned: Counter::noop(),
            interrupted: Counter::noop(),
        }
    }
}

impl ActorMeters {
    pub(crate) fn new(supervisor: &SupervisorMeters, actor: &str) -> Self {
        let count = |name: &'static str| {
            counter!(
                name,
                "supervisor" => supervisor.supervisor.clone(),
                "actor" => actor.to_owned()
            )
        };
        let dead = |reason: &'static str| {
            counter!(
                "maiko_dead_letters_total",
                "supervisor" => supervisor.supervisor.clone(),
                "actor" => actor.to_owned(),
                "reason" => reason
            )
        };
        let time = |name: &'static str| {
            histogram!(
                name,
                "supervisor" => supervisor.supervisor.clone(),
                "actor" => actor.to_owned()
            )
        };
        Self {
            actors: supervisor.actors.clone(),
            life: AtomicU8::new(UNCOUNTED),
            batches: AtomicU32::new(0),
            handle_duration: time("maiko_handle_duration_seconds"),
            latency: time("maiko_event_latency_seconds"),
            restarts: count("maiko_actor_restarts_total"),
            dead_letters: REASONS.map(dead),
            mailbox: gauge!(
                "maiko_mailbox_depth",
                "supervisor" => supervisor.supervisor.clone(),
                "actor" => actor.to_owned()
            ),
            routed: count("maiko_events_routed_total"),
            handled: count("maiko_events_handled_total"),
            dropped: count("maiko_events_dropped_total"),
            lost: count("maiko_events_lost_total"),
            abandoned: count("maiko_events_abandoned_total"),
            interrupted: count("maiko_events_interrupted_total"),
        }
    }

    /// The actor was rebuilt after a failure.
    pub(crate) fn restarted(&self) {
        self.restarts.increment(1);
    }

    /// The events waiting in the actor's mailbox.
    #[inline]
    pub(crate) fn mailbox_depth(&self, depth: impl FnOnce() -> usize) {
        self.mailbox.set(depth() as f64);
    }

    /// The actor's registration can no longer fail: count it, as
    /// starting.
    pub(crate) fn enrolled(&self) {
        if self
            .life
            .compare_exchange(
                UNCOUNTED,
                Life::Starting as u8,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
        {
            self.actors[Life::Starting as usize].increment(1.0);
        }
    }

    /// The actor may have moved to another state, `now`: it is counted
    /// there instead. `Ended` is final: once there, nothing moves it. An
    /// actor not yet enrolled is not counted.
    pub(crate) fn life(&self, now: impl Fn() -> Life) {
        let mut counted = self.life.load(Ordering::Acquire);
        while counted != Life::Ended as u8 && counted != UNCOUNTED {
            let state = now() as u8;
            if state == counted {
                return;
            }
            match self
                .life
                .compare_exchange(counted, state, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    self.actors[usize::from(counted)].decrement(1.0);
                    self.actors[usize::from(state)].increment(1.0);
                    return;
                }
                Err(other) => counted = other,
            }
        }
    }

    /// The clock at the start of a batch, if this batch is timed: the
    /// first, then one in [`TIMED_EVERY`].
    #[inline]
    pub(crate) fn start_batch(&self) -> BatchClock {
        // Only the actor's task begins its batches: a load and a store,
        // not a read-modify-write, are enough.
        let n = self.batches.load(Ordering::Relaxed);
        self.batches.store(n.wrapping_add(1), Ordering::Relaxed);
        BatchClock(n.is_multiple_of(TIMED_EVERY).then(now_nanos))
    }

    /// A batch that began at `clock` is over; `copies` were taken by its
    /// handlers (see "Timing, per batch" in `internal::meters`).
    #[inline]
    pub(crate) fn end_batch<E>(&self, clock: BatchClock, copies: &[std::sync::Arc<Envelope<E>>]) {
        if let Some(start) = clock.0
            && !copies.is_empty()
        {
            self.record_batch(start, copies);
        }
    }

    #[inline(never)]
    fn record_batch<E>(&self, start: u64, copies: &[std::sync::Arc<Envelope<E>>]) {
        let end = now_nanos();
        let each = end.saturating_sub(start) / copies.len() as u64;
        self.handle_duration
            .record_many(seconds(each), copies.len());
        for copy in copies {
            self.latency
                .record(seconds(end.saturating_sub(copy.meta().timestamp())));
        }
    }

    /// A copy meant for the actor became a dead letter.
    pub(crate) fn dead_letter(&self, reason: &DeadReason) {
        self.dead_letters[reason_index(reason)].increment(1);
    }

    #[inline]
    pub(crate) fn routed(&self, n: u64) {
        self.routed.increment(n);
    }

    #[inline]
    pub(crate) fn handled(&self, n: u64) {
        self.handled.increment(n);
    }

    #[inline]
    pub(crate) fn dropped(&self, n: u64) {
        self.dropped.increment(n);
    }

    #[inline]
    pub(crate) fn lost(&self, n: u64) {
        self.lost.increment(n);
    }

    #[inline]
    pub(crate) fn abandoned(&self, n: u64) {
        self.abandoned.increment(n);
    }

    #[inline]
    pub(crate) fn interrupted(&self, n: u64) {
        self.interrupted.increment(n);
    }
}

impl Drop for ActorMeters {
    /// An actor whose supervisor is dropped without a shutdown (or before
    /// its start) never records its ending: it is gone, so it counts as
    /// ended.
    fn drop(&mut self) {
        let counted = *self.life.get_mut();
        if counted != UNCOUNTED && counted != Life::Ended as u8 {
            self.actors[usize::from(counted)].decrement(1.0);
            self.actors[Life::Ended as usize].increment(1.0);
        }
    }
}

/// The state of an actor whose registration has not completed: counted
/// nowhere yet (it may still fail, and then never was an actor).
const UNCOUNTED: u8 = u8::MAX;

/// One batch in this many is timed (the first of each actor's included).
const TIMED_EVERY: u32 = 8;

/// When a timed batch began, in nanoseconds since the Unix epoch (the
/// clock of [`Meta::timestamp`](crate::Meta::timestamp)); `None` for a
/// batch that is not timed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchClock(Option<u64>);

impl BatchClock {
    /// The batch is not to be timed after all.
    pub(crate) fn forget(&mut self) {
        self.0 = None;
    }
}

fn seconds(nanos: u64) -> f64 {
    nanos as f64 / 1e9
}
