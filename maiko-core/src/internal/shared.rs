//! The one door into the shutdown protocol of a supervisor.
//!
//! [`Shared`] owns the [`Gate`] and every signal of the shutdown (the
//! cooperative `stopping` signal, the `closed` signal the routing loops wait
//! on, the escalation, the end). Its fields are private: the supervisor, its
//! handles, the contexts, the routing loops, the actor loops and the
//! coordinator call its methods, so the pairs that must move together do so
//! in one place:
//!
//! - whoever moves the gate to `CLOSED` (a release, a stop request, the
//!   deadline) wakes the routing loops ([`Shared::on_closed`]);
//! - the escalation flag read on the actors' hot path and the escalation
//!   token awaited by the coordinator are set together;
//! - a refusal at the gate is counted for the report where it happens.
//!
//! tokio's `Chan` behind `mpsc::Sender`/`Receiver`, and `TaskTrackerInner`
//! behind `TaskTracker`, follow the same pattern.
//!
//! # Several supervisors, one gate
//!
//! The supervisors of a [`ShutdownGroup`](crate::ShutdownGroup) share one
//! gate, so that the group is quiescent only when every member is, and one
//! stop request stops them all. Each supervisor keeps its own `Shared`
//! (its contexts and handles hold it from the moment they are made); when
//! it joins a group, its `Shared` is linked to the group's *root* and every
//! method that concerns the protocol (the gate, the signals, the deadline)
//! goes to the root. What is the member's own stays on it: the publishes it
//! refused, its report and the signal that the report is ready, and its
//! turn to run `on_shutdown`. A supervisor that is in no group is its own
//! root, which costs one atomic load per call.

use std::{
    future::Future,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, AtomicU64, Ordering, fence},
    },
    time::Duration,
};

use parking_lot::Mutex;
use tokio::{sync::Notify, time::Instant};
use tokio_util::sync::CancellationToken;

use super::{
    cell::ActorCell,
    cycle::WaitGraph,
    gate::{CLOSED, Gate, OPEN, Origin},
};
use crate::{CyclePolicy, ShutdownReport, Snapshot, SupervisorConfig};

/// What every part of one supervisor shares: the gate and the shutdown's
/// signals, times and report.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The group's root, once this supervisor has joined a group.
    parent: OnceLock<Arc<Shared>>,
    /// For a group member after the first: fires when every member added
    /// before it has finished, or at the deadline. Its actors wait for it
    /// between draining their mailboxes and `on_shutdown`.
    turn: OnceLock<CancellationToken>,
    gate: Gate,
    /// Fires at the first stop request: the cooperative shutdown signal.
    stopping: CancellationToken,
    /// Fires when the gate reaches `CLOSED`: routing loops close their
    /// stage-1 receivers and drain them.
    closed: CancellationToken,
    /// Fires at the shutdown deadline or on a second signal: actors abandon
    /// what is left in their mailboxes. Set together with `escalated_flag`.
    escalated: CancellationToken,
    /// `escalated` as a plain flag, for the actor loop's hot path.
    escalated_flag: AtomicBool,
    /// Fires when the shutdown has finished and the report is stored.
    finished: CancellationToken,
    /// Woken when an actor fails (for `Supervisor::join`).
    failure: Notify,
    /// Publishes refused at the gate.
    rejected: AtomicU64,
    /// Set by a second signal: skip the grace and abort at once.
    abort_now: AtomicBool,
    /// Woken when the in-flight count reaches zero, for those waiting in
    /// [`Shared::quiescent`]; `idle_waiters` says whether anyone is.
    idle: Notify,
    idle_waiters: AtomicU64,
    /// The logical clock of publishes from outside the actors (the
    /// supervisor, its handles), for the order of monitoring records.
    #[cfg(feature = "monitoring")]
    outside_clock: AtomicU64,
    /// Monitoring records lost because their producer was aborted.
    monitor_records_lost: AtomicU64,
    stop_requested_at: Mutex<Option<Instant>>,
    gate_closed_at: Mutex<Option<Instant>>,
    report: Mutex<Option<ShutdownReport>>,
    /// Every actor registered on this supervisor, for its live figures.
    cells: Mutex<Vec<Arc<ActorCell>>>,
    shutdown_timeout: Duration,
    shutdown_grace: Duration,
    /// The wait-for graph of blocked publishers (the root's serves the
    /// whole group).
    waits: WaitGraph,
    cycle_policy: CyclePolicy,
}

