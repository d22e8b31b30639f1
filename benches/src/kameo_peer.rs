//! kameo: actors with bounded mailboxes of [`CAPACITY`], messages sent with
//! `tell().await` (waits for room: backpressure like maiko's `Block`).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use kameo::{
    Actor,
    actor::{ActorRef, Spawn},
    error::Infallible,
    mailbox,
    message::{Context, Message},
    supervision::RestartPolicy,
};
use tokio::sync::Notify;

use crate::{
    CAPACITY, Done, DrainMode, Fragile, Go, Payload, Poisoned, RESTART_WINDOW, Ready, Restarts,
    Start, Tally, finished, share,
};

/// Counts what it handles.
struct Counter {
    tally: Tally,
}

impl Actor for Counter {
    type Args = Self;
    type Error = Infallible;

    async fn on_start(args: Self, _: ActorRef<Self>) -> Result<Self, Infallible> {
        Ok(args)
    }
}

impl<const N: usize> Message<Payload<N>> for Counter {
    type Reply = ();

    async fn handle(&mut self, msg: Payload<N>, _: &mut Context<Self, ()>) {
        self.tally.count(&msg);
    }
}

/// A pipeline stage: tells every message, on topic `to`, to the next actor.
struct Stage {
    next: ActorRef<Counter>,
    to: u8,
}

impl Actor for Stage {
    type Args = Self;
    type Error = Infallible;

    async fn on_start(args: Self, _: ActorRef<Self>) -> Result<Self, Infallible> {
        Ok(args)
    }
}

impl Message<Payload<32>> for Stage {
    type Reply = ();

    async fn handle(&mut self, msg: Payload<32>, _: &mut Context<Self, ()>) {
        self.next
            .tell(msg.with_topic(self.to))
            .await
            .expect("next stage alive");
    }
}

fn counter(expect: u64, done: &Arc<Done>, capacity: usize) -> ActorRef<Counter> {
    Counter::spawn_with_mailbox(
        Counter {
            tally: Tally::new(expect, done),
        },
        mailbox::bounded(capacity),
    )
}

/// A task that, once released, tells `n` messages to each of `targets`.
fn producer<const N: usize, A>(targets: Vec<ActorRef<A>>, n: u64, ready: &Ready, start: &Arc<Start>)
where
    A: Message<Payload<N>, Reply = ()>,
{
    let start = Arc::clone(start);
    let ready = ready.clone();
    tokio::spawn(async move {
        ready.wait().await;
        start.mark();
        for seq in 0..n {
            let event = Payload::<N>::new(0, seq);
            for target in &targets {
                target.tell(event).await.expect("actor alive");
            }
        }
    });
}

/// Wait for `actors` to start, release the producers, wait for the end.
async fn measure<A: Actor>(
    actors: &[ActorRef<A>],
    go: Go,
    start: &Start,
    end: tokio::sync::oneshot::Receiver<Instant>,
) -> Duration {
    for actor in actors {
        actor.wait_for_startup().await;
    }
    go.fire().await;
    finished(end).await - start.get()
}

async fn stop_all<A: Actor>(actors: &[ActorRef<A>]) {
    for actor in actors {
        actor.stop_gracefully().await.expect("stop");
    }
    for actor in actors {
        actor.wait_for_shutdown().await;
    }
}

/// A producer task telling one counter actor.
pub async fn one_to_one<const N: usize>(n: u64) -> Duration {
    let start = Start::new();
    let (go, ready) = Go::new();
    let (done, end) = Done::new(1);
    let actor = counter(n, &done, CAPACITY);
    producer::<N, _>(vec![actor.clone()], n, &ready, &start);
    let elapsed = measure(std::slice::from_ref(&actor), go, &start, end).await;
    stop_all(&[actor]).await;
    elapsed
}

