//! Several supervisors stopped as one: [`ShutdownGroup`].

use std::{fmt, sync::Arc, time::Duration};

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::{
    Error, Event, Result, ShutdownReport, Supervisor, SupervisorConfig, SupervisorHandle, Topic,
    internal::{
        control::StopControl,
        coordinator::{Coordinator, Intake, MemberTasks},
        shared::Shared,
        slot::ReportSlot,
        wiring::Registry,
    },
};

/// What the group needs of a member until it starts: its launch. Members
/// have different event and topic types, hence the trait object.
trait Member: Send + Sync {
    fn launch(self: Arc<Self>, intake: Arc<Intake>, member: usize) -> MemberTasks;

    /// The group is dropped without having started: close the member's
    /// channels, so that its handles' publishes are refused.
    fn discard(&self);
}

impl<E: Event, T: Topic<E>> Member for Registry<E, T> {
    fn launch(self: Arc<Self>, intake: Arc<Intake>, member: usize) -> MemberTasks {
        Registry::launch(&self, intake, member)
    }

    fn discard(&self) {
        Registry::discard(self);
    }
}

/// What a group and its handles share.
#[derive(Debug)]
struct GroupCore {
    /// The gate of every member.
    root: Arc<Shared>,
    /// The members' own shared states, in the order they were added.
    members: Mutex<Vec<(String, Arc<Shared>)>>,
    report: Arc<ReportSlot<GroupReport>>,
}

