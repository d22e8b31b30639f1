//! A four-stage pipeline stopped in the middle of a burst.
//!
//! `source` produces readings from `step()` as fast as it may; `parse` and
//! `enrich` each handle an event and publish the next one; `sink` stores the
//! result. While the burst is going on, `main` calls `shutdown()`. From that
//! moment the source is refused, but every reading it had been promised
//! (`Ok`) travels through all stages before `shutdown()` returns.
//!
//! The table shows, per stage, how many of its own publishes the runtime
//! accepted (`accepted`), how many events it handled (`handled`) and how
//! many of its publishes the gate refused (`refused`), twice: read just
//! before the stop is requested, and after `shutdown()` has returned. At the
//! stop, work is still in flight between the stages; after it, each stage
//! has handled exactly what the stage before it published.
//!
//! Run it with `cargo run --example pipeline`.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering::Relaxed},
};

use maiko::*;
use tokio::sync::Notify;

#[derive(Event, Clone, Debug)]
enum Reading {
    Raw(u64),
    Parsed(u64),
    Enriched(u64),
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Flow {
    Raw,
    Parsed,
    Enriched,
}

impl Topic<Reading> for Flow {
    fn from_event(event: &Reading) -> Self {
        match event {
            Reading::Raw(_) => Flow::Raw,
            Reading::Parsed(_) => Flow::Parsed,
            Reading::Enriched(_) => Flow::Enriched,
        }
    }
}

/// What one stage saw: its own publishes the runtime accepted, its own
/// publishes the gate refused, and the events it handled.
#[derive(Default)]
struct Tally {
    accepted: AtomicU64,
    refused: AtomicU64,
    handled: AtomicU64,
}

impl Tally {
    /// Publish and count the outcome.
    async fn publish(&self, ctx: &Context<Reading>, reading: Reading) -> Result {
        match ctx.send(reading).await {
            Ok(()) => {
                self.accepted.fetch_add(1, Relaxed);
                Ok(())
            }
            Err(error) => {
                self.refused.fetch_add(1, Relaxed);
                Err(error)
            }
        }
    }
}

struct Source {
    ctx: Context<Reading>,
    next: u64,
    tally: Arc<Tally>,
}

impl Actor for Source {
    type Event = Reading;

    async fn step(&mut self) -> Result<StepAction> {
        self.tally
            .publish(&self.ctx, Reading::Raw(self.next))
            .await?;
        self.next += 1;
        Ok(StepAction::Continue)
    }
}

/// A middle stage: handles one kind of reading and publishes the next.
struct Stage {
    ctx: Context<Reading>,
    tally: Arc<Tally>,
}

impl Actor for Stage {
    type Event = Reading;

    async fn handle_event(&mut self, envelope: &Envelope<Reading>) -> Result {
        self.tally.handled.fetch_add(1, Relaxed);
        let next = match *envelope.event() {
            Reading::Raw(n) => Reading::Parsed(n),
            Reading::Parsed(n) => {
                // Enriching is the slow step, so work piles up before it.
                tokio::task::yield_now().await;
                Reading::Enriched(n)
            }
            Reading::Enriched(_) => return Ok(()),
        };
        self.tally.publish(&self.ctx, next).await
    }
}

struct Sink {
    tally: Arc<Tally>,
    burst_started: Arc<Notify>,
    last: Option<u64>,
}

impl Actor for Sink {
    type Event = Reading;

    async fn handle_event(&mut self, envelope: &Envelope<Reading>) -> Result {
        if let Reading::Enriched(n) = *envelope.event() {
            // One publisher per stage: readings arrive in the order produced.
            assert!(self.last.is_none_or(|last| last < n), "out of order");
            self.last = Some(n);
        }
        let handled = self.tally.handled.fetch_add(1, Relaxed) + 1;
        if handled == 5_000 {
            self.burst_started.notify_one();
        }
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result {
    let stages = ["source", "parse", "enrich", "sink"];
    let tallies: Vec<Arc<Tally>> = stages.iter().map(|_| Arc::default()).collect();
    let burst_started = Arc::new(Notify::new());

    let config = SupervisorConfig::default()
        .with_broker_channel_capacity(64)
        .with_default_actor_channel_capacity(256);
    let mut sup = Supervisor::<Reading, Flow>::new(config);
    let t = tallies.clone();
    sup.add_actor(
        "source",
        |ctx| Source {
            ctx,
            next: 0,
            tally: t[0].clone(),
        },
        Subscribe::none(),
    )?;
    sup.add_actor(
        "parse",
        |ctx| Stage {
            ctx,
            tally: t[1].clone(),
        },
        [Flow::Raw],
    )?;
    sup.add_actor(
        "enrich",
        |ctx| Stage {
            ctx,
            tally: t[2].clone(),
        },
        [Flow::Parsed],
    )?;
    let notify = Arc::clone(&burst_started);
    sup.add_actor(
        "sink",
        |_| Sink {
            tally: t[3].clone(),
            burst_started: notify,
            last: None,
        },
        [Flow::Enriched],
    )?;

    sup.start().await?;
    burst_started.notified().await;

    // The figures at the moment of the stop, read just before requesting
    // it, from the sink back to the source: each stage's handled count is
    // read before the accepted count of the stage that feeds it.
    let mut at_stop: Vec<(u64, u64)> = tallies
        .iter()
        .rev()
        .map(|t| (t.accepted.load(Relaxed), t.handled.load(Relaxed)))
        .collect();
    at_stop.reverse();
    let in_flight = at_stop[0].0.saturating_sub(at_stop[3].1);
    println!(
        "stopping in the middle of the burst: {in_flight} readings accepted but not yet stored\n"
    );
    let report = sup.shutdown().await;

    println!("accepted: the stage's own publishes the runtime accepted (`Ok`)");
    println!("handled:  the events the stage handled");
    println!("refused:  the stage's own publishes the gate refused (`Error::Stopping`)\n");
    println!(
        "{:<8} {:>21}   {:>30}",
        "", "at the stop", "after shutdown() returned"
    );
    println!(
        "{:<8} {:>10} {:>10}   {:>10} {:>10} {:>8}",
        "stage", "accepted", "handled", "accepted", "handled", "refused"
    );
    for ((name, tally), (accepted, handled)) in stages.iter().zip(&tallies).zip(&at_stop) {
        println!(
            "{:<8} {:>10} {:>10}   {:>10} {:>10} {:>8}",
            name,
            accepted,
            handled,
            tally.accepted.load(Relaxed),
            tally.handled.load(Relaxed),
            tally.refused.load(Relaxed),
        );
    }
    let produced = tallies[0].accepted.load(Relaxed);
    let stored = tallies[3].handled.load(Relaxed);
    println!(
        "\nsource accepted {produced}, sink stored {stored}: {} lost\n",
        produced - stored
    );
    print!("{report}");

    assert_eq!(produced, stored, "an accepted reading was lost");
    report.into_result()
}
