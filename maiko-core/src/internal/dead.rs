//! Where the copies that a subscriber will never handle go: the
//! supervisor's [`DeadLetters`](crate::DeadLetters), if it was taken.
//!
//! # Invariant
//!
//! Every copy settled as dropped, lost or abandoned for an actor passes
//! through [`DeadSink::bury`] once, at the place that counts it in the
//! actor's [`Counters`](super::cell::Counters); so per actor the letters
//! equal `dropped + lost + abandoned`. Every call happens before the
//! supervisor's report is stored (the tasks that make them are joined
//! first), which lets `DeadLetters::recv` end once the shutdown finished.

use std::sync::OnceLock;

use tokio::sync::mpsc::{self, UnboundedSender};
use tracing::warn;

use super::{
    cell::ActorCell,
    mail::Mail,
    tracker::{self, Settled},
};
use crate::{DeadLetter, DeadLetters, DeadReason, Error, Result};

/// The sending side of one supervisor's dead letters.
#[derive(Debug)]
pub(crate) struct DeadSink<E> {
    taker: OnceLock<UnboundedSender<DeadLetter<E>>>,
}

impl<E> DeadSink<E> {
    pub(crate) fn new() -> Self {
        Self {
            taker: OnceLock::new(),
        }
    }

    /// Open the queue, once.
    pub(crate) fn take(
        &self,
        finished: tokio_util::sync::CancellationToken,
    ) -> Result<DeadLetters<E>> {
        let (sender, receiver) = mpsc::unbounded_channel();
        self.taker
            .set(sender)
            .map_err(|_| Error::DeadLettersTaken)?;
        Ok(DeadLetters::new(receiver, finished))
    }

    /// Settle a copy meant for `cell` that it will never handle: its
    /// tracker, if it is tracked, and a letter for the taker. The caller
    /// counts it in the actor's counters. Without a taker (or once the taker
    /// is gone), the first such copy of each actor is logged at warn level.
    #[cold]
    pub(crate) fn bury(&self, cell: &ActorCell, mail: &Mail<E>, reason: DeadReason) {
        tracker::settle(mail, settled(&reason));
        cell.meters().dead_letter(&reason);
        let sent = match self.taker.get() {
            Some(taker) => taker
                .send(DeadLetter::new(mail.clone(), cell.id.clone(), reason))
                .is_ok(),
            None => false,
        };
        if !sent && cell.first_untaken_letter() {
            warn!(
                actor = %cell.id,
                "events meant for this actor will not be handled (dropped, lost or abandoned); \
                 they are counted in its report: take them with Supervisor::dead_letters"
            );
        }
    }
}

/// The tracker outcome of a reason.
fn settled(reason: &DeadReason) -> Settled {
    match reason {
        DeadReason::Dropped => Settled::Dropped,
        DeadReason::Abandoned => Settled::Abandoned,
        _ => Settled::Lost,
    }
}
