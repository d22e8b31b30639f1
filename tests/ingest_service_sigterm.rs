//! The `ingest_service` example, stopped by SIGTERM (or SIGINT) at a random
//! moment while 16 to 24 clients post events as fast as it answers, stores
//! every event it answered `202` to exactly once, and nothing else.
//!
//! Each trial runs the real service as a child process on a loopback port
//! with a fresh database, with random batching (so the last batch, committed
//! in the sink's `on_shutdown`, is sometimes empty and sometimes large).
//! Every client posts unique ids on a keep-alive connection, reconnecting
//! when the server closes it, until a connection is refused (the listener
//! has closed). The signal comes after a random number of answers. Then:
//!
//! - the service exits with status 0 and a clean report;
//! - the ids in the database are exactly the ids answered `202`: every one
//!   of them is stored (once: `id` is the primary key), and no id answered
//!   `503`, answered anything else, refused at connect, or sent without
//!   ever getting an answer is stored;
//! - the audit trail recorded every committed batch (its `inserted` column
//!   adds up to the rows of `events`).
//!
//! A request "sent without an answer" is one the server never read: hyper
//! closes an idle keep-alive connection when the graceful shutdown starts,
//! so a request written into it at that moment is discarded unread, and a
//! connection still waiting in the listener's backlog when the listener
//! closes is reset. A request the server did read always gets its answer:
//! the service waits for the HTTP server's graceful shutdown, whose timeout
//! is longer than the drain's.
//!
//! `INGEST_SIGTERM_SEED` replays a run; `INGEST_SIGTERM_TRIALS` sets the
//! number of trials (default 20). Run with `-- --nocapture` for the seed
//! and the summary.

#![cfg(unix)]

mod ingest_support;
mod support;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use ingest_support::{Client, Outcome, Service, audited_inserts, stored_ids};
use support::{count_from_env, seed_from_env, trial_runtime};
use tokio::sync::watch;

/// Trials per run unless `INGEST_SIGTERM_TRIALS` says otherwise.
const TRIALS: usize = 20;

/// Requests one client sends at most, a bound in case the signal is never
/// acted upon.
const MAX_PER_CLIENT: usize = 50_000;

/// One trial's random choices.
#[derive(Debug, Clone)]
struct Trial {
    index: usize,
    clients: usize,
    batch: usize,
    batch_ms: u64,
    /// Answers to wait for before the signal.
    after_answers: u64,
    /// SIGINT instead of SIGTERM.
    interrupt: bool,
}

impl Trial {
    fn draw(index: usize, rng: &mut fastrand::Rng) -> Self {
        Self {
            index,
            clients: rng.usize(16..=24),
            batch: [1, 16, 256][rng.usize(0..3)],
            batch_ms: [1, 5, 50][rng.usize(0..3)],
            after_answers: rng.u64(0..1500),
            interrupt: rng.u8(0..4) == 0,
        }
    }
}

/// What a client was told about one id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Told {
    Accepted,
    Refused,
    Other(u16),
    ConnectFailed,
    NoAnswer,
}

/// Totals over a run.
#[derive(Debug, Default)]
struct Tally {
    accepted: u64,
    refused: u64,
    no_answer: u64,
    connect_failed: u64,
    nonempty_last_batch: u64,
}

