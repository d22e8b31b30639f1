//! Wiring a supervisor: registering actors (before `start()`, and while it
//! runs), launching it, and stopping one actor from outside.
//!
//! `Supervisor` and `SupervisorHandle` are the public faces and keep only
//! their API; this module is the worker side, as `Buffer::pair` is for
//! tower's `Buffer` and `PreparedActor` is for kameo's actors.
//!
//! # Registry
//!
//! A supervisor's [`Registry`] is shared by the supervisor and its handles.
//! Before the start it holds a [`Setup`]: the actors and publishers, whose
//! tasks `start()` spawns. From the start on it holds the running
//! supervisor's [`Running`] roster: an actor added then gets its mailbox,
//! a new routing table is built with it and published on the
//! [`Board`](super::board::Board) (readers never see a table change), and
//! its task and routing loops go to the coordinator through the
//! [`Intake`], which refuses them once a stop was requested. Stopping an
//! actor from outside publishes a table without it.
//!
//! # Invariants
//!
//! 1. The routing table on the board lists every registered actor that
//!    was not stopped from outside and has not stopped itself, each once
//!    (an actor that stopped itself leaves it at the next change; one that
//!    failed for good stays, so that what is routed to it is a dead
//!    letter).
//! 2. An actor is in the routing table before the call that added it
//!    returns (so it receives every event published after that).
//! 3. Every registration that returns `Ok` after the start has its tasks
//!    spawned by the coordinator before the drain (the intake's fence).
//!
//! The registry's lock is taken to register or stop an actor, never to
//! route or handle an event, and never while actor code runs: a factory is
//! called between two lockings, after the name was checked.

use std::{
    any::Any,
    collections::{BTreeSet, HashSet},
    sync::Arc,
};

use parking_lot::Mutex;
use tokio::{
    sync::{mpsc, oneshot},
    task::JoinSet,
};

use super::{
    actor_loop::{ActorTask, Mailbox, Rebuild},
    board::Board,
    broker::{BrokerCell, RouteBoard, Routes, Subscriber, TopicMap, routing_loop},
    cell::ActorCell,
    coordinator::{ActorFuture, Intake, LoopFuture, MemberTasks, Routing, Spawn},
    dead::DeadSink,
    lane::LaneEnd,
    meters::ActorMeters,
    outbox::{Choose, Outbox},
    shared::Shared,
    tasks::{self, Named},
    watch::Watch,
};
use crate::{
    Actor, ActorConfig, ActorId, Context, Error, Event, Result, SupervisorConfig, Topic,
    subscribe::Subscription, topic::DEFAULT_BROKER,
};

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

fn broker_of<E: Event, T: Topic<E>>(event: &E) -> &'static str {
    T::from_event(event).broker()
}

/// Who is registered, before and after the start alike.
struct Roster<E, T> {
    shared: Arc<Shared>,
    /// The supervisor's own id, which no actor may take.
    supervisor: ActorId,
    broker_capacity: usize,
    /// Every actor in the routing table, with its subscription, in the
    /// order they were registered.
    subscribers: Vec<(Subscriber<E>, Subscription<T>)>,
    names: HashSet<ActorId>,
    watch: Watch<E, T>,
    dead: Arc<DeadSink<E>>,
}

impl<E: Event, T: Topic<E>> Roster<E, T> {
    /// Whether `name` can be given to a new actor.
    fn check_name(&self, name: &str) -> Result {
        if name.trim().is_empty() {
            return Err(Error::EmptyActorName);
        }
        if self.names.contains(name) || self.supervisor.as_str() == name {
            return Err(Error::DuplicateActorName(ActorId::new(name)));
        }
        Ok(())
    }

    /// The context of a new actor named `name` (checked first), and the
    /// receiving end of its channel to the default broker.
    fn context(&self, name: &str) -> Result<(Context<E>, LaneEnd<E>)> {
        self.check_name(name)?;
        let (outbox, inbox) = Outbox::new(self.broker_capacity, broker_of::<E, T>);
        let ctx = Context {
            cell: Arc::new(ActorCell::new(
                ActorId::new(name),
                ActorMeters::new(self.shared.books().meters(), name),
            )),
            outbox: Arc::new(outbox),
            shared: Arc::clone(&self.shared),
            topic_name: |event| T::from_event(event).name(),
        };
        Ok((ctx, inbox))
    }

