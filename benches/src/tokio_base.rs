//! Plain-tokio baselines: spawned tasks and bounded `mpsc` channels of
//! [`CAPACITY`], the same measured span as the actor workloads.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::{
    sync::{Notify, mpsc},
    task::JoinSet,
};

use crate::{
    CAPACITY, Done, DrainMode, Fragile, Go, LANES, Payload, Ready, Restarts, SCALING_TOPICS, Start,
    Tally, finished, share,
};

/// A task that counts `expect` events from `rx`.
fn consumer<const N: usize>(mut rx: mpsc::Receiver<Payload<N>>, expect: u64, done: &Arc<Done>) {
    let mut tally = Tally::new(expect, done);
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            tally.count(&event);
        }
    });
}

/// A task that forwards everything from `rx` to `tx`, optionally moving it
/// to another topic.
fn forwarder<const N: usize>(
    mut rx: mpsc::Receiver<Payload<N>>,
    tx: mpsc::Sender<Payload<N>>,
    to: Option<u8>,
) {
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            let event = match to {
                Some(topic) => event.with_topic(topic),
                None => event,
            };
            if tx.send(event).await.is_err() {
                break;
            }
        }
    });
}

/// A task that, once released, sends `n` events to `tx`.
fn producer<const N: usize>(
    tx: mpsc::Sender<Payload<N>>,
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
            tx.send(Payload::new(0, seq)).await.expect("consumer alive");
        }
    });
}

/// Release the producers and wait for the end of the measured span.
async fn measure(go: Go, start: &Start, end: tokio::sync::oneshot::Receiver<Instant>) -> Duration {
    go.fire().await;
    finished(end).await - start.get()
}

/// Producer task -> bounded channel -> consumer task.
pub async fn one_hop<const N: usize>(n: u64) -> Duration {
    let start = Start::new();
    let (go, ready) = Go::new();
    let (done, end) = Done::new(1);
    let (tx, rx) = mpsc::channel(CAPACITY);
    consumer::<N>(rx, n, &done);
    producer(tx, n, &ready, &start);
    measure(go, &start, end).await
}

/// Producer task -> channel -> forwarder task -> channel -> consumer task:
/// the shape of a brokered delivery.
pub async fn two_hops<const N: usize>(n: u64) -> Duration {
    let start = Start::new();
    let (go, ready) = Go::new();
    let (done, end) = Done::new(1);
    let (tx, rx) = mpsc::channel(CAPACITY);
    let (tx2, rx2) = mpsc::channel(CAPACITY);
    consumer::<N>(rx2, n, &done);
    forwarder(rx, tx2, None);
    producer(tx, n, &ready, &start);
    measure(go, &start, end).await
}

/// One producer task sending every event to `consumers` channels.
pub async fn fan_out(n: u64, consumers: usize) -> Duration {
    let start = Start::new();
    let (go, ready) = Go::new();
    let (done, end) = Done::new(consumers);
    let mut txs = Vec::with_capacity(consumers);
    for _ in 0..consumers {
        let (tx, rx) = mpsc::channel::<Payload<32>>(CAPACITY);
        consumer(rx, n, &done);
        txs.push(tx);
    }
    let start_for = Arc::clone(&start);
    tokio::spawn(async move {
        ready.wait().await;
        start_for.mark();
        for seq in 0..n {
            let event = Payload::new(0, seq);
            for tx in &txs {
                tx.send(event).await.expect("consumer alive");
            }
        }
    });
    measure(go, &start, end).await
}

/// `producers` producer tasks into one channel, `n` events in all; with
/// `forward`, through a forwarder task (two hops).
pub async fn fan_in(n: u64, producers: usize, forward: bool) -> Duration {
    let start = Start::new();
    let (go, ready) = Go::new();
    let (done, end) = Done::new(1);
    let (tx, rx) = mpsc::channel::<Payload<32>>(CAPACITY);
    if forward {
        let (tx2, rx2) = mpsc::channel(CAPACITY);
        consumer(rx2, n, &done);
        forwarder(rx, tx2, None);
    } else {
        consumer(rx, n, &done);
    }
    for i in 0..producers {
        producer(tx.clone(), share(n, producers, i), &ready, &start);
    }
    drop(tx);
    measure(go, &start, end).await
}

