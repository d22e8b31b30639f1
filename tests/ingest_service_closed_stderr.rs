//! The `ingest_service` example keeps its promise when nothing reads its
//! logs any more: with the reading end of its standard error closed (as
//! when ctrl-c in a terminal also kills the `tee` its output went
//! through), a SIGTERM still drains and stores every event answered `202`,
//! and the process exits with status 0.
//!
//! The sink is set to commit only at the stop (batches larger than the
//! test sends, and a timer longer than the test), so every accepted event
//! depends on the drain running to its end. A service that stumbled on a
//! failed log write during the drain would lose all of them.

#![cfg(unix)]

mod ingest_support;

use std::{collections::HashMap, sync::Arc};

use ingest_support::{CHILD_TIMEOUT, Client, Outcome, Service, stored_ids};
use tokio::sync::watch;

const CLIENTS: usize = 4;

/// Answers to wait for before the signal.
const ANSWERS: u64 = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_stderr_loses_nothing_at_the_stop() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("ingest.db");
    let mut service =
        Service::start(&db, &["--batch", "1000000", "--batch-ms", "3600000"], &[]).await;

    let answers = Arc::new(watch::Sender::new(0_u64));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (addr, answers) = (service.addr, Arc::clone(&answers));
            tokio::spawn(async move {
                let mut client = Client::new(addr);
                let mut told = Vec::new();
                for n in 0.. {
                    let id = format!("c{c}-{n}");
                    let outcome = client.post_event(&id, "1").await;
                    let done = matches!(outcome, Outcome::ConnectFailed);
                    if let Outcome::Answered(_) = outcome {
                        answers.send_modify(|n| *n += 1);
                    }
                    told.push((id, outcome));
                    if done {
                        break;
                    }
                }
                told
            })
        })
        .collect();

    tokio::time::timeout(
        CHILD_TIMEOUT,
        answers.subscribe().wait_for(|n| *n >= ANSWERS),
    )
    .await
    .expect("the service answers")
    .expect("the counter lives");
    service.close_stderr().await;
    service.signal(false);

    let mut told = HashMap::new();
    for client in clients {
        told.extend(client.await.expect("a client"));
    }
    let (code, _) = service.finish().await;

    let stored = stored_ids(&db);
    let mut accepted = 0;
    for (id, outcome) in &told {
        let rows = stored.get(id).copied().unwrap_or(0);
        match outcome {
            Outcome::Answered(r) if r.status == 202 => {
                accepted += 1;
                assert_eq!(rows, 1, "{id} was accepted; stored {rows} times");
            }
            other => assert_eq!(rows, 0, "{id}: {other:?}, yet stored"),
        }
    }
    assert!(accepted >= ANSWERS / 2, "only {accepted} accepted");
    assert_eq!(stored.len(), accepted as usize, "stored: {}", stored.len());
    assert_eq!(code, 0, "exit status");
}