    /// Add a prepared actor to the roster: its mailbox, its entry in the
    /// routing table's list, its cell in the books. Returns its task.
    fn enrol<A: Actor<Event = E>>(
        &mut self,
        actor: A,
        ctx: &Context<E>,
        topics: &Subscription<T>,
        config: &ActorConfig,
        rebuild: Option<Rebuild<A>>,
    ) -> ActorFuture {
        let cell = Arc::clone(&ctx.cell);
        // Nothing after this can fail the registration.
        cell.meters().enrolled();
        let (mailbox, receiver) = mpsc::channel(config.channel_capacity());
        let subscriber = Subscriber {
            mailbox,
            cell: Arc::clone(&cell),
        };
        self.subscribers.push((subscriber, topics.clone()));
        let task = ActorTask::<A, T> {
            actor,
            mailbox: Mailbox::new(
                receiver,
                Arc::clone(&cell),
                Arc::clone(&self.shared),
                Arc::clone(&self.dead),
            ),
            cell: Arc::clone(&cell),
            shared: Arc::clone(&self.shared),
            max_events_per_tick: config.max_events_per_tick(),
            watch: self.watch.clone(),
            rebuild: rebuild.map(Box::new),
            live: false,
            dead: Arc::clone(&self.dead),
        };
        self.watch.registered(&cell.id);
        self.names.insert(cell.id.clone());
        self.shared.books().add_cell(cell);
        Box::pin(task.run())
    }

    /// A routing table of the actors in the roster.
    fn routes(&self) -> Routes<E, T> {
        let mut routes = Routes::new(self.watch.clone(), Arc::clone(&self.dead));
        for (subscriber, subscription) in &self.subscribers {
            routes.add(subscriber.clone(), subscription);
        }
        routes
    }
}

/// What is registered before `start()`.
pub(crate) struct Setup<E, T> {
    roster: Roster<E, T>,
    /// Every publisher: the supervisor (with its handles) first, then each
    /// actor in registration order.
    publishers: Vec<Publishing<E>>,
    tasks: Vec<Named<ActorFuture>>,
}

impl<E: Event, T: Topic<E>> Setup<E, T> {
    /// Register a prepared actor, to be spawned by `start()`.
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
        self.roster.check_name(ctx.actor_name())?;
        config.validate()?;
        let task = self.roster.enrol(actor, &ctx, topics, &config, rebuild);
        self.publishers.push((Arc::clone(&ctx.outbox), inbox));
        self.tasks.push(Named::actor(ctx.cell.id.clone(), task));
        Ok(ctx.cell.id.clone())
    }

    /// Index the brokers: the default one first, then, sorted by name,
    /// every other broker a subscribed topic names or a publish before the
    /// start opened a channel to (every publisher's outbox is frozen here,
    /// so that list is final). Returns their names and the function that
    /// gives an event's broker.
    fn index_brokers(&self, routes: &Routes<E, T>) -> (Vec<&'static str>, Choose<E>) {
        let early: Vec<&'static str> = self
            .publishers
            .iter()
            .flat_map(|(outbox, _)| outbox.freeze())
            .collect();
        let mut others: BTreeSet<&'static str> =
            routes.topics().map(Topic::broker).chain(early).collect();
        others.remove(DEFAULT_BROKER);
        let names: Vec<&'static str> = std::iter::once(DEFAULT_BROKER).chain(others).collect();
        let index = |broker: &str| names.iter().position(|n| *n == broker).unwrap_or(0);
        let by_topic: TopicMap<T, usize> = routes
            .topics()
            .map(|topic| (topic.clone(), index(topic.broker())))
            .collect();
        let by_name = names.clone();
        let choose: Choose<E> = Arc::new(move |event: &E| {
            let topic = T::from_event(event);
            by_topic.get(&topic).copied().unwrap_or_else(|| {
                // A topic no actor subscribed to by name at the start: its
                // broker if one was indexed, the default broker otherwise.
                let broker = topic.broker();
                by_name.iter().position(|n| *n == broker).unwrap_or(0)
            })
        });
        (names, choose)
    }

    /// Spawn the routing loops (one per publisher and broker: the
    /// supervisor and each actor publish into every broker) and the actors,
    /// and return them for a coordinator to shut down, with the roster the
    /// supervisor keeps while it runs. Must be called from within a tokio
    /// runtime.
    fn launch(self, intake: Arc<Intake>, member: usize) -> (MemberTasks, Running<E, T>) {
        let routes = self.roster.routes();
        let (names, choose) = self.index_brokers(&routes);
        let brokers: Vec<Arc<BrokerCell>> =
            names.iter().map(|n| Arc::new(BrokerCell::new(n))).collect();
        let board = Arc::new(Board::new(routes));
        let roster = self.roster;
        let shared = Arc::clone(&roster.shared);
        let mut routing_loops = JoinSet::new();
        // The supervisor is publisher 0; actor i is publisher i + 1.
        let owners = std::iter::once(None).chain(
            roster
                .subscribers
                .iter()
                .map(|(subscriber, _)| Some(Arc::clone(&subscriber.cell))),
        );
        for ((outbox, default), own) in self.publishers.into_iter().zip(owners) {
            for routing_loop in loops(
                &outbox, default, &names, &choose, &brokers, &board, &shared, own,
            ) {
                tasks::spawn(&mut routing_loops, routing_loop);
            }
        }
        let mut actors = JoinSet::new();
        for task in self.tasks {
            tasks::spawn(&mut actors, task);
        }
        let tasks = MemberTasks {
            monitors: roster.watch.drain(),
            turn: shared.turn().cloned(),
            shared,
            actors,
            routing_loops,
            brokers: brokers.clone(),
            routing: None,
        };
        let running = Running {
            roster,
            board,
            broker_names: names,
            choose,
            brokers,
            intake,
            member,
        };
        (tasks, running)
    }
}

