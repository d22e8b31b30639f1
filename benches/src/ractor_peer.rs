//! ractor: actors with its unbounded mailboxes, messages sent with
//! `send_message` (no backpressure).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio::task::JoinHandle;

use crate::{Done, Go, Payload, Ready, Start, Tally, finished, share};

/// Counts what it handles; the state is the tally.
struct Counter<const N: usize>;

impl<const N: usize> Actor for Counter<N> {
    type Msg = Payload<N>;
    type State = Tally;
    type Arguments = Tally;

    async fn pre_start(
        &self,
        _: ActorRef<Payload<N>>,
        tally: Tally,
    ) -> Result<Tally, ActorProcessingErr> {
        Ok(tally)
    }

    async fn handle(
        &self,
        _: ActorRef<Payload<N>>,
        message: Payload<N>,
        tally: &mut Tally,
    ) -> Result<(), ActorProcessingErr> {
        tally.count(&message);
        Ok(())
    }
}

/// A pipeline stage: forwards every message, on topic `to`, to the next.
struct Stage;

impl Actor for Stage {
    type Msg = Payload<32>;
    type State = (ActorRef<Payload<32>>, u8);
    type Arguments = (ActorRef<Payload<32>>, u8);

    async fn pre_start(
        &self,
        _: ActorRef<Payload<32>>,
        next: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(next)
    }

    async fn handle(
        &self,
        _: ActorRef<Payload<32>>,
        message: Payload<32>,
        (next, to): &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        next.send_message(message.with_topic(*to))?;
        Ok(())
    }
}

type Spawned<M> = (ActorRef<M>, JoinHandle<()>);

async fn counter<const N: usize>(expect: u64, done: &Arc<Done>) -> Spawned<Payload<N>> {
    Actor::spawn(None, Counter::<N>, Tally::new(expect, done))
        .await
        .expect("spawn")
}

/// A task that, once released, sends `n` messages to each of `targets`.
fn producer<const N: usize>(
    targets: Vec<ActorRef<Payload<N>>>,
    n: u64,
    ready: &Ready,
    start: &Arc<Start>,
) {
    let start = Arc::clone(start);
    let ready = ready.clone();
    tokio::spawn(async move {
        ready.wait().await;
        start.mark();
        for seq in 0..n {
            let event = Payload::<N>::new(0, seq);
            for target in &targets {
                target.send_message(event).expect("actor alive");
            }
        }
    });
}

async fn stop_all<M: ractor::Message>(actors: Vec<Spawned<M>>) {
    let mut handles = Vec::with_capacity(actors.len());
    for (actor, handle) in actors {
        actor.stop(None);
        handles.push(handle);
    }
    for handle in handles {
        handle.await.expect("actor task");
    }
}

/// A producer task sending to one counter actor.
pub async fn one_to_one<const N: usize>(n: u64) -> Duration {
    let start = Start::new();
    let (go, ready) = Go::new();
    let (done, end) = Done::new(1);
    let actor = counter::<N>(n, &done).await;
    producer(vec![actor.0.clone()], n, &ready, &start);
    go.fire().await;
    let end = finished(end).await;
    stop_all(vec![actor]).await;
    end - start.get()
}

/// A producer task sending every message to `subscribers` actors.
pub async fn fan_out(n: u64, subscribers: usize) -> Duration {
    let start = Start::new();
    let (go, ready) = Go::new();
    let (done, end) = Done::new(subscribers);
    let mut actors = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        actors.push(counter::<32>(n, &done).await);
    }
    producer(
        actors.iter().map(|a| a.0.clone()).collect(),
        n,
        &ready,
        &start,
    );
    go.fire().await;
    let end = finished(end).await;
    stop_all(actors).await;
    end - start.get()
}

/// `producers` tasks sending to one actor, `n` messages in all.
pub async fn fan_in(n: u64, producers: usize) -> Duration {
    let start = Start::new();
    let (go, ready) = Go::new();
    let (done, end) = Done::new(1);
    let actor = counter::<32>(n, &done).await;
    for i in 0..producers {
        producer(
            vec![actor.0.clone()],
            share(n, producers, i),
            &ready,
            &start,
        );
    }
    go.fire().await;
    let end = finished(end).await;
    stop_all(vec![actor]).await;
    end - start.get()
}

/// Source task -> transform actor -> sink actor.
pub async fn pipeline(n: u64) -> Duration {
    let start = Start::new();
    let (go, ready) = Go::new();
    let (done, end) = Done::new(1);
    let sink = counter::<32>(n, &done).await;
    let stage = Actor::spawn(None, Stage, (sink.0.clone(), 1))
        .await
        .expect("spawn");
    producer(vec![stage.0.clone()], n, &ready, &start);
    go.fire().await;
    let end = finished(end).await;
    stop_all(vec![stage, sink]).await;
    end - start.get()
}

async fn idle_actors(actors: usize) -> Vec<Spawned<Payload<32>>> {
    let (done, _end) = Done::new(actors);
    let mut spawned = Vec::with_capacity(actors);
    for _ in 0..actors {
        spawned.push(counter::<32>(1, &done).await);
    }
    crate::settle().await;
    spawned
}

/// `stop(None)` on each of `actors` idle actors, then join them all.
pub async fn idle_stop(actors: usize) -> Duration {
    let spawned = idle_actors(actors).await;
    let t0 = Instant::now();
    stop_all(spawned).await;
    t0.elapsed()
}

/// Live bytes per idle actor.
pub async fn idle_actor_bytes(actors: usize, live_bytes: fn() -> usize) -> f64 {
    let before = live_bytes();
    let spawned = idle_actors(actors).await;
    let after = live_bytes();
    stop_all(spawned).await;
    (after as f64 - before as f64) / actors as f64
}

/// Blocks in its first handler until released, then counts.
struct Gated;

impl Actor for Gated {
    type Msg = Payload<32>;
    type State = (Option<Arc<tokio::sync::Notify>>, Tally);
    type Arguments = Self::State;

    async fn pre_start(
        &self,
        _: ActorRef<Payload<32>>,
        state: Self::State,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(state)
    }

    async fn handle(
        &self,
        _: ActorRef<Payload<32>>,
        message: Payload<32>,
        (gate, tally): &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(gate) = gate.take() {
            gate.notified().await;
        }
        tally.count(&message);
        Ok(())
    }
}

/// Live bytes per message waiting in an (unbounded) mailbox.
pub async fn queued_event_bytes(pending: u64, live_bytes: fn() -> usize) -> f64 {
    let gate = Arc::new(tokio::sync::Notify::new());
    let (done, end) = Done::new(1);
    let actor = Actor::spawn(
        None,
        Gated,
        (Some(Arc::clone(&gate)), Tally::new(pending + 1, &done)),
    )
    .await
    .expect("spawn");
    actor.0.send_message(Payload::new(0, 0)).expect("send");
    crate::settle().await;
    let before = live_bytes();
    for seq in 1..=pending {
        actor.0.send_message(Payload::new(0, seq)).expect("send");
    }
    let after = live_bytes();
    gate.notify_one();
    finished(end).await;
    stop_all(vec![actor]).await;
    (after as f64 - before as f64) / pending as f64
}
