//! The shutdown itself: wait for a stop request (or for every actor to have
//! ended), drain, escalate at the deadline, and write the reports.
//!
//! One coordinator serves one gate: a supervisor on its own, or every
//! member of a shutdown group (a supervisor on its own is a group of one).
//! It runs in its own task, spawned by `Supervisor::start` or
//! `ShutdownGroup::start`, so that dropping the future of `stop()` cannot
//! abandon a drain halfway.
//!
//! # Order of closing
//!
//! When the gate closes, every routing loop of every member drains and
//! ends, and every actor drains its mailbox. Then the members finish in the
//! order they were added: the actors of a member wait for its *turn* before
//! `on_shutdown`, and the turn of a member comes when every actor of every
//! member before it has ended. At the deadline every turn comes at once, so
//! that every `on_shutdown` still runs within the grace.
//!
//! # Actors added while running
//!
//! An actor added through a handle after the start reaches the coordinator
//! as a [`Spawn`] through its [`Intake`]: the registration sends it under
//! the intake's lock after checking that no stop was requested, and the
//! coordinator, once a stop is requested, takes that lock to close the
//! intake and spawns whatever was sent before. So every actor whose
//! registration returned `Ok` is part of the drain, and none can be added
//! after it began. While running, the coordinator also reaps the tasks of
//! actors that ended (and their routing loops), so that adding and stopping
//! actors without end keeps its task sets small.

use std::{future::Future, pin::Pin, sync::Arc, task::Poll, time::Duration};

use parking_lot::Mutex;
use tokio::{
    sync::mpsc::{self, UnboundedReceiver, UnboundedSender},
    task::JoinSet,
    time::Instant,
};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, info_span, warn};

use super::{
    broker::BrokerCell,
    shared::Shared,
    tasks::{self, Named},
    watch::Drain,
};
use crate::{ActorReport, BrokerReport, Error, PhaseTimes, Result, ShutdownReport};

/// An actor's task: `true` if it ended on its own (it stopped itself or
/// failed), `false` if it was stopped from outside.
pub(crate) type ActorFuture = Pin<Box<dyn Future<Output = bool> + Send>>;

/// A routing loop's task.
pub(crate) type LoopFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// An actor added while running: its task and its routing loops, for the
/// member at `member`.
pub(crate) struct Spawn {
    pub(crate) member: usize,
    pub(crate) actor: Named<ActorFuture>,
    pub(crate) loops: Vec<Named<LoopFuture>>,
}

/// Where actors added while running go to be spawned (see the module
/// docs); closed when a stop is requested.
pub(crate) struct Intake {
    sender: Mutex<Option<UnboundedSender<Spawn>>>,
}

impl Intake {
    pub(crate) fn new() -> (Arc<Self>, UnboundedReceiver<Spawn>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let intake = Self {
            sender: Mutex::new(Some(sender)),
        };
        (Arc::new(intake), receiver)
    }

    /// Run `register` and send the spawn it builds, unless a stop was
    /// requested (then `Err(Error::Stopping)`, and `register` is not run).
    pub(crate) fn admit<R>(
        &self,
        shared: &Shared,
        register: impl FnOnce() -> Result<(Spawn, R)>,
    ) -> Result<R> {
        let sender = self.sender.lock();
        let Some(sender) = sender.as_ref() else {
            return Err(Error::Stopping);
        };
        if shared.protocol().is_stopping() {
            return Err(Error::Stopping);
        }
        let (spawn, registered) = register()?;
        // The receiver lives as long as the coordinator, which closes this
        // intake (under this lock) before it stops receiving.
        let _ = sender.send(spawn);
        Ok(registered)
    }

    /// No more actors: those sent before are still received.
    fn close(&self) {
        self.sender.lock().take();
    }
}

/// Instants at which the drain reached each phase.
#[derive(Default)]
struct Marks {
    brokers_done: Option<Instant>,
    actors_done: Option<Instant>,
}

/// The tasks of one started supervisor, and what its report is made of.
pub(crate) struct MemberTasks {
    /// The supervisor's own shared state (the group's root for a supervisor
    /// on its own).
    pub(crate) shared: Arc<Shared>,
    pub(crate) actors: JoinSet<bool>,
    pub(crate) routing_loops: JoinSet<()>,
    pub(crate) brokers: Vec<Arc<BrokerCell>>,
    /// Fired when this member's actors may run `on_shutdown` (`None`: they
    /// need not wait).
    pub(crate) turn: Option<CancellationToken>,
    /// This member's monitors, to be given every record before the report.
    pub(crate) monitors: Drain,
    /// Its routing table, ended once its routing loops have.
    pub(crate) routing: Option<Arc<dyn Routing>>,
}