/// Several supervisors, possibly of different event and topic types, that
/// start together and stop as one, losing nothing that flows between them.
///
/// A service often runs more than one event system (an ingest pipeline and
/// an audit trail, say). Added to a group, they share one stop-gate:
///
/// - **One stop.** A stop request from anywhere (the group, its
///   [`handle`](Self::handle), a signal, any member's handle or any actor's
///   [`Context::stop_runtime`](crate::Context::stop_runtime)) stops every
///   member; from then on a publish from outside into any member is
///   refused with [`Error::Stopping`].
/// - **Nothing lost between members.** A handler passes an event to another
///   member with [`Context::forward`](crate::Context::forward). While the
///   group drains, handlers' publishes and forwards are still admitted
///   (within the drain hop limit, which also ends feedback loops between
///   members), and the gate closes only when every member is quiescent: so
///   every event accepted by any member before the stop, and everything
///   forwarded in response, is handled.
/// - **Order of closing.** Members finish in the order they were added: a
///   member's actors run `on_shutdown` only after every actor of every
///   member added before it has ended. Add the member that holds the
///   database last, and it closes after everything upstream has drained
///   into it.
/// - **One deadline.** The group's shutdown timeout and grace replace the
///   members' own; a stuck member cannot hold the group past them, and the
///   report names the member and the actor.
///
/// A member's handle (returned by [`add`](Self::add)) publishes into it and
/// sees its own report; the group's report ([`GroupReport`]) has them all.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use maiko_core::{
///     Actor, Context, DefaultTopic, Envelope, Event, Result, ShutdownGroup, Supervisor,
///     SupervisorHandle,
/// };
///
/// #[derive(Clone, Debug)]
/// struct Order(u64);
/// impl Event for Order {}
///
/// #[derive(Clone, Debug)]
/// struct Audit(String);
/// impl Event for Audit {}
///
/// /// Books orders and tells the audit trail.
/// struct Ledger {
///     ctx: Context<Order>,
///     audit: SupervisorHandle<Audit>,
/// }
///
/// impl Actor for Ledger {
///     type Event = Order;
///     async fn handle_event(&mut self, envelope: &Envelope<Order>) -> Result {
///         let note = Audit(format!("booked order {}", envelope.event().0));
///         self.ctx.forward(&self.audit, note).await?;
///         Ok(())
///     }
/// }
///
/// struct Trail;
/// impl Actor for Trail {
///     type Event = Audit;
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result {
/// let mut group = ShutdownGroup::new().with_shutdown_timeout(Duration::from_secs(20));
///
/// let mut audit = Supervisor::<Audit>::default();
/// audit.add_actor("trail", |_| Trail, [DefaultTopic])?;
///
/// // The ingest side forwards into the audit trail, so the trail is added
/// // after it: it runs its `on_shutdown` after the ingest side has finished.
/// let mut ingest = Supervisor::<Order>::default();
/// let audit_handle = audit.handle();
/// ingest.add_actor("ledger", move |ctx| Ledger { ctx, audit: audit_handle }, [DefaultTopic])?;
///
/// let orders = group.add("ingest", ingest);
/// let _audit = group.add("audit", audit);
/// group.start().await?;
///
/// orders.send(Order(1)).await?;
/// let report = group.shutdown().await;
/// assert!(report.is_clean(), "{report}");
/// assert_eq!(report.member("audit").unwrap().actor("trail").unwrap().handled, 1);
/// # Ok(())
/// # }
/// ```
pub struct ShutdownGroup {
    config: SupervisorConfig,
    core: Arc<GroupCore>,
    /// Added and not yet started, in order. Behind a mutex only so the group
    /// is `Sync` (a member's actor futures are `Send` but not `Sync`); every
    /// access has `&mut self`.
    pending: Mutex<Vec<Arc<dyn Member>>>,
    /// The first error of a call that could not be carried out, returned by
    /// `start` and `stop` and shown in the report.
    error: Option<Error>,
    started: bool,
}

impl ShutdownGroup {
    /// An empty group, with the shutdown timeout (30 s), grace (1 s) and
    /// drain hop limit (32) of a default [`SupervisorConfig`].
    #[must_use]
    pub fn new() -> Self {
        Self::from_config(SupervisorConfig::default())
    }

    fn from_config(config: SupervisorConfig) -> Self {
        Self {
            core: Arc::new(GroupCore {
                root: Arc::new(Shared::new(&config)),
                members: Mutex::new(Vec::new()),
                report: Arc::new(ReportSlot::new()),
            }),
            config,
            pending: Mutex::new(Vec::new()),
            error: None,
            started: false,
        }
    }

    /// Change the group's settings: only before any supervisor is added and
    /// any handle is taken (they hold the gate); later, the change is
    /// refused and `start` returns [`Error::InvalidConfig`].
    fn configure(mut self, change: impl FnOnce(SupervisorConfig) -> SupervisorConfig) -> Self {
        if Arc::strong_count(&self.core) == 1 && self.core.members.lock().is_empty() {
            let error = self.error.take();
            let config = std::mem::take(&mut self.config);
            self = Self::from_config(change(config));
            self.error = error;
        } else {
            self.error.get_or_insert(Error::InvalidConfig(
                "configure a ShutdownGroup before adding supervisors or taking a handle",
            ));
        }
        self
    }

    /// How long the whole group may drain before the shutdown escalates
    /// (see [`SupervisorConfig::with_shutdown_timeout`]); it replaces the
    /// members' own timeouts. Set it before adding supervisors.
    #[must_use]
    pub fn with_shutdown_timeout(self, timeout: Duration) -> Self {
        self.configure(|c| c.with_shutdown_timeout(timeout))
    }

    /// How long actors still running at the deadline get before they are
    /// aborted (see [`SupervisorConfig::with_shutdown_grace`]). Set it
    /// before adding supervisors.
    #[must_use]
    pub fn with_shutdown_grace(self, grace: Duration) -> Self {
        self.configure(|c| c.with_shutdown_grace(grace))
    }

    /// The drain hop limit of the group's gate (see
    /// [`SupervisorConfig::with_drain_hop_limit`]): it bounds chains of
    /// handler publishes and forwards across members after the stop. Set it
    /// before adding supervisors.
    #[must_use]
    pub fn with_drain_hop_limit(self, limit: u32) -> Self {
        self.configure(|c| c.with_drain_hop_limit(limit))
    }

    /// Strict shutdown for the whole group (see
    /// [`SupervisorConfig::with_strict_shutdown`]). Set it before adding
    /// supervisors.
    #[must_use]
    pub fn with_strict_shutdown(self, strict: bool) -> Self {
        self.configure(|c| c.with_strict_shutdown(strict))
    }

    /// Whether an actor of any member failing for good stops the whole
    /// group (default `true`); see
    /// [`SupervisorConfig::with_stop_on_failure`].
    #[must_use]
    pub fn with_stop_on_failure(self, stop: bool) -> Self {
        self.configure(|config| config.with_stop_on_failure(stop))
    }

    /// Add a supervisor, not yet started, under `name`; returns its handle.
    ///
    /// Members finish in the order they are added (see the type's docs).
    /// Events sent through the handle before [`start`](Self::start) wait in
    /// the member's channel, as with [`Supervisor::send`].
    ///
    /// If the supervisor cannot be added (see [`try_add`](Self::try_add)),
    /// the error is kept and returned by [`start`](Self::start) and
    /// [`stop`](Self::stop), and the handle returned refuses every publish.
    pub fn add<E: Event, T: Topic<E>>(
        &mut self,
        name: &str,
        supervisor: Supervisor<E, T>,
    ) -> SupervisorHandle<E> {
        match self.try_add(name, supervisor) {
            Ok(handle) => handle,
            Err(refused) => {
                // Dropped with the refused supervisor, its channels refuse
                // every publish through the handle (unless it had started on
                // its own, in which case it runs on as it was).
                let handle = refused.supervisor.handle();
                self.error.get_or_insert(refused.error);
                handle
            }
        }
    }

    /// Add a supervisor as [`add`](Self::add) does, or hand it back.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyMemberName`], [`Error::DuplicateMemberName`],
    /// [`Error::GroupAlreadyStarted`], the supervisor's configuration error,
    /// or [`Error::UnusableMember`] if it has started, was stopped, or has
    /// accepted events. The [`AddError`] holds the supervisor.
    pub fn try_add<E: Event, T: Topic<E>>(
        &mut self,
        name: &str,
        supervisor: Supervisor<E, T>,
    ) -> std::result::Result<SupervisorHandle<E>, AddError<E, T>> {
        let refuse = |error, supervisor| Err(AddError::new(error, supervisor));
        if self.started {
            return refuse(Error::GroupAlreadyStarted, supervisor);
        }
        if name.is_empty() {
            return refuse(Error::EmptyMemberName, supervisor);
        }
        let mut members = self.core.members.lock();
        if members.iter().any(|(n, _)| n == name) {
            return refuse(Error::DuplicateMemberName(name.to_owned()), supervisor);
        }
        // The first member needs no turn: nothing closes before it.
        let turn = (!members.is_empty()).then(CancellationToken::new);
        let (handle, registry) = supervisor.join_group(&self.core.root, turn)?;
        members.push((name.to_owned(), Arc::clone(&handle.shared)));
        self.pending.get_mut().push(registry);
        Ok(handle)
    }

    /// Start every member, in the order they were added, and return at once.
    ///
    /// Must be called from within a tokio runtime.
    ///
    /// # Errors
    ///
    /// The first error of an [`add`](Self::add) or a setting that could not
    /// be carried out (then nothing is started), or
    /// [`Error::GroupAlreadyStarted`] if called twice.
    pub async fn start(&mut self) -> Result {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        if self.started {
            return Err(Error::GroupAlreadyStarted);
        }
        self.launch();
        Ok(())
    }

    /// Launch every member added, and the coordinator of the group.
    fn launch(&mut self) {
        self.started = true;
        let (intake, arrivals) = Intake::new();
        let members: Vec<MemberTasks> = self
            .pending
            .get_mut()
            .drain(..)
            .enumerate()
            .map(|(index, member)| member.launch(Arc::clone(&intake), index))
            .collect();
        let coordinator = Coordinator {
            root: Arc::clone(&self.core.root),
            members,
            intake,
            arrivals,
        };
        let core = Arc::clone(&self.core);
        let timeout = self.config.shutdown_timeout();
        let error = self.error.clone();
        tokio::spawn(async move {
            let outcome = coordinator.run().await;
            let names: Vec<(String, Arc<Shared>)> = core.members.lock().clone();
            let mut members = Vec::with_capacity(names.len());
            for ((name, shared), report) in names.into_iter().zip(outcome.reports) {
                shared.books().report().store(report.clone());
                members.push((name, report));
            }
            let report = GroupReport {
                members,
                unrouted: core.root.protocol().in_flight(),
                deadline_hit: outcome.deadline_hit,
                aborted_by_signal: core.root.protocol().abort_now(),
                timeout,
                total: outcome.total,
                error,
            };
            core.report.store(report);
        });
    }

    /// A cloneable handle to stop the group and wait for its report from
    /// anywhere.
    pub fn handle(&self) -> GroupHandle {
        GroupHandle {
            control: StopControl::new(Arc::clone(&self.core.root), Arc::clone(&self.core.report)),
        }
    }

    /// Stop every member as one: refuse new work, drain everything accepted
    /// by any member and everything forwarded between them, close the
    /// members in the order they were added, and return the report when
    /// every task has ended.
    ///
    /// Works in any state: before [`start`](Self::start) it starts the
    /// members only to drain what their handles already accepted.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future does not abandon the shutdown: it runs to its end
    /// in its own task, and a [`GroupHandle::stopped`] still sees it.
    pub async fn shutdown(mut self) -> GroupReport {
        self.core.root.protocol().request_stop();
        if !self.started {
            self.launch();
        }
        self.handle().stopped().await
    }

    /// Stop as [`shutdown`](Self::shutdown) does and turn the report into a
    /// `Result`.
    ///
    /// # Errors
    ///
    /// As [`GroupReport::into_result`].
    ///
    /// # Cancel safety
    ///
    /// As [`shutdown`](Self::shutdown).
    pub async fn stop(self) -> Result {
        self.shutdown().await.into_result()
    }

    /// Start (unless started), run until SIGINT or SIGTERM (ctrl-c on other
    /// platforms) or until every actor of every member has stopped, then
    /// stop as [`shutdown`](Self::shutdown) does. A second signal during the
    /// drain skips straight to the abort step.
    ///
    /// # Cancel safety
    ///
    /// As [`shutdown`](Self::shutdown).
    pub async fn run_until_signal(mut self) -> GroupReport {
        let signals = crate::signal::Signals::install();
        if !self.started {
            self.launch();
        }
        self.handle()
            .control
            .until_signal(signals, "the group")
            .await;
        self.shutdown().await
    }
}

impl Drop for ShutdownGroup {
    fn drop(&mut self) {
        for member in self.pending.get_mut().drain(..) {
            member.discard();
        }
    }
}

impl Default for ShutdownGroup {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ShutdownGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let members: Vec<String> = self
            .core
            .members
            .lock()
            .iter()
            .map(|(name, _)| name.clone())
            .collect();
        f.debug_struct("ShutdownGroup")
            .field("members", &members)
            .field("started", &self.started)
            .field("stopping", &self.core.root.protocol().is_stopping())
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

/// A supervisor a [`ShutdownGroup`] would not take, handed back with the
/// reason.
pub struct AddError<E: Event, T: Topic<E>> {
    error: Error,
    supervisor: Box<Supervisor<E, T>>,
}

impl<E: Event, T: Topic<E>> AddError<E, T> {
    pub(crate) fn new(error: Error, supervisor: Supervisor<E, T>) -> Self {
        Self {
            error,
            supervisor: Box::new(supervisor),
        }
    }

    /// Why the supervisor was not added.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// Take the supervisor back.
    pub fn into_supervisor(self) -> Supervisor<E, T> {
        *self.supervisor
    }

    /// The reason, dropping the supervisor.
    pub fn into_error(self) -> Error {
        self.error
    }
}

impl<E: Event, T: Topic<E>> fmt::Debug for AddError<E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AddError")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<E: Event, T: Topic<E>> fmt::Display for AddError<E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl<E: Event, T: Topic<E>> std::error::Error for AddError<E, T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl<E: Event, T: Topic<E>> From<AddError<E, T>> for Error {
    fn from(refused: AddError<E, T>) -> Self {
        refused.error
    }
}

/// A cloneable handle on a [`ShutdownGroup`]: stop it, and wait for its
/// report, from anywhere.
#[derive(Clone, Debug)]
pub struct GroupHandle {
    control: StopControl<GroupReport>,
}

impl GroupHandle {
    /// Start the shutdown of every member without waiting for it. Any number
    /// of calls, from anywhere, start one shutdown.
    pub fn request_stop(&self) {
        self.control.request_stop();
    }

    /// Listen for SIGINT and SIGTERM (ctrl-c on other platforms) from now
    /// on: the first signal starts the shutdown, a second one aborts the
    /// drain, as under [`ShutdownGroup::run_until_signal`]. Call it at the top of `main`,
    /// before connecting or binding anything, so that a signal during the
    /// setup is not lost (nor fatal: the process no longer dies of it).
    /// A stop requested before the start is kept: starting then drains
    /// what was accepted (nothing, usually) and ends at once, so `main` can
    /// finish its setup and exit cleanly. `run_until_signal` may still be
    /// called afterwards; both listen, and one stop comes of it.
    ///
    /// The listeners are installed before this returns. Must be called
    /// from within a tokio runtime.
    pub fn stop_on_signal(&self) {
        self.control.stop_on_signal("the group");
    }

    /// Whether the group's shutdown has started.
    pub fn is_stopping(&self) -> bool {
        self.control.is_stopping()
    }

    /// Resolves when the group's shutdown starts: for an HTTP server's
    /// graceful shutdown, say.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub fn stopping(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.control.stopping()
    }

    /// Cut the shutdown short, as a second signal does: start it if needed,
    /// skip the rest of the drain and the grace, abandon what is left and
    /// abort what is still running.
    pub fn abort(&self) {
        self.control.abort();
    }

    /// Wait until the group's shutdown has finished and return its report.
    /// Does not start a shutdown by itself.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn stopped(&self) -> GroupReport {
        self.control.stopped().await
    }
}

