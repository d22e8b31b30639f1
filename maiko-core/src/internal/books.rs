//! One supervisor's books: what is its own even in a shutdown group (the
//! gate and the signals are the group's, see [`Protocol`](super::protocol::Protocol)).
//!
//! # Invariants
//!
//! 1. Every publish refused through this supervisor is counted in
//!    `rejected` exactly once, where it was refused: at the gate (step 1 or
//!    step 3), or because its stage-1 channel had been closed by the drain.
//! 2. Every actor registered on this supervisor has an entry in `actors`
//!    from its registration on, so the live figures and the report see it:
//!    its cell, or, once it was stopped from outside and its task ended,
//!    its report (the cell is let go). Of the actors stopped from outside,
//!    the last [`KEEP_STOPPED`] keep a report of their own; older ones are
//!    folded into one entry with their summed counts, so that a supervisor
//!    that adds and stops actors without end keeps its memory flat.
//! 3. The report is stored once, after every task of this supervisor has
//!    ended or been aborted and joined (see [`ReportSlot`]).

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use parking_lot::Mutex;

use super::{cell::ActorCell, meters::SupervisorMeters, slot::ReportSlot};
use crate::{ActorFigures, ActorId, ActorOutcome, ActorReport, ActorState, ShutdownReport};

/// How many actors stopped from outside keep a report entry of their own.
pub(crate) const KEEP_STOPPED: usize = 1024;

/// One actor in the books.
#[derive(Debug)]
enum Entry {
    Live(Arc<ActorCell>),
    /// Stopped from outside; its report.
    Retired(ActorReport),
}

/// One supervisor's books (see the module docs).
#[derive(Debug)]
pub(crate) struct Books {
    /// Publishes refused through this supervisor.
    rejected: AtomicU64,
    /// Every actor registered on this supervisor, in order.
    actors: Mutex<Vec<Entry>>,
    /// Actors stopped from outside beyond the last [`KEEP_STOPPED`]: how
    /// many, and their summed report.
    folded: Mutex<Option<(u64, ActorReport)>>,
    report: Arc<ReportSlot<ShutdownReport>>,
    /// The supervisor's meters; `rejected` moves them (see
    /// `internal::meters`).
    meters: SupervisorMeters,
}

impl Books {
    /// The books of the supervisor named `name`.
    pub(crate) fn new(name: &str) -> Self {
        Self {
            rejected: AtomicU64::new(0),
            actors: Mutex::new(Vec::new()),
            folded: Mutex::new(None),
            report: Arc::new(ReportSlot::new()),
            meters: SupervisorMeters::new(name),
        }
    }

    /// A publish was refused (invariant 1).
    pub(crate) fn count_rejected(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
        self.meters.refused();
    }

    /// The supervisor's meters, which its actors' meters are labelled from.
    pub(crate) fn meters(&self) -> &SupervisorMeters {
        &self.meters
    }

    /// Publishes refused so far.
    pub(crate) fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// An actor was registered (invariant 2).
    pub(crate) fn add_cell(&self, cell: Arc<ActorCell>) {
        self.actors.lock().push(Entry::Live(cell));
    }

    /// The cells of the actors not stopped from outside.
    pub(crate) fn cells(&self) -> Vec<Arc<ActorCell>> {
        self.actors
            .lock()
            .iter()
            .filter_map(|entry| match entry {
                Entry::Live(cell) => Some(Arc::clone(cell)),
                Entry::Retired(_) => None,
            })
            .collect()
    }

