//! The supervisor: its public API, from registering actors to the report of
//! its shutdown.
//!
//! A [`Supervisor`] goes through three states: *setting up* (actors are
//! registered; publishes wait in the supervisor's channel), *started*
//! (actors and routing loops run) and *stopped* (the shutdown has finished
//! and its report is stored). The wiring behind registration and `start()`
//! lives in `internal::wiring`, the shutdown in `internal::coordinator`;
//! this module only checks the caller's input and calls them.

use std::{borrow::Cow, fmt, sync::Arc};

use crate::{
    Actor, ActorBuilder, ActorConfig, ActorId, AddError, Context, DeadLetters, DefaultTopic, Error,
    Event, IntoEnvelope, RestartPolicy, Result, SendError, ShutdownReport, Subscribe,
    SupervisorConfig, SupervisorHandle, Topic,
    internal::{
        actor_loop::Rebuild,
        coordinator::{self, Coordinator, Intake},
        dead::DeadSink,
        outbox::Outbox,
        publish::Publisher,
        shared::Shared,
        watch::Watch,
        wiring::{Prepared, Registry},
    },
    subscribe::Subscription,
};

/// Owns a set of actors, the broker that connects them, and their shutdown.
///
/// Register actors with [`add_actor`](Self::add_actor) or
/// [`build_actor`](Self::build_actor), [`start`](Self::start), publish with
/// [`send`](Self::send) (or through a [`handle`](Self::handle)), and end with
/// [`stop`](Self::stop) or [`shutdown`](Self::shutdown). The terminal
/// methods take the supervisor by value.
///
/// The shutdown is described in the [`shutdown`](crate::shutdown) module:
/// it loses no accepted event, accepts nothing after the stop, and returns
/// within the configured timeout plus grace.
///
/// Dropping a started supervisor without stopping it leaves its actors
/// running (like dropping a `JoinHandle`); a [`SupervisorHandle`] can still
/// stop them.
///
/// Topics may name several brokers ([`Topic::broker`]); to stop several
/// supervisors as one, add them to a [`ShutdownGroup`](crate::ShutdownGroup).
///
/// # Faults while running
///
/// A failing actor (see [`Actor`]'s docs) is rebuilt if it was registered
/// with [`add_restartable`](Self::add_restartable); one that fails for good
/// stops the supervisor by default
/// ([`SupervisorConfig::with_stop_on_failure`]). Every copy of an event that
/// a subscriber will never handle can be taken back with
/// [`dead_letters`](Self::dead_letters). Actors can be added and stopped
/// while it runs, through a handle
/// ([`SupervisorHandle::add_actor`], [`SupervisorHandle::stop_actor`]).
///
/// # Examples
///
/// ```
/// use maiko_core::{Actor, DefaultTopic, Envelope, Event, Result, Supervisor};
///
/// #[derive(Clone, Debug)]
/// struct Greeting(String);
/// impl Event for Greeting {}
///
/// struct Greeter;
/// impl Actor for Greeter {
///     type Event = Greeting;
///     async fn handle_event(&mut self, envelope: &Envelope<Greeting>) -> Result {
///         println!("hello, {}", envelope.event().0);
///         Ok(())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result {
/// let mut sup = Supervisor::<Greeting>::default();
/// sup.add_actor("greeter", |_ctx| Greeter, [DefaultTopic])?;
/// sup.start().await?;
/// sup.send(Greeting("world".into())).await?;
/// sup.stop().await // the greeting is handled before this returns
/// # }
/// ```
pub struct Supervisor<E: Event, T: Topic<E> = DefaultTopic> {
    config: SupervisorConfig,
    /// The first unusable setting, returned by every fallible call.
    config_error: Option<Error>,
    shared: Arc<Shared>,
    id: ActorId,
    outbox: Arc<Outbox<E>>,
    /// The actors: registered before `start()`, and added or stopped
    /// while it runs (shared with the handles).
    registry: Arc<Registry<E, T>>,
    /// Where the events that a subscriber will never handle go.
    dead: Arc<DeadSink<E>>,
    /// Whether a group took the setup (then dropping the supervisor must
    /// not discard it).
    in_group: bool,
    #[cfg(feature = "monitoring")]
    monitors: crate::monitoring::MonitorRegistry<E, T>,
    /// Who subscribes to what, for [`to_json`](Self::to_json).
    #[cfg(feature = "serde")]
    subscriptions: Vec<(ActorId, Subscription<T>)>,
}

fn topic_name<E: Event, T: Topic<E>>(event: &E) -> Cow<'static, str> {
    T::from_event(event).name()
}

