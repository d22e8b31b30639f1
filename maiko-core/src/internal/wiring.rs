//! Wiring a supervisor: what is registered before `start()` (channels,
//! cells, the routing table, the actor futures), and spawning it.
//!
//! `Supervisor` is the public face and keeps only its API; this module is
//! the worker side, as `Buffer::pair` is for tower's `Buffer` and
//! `PreparedActor` is for kameo's actors.

use std::{
    collections::{BTreeSet, HashSet},
    future::Future,
    pin::Pin,
    sync::Arc,
};

use tokio::{sync::mpsc, task::JoinSet};

use super::{
    actor_loop::{ActorTask, Mailbox, Rebuild},
    broker::{BrokerCell, Routes, Subscriber, TopicMap, routing_loop},
    cell::ActorCell,
    coordinator::MemberTasks,
    lane::LaneEnd,
    outbox::{Choose, Outbox},
    shared::Shared,
    watch::Watch,
};
use crate::{
    Actor, ActorConfig, ActorId, Context, Error, Event, Result, SupervisorConfig, Topic,
    subscribe::Subscription, topic::DEFAULT_BROKER,
};

type ActorFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// An actor built by its factory, with its context and the receiving end
/// of its channel to the default broker, not yet registered.
pub(crate) struct Prepared<E, A> {
    pub(crate) actor: A,
    pub(crate) ctx: Context<E>,
    pub(crate) inbox: LaneEnd<E>,
}

/// A publisher's outbox and the receiving end of its channel to the
/// default broker.
type Publishing<E> = (Arc<Outbox<E>>, LaneEnd<E>);

/// What is registered before `start()`.
pub(crate) struct Setup<E, T> {
    shared: Arc<Shared>,
    /// The supervisor's own id, which no actor may take.
    supervisor: ActorId,
    broker_capacity: usize,
    routes: Routes<E, T>,
    /// Every publisher: the supervisor (with its handles) first, then each
    /// actor in registration order.
    publishers: Vec<Publishing<E>>,
    tasks: Vec<ActorFuture>,
    cells: Vec<Arc<ActorCell>>,
    names: HashSet<ActorId>,
    watch: Watch<E, T>,
}

fn broker_of<E: Event, T: Topic<E>>(event: &E) -> &'static str {
    T::from_event(event).broker()
}

impl<E: Event, T: Topic<E>> Setup<E, T> {
    /// An empty setup, and the supervisor's own outbox.
    pub(crate) fn new(
        config: &SupervisorConfig,
        shared: Arc<Shared>,
        supervisor: ActorId,
        watch: Watch<E, T>,
    ) -> (Self, Arc<Outbox<E>>) {
        let broker_capacity = config.broker_channel_capacity().max(1);
        let (outbox, receiver) = Outbox::new(broker_capacity, broker_of::<E, T>);
        let outbox = Arc::new(outbox);
        let setup = Self {
            shared,
            supervisor,
            broker_capacity,
            routes: Routes::new(watch.clone()),
            publishers: vec![(Arc::clone(&outbox), receiver)],
            tasks: Vec::new(),
            cells: Vec::new(),
            names: HashSet::new(),
            watch,
        };
        (setup, outbox)
    }

