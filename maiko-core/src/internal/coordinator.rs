//! The shutdown itself: wait for a stop request (or for every actor to have
//! ended), drain, escalate at the deadline, and write the report.
//!
//! It runs in its own task, spawned by `Supervisor::start`, so that dropping
//! the future of `stop()` cannot abandon a drain halfway.

use std::{sync::Arc, time::Duration};

use tokio::{task::JoinSet, time::Instant};
use tracing::{Instrument, info, info_span, warn};

use super::{cell::ActorCell, shared::Shared};
use crate::{ActorReport, PhaseTimes, ShutdownReport};

/// Instants at which the drain reached each phase.
#[derive(Default)]
struct Marks {
    brokers_done: Option<Instant>,
    actors_done: Option<Instant>,
}

/// The tasks of a started supervisor, and the cells of its actors.
pub(crate) struct Coordinator {
    pub(crate) shared: Arc<Shared>,
    pub(crate) actors: JoinSet<()>,
    pub(crate) brokers: JoinSet<()>,
    pub(crate) cells: Vec<Arc<ActorCell>>,
}

impl Coordinator {
    pub(crate) async fn run(mut self) {
        let shared = Arc::clone(&self.shared);
        self.until_stop_requested().await;
        let stop_at = shared.stop_requested_at().unwrap_or_else(Instant::now);
        let deadline = stop_at + shared.shutdown_timeout();

        let mut marks = Marks::default();
        let drained = tokio::select! {
            biased;
            () = drain(&shared, &mut self.actors, &mut self.brokers, &mut marks) => true,
            () = tokio::time::sleep_until(deadline) => false,
            () = shared.escalated() => false,
        };
        if !drained {
            self.escalate(&mut marks).await;
        }

        let report = report(&shared, &self.cells, stop_at, &marks, !drained);
        log_summary(&report);
        shared.store_report(report);
    }

    /// Running: until someone asks to stop, or every actor has ended (which
    /// is a stop request of its own).
    async fn until_stop_requested(&mut self) {
        loop {
            tokio::select! {
                biased;
                () = self.shared.stopping() => return,
                joined = self.actors.join_next() => {
                    if joined.is_none() {
                        self.shared.request_stop();
                        return;
                    }
                }
            }
        }
    }

    /// The deadline passed (or a second signal came): close for everyone,
    /// make actors abandon their mailboxes, give running handlers the grace,
    /// then abort what is left.
    async fn escalate(&mut self, marks: &mut Marks) {
        let shared = Arc::clone(&self.shared);
        shared.close_at_deadline();
        for cell in &self.cells {
            cell.wake();
        }
        let grace = if shared.abort_now() {
            Duration::ZERO
        } else {
            shared.shutdown_grace()
        };
        let in_grace = drain(&shared, &mut self.actors, &mut self.brokers, marks);
        if tokio::time::timeout(grace, in_grace).await.is_err() {
            // The drop guards of the aborted tasks settle what each had in
            // hand: a routing loop its run of deliveries and the copies of
            // the event it was routing, an actor its event and batch and
            // what is left in its mailbox.
            self.actors.abort_all();
            self.brokers.abort_all();
            while self.actors.join_next().await.is_some() {}
            while self.brokers.join_next().await.is_some() {}
        }
    }
}

/// Wait for the gate to close, then for every routing task, then for every
/// actor. Each phase runs in a span carrying its counts.
async fn drain(
    shared: &Shared,
    actors: &mut JoinSet<()>,
    brokers: &mut JoinSet<()>,
    marks: &mut Marks,
) {
    let in_flight = shared.in_flight();
    shared
        .closed()
        .instrument(info_span!("maiko.draining", in_flight))
        .await;
    let routing_tasks = brokers.len();
    async { while brokers.join_next().await.is_some() {} }
        .instrument(info_span!("maiko.closing", routing_tasks))
        .await;
    marks.brokers_done.get_or_insert_with(Instant::now);
    let actor_tasks = actors.len();
    async { while actors.join_next().await.is_some() {} }
        .instrument(info_span!("maiko.on_shutdown", actor_tasks))
        .await;
    marks.actors_done.get_or_insert_with(Instant::now);
}

/// The report of a shutdown whose tasks have all ended. Also the report of
/// a supervisor that never started (no cells, no marks).
fn report(
    shared: &Shared,
    cells: &[Arc<ActorCell>],
    stop_at: Instant,
    marks: &Marks,
    deadline_hit: bool,
) -> ShutdownReport {
    let actors: Vec<ActorReport> = cells.iter().map(|c| c.report(deadline_hit)).collect();
    for actor in actors.iter().filter(|a| a.stuck_in.is_some()) {
        warn!(
            actor = %actor.actor,
            abandoned = actor.abandoned,
            doing = actor.stuck_in.as_deref().unwrap_or_default(),
            outcome = %actor.outcome,
            "actor abandoned at the shutdown deadline"
        );
    }

    let now = Instant::now();
    let closed_at = shared.gate_closed_at().unwrap_or(now).max(stop_at);
    let brokers_done = marks.brokers_done.unwrap_or(now).max(closed_at);
    let actors_done = marks.actors_done.unwrap_or(now).max(brokers_done);
    ShutdownReport {
        actors,
        rejected: shared.rejected(),
        // Every task has ended and every copy that reached an actor was
        // settled (and its unit released) by the actor's guards, so what the
        // gate still counts are events no routing loop got to route.
        unrouted: shared.in_flight(),
        deadline_hit,
        aborted_by_signal: shared.abort_now(),
        timeout: shared.shutdown_timeout(),
        phases: PhaseTimes {
            draining: closed_at - stop_at,
            closing: brokers_done - closed_at,
            on_shutdown: actors_done - brokers_done,
        },
        total: now - stop_at,
    }
}

/// The report of a supervisor that could not start (an unusable
/// configuration): nothing was started, accepted or routed.
pub(crate) fn report_of_nothing(shared: &Shared) -> ShutdownReport {
    report(shared, &[], Instant::now(), &Marks::default(), false)
}

fn log_summary(report: &ShutdownReport) {
    let total = |field: fn(&ActorReport) -> u64| report.actors.iter().map(field).sum::<u64>();
    info!(
        clean = report.is_clean(),
        handled = total(|a| a.handled),
        dropped = total(|a| a.dropped),
        lost = total(|a| a.lost),
        abandoned = report.abandoned(),
        interrupted = total(|a| a.interrupted),
        rejected = report.rejected,
        deadline_hit = report.deadline_hit,
        elapsed = ?report.total,
        "maiko shutdown finished"
    );
}