/// The shutdown of everything behind one gate.
pub(crate) struct Coordinator {
    pub(crate) root: Arc<Shared>,
    pub(crate) members: Vec<MemberTasks>,
    pub(crate) intake: Arc<Intake>,
    pub(crate) arrivals: UnboundedReceiver<Spawn>,
}

/// What a finished shutdown reports: one report per member, and whether
/// the deadline cut it short.
pub(crate) struct Outcome {
    pub(crate) reports: Vec<ShutdownReport>,
    pub(crate) deadline_hit: bool,
    pub(crate) total: Duration,
}

impl Coordinator {
    /// Spawn the shutdown of a supervisor on its own, which stores the
    /// report in the supervisor's shared state.
    pub(crate) fn spawn_solo(
        member: MemberTasks,
        intake: Arc<Intake>,
        arrivals: UnboundedReceiver<Spawn>,
    ) {
        let shared = Arc::clone(&member.shared);
        let coordinator = Self {
            root: Arc::clone(&shared),
            members: vec![member],
            intake,
            arrivals,
        };
        tokio::spawn(async move {
            let mut outcome = coordinator.run().await;
            let report = outcome.reports.pop().expect("one report per member");
            shared.books().report().store(report);
        });
    }

    pub(crate) async fn run(mut self) -> Outcome {
        let root = Arc::clone(&self.root);
        self.until_stop_requested().await;
        let stop_at = root
            .protocol()
            .stop_requested_at()
            .unwrap_or_else(Instant::now);
        let deadline = stop_at + root.protocol().shutdown_timeout();
        // Before any task ends and frees its memory (see `Books::report_room`).
        let rooms: Vec<_> = self
            .members
            .iter()
            .map(|member| member.shared.books().report_room())
            .collect();

        let mut marks = Marks::default();
        let drained = tokio::select! {
            biased;
            () = drain(&root, &mut self.members, &mut marks) => true,
            () = tokio::time::sleep_until(deadline) => false,
            () = root.protocol().escalated() => false,
        };
        if !drained {
            self.escalate(&mut marks).await;
        }
        self.drain_monitors().await;

        let solo = self.members.len() == 1;
        let reports: Vec<ShutdownReport> = self
            .members
            .iter()
            .zip(rooms)
            .map(|(member, room)| {
                // On its own, a supervisor's unrouted events are exactly what
                // the gate still counts; in a group, the gate counts for all
                // members, so each counts what its own routing loops left.
                let unrouted = if solo {
                    root.protocol().in_flight()
                } else {
                    member.brokers.iter().map(|b| b.unrouted()).sum()
                };
                report(member, room, unrouted, stop_at, &marks, !drained)
            })
            .collect();
        for report in &reports {
            log_summary(report);
        }
        Outcome {
            reports,
            deadline_hit: !drained,
            total: stop_at.elapsed(),
        }
    }

    /// Let every member's monitors receive every record, so that a monitor's
    /// figures are complete when `stop()` returns; bounded by the grace, as
    /// a monitor stuck in a callback must not hold the shutdown.
    async fn drain_monitors(&self) {
        let all = async {
            for member in &self.members {
                member.monitors.drained().await;
            }
        };
        if tokio::time::timeout(self.root.protocol().shutdown_grace(), all)
            .await
            .is_err()
        {
            warn!("monitors did not take every record within the grace");
        }
    }