    /// The names of the actors registered so far, in order.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.cells.iter().map(|c| c.id.as_str())
    }

    /// Whether `name` can be given to a new actor.
    pub(crate) fn check_name(&self, name: &str) -> Result {
        if name.trim().is_empty() {
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
        let (outbox, inbox) = Outbox::new(self.broker_capacity, broker_of::<E, T>);
        let ctx = Context {
            cell: Arc::new(ActorCell::new(ActorId::new(name))),
            outbox: Arc::new(outbox),
            shared: Arc::clone(&self.shared),
            topic_name: |event| T::from_event(event).name(),
        };
        let actor = factory(ctx.clone());
        Ok(Prepared { actor, ctx, inbox })
    }

    /// Register a prepared actor: its mailbox, its place in the routing
    /// table and its task, to be spawned by [`spawn`](Self::spawn).
    /// `rebuild`: how to rebuild it after a failure, if it is restartable.
    pub(crate) fn register<A: Actor<Event = E>>(
        &mut self,
        prepared: Prepared<E, A>,
        topics: &Subscription<T>,
        config: ActorConfig,
        rebuild: Option<Rebuild<A>>,
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
        self.publishers.push((Arc::clone(&ctx.outbox), inbox));
        let task = ActorTask::<A, T> {
            actor,
            mailbox: Mailbox::new(receiver, Arc::clone(&cell), Arc::clone(&self.shared)),
            cell: Arc::clone(&cell),
            shared: Arc::clone(&self.shared),
            max_events_per_tick: config.max_events_per_tick(),
            watch: self.watch.clone(),
            rebuild,
            live: false,
        };
        self.watch.registered(&cell.id);
        self.tasks.push(Box::pin(task.run()));
        self.names.insert(cell.id.clone());
        self.shared.books().add_cell(Arc::clone(&cell));
        self.cells.push(cell);
        Ok(ctx.cell.id.clone())
    }

    /// Index the brokers: the default one first, then, sorted by name,
    /// every other broker a subscribed topic names or a publish before the
    /// start opened a channel to (every publisher's outbox is frozen here,
    /// so that list is final). Returns their names and the function that
    /// gives an event's broker.
    fn index_brokers(&self) -> (Vec<&'static str>, Choose<E>) {
        let early: Vec<&'static str> = self
            .publishers
            .iter()
            .flat_map(|(outbox, _)| outbox.freeze())
            .collect();
        let mut others: BTreeSet<&'static str> = self
            .routes
            .topics()
            .map(Topic::broker)
            .chain(early)
            .collect();
        others.remove(DEFAULT_BROKER);
        let names: Vec<&'static str> = std::iter::once(DEFAULT_BROKER).chain(others).collect();
        let index = |broker: &str| names.iter().position(|n| *n == broker).unwrap_or(0);
        let by_topic: TopicMap<T, usize> = self
            .routes
            .topics()
            .map(|topic| (topic.clone(), index(topic.broker())))
            .collect();
        let by_name = names.clone();
        let choose: Choose<E> = Arc::new(move |event: &E| {
            let topic = T::from_event(event);
            by_topic.get(&topic).copied().unwrap_or_else(|| {
                // A topic no actor subscribes to by name: its broker if
                // one was indexed, the default broker otherwise.
                let broker = topic.broker();
                by_name.iter().position(|n| *n == broker).unwrap_or(0)
            })
        });
        (names, choose)
    }

    /// Spawn the routing loops (one per publisher and broker: the
    /// supervisor and each actor publish into every broker) and the actors,
    /// and return them for a coordinator to shut down. Must be called from
    /// within a tokio runtime.
    pub(crate) fn launch(self) -> MemberTasks {
        let (names, choose) = self.index_brokers();
        let brokers: Vec<Arc<BrokerCell>> =
            names.iter().map(|n| Arc::new(BrokerCell::new(n))).collect();
        let routes = Arc::new(self.routes);
        let shared = self.shared;
        let mut routing_loops = JoinSet::new();
        for (publisher, (outbox, default)) in self.publishers.into_iter().enumerate() {
            // The supervisor is publisher 0; actor i is publisher i + 1.
            let own = publisher.checked_sub(1);
            let receivers = outbox.start(&names, &choose);
            let receivers = std::iter::once(Some(default)).chain(receivers.into_iter().skip(1));
            for (receiver, broker) in receivers.zip(&brokers) {
                let receiver = receiver.expect("one receiver per broker");
                routing_loops.spawn(routing_loop(
                    receiver,
                    Arc::clone(&routes),
                    Arc::clone(&shared),
                    own,
                    Arc::clone(broker),
                ));
            }
        }
        drop(routes);
        let mut actors = JoinSet::new();
        for task in self.tasks {
            actors.spawn(task);
        }
        MemberTasks {
            monitors: self.watch.drain(),
            turn: shared.turn().cloned(),
            shared,
            actors,
            routing_loops,
            brokers,
            cells: self.cells,
        }
    }
}
