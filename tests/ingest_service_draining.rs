//! What clients of the `ingest_service` example are told while it drains,
//! and what a second signal does.
//!
//! Once the signal has come, the listener takes no new connection, so
//! these tests hold connections that the server accepted before it: a
//! `GET /health` whose head is not finished yet, and a `POST /events` that
//! announced its body with `expect: 100-continue` and got the `100
//! Continue` (proof that the server is reading it). hyper's graceful
//! shutdown lets both finish; they are finished after the service has
//! logged that it is draining.
//!
//! The health request's connection was accepted before the POST's (the
//! accept loop takes connections in order), so by the time the POST has
//! its `100 Continue`, the health request's connection is being served.

#![cfg(unix)]

mod ingest_support;

use std::time::{Duration, Instant};

use ingest_support::{
    Client, Outcome, Service, post_waiting_for_its_body, read_response, request, stored_ids,
    unfinished_get,
};
use tokio::io::AsyncWriteExt;

const LATE_BODY: &str = r#"{"id":"late","payload":{"n":1}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_posts_get_503_with_retry_after_while_draining() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("ingest.db");
    let mut service = Service::start(&db, &[], &[]).await;

    let running = Client::once(service.addr, &request("GET", "/health", &[], b"")).await;
    match running {
        Outcome::Answered(r) => assert_eq!(r.status, 200, "{r:?}"),
        other => panic!("no answer from /health: {other:?}"),
    }

    let mut health = unfinished_get(service.addr, "/health").await;
    let mut post = post_waiting_for_its_body(service.addr, LATE_BODY).await;

    service.signal(false);
    service.wait_for_log("SIGTERM received: draining").await;

    health.get_mut().write_all(b"\r\n").await.expect("write");
    let answer = read_response(&mut health).await.expect("an answer");
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_eq!(answer.header("retry-after"), Some("1"), "{answer:?}");
    assert!(answer.body.contains("draining"), "{answer:?}");

    post.get_mut()
        .write_all(LATE_BODY.as_bytes())
        .await
        .expect("write");
    let answer = read_response(&mut post).await.expect("an answer");
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_eq!(answer.header("retry-after"), Some("1"), "{answer:?}");

    let (code, stderr) = service.finish().await;
    assert_eq!(code, 0, "stderr:\n{stderr}");
    assert!(stderr.contains("1 refused (503)"), "{stderr}");
    assert!(stored_ids(&db).is_empty(), "the refused event was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_cuts_the_drain_short_and_exits_nonzero() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("ingest.db");
    // Without the second signal, the held request would keep the service
    // up for its whole HTTP timeout.
    let mut service = Service::start(&db, &["--drain-timeout", "30"], &[]).await;
    let mut held = post_waiting_for_its_body(service.addr, LATE_BODY).await;

    service.signal(false);
    // The runtime has drained; the service now waits for the held request.
    service.wait_for_log("audit trail: closed").await;
    let second = Instant::now();
    service.signal(true);
    let (code, stderr) = service.finish().await;
    let took = second.elapsed();

    assert_eq!(code, 1, "stderr:\n{stderr}");
    assert!(stderr.contains("second signal (SIGINT)"), "{stderr}");
    assert!(stderr.contains("HTTP server cut short"), "{stderr}");
    assert!(
        took < Duration::from_secs(10),
        "exited {took:?} after the second signal; the HTTP timeout is 35 s"
    );
    assert!(
        read_response(&mut held).await.is_none(),
        "the held request was cut, not answered"
    );
    assert!(stored_ids(&db).is_empty());
}
