//! The stop-gate: one atomic word that decides which publishes are admitted
//! and counts the events that are accepted but not yet handled.
//!
//! # Layout
//!
//! The word packs two things so that "is this publish admitted?" and "one
//! more event is in flight" are a single atomic step:
//!
//! ```text
//!  63                                   2 1 0
//! +--------------------------------------+---+
//! |         in-flight count              |st |
//! +--------------------------------------+---+
//! ```
//!
//! `st` is [`OPEN`], [`DRAINING`] or [`CLOSED`]. The count is the number of
//! units of work that are accepted but not finished: one unit per accepted
//! event until the broker has routed it, then one unit per mailbox copy until
//! the subscriber has handled (or discarded) it.
//!
//! # Invariants
//!
//! 1. The state only moves forward: `OPEN -> DRAINING -> CLOSED` or
//!    `OPEN -> CLOSED`. No transition ever goes back.
//! 2. A publish is counted only by [`Gate::admit`], which re-checks the state
//!    in the same compare-and-swap that increments the count. So no publish
//!    is counted after the state became `CLOSED`, and every counted publish
//!    was admitted by the state it saw.
//! 3. The count is never zero while an accepted event is unhandled: the
//!    broker adds the extra copies of a fanned-out event before it delivers
//!    any of them, and a handler's own publishes are counted before the
//!    handler's event is released.
//! 4. `DRAINING` with a count of zero is never left standing: whoever brings
//!    the count to zero in `DRAINING` (a release) or enters `DRAINING` with a
//!    count of zero (the stop request) moves the state to `CLOSED` in the same
//!    compare-and-swap and reports it to the caller, who then wakes the
//!    brokers. Exactly one caller observes each transition to `CLOSED`.
//!
//! # Orderings
//!
//! Every read-modify-write is `AcqRel` and every plain load is `Acquire`.
//! The gate word is the only shared state of the protocol; the orderings make
//! a publish that was admitted happen-before the close that follows it, so
//! the broker that observes `CLOSED` also observes the channel state of every
//! send admitted before it (the channel itself synchronises the values).
//! Relaxed would be enough for the count alone, but the state bits carry the
//! "no more admits" decision and the cost difference is nil on x86-64 and
//! small elsewhere.
//!
//! # Deadlock safety
//!
//! No lock is held anywhere here, and no method awaits. Waking the brokers on
//! close is done by the caller after the method has returned.
//!
//! # On many cores
//!
//! Every event touches this word at least twice: its admit (a
//! compare-and-swap loop, as it must see the state and count in one step)
//! and its release (per handled batch, and per extra copy of a fanned-out
//! event). On the 2-core machines this runtime is measured on, that is a
//! few nanoseconds of an event's few hundred. With many cores publishing
//! at once it is not: each read-modify-write has to own the word's cache
//! line, so the line travels from core to core (tens of nanoseconds each
//! time within a socket, more across sockets), the admits of different
//! cores serialise on it, and a compare-and-swap that lost the race tries
//! again. The whole supervisor's publishing is then bounded by how fast one
//! cache line can move, whatever the number of cores: from 16 publishing
//! cores on, and clearly at 64, the gate rather than the handlers sets the
//! pace. The `producers/P` benchmark (1 to 8 producer tasks publishing into
//! one supervisor on the multi-thread runtime) shows the trend on the
//! machine it runs on.
//!
//! The way out, not built (it cannot be measured here), is a sharded count:
//!
//! - the state in a word of its own, read by every admit and written only
//!   by a stop request;
//! - the count split over cache-line-padded shards, one per worker thread
//!   (or per publisher lane), so that while `OPEN` an admit is a
//!   `fetch_add` on its own shard followed by a `SeqCst` re-read of the
//!   state (taking the unit back and refusing if a stop came in between),
//!   and a release a `fetch_sub` on a shard. While `OPEN` no one needs the
//!   total, because quiescence only matters once a stop was requested;
//! - at the stop request, the state moves to `DRAINING` first, then each
//!   shard is sealed (swapped for a marker) and its value added to a
//!   central count; an admit or release that finds its shard sealed uses
//!   the central count, as today, so invariant 4 (close when the count
//!   reaches zero while draining) keeps one place to be decided.
//!
//! Its correctness rests on the store-then-load pairs of the admit and the
//! stop request (each must see the other's write), which is exactly what
//! the loom model would have to cover before it could replace this word.

use super::sync::{AtomicU64, Ordering};

