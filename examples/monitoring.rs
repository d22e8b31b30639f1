//! Watching a running system: a custom `Monitor`, the built-in
//! `ActorMonitor` and `Tracer`, and live snapshots from a handle.
//!
//! A reader publishes lines from `step()`, a parser turns each into a
//! record, and a store keeps them; the store is slow now and then, so its
//! mailbox fills and the broker reports overflows. While it runs, the
//! example prints a live snapshot every 50 ms (what a metrics endpoint
//! would serve); at the end it prints what the monitor counted, which
//! matches the shutdown report exactly: monitors never lose a record.
//!
//! ```sh
//! cargo run --example monitoring --features monitoring
//! RUST_LOG=maiko=debug cargo run --example monitoring --features monitoring  # with the Tracer
//! ```

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use maiko::{
    monitoring::Monitor,
    monitors::{ActorMonitor, Tracer},
    *,
};

#[derive(Event, Clone, Debug)]
enum Data {
    Line(u32),
    Record(u32),
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Stage {
    Lines,
    Records,
}

impl Topic<Data> for Stage {
    fn from_event(event: &Data) -> Self {
        match event {
            Data::Line(_) => Stage::Lines,
            Data::Record(_) => Stage::Records,
        }
    }
}

const LINES: u32 = 2_000;

/// Publishes the lines, a few per step.
struct Reader {
    ctx: Context<Data>,
    next: u32,
}

impl Actor for Reader {
    type Event = Data;

    async fn step(&mut self) -> Result<StepAction> {
        for _ in 0..10 {
            if self.next == LINES {
                return Ok(StepAction::Never);
            }
            self.ctx.send(Data::Line(self.next)).await?;
            self.next += 1;
        }
        Ok(StepAction::Backoff(Duration::from_millis(1)))
    }
}

struct Parser {
    ctx: Context<Data>,
}

impl Actor for Parser {
    type Event = Data;

    async fn handle_event(&mut self, envelope: &Envelope<Data>) -> Result {
        if let Data::Line(n) = *envelope.event() {
            self.ctx
                .send_child_event(Data::Record(n), envelope.id())
                .await?;
        }
        Ok(())
    }
}

/// Slow on every 100th record.
struct Store;

impl Actor for Store {
    type Event = Data;

    async fn handle_event(&mut self, envelope: &Envelope<Data>) -> Result {
        if let Data::Record(n) = *envelope.event()
            && n % 100 == 0
        {
            // Simulated work: a slow write.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(())
    }
}

/// Counts handlings and overflows per actor.
#[derive(Clone, Default)]
struct Metrics {
    handled: Arc<Mutex<BTreeMap<String, u64>>>,
    overflows: Arc<Mutex<u64>>,
}

impl Monitor<Data, Stage> for Metrics {
    fn on_event_handled(&self, _: &Envelope<Data>, _: &Stage, receiver: &ActorId) {
        *self
            .handled
            .lock()
            .unwrap()
            .entry(receiver.to_string())
            .or_default() += 1;
    }

    fn on_overflow(&self, _: &Envelope<Data>, _: &Stage, _: &ActorId, _: OverflowPolicy) {
        *self.overflows.lock().unwrap() += 1;
    }
}

#[tokio::main]
async fn main() -> Result {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();

    let mut sup = Supervisor::<Data, Stage>::default();
    sup.add_actor("reader", |ctx| Reader { ctx, next: 0 }, Subscribe::none())?;
    sup.add_actor("parser", |ctx| Parser { ctx }, [Stage::Lines])?;
    sup.build_actor("store", |_| Store)
        .topics([Stage::Records])
        .channel_capacity(16)
        .build()?;

    let metrics = Metrics::default();
    let actors = ActorMonitor::new();
    sup.monitors().add(metrics.clone()).await;
    sup.monitors().add(actors.clone()).await;
    sup.monitors().add(Tracer).await;
    let handle = sup.handle();
    sup.start().await?;

    // Live figures while it runs, until the store has every record.
    let mut ticks = tokio::time::interval(Duration::from_millis(50));
    loop {
        ticks.tick().await;
        let snapshot = handle.snapshot();
        print!("{snapshot}");
        let stored = snapshot.actor("store").map_or(0, |s| s.handled);
        if stored == u64::from(LINES) {
            break;
        }
    }

    println!("\nalive before the stop: {:?}", actors.actors());
    let report = sup.shutdown().await;
    println!("stopped now: {:?}", actors.stopped_actors());
    println!("the monitor counted:");
    for (actor, handled) in metrics.handled.lock().unwrap().iter() {
        let reported = report.actor(actor).map_or(0, |a| a.handled);
        println!("  {actor}: {handled} handled (report: {reported})");
        assert_eq!(*handled, reported, "a monitor never misses a handling");
    }
    println!(
        "  mailbox overflows (the store's, under Block): {}",
        metrics.overflows.lock().unwrap()
    );
    println!("\n{report}");
    report.into_result()
}
