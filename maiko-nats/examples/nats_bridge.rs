//! Two processes connected through NATS JetStream by maiko-nats: one
//! produces numbered orders, the other books them; stop either with
//! Ctrl-C (or SIGTERM) in the middle of the stream, start it again, and
//! no order that the producer accepted is missing on the other side.
//!
//! With a `nats-server -js` listening on 127.0.0.1:4222 (or give `--url`):
//!
//! ```sh
//! cargo run -p maiko-nats --example nats_bridge -- consume              # terminal 1
//! cargo run -p maiko-nats --example nats_bridge -- produce --count 20000 # terminal 2
//! ```
//!
//! Both create the stream `ORDERS` (subjects `orders.>`) if needed.
//! `produce` publishes orders numbered from `--from` (default 1), one per
//! millisecond at most (fewer in a debug build), through an outbound bridge, and prints the last order whose
//! publish was accepted. `consume` pulls through the durable consumer
//! `ledger` (start it twice to share the work) and appends each order it
//! books to `--journal` (default `nats_bridge_ledger.txt`). On stop it
//! prints what the journal holds: how many distinct orders, the highest,
//! and which below it are missing (none, once every consumer has caught
//! up).

use std::{
    collections::BTreeSet,
    fs::OpenOptions,
    io::{BufRead, BufReader, Write},
    time::Duration,
};

use maiko::*;
use maiko_nats::{
    Inbound, Outbound,
    async_nats::{self, jetstream},
};
use serde::{Deserialize, Serialize};

#[derive(Event, Clone, Debug, Serialize, Deserialize)]
struct Order {
    number: u64,
}

/// Publishes orders `next..=last`, one per millisecond, then stops the
/// runtime.
struct Till {
    ctx: Context<Order>,
    next: u64,
    last: u64,
}

impl Actor for Till {
    type Event = Order;

    async fn step(&mut self) -> Result<StepAction> {
        if self.next > self.last {
            self.ctx.stop_runtime()?;
            return Ok(StepAction::Never);
        }
        self.ctx.send(Order { number: self.next }).await?;
        self.next += 1;
        Ok(StepAction::Backoff(Duration::from_millis(1)))
    }

    async fn on_shutdown(&mut self) -> Result {
        println!("accepted orders up to #{}", self.next - 1);
        Ok(())
    }
}

/// Books orders into the journal, one line each.
struct Ledger {
    journal: std::fs::File,
    booked: u64,
}

impl Actor for Ledger {
    type Event = Order;

    async fn handle_event(&mut self, envelope: &Envelope<Order>) -> Result {
        let number = envelope.event().number;
        writeln!(self.journal, "{number}")?;
        self.booked += 1;
        if self.booked.is_multiple_of(1000) {
            println!("booked {} orders (last #{number})", self.booked);
        }
        Ok(())
    }

