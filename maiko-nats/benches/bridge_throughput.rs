//! Bridged throughput against its baseline, in one run: events per second
//! from a publisher through JetStream to a consumer that has handled and
//! acknowledged them all, on a loopback `nats-server -js`.
//!
//! - **plain async-nats**: a task publishes with `Nats-Msg-Id` and hands
//!   each acknowledgement future to a task that awaits them, at most 256
//!   in flight; a task pulls batches of 256, holds at most
//!   512 messages, decodes each, and acknowledges it with the server's
//!   confirmation, concurrently.
//! - **maiko-nats**: a supervisor publishes through an outbound bridge (256
//!   in flight); another one receives through an inbound bridge (batches of
//!   256, 512 in hand) into an actor, and the bridge acknowledges each
//!   message with confirmation once the actor has handled it.
//!
//! Both carry the same JSON events. Trials alternate between the two; the
//! medians and their ratio are printed (with `-- --markdown`, also the
//! section `benches/results/nats.md` holds). `cargo bench -p maiko-nats`;
//! `MAIKO_NATS_BENCH_EVENTS` and `MAIKO_NATS_BENCH_TRIALS` change the size.
//! Without `nats-server` it prints why and exits 0; run by `cargo test
//! --benches` (no `--bench` argument), it does one small trial of each.

#[allow(dead_code)]
#[path = "../tests/support/server.rs"]
mod server;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use async_nats::{
    Request,
    jetstream::{self, consumer::pull, message::PublishMessage},
};
use futures_util::{StreamExt, stream::FuturesUnordered};
use maiko::*;
use maiko_nats::{Inbound, Outbound};
use serde::{Deserialize, Serialize};

const IN_FLIGHT: usize = 256;
const BATCH: usize = 256;
const IN_HAND: usize = 512;
/// maiko-nats's throughput at least this fraction of plain async-nats's.
const GOAL: f64 = 0.9;

#[derive(Event, Clone, Debug, Serialize, Deserialize)]
struct Tick {
    seq: u64,
    body: String,
}

fn tick(seq: u64) -> Tick {
    Tick {
        seq,
        body: "b".repeat(32),
    }
}

fn count_from_env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name} is a count")))
        .unwrap_or(default)
}

async fn make_stream(js: &jetstream::Context, name: &str) {
    js.create_stream(jetstream::stream::Config {
        name: name.to_owned(),
        subjects: vec![format!("{name}.>")],
        ..Default::default()
    })
    .await
    .expect("create the stream");
    js.get_stream(name)
        .await
        .expect("the stream")
        .create_consumer(pull::Config {
            durable_name: Some("bench".into()),
            ..Default::default()
        })
        .await
        .expect("create the consumer");
}