impl Shared {
    /// The shared state of a supervisor with these settings.
    pub(crate) fn new(config: &SupervisorConfig) -> Self {
        Self {
            parent: OnceLock::new(),
            turn: OnceLock::new(),
            gate: Gate::new(config.drain_hop_limit(), config.strict_shutdown()),
            stopping: CancellationToken::new(),
            closed: CancellationToken::new(),
            escalated: CancellationToken::new(),
            escalated_flag: AtomicBool::new(false),
            finished: CancellationToken::new(),
            failure: Notify::new(),
            rejected: AtomicU64::new(0),
            abort_now: AtomicBool::new(false),
            idle: Notify::new(),
            idle_waiters: AtomicU64::new(0),
            #[cfg(feature = "monitoring")]
            outside_clock: AtomicU64::new(0),
            monitor_records_lost: AtomicU64::new(0),
            stop_requested_at: Mutex::new(None),
            gate_closed_at: Mutex::new(None),
            report: Mutex::new(None),
            cells: Mutex::new(Vec::new()),
            shutdown_timeout: config.shutdown_timeout(),
            shutdown_grace: config.shutdown_grace(),
            waits: WaitGraph::default(),
            cycle_policy: config.cycle_policy(),
        }
    }

    // --- Groups --------------------------------------------------------------

    /// The root of this supervisor's group, or itself.
    #[inline]
    fn root(&self) -> &Shared {
        self.parent.get().map_or(self, |root| root)
    }

    /// Whether `self` and `other` pass the same gate.
    pub(crate) fn same_gate(&self, other: &Shared) -> bool {
        std::ptr::eq(self.root(), other.root())
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
        if self.parent.get().is_some() {
            return Err("it is already in a group");
        }
        self.gate.seal().map_err(|state| match state {
            OPEN => "it has already accepted events; add it before publishing through it",
            _ => "it has already been stopped",
        })?;
        if let Some(turn) = turn {
            let _ = self.turn.set(turn);
        }
        let _ = self.parent.set(root);
        Ok(())
    }

    /// The turn this supervisor's actors wait for before `on_shutdown`, if
    /// it is a group member after the first.
    pub(crate) fn turn(&self) -> Option<&CancellationToken> {
        self.turn.get()
    }

    // --- Publishing: steps 1 and 3 of the gate ------------------------------

    /// Step 1 of a publish: does the gate, as it stands, admit `origin`?
    /// Counts a refusal.
    #[inline]
    pub(crate) fn precheck(&self, origin: Origin) -> bool {
        let admitted = self.root().gate.precheck(origin);
        if !admitted {
            self.count_rejected();
        }
        admitted
    }

    /// Step 3 of a publish: re-check the gate and count the event as in
    /// flight, atomically. Returns the drain depth to stamp on the event, or
    /// `None` (counted as a refusal) if the gate refuses it now.
    #[inline]
    pub(crate) fn admit(&self, origin: Origin) -> Option<u32> {
        let depth = self.root().gate.admit(origin);
        if depth.is_none() {
            self.count_rejected();
        }
        depth
    }

