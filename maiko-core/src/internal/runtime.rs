//! State shared by everything that belongs to one supervisor: the gate, the
//! shutdown signals and the finished report.

use std::{
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    time::Duration,
};

use parking_lot::Mutex;
use tokio::{sync::Notify, time::Instant};
use tokio_util::sync::CancellationToken;

use super::gate::{CLOSED, Gate, OPEN, Origin};
use crate::ShutdownReport;

/// The shared heart of one supervisor.
#[derive(Debug)]
pub(crate) struct Runtime {
    pub(crate) gate: Gate,
    /// Fires at the first stop request: the cooperative shutdown signal.
    pub(crate) stopping: CancellationToken,
    /// Fires when the gate reaches `CLOSED`: brokers close their stage-1
    /// receivers and drain them.
    pub(crate) closed: CancellationToken,
    /// Fires at the shutdown deadline or on a second signal: actors abandon
    /// what is left in their mailboxes.
    pub(crate) escalated: CancellationToken,
    /// Fires when the shutdown has finished and the report is stored.
    pub(crate) finished: CancellationToken,
    /// Woken when an actor fails (for `Supervisor::join`).
    pub(crate) failure: Notify,
    /// Publishes refused at the gate.
    rejected: AtomicU64,
    /// Set by a second signal: skip the grace and abort at once.
    abort_now: AtomicBool,
    /// Mirrors `escalated`, as a plain flag for the actor loop's hot path.
    escalated_flag: AtomicBool,
    stop_requested_at: Mutex<Option<Instant>>,
    gate_closed_at: Mutex<Option<Instant>>,
    report: Mutex<Option<ShutdownReport>>,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) shutdown_grace: Duration,
}

impl Runtime {
    pub(crate) fn new(
        hop_limit: u32,
        strict: bool,
        shutdown_timeout: Duration,
        shutdown_grace: Duration,
    ) -> Self {
        Self {
            gate: Gate::new(hop_limit, strict),
            stopping: CancellationToken::new(),
            closed: CancellationToken::new(),
            escalated: CancellationToken::new(),
            finished: CancellationToken::new(),
            failure: Notify::new(),
            rejected: AtomicU64::new(0),
            abort_now: AtomicBool::new(false),
            escalated_flag: AtomicBool::new(false),
            stop_requested_at: Mutex::new(None),
            gate_closed_at: Mutex::new(None),
            report: Mutex::new(None),
            shutdown_timeout,
            shutdown_grace,
        }
    }

    /// Start the shutdown, or do nothing if it has started already. Never
    /// shortens a drain in progress.
    pub(crate) fn request_stop(&self) {
        let outcome = self.gate.request_stop();
        if outcome.first {
            *self.stop_requested_at.lock() = Some(Instant::now());
            self.stopping.cancel();
        }
        if outcome.closed_now {
            self.on_closed();
        }
    }

    /// A second signal: skip the rest of the drain and the grace, and
    /// abort what is still running.
    pub(crate) fn escalate(&self) {
        self.request_stop();
        self.abort_now.store(true, Ordering::Release);
        self.mark_escalated();
    }

    /// The deadline passed (or a second signal came): actors abandon what
    /// is left in their mailboxes.
    pub(crate) fn mark_escalated(&self) {
        self.escalated_flag.store(true, Ordering::Release);
        self.escalated.cancel();
    }

    /// Whether [`mark_escalated`](Self::mark_escalated) was called.
    #[inline]
    pub(crate) fn is_escalated(&self) -> bool {
        self.escalated_flag.load(Ordering::Acquire)
    }

    /// Whether a second signal asked to abort without grace.
    pub(crate) fn abort_now(&self) -> bool {
        self.abort_now.load(Ordering::Acquire)
    }

    /// Finish `n` units of work (see [`Gate::release`]).
    #[inline]
    pub(crate) fn release(&self, n: u64) {
        if self.gate.release(n) {
            self.on_closed();
        }
    }

    /// Close the gate for everyone, whatever is in flight.
    pub(crate) fn force_close(&self) {
        if self.gate.force_close() {
            self.on_closed();
        }
    }

    fn on_closed(&self) {
        self.gate_closed_at.lock().get_or_insert_with(Instant::now);
        self.closed.cancel();
    }

    /// Whether a shutdown has started. Read from the gate, so it is true
    /// for anyone who has seen a publish refused (the `stopping` token is
    /// cancelled just after the gate flips).
    #[inline]
    pub(crate) fn is_stopping(&self) -> bool {
        self.gate.state() != OPEN
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.gate.state() == CLOSED
    }

    /// Step 1 of the gate for a publisher; counts a refusal.
    #[inline]
    pub(crate) fn precheck(&self, origin: Origin) -> bool {
        let admitted = self.gate.precheck(origin);
        if !admitted {
            self.count_rejected();
        }
        admitted
    }

    /// Step 3 of the gate for a publisher; counts a refusal.
    #[inline]
    pub(crate) fn admit(&self, origin: Origin) -> Option<u32> {
        let depth = self.gate.admit(origin);
        if depth.is_none() {
            self.count_rejected();
        }
        depth
    }

    pub(crate) fn count_rejected(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    pub(crate) fn stop_requested_at(&self) -> Option<Instant> {
        *self.stop_requested_at.lock()
    }

    pub(crate) fn gate_closed_at(&self) -> Option<Instant> {
        *self.gate_closed_at.lock()
    }

    pub(crate) fn store_report(&self, report: ShutdownReport) {
        *self.report.lock() = Some(report);
        self.finished.cancel();
    }

    pub(crate) fn report(&self) -> Option<ShutdownReport> {
        self.report.lock().clone()
    }
}