/// Post unique ids until a connection is refused; what each id was told.
async fn client(
    service: std::net::SocketAddr,
    name: String,
    answers: Arc<watch::Sender<u64>>,
) -> Vec<(String, Told)> {
    let mut client = Client::new(service);
    let mut told = Vec::new();
    for n in 0..MAX_PER_CLIENT {
        let id = format!("{name}-{n}");
        let outcome = tokio::time::timeout(
            ingest_support::CHILD_TIMEOUT,
            client.post_event(&id, r#"{"n":1,"tags":["load"]}"#),
        )
        .await
        .unwrap_or_else(|_| panic!("no answer to {id} within the timeout: a hang"));
        let verdict = match outcome {
            Outcome::Answered(r) if r.status == 202 => Told::Accepted,
            Outcome::Answered(r) if r.status == 503 => {
                assert!(
                    r.header("retry-after").is_some(),
                    "a 503 without Retry-After: {r:?}"
                );
                Told::Refused
            }
            Outcome::Answered(r) => Told::Other(r.status),
            Outcome::ConnectFailed => Told::ConnectFailed,
            Outcome::NoAnswer => Told::NoAnswer,
        };
        told.push((id, verdict));
        if let Told::ConnectFailed = verdict {
            break;
        }
        if let Told::Accepted | Told::Refused | Told::Other(_) = verdict {
            answers.send_modify(|n| *n += 1);
        }
    }
    told
}

async fn run_trial(trial: &Trial, tally: &Mutex<Tally>) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("ingest.db");
    let batch = trial.batch.to_string();
    let batch_ms = trial.batch_ms.to_string();
    let mut service = Service::start(
        &db,
        &["--drain-timeout", "10"],
        &[
            ("INGEST_BATCH", batch.as_str()),
            ("INGEST_BATCH_MS", batch_ms.as_str()),
        ],
    )
    .await;

    let answers = Arc::new(watch::Sender::new(0_u64));
    let clients: Vec<_> = (0..trial.clients)
        .map(|c| {
            tokio::spawn(client(
                service.addr,
                format!("t{}-c{c}", trial.index),
                Arc::clone(&answers),
            ))
        })
        .collect();

    // The moment of the signal: a random number of answers into the load.
    let mut seen = answers.subscribe();
    tokio::time::timeout(
        ingest_support::CHILD_TIMEOUT,
        seen.wait_for(|n| *n >= trial.after_answers),
    )
    .await
    .expect("the service answers")
    .expect("the counter lives");
    service.signal(trial.interrupt);
    service.wait_for_log("received: draining").await;

    let mut told: HashMap<String, Told> = HashMap::new();
    for handle in clients {
        for (id, verdict) in handle.await.expect("a client") {
            told.insert(id, verdict);
        }
    }
    let (code, stderr) = service.finish().await;

    let stored = stored_ids(&db);
    let mut wrong = Vec::new();
    for (id, verdict) in &told {
        let rows = stored.get(id).copied().unwrap_or(0);
        let fine = match verdict {
            Told::Accepted => rows == 1,
            _ => rows == 0,
        };
        if !fine {
            wrong.push(format!("{id}: told {verdict:?}, stored {rows} times"));
        }
    }
    for id in stored.keys().filter(|id| !told.contains_key(*id)) {
        wrong.push(format!("{id}: stored, never sent"));
    }
    wrong.sort();
    assert!(
        wrong.is_empty(),
        "{trial:?}: {} ids wrong, for example {:?}\nstderr:\n{stderr}",
        wrong.len(),
        &wrong[..wrong.len().min(10)]
    );
    assert_eq!(code, 0, "{trial:?}: exit status; stderr:\n{stderr}");
    assert!(
        stderr.contains("group shutdown clean"),
        "{trial:?}: report not clean:\n{stderr}"
    );
    assert!(
        stderr.contains("every accepted event accounted for: yes"),
        "{trial:?}:\n{stderr}"
    );
    let rows: u64 = stored.values().sum();
    assert_eq!(
        audited_inserts(&db),
        rows,
        "{trial:?}: the audit trail missed a batch"
    );

    let mut tally = tally.lock().unwrap();
    for verdict in told.values() {
        match verdict {
            Told::Accepted => tally.accepted += 1,
            Told::Refused => tally.refused += 1,
            Told::NoAnswer => tally.no_answer += 1,
            Told::ConnectFailed => tally.connect_failed += 1,
            Told::Other(status) => panic!("{trial:?}: unexpected status {status}"),
        }
    }
    if stderr.contains("sink: last batch committed (") && !stderr.contains("committed (0 events)") {
        tally.nonempty_last_batch += 1;
    }
}

#[test]
fn sigterm_under_load_stores_exactly_what_was_accepted() {
    let seed = seed_from_env("INGEST_SIGTERM_SEED");
    let trials = count_from_env("INGEST_SIGTERM_TRIALS", TRIALS);
    println!("INGEST_SIGTERM_SEED={seed} INGEST_SIGTERM_TRIALS={trials}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let runtime = trial_runtime(true);
    let tally = Mutex::new(Tally::default());
    for index in 0..trials {
        let trial = Trial::draw(index, &mut rng);
        runtime.block_on(run_trial(&trial, &tally));
    }
    let t = tally.into_inner().unwrap();
    println!(
        "ingest_service: {trials} signals under load; {} accepted and stored once, \
         {} refused (503) and not stored, {} sent without an answer and not stored, \
         {} refused at connect; last batch committed at the stop in {} trials; \
         0 lost, 0 stored against what the client was told",
        t.accepted, t.refused, t.no_answer, t.connect_failed, t.nonempty_last_batch
    );
    assert!(t.accepted > 0, "the load never got an event accepted");
}
