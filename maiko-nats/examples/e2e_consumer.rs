//! The consuming side of the end-to-end tests: an inbound bridge pulls
//! jobs from a durable consumer shared with other processes, and a
//! two-stage pipeline records each one in a journal file:
//!
//! - `check` takes a job, publishes a `Record` for it as a tracked
//!   publish, and finishes the job (through `Context::defer`) only when
//!   the record has been handled: so the job's message is acknowledged
//!   only once its record is on disk;
//! - `journal` appends records to the `--journal` file in groups, with an
//!   fsync per group, and finishes each record after the fsync. It prints
//!   `recorded KEY` for each, after the fsync and before the finish.
//!
//! ```sh
//! cargo run -p maiko-nats --example e2e_consumer -- --url nats://127.0.0.1:4222 \
//!     --stream JOBS --consumer workers --journal /tmp/journal-a
//! ```
//!
//! Optional settings: `--mailbox N` (every actor's mailbox capacity,
//! and so the inbound bridge's default bound on messages in flight),
//! `--handler-ms N` (how long `check` works on each job, 0 by default),
//! `--max-in-flight N` (the inbound bridge's bound, instead of its
//! default).
//!
//! It prints `ready` once it pulls. On SIGTERM it stops pulling, drains,
//! acknowledges what it handled and exits, with status 0 when maiko's
//! report and the inbound bridge's report are both clean; the reports go
//! to stderr.

#[path = "e2e_common/mod.rs"]
mod common;

use std::{
    fs::{File, OpenOptions},
    io::Write,
    sync::mpsc as std_mpsc,
    thread,
    time::Duration,
};

use common::{Args, Lane, Work};
use maiko::*;
use maiko_nats::Inbound;

/// The first stage: hands each job on as a record, and finishes the job
/// when the record is finished.
struct Check {
    ctx: Context<Work>,
    work: Duration,
}

impl Actor for Check {
    type Event = Work;

    async fn handle_event(&mut self, envelope: &Envelope<Work>) -> Result {
        let Work::Job { key, .. } = envelope.event() else {
            return Ok(());
        };
        if !self.work.is_zero() {
            // Simulated work: the handler is busy for this long.
            tokio::time::sleep(self.work).await;
        }
        let done = self.ctx.defer();
        match self
            .ctx
            .send_tracked(Work::Record { key: key.clone() })
            .await
        {
            Ok(delivery) => {
                tokio::spawn(async move {
                    let outcome = delivery.await;
                    if outcome.is_handled() {
                        done.complete();
                    } else {
                        done.fail(format!("the record was not written: {outcome:?}"));
                    }
                });
            }
            Err(refused) => done.fail(refused.error()),
        }
        Ok(())
    }
}

/// The second stage: passes records to the writer thread, which finishes
/// them after their fsync.
struct Journal {
    ctx: Context<Work>,
    writer: Option<std_mpsc::Sender<(String, Completion)>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Actor for Journal {
    type Event = Work;

    async fn handle_event(&mut self, envelope: &Envelope<Work>) -> Result {
        let Work::Record { key } = envelope.event() else {
            return Ok(());
        };
        let done = self.ctx.defer();
        if let Some(writer) = &self.writer {
            // If the writer is gone, the completion is dropped with the
            // error: the job counts as lost and is given back.
            let _ = writer.send((key.clone(), done));
        }
        Ok(())
    }

    async fn on_shutdown(&mut self) -> Result {
        drop(self.writer.take());
        if let Some(thread) = self.thread.take() {
            tokio::task::spawn_blocking(move || thread.join())
                .await
                .ok();
        }
        Ok(())
    }
}

/// Writes what arrives, a group at a time: append the lines, fsync, print
/// them, then finish them.
fn write_journal(mut file: File, records: std_mpsc::Receiver<(String, Completion)>) {
    let mut group = Vec::new();
    while let Ok(first) = records.recv() {
        group.push(first);
        while group.len() < 1024 {
            match records.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let mut text = String::new();
        for (key, _) in &group {
            text.push_str(key);
            text.push('\n');
        }
        let written = file
            .write_all(text.as_bytes())
            .and_then(|()| file.sync_data());
        if let Err(error) = written {
            for (_, done) in group.drain(..) {
                done.fail(format!("journal: {error}"));
            }
            continue;
        }
        let mut out = std::io::stdout().lock();
        for (key, _) in &group {
            let _ = writeln!(out, "recorded {key}");
        }
        let _ = out.flush();
        drop(out);
        for (_, done) in group.drain(..) {
            done.complete();
        }
    }
}

#[tokio::main]
async fn main() {
    common::init_logging();
    let args = Args::parse();
    let url = args.get_or("url", "nats://127.0.0.1:4222");
    let stream = args.get_or("stream", "JOBS");
    let consumer_name = args.get_or("consumer", "workers");
    let journal = OpenOptions::new()
        .create(true)
        .append(true)
        .open(args.get("journal"))
        .expect("the journal file");
    let work = Duration::from_millis(args.number("handler-ms", 0));
    let mut config = SupervisorConfig::default().with_shutdown_timeout(Duration::from_secs(60));
    if let Some(mailbox) = args.optional_number("mailbox") {
        let mailbox = usize::try_from(mailbox).expect("--mailbox fits in usize");
        config = config.with_default_actor_channel_capacity(mailbox);
    }

    // Signals from the first moment: one during the connect or the bind
    // starts the same drain once the supervisor runs.
    let mut sup = Supervisor::<Work, Lane>::new(config);
    sup.handle().stop_on_signal();
    let (client, jetstream) = common::connect(&url).await;
    sup.add_actor("check", move |ctx| Check { ctx, work }, [Lane::Jobs])
        .expect("a fresh supervisor");
    let (writer, records) = std_mpsc::channel();
    let thread = thread::spawn(move || write_journal(journal, records));
    sup.add_actor(
        "journal",
        move |ctx| Journal {
            ctx,
            writer: Some(writer),
            thread: Some(thread),
        },
        [Lane::Records],
    )
    .expect("a fresh supervisor");
    let mut inbound = Inbound::new(stream, consumer_name);
    if let Some(max) = args.optional_number("max-in-flight") {
        inbound = inbound.with_max_in_flight(usize::try_from(max).expect("fits in usize"));
    }
    let inbound = inbound.attach(&mut sup).expect("valid bridge settings");
    sup.start().await.expect("start");

    let consumer = match inbound.bind(&jetstream).await {
        Ok(consumer) => consumer,
        Err(error) => {
            eprintln!("cannot bind the inbound bridge: {error}");
            std::process::exit(2);
        }
    };
    let pulling = tokio::spawn(consumer.run());
    println!("ready");

    let report = sup.run_until_signal().await;
    let inbound_report = pulling.await.expect("the inbound bridge's task");
    if let Err(error) = client.flush().await {
        eprintln!("flush: {error}");
    }
    eprintln!("{report}\n{inbound_report}");
    let clean = report.is_clean() && inbound_report.is_clean();
    std::process::exit(if clean { 0 } else { 1 });
}