impl<E: Event, T: Topic<E>> Supervisor<E, T> {
    /// A supervisor with these settings.
    ///
    /// An unusable setting (see [`SupervisorConfig::validate`]) does not
    /// panic here: it is logged at once (at error level, naming the
    /// setting), and returned as an error by every fallible call after it
    /// (`add_actor`, `start`, `send`, `join`, `run`, `stop`). Use
    /// [`try_new`](Self::try_new) to get it here, as a `Result`.
    #[must_use]
    pub fn new(config: SupervisorConfig) -> Self {
        let config_error = config.validate().err();
        if let Some(error) = &config_error {
            tracing::error!(%error, "unusable supervisor settings: every call on this supervisor will return this error");
        }
        let shared = Arc::new(Shared::new(&config));
        let id = ActorId::new("supervisor");
        let watch = Watch::new(
            config.monitoring_channel_capacity(),
            shared.books().report().finished_token(),
        );
        let dead = Arc::new(DeadSink::new());
        let (registry, outbox) = Registry::new(
            &config,
            Arc::clone(&shared),
            id.clone(),
            watch.clone(),
            Arc::clone(&dead),
        );
        Self {
            config,
            config_error,
            shared,
            id,
            outbox,
            registry,
            dead,
            in_group: false,
            #[cfg(feature = "monitoring")]
            monitors: crate::monitoring::MonitorRegistry::new(Arc::clone(watch.hub())),
            #[cfg(feature = "serde")]
            subscriptions: Vec::new(),
        }
    }

