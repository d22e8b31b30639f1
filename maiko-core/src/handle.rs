use std::{borrow::Cow, fmt, sync::Arc};

use crate::{
    ActorId, Delivery, SendError, ShutdownReport, Snapshot,
    internal::{control::StopControl, outbox::Outbox, publish::Publisher, shared::Shared},
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
}

impl<E> Clone for SupervisorHandle<E> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            control: self.control.clone(),
            outbox: Arc::clone(&self.outbox),
            id: self.id.clone(),
            topic_name: self.topic_name,
        }
    }
}

impl<E> SupervisorHandle<E> {
    pub(crate) fn new(
        shared: Arc<Shared>,
        outbox: Arc<Outbox<E>>,
        id: ActorId,
        topic_name: fn(&E) -> Cow<'static, str>,
    ) -> Self {
        let slot = Arc::clone(shared.books().report());
        Self {
            control: StopControl::new(Arc::clone(&shared), slot),
            shared,
            outbox,
            id,
            topic_name,
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
        Publisher::outside(&self.shared, &self.outbox, &self.id)
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
        Publisher::outside(&self.shared, &self.outbox, sender)
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
        Publisher::outside(&self.shared, &self.outbox, &self.id)
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

impl<E> fmt::Debug for SupervisorHandle<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorHandle")
            .field("stopping", &self.is_stopping())
            .finish_non_exhaustive()
    }
}