/// The baseline of the producers workload: `producers` producer tasks
/// sending into one bounded channel drained by one consumer task, `n`
/// events in all (each task its [`share`]); [`fan_in`] without a forwarder.
pub async fn producers(n: u64, producers: usize) -> Duration {
    fan_in(n, producers, false).await
}

/// Source task -> transform task -> sink task (two hops); with `forward`,
/// a forwarder task between each pair (four hops, the brokered shape).
pub async fn pipeline(n: u64, forward: bool) -> Duration {
    let start = Start::new();
    let (go, ready) = Go::new();
    let (done, end) = Done::new(1);
    let (tx_sink, rx_sink) = mpsc::channel::<Payload<32>>(CAPACITY);
    consumer(rx_sink, n, &done);
    let (tx_stage, rx_stage) = mpsc::channel(CAPACITY);
    if forward {
        let (tx_fwd, rx_fwd) = mpsc::channel(CAPACITY);
        forwarder(rx_fwd, tx_sink, None);
        forwarder(rx_stage, tx_fwd, Some(1));
    } else {
        forwarder(rx_stage, tx_sink, Some(1));
    }
    if forward {
        let (tx_src, rx_src) = mpsc::channel(CAPACITY);
        forwarder(rx_src, tx_stage, None);
        producer(tx_src, n, &ready, &start);
    } else {
        producer(tx_stage, n, &ready, &start);
    }
    measure(go, &start, end).await
}

/// `consumers` consumer tasks spread over 100 topics; one producer task
/// routes each event to the channels of its topic's consumers.
pub async fn scaling(consumers: usize, events: u64) -> Duration {
    let topics = usize::from(SCALING_TOPICS);
    let start = Start::new();
    let (go, ready) = Go::new();
    let (done, end) = Done::new(consumers);
    let mut routes: Vec<Vec<mpsc::Sender<Payload<32>>>> = vec![Vec::new(); topics];
    for i in 0..consumers {
        let (tx, rx) = mpsc::channel(CAPACITY);
        consumer(rx, events / topics as u64, &done);
        routes[i % topics].push(tx);
    }
    let start_for = Arc::clone(&start);
    tokio::spawn(async move {
        ready.wait().await;
        start_for.mark();
        for seq in 0..events {
            let topic = (seq % topics as u64) as u8;
            let event = Payload::new(topic, seq);
            for tx in &routes[usize::from(topic)] {
                tx.send(event).await.expect("consumer alive");
            }
        }
    });
    measure(go, &start, end).await
}

/// The baseline of the broker workload: one producer task sending each of
/// `n` events (a multiple of [`LANES`]), cycling over the lanes, into the
/// channel of its lane's consumer task, one per lane.
pub async fn lanes(n: u64) -> Duration {
    let lanes = u64::from(LANES);
    assert_eq!(n % lanes, 0, "n must be a multiple of the lanes");
    let start = Start::new();
    let (go, ready) = Go::new();
    let (done, end) = Done::new(usize::from(LANES));
    let txs: Vec<mpsc::Sender<Payload<32>>> = (0..LANES)
        .map(|_| {
            let (tx, rx) = mpsc::channel(CAPACITY);
            consumer(rx, n / lanes, &done);
            tx
        })
        .collect();
    let start_for = Arc::clone(&start);
    tokio::spawn(async move {
        ready.wait().await;
        start_for.mark();
        for seq in 0..n {
            let lane = (seq % lanes) as u8;
            let event = Payload::new(lane, seq);
            txs[usize::from(lane)]
                .send(event)
                .await
                .expect("consumer alive");
        }
    });
    measure(go, &start, end).await
}

/// Stop `tasks` idle tasks, each waiting on its own channel: drop every
/// sender and join every task.
pub async fn idle_stop(tasks: usize) -> Duration {
    let mut set = JoinSet::new();
    let mut senders = Vec::with_capacity(tasks);
    for _ in 0..tasks {
        let (tx, mut rx) = mpsc::channel::<Payload<32>>(CAPACITY);
        senders.push(tx);
        set.spawn(async move { while rx.recv().await.is_some() {} });
    }
    crate::settle().await;
    let t0 = Instant::now();
    drop(senders);
    while set.join_next().await.is_some() {}
    t0.elapsed()
}

