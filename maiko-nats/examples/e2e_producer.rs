//! The producing side of the end-to-end tests: an actor publishes jobs as
//! fast as it is allowed (a few per millisecond), and an outbound bridge
//! carries them to JetStream. It writes the key of every job whose publish
//! returned `Ok` to the `--accepted` file, and of every job the runtime
//! refused (after SIGTERM) to the `--refused` file; a job is only in the
//! stream once it is accepted, and the stop returns once every accepted
//! job is stored.
//!
//! ```sh
//! nats-server -js &
//! nats stream add JOBS --subjects 'JOBS.>' --defaults   # or let the consumer example fail until it exists
//! cargo run -p maiko-nats --example e2e_producer -- --url nats://127.0.0.1:4222 \
//!     --stream JOBS --run p1 --accepted /tmp/accepted --refused /tmp/refused
//! ```
//!
//! It prints `ready` once it publishes, and on exit the maiko and bridge
//! reports (stderr) and `producer accepted N refused M` (stdout). The exit
//! status is 0 when both reports are clean.

#[path = "e2e_common/mod.rs"]
mod common;

use std::{
    fs::File,
    io::{BufWriter, Write},
    time::Duration,
};

use common::{Args, Lane, Work};
use maiko::*;
use maiko_nats::Outbound;

/// Publishes `burst` jobs per millisecond from `step()` until refused.
struct Source {
    ctx: Context<Work>,
    run: String,
    next: u64,
    burst: u64,
    body: String,
    accepted: BufWriter<File>,
    refused: BufWriter<File>,
    counts: (u64, u64),
}

impl Actor for Source {
    type Event = Work;

    async fn step(&mut self) -> Result<StepAction> {
        for _ in 0..self.burst {
            let key = format!("{}-{}", self.run, self.next);
            let job = Work::Job {
                key: key.clone(),
                body: self.body.clone(),
            };
            match self.ctx.send(job).await {
                Ok(()) => {
                    writeln!(self.accepted, "{key}")?;
                    self.counts.0 += 1;
                    self.next += 1;
                }
                Err(error) if error.is_stopping() => {
                    writeln!(self.refused, "{key}")?;
                    self.counts.1 += 1;
                    return Ok(StepAction::Never);
                }
                Err(error) => return Err(error),
            }
        }
        Ok(StepAction::Backoff(Duration::from_millis(1)))
    }

    async fn on_shutdown(&mut self) -> Result {
        for file in [&mut self.accepted, &mut self.refused] {
            file.flush()?;
            file.get_ref().sync_all()?;
        }
        println!(
            "producer accepted {} refused {}",
            self.counts.0, self.counts.1
        );
        Ok(())
    }
}

#[tokio::main]
async fn main() {
    common::init_logging();
    let args = Args::parse();
    let url = args.get_or("url", "nats://127.0.0.1:4222");
    let stream = args.get_or("stream", "JOBS");
    let run = args.get("run");
    let accepted = File::create(args.get("accepted")).expect("the accepted file");
    let refused = File::create(args.get("refused")).expect("the refused file");
    let burst = args.number("per-ms", 2);
    let body = "x".repeat(usize::try_from(args.number("body", 64)).unwrap_or(64));

    // Signals from the first moment: one during the connect starts the
    // same drain once the supervisor runs.
    let mut sup = Supervisor::<Work, Lane>::new(
        SupervisorConfig::default().with_shutdown_timeout(Duration::from_secs(60)),
    );
    sup.handle().stop_on_signal();
    let (client, jetstream) = common::connect(&url).await;
    let subject_stream = stream.clone();
    let outbound = Outbound::new(jetstream, move |work: &Work| match work {
        Work::Job { .. } => format!("{subject_stream}.jobs"),
        Work::Record { .. } => format!("{subject_stream}.records"),
    })
    .attach(&mut sup, [Lane::Jobs])
    .expect("valid bridge settings");
    sup.add_actor(
        "source",
        move |ctx| Source {
            ctx,
            run,
            next: 0,
            burst,
            body,
            accepted: BufWriter::new(accepted),
            refused: BufWriter::new(refused),
            counts: (0, 0),
        },
        Subscribe::none(),
    )
    .expect("a fresh supervisor");
    sup.start().await.expect("start");
    println!("ready");

    let report = sup.run_until_signal().await;
    let bridged = outbound.finished().await;
    eprintln!("{report}\n{bridged}");
    if let Err(error) = client.flush().await {
        eprintln!("flush: {error}");
    }
    let clean = report.is_clean() && bridged.is_clean();
    std::process::exit(if clean { 0 } else { 1 });
}