/// A producer task telling every message to `subscribers` actors.
pub async fn fan_out(n: u64, subscribers: usize) -> Duration {
    let start = Start::new();
    let (go, ready) = Go::new();
    let (done, end) = Done::new(subscribers);
    let actors: Vec<_> = (0..subscribers)
        .map(|_| counter(n, &done, CAPACITY))
        .collect();
    producer::<32, _>(actors.clone(), n, &ready, &start);
    let elapsed = measure(&actors, go, &start, end).await;
    stop_all(&actors).await;
    elapsed
}

/// `producers` tasks telling one actor, `n` messages in all.
pub async fn fan_in(n: u64, producers: usize) -> Duration {
    let start = Start::new();
    let (go, ready) = Go::new();
    let (done, end) = Done::new(1);
    let actor = counter(n, &done, CAPACITY);
    for i in 0..producers {
        producer::<32, _>(vec![actor.clone()], share(n, producers, i), &ready, &start);
    }
    let elapsed = measure(std::slice::from_ref(&actor), go, &start, end).await;
    stop_all(&[actor]).await;
    elapsed
}

/// Source task -> transform actor -> sink actor.
pub async fn pipeline(n: u64) -> Duration {
    let start = Start::new();
    let (go, ready) = Go::new();
    let (done, end) = Done::new(1);
    let sink = counter(n, &done, CAPACITY);
    let stage = Stage::spawn_with_mailbox(
        Stage {
            next: sink.clone(),
            to: 1,
        },
        mailbox::bounded(CAPACITY),
    );
    producer::<32, _>(vec![stage.clone()], n, &ready, &start);
    sink.wait_for_startup().await;
    let elapsed = measure(std::slice::from_ref(&stage), go, &start, end).await;
    stop_all(&[stage]).await;
    stop_all(&[sink]).await;
    elapsed
}

async fn idle_actors(actors: usize) -> Vec<ActorRef<Counter>> {
    let (done, _end) = Done::new(actors);
    let refs: Vec<_> = (0..actors).map(|_| counter(1, &done, CAPACITY)).collect();
    for actor in &refs {
        actor.wait_for_startup().await;
    }
    crate::settle().await;
    refs
}

/// `stop_gracefully()` then `wait_for_shutdown()` on each of `actors` idle
/// actors.
pub async fn idle_stop(actors: usize) -> Duration {
    let refs = idle_actors(actors).await;
    let t0 = Instant::now();
    stop_all(&refs).await;
    t0.elapsed()
}

/// Live bytes per idle actor.
pub async fn idle_actor_bytes(actors: usize, live_bytes: fn() -> usize) -> f64 {
    let before = live_bytes();
    let refs = idle_actors(actors).await;
    let after = live_bytes();
    stop_all(&refs).await;
    (after as f64 - before as f64) / actors as f64
}

/// Blocks in its first handler until released, then counts.
struct Gated {
    gate: Option<Arc<Notify>>,
    tally: Tally,
}

impl Actor for Gated {
    type Args = Self;
    type Error = Infallible;

    async fn on_start(args: Self, _: ActorRef<Self>) -> Result<Self, Infallible> {
        Ok(args)
    }
}

impl Message<Payload<32>> for Gated {
    type Reply = ();

    async fn handle(&mut self, msg: Payload<32>, _: &mut Context<Self, ()>) {
        if let Some(gate) = self.gate.take() {
            gate.notified().await;
        }
        self.tally.count(&msg);
    }
}

type End = tokio::sync::oneshot::Receiver<Instant>;

async fn stuck(pending: u64) -> (ActorRef<Gated>, Arc<Notify>, End) {
    let gate = Arc::new(Notify::new());
    let (done, end) = Done::new(1);
    let actor = Gated::spawn_with_mailbox(
        Gated {
            gate: Some(Arc::clone(&gate)),
            tally: Tally::new(pending, &done),
        },
        mailbox::bounded(crate::BACKLOG_CAPACITY),
    );
    actor.wait_for_startup().await;
    (actor, gate, end)
}

async fn fill(actor: &ActorRef<Gated>, pending: u64) {
    for seq in 0..pending {
        actor.tell(Payload::<32>::new(0, seq)).await.expect("tell");
    }
    crate::settle().await;
}

