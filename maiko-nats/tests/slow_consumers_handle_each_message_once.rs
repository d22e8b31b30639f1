//! Two consumer processes (`e2e_consumer`) with slow handlers share one
//! durable consumer: every actor's mailbox holds 2 events, the first stage
//! works 20 ms on each job, and the server redelivers what is not
//! acknowledged within 2 s. The jobs are all in the stream before the
//! consumers start, so each pull is as full as the bridge allows.
//!
//! Every job must be in exactly one journal, exactly once: with no
//! disruption at all, and with graceful stops (SIGTERM, then a fresh
//! process) every few hundred jobs. A bridge that pulls more than it can
//! hand on in time, and does not keep what waits alive, has the server
//! redeliver it to the other process, which handles it a second time.

#![cfg(unix)]

#[path = "../examples/e2e_common/mod.rs"]
mod common;
mod support;

use std::{path::PathBuf, time::Duration, time::Instant};

use common::job_payload;
use support::{
    NatsServer, admin_runtime, connect, consumer_backlog, make_consumer, make_stream,
    process::{Proc, Recorded, journaled, start_consumer, stop_cleanly, tally},
    store_keyed,
};

const STREAM: &str = "SLOW";
const CONSUMER: &str = "workers";
const ACK_WAIT: Duration = Duration::from_secs(2);
const HANDLER_MS: u64 = 20;
const MAILBOX: u64 = 2;

/// Run `count` jobs through two slow consumers; with `restart_every`, stop
/// one consumer gracefully (alternately) each time that many more jobs
/// have been recorded, and start a fresh one in its place. Checks that
/// every job is journaled exactly once and that nothing is left on the
/// server.
fn slow_consumers(label: &str, count: usize, restart_every: Option<usize>) {
    let server = NatsServer::start();
    let admin = admin_runtime();
    let (_client, jetstream) = admin.block_on(connect(&server));
    let keys = admin.block_on(async {
        make_stream(&jetstream, STREAM).await;
        make_consumer(&jetstream, STREAM, CONSUMER, ACK_WAIT).await;
        let keys: Vec<String> = (0..count).map(|n| format!("j-{n}")).collect();
        store_keyed(&jetstream, &format!("{STREAM}.jobs"), &keys, job_payload).await;
        keys
    });

    let dir = tempfile::tempdir().expect("a temporary directory");
    let extra = [
        ("mailbox", MAILBOX.to_string()),
        ("handler-ms", HANDLER_MS.to_string()),
    ];
    let mut journals: Vec<PathBuf> = Vec::new();
    let mut recorded = Recorded::new();
    let start = |slot: usize, journals: &mut Vec<PathBuf>, recorded: &Recorded| -> Proc {
        let journal = dir.path().join(format!("journal-{}", journals.len()));
        let label = format!("consumer {slot}#{}", journals.len());
        let consumer = start_consumer(
            &label,
            &server.url(),
            STREAM,
            CONSUMER,
            &journal,
            &extra,
            recorded,
        );
        journals.push(journal);
        consumer
    };
    let mut consumers = [
        Some(start(0, &mut journals, &recorded)),
        Some(start(1, &mut journals, &recorded)),
    ];
    let started = Instant::now();
    let stderr = |consumers: &[Option<Proc>; 2]| {
        consumers
            .iter()
            .flatten()
            .map(|c| format!("{}:\n{}", c.label, c.stderr()))
            .collect::<Vec<_>>()
            .join("\n")
    };

    let mut restarts = 0;
    if let Some(every) = restart_every {
        let mut next = every;
        while next < count {
            recorded.wait_until(|done| done.len() >= next, || stderr(&consumers));
            let slot = restarts % 2;
            stop_cleanly(consumers[slot].take().expect("the consumer runs"));
            consumers[slot] = Some(start(slot, &mut journals, &recorded));
            restarts += 1;
            next += every;
        }
    }
    recorded.wait_until(|done| done.len() == keys.len(), || stderr(&consumers));
    for consumer in consumers.iter_mut() {
        stop_cleanly(consumer.take().expect("the consumer runs"));
    }

    let lines = journaled(&journals);
    let counts = tally(lines.iter().map(String::as_str));
    let mut twice: Vec<&str> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(key, _)| *key)
        .collect();
    twice.sort_unstable();
    println!(
        "{label}: {count} jobs, {restarts} graceful restarts, journaled {}, handled twice {}, in {:.1?}",
        lines.len(),
        twice.len(),
        started.elapsed()
    );
    let missing = keys
        .iter()
        .filter(|key| !counts.contains_key(key.as_str()))
        .count();
    assert_eq!(missing, 0, "jobs in no journal");
    assert!(
        twice.is_empty(),
        "{} jobs handled twice, e.g. {:?}",
        twice.len(),
        &twice[..twice.len().min(5)]
    );
    let backlog = admin.block_on(consumer_backlog(&jetstream, STREAM, CONSUMER));
    assert_eq!(backlog, (0, 0), "pending and awaiting acknowledgement");
}

#[test]
#[ignore = "needs nats-server: apt-get install nats-server"]
fn slow_consumers_handle_each_message_once() {
    slow_consumers("no disruption", 2_000, None);
}

#[test]
#[ignore = "needs nats-server: apt-get install nats-server"]
fn slow_consumers_handle_each_message_once_across_graceful_stops() {
    slow_consumers("graceful stops", 2_000, Some(400));
}