    async fn on_shutdown(&mut self) -> Result {
        self.journal.sync_all()?;
        println!("booked {} orders in this run", self.booked);
        Ok(())
    }
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// The stream both sides use, created by whichever starts first.
async fn ensure_stream(jetstream: &jetstream::Context) -> Result {
    jetstream
        .get_or_create_stream(jetstream::stream::Config {
            name: "ORDERS".into(),
            subjects: vec!["orders.>".into()],
            ..Default::default()
        })
        .await
        .map_err(Error::external)?;
    Ok(())
}

async fn produce(
    mut sup: Supervisor<Order>,
    client: async_nats::Client,
    jetstream: jetstream::Context,
) -> Result {
    let from: u64 = arg("--from").map_or(1, |v| v.parse().expect("--from N"));
    let count: u64 = arg("--count").map_or(10_000, |v| v.parse().expect("--count N"));

    let outbound = Outbound::new(jetstream, |order: &Order| {
        format!("orders.{}", order.number % 16)
    })
    .attach(&mut sup, [DefaultTopic])
    .map_err(Error::external)?;
    sup.add_actor(
        "till",
        |ctx| Till {
            ctx,
            next: from,
            last: from + count - 1,
        },
        Subscribe::none(),
    )?;
    sup.start().await?;
    println!("producing orders #{from}..#{}", from + count - 1);

    // Ctrl-C / SIGTERM, or the till running out: drain, which includes
    // waiting for the stream to acknowledge every accepted order.
    let report = sup.run_until_signal().await;
    let bridged = outbound.finished().await;
    client.flush().await.map_err(Error::external)?;
    eprintln!("{report}\n{bridged}");
    report.into_result()
}

async fn consume(
    mut sup: Supervisor<Order>,
    client: async_nats::Client,
    jetstream: jetstream::Context,
) -> Result {
    let path = arg("--journal").unwrap_or_else(|| "nats_bridge_ledger.txt".into());
    let journal = OpenOptions::new().create(true).append(true).open(&path)?;

    sup.add_actor(
        "ledger",
        move |_| Ledger { journal, booked: 0 },
        [DefaultTopic],
    )?;
    let inbound = Inbound::new("ORDERS", "ledger")
        .attach(&mut sup)
        .map_err(Error::external)?;
    sup.start().await?;
    let consumer = inbound.bind(&jetstream).await.map_err(Error::external)?;
    let pulling = tokio::spawn(consumer.run());
    println!("consuming from ORDERS as 'ledger'; Ctrl-C to stop");

    let report = sup.run_until_signal().await;
    // Every booked order is acknowledged (and the server has confirmed
    // it) before the connection closes.
    let inbound_report = pulling.await.map_err(Error::external)?;
    client.flush().await.map_err(Error::external)?;
    eprintln!("{report}\n{inbound_report}");

    let seen: BTreeSet<u64> = BufReader::new(std::fs::File::open(&path)?)
        .lines()
        .map_while(std::result::Result::ok)
        .filter_map(|line| line.trim().parse().ok())
        .collect();
    let highest = seen.last().copied().unwrap_or(0);
    let first = seen.first().copied().unwrap_or(1);
    let missing: Vec<u64> = (first..=highest).filter(|n| !seen.contains(n)).collect();
    println!(
        "journal {path}: {} distinct orders, #{first}..#{highest}, missing {}{}",
        seen.len(),
        missing.len(),
        if missing.is_empty() {
            String::new()
        } else {
            format!(" (first: {:?})", &missing[..missing.len().min(10)])
        }
    );
    report.into_result()
}

const USAGE: &str =
    "usage: nats_bridge (produce [--count N] [--from N] | consume [--journal FILE]) [--url URL]
  --url URL       the NATS server (default nats://127.0.0.1:4222)
  --count N       produce: how many orders (default 10000)
  --from N        produce: the first order's number (default 1)
  --journal FILE  consume: where booked orders are appended (default nats_bridge_ledger.txt)";

#[tokio::main]
async fn main() -> Result {
    let args: Vec<String> = std::env::args().collect();
    let role = args.get(1).map(String::as_str).unwrap_or_default();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return Ok(());
    }
    if !matches!(role, "produce" | "consume") {
        eprintln!("{USAGE}");
        std::process::exit(2);
    }
    // Listen for signals before connecting: a Ctrl-C while connecting or
    // creating the stream then stops the supervisor cleanly (it drains
    // nothing and ends) instead of killing the process.
    let sup = Supervisor::<Order>::default();
    sup.handle().stop_on_signal();
    let url = arg("--url").unwrap_or_else(|| "nats://127.0.0.1:4222".into());
    let client = match async_nats::connect(&url).await {
        Ok(client) => client,
        Err(error) => {
            eprintln!("cannot connect to the NATS server at {url}: {error}");
            std::process::exit(1);
        }
    };
    let jetstream = jetstream::new(client.clone());
    ensure_stream(&jetstream).await?;
    if role == "produce" {
        produce(sup, client, jetstream).await
    } else {
        consume(sup, client, jetstream).await
    }
}