/// The baseline: async-nats alone, with the same pipelining.
async fn plain(js: &jetstream::Context, stream: &str, events: u64) -> Duration {
    make_stream(js, stream).await;
    let consumer: jetstream::consumer::PullConsumer = js
        .get_stream(stream)
        .await
        .unwrap()
        .get_consumer("bench")
        .await
        .unwrap();
    let client = js.client();
    let acked = Arc::new(AtomicU64::new(0));

    let reader = {
        let acked = Arc::clone(&acked);
        tokio::spawn(async move {
            let mut acking = FuturesUnordered::new();
            while acked.load(Ordering::Relaxed) < events {
                let room = IN_HAND - acking.len();
                if room < BATCH / 2 {
                    acking.next().await;
                    acked.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let mut batch = consumer
                    .batch()
                    .max_messages(room.min(BATCH))
                    .expires(Duration::from_secs(1))
                    .messages()
                    .await
                    .expect("pull");
                // Until the pull ends, or everything is acknowledged (the
                // last pull may still be waiting on the server for more).
                while acked.load(Ordering::Relaxed) < events {
                    tokio::select! {
                        Some(()) = acking.next(), if !acking.is_empty() => {
                            acked.fetch_add(1, Ordering::Relaxed);
                        }
                        message = batch.next() => match message {
                            Some(Ok(message)) => {
                                let event: Tick = serde_json::from_slice(&message.payload).expect("json");
                                std::hint::black_box(event.seq);
                                let client = client.clone();
                                acking.push(async move {
                                    let reply = message.reply.clone().expect("a reply subject");
                                    client
                                        .send_request(reply, Request::new().payload("+ACK".into()))
                                        .await
                                        .expect("ack confirmed");
                                });
                            }
                            Some(Err(error)) => panic!("pull: {error}"),
                            None => break,
                        }
                    }
                }
            }
            while acking.next().await.is_some() {
                acked.fetch_add(1, Ordering::Relaxed);
            }
        })
    };

    // Acknowledgements awaited by a task of their own, at most IN_FLIGHT
    // at once, while the publishing task goes on: the bridge's shape.
    let room = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let (hand_over, mut taken) = tokio::sync::mpsc::unbounded_channel::<(
        jetstream::context::PublishAckFuture,
        tokio::sync::OwnedSemaphorePermit,
    )>();
    let confirmer = tokio::spawn(async move {
        let mut confirming = FuturesUnordered::new();
        let mut open = true;
        loop {
            tokio::select! {
                Some(()) = confirming.next(), if !confirming.is_empty() => {}
                next = taken.recv(), if open => match next {
                    Some((ack, permit)) => confirming.push(async move {
                        ack.await.expect("stored");
                        drop(permit);
                    }),
                    None => open = false,
                },
                else => break,
            }
        }
    });
    let started = Instant::now();
    for seq in 0..events {
        let permit = Arc::clone(&room).acquire_owned().await.expect("open");
        let payload = serde_json::to_vec(&tick(seq)).expect("json");
        let ack = js
            .send_publish(
                format!("{stream}.ticks"),
                PublishMessage::build()
                    .payload(payload.into())
                    .message_id(EventId::new().to_string()),
            )
            .await
            .expect("publish");
        hand_over.send((ack, permit)).expect("the confirmer runs");
    }
    drop(hand_over);
    confirmer.await.expect("the confirmer");
    reader.await.expect("the reader");
    started.elapsed()
}

/// Counts what it handles.
struct Counter(Arc<AtomicU64>);

impl Actor for Counter {
    type Event = Tick;
    async fn handle_event(&mut self, envelope: &Envelope<Tick>) -> Result {
        std::hint::black_box(envelope.event().seq);
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// The same through two supervisors and the bridges.
async fn bridged(js: &jetstream::Context, stream: &str, events: u64) -> Duration {
    make_stream(js, stream).await;
    let handled = Arc::new(AtomicU64::new(0));
    let mut consuming = Supervisor::<Tick>::default();
    let count = Arc::clone(&handled);
    consuming
        .add_actor("counter", move |_| Counter(count), [DefaultTopic])
        .unwrap();
    let inbound = Inbound::new(stream, "bench")
        .with_batch(BATCH)
        .with_max_in_flight(IN_HAND)
        .attach(&mut consuming)
        .unwrap();
    consuming.start().await.unwrap();
    let consumer = inbound.bind(js).await.unwrap();
    let watch = consumer.handle();
    let pulling = tokio::spawn(consumer.run());

    let mut producing = Supervisor::<Tick>::default();
    let subject = format!("{stream}.ticks");
    Outbound::new(js.clone(), move |_: &Tick| subject.clone())
        .with_max_in_flight(IN_FLIGHT)
        .attach(&mut producing, [DefaultTopic])
        .unwrap();
    producing.start().await.unwrap();

    let started = Instant::now();
    for seq in 0..events {
        producing.send(tick(seq)).await.unwrap();
    }

    // The end is the last acknowledgement confirmed, as for the baseline
    // (read every half millisecond: a benchmark's clock, not a test's
    // synchronisation).
    while watch.stats().acked < events {
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    let elapsed = started.elapsed();
    producing.stop().await.unwrap();
    consuming.stop().await.unwrap();
    pulling.await.unwrap();
    assert_eq!(handled.load(Ordering::Relaxed), events);
    elapsed
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let Some(binary) = server::binary() else {
        println!("bridge_throughput: skipped: {}", server::INSTALL_HINT);
        return;
    };
    let timed = std::env::args().any(|a| a == "--bench");
    let markdown = std::env::args().any(|a| a == "--markdown");
    let events = if timed {
        count_from_env("MAIKO_NATS_BENCH_EVENTS", 20_000)
    } else {
        500
    };
    let trials = if timed {
        count_from_env("MAIKO_NATS_BENCH_TRIALS", 5)
    } else {
        1
    };
    let server = server::NatsServer::start_from(Some(binary));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let client = async_nats::connect(server.url()).await.expect("connect");
        let js = jetstream::new(client.clone());
        // One of each to warm up (connections, allocations, the server).
        plain(&js, "WARMP", events.min(2_000)).await;
        bridged(&js, "WARMB", events.min(2_000)).await;
        let (mut plain_rates, mut bridged_rates) = (Vec::new(), Vec::new());
        for trial in 0..trials {
            // Alternate which goes first, so a drifting machine hurts both.
            let run = |first_plain: bool| {
                let js = js.clone();
                async move {
                    let (p, b) = if first_plain {
                        let p = plain(&js, &format!("P{trial}"), events).await;
                        (p, bridged(&js, &format!("B{trial}"), events).await)
                    } else {
                        let b = bridged(&js, &format!("B{trial}"), events).await;
                        (plain(&js, &format!("P{trial}"), events).await, b)
                    };
                    (p, b)
                }
            };
            let (p, b) = run(trial % 2 == 0).await;
            let rate = |d: Duration| events as f64 / d.as_secs_f64();
            println!(
                "trial {trial}: plain {:>8.0} ev/s, bridged {:>8.0} ev/s, ratio {:.2}",
                rate(p),
                rate(b),
                rate(b) / rate(p)
            );
            plain_rates.push(rate(p));
            bridged_rates.push(rate(b));
        }
        let ratios: Vec<f64> = plain_rates
            .iter()
            .zip(&bridged_rates)
            .map(|(p, b)| b / p)
            .collect();
        let (low, high) = ratios
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
        let per_trial = median(ratios);
        let (p, b) = (median(plain_rates), median(bridged_rates));
        println!(
            "bridge_throughput: {events} events x {trials} trials; median plain async-nats {p:.0} ev/s, \
             maiko-nats {b:.0} ev/s; ratio of the medians {:.2}, median of the trials' ratios \
             {per_trial:.2} (from {low:.2} to {high:.2}; goal >= {GOAL})",
            b / p
        );
        if markdown {
            let verdict = if b / p >= GOAL { "met" } else { "**not met**" };
            let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
            println!(
                "\n### NATS bridge (`bridge_throughput`)\n\n\
                 `cargo bench -p maiko-nats --bench bridge_throughput -- --markdown`, on {nproc} \
                 CPUs shared with a loopback `nats-server -js` and the publisher: {events} JSON \
                 events per trial from a publisher through JetStream to a consumer that has \
                 handled and acknowledged (with confirmation) them all; {IN_FLIGHT} publishes \
                 in flight, pulls of {BATCH}, at most {IN_HAND} messages in hand, on both \
                 sides; {trials} trials, plain and bridged alternating which goes first; \
                 medians.\n\n\
                 | system | events/s |\n|---|---:|\n\
                 | plain async-nats | {p:.0} |\n\
                 | maiko-nats (outbound and inbound bridges, an actor) | {b:.0} |\n\n\
                 maiko-nats ÷ plain: **{:.2}** (the trials' own ratios {low:.2} to {high:.2}; \
                 goal at least {GOAL}: {verdict}).\n",
                b / p
            );
        }
        client.flush().await.ok();
    });
}
