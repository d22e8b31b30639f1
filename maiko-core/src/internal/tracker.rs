//! What became of one tracked event: the shared state behind a
//! [`Delivery`](crate::Delivery).
//!
//! A tracked publish puts a [`Tracker`] on its envelope. It counts the
//! copies of the event not yet settled, starting with one for the event
//! itself until it is routed: routing adds a unit per copy and gives the
//! event's own back (as the gate does), and every place that settles a copy
//! for the report (a handling, a drop, a loss, an abandonment, an
//! interruption, an event no routing loop got to) settles it here too. When
//! the count reaches zero the outcome is final and the delivery's waker is
//! woken.
//!
//! Untracked events carry no tracker: every hook below is one `Option`
//! check.

use std::{
    sync::atomic::{AtomicBool, AtomicU32, Ordering},
    task::Waker,
};

use parking_lot::Mutex;

use crate::{DeliveryOutcome, EventId};

/// How one copy of a tracked event was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settled {
    Handled,
    Dropped,
    Lost,
    Abandoned,
    Interrupted,
    /// Not a copy after all: the publisher's own, or one meant for an actor
    /// that had stopped itself.
    NotMeant,
}

#[derive(Debug)]
pub(crate) struct Tracker {
    event: EventId,
    pending: AtomicU32,
    handled: AtomicU32,
    dropped: AtomicU32,
    lost: AtomicU32,
    abandoned: AtomicU32,
    interrupted: AtomicU32,
    done: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Tracker {
    pub(crate) fn new(event: EventId) -> Self {
        Self {
            event,
            pending: AtomicU32::new(1),
            handled: AtomicU32::new(0),
            dropped: AtomicU32::new(0),
            lost: AtomicU32::new(0),
            abandoned: AtomicU32::new(0),
            interrupted: AtomicU32::new(0),
            done: AtomicBool::new(false),
            waker: Mutex::new(None),
        }
    }

    /// `n` more copies, while the caller still holds a pending unit.
    pub(crate) fn add_copies(&self, n: u32) {
        if n > 0 {
            self.pending.fetch_add(n, Ordering::AcqRel);
        }
    }

    /// One copy (or the event's own unit) is settled.
    pub(crate) fn settle(&self, how: Settled) {
        let counter = match how {
            Settled::Handled => Some(&self.handled),
            Settled::Dropped => Some(&self.dropped),
            Settled::Lost => Some(&self.lost),
            Settled::Abandoned => Some(&self.abandoned),
            Settled::Interrupted => Some(&self.interrupted),
            Settled::NotMeant => None,
        };
        if let Some(counter) = counter {
            counter.fetch_add(1, Ordering::AcqRel);
        }
        if self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.done.store(true, Ordering::Release);
            if let Some(waker) = self.waker.lock().take() {
                waker.wake();
            }
        }
    }

    /// The outcome, once every copy is settled.
    pub(crate) fn outcome(&self, waker: &Waker) -> Option<DeliveryOutcome> {
        if !self.done.load(Ordering::Acquire) {
            *self.waker.lock() = Some(waker.clone());
            // Settled between the check and the registration: the settler
            // found no waker, so look again.
            if !self.done.load(Ordering::Acquire) {
                return None;
            }
        }
        let load = |counter: &AtomicU32| counter.load(Ordering::Acquire);
        Some(DeliveryOutcome {
            event: self.event,
            handled: load(&self.handled),
            dropped: load(&self.dropped),
            lost: load(&self.lost),
            abandoned: load(&self.abandoned),
            interrupted: load(&self.interrupted),
        })
    }
}

/// Settle a copy of `mail` if it is tracked.
#[inline]
pub(crate) fn settle<E>(mail: &crate::Envelope<E>, how: Settled) {
    if let Some(tracker) = mail.tracker() {
        tracker.settle(how);
    }
}