/// Everything is admitted.
pub(crate) const OPEN: u64 = 0;
/// A stop was requested: only publishes from inside `handle_event`, within
/// the drain hop limit, are admitted.
pub(crate) const DRAINING: u64 = 1;
/// Nothing is admitted any more.
pub(crate) const CLOSED: u64 = 2;

const STATE_MASK: u64 = 0b11;
const ONE: u64 = 0b100;

/// Who is publishing, as far as the gate cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The supervisor, a handle, `step()`, or any task outside a handler.
    Outside,
    /// The `handle_event` of an event whose drain depth is `parent_depth`.
    Handler {
        /// Drain depth of the event being handled.
        parent_depth: u32,
    },
}

/// Outcome of [`Gate::request_stop`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StopOutcome {
    /// This call was the first stop request.
    pub(crate) first: bool,
    /// This call moved the gate to `CLOSED`; the caller must wake the brokers.
    pub(crate) closed_now: bool,
}

/// Outcome of [`Gate::release`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Released {
    /// This call brought the in-flight count to zero.
    pub(crate) idle: bool,
    /// This call moved the gate to `CLOSED`; the caller must wake the
    /// brokers.
    pub(crate) closed: bool,
}

/// The stop-gate shared by every publisher of one supervisor.
#[derive(Debug)]
pub(crate) struct Gate {
    word: AtomicU64,
    hop_limit: u32,
    strict: bool,
}

impl Gate {
    /// A gate in the `OPEN` state with nothing in flight.
    pub(crate) fn new(hop_limit: u32, strict: bool) -> Self {
        Self {
            word: AtomicU64::new(OPEN),
            hop_limit,
            strict,
        }
    }

    /// The current state (`OPEN`, `DRAINING` or `CLOSED`).
    #[inline]
    pub(crate) fn state(&self) -> u64 {
        self.word.load(Ordering::Acquire) & STATE_MASK
    }

    /// The number of accepted units not yet finished.
    pub(crate) fn in_flight(&self) -> u64 {
        self.word.load(Ordering::Acquire) >> 2
    }

    /// The drain depth a publish from `origin` gets in `state`, or `None`
    /// when the gate rejects it there.
    #[inline]
    fn depth_in(&self, state: u64, origin: Origin) -> Option<u32> {
        match (state, origin) {
            (OPEN, _) => Some(0),
            (DRAINING, Origin::Handler { parent_depth }) => {
                let depth = parent_depth.saturating_add(1);
                (depth <= self.hop_limit).then_some(depth)
            }
            _ => None,
        }
    }

    /// Step 1 of a publish: does the gate, as it stands, admit `origin`?
    ///
    /// Only an early exit, so that a refused publisher does not wait for
    /// capacity; the decision that counts is [`Gate::admit`].
    #[inline]
    pub(crate) fn precheck(&self, origin: Origin) -> bool {
        self.depth_in(self.state(), origin).is_some()
    }

    /// Step 3 of a publish: re-check the gate and, if it still admits
    /// `origin`, count the event as in flight, atomically.
    ///
    /// Returns the drain depth to stamp on the event (0 while `OPEN`), or
    /// `None` if the publish is refused, in which case nothing was counted.
    #[inline]
    pub(crate) fn admit(&self, origin: Origin) -> Option<u32> {
        let mut current = self.word.load(Ordering::Acquire);
        loop {
            let depth = self.depth_in(current & STATE_MASK, origin)?;
            match self.word.compare_exchange_weak(
                current,
                current + ONE,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(depth),
                Err(actual) => current = actual,
            }
        }
    }

