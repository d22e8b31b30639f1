use std::{fmt, marker::PhantomData};

use tokio::sync::mpsc::Receiver;

use crate::{
    Actor, ActorConfig, ActorId, Context, Event, Result, Subscribe, Supervisor, Topic,
    internal::broker::Mail, subscribe::Subscription,
};

/// Registers an actor with settings of its own; from
/// [`Supervisor::build_actor`]. Nothing is registered until
/// [`build`](Self::build).
///
/// Defaults: no topics, and the supervisor's default [`ActorConfig`].
///
/// # Examples
///
/// ```
/// use maiko_core::{Actor, DefaultTopic, Event, Supervisor};
///
/// #[derive(Clone)]
/// struct Job;
/// impl Event for Job {}
/// struct Worker;
/// impl Actor for Worker { type Event = Job; }
///
/// let mut sup = Supervisor::<Job>::default();
/// sup.build_actor("worker", |_ctx| Worker)
///     .topics([DefaultTopic])
///     .channel_capacity(1024)
///     .with_config(|c| c.with_max_events_per_tick(1))
///     .build()?;
/// # Ok::<(), maiko_core::Error>(())
/// ```
#[must_use = "the actor is not registered until .build() is called"]
pub struct ActorBuilder<'a, E: Event, T: Topic<E>, A: Actor<Event = E>> {
    pub(crate) supervisor: &'a mut Supervisor<E, T>,
    pub(crate) actor: A,
    pub(crate) ctx: Context<E>,
    pub(crate) inbox: Receiver<Mail<E>>,
    pub(crate) config: ActorConfig,
    pub(crate) topics: Subscription<T>,
    pub(crate) _event: PhantomData<fn() -> E>,
}

impl<E: Event, T: Topic<E>, A: Actor<Event = E>> ActorBuilder<'_, E, T, A> {
    /// The topics to subscribe to.
    pub fn topics<S: Into<Subscribe<E, T>>>(mut self, topics: S) -> Self {
        self.topics = topics.into().0;
        self
    }

    /// Replace the whole configuration.
    pub fn config<C: Into<ActorConfig>>(mut self, config: C) -> Self {
        self.config = config.into();
        self
    }

    /// Change the configuration with a closure.
    pub fn with_config<F: FnOnce(ActorConfig) -> ActorConfig>(mut self, f: F) -> Self {
        self.config = f(self.config);
        self
    }

    /// The mailbox capacity.
    pub fn channel_capacity(mut self, capacity: usize) -> Self {
        self.config = self.config.with_channel_capacity(capacity);
        self
    }

    /// Register the actor.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyActorName`](crate::Error::EmptyActorName),
    /// [`Error::DuplicateActorName`](crate::Error::DuplicateActorName),
    /// [`Error::BrokerAlreadyStarted`](crate::Error::BrokerAlreadyStarted),
    /// [`Error::ZeroCapacity`](crate::Error::ZeroCapacity) or
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig).
    pub fn build(self) -> Result<ActorId> {
        self.supervisor
            .register(self.ctx, self.inbox, self.actor, self.topics, self.config)
    }
}

impl<E: Event, T: Topic<E>, A: Actor<Event = E>> fmt::Debug for ActorBuilder<'_, E, T, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorBuilder")
            .field("actor", self.ctx.actor_id())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
