//! One supervisor's books: what is its own even in a shutdown group (the
//! gate and the signals are the group's, see [`Protocol`](super::protocol::Protocol)).
//!
//! # Invariants
//!
//! 1. Every publish refused through this supervisor is counted in
//!    `rejected` exactly once, where it was refused: at the gate (step 1 or
//!    step 3), or because its stage-1 channel had been closed by the drain.
//! 2. Every actor registered on this supervisor has its cell in `cells`
//!    from its registration on, so the live figures and the report see it.
//! 3. The report is stored once, after every task of this supervisor has
//!    ended or been aborted and joined (see [`ReportSlot`]).

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use parking_lot::Mutex;

use super::{cell::ActorCell, slot::ReportSlot};
use crate::ShutdownReport;

/// One supervisor's books (see the module docs).
#[derive(Debug)]
pub(crate) struct Books {
    /// Publishes refused through this supervisor.
    rejected: AtomicU64,
    /// Every actor registered on this supervisor, for its live figures.
    cells: Mutex<Vec<Arc<ActorCell>>>,
    report: Arc<ReportSlot<ShutdownReport>>,
}

impl Books {
    pub(crate) fn new() -> Self {
        Self {
            rejected: AtomicU64::new(0),
            cells: Mutex::new(Vec::new()),
            report: Arc::new(ReportSlot::new()),
        }
    }

    /// A publish was refused (invariant 1).
    pub(crate) fn count_rejected(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// Publishes refused so far.
    pub(crate) fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// An actor was registered (invariant 2).
    pub(crate) fn add_cell(&self, cell: Arc<ActorCell>) {
        self.cells.lock().push(cell);
    }

    /// The cells registered so far.
    pub(crate) fn cells(&self) -> Vec<Arc<ActorCell>> {
        self.cells.lock().clone()
    }

    /// Where the report goes.
    pub(crate) fn report(&self) -> &Arc<ReportSlot<ShutdownReport>> {
        &self.report
    }
}