    /// Count `n` more units in flight without any admission check.
    ///
    /// Used by the broker for the extra copies of a fanned-out event, while
    /// it still holds the event's own unit (so the count cannot be zero).
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        if n > 0 {
            self.word.fetch_add(n * ONE, Ordering::AcqRel);
        }
    }

    /// Finish `n` units. The outcome says whether this call brought the
    /// count to zero and whether that closed the gate (while `DRAINING`);
    /// the caller must then wake the brokers.
    #[inline]
    pub(crate) fn release(&self, n: u64) -> Released {
        if n == 0 {
            return Released::default();
        }
        let previous = self.word.fetch_sub(n * ONE, Ordering::AcqRel);
        debug_assert!(previous >> 2 >= n, "gate count underflow");
        if previous >> 2 != n {
            return Released::default();
        }
        let closed = previous & STATE_MASK == DRAINING
            // We brought the count to zero in DRAINING. Someone may have
            // been admitted in between (a handler publish), so close with a
            // compare-and-swap on the exact word we expect.
            && self
                .word
                .compare_exchange(DRAINING, CLOSED, Ordering::AcqRel, Ordering::Acquire)
                .is_ok();
        Released { idle: true, closed }
    }

    /// A stop request: `OPEN` becomes `DRAINING` (or `CLOSED` in strict mode,
    /// or when nothing is in flight). Later requests change nothing.
    pub(crate) fn request_stop(&self) -> StopOutcome {
        let mut current = self.word.load(Ordering::Acquire);
        loop {
            if current & STATE_MASK != OPEN {
                return StopOutcome {
                    first: false,
                    closed_now: false,
                };
            }
            let count = current >> 2;
            let next_state = if self.strict || count == 0 {
                CLOSED
            } else {
                DRAINING
            };
            match self.word.compare_exchange_weak(
                current,
                (count << 2) | next_state,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    return StopOutcome {
                        first: true,
                        closed_now: next_state == CLOSED,
                    };
                }
                Err(actual) => current = actual,
            }
        }
    }

    /// Close a gate that was never used: `OPEN` with nothing ever in flight
    /// becomes `CLOSED`. Used when a supervisor joins a group and its own
    /// gate gives way to the group's. On failure, returns the state found
    /// (`OPEN` means something is in flight).
    pub(crate) fn seal(&self) -> Result<(), u64> {
        self.word
            .compare_exchange(OPEN, CLOSED, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| ())
            .map_err(|actual| actual & STATE_MASK)
    }

    /// The drain deadline passed: close the gate whatever is in flight.
    /// Returns `true` if this call closed it.
    pub(crate) fn force_close(&self) -> bool {
        let mut current = self.word.load(Ordering::Acquire);
        loop {
            if current & STATE_MASK == CLOSED {
                return false;
            }
            match self.word.compare_exchange_weak(
                current,
                (current & !STATE_MASK) | CLOSED,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }
}

#[cfg(all(test, not(maiko_loom)))]
mod tests {
    use super::*;

    const HANDLER: Origin = Origin::Handler { parent_depth: 0 };

    #[test]
    fn open_admits_everyone_with_depth_zero() {
        let gate = Gate::new(32, false);
        assert_eq!(gate.admit(Origin::Outside), Some(0));
        assert_eq!(gate.admit(Origin::Handler { parent_depth: 7 }), Some(0));
        assert_eq!(gate.in_flight(), 2);
    }

    #[test]
    fn draining_admits_handlers_within_the_hop_limit() {
        let gate = Gate::new(2, false);
        gate.admit(Origin::Outside).unwrap();
        let outcome = gate.request_stop();
        assert!(outcome.first && !outcome.closed_now);
        assert_eq!(gate.state(), DRAINING);
        assert!(!gate.precheck(Origin::Outside));
        assert_eq!(gate.admit(Origin::Outside), None);
        assert_eq!(gate.admit(HANDLER), Some(1));
        assert_eq!(gate.admit(Origin::Handler { parent_depth: 1 }), Some(2));
        assert_eq!(gate.admit(Origin::Handler { parent_depth: 2 }), None);
        assert_eq!(gate.in_flight(), 3);
    }

    #[test]
    fn the_last_release_in_draining_closes_exactly_once() {
        let gate = Gate::new(32, false);
        gate.admit(Origin::Outside).unwrap();
        gate.add(1);
        gate.request_stop();
        assert!(!gate.release(1).closed);
        assert!(gate.release(1).closed);
        assert_eq!(gate.state(), CLOSED);
        assert_eq!(gate.admit(HANDLER), None);
    }

    #[test]
    fn stop_with_nothing_in_flight_closes_at_once() {
        let gate = Gate::new(32, false);
        let outcome = gate.request_stop();
        assert!(outcome.first && outcome.closed_now);
        let again = gate.request_stop();
        assert!(!again.first && !again.closed_now);
    }

    #[test]
    fn strict_mode_closes_at_the_first_request() {
        let gate = Gate::new(32, true);
        gate.admit(Origin::Outside).unwrap();
        assert!(gate.request_stop().closed_now);
        assert_eq!(gate.admit(HANDLER), None);
        assert!(!gate.release(1).closed);
    }

    #[test]
    fn force_close_keeps_the_count_and_normalises_the_state() {
        let gate = Gate::new(32, false);
        gate.admit(Origin::Outside).unwrap();
        gate.request_stop();
        assert!(gate.force_close());
        assert_eq!(gate.state(), CLOSED);
        assert_eq!(gate.in_flight(), 1);
        assert!(!gate.force_close());
        assert!(!gate.release(1).closed);
    }
}
