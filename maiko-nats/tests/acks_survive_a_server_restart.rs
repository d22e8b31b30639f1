//! The server goes away for a few seconds in the middle of a stream and
//! comes back (a graceful stop and a start on the same port and store),
//! while two consumer processes (`e2e_consumer`) share one durable
//! consumer. The acknowledgements that could not be sent or confirmed
//! meanwhile are retried until the server confirms them: both consumers
//! stop with clean reports (every acknowledgement confirmed), every job
//! is journaled, and nothing is left pending.
//!
//! Not exactly once: nats-server 2.9 delivers again, after the restart,
//! some of the messages that were in flight when it stopped (handled, but
//! their acknowledgement not yet confirmed; seen: 0 to 64 of 1,500 here),
//! and a copy that reaches the other process is handled there; the docs
//! say so. What is asserted is the bound: no more messages come twice than
//! the two consumers can hold unconfirmed at once, so nothing whose
//! acknowledgement the server had confirmed comes again.

#![cfg(unix)]

#[path = "../examples/e2e_common/mod.rs"]
mod common;
mod support;

use std::{path::PathBuf, thread, time::Duration, time::Instant};

use common::job_payload;
use support::{
    NatsServer, admin_runtime, connect, consumer_backlog, make_consumer, make_stream,
    process::{Recorded, journaled, start_consumer, stop_cleanly, tally},
    store_keyed,
};

const STREAM: &str = "RESTART";
const CONSUMER: &str = "workers";
const JOBS: usize = 1_500;
/// How long the server stays away: the disruption under test, not a wait
/// for anything to happen.
const OUTAGE: Duration = Duration::from_secs(3);
/// What one consumer holds at most between pull and confirmed
/// acknowledgement: the inbound bridge's default `max_in_flight` (the
/// supervisor's default mailbox capacity).
const IN_FLIGHT: usize = 128;

#[test]
#[ignore = "needs nats-server: apt-get install nats-server"]
fn acks_survive_a_server_restart() {
    let mut server = NatsServer::start();
    let admin = admin_runtime();
    let (_client, jetstream) = admin.block_on(connect(&server));
    let keys: Vec<String> = (0..JOBS).map(|n| format!("r-{n}")).collect();
    admin.block_on(async {
        make_stream(&jetstream, STREAM).await;
        make_consumer(&jetstream, STREAM, CONSUMER, Duration::from_secs(10)).await;
        store_keyed(&jetstream, &format!("{STREAM}.jobs"), &keys, job_payload).await;
    });

    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut recorded = Recorded::new();
    let journals: Vec<PathBuf> = ["a", "b"]
        .iter()
        .map(|slot| dir.path().join(format!("journal-{slot}")))
        .collect();
    let extra = [("handler-ms", "5".to_owned())];
    let url = server.url();
    let consumers: Vec<_> = journals
        .iter()
        .enumerate()
        .map(|(n, journal)| {
            let label = format!("consumer {n}");
            start_consumer(&label, &url, STREAM, CONSUMER, journal, &extra, &recorded)
        })
        .collect();
    let stderr = || {
        consumers
            .iter()
            .map(|c| format!("{}:\n{}", c.label, c.stderr()))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let started = Instant::now();

    // In the middle of the stream: a fifth handled.
    recorded.wait_until(|done| done.len() >= JOBS / 5, stderr);
    let before = recorded.keys().len();
    server.stop();
    thread::sleep(OUTAGE);
    server.start_again();
    recorded.wait_until(|done| done.len() == JOBS, stderr);
    let reports: Vec<String> = consumers.into_iter().map(stop_cleanly).collect();

    let lines = journaled(&journals);
    let counts = tally(lines.iter().map(String::as_str));
    let twice = counts.values().filter(|&&n| n > 1).count();
    println!(
        "server restart: {JOBS} jobs, {before} recorded before the {OUTAGE:?} outage, journaled {}, \
         handled twice {twice}, in {:.1?}\n{}",
        lines.len(),
        started.elapsed(),
        reports.join("\n")
    );
    assert_eq!(counts.len(), JOBS, "every job journaled");
    assert!(
        twice <= 2 * IN_FLIGHT,
        "{twice} jobs handled twice: more than two consumers hold unconfirmed"
    );
    let backlog = admin.block_on(consumer_backlog(&jetstream, STREAM, CONSUMER));
    assert_eq!(backlog, (0, 0), "pending and awaiting acknowledgement");
}
