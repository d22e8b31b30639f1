//! The shutdown protocol of one gate: what every supervisor behind that gate
//! shares (a supervisor on its own, or every member of a shutdown group).
//!
//! [`Protocol`] owns the [`Gate`], the signals of the shutdown, its deadline
//! and the wait-for graph of blocked publishers. Its fields are private; the
//! pairs that must move together do so inside its methods.
//!
//! # Invariants
//!
//! 1. Whoever moves the gate to `CLOSED` (a release, a stop request, the
//!    deadline) wakes the routing loops, through [`Protocol::on_closed`],
//!    exactly once: the gate reports each transition to exactly one caller.
//! 2. The escalation flag read on the actors' hot path is set before the
//!    escalation token fires, so an actor woken by the token reads it set.
//! 3. The `stopping` token fires after the gate has left `OPEN`, so anyone
//!    woken by it, and anyone who saw a publish refused, reads
//!    [`is_stopping`](Protocol::is_stopping) as true.
//! 4. [`quiescent`](Protocol::quiescent) never misses the release that
//!    reaches zero: waiter and releaser meet through a pair of `SeqCst`
//!    fences (see [`Protocol::wake_idle`]).
//!
//! Nothing here knows an event type, a report or an actor: those are one
//! member's books ([`Books`](super::books::Books)).

use std::{
    future::Future,
    sync::atomic::{AtomicBool, AtomicU64, Ordering, fence},
    time::Duration,
};

use parking_lot::Mutex;
use tokio::{sync::Notify, time::Instant};
use tokio_util::sync::CancellationToken;

use super::{
    cycle::WaitGraph,
    gate::{CLOSED, Gate, OPEN, Origin},
};
use crate::{CyclePolicy, SupervisorConfig};

/// The signals of one shutdown, each fired once.
#[derive(Debug, Default)]
struct Signals {
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
    /// Set by a second signal: skip the grace and abort at once.
    abort_now: AtomicBool,
    /// Woken when an actor fails (for `Supervisor::join`).
    failure: Notify,
}

/// When the stop was requested and when the gate closed, for the report.
#[derive(Debug, Default, Clone, Copy)]
struct Times {
    stop_requested: Option<Instant>,
    gate_closed: Option<Instant>,
}

/// Waiters for the in-flight count to reach zero (the test harness's
/// `settle`).
#[derive(Debug, Default)]
struct Idle {
    notify: Notify,
    waiters: AtomicU64,
}

/// The shutdown protocol of one gate (see the module docs).
#[derive(Debug)]
pub(crate) struct Protocol {
    gate: Gate,
    signals: Signals,
    times: Mutex<Times>,
    idle: Idle,
    timeout: Duration,
    grace: Duration,
    /// The wait-for graph of the gate's blocked publishers.
    waits: WaitGraph,
    cycle_policy: CyclePolicy,
    /// Whether an actor failing for good stops everything behind the gate.
    stop_on_failure: bool,
}

impl Protocol {
    pub(crate) fn new(config: &SupervisorConfig) -> Self {
        Self {
            gate: Gate::new(config.drain_hop_limit(), config.strict_shutdown()),
            signals: Signals::default(),
            times: Mutex::new(Times::default()),
            idle: Idle::default(),
            timeout: config.shutdown_timeout(),
            grace: config.shutdown_grace(),
            waits: WaitGraph::default(),
            cycle_policy: config.cycle_policy(),
            stop_on_failure: config.stop_on_failure(),
        }
    }

    /// Seal this gate for good if nothing was ever published through it
    /// and no stop was requested (its supervisor joins a group and uses
    /// the group's gate from now on). Returns the state that prevented it.
    pub(crate) fn seal(&self) -> Result<(), u64> {
        self.gate.seal()
    }

    // --- Publishing: steps 1 and 3 of the gate ------------------------------

    /// Step 1 of a publish: does the gate, as it stands, admit `origin`?
    #[inline]
    pub(crate) fn precheck(&self, origin: Origin) -> bool {
        self.gate.precheck(origin)
    }

    /// Step 3 of a publish: re-check the gate and count the event as in
    /// flight, atomically. Returns the drain depth to stamp on the event, or
    /// `None` if the gate refuses it now.
    #[inline]
    pub(crate) fn admit(&self, origin: Origin) -> Option<u32> {
        self.gate.admit(origin)
    }

    // --- Routing and handling: the in-flight count ---------------------------

    /// Count `n` more copies of an event whose own unit the caller still
    /// holds (see [`Gate::add`]).
    #[inline]
    pub(crate) fn add_copies(&self, n: u64) {
        self.gate.add(n);
    }

    /// Finish `n` units of work. If this brings the count to zero while the
    /// gate drains, the gate closes and the routing loops are woken; at
    /// zero, anyone waiting in [`quiescent`](Self::quiescent) is woken.
    #[inline]
    pub(crate) fn release(&self, n: u64) {
        let released = self.gate.release(n);
        if released.closed {
            self.on_closed();
        }
        if released.idle {
            self.wake_idle();
        }
    }

    /// The count reached zero: wake the waiters of `quiescent`, if any.
    #[cold]
    fn wake_idle(&self) {
        // SeqCst, with the waiter's SeqCst increment before its count
        // check: either the waiter sees the zero, or this sees the waiter.
        fence(Ordering::SeqCst);
        if self.idle.waiters.load(Ordering::SeqCst) > 0 {
            self.idle.notify.notify_waiters();
        }
    }