    /// A supervisor with these settings, or the first unusable one.
    ///
    /// # Errors
    ///
    /// [`Error::ZeroCapacity`] or [`Error::InvalidConfig`].
    pub fn try_new(config: SupervisorConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self::new(config))
    }

    /// Register an actor built by `factory`, subscribed to `topics`.
    ///
    /// To add an actor after [`start`](Self::start), use a handle:
    /// [`SupervisorHandle::add_actor`].
    ///
    /// # Errors
    ///
    /// [`Error::EmptyActorName`], [`Error::DuplicateActorName`],
    /// [`Error::BrokerAlreadyStarted`] after [`start`](Self::start), or the
    /// configuration error of [`new`](Self::new). The factory is not called
    /// then.
    pub fn add_actor<A, F, S>(&mut self, name: &str, factory: F, topics: S) -> Result<ActorId>
    where
        A: Actor<Event = E>,
        F: FnOnce(Context<E>) -> A,
        S: Into<Subscribe<E, T>>,
    {
        self.usable()?;
        let prepared = self.registry.prepare(name, factory)?;
        let config = ActorConfig::new(&self.config);
        self.register(prepared, &topics.into().0, config, None)
    }

    /// Register an actor that is rebuilt after a failure, as `policy` says:
    /// `factory` builds the first instance and every new one, each with
    /// the same [`ActorId`], subscriptions and mailbox, so nothing queued
    /// for it is lost and the order per publisher holds. The failed
    /// instance's `on_shutdown` runs before it is dropped; the event whose
    /// handling failed is handed to the new instance first (see
    /// [`RestartPolicy::retry_event`]). Every instance whose `on_start`
    /// succeeded gets exactly one `on_shutdown`.
    ///
    /// When the budget is exhausted the actor fails for good, as one
    /// registered with [`add_actor`](Self::add_actor) does on its first
    /// failure (see [`SupervisorConfig::with_stop_on_failure`]). A restart
    /// during the shutdown drain happens too, within the deadline; at the
    /// deadline no more restarts are made. The report counts the restarts
    /// ([`ActorReport::restarts`](crate::ActorReport::restarts)), and each
    /// is logged at warn level with its error.
    ///
    /// # Errors
    ///
    /// As [`add_actor`](Self::add_actor).
    pub fn add_restartable<A, F, S>(
        &mut self,
        name: &str,
        mut factory: F,
        topics: S,
        policy: RestartPolicy,
    ) -> Result<ActorId>
    where
        A: Actor<Event = E>,
        F: FnMut(Context<E>) -> A + Send + 'static,
        S: Into<Subscribe<E, T>>,
    {
        self.usable()?;
        let prepared = self.registry.prepare(name, &mut factory)?;
        let rebuild = Rebuild::new(Box::new(factory), prepared.ctx.clone(), policy);
        let config = ActorConfig::new(&self.config);
        self.register(prepared, &topics.into().0, config, Some(rebuild))
    }

    /// Start registering an actor with its own settings; finish with
    /// [`ActorBuilder::build`], which reports any error.
    ///
    /// The name is checked first, as by [`add_actor`](Self::add_actor): if
    /// it is refused, the factory is not called and `build` returns the
    /// error.
    pub fn build_actor<A, F>(&mut self, name: &str, factory: F) -> ActorBuilder<'_, E, T, A>
    where
        A: Actor<Event = E>,
        F: FnOnce(Context<E>) -> A,
    {
        let prepared = self
            .usable()
            .and_then(|()| self.registry.prepare(name, factory));
        let config = ActorConfig::new(&self.config);
        ActorBuilder::new(self, name, prepared, config)
    }

    pub(crate) fn register<A: Actor<Event = E>>(
        &mut self,
        prepared: Prepared<E, A>,
        topics: &Subscription<T>,
        config: ActorConfig,
        rebuild: Option<Rebuild<A>>,
    ) -> Result<ActorId> {
        let id = self.setting_up(|setup| setup.register(prepared, topics, config, rebuild))?;
        #[cfg(feature = "serde")]
        self.subscriptions.push((id.clone(), topics.clone()));
        Ok(id)
    }

    /// The configuration error, if there is one.
    fn usable(&self) -> Result {
        match &self.config_error {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    /// Run `f` on the setup, while actors can still be registered here.
    fn setting_up<R>(
        &mut self,
        f: impl FnOnce(&mut crate::internal::wiring::Setup<E, T>) -> Result<R>,
    ) -> Result<R> {
        self.usable()?;
        self.registry.setting_up(f)
    }

    /// Take the supervisor's dead letters: every copy of an event that a
    /// subscriber it was routed to will never handle (see [`DeadLetters`]
    /// for the reasons, and what the queue costs). Call it before
    /// [`start`](Self::start), once; take the letters from a task of your
    /// own, for as long as the supervisor runs: `recv` returns `None` once
    /// it has finished stopping and every letter was taken.
    ///
    /// Without a taker, those copies are only counted in the report (and
    /// the first of each actor is logged at warn level).
    ///
    /// # Errors
    ///
    /// [`Error::BrokerAlreadyStarted`] after the start,
    /// [`Error::DeadLettersTaken`] the second time, or the configuration
    /// error of [`new`](Self::new).
    pub fn dead_letters(&mut self) -> Result<DeadLetters<E>> {
        self.usable()?;
        if !self.registry.is_setting_up() {
            return Err(Error::BrokerAlreadyStarted);
        }
        self.dead
            .take(self.shared.books().report().finished_token())
    }

    /// Start the actors and the broker, and return at once.
    ///
    /// Must be called from within a tokio runtime.
    ///
    /// # Errors
    ///
    /// [`Error::BrokerAlreadyStarted`] if called twice, or the configuration
    /// error of [`new`](Self::new).
    pub async fn start(&mut self) -> Result {
        self.usable()?;
        if !self.registry.is_setting_up() {
            return Err(Error::BrokerAlreadyStarted);
        }
        let (intake, arrivals) = Intake::new();
        let member = self.registry.launch(Arc::clone(&intake), 0);
        Coordinator::spawn_solo(member, intake, arrivals);
        Ok(())
    }

    /// [`start`](Self::start), unless it has been called already.
    async fn start_unless_started(&mut self) -> Result {
        if self.registry.is_setting_up() {
            self.start().await?;
        }
        Ok(())
    }

    /// Publish an event as the supervisor.
    ///
    /// Before [`start`](Self::start) the event waits in the supervisor's
    /// channel (and this call waits for room once that is full).
    ///
    /// # Errors
    ///
    /// [`Error::Stopping`] once a shutdown has started (the event reached no
    /// one; use [`publish`](Self::publish) to get it back), or the
    /// configuration error of [`new`](Self::new).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes, the event
    /// was not published.
    pub async fn send<IE: Into<IntoEnvelope<E>>>(&self, event: IE) -> Result {
        let (event, parent) = event.into().into_parts();
        self.usable()?;
        self.publisher()
            .publish(event, parent)
            .await
            .map(drop)
            .map_err(Into::into)
    }

    /// Publish an event as the supervisor; if it is refused, get it back
    /// inside the error.
    ///
    /// # Errors
    ///
    /// A [`SendError`] with the event, as for [`send`](Self::send).
    ///
    /// # Cancel safety
    ///
    /// As [`send`](Self::send).
    pub async fn publish(&self, event: E) -> std::result::Result<(), SendError<E>> {
        if let Err(error) = self.usable() {
            return Err(SendError::new(error, event));
        }
        self.publisher().publish(event, None).await.map(drop)
    }

    /// Publish as [`publish`](Self::publish) does, and get a
    /// [`Delivery`](crate::Delivery) that resolves once every subscriber
    /// has handled the event (see
    /// [`SupervisorHandle::send_tracked`]).
    ///
    /// # Errors
    ///
    /// As [`publish`](Self::publish).
    ///
    /// # Cancel safety
    ///
    /// As [`send`](Self::send).
    pub async fn send_tracked(
        &self,
        event: E,
    ) -> std::result::Result<crate::Delivery, SendError<E>> {
        if let Err(error) = self.usable() {
            return Err(SendError::new(error, event));
        }
        self.publisher().publish_tracked(event, None).await
    }

    fn publisher(&self) -> Publisher<'_, E> {
        Publisher::outside(&self.shared, &self.outbox, &self.id, topic_name::<E, T>)
    }

    /// A cloneable handle to publish and to stop this supervisor from
    /// anywhere (an HTTP handler, a signal task).
    pub fn handle(&self) -> SupervisorHandle<E> {
        SupervisorHandle::new(
            Arc::clone(&self.shared),
            Arc::clone(&self.outbox),
            self.id.clone(),
            topic_name::<E, T>,
            Arc::clone(&self.registry) as _,
        )
    }

    /// Start (unless started) and wait until the runtime stops: a stop
    /// request ([`Context::stop_runtime`], a handle), every actor having
    /// stopped itself (counting only once an actor has run, so a supervisor
    /// started with no actors runs until it is stopped or until the actors
    /// added to it later have all stopped themselves; actors stopped with
    /// [`SupervisorHandle::stop_actor`] do not count), or an actor failing
    /// for good, which stops the rest unless
    /// [`SupervisorConfig::with_stop_on_failure`] says otherwise (the same
    /// under [`run`](Self::run) and [`run_until_signal`](Self::run_until_signal)).
    /// Then drain as [`stop`](Self::stop) does.
    ///
    /// # Errors
    ///
    /// As [`stop`](Self::stop), or a [`start`](Self::start) error.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future does not stop the runtime; a shutdown already
    /// started goes on to its end.
    pub async fn join(mut self) -> Result {
        self.start_unless_started().await?;
        self.shared
            .books()
            .report()
            .read(ShutdownReport::result)
            .await
    }

    /// [`start`](Self::start), then [`join`](Self::join).
    ///
    /// # Errors
    ///
    /// As [`join`](Self::join).
    pub async fn run(mut self) -> Result {
        self.start().await?;
        self.join().await
    }

    /// Stop: refuse new work, drain everything accepted, run every
    /// `on_shutdown`, and return when all tasks have ended.
    ///
    /// Works in any state: before [`start`](Self::start) it starts the
    /// actors only to drain what [`send`](Self::send) already accepted, and
    /// returns at once if there is nothing.
    ///
    /// # Errors
    ///
    /// The first actor failure as [`Error::ActorFailed`] (a handler error
    /// `on_error` propagated, a panic, a mailbox overflow under
    /// `OverflowPolicy::Fail`), or [`Error::ShutdownTimedOut`] if the
    /// deadline was hit. Use [`shutdown`](Self::shutdown) for the full
    /// [`ShutdownReport`]. The configuration error of [`new`](Self::new)
    /// if the settings were unusable (nothing was started or accepted).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future does not abandon the shutdown: it runs to its end
    /// in its own task, and a [`SupervisorHandle::stopped`] still sees it.
    pub async fn stop(mut self) -> Result {
        self.usable()?;
        if !self.request_stop_and_start().await {
            return coordinator::report_of_nothing(&self.shared).into_result();
        }
        // The verdict is read from the report in the books, not a copy.
        self.shared
            .books()
            .report()
            .read(ShutdownReport::result)
            .await
    }

    /// Stop as [`stop`](Self::stop) does and return the full report.
    ///
    /// # Cancel safety
    ///
    /// As [`stop`](Self::stop).
    pub async fn shutdown(mut self) -> ShutdownReport {
        if !self.request_stop_and_start().await {
            return coordinator::report_of_nothing(&self.shared);
        }
        self.shared.books().report().wait().await
    }

    /// Request the stop and start unless started; `false` if the settings
    /// were unusable (nothing was started or accepted).
    async fn request_stop_and_start(&mut self) -> bool {
        self.shared.protocol().request_stop();
        self.start_unless_started().await.is_ok()
    }

    /// Start (unless started), run until SIGINT or SIGTERM (ctrl-c on other
    /// platforms) or until the runtime stops by itself, then drain. A second
    /// signal during the drain skips straight to the abort step.
    ///
    /// A service's `main` can end with
    /// `std::process::exit(if report.is_clean() { 0 } else { 1 })`.
    ///
    /// # Cancel safety
    ///
    /// As [`stop`](Self::stop).
    pub async fn run_until_signal(mut self) -> ShutdownReport {
        // Listen before anything starts, so no signal can slip past.
        let signals = crate::signal::Signals::install();
        if self.start_unless_started().await.is_err() {
            return self.shutdown().await;
        }
        self.handle()
            .control()
            .until_signal(signals, "the supervisor")
            .await;
        self.shutdown().await
    }

    /// The settings.
    pub fn config(&self) -> &SupervisorConfig {
        &self.config
    }

    /// The monitors watching this supervisor's event flow (feature
    /// `monitoring`; see [`monitoring`](crate::monitoring)).
    #[cfg(feature = "monitoring")]
    pub fn monitors(&mut self) -> &mut crate::monitoring::MonitorRegistry<E, T> {
        &mut self.monitors
    }

    /// Join the group whose gate is `root`: link this supervisor's shared
    /// state to it and hand over what `start()` would launch, with a handle.
    /// Refused (and the supervisor handed back) if its configuration is
    /// unusable, it has started, it was stopped, or it has accepted events.
    pub(crate) fn join_group(
        mut self,
        root: &Arc<Shared>,
        turn: Option<tokio_util::sync::CancellationToken>,
    ) -> std::result::Result<Joined<E, T>, AddError<E, T>> {
        if let Err(error) = self.usable() {
            return Err(AddError::new(error, self));
        }
        if !self.registry.is_setting_up() {
            let error = Error::unusable_member("it has already started");
            return Err(AddError::new(error, self));
        }
        if let Err(reason) = self.shared.join_group(Arc::clone(root), turn) {
            return Err(AddError::new(Error::unusable_member(reason), self));
        }
        self.in_group = true;
        Ok((self.handle(), Arc::clone(&self.registry)))
    }
}