    /// The actor of `cell` was stopped from outside and its task has
    /// ended: keep its report and let the cell go. Returns the report.
    ///
    /// A routing loop adds the copies it delivered to `routed` once per run
    /// (see `broker::RoutedRun`), which may come after the actor handled
    /// them and ended; but once the task has ended normally, every copy
    /// delivered to its mailbox was settled there, and no more can be
    /// (its mailbox is closed, and it is retired), so `routed` is the sum
    /// of the outcomes.
    pub(crate) fn retire(&self, cell: &Arc<ActorCell>) -> ActorReport {
        let mut report = cell.report(false);
        if cell.has_ended() {
            report.routed = report.handled
                + report.dropped
                + report.lost
                + report.abandoned
                + report.interrupted;
        }
        let mut actors = self.actors.lock();
        if let Some(entry) = actors
            .iter_mut()
            .find(|entry| matches!(entry, Entry::Live(c) if Arc::ptr_eq(c, cell)))
        {
            *entry = Entry::Retired(report.clone());
        }
        let stopped = actors
            .iter()
            .filter(|entry| matches!(entry, Entry::Retired(_)))
            .count();
        if stopped > KEEP_STOPPED
            && let Some(oldest) = actors
                .iter()
                .position(|entry| matches!(entry, Entry::Retired(_)))
            && let Entry::Retired(old) = actors.remove(oldest)
        {
            fold(&mut self.folded.lock(), old);
        }
        report
    }

    /// Room for every actor's report: taken when the stop begins, before
    /// the actors' tasks end and free their memory. A large allocation made
    /// right after many small frees costs the allocator a pass over them
    /// (glibc consolidates its fast bins): taken at the end instead, it made
    /// a stop of 100 or 1000 idle actors 7% dearer in instructions.
    pub(crate) fn report_room(&self) -> Vec<ActorReport> {
        let folded = usize::from(self.folded.lock().is_some());
        Vec::with_capacity(self.actors.lock().len() + folded)
    }

    /// Every actor's report, in the order they were registered (the live
    /// ones' tasks must have ended or been aborted and joined), put into
    /// `room` (see [`report_room`](Self::report_room)).
    pub(crate) fn reports(
        &self,
        deadline_hit: bool,
        mut room: Vec<ActorReport>,
    ) -> Vec<ActorReport> {
        room.clear();
        if let Some((_, report)) = self.folded.lock().as_ref() {
            room.push(report.clone());
        }
        room.extend(self.actors.lock().iter().map(|entry| match entry {
            Entry::Live(cell) => cell.report(deadline_hit),
            Entry::Retired(report) => report.clone(),
        }));
        room
    }

    /// Every actor's live figures; `finished`: the shutdown has finished.
    pub(crate) fn figures(&self, finished: bool) -> Vec<ActorFigures> {
        self.actors
            .lock()
            .iter()
            .map(|entry| match entry {
                Entry::Live(cell) => cell.figures(finished),
                Entry::Retired(report) => with_counts!(ActorFigures {
                    actor: report.actor.clone(),
                    queued: 0,
                    over_capacity: report.over_capacity,
                    state: ActorState::Ended(report.outcome.clone()),
                    doing: "ended".to_owned(),
                } from map_counts!(report, |count: &u64| *count)),
            })
            .collect()
    }

    /// Where the report goes.
    pub(crate) fn report(&self) -> &Arc<ReportSlot<ShutdownReport>> {
        &self.report
    }
}

/// Add the report of an actor stopped from outside to the folded entry of
/// the older ones: counts and restarts summed, the first failure kept.
fn fold(folded: &mut Option<(u64, ActorReport)>, report: ActorReport) {
    let (n, sum) = folded.get_or_insert_with(|| {
        let mut empty = report.clone();
        empty.routed = 0;
        empty.handled = 0;
        empty.dropped = 0;
        empty.lost = 0;
        empty.abandoned = 0;
        empty.interrupted = 0;
        empty.over_capacity = 0;
        empty.restarts = 0;
        empty.outcome = ActorOutcome::Completed;
        empty.stuck_in = None;
        (0, empty)
    });
    *n += 1;
    sum.actor = ActorId::new(&format!("({n} earlier actors stopped while running)"));
    sum.routed += report.routed;
    sum.handled += report.handled;
    sum.dropped += report.dropped;
    sum.lost += report.lost;
    sum.abandoned += report.abandoned;
    sum.interrupted += report.interrupted;
    sum.over_capacity += report.over_capacity;
    sum.restarts += report.restarts;
    if sum.outcome == ActorOutcome::Completed {
        sum.outcome = report.outcome;
    }
}
