//! Wiring a supervisor: what is registered before `start()` (channels,
//! cells, the routing table, the actor futures), and spawning it.
//!
//! `Supervisor` is the public face and keeps only its API; this module is
//! the worker side, as `Buffer::pair` is for tower's `Buffer` and
//! `PreparedActor` is for kameo's actors.

use std::{
    borrow::Cow, collections::HashSet, future::Future, marker::PhantomData, pin::Pin, sync::Arc,
};

use tokio::{
    sync::mpsc::{self, Receiver, Sender},
    task::JoinSet,
};

use super::{
    actor_loop::{ActorTask, Mailbox},
    broker::{Mail, Routes, Subscriber, routing_loop},
    cell::ActorCell,
    coordinator::Coordinator,
    shared::Shared,
};
use crate::{
    Actor, ActorConfig, ActorId, Context, Error, Event, Result, SupervisorConfig, Topic,
    subscribe::Subscription,
};

type ActorFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// An actor built by its factory, with its context and the receiving end
/// of its channel to the broker, not yet registered.
pub(crate) struct Prepared<E, A> {
    pub(crate) actor: A,
    pub(crate) ctx: Context<E>,
    pub(crate) inbox: Receiver<Mail<E>>,
}

/// What is registered before `start()`.
pub(crate) struct Setup<E, T> {
    shared: Arc<Shared>,
    /// The supervisor's own id, which no actor may take.
    supervisor: ActorId,
    broker_capacity: usize,
    routes: Routes<E, T>,
    /// The supervisor's (and its handles') channel to the broker.
    own_inbox: Receiver<Mail<E>>,
    /// Each actor's channel to the broker, in registration order.
    inboxes: Vec<Receiver<Mail<E>>>,
    tasks: Vec<ActorFuture>,
    cells: Vec<Arc<ActorCell>>,
    names: HashSet<ActorId>,
}

fn topic_name<E: Event, T: Topic<E>>(event: &E) -> Cow<'static, str> {
    T::from_event(event).name()
}

impl<E: Event, T: Topic<E>> Setup<E, T> {
    /// An empty setup, and the sending end of the supervisor's own channel.
    pub(crate) fn new(
        config: &SupervisorConfig,
        shared: Arc<Shared>,
        supervisor: ActorId,
    ) -> (Self, Sender<Mail<E>>) {
        let broker_capacity = config.broker_channel_capacity().max(1);
        let (inbox, own_inbox) = mpsc::channel(broker_capacity);
        let setup = Self {
            shared,
            supervisor,
            broker_capacity,
            routes: Routes::new(),
            own_inbox,
            inboxes: Vec::new(),
            tasks: Vec::new(),
            cells: Vec::new(),
            names: HashSet::new(),
        };
        (setup, inbox)
    }

    /// The names of the actors registered so far, in order.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.cells.iter().map(|c| c.id.as_str())
    }

    /// Whether `name` can be given to a new actor.
    pub(crate) fn check_name(&self, name: &str) -> Result {
        if name.is_empty() {
            return Err(Error::EmptyActorName);
        }
        let id = ActorId::new(name);
        if self.names.contains(&id) || id == self.supervisor {
            return Err(Error::DuplicateActorName(id));
        }
        Ok(())
    }

    /// Check `name`, then build the actor with `factory` and its context.
    /// The factory is not called if the name is refused.
    pub(crate) fn prepare<A, F>(&self, name: &str, factory: F) -> Result<Prepared<E, A>>
    where
        F: FnOnce(Context<E>) -> A,
    {
        self.check_name(name)?;
        let (sender, inbox) = mpsc::channel(self.broker_capacity);
        let ctx = Context {
            cell: Arc::new(ActorCell::new(ActorId::new(name))),
            inbox: sender,
            shared: Arc::clone(&self.shared),
            topic_name: topic_name::<E, T>,
        };
        let actor = factory(ctx.clone());
        Ok(Prepared { actor, ctx, inbox })
    }

    /// Register a prepared actor: its mailbox, its place in the routing
    /// table and its task, to be spawned by [`spawn`](Self::spawn).
    pub(crate) fn register<A: Actor<Event = E>>(
        &mut self,
        prepared: Prepared<E, A>,
        topics: &Subscription<T>,
        config: ActorConfig,
    ) -> Result<ActorId> {
        let Prepared { actor, ctx, inbox } = prepared;
        // Again: two builders may have been prepared under the same name.
        self.check_name(ctx.actor_name())?;
        config.validate()?;
        let cell = Arc::clone(&ctx.cell);
        let (mailbox, receiver) = mpsc::channel(config.channel_capacity());
        self.routes.add(
            Subscriber {
                mailbox,
                cell: Arc::clone(&cell),
            },
            topics,
        );
        self.inboxes.push(inbox);
        let task = ActorTask::<A, T> {
            actor,
            mailbox: Mailbox::new(receiver, Arc::clone(&cell), Arc::clone(&self.shared)),
            cell: Arc::clone(&cell),
            shared: Arc::clone(&self.shared),
            max_events_per_tick: config.max_events_per_tick(),
            _topic: PhantomData,
        };
        self.tasks.push(Box::pin(task.run()));
        self.names.insert(cell.id.clone());
        self.cells.push(cell);
        Ok(ctx.cell.id.clone())
    }

    /// Spawn the routing loops (one per publisher: the supervisor and each
    /// actor), the actors, and the coordinator that will shut them down.
    /// Must be called from within a tokio runtime.
    pub(crate) fn spawn(self) {
        let routes = Arc::new(self.routes);
        let shared = self.shared;
        let mut brokers = JoinSet::new();
        let publishers = std::iter::once((None, self.own_inbox)).chain(
            self.inboxes
                .into_iter()
                .enumerate()
                .map(|(i, inbox)| (Some(i), inbox)),
        );
        for (own, inbox) in publishers {
            brokers.spawn(routing_loop(
                inbox,
                Arc::clone(&routes),
                Arc::clone(&shared),
                own,
            ));
        }
        drop(routes);
        let mut actors = JoinSet::new();
        for task in self.tasks {
            actors.spawn(task);
        }
        tokio::spawn(
            Coordinator {
                shared,
                actors,
                brokers,
                cells: self.cells,
            }
            .run(),
        );
    }
}