    /// Running: until someone asks to stop, an actor fails for good (a
    /// stop request of its own unless the settings keep the rest running),
    /// or every actor of every member has ended on its own (also a stop
    /// request; a supervisor started with no actors runs until it is
    /// stopped, and actors stopped from outside do not count). Meanwhile,
    /// spawn the actors added and reap the tasks that ended. Then close the
    /// intake and spawn what came before.
    async fn until_stop_requested(&mut self) {
        let root = Arc::clone(&self.root);
        let protocol = root.protocol();
        let mut ever_ran = self.members.iter().any(|m| !m.actors.is_empty());
        let failed_for_good = async {
            if !protocol.stop_on_failure() {
                std::future::pending::<()>().await;
            }
            protocol.failure().await;
        };
        let mut failed_for_good = std::pin::pin!(failed_for_good);
        let mut stopping = std::pin::pin!(protocol.stopping());
        loop {
            let members = &mut self.members;
            let next = tokio::select! {
                biased;
                () = &mut stopping => Running::StopRequested,
                () = &mut failed_for_good => {
                    warn!("an actor failed: stopping the rest (SupervisorConfig::with_stop_on_failure)");
                    protocol.request_stop();
                    Running::StopRequested
                }
                Some(spawn) = self.arrivals.recv() => Running::Arrived(spawn),
                ended = next_ended(members) => ended,
            };
            match next {
                Running::StopRequested => break,
                Running::Arrived(spawn) => {
                    ever_ran = true;
                    self.spawn(spawn);
                }
                Running::ActorEnded(on_its_own) => {
                    if on_its_own
                        && ever_ran
                        && self.members.iter().all(|m| m.actors.is_empty())
                        && self.stop_unless_one_arrived(&root)
                    {
                        break;
                    }
                }
                Running::LoopEnded => {}
            }
        }
        self.intake.close();
        while let Ok(spawn) = self.arrivals.try_recv() {
            self.spawn(spawn);
        }
    }

    /// The last actor ended on its own: request the stop, unless an actor
    /// was added meanwhile (then spawn it and return `false`). Under the
    /// intake's lock, so that an add either comes before (and is seen
    /// here) or after (and is refused).
    fn stop_unless_one_arrived(&mut self, root: &Shared) -> bool {
        let sender = self.intake.sender.lock();
        match self.arrivals.try_recv() {
            Ok(spawn) => {
                drop(sender);
                self.spawn(spawn);
                false
            }
            Err(_) => {
                root.protocol().request_stop();
                true
            }
        }
    }

    fn spawn(&mut self, spawn: Spawn) {
        let member = &mut self.members[spawn.member];
        tasks::spawn(&mut member.actors, spawn.actor);
        for routing_loop in spawn.loops {
            tasks::spawn(&mut member.routing_loops, routing_loop);
        }
    }

    /// The deadline passed (or a second signal came): close for everyone,
    /// make actors abandon their mailboxes, let every member's actors run
    /// `on_shutdown`, give running handlers the grace, then abort what is
    /// left.
    async fn escalate(&mut self, marks: &mut Marks) {
        let root = Arc::clone(&self.root);
        root.protocol().close_at_deadline();
        for member in &self.members {
            if let Some(turn) = &member.turn {
                turn.cancel();
            }
            for cell in member.shared.books().cells() {
                cell.wake();
            }
        }
        let grace = if root.protocol().abort_now() {
            Duration::ZERO
        } else {
            root.protocol().shutdown_grace()
        };
        let in_grace = drain(&root, &mut self.members, marks);
        if tokio::time::timeout(grace, in_grace).await.is_err() {
            // The drop guards of the aborted tasks settle what each had in
            // hand: a routing loop its run of deliveries, the copies of the
            // event it was routing and its unrouted events; an actor its
            // event and batch and what is left in its mailbox.
            for member in &mut self.members {
                member.actors.abort_all();
                member.routing_loops.abort_all();
            }
            for member in &mut self.members {
                while member.actors.join_next().await.is_some() {}
                while member.routing_loops.join_next().await.is_some() {}
            }
        }
    }
}

/// A member's routing table, as the coordinator ends it.
pub(crate) trait Routing: Send + Sync {
    /// Every routing loop has ended: let go of the mailbox senders the
    /// registry still holds, so that each actor sees the end of its
    /// mailbox once it is empty.
    fn end(&self);
}

/// What woke the coordinator while running.
enum Running {
    StopRequested,
    Arrived(Spawn),
    /// An actor's task ended; `true` if on its own.
    ActorEnded(bool),
    LoopEnded,
}

/// The next task of any member to end, an actor's or a routing loop's
/// (never, while there is none).
async fn next_ended(members: &mut [MemberTasks]) -> Running {
    std::future::poll_fn(|cx| {
        for member in members.iter_mut() {
            if let Poll::Ready(Some(ended)) = member.actors.poll_join_next(cx) {
                // A task that panicked (the actor's own panics are caught)
                // ended on its own.
                return Poll::Ready(Running::ActorEnded(ended.unwrap_or(true)));
            }
            if let Poll::Ready(Some(_)) = member.routing_loops.poll_join_next(cx) {
                return Poll::Ready(Running::LoopEnded);
            }
        }
        Poll::Pending
    })
    .await
}