    /// A publish refused after step 1 for a reason outside the gate (its
    /// stage-1 channel was closed by the drain). Counted on this
    /// supervisor, whose report shows it.
    pub(crate) fn count_rejected(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    // --- Routing and handling: the in-flight count ---------------------------

    /// Count `n` more copies of an event whose own unit the caller still
    /// holds (see [`Gate::add`]).
    #[inline]
    pub(crate) fn add_copies(&self, n: u64) {
        self.root().gate.add(n);
    }

    /// Finish `n` units of work. If this brings the count to zero while the
    /// gate drains, the gate closes and the routing loops are woken; at
    /// zero, anyone waiting in [`quiescent`](Self::quiescent) is woken.
    #[inline]
    pub(crate) fn release(&self, n: u64) {
        let root = self.root();
        let released = root.gate.release(n);
        if released.closed {
            root.on_closed();
        }
        if released.idle {
            root.wake_idle();
        }
    }

    /// The count reached zero: wake the waiters of `quiescent`, if any.
    #[cold]
    fn wake_idle(&self) {
        // SeqCst, with the waiter's SeqCst increment before its count
        // check: either the waiter sees the zero, or this sees the waiter.
        fence(Ordering::SeqCst);
        if self.idle_waiters.load(Ordering::SeqCst) > 0 {
            self.idle.notify_waiters();
        }
    }

    /// Resolves once nothing accepted is still unhandled (the in-flight
    /// count is zero), at once if that is so now. No timer, no polling: it
    /// is woken by the release that reaches zero.
    #[cfg(feature = "test-harness")]
    pub(crate) async fn quiescent(&self) {
        let root = self.root();
        loop {
            let notified = root.idle.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            root.idle_waiters.fetch_add(1, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            let idle = root.gate.in_flight() == 0;
            if !idle {
                notified.await;
            }
            root.idle_waiters.fetch_sub(1, Ordering::SeqCst);
            if idle || root.gate.in_flight() == 0 {
                return;
            }
        }
    }

    /// The next tick of the outside publishers' logical clock.
    #[cfg(feature = "monitoring")]
    #[inline]
    pub(crate) fn outside_tick(&self) -> u64 {
        self.outside_clock.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// A monitoring record was lost (its producer was aborted).
    #[cfg(feature = "monitoring")]
    pub(crate) fn count_monitor_record_lost(&self) {
        self.monitor_records_lost.fetch_add(1, Ordering::Relaxed);
    }

    /// Monitoring records lost so far.
    pub(crate) fn monitor_records_lost(&self) -> u64 {
        self.monitor_records_lost.load(Ordering::Relaxed)
    }

    /// The wait-for graph of the gate's blocked publishers.
    pub(crate) fn waits(&self) -> &WaitGraph {
        &self.root().waits
    }

    /// What a publish that closes a cycle does.
    pub(crate) fn cycle_policy(&self) -> CyclePolicy {
        self.cycle_policy
    }

    /// Units accepted and not yet finished.
    pub(crate) fn in_flight(&self) -> u64 {
        self.root().gate.in_flight()
    }

    // --- State ---------------------------------------------------------------

    /// Whether nothing has asked to stop yet: `step()` may run.
    #[inline]
    pub(crate) fn is_open(&self) -> bool {
        self.root().gate.state() == OPEN
    }

    /// Whether a shutdown has started. Read from the gate, so it is true for
    /// anyone who has seen a publish refused (the `stopping` token is
    /// cancelled just after the gate flips).
    #[inline]
    pub(crate) fn is_stopping(&self) -> bool {
        self.root().gate.state() != OPEN
    }

    /// Whether the gate has closed: nothing more is admitted.
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.root().gate.state() == CLOSED
    }

    /// Whether the deadline (or a second signal) escalated the shutdown.
    #[inline]
    pub(crate) fn is_escalated(&self) -> bool {
        self.root().escalated_flag.load(Ordering::Acquire)
    }

    /// Whether a second signal asked to abort without grace.
    pub(crate) fn abort_now(&self) -> bool {
        self.root().abort_now.load(Ordering::Acquire)
    }

    // --- Stopping ------------------------------------------------------------

    /// Start the shutdown, or do nothing if it has started already. Never
    /// shortens a drain in progress.
    pub(crate) fn request_stop(&self) {
        let root = self.root();
        let outcome = root.gate.request_stop();
        if outcome.first {
            *root.stop_requested_at.lock() = Some(Instant::now());
            root.waits.on_stop();
            root.stopping.cancel();
        }
        if outcome.closed_now {
            root.on_closed();
        }
    }

    /// A second signal: skip the rest of the drain and the grace, and abort
    /// what is still running.
    pub(crate) fn escalate(&self) {
        self.request_stop();
        let root = self.root();
        root.abort_now.store(true, Ordering::Release);
        root.mark_escalated();
    }

    /// The deadline passed (or a second signal came): close the gate for
    /// everyone, whatever is in flight, and make the actors abandon what is
    /// left in their mailboxes.
    pub(crate) fn close_at_deadline(&self) {
        let root = self.root();
        if root.gate.force_close() {
            root.on_closed();
        }
        root.mark_escalated();
    }

    /// The flag first, so that an actor woken by the token reads it set.
    fn mark_escalated(&self) {
        self.escalated_flag.store(true, Ordering::Release);
        self.escalated.cancel();
    }

    /// The gate (of the root) has just reached `CLOSED`; exactly one caller
    /// gets here.
    fn on_closed(&self) {
        self.gate_closed_at.lock().get_or_insert_with(Instant::now);
        self.closed.cancel();
    }

    /// An actor failed: wake `Supervisor::join`.
    pub(crate) fn notify_failure(&self) {
        self.root().failure.notify_one();
    }

    // --- Waiting -------------------------------------------------------------

    /// Resolves at the first stop request. Owned, for `Context::stopping`.
    pub(crate) fn stopping_owned(&self) -> impl Future<Output = ()> + Send + 'static {
        self.root().stopping.clone().cancelled_owned()
    }

    /// Resolves at the first stop request.
    pub(crate) fn stopping(&self) -> impl Future<Output = ()> + Send + '_ {
        self.root().stopping.cancelled()
    }