#[cfg(feature = "serde")]
impl<E: Event, T: Topic<E> + crate::Label> Supervisor<E, T> {
    /// Who subscribes to what, as pretty JSON (feature `serde`): an array
    /// with one object per actor, in registration order, with its
    /// `actor_id` and its `subscriptions`, the sorted labels of its topics.
    /// An actor subscribed to everything lists every topic some actor
    /// subscribes to by name.
    ///
    /// # Errors
    ///
    /// A `serde_json` error (none is expected for these values).
    pub fn to_json(&self) -> serde_json::Result<String> {
        #[derive(serde::Serialize)]
        struct Actor {
            actor_id: String,
            subscriptions: Vec<String>,
        }
        let named: std::collections::BTreeSet<String> = self
            .subscriptions
            .iter()
            .filter_map(|(_, s)| match s {
                Subscription::Topics(topics) => Some(topics),
                _ => None,
            })
            .flatten()
            .map(|t| t.label().into_owned())
            .collect();
        let actors: Vec<Actor> = self
            .subscriptions
            .iter()
            .map(|(id, subscription)| {
                let mut subscriptions: Vec<String> = match subscription {
                    Subscription::All => named.iter().cloned().collect(),
                    Subscription::None => Vec::new(),
                    Subscription::Topics(topics) => {
                        topics.iter().map(|t| t.label().into_owned()).collect()
                    }
                };
                subscriptions.sort();
                Actor {
                    actor_id: id.to_string(),
                    subscriptions,
                }
            })
            .collect();
        serde_json::to_string_pretty(&actors)
    }
}

/// A supervisor that joined a group: its handle, and what its group will
/// launch.
pub(crate) type Joined<E, T> = (SupervisorHandle<E>, Arc<Registry<E, T>>);

impl<E: Event, T: Topic<E>> Drop for Supervisor<E, T> {
    fn drop(&mut self) {
        // Dropped before it started: its channels close, so a handle's
        // publish is refused rather than accepted into a channel no one
        // will ever read.
        if !self.in_group {
            self.registry.discard();
        }
    }
}

impl<E: Event, T: Topic<E>> Default for Supervisor<E, T> {
    fn default() -> Self {
        Self::new(SupervisorConfig::default())
    }
}

impl<E: Event, T: Topic<E>> fmt::Debug for Supervisor<E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Supervisor");
        d.field("actors", &self.registry.names())
            .field("started", &!self.registry.is_setting_up());
        d.field("stopping", &self.shared.protocol().is_stopping())
            .finish_non_exhaustive()
    }
}