/// Wait for the gate to close, then for every routing task, then for the
/// actors member by member, giving each member its turn. Each phase runs
/// in a span carrying its counts.
async fn drain(root: &Shared, members: &mut [MemberTasks], marks: &mut Marks) {
    let in_flight = root.protocol().in_flight();
    root.protocol()
        .closed()
        .instrument(info_span!("maiko.draining", in_flight))
        .await;
    let routing_tasks: usize = members.iter().map(|m| m.routing_loops.len()).sum();
    async {
        for member in members.iter_mut() {
            while member.routing_loops.join_next().await.is_some() {}
        }
    }
    .instrument(info_span!("maiko.closing", routing_tasks))
    .await;
    for member in members.iter() {
        if let Some(routing) = &member.routing {
            routing.end();
        }
    }
    marks.brokers_done.get_or_insert_with(Instant::now);
    let actor_tasks: usize = members.iter().map(|m| m.actors.len()).sum();
    async {
        for member in members.iter_mut() {
            if let Some(turn) = &member.turn {
                turn.cancel();
            }
            while member.actors.join_next().await.is_some() {}
        }
    }
    .instrument(info_span!("maiko.on_shutdown", actor_tasks))
    .await;
    marks.actors_done.get_or_insert_with(Instant::now);
}

/// The report of one member whose tasks have all ended.
fn report(
    member: &MemberTasks,
    room: Vec<ActorReport>,
    unrouted: u64,
    stop_at: Instant,
    marks: &Marks,
    deadline_hit: bool,
) -> ShutdownReport {
    let shared = &member.shared;
    let actors: Vec<ActorReport> = shared.books().reports(deadline_hit, room);
    for actor in actors.iter().filter(|a| a.stuck_in.is_some()) {
        warn!(
            actor = %actor.actor,
            abandoned = actor.abandoned,
            doing = actor.stuck_in.as_deref().unwrap_or_default(),
            outcome = %actor.outcome,
            "actor abandoned at the shutdown deadline"
        );
    }

    let now = Instant::now();
    let closed_at = shared
        .protocol()
        .gate_closed_at()
        .unwrap_or(now)
        .max(stop_at);
    let brokers_done = marks.brokers_done.unwrap_or(now).max(closed_at);
    let actors_done = marks.actors_done.unwrap_or(now).max(brokers_done);
    let phases = PhaseTimes {
        draining: closed_at - stop_at,
        closing: brokers_done - closed_at,
        on_shutdown: actors_done - brokers_done,
    };
    let meters = shared.books().meters();
    meters.shutdown_phases(&phases);
    meters.in_flight(|| shared.protocol().in_flight());
    ShutdownReport {
        actors,
        rejected: shared.books().rejected(),
        unrouted,
        brokers: member
            .brokers
            .iter()
            .map(|b| BrokerReport::new(b.name, b.unrouted()))
            .collect(),
        monitor_records_lost: member.monitors.records_lost(),
        deadline_hit,
        aborted_by_signal: shared.protocol().abort_now(),
        timeout: shared.protocol().shutdown_timeout(),
        phases,
        total: now - stop_at,
        cycles: shared.protocol().waits().at_stop(),
    }
}

/// The report of a supervisor that could not start (an unusable
/// configuration): nothing was started, accepted or routed.
pub(crate) fn report_of_nothing(shared: &Arc<Shared>) -> ShutdownReport {
    let nothing = MemberTasks {
        shared: Arc::clone(shared),
        actors: JoinSet::new(),
        routing_loops: JoinSet::new(),
        brokers: Vec::new(),
        turn: None,
        monitors: Drain::none(),
        routing: None,
    };
    report(
        &nothing,
        Vec::new(),
        0,
        Instant::now(),
        &Marks::default(),
        false,
    )
}

fn log_summary(report: &ShutdownReport) {
    let total = |field: fn(&ActorReport) -> u64| report.actors.iter().map(field).sum::<u64>();
    info!(
        clean = report.is_clean(),
        handled = total(|a| a.handled),
        dropped = total(|a| a.dropped),
        lost = total(|a| a.lost),
        abandoned = report.abandoned(),
        interrupted = total(|a| a.interrupted),
        rejected = report.rejected,
        deadline_hit = report.deadline_hit,
        elapsed = ?report.total,
        "maiko shutdown finished"
    );
}