/// The drain with kameo: `pending` messages behind a stuck handler; then
/// either keep running or `stop_gracefully()` + `wait_for_shutdown()`
/// (which handles the messages queued before the stop).
///
/// # Panics
///
/// If the stop returned before every message was handled.
pub async fn drain(pending: u64, mode: DrainMode) -> Duration {
    let (actor, gate, mut end) = stuck(pending).await;
    fill(&actor, pending).await;
    let t0 = Instant::now();
    gate.notify_one();
    match mode {
        DrainMode::Running => {
            let end = finished(end).await;
            stop_all(&[actor]).await;
            end - t0
        }
        DrainMode::Stop => {
            stop_all(&[actor]).await;
            let elapsed = t0.elapsed();
            end.try_recv().expect("backlog handled before shutdown");
            elapsed
        }
    }
}

/// Live bytes per message waiting in a bounded mailbox.
pub async fn queued_event_bytes(pending: u64, live_bytes: fn() -> usize) -> f64 {
    let (actor, gate, end) = stuck(pending).await;
    crate::settle().await;
    let before = live_bytes();
    fill(&actor, pending).await;
    let after = live_bytes();
    gate.notify_one();
    finished(end).await;
    stop_all(&[actor]).await;
    (after as f64 - before as f64) / pending as f64
}

/// The supervisor of the restart workload: spawns nothing itself and
/// restarts its one child (the default strategy, one for one).
struct Parent;

impl Actor for Parent {
    type Args = Self;
    type Error = Infallible;

    async fn on_start(args: Self, _: ActorRef<Self>) -> Result<Self, Infallible> {
        Ok(args)
    }
}

/// The actor of the restart workload: each start builds a new instance;
/// its handler returns an error on the poison event, which fails it (a
/// `tell` whose reply is `Err` goes to `on_panic`, which stops the actor).
struct FragileActor(Fragile);

impl Actor for FragileActor {
    type Args = Arc<Restarts>;
    type Error = Infallible;

    async fn on_start(restarts: Arc<Restarts>, _: ActorRef<Self>) -> Result<Self, Infallible> {
        Ok(Self(Fragile::new(&restarts)))
    }
}

impl Message<Payload<32>> for FragileActor {
    type Reply = Result<(), Poisoned>;

    async fn handle(
        &mut self,
        msg: Payload<32>,
        _: &mut Context<Self, Self::Reply>,
    ) -> Self::Reply {
        self.0.handle(&msg)
    }
}

/// The cost of a supervised restart with kameo: one child spawned with
/// `supervise` under a parent actor, `RestartPolicy::Transient` (restarted
/// when it fails), `restart_limit(u32::MAX, RESTART_WINDOW)` (never runs
/// out) and a bounded mailbox, kept across restarts. Measured over
/// `restarts` restarts: tell the poison message, then a normal one, and
/// wait until the instance started after the failure has handled the
/// normal one.
///
/// # Panics
///
/// If a normal message was handled by another instance than the one started
/// after the poison before it.
pub async fn restart(restarts: u64) -> Duration {
    let shared = Restarts::new();
    let parent = Parent::spawn(Parent);
    parent.wait_for_startup().await;
    let child = FragileActor::supervise(&parent, Arc::clone(&shared))
        .restart_policy(RestartPolicy::Transient)
        .restart_limit(u32::MAX, RESTART_WINDOW)
        .spawn_with_mailbox(mailbox::bounded(CAPACITY))
        .await;
    // The first instance is up once it has handled a message (not measured).
    child.tell(Payload::<32>::new(0, 0)).await.expect("tell");
    shared.handled_by(0).await;
    let t0 = Instant::now();
    for instance in 1..=restarts {
        child.tell(Payload::<32>::poison()).await.expect("tell");
        child
            .tell(Payload::<32>::new(0, instance))
            .await
            .expect("tell");
        shared.handled_by(instance).await;
    }
    let elapsed = t0.elapsed();
    drop(child);
    stop_all(&[parent]).await;
    assert_eq!(shared.built(), restarts + 1, "instances started");
    elapsed
}