/// Live bytes per idle task with its channel.
pub async fn idle_task_bytes(tasks: usize, live_bytes: fn() -> usize) -> f64 {
    let before = live_bytes();
    let mut set = JoinSet::new();
    let mut senders = Vec::with_capacity(tasks);
    for _ in 0..tasks {
        let (tx, mut rx) = mpsc::channel::<Payload<32>>(CAPACITY);
        senders.push(tx);
        set.spawn(async move { while rx.recv().await.is_some() {} });
    }
    crate::settle().await;
    let after = live_bytes();
    drop(senders);
    while set.join_next().await.is_some() {}
    (after as f64 - before as f64) / tasks as f64
}

/// A consumer task stuck before its first event, and its channel.
fn stuck(
    pending: u64,
) -> (
    mpsc::Sender<Payload<32>>,
    Arc<Notify>,
    tokio::sync::oneshot::Receiver<Instant>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, mut rx) = mpsc::channel::<Payload<32>>(crate::BACKLOG_CAPACITY);
    let gate = Arc::new(Notify::new());
    let (done, end) = Done::new(1);
    let mut tally = Tally::new(pending, &done);
    let gate_for = Arc::clone(&gate);
    let task = tokio::spawn(async move {
        gate_for.notified().await;
        while let Some(event) = rx.recv().await {
            tally.count(&event);
        }
    });
    (tx, gate, end, task)
}

/// The drain baseline: `pending` events queued in a channel; release the
/// consumer and either wait for the last event or close the channel and
/// join the task.
pub async fn drain(pending: u64, mode: DrainMode) -> Duration {
    let (tx, gate, mut end, task) = stuck(pending);
    for seq in 0..pending {
        tx.send(Payload::new(0, seq)).await.expect("send");
    }
    crate::settle().await;
    let t0 = Instant::now();
    gate.notify_one();
    match mode {
        DrainMode::Running => {
            let end = finished(end).await;
            drop(tx);
            task.await.expect("consumer");
            end - t0
        }
        DrainMode::Stop => {
            drop(tx);
            task.await.expect("consumer");
            let elapsed = t0.elapsed();
            end.try_recv().expect("backlog handled");
            elapsed
        }
    }
}

/// Live bytes per event queued in a bounded channel.
pub async fn queued_event_bytes(pending: u64, live_bytes: fn() -> usize) -> f64 {
    let (tx, gate, end, task) = stuck(pending);
    crate::settle().await;
    let before = live_bytes();
    for seq in 0..pending {
        tx.send(Payload::new(0, seq)).await.expect("send");
    }
    let after = live_bytes();
    gate.notify_one();
    finished(end).await;
    drop(tx);
    task.await.expect("consumer");
    (after as f64 - before as f64) / pending as f64
}

/// The restart baseline, the cheapest restart there is: one task that, when
/// handling an event fails, drops its state and builds a new one, and goes
/// on reading the same channel. Measured over `restarts` restarts: send the
/// poison event, then a normal event, and wait until the new state has
/// handled the normal one.
///
/// # Panics
///
/// If a normal event was handled by another state than the one built after
/// the poison before it.
pub async fn restart(restarts: u64) -> Duration {
    let shared = Restarts::new();
    let (tx, mut rx) = mpsc::channel::<Payload<32>>(CAPACITY);
    let for_task = Arc::clone(&shared);
    let task = tokio::spawn(async move {
        let mut state = Fragile::new(&for_task);
        while let Some(event) = rx.recv().await {
            if state.handle(&event).is_err() {
                drop(state);
                state = Fragile::new(&for_task);
            }
        }
    });
    // The first state is up once it has handled an event (not measured).
    tx.send(Payload::new(0, 0)).await.expect("task alive");
    shared.handled_by(0).await;
    let t0 = Instant::now();
    for instance in 1..=restarts {
        tx.send(Payload::poison()).await.expect("task alive");
        tx.send(Payload::new(0, instance))
            .await
            .expect("task alive");
        shared.handled_by(instance).await;
    }
    let elapsed = t0.elapsed();
    drop(tx);
    task.await.expect("task");
    assert_eq!(shared.built(), restarts + 1, "states built");
    elapsed
}
