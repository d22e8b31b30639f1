use std::{borrow::Cow, fmt, future::Future, sync::Arc};

use crate::{
    ActorId, EventId, IntoEnvelope, Result, SendError, SupervisorHandle,
    internal::{cell::ActorCell, gate::Origin, outbox::Outbox, publish::Publisher, shared::Shared},
};

/// An actor's link to the runtime, handed to the factory passed to
/// [`Supervisor::add_actor`](crate::Supervisor::add_actor).
///
/// Keep it in the actor to publish events, stop the actor or the runtime,
/// and watch for the shutdown. Every event published through it carries this
/// actor's id: an actor cannot publish as another.
///
/// Whether a publish counts as "from a handler" (admitted while the runtime
/// drains) is decided by whether this actor is inside `handle_event` at the
/// time. A clone moved into a separate task therefore publishes as the
/// handler while a handler runs and as an outsider otherwise.
pub struct Context<E> {
    pub(crate) cell: Arc<ActorCell>,
    pub(crate) outbox: Arc<Outbox<E>>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) topic_name: fn(&E) -> Cow<'static, str>,
}

impl<E> Clone for Context<E> {
    fn clone(&self) -> Self {
        Self {
            cell: Arc::clone(&self.cell),
            outbox: Arc::clone(&self.outbox),
            shared: Arc::clone(&self.shared),
            topic_name: self.topic_name,
        }
    }
}

impl<E: crate::Event> Context<E> {
    /// Publish an event under this actor's id, waiting for room in the
    /// actor's channel to the broker.
    ///
    /// Accepts an event or an [`Envelope`](crate::Envelope); of an envelope,
    /// only the event and parent id are kept.
    ///
    /// # Errors
    ///
    /// [`Error::Stopping`](crate::Error::Stopping) if the gate refused the
    /// event (the runtime is stopping); it then reached no one. Use
    /// [`publish`](Self::publish) to get the event back.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes, the event
    /// was not published.
    pub async fn send<IE: Into<IntoEnvelope<E>>>(&self, event: IE) -> Result {
        let (event, parent) = event.into().into_parts();
        self.publisher()
            .publish(event, parent)
            .await
            .map(drop)
            .map_err(Into::into)
    }

    /// Publish an event marked as an answer to `parent_id`.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    ///
    /// # Cancel safety
    ///
    /// As [`send`](Self::send).
    pub async fn send_child_event<IE: Into<IntoEnvelope<E>>>(
        &self,
        event: IE,
        parent_id: EventId,
    ) -> Result {
        let (event, _) = event.into().into_parts();
        self.publisher()
            .publish(event, Some(parent_id))
            .await
            .map(drop)
            .map_err(Into::into)
    }

    /// Publish an event; if it is refused, get it back inside the error.
    ///
    /// # Errors
    ///
    /// A [`SendError`] holding the event and the reason
    /// ([`Error::Stopping`](crate::Error::Stopping)).
    ///
    /// # Cancel safety
    ///
    /// As [`send`](Self::send).
    pub async fn publish(&self, event: E) -> std::result::Result<(), SendError<E>> {
        self.publisher().publish(event, None).await.map(drop)
    }

    /// Publish an event as [`publish`](Self::publish) does, and get a
    /// [`Delivery`](crate::Delivery) that resolves once every subscriber
    /// has handled it (see
    /// [`SupervisorHandle::send_tracked`](crate::SupervisorHandle::send_tracked)).
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
        self.publisher().publish_tracked(event, None).await
    }

    /// Publish an event into another supervisor of the same
    /// [`ShutdownGroup`](crate::ShutdownGroup), through its handle, under
    /// this actor's id; called from a handler, the event is marked as a
    /// child of the event being handled.
    ///
    /// From inside `handle_event` this is a handler's publish for the
    /// group's gate: admitted while the group drains, within the drain hop
    /// limit, and counted by the drain, so nothing passed between members is
    /// lost when the group stops. Into a supervisor outside this actor's
    /// group it is a publish from outside, as through
    /// [`SupervisorHandle::send`](crate::SupervisorHandle::send).
    ///
    /// # Errors
    ///
    /// A [`SendError`] holding the event if the target refused it
    /// ([`Error::Stopping`](crate::Error::Stopping)).
    ///
    /// # Cancel safety
    ///
    /// As [`send`](Self::send).
    pub async fn forward<E2: crate::Event>(
        &self,
        to: &SupervisorHandle<E2>,
        event: E2,
    ) -> std::result::Result<(), SendError<E2>> {
        let origin = if self.shared.same_gate(&to.shared) {
            self.cell.origin()
        } else {
            Origin::Outside
        };
        Publisher {
            shared: &to.shared,
            outbox: &to.outbox,
            id: &self.cell.id,
            origin,
            cell: Some(&self.cell),
            topic_name: to.topic_name,
        }
        .publish(event, self.cell.handling())
        .await
        .map(drop)
    }

    fn publisher(&self) -> Publisher<'_, E> {
        Publisher {
            shared: &self.shared,
            outbox: &self.outbox,
            id: &self.cell.id,
            origin: self.cell.origin(),
            cell: Some(&self.cell),
            topic_name: self.topic_name,
        }
    }
}

