//! What every part of one supervisor holds: the way to its gate's
//! [`Protocol`] and its own [`Books`].
//!
//! The supervisor, its handles, the contexts, the routing loops, the actor
//! loops and the coordinator all hold an `Arc<Shared>`. Two owners live
//! behind it:
//!
//! - the **protocol** (gate, stop signals, deadline, wait-for graph), which
//!   a supervisor shares with every member of its shutdown group;
//! - the **books** (refusals, cells, report), which are its own.
//!
//! # Several supervisors, one gate
//!
//! The supervisors of a [`ShutdownGroup`](crate::ShutdownGroup) share one
//! gate, so that the group is quiescent only when every member is, and one
//! stop request stops them all. Each supervisor keeps its own `Shared` (its
//! contexts and handles hold it from the moment they are made); when it
//! joins a group, it is linked to the group's *root*, and
//! [`protocol`](Shared::protocol) returns the root's from then on. A
//! supervisor that is in no group is its own root, which costs one atomic
//! load per call.
//!
//! The publish steps that touch both owners (a refusal at the gate is
//! counted in the books) are the methods here.

use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;

use super::{books::Books, gate::OPEN, gate::Origin, protocol::Protocol};
use crate::{Snapshot, SupervisorConfig};

/// A supervisor's link to its group.
#[derive(Debug)]
struct Membership {
    root: Arc<Shared>,
    /// For a member after the first: fires when every member added before
    /// it has finished, or at the deadline. Its actors wait for it between
    /// draining their mailboxes and `on_shutdown`.
    turn: Option<CancellationToken>,
}

/// One supervisor's way to its protocol, and its books.
#[derive(Debug)]
pub(crate) struct Shared {
    own: Protocol,
    group: OnceLock<Membership>,
    books: Books,
}

impl Shared {
    /// The shared state of a supervisor with these settings.
    pub(crate) fn new(config: &SupervisorConfig) -> Self {
        Self {
            own: Protocol::new(config),
            group: OnceLock::new(),
            books: Books::new(config.name()),
        }
    }

    /// The protocol of this supervisor's gate: its group's, once it has
    /// joined one.
    #[inline]
    pub(crate) fn protocol(&self) -> &Protocol {
        self.group.get().map_or(&self.own, |m| m.root.protocol())
    }

    /// This supervisor's own books.
    #[inline]
    pub(crate) fn books(&self) -> &Books {
        &self.books
    }

    // --- Groups --------------------------------------------------------------

    /// Whether `self` and `other` pass the same gate.
    pub(crate) fn same_gate(&self, other: &Shared) -> bool {
        std::ptr::eq(self.protocol(), other.protocol())
    }

    /// Link this supervisor to its group's `root`, with the turn its
    /// actors wait for before `on_shutdown` (`None` for the first member).
    ///
    /// Its own gate is sealed first, and only if nothing was ever published
    /// through it and no stop was requested: then no event is counted on a
    /// gate that will no longer be looked at, and a publish racing the
    /// link is refused rather than counted twice.
    pub(crate) fn join_group(
        &self,
        root: Arc<Shared>,
        turn: Option<CancellationToken>,
    ) -> Result<(), &'static str> {
        if self.group.get().is_some() {
            return Err("it is already in a group");
        }
        self.own.seal().map_err(|state| match state {
            OPEN => "it has already accepted events; add it before publishing through it",
            _ => "it has already been stopped",
        })?;
        let _ = self.group.set(Membership { root, turn });
        Ok(())
    }

    /// The turn this supervisor's actors wait for before `on_shutdown`, if
    /// it is a group member after the first.
    pub(crate) fn turn(&self) -> Option<&CancellationToken> {
        self.group.get().and_then(|m| m.turn.as_ref())
    }

    // --- Publishing: steps 1 and 3 of the gate, refusals counted -------------

    /// Step 1 of a publish: does the gate, as it stands, admit `origin`?
    /// Counts a refusal.
    #[inline]
    pub(crate) fn precheck(&self, origin: Origin) -> bool {
        let admitted = self.protocol().precheck(origin);
        if !admitted {
            self.books.count_rejected();
        }
        admitted
    }

    /// Step 3 of a publish: re-check the gate and count the event as in
    /// flight, atomically. Returns the drain depth to stamp on the event, or
    /// `None` (counted as a refusal) if the gate refuses it now.
    #[inline]
    pub(crate) fn admit(&self, origin: Origin) -> Option<u32> {
        let depth = self.protocol().admit(origin);
        if depth.is_none() {
            self.books.count_rejected();
        }
        depth
    }

    // --- What the two together show --------------------------------------------

    /// Whether the actor named `actor` is running (registered, its task
    /// not ended) and whether it has stopped (its task ended).
    #[cfg(feature = "test-harness")]
    pub(crate) fn liveness(&self, actor: &crate::ActorId) -> (bool, bool) {
        match self.books.cells().iter().find(|c| &c.id == actor) {
            Some(cell) => {
                // An aborted task records nothing; the shutdown's end says
                // every task has ended.
                let ended = cell.has_ended() || self.books.report().has_finished();
                (!ended, ended)
            }
            None => (false, false),
        }
    }

    /// This supervisor's live figures.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let protocol = self.protocol();
        let finished = self.books.report().has_finished();
        Snapshot {
            actors: self.books.figures(finished),
            in_flight: protocol.in_flight(),
            rejected: self.books.rejected(),
            stopping: protocol.is_stopping(),
            finished,
            cycles: protocol.waits().standing(),
        }
    }
}
