use std::{borrow::Cow, fmt, sync::Arc};

use crate::{
    Actor, ActorId, ActorReport, Context, Delivery, Event, RestartPolicy, Result, SendError,
    ShutdownReport, Snapshot, Subscribe, Topic,
    internal::{
        actor_loop::Rebuild,
        control::StopControl,
        outbox::Outbox,
        publish::Publisher,
        shared::Shared,
        wiring::{Registrar, Registry},
    },
};

/// A cloneable handle on a running [`Supervisor`](crate::Supervisor): publish
/// into it and stop it from anywhere, while the supervisor itself is owned
/// elsewhere (for example by `main`, waiting in
/// [`run_until_signal`](crate::Supervisor::run_until_signal)).
///
/// Events sent through a handle are published as the supervisor and pass the
/// same gate: from the moment a shutdown starts they are refused and handed
/// back, and every event accepted before is handled.
///
/// # Examples
///
/// ```
/// use maiko_core::{Actor, DefaultTopic, Event, Supervisor};
///
/// #[derive(Clone, Debug)]
/// struct Request(u32);
/// impl Event for Request {}
/// struct Worker;
/// impl Actor for Worker { type Event = Request; }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> maiko_core::Result {
/// let mut sup = Supervisor::<Request>::default();
/// sup.add_actor("worker", |_| Worker, [DefaultTopic])?;
/// sup.start().await?;
/// let handle = sup.handle();
///
/// handle.send(Request(1)).await.expect("accepted while running");
/// handle.request_stop();
/// let refused = handle.send(Request(2)).await.unwrap_err();
/// assert!(refused.is_stopping());
/// assert_eq!(refused.into_event().0, 2);
///
/// let report = handle.stopped().await;
/// assert_eq!(report.actor("worker").unwrap().handled, 1);
/// # drop(sup);
/// # Ok(())
/// # }
/// ```
pub struct SupervisorHandle<E> {
    pub(crate) shared: Arc<Shared>,
    control: StopControl<ShutdownReport>,
    pub(crate) outbox: Arc<Outbox<E>>,
    pub(crate) id: ActorId,
    /// Names an event's topic, for the report of an actor waiting to
    /// forward into this supervisor.
    pub(crate) topic_name: fn(&E) -> Cow<'static, str>,
    /// The supervisor's actors, to add and stop them.
    registry: Arc<dyn Registrar<E>>,
}

impl<E> Clone for SupervisorHandle<E> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            control: self.control.clone(),
            outbox: Arc::clone(&self.outbox),
            id: self.id.clone(),
            topic_name: self.topic_name,
            registry: Arc::clone(&self.registry),
        }
    }
}

impl<E> SupervisorHandle<E> {
    pub(crate) fn new(
        shared: Arc<Shared>,
        outbox: Arc<Outbox<E>>,
        id: ActorId,
        topic_name: fn(&E) -> Cow<'static, str>,
        registry: Arc<dyn Registrar<E>>,
    ) -> Self {
        let slot = Arc::clone(shared.books().report());
        Self {
            control: StopControl::new(Arc::clone(&shared), slot),
            shared,
            outbox,
            id,
            topic_name,
            registry,
        }
    }

    /// Publish as the supervisor, through the gate.
    ///
    /// # Errors
    ///
    /// A [`SendError`] holding the event if the runtime is stopping
    /// ([`Error::Stopping`](crate::Error::Stopping)): answer 503, retry
    /// elsewhere.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes, the event
    /// was not published.
    pub async fn send(&self, event: E) -> Result<(), SendError<E>> {
        Publisher::outside(&self.shared, &self.outbox, &self.id, self.topic_name)
            .publish(event, None)
            .await
            .map(drop)
    }

    /// Publish as `sender` from outside the actors (the test harness's
    /// `send_as`); returns the event's id.
    #[cfg(feature = "test-harness")]
    pub(crate) async fn publish_as(
        &self,
        sender: &ActorId,
        event: E,
        parent: Option<crate::EventId>,
    ) -> Result<crate::EventId, SendError<E>> {
        Publisher::outside(&self.shared, &self.outbox, sender, self.topic_name)
            .publish(event, parent)
            .await
    }

    /// Publish as [`send`](Self::send) does, and get a [`Delivery`] that
    /// resolves once every subscriber has handled the event, or with what
    /// happened instead (for an HTTP endpoint that answers after the work
    /// is done, or a bridge that acknowledges a message only then).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send): the event handed back if the runtime is
    /// stopping.
    ///
    /// # Cancel safety
    ///
    /// As [`send`](Self::send). Dropping the [`Delivery`] later changes
    /// nothing for the event.
    pub async fn send_tracked(&self, event: E) -> Result<Delivery, SendError<E>> {
        Publisher::outside(&self.shared, &self.outbox, &self.id, self.topic_name)
            .publish_tracked(event, None)
            .await
    }

    pub(crate) fn control(&self) -> &StopControl<ShutdownReport> {
        &self.control
    }

    /// Listen for SIGINT and SIGTERM (ctrl-c on other platforms) from now
    /// on: the first signal starts the shutdown, a second one aborts the
    /// drain, as under [`Supervisor::run_until_signal`](crate::Supervisor::run_until_signal). Call it at the top of `main`,
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
        self.control.stop_on_signal("the supervisor");
    }

    /// Whether a shutdown has started.
    pub fn is_stopping(&self) -> bool {
        self.control.is_stopping()
    }

    /// Start the shutdown without waiting for it. Any number of calls, from
    /// anywhere, start one shutdown; a later call never shortens it.
    pub fn request_stop(&self) {
        self.control.request_stop();
    }

    /// Resolves when a shutdown starts: for an HTTP server's graceful
    /// shutdown, say (`axum::serve(..).with_graceful_shutdown(handle.stopping())`).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub fn stopping(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.control.stopping()
    }

    /// Cut the shutdown short, as a second signal does: start it if needed,
    /// skip the rest of the drain and the grace, abandon what is left and
    /// abort what is still running. The report says so.
    pub fn abort(&self) {
        self.control.abort();
    }

    /// The supervisor's live figures: per actor, what was routed to it,
    /// handled, queued, and its state; cheap enough to poll every second
    /// (see [`Snapshot`]).
    pub fn snapshot(&self) -> Snapshot {
        self.shared.snapshot()
    }

    /// Wait until the shutdown has finished and return its report. Does not
    /// start a shutdown by itself.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn stopped(&self) -> ShutdownReport {
        self.control.stopped().await
    }
}