    /// Resolves when the gate has closed.
    pub(crate) fn closed(&self) -> impl Future<Output = ()> + Send + '_ {
        self.root().closed.cancelled()
    }

    /// Resolves when the shutdown escalated (deadline or second signal).
    pub(crate) fn escalated(&self) -> impl Future<Output = ()> + Send + '_ {
        self.root().escalated.cancelled()
    }

    /// Resolves at the next actor failure after it is first polled.
    pub(crate) fn failure(&self) -> impl Future<Output = ()> + Send + '_ {
        self.root().failure.notified()
    }

    /// Whether this supervisor's shutdown has finished.
    pub(crate) fn has_finished(&self) -> bool {
        self.finished.is_cancelled()
    }

    /// Resolves when this supervisor's shutdown has finished and its report
    /// is stored.
    pub(crate) fn finished(&self) -> impl Future<Output = ()> + Send + '_ {
        self.finished.cancelled()
    }

    // --- The report ----------------------------------------------------------

    /// Publishes refused at the gate so far, through this supervisor.
    pub(crate) fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    pub(crate) fn stop_requested_at(&self) -> Option<Instant> {
        *self.root().stop_requested_at.lock()
    }

    pub(crate) fn gate_closed_at(&self) -> Option<Instant> {
        *self.root().gate_closed_at.lock()
    }

    pub(crate) fn shutdown_timeout(&self) -> Duration {
        self.root().shutdown_timeout
    }

    pub(crate) fn shutdown_grace(&self) -> Duration {
        self.root().shutdown_grace
    }

    /// Store this supervisor's report and wake everyone waiting for it.
    pub(crate) fn store_report(&self, report: ShutdownReport) {
        *self.report.lock() = Some(report);
        self.finished.cancel();
    }

    /// An actor was registered on this supervisor.
    pub(crate) fn add_cell(&self, cell: Arc<ActorCell>) {
        self.cells.lock().push(cell);
    }

    /// Whether the actor named `actor` is running (registered, its task
    /// not ended) and whether it has stopped (its task ended).
    #[cfg(feature = "test-harness")]
    pub(crate) fn liveness(&self, actor: &crate::ActorId) -> (bool, bool) {
        match self.cells.lock().iter().find(|c| &c.id == actor) {
            Some(cell) => {
                // An aborted task records nothing; the shutdown's end says
                // every task has ended.
                let ended = cell.has_ended() || self.has_finished();
                (!ended, ended)
            }
            None => (false, false),
        }
    }

    /// This supervisor's live figures.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let actors = self.cells.lock().iter().map(|c| c.figures()).collect();
        Snapshot {
            actors,
            in_flight: self.in_flight(),
            rejected: self.rejected(),
            stopping: self.is_stopping(),
            finished: self.has_finished(),
            cycles: self.waits().standing(),
        }
    }

    /// The report, once the shutdown has finished.
    pub(crate) fn report(&self) -> Option<ShutdownReport> {
        self.report.lock().clone()
    }
}