/// The outcome of a group's shutdown: each member's [`ShutdownReport`], by
/// name, in the order they were added, and what concerns the whole group.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupReport {
    /// Each member's name and report, in the order they were added.
    pub members: Vec<(String, ShutdownReport)>,
    /// Events accepted by any member and never routed because routing
    /// tasks were aborted at the deadline.
    pub unrouted: u64,
    /// Whether the drain was cut short by the deadline or a second signal.
    pub deadline_hit: bool,
    /// Whether it was a second signal that cut the drain short.
    pub aborted_by_signal: bool,
    /// The group's shutdown timeout.
    pub timeout: Duration,
    /// From the stop request until everything had ended.
    pub total: Duration,
    /// The first call on the group that could not be carried out (a
    /// supervisor that could not be added, say).
    pub error: Option<Error>,
}

impl GroupReport {
    /// The report of the member added under `name`.
    pub fn member(&self, name: &str) -> Option<&ShutdownReport> {
        self.members.iter().find(|(n, _)| n == name).map(|(_, r)| r)
    }

    /// `true` when every member's report is clean and every call on the
    /// group was carried out.
    pub fn is_clean(&self) -> bool {
        self.error.is_none() && self.members.iter().all(|(_, r)| r.is_clean())
    }

    /// `Ok` if every call on the group was carried out and no member's
    /// actor failed or was cut off.
    ///
    /// # Errors
    ///
    /// The group's own error first, then the first member's error as
    /// [`ShutdownReport::into_result`] gives it.
    pub fn into_result(self) -> Result {
        if let Some(error) = self.error {
            return Err(error);
        }
        for (_, report) in self.members {
            report.into_result()?;
        }
        Ok(())
    }
}

impl fmt::Display for GroupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.is_clean() {
            "clean"
        } else {
            "NOT clean"
        };
        write!(
            f,
            "group shutdown {verdict} in {:?}, {} members",
            self.total,
            self.members.len()
        )?;
        match (self.deadline_hit, self.aborted_by_signal) {
            (_, true) => write!(f, "; aborted by a second signal")?,
            (true, false) => write!(f, "; deadline of {:?} hit", self.timeout)?,
            (false, false) => {}
        }
        writeln!(f)?;
        writeln!(f, "  events left unrouted: {}", self.unrouted)?;
        if let Some(error) = &self.error {
            writeln!(f, "  error: {error}")?;
        }
        for (name, report) in &self.members {
            writeln!(f, "member '{name}':")?;
            for line in report.to_string().lines() {
                writeln!(f, "  {line}")?;
            }
        }
        Ok(())
    }
}