    /// Resolves once nothing accepted is still unhandled (the in-flight
    /// count is zero), at once if that is so now. No timer, no polling: it
    /// is woken by the release that reaches zero.
    #[cfg(feature = "test-harness")]
    pub(crate) async fn quiescent(&self) {
        loop {
            let notified = self.idle.notify.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            self.idle.waiters.fetch_add(1, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            let idle = self.gate.in_flight() == 0;
            if !idle {
                notified.await;
            }
            self.idle.waiters.fetch_sub(1, Ordering::SeqCst);
            if idle || self.gate.in_flight() == 0 {
                return;
            }
        }
    }

    /// Units accepted and not yet finished.
    pub(crate) fn in_flight(&self) -> u64 {
        self.gate.in_flight()
    }

    /// The wait-for graph of the gate's blocked publishers.
    pub(crate) fn waits(&self) -> &WaitGraph {
        &self.waits
    }

    /// What a publish that closes a cycle does.
    pub(crate) fn cycle_policy(&self) -> CyclePolicy {
        self.cycle_policy
    }

    // --- State ---------------------------------------------------------------

    /// Whether nothing has asked to stop yet: `step()` may run.
    #[inline]
    pub(crate) fn is_open(&self) -> bool {
        self.gate.state() == OPEN
    }

    /// Whether a shutdown has started. Read from the gate, so it is true for
    /// anyone who has seen a publish refused (invariant 3).
    #[inline]
    pub(crate) fn is_stopping(&self) -> bool {
        self.gate.state() != OPEN
    }

    /// Whether the gate has closed: nothing more is admitted.
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.gate.state() == CLOSED
    }

    /// Whether the deadline (or a second signal) escalated the shutdown.
    #[inline]
    pub(crate) fn is_escalated(&self) -> bool {
        self.signals.escalated_flag.load(Ordering::Acquire)
    }

    /// Whether a second signal asked to abort without grace.
    pub(crate) fn abort_now(&self) -> bool {
        self.signals.abort_now.load(Ordering::Acquire)
    }

    // --- Stopping ------------------------------------------------------------

    /// Start the shutdown, or do nothing if it has started already. Never
    /// shortens a drain in progress.
    pub(crate) fn request_stop(&self) {
        let outcome = self.gate.request_stop();
        if outcome.first {
            self.times.lock().stop_requested = Some(Instant::now());
            self.waits.on_stop();
            self.signals.stopping.cancel();
        }
        if outcome.closed_now {
            self.on_closed();
        }
    }

    /// A second signal: skip the rest of the drain and the grace, and abort
    /// what is still running.
    pub(crate) fn escalate(&self) {
        self.request_stop();
        self.signals.abort_now.store(true, Ordering::Release);
        self.mark_escalated();
    }

    /// The deadline passed (or a second signal came): close the gate for
    /// everyone, whatever is in flight, and make the actors abandon what is
    /// left in their mailboxes.
    pub(crate) fn close_at_deadline(&self) {
        if self.gate.force_close() {
            self.on_closed();
        }
        self.mark_escalated();
    }

    /// Invariant 2: the flag first, then the token.
    fn mark_escalated(&self) {
        self.signals.escalated_flag.store(true, Ordering::Release);
        self.signals.escalated.cancel();
    }

    /// The gate has just reached `CLOSED`; exactly one caller gets here
    /// (invariant 1).
    fn on_closed(&self) {
        self.times
            .lock()
            .gate_closed
            .get_or_insert_with(Instant::now);
        self.signals.closed.cancel();
    }

    /// An actor failed for good: wake the coordinator, which stops
    /// everything if the settings say so.
    pub(crate) fn notify_failure(&self) {
        self.signals.failure.notify_one();
    }

    /// Whether an actor failing for good stops everything behind the gate.
    pub(crate) fn stop_on_failure(&self) -> bool {
        self.stop_on_failure
    }

    // --- Waiting -------------------------------------------------------------

    /// Resolves at the first stop request. Owned, for `Context::stopping`
    /// and the handles.
    pub(crate) fn stopping_owned(&self) -> impl Future<Output = ()> + Send + 'static {
        self.signals.stopping.clone().cancelled_owned()
    }

    /// Resolves at the first stop request.
    pub(crate) fn stopping(&self) -> impl Future<Output = ()> + Send + '_ {
        self.signals.stopping.cancelled()
    }

    /// Resolves when the gate has closed.
    pub(crate) fn closed(&self) -> impl Future<Output = ()> + Send + '_ {
        self.signals.closed.cancelled()
    }

    /// Resolves when the shutdown escalated (deadline or second signal).
    pub(crate) fn escalated(&self) -> impl Future<Output = ()> + Send + '_ {
        self.signals.escalated.cancelled()
    }

    /// Resolves at the next actor failure (or at once for one that came
    /// while nobody waited: the signal keeps one).
    pub(crate) fn failure(&self) -> impl Future<Output = ()> + Send + '_ {
        self.signals.failure.notified()
    }

    // --- The deadline --------------------------------------------------------

    pub(crate) fn stop_requested_at(&self) -> Option<Instant> {
        self.times.lock().stop_requested
    }

    pub(crate) fn gate_closed_at(&self) -> Option<Instant> {
        self.times.lock().gate_closed
    }

    pub(crate) fn shutdown_timeout(&self) -> Duration {
        self.timeout
    }

    pub(crate) fn shutdown_grace(&self) -> Duration {
        self.grace
    }
}
