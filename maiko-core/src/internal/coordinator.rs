//! The shutdown itself: wait for a stop request (or for every actor to have
//! ended), drain, escalate at the deadline, and write the report.
//!
//! It runs in its own task, spawned by `Supervisor::start`, so that dropping
//! the future of `stop()` cannot abandon a drain halfway.

use std::{sync::Arc, time::Duration};

use tokio::{task::JoinSet, time::Instant};
use tracing::{Instrument, info, info_span, warn};

use super::{
    cell::{ActorCell, Ending},
    runtime::Runtime,
};
use crate::{ActorOutcome, ActorReport, PhaseTimes, ShutdownReport};

/// Instants at which the drain reached each phase.
#[derive(Default)]
struct Marks {
    brokers_done: Option<Instant>,
    actors_done: Option<Instant>,
}

pub(crate) struct Coordinator {
    pub(crate) runtime: Arc<Runtime>,
    pub(crate) actors: JoinSet<()>,
    pub(crate) brokers: JoinSet<()>,
    pub(crate) cells: Vec<Arc<ActorCell>>,
}

impl Coordinator {
    pub(crate) async fn run(mut self) {
        let runtime = Arc::clone(&self.runtime);

        // Running: until someone asks to stop, or every actor has ended.
        loop {
            tokio::select! {
                biased;
                () = runtime.stopping.cancelled() => break,
                joined = self.actors.join_next() => {
                    if joined.is_none() {
                        runtime.request_stop();
                        break;
                    }
                }
            }
        }
        let stop_at = runtime.stop_requested_at().unwrap_or_else(Instant::now);
        let deadline = stop_at + runtime.shutdown_timeout;

        let mut marks = Marks::default();
        let drained = tokio::select! {
            biased;
            () = drain(&runtime, &mut self.actors, &mut self.brokers, &mut marks) => true,
            () = tokio::time::sleep_until(deadline) => false,
            () = runtime.escalated.cancelled() => false,
        };

        if !drained {
            // Escalate: close for everyone, make actors abandon their
            // mailboxes, give running handlers the grace, then abort.
            runtime.force_close();
            runtime.mark_escalated();
            for cell in &self.cells {
                cell.wake();
            }
            let grace = if runtime.abort_now() {
                Duration::ZERO
            } else {
                runtime.shutdown_grace
            };
            let grace_end = Instant::now() + grace;
            let in_grace = drain(&runtime, &mut self.actors, &mut self.brokers, &mut marks);
            if tokio::time::timeout_at(grace_end, in_grace).await.is_err() {
                self.actors.abort_all();
                self.brokers.abort_all();
                while self.actors.join_next().await.is_some() {}
                while self.brokers.join_next().await.is_some() {}
            }
        }

        // After a full drain the gate counts nothing; anything it still
        // counts was never handled, and the report must show it.
        let report = self.report(stop_at, &marks, !drained, runtime.gate.in_flight());
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
        runtime.store_report(report);
    }

    fn report(
        &self,
        stop_at: Instant,
        marks: &Marks,
        deadline_hit: bool,
        in_flight: u64,
    ) -> ShutdownReport {
        let runtime = &self.runtime;
        let mut actors = Vec::with_capacity(self.cells.len());
        for cell in &self.cells {
            let c = &cell.counters;
            let load = |counter: &std::sync::atomic::AtomicU64| {
                counter.load(std::sync::atomic::Ordering::Relaxed)
            };
            let (routed, handled, dropped, lost, interrupted) = (
                load(&c.routed),
                load(&c.handled),
                load(&c.dropped),
                load(&c.lost),
                load(&c.interrupted),
            );
            let mut abandoned = load(&c.abandoned);
            let mut stuck_in = None;
            let outcome = match cell.ending() {
                Some(Ending::Completed) => ActorOutcome::Completed,
                Some(Ending::Failed(error)) => ActorOutcome::Failed(error),
                Some(Ending::Interrupted) => ActorOutcome::Interrupted,
                None => {
                    // Aborted: whatever was routed and not accounted for
                    // was still in its mailbox or in its hands.
                    abandoned = routed.saturating_sub(handled + dropped + lost + interrupted);
                    stuck_in = Some(cell.activity().describe());
                    ActorOutcome::Aborted
                }
            };
            if deadline_hit && (abandoned > 0 || outcome == ActorOutcome::Aborted) {
                let doing = stuck_in
                    .clone()
                    .unwrap_or_else(|| cell.activity().describe());
                warn!(
                    actor = %cell.id,
                    abandoned,
                    doing = %doing,
                    outcome = %outcome,
                    "actor abandoned at the shutdown deadline"
                );
                stuck_in.get_or_insert(doing);
            }
            actors.push(ActorReport {
                actor: cell.id.clone(),
                routed,
                handled,
                dropped,
                lost,
                abandoned,
                interrupted,
                outcome,
                stuck_in,
            });
        }
        // Units still counted by the gate are copies in mailboxes of
        // aborted actors (counted above) or events the brokers never routed.
        let in_mailboxes: u64 = actors
            .iter()
            .filter(|a| a.outcome == ActorOutcome::Aborted)
            .map(|a| a.abandoned)
            .sum();
        let unrouted = in_flight.saturating_sub(in_mailboxes);

        let now = Instant::now();
        let closed_at = runtime.gate_closed_at().unwrap_or(now).max(stop_at);
        let brokers_done = marks.brokers_done.unwrap_or(now).max(closed_at);
        let actors_done = marks.actors_done.unwrap_or(now).max(brokers_done);
        let phases = PhaseTimes {
            draining: closed_at - stop_at,
            closing: brokers_done - closed_at,
            on_shutdown: actors_done - brokers_done,
        };
        ShutdownReport {
            actors,
            rejected: runtime.rejected(),
            unrouted,
            deadline_hit,
            aborted_by_signal: runtime.abort_now(),
            timeout: runtime.shutdown_timeout,
            phases,
            total: now - stop_at,
        }
    }
}

/// Wait for the gate to close, then for every routing task, then for every
/// actor. Each phase runs in a span carrying its counts.
async fn drain(
    runtime: &Runtime,
    actors: &mut JoinSet<()>,
    brokers: &mut JoinSet<()>,
    marks: &mut Marks,
) {
    let in_flight = runtime.gate.in_flight();
    runtime
        .closed
        .cancelled()
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