/// Actors added and stopped while the supervisor runs.
impl<E: Event> SupervisorHandle<E> {
    /// Add an actor built by `factory`, subscribed to `topics`, before or
    /// after the start (while running, say: a session, a tenant, a job).
    ///
    /// Added after the start, the actor receives every event whose publish
    /// starts after this returned `Ok`, and it is part of the drain, the
    /// deadline and the final report like any other. The routing loops
    /// pick up the new routing table at their next batch of events: no
    /// publish takes a lock for it. It gets the supervisor's default
    /// [`ActorConfig`](crate::ActorConfig). `topics` must be of the
    /// supervisor's topic type.
    ///
    /// The factory is called outside every lock, after the name was
    /// checked; it is not called if the name is refused or a stop was
    /// requested. If a stop request (or an add under the same name) comes
    /// while it runs, the actor it built is dropped without being started,
    /// and the error returned.
    ///
    /// # Errors
    ///
    /// [`Error::Stopping`](crate::Error::Stopping) once a stop was requested (the factory is not
    /// called), [`Error::EmptyActorName`](crate::Error::EmptyActorName), [`Error::DuplicateActorName`](crate::Error::DuplicateActorName)
    /// (a name in use, also by an actor that stopped itself; the name of
    /// one stopped with [`stop_actor`](Self::stop_actor) is free again once
    /// that returned), or [`Error::TopicTypeMismatch`](crate::Error::TopicTypeMismatch).
    pub async fn add_actor<A, F, T, S>(&self, name: &str, factory: F, topics: S) -> Result<ActorId>
    where
        A: Actor<Event = E>,
        F: FnOnce(Context<E>) -> A + Send + 'static,
        T: Topic<E>,
        S: Into<Subscribe<E, T>>,
    {
        let registry = Registry::<E, T>::of(self.registry.as_ref())?;
        registry.add(name, &topics.into().0, |ctx| (factory(ctx), None))
    }

    /// Add an actor that is rebuilt after a failure, as `policy` says,
    /// before or after the start: as
    /// [`Supervisor::add_restartable`](crate::Supervisor::add_restartable)
    /// and [`add_actor`](Self::add_actor).
    ///
    /// # Errors
    ///
    /// As [`add_actor`](Self::add_actor).
    pub async fn add_restartable<A, F, T, S>(
        &self,
        name: &str,
        factory: F,
        topics: S,
        policy: RestartPolicy,
    ) -> Result<ActorId>
    where
        A: Actor<Event = E>,
        F: FnMut(Context<E>) -> A + Send + 'static,
        T: Topic<E>,
        S: Into<Subscribe<E, T>>,
    {
        let registry = Registry::<E, T>::of(self.registry.as_ref())?;
        let mut factory = factory;
        registry.add(name, &topics.into().0, move |ctx| {
            let actor = factory(ctx.clone());
            (actor, Some(Rebuild::new(Box::new(factory), ctx, policy)))
        })
    }

    /// Stop one actor of a running supervisor and return its report (also
    /// kept in the final report).
    ///
    /// From the moment this is called, no event is routed to the actor
    /// (a copy already waiting for room in its full mailbox under
    /// `OverflowPolicy::Block` still goes in, and is handled); it handles
    /// everything in its mailbox (the shutdown deadline still bounds it, if
    /// a shutdown comes meanwhile), runs `on_shutdown`, and ends. The rest of the supervisor runs on; if this was its last
    /// actor, it keeps running (unlike an actor stopping itself with
    /// [`Context::stop`](crate::Context::stop), the last of which ends the
    /// supervisor).
    ///
    /// # Errors
    ///
    /// [`Error::ActorNotRunning`](crate::Error::ActorNotRunning) for a name that was never added, an actor
    /// that already stopped (with this method, by itself, or by failing),
    /// or before the start.
    ///
    /// # Cancel safety
    ///
    /// The stop goes on if the future is dropped; the report is then only
    /// in the final report. Must be called from within a tokio runtime.
    pub async fn stop_actor(&self, actor: &ActorId) -> Result<ActorReport> {
        let (cell, ended) = self.registry.retire(actor)?;
        let finished = self.shared.books().report().finished_token();
        let (shared, registry, actor) = (
            Arc::clone(&self.shared),
            Arc::clone(&self.registry),
            actor.clone(),
        );
        // In a task of its own, so that the books are kept (the report, the
        // name freed) also if this future is dropped.
        let books = tokio::spawn(async move {
            tokio::select! {
                // Told by the task, or the sender dropped: it has ended.
                _ = ended => {}
                // Aborted at the end of a shutdown's grace: it records nothing.
                () = finished.cancelled() => {}
            }
            let report = shared.books().retire(&cell);
            registry.forget(&actor);
            report
        });
        books
            .await
            .map_err(|joined| crate::Error::Panicked(joined.to_string()))
    }
}

impl<E> fmt::Debug for SupervisorHandle<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorHandle")
            .field("stopping", &self.is_stopping())
            .finish_non_exhaustive()
    }
}
