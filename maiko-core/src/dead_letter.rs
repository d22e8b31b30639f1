//! Events that a subscriber will never handle, given back to the program:
//! [`DeadLetters`], taken with
//! [`Supervisor::dead_letters`](crate::Supervisor::dead_letters).

use std::{fmt, sync::Arc};

use tokio::sync::mpsc::{UnboundedReceiver, error::TryRecvError};
use tokio_util::sync::CancellationToken;

use crate::{ActorId, Envelope, Error};

/// Why a copy of an event will never be handled by its subscriber.
///
/// Each reason is counted in one column of the actor's
/// [`ActorReport`](crate::ActorReport): `Dropped` in `dropped`, `Failed` and
/// `ActorFailed` in `lost`, `Abandoned` in `abandoned`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DeadReason {
    /// The subscriber's mailbox was full on a topic under
    /// [`OverflowPolicy::Drop`](crate::OverflowPolicy::Drop).
    Dropped,
    /// Its handler failed with this error (propagated by `on_error`, or a
    /// panic as [`Error::Panicked`]), and it was not handed to the actor
    /// again: the actor is not restartable, or the event's retries
    /// ([`RestartPolicy::retry_event`](crate::RestartPolicy::retry_event))
    /// are used up.
    Failed(Error),
    /// The subscriber had failed for good (its `on_start` failed, its
    /// restart budget was exhausted, its mailbox overflowed under
    /// [`OverflowPolicy::Fail`](crate::OverflowPolicy::Fail)) when this copy
    /// was routed to it or while it waited in its mailbox.
    ActorFailed,
    /// The shutdown deadline came before the subscriber handled it.
    Abandoned,
}

impl fmt::Display for DeadReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dropped => f.write_str("dropped: mailbox full under OverflowPolicy::Drop"),
            Self::Failed(error) => write!(f, "its handler failed: {error}"),
            Self::ActorFailed => f.write_str("the actor had failed for good"),
            Self::Abandoned => f.write_str("abandoned at the shutdown deadline"),
        }
    }
}

/// One copy of an event that its subscriber will never handle.
pub struct DeadLetter<E> {
    envelope: Arc<Envelope<E>>,
    actor: ActorId,
    reason: DeadReason,
}

impl<E> DeadLetter<E> {
    pub(crate) fn new(envelope: Arc<Envelope<E>>, actor: ActorId, reason: DeadReason) -> Self {
        Self {
            envelope,
            actor,
            reason,
        }
    }

    /// The event with its metadata (id, sender, time).
    pub fn envelope(&self) -> &Envelope<E> {
        &self.envelope
    }

    /// The event.
    pub fn event(&self) -> &E {
        self.envelope.event()
    }

    /// The subscriber that will never handle it.
    pub fn actor(&self) -> &ActorId {
        &self.actor
    }

    /// Why.
    pub fn reason(&self) -> &DeadReason {
        &self.reason
    }
}

impl<E: fmt::Debug> fmt::Debug for DeadLetter<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeadLetter")
            .field("event", self.event())
            .field("actor", &self.actor)
            .field("reason", &self.reason)
            .finish()
    }
}

/// The dead letters of one supervisor: every copy of an event that a
/// subscriber it was routed to will never handle (see [`DeadReason`]).
///
/// Per actor, the letters are exactly `dropped + lost + abandoned` of its
/// [`ActorReport`](crate::ActorReport). Copies that were never meant for an
/// actor (no subscriber; the publisher's own copy; an actor that had
/// stopped itself) and handlers interrupted by the shutdown are not dead
/// letters.
///
/// # Memory
///
/// Taking letters never blocks routing, a handler or the drain: the queue
/// is unbounded. A letter costs one allocation of a few dozen bytes (the
/// reason, the actor's name, which is shared, and an `Arc` of the envelope,
/// which keeps the event alive until the letter is dropped). It grows only
/// while letters are made faster than they are taken, and by no more than
/// the events that die meanwhile; drop this receiver to stop collecting
/// (the letters are then counted only, as without a taker).
pub struct DeadLetters<E> {
    receiver: UnboundedReceiver<DeadLetter<E>>,
    finished: CancellationToken,
}

impl<E> DeadLetters<E> {
    pub(crate) fn new(
        receiver: UnboundedReceiver<DeadLetter<E>>,
        finished: CancellationToken,
    ) -> Self {
        Self { receiver, finished }
    }

    /// The next dead letter, waiting for one; `None` once the supervisor
    /// has finished stopping and every letter was taken.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a letter is taken only when this returns it.
    pub async fn recv(&mut self) -> Option<DeadLetter<E>> {
        loop {
            match self.receiver.try_recv() {
                Ok(letter) => return Some(letter),
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) => {}
            }
            // Every letter is sent before the report is stored and
            // `finished` fires, so once it has fired, what is queued is all.
            if self.finished.is_cancelled() {
                return self.receiver.try_recv().ok();
            }
            tokio::select! {
                biased;
                letter = self.receiver.recv() => return letter,
                () = self.finished.cancelled() => {}
            }
        }
    }

    /// A dead letter if one is queued now, without waiting.
    pub fn try_recv(&mut self) -> Option<DeadLetter<E>> {
        self.receiver.try_recv().ok()
    }
}

impl<E> fmt::Debug for DeadLetters<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeadLetters")
            .field("queued", &self.receiver.len())
            .field("finished", &self.finished.is_cancelled())
            .finish()
    }
}
