//! Knowing when an event has been handled: tracked delivery ([`Delivery`])
//! and deferred completion ([`Completion`]).

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use crate::{
    EventId,
    internal::{
        cell::{ActorCell, Stage},
        shared::Shared,
        tracker::{Settled, Tracker},
    },
};

/// The future of a tracked publish
/// ([`SupervisorHandle::send_tracked`](crate::SupervisorHandle::send_tracked)
/// and friends): resolves once every actor subscribed to the event's topic
/// has handled it, or with what happened instead.
///
/// It resolves when every copy of the event is settled, exactly as the
/// [`ShutdownReport`](crate::ShutdownReport) counts them: handled (the
/// handler returned, or its [`Completion`] was completed), dropped under
/// `OverflowPolicy::Drop`, lost to a failed actor, interrupted, or
/// abandoned at the shutdown deadline. An event no actor subscribes to
/// resolves at once, handled by none.
///
/// # Cancel safety
///
/// Dropping it changes nothing for the event, which was accepted when the
/// publish returned; it only stops watching.
#[must_use = "a delivery does nothing unless awaited; drop it to stop watching"]
pub struct Delivery {
    tracker: Arc<Tracker>,
}

impl Delivery {
    pub(crate) fn new(tracker: Arc<Tracker>) -> Self {
        Self { tracker }
    }
}

impl Future for Delivery {
    type Output = DeliveryOutcome;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<DeliveryOutcome> {
        match self.tracker.outcome(cx.waker()) {
            Some(outcome) => Poll::Ready(outcome),
            None => Poll::Pending,
        }
    }
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery").finish_non_exhaustive()
    }
}

/// What became of a tracked event, copy by copy (one copy per subscriber
/// of its topic, the publisher excepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryOutcome {
    /// The event.
    pub event: EventId,
    /// Copies handled.
    pub handled: u32,
    /// Copies dropped under `OverflowPolicy::Drop`.
    pub dropped: u32,
    /// Copies lost: the subscriber had failed (or failed on it), or its
    /// completion was failed or dropped.
    pub lost: u32,
    /// Copies left unhandled at the shutdown deadline (also when the event
    /// was never routed).
    pub abandoned: u32,
    /// Copies whose handler was interrupted.
    pub interrupted: u32,
}

impl DeliveryOutcome {
    /// Whether every copy was handled (also when there was none).
    pub fn is_handled(&self) -> bool {
        self.dropped == 0 && self.lost == 0 && self.abandoned == 0 && self.interrupted == 0
    }
}

/// The end of an event's handling, deferred by its handler with
/// [`Context::defer`](crate::Context::defer): until it is completed, the
/// event counts as unhandled (the shutdown's drain waits for it, and a
/// tracked [`Delivery`] of it is not resolved).
///
/// A handler that starts something asynchronous (an acknowledgement from a
/// remote system, a write on another thread) defers, hands the completion
/// to whatever finishes the work, and returns at once: the actor goes on
/// with its next event meanwhile.
///
/// Call [`complete`](Self::complete) when the work succeeded, or
/// [`fail`](Self::fail) when it cannot; a completion dropped without either
/// counts as a failure (or, after the shutdown deadline, as abandoned), and
/// a warning is logged.
pub struct Completion {
    settle: Option<Deferred>,
}

/// What a live completion settles.
pub(crate) struct Deferred {
    pub(crate) cell: Arc<ActorCell>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) tracker: Option<Arc<Tracker>>,
}

impl Completion {
    pub(crate) fn new(deferred: Option<Deferred>) -> Self {
        Self { settle: deferred }
    }

    /// The work is done: the event counts as handled.
    pub fn complete(mut self) {
        self.finish(Settled::Handled);
    }

    /// The work cannot be done: the event counts as lost (for this actor),
    /// and the reason is logged.
    pub fn fail(mut self, reason: impl fmt::Display) {
        if let Some(deferred) = &self.settle {
            tracing::warn!(actor = %deferred.cell.id, %reason, "a deferred completion failed");
        }
        self.finish(Settled::Lost);
    }

    /// Whether this completion settles anything (it does not if `defer`
    /// was called outside a handler, or twice for one event).
    pub fn is_live(&self) -> bool {
        self.settle.is_some()
    }

    fn finish(&mut self, how: Settled) {
        let Some(Deferred {
            cell,
            shared,
            tracker,
        }) = self.settle.take()
        else {
            return;
        };
        let counters = &cell.counters;
        match how {
            Settled::Handled => counters.handled(1),
            Settled::Abandoned => counters.abandoned(1, Stage::Mailbox),
            _ => counters.lost(1, Stage::Mailbox),
        }
        cell.deferred_settled();
        if let Some(tracker) = tracker {
            tracker.settle(how);
        }
        shared.protocol().release(1);
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        if let Some(deferred) = &self.settle {
            let escalated = deferred.shared.protocol().is_escalated();
            if !escalated {
                tracing::warn!(
                    actor = %deferred.cell.id,
                    "a deferred completion was dropped without complete(): the event counts as lost"
                );
            }
            self.finish(if escalated {
                Settled::Abandoned
            } else {
                Settled::Lost
            });
        }
    }
}

impl fmt::Debug for Completion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completion")
            .field("live", &self.is_live())
            .finish()
    }
}