impl<E> Context<E> {
    /// Stop this actor; the others keep running.
    ///
    /// The actor takes no new events; it finishes the event in hand, handles
    /// what is already in its mailbox, runs `on_shutdown` and ends. Calling
    /// it more than once is harmless.
    ///
    /// # Errors
    ///
    /// Never fails; the `Result` is kept for compatibility.
    pub fn stop(&self) -> Result {
        self.cell.request_stop();
        Ok(())
    }

    /// Start the shutdown of the whole runtime (see
    /// [`shutdown`](crate::shutdown)). Returns at once; any number of calls,
    /// from anywhere, start one shutdown.
    ///
    /// # Errors
    ///
    /// Never fails; the `Result` is kept for compatibility.
    pub fn stop_runtime(&self) -> Result {
        self.shared.protocol().request_stop();
        Ok(())
    }

    /// This actor's id.
    #[inline]
    pub fn actor_id(&self) -> &ActorId {
        &self.cell.id
    }

    /// This actor's name.
    #[inline]
    pub fn actor_name(&self) -> &str {
        self.cell.id.as_str()
    }

    /// Finish the event being handled later: until the returned
    /// [`Completion`](crate::Completion) is completed, the event counts as
    /// unhandled (the shutdown's drain waits for it, and a tracked
    /// [`Delivery`](crate::Delivery) of it stays pending), while the actor
    /// goes on with its next event as soon as the handler returns.
    ///
    /// Call it from `handle_event`, at most once per event; elsewhere (or a
    /// second time) the completion returned is inert
    /// ([`Completion::is_live`](crate::Completion::is_live) is false).
    ///
    /// # Examples
    ///
    /// ```
    /// use maiko_core::{Actor, Context, Envelope, Event, Result};
    ///
    /// #[derive(Clone)]
    /// struct Write(Vec<u8>);
    /// impl Event for Write {}
    ///
    /// struct Writer { ctx: Context<Write> }
    ///
    /// impl Actor for Writer {
    ///     type Event = Write;
    ///     async fn handle_event(&mut self, envelope: &Envelope<Write>) -> Result {
    ///         let done = self.ctx.defer();
    ///         let bytes = envelope.event().0.clone();
    ///         tokio::spawn(async move {
    ///             // ... write `bytes` somewhere, wait for the acknowledgement ...
    ///             let _ = bytes;
    ///             done.complete();
    ///         });
    ///         Ok(()) // the next event is handled meanwhile
    ///     }
    /// }
    /// ```
    pub fn defer(&self) -> crate::Completion {
        if !self.cell.defer() {
            return crate::Completion::new(None);
        }
        crate::Completion::new(Some(crate::delivery::Deferred {
            cell: Arc::clone(&self.cell),
            shared: Arc::clone(&self.shared),
            tracker: self.cell.take_tracker(),
        }))
    }

    /// Whether this actor's channel to the broker is full, so a publish
    /// would wait. Lets a producer skip optional events under load.
    #[inline]
    pub fn is_sender_full(&self) -> bool {
        self.outbox.is_full()
    }

    /// Whether a shutdown has started. Long handlers and steps can poll
    /// this to stop early (returning [`Error::Interrupted`](crate::Error::Interrupted)).
    #[inline]
    pub fn is_stopping(&self) -> bool {
        self.shared.protocol().is_stopping()
    }

    /// Resolves when a shutdown starts; for `tokio::select!` in a long
    /// handler or step. Read-only: an actor cannot trigger it through this.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub fn stopping(&self) -> impl Future<Output = ()> + Send + 'static {
        self.shared.protocol().stopping_owned()
    }
}

impl<E> fmt::Debug for Context<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("actor_id", &self.cell.id)
            .field("stopping", &self.is_stopping())
            .finish_non_exhaustive()
    }
}