/// The routing loops of one publisher, one per broker: `default` is the
/// receiving end of its channel to the default broker. A channel the
/// publisher opened before its start to a broker not in `names` is routed
/// under the default broker.
#[allow(clippy::too_many_arguments)]
fn loops<E: Event, T: Topic<E>>(
    outbox: &Outbox<E>,
    default: LaneEnd<E>,
    names: &[&'static str],
    choose: &Choose<E>,
    brokers: &[Arc<BrokerCell>],
    board: &Arc<RouteBoard<E, T>>,
    shared: &Arc<Shared>,
    own: Option<Arc<ActorCell>>,
) -> Vec<Named<LoopFuture>> {
    let (receivers, strays) = outbox.start(names, choose);
    let receivers = std::iter::once(Some(default)).chain(receivers.into_iter().skip(1));
    let mut lanes: Vec<(LaneEnd<E>, &Arc<BrokerCell>)> = receivers
        .zip(brokers)
        .map(|(receiver, broker)| (receiver.expect("one receiver per broker"), broker))
        .collect();
    lanes.extend(strays.into_iter().map(|stray| (stray, &brokers[0])));
    lanes
        .into_iter()
        .map(|(receiver, broker)| {
            let future = Box::pin(routing_loop(
                receiver,
                Arc::clone(board),
                Arc::clone(shared),
                own.clone(),
                Arc::clone(broker),
            )) as LoopFuture;
            Named::routing(
                broker.name,
                own.as_ref().map(|cell| cell.id.clone()),
                future,
            )
        })
        .collect()
}

/// The roster of a running supervisor.
struct Running<E, T> {
    roster: Roster<E, T>,
    board: Arc<RouteBoard<E, T>>,
    broker_names: Vec<&'static str>,
    choose: Choose<E>,
    brokers: Vec<Arc<BrokerCell>>,
    intake: Arc<Intake>,
    /// This supervisor's place among its coordinator's members.
    member: usize,
}

impl<E: Event, T: Topic<E>> Running<E, T> {
    /// Register an actor while running (invariants 1 to 3).
    fn register<A: Actor<Event = E>>(
        &mut self,
        prepared: Prepared<E, A>,
        topics: &Subscription<T>,
        config: &ActorConfig,
        rebuild: Option<Rebuild<A>>,
    ) -> Result<ActorId> {
        let Prepared { actor, ctx, inbox } = prepared;
        self.roster.check_name(ctx.actor_name())?;
        config.validate()?;
        let intake = Arc::clone(&self.intake);
        let shared = Arc::clone(&self.roster.shared);
        intake.admit(&shared, || {
            let task = self.roster.enrol(actor, &ctx, topics, config, rebuild);
            self.board.publish(self.roster.routes());
            // As `start()` does; a channel its factory opened to a broker
            // not indexed at the start is routed under the default broker.
            ctx.outbox.freeze();
            let spawn = Spawn {
                member: self.member,
                actor: Named::actor(ctx.cell.id.clone(), task),
                loops: loops(
                    &ctx.outbox,
                    inbox,
                    &self.broker_names,
                    &self.choose,
                    &self.brokers,
                    &self.board,
                    &self.roster.shared,
                    Some(Arc::clone(&ctx.cell)),
                ),
            };
            Ok((spawn, ctx.cell.id.clone()))
        })
    }

    /// Take the actor `id` out of the routing table and ask it to stop.
    fn retire(&mut self, id: &ActorId) -> Result<(Arc<ActorCell>, oneshot::Receiver<()>)> {
        let not_running = || Error::ActorNotRunning(id.clone());
        let position = self
            .roster
            .subscribers
            .iter()
            .position(|(subscriber, _)| &subscriber.cell.id == id)
            .ok_or_else(not_running)?;
        let cell = Arc::clone(&self.roster.subscribers[position].0.cell);
        if cell.has_ended() {
            return Err(not_running());
        }
        let ended = cell.retire().ok_or_else(not_running)?;
        self.roster.subscribers.remove(position);
        // Actors that stopped themselves leave the table here too, so that
        // it does not grow with actors that come and go. One that failed
        // for good stays: what is routed to it is lost, and a dead letter.
        self.roster
            .subscribers
            .retain(|(subscriber, _)| !subscriber.cell.has_ended() || subscriber.cell.has_failed());
        self.board.publish(self.roster.routes());
        Ok((cell, ended))
    }
}

/// Where a supervisor is.
enum State<E, T> {
    Setup(Setup<E, T>),
    Running(Running<E, T>),
    /// Between the two, for the moment of the launch.
    Launching,
    /// The supervisor was dropped before it started: its channels are
    /// closed, so its handles' publishes are refused.
    Discarded,
}

/// A supervisor's registry (see the module docs).
pub(crate) struct Registry<E, T> {
    state: Mutex<State<E, T>>,
    config: SupervisorConfig,
}

/// The registry without its topic type, for a handle.
pub(crate) trait Registrar<E>: Send + Sync {
    /// The registry itself, for [`Registry::of`].
    fn as_any(&self) -> &dyn Any;

    /// Take a running actor out of the routing table and ask it to stop;
    /// then wait on the receiver for its task to end.
    fn retire(&self, id: &ActorId) -> Result<(Arc<ActorCell>, oneshot::Receiver<()>)>;

    /// The actor `id` has ended after [`retire`](Self::retire): its name is
    /// free again.
    fn forget(&self, id: &ActorId);
}

impl<E: Event, T: Topic<E>> Registry<E, T> {
    /// An empty registry, and the supervisor's own outbox.
    pub(crate) fn new(
        config: &SupervisorConfig,
        shared: Arc<Shared>,
        supervisor: ActorId,
        watch: Watch<E, T>,
        dead: Arc<DeadSink<E>>,
    ) -> (Arc<Self>, Arc<Outbox<E>>) {
        let broker_capacity = config.broker_channel_capacity().max(1);
        let (outbox, receiver) = Outbox::new(broker_capacity, broker_of::<E, T>);
        let outbox = Arc::new(outbox);
        let setup = Setup {
            roster: Roster {
                shared,
                supervisor,
                broker_capacity,
                subscribers: Vec::new(),
                names: HashSet::new(),
                watch,
                dead,
            },
            publishers: vec![(Arc::clone(&outbox), receiver)],
            tasks: Vec::new(),
        };
        let registry = Self {
            state: Mutex::new(State::Setup(setup)),
            config: config.clone(),
        };
        (Arc::new(registry), outbox)
    }

    /// The registry of a handle, if its topic type is `T`.
    pub(crate) fn of(registrar: &dyn Registrar<E>) -> Result<&Self> {
        registrar
            .as_any()
            .downcast_ref::<Self>()
            .ok_or(Error::TopicTypeMismatch(std::any::type_name::<T>()))
    }

    /// Run `f` on the setup, before the start.
    pub(crate) fn setting_up<R>(&self, f: impl FnOnce(&mut Setup<E, T>) -> Result<R>) -> Result<R> {
        match &mut *self.state.lock() {
            State::Setup(setup) => f(setup),
            _ => Err(Error::BrokerAlreadyStarted),
        }
    }

    /// Before the start: check `name`, then build the actor with `factory`
    /// and its context, outside the lock. The factory is not called if the
    /// name is refused or the supervisor has started.
    pub(crate) fn prepare<A, F>(&self, name: &str, factory: F) -> Result<Prepared<E, A>>
    where
        F: FnOnce(Context<E>) -> A,
    {
        let (ctx, inbox) = self.setting_up(|setup| setup.roster.context(name))?;
        let actor = factory(ctx.clone());
        Ok(Prepared { actor, ctx, inbox })
    }

    /// Whether `start()` (or the group's) has not happened yet.
    pub(crate) fn is_setting_up(&self) -> bool {
        matches!(&*self.state.lock(), State::Setup(_))
    }

    /// The names of the actors registered, in order.
    pub(crate) fn names(&self) -> Vec<String> {
        match &*self.state.lock() {
            State::Setup(Setup { roster, .. }) | State::Running(Running { roster, .. }) => roster
                .subscribers
                .iter()
                .map(|(s, _)| s.cell.id.to_string())
                .collect(),
            State::Launching | State::Discarded => Vec::new(),
        }
    }

    /// The supervisor was dropped before it started, and no group took it:
    /// let its setup go (see [`State::Discarded`]).
    pub(crate) fn discard(&self) {
        let mut state = self.state.lock();
        if matches!(&*state, State::Setup(_)) {
            let setup = std::mem::replace(&mut *state, State::Discarded);
            drop(state);
            // The actors are dropped outside the lock.
            drop(setup);
        }
    }

    /// Launch the setup as member `member` of the coordinator whose intake
    /// is `intake`. Must be called once, from within a tokio runtime.
    pub(crate) fn launch(self: &Arc<Self>, intake: Arc<Intake>, member: usize) -> MemberTasks {
        let mut state = self.state.lock();
        let State::Setup(setup) = std::mem::replace(&mut *state, State::Launching) else {
            unreachable!("a supervisor is launched once, from its setup");
        };
        let (mut tasks, running) = setup.launch(intake, member);
        *state = State::Running(running);
        tasks.routing = Some(Arc::clone(self) as Arc<dyn Routing>);
        tasks
    }

    /// Add an actor from a handle, before or after the start: check the
    /// name (and, after the start, that no stop was requested), call
    /// `build` (the factory, and how to rebuild the actor if it is
    /// restartable) outside the lock, then register.
    pub(crate) fn add<A: Actor<Event = E>>(
        &self,
        name: &str,
        topics: &Subscription<T>,
        build: impl FnOnce(Context<E>) -> (A, Option<Rebuild<A>>),
    ) -> Result<ActorId> {
        let (ctx, inbox) = match &*self.state.lock() {
            State::Setup(setup) => setup.roster.context(name)?,
            State::Running(running) => {
                if running.roster.shared.protocol().is_stopping() {
                    return Err(Error::Stopping);
                }
                running.roster.context(name)?
            }
            State::Launching | State::Discarded => return Err(Error::Stopping),
        };
        let (actor, rebuild) = build(ctx.clone());
        let prepared = Prepared { actor, ctx, inbox };
        let config = ActorConfig::new(&self.config);
        match &mut *self.state.lock() {
            State::Setup(setup) => setup.register(prepared, topics, config, rebuild),
            State::Running(running) => running.register(prepared, topics, &config, rebuild),
            State::Launching | State::Discarded => Err(Error::Stopping),
        }
    }
}

impl<E: Event, T: Topic<E>> Routing for Registry<E, T> {
    fn end(&self) {
        if let State::Running(running) = &mut *self.state.lock() {
            running.roster.subscribers.clear();
            running.board.publish(running.roster.routes());
        }
    }
}

impl<E: Event, T: Topic<E>> Registrar<E> for Registry<E, T> {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn retire(&self, id: &ActorId) -> Result<(Arc<ActorCell>, oneshot::Receiver<()>)> {
        match &mut *self.state.lock() {
            State::Running(running) => running.retire(id),
            _ => Err(Error::ActorNotRunning(id.clone())),
        }
    }

    fn forget(&self, id: &ActorId) {
        if let State::Running(running) = &mut *self.state.lock() {
            running.roster.names.remove(id);
        }
    }
}
