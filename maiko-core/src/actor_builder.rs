use std::fmt;

use crate::{
    Actor, ActorConfig, ActorId, Event, Result, Subscribe, Supervisor, Topic,
    internal::wiring::Prepared, subscribe::Subscription,
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
    supervisor: &'a mut Supervisor<E, T>,
    name: String,
    /// The actor built by its factory, or why the factory was not called.
    prepared: Result<Prepared<E, A>>,
    config: ActorConfig,
    topics: Subscription<T>,
}

impl<'a, E: Event, T: Topic<E>, A: Actor<Event = E>> ActorBuilder<'a, E, T, A> {
    pub(crate) fn new(
        supervisor: &'a mut Supervisor<E, T>,
        name: &str,
        prepared: Result<Prepared<E, A>>,
        config: ActorConfig,
    ) -> Self {
        Self {
            supervisor,
            name: name.to_owned(),
            prepared,
            config,
            topics: Subscription::None,
        }
    }

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
    /// [`Error::ZeroCapacity`](crate::Error::ZeroCapacity),
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig), or the
    /// supervisor's configuration error.
    pub fn build(self) -> Result<ActorId> {
        self.supervisor
            .register(self.prepared?, &self.topics, self.config, None)
    }
}

impl<E: Event, T: Topic<E>, A: Actor<Event = E>> fmt::Debug for ActorBuilder<'_, E, T, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorBuilder")
            .field("actor", &self.name)
            .field("config", &self.config)
            .field("refused", &self.prepared.as_ref().err())
            .finish_non_exhaustive()
    }
}
