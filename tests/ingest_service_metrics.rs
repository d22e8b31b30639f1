//! The `ingest_service` example's `GET /metrics` (feature `metrics`),
//! scraped while 16 clients post as fast as it answers and again once a
//! SIGTERM has drained it, agrees with what the service did:
//!
//! - `maiko_events_handled_total{actor="sink"}` is the number of rows in the
//!   `events` table: every event the sink handled was stored, once;
//! - `maiko_publishes_refused_total` is the number of `503` answers the
//!   clients got: the gate refused the requests answered `503`, and nothing
//!   else.
//!
//! Some `503`s are certain, whatever the timing of the load: besides the
//! load, three `POST /events` hold their body back until the service has
//! logged that it is draining. Each announced its body with `expect:
//! 100-continue` and got the `100 Continue`, so the server is reading it and
//! answers it from the gate's verdict, which is then `503`.
//!
//! Once the signal has come the listener takes no new connection, so the
//! scrape of the settled figures is a request the server took before it: a
//! `GET /metrics` whose head lacks the blank line that ends it, opened
//! before the held posts (the listener takes connections in order, so by
//! the time they have their `100 Continue` it has taken this one too), and
//! finished once the audit trail, the last actor to close, has logged that
//! it closed.
//!
//! The sink commits one event per batch (`--batch 1`), from its handler,
//! whose publishes the gate still admits while draining: every batch's
//! summary travels through the runtime, and the gate refuses nothing but
//! HTTP requests. With larger batches the summary of the last batch,
//! committed in `on_shutdown` once the gate has closed, is refused too, and
//! counted (see the example's docs).

#![cfg(all(unix, feature = "metrics"))]

mod ingest_support;

use std::{net::SocketAddr, sync::Arc};

use ingest_support::{
    Client, Outcome, Response, Service, post_waiting_for_its_body, read_response, request,
    stored_ids, unfinished_get,
};
use tokio::{io::AsyncWriteExt, sync::watch};

/// Clients posting at once.
const CLIENTS: usize = 16;

/// Answers before the scrape under load, and before the signal.
const SCRAPE_AFTER: u64 = 500;
const SIGNAL_AFTER: u64 = 1500;

/// Posts held back until the service drains, each answered `503`.
const HELD_POSTS: usize = 3;

/// Requests one client sends at most, a bound in case the signal is never
/// acted upon.
const MAX_PER_CLIENT: usize = 50_000;

/// The media type of the Prometheus text format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4";

/// One sample of the Prometheus text format.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

/// The labels of `{a="x",b="y"}`, from just after the `{`; what follows
/// the `}`.
fn labels(mut text: &str) -> (Vec<(String, String)>, &str) {
    let mut labels = Vec::new();
    loop {
        text = text.trim_start_matches([',', ' ']);
        if let Some(rest) = text.strip_prefix('}') {
            return (labels, rest);
        }
        let (name, rest) = text.split_once("=\"").expect("a label");
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next().expect("a closed label value") {
                (i, '"') => break i,
                (_, '\\') => match chars.next().expect("an escape").1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                (_, c) => value.push(c),
            }
        };
        labels.push((name.trim().to_owned(), value));
        text = &rest[end + 1..];
    }
}

/// Every sample of a scrape (comments and blank lines skipped).
fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let name_end = line.find(['{', ' ']).expect("a name and a value");
            let (name, rest) = line.split_at(name_end);
            let (labels, rest) = match rest.strip_prefix('{') {
                Some(rest) => labels(rest),
                None => (Vec::new(), rest),
            };
            let value = rest
                .split_whitespace()
                .next()
                .expect("a value")
                .parse()
                .unwrap_or_else(|_| panic!("not a number in {line:?}"));
            Sample {
                name: name.to_owned(),
                labels,
                value,
            }
        })
        .collect()
}

/// The sum of `name` over every label set that has the `wanted` labels
/// (and any others). A metric with no such series fails the test.
fn total(scrape: &str, name: &str, wanted: &[(&str, &str)]) -> u64 {
    let matching: Vec<f64> = samples(scrape)
        .into_iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            wanted
                .iter()
                .all(|(k, v)| s.labels.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|s| s.value)
        .collect();
    assert!(
        !matching.is_empty(),
        "no series {name} with {wanted:?} in the scrape:\n{scrape}"
    );
    let sum: f64 = matching.iter().sum();
    assert!(
        sum >= 0.0 && sum.fract() == 0.0,
        "{name} {wanted:?} is not a count: {sum}"
    );
    sum as u64
}

/// A scrape's body, after checking its status and media type.
fn scraped(response: &Response) -> &str {
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(
        response.header("content-type"),
        Some(PROMETHEUS_TEXT),
        "{response:?}"
    );
    &response.body
}

/// What one client was told.
#[derive(Debug, Default)]
struct Told {
    accepted: u64,
    refused: u64,
}

/// Post unique ids until a connection is refused (the listener has closed),
/// counting the answers in `answers`.
async fn client(addr: SocketAddr, name: String, answers: Arc<watch::Sender<u64>>) -> Told {
    let mut client = Client::new(addr);
    let mut told = Told::default();
    for n in 0..MAX_PER_CLIENT {
        let id = format!("{name}-{n}");
        let outcome = tokio::time::timeout(
            ingest_support::CHILD_TIMEOUT,
            client.post_event(&id, r#"{"n":1}"#),
        )
        .await
        .unwrap_or_else(|_| panic!("no answer to {id} within the timeout: a hang"));
        match outcome {
            Outcome::Answered(r) if r.status == 202 => told.accepted += 1,
            Outcome::Answered(r) if r.status == 503 => {
                assert_eq!(r.header("retry-after"), Some("1"), "{r:?}");
                told.refused += 1;
            }
            Outcome::Answered(r) => panic!("{id}: unexpected answer {r:?}"),
            // Not read by the server (an idle connection closed as the
            // stop began): neither accepted nor refused.
            Outcome::NoAnswer => continue,
            Outcome::ConnectFailed => break,
        }
        answers.send_modify(|n| *n += 1);
    }
    told
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_agree_with_the_database_and_the_503s() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("ingest.db");
    let mut service = Service::start(&db, &["--batch", "1"], &[]).await;

    let mut settled_scrape = unfinished_get(service.addr, "/metrics").await;
    let mut held = Vec::new();
    let mut held_bodies = Vec::new();
    for n in 0..HELD_POSTS {
        let body = format!(r#"{{"id":"held-{n}","payload":{{"n":1}}}}"#);
        held.push(post_waiting_for_its_body(service.addr, &body).await);
        held_bodies.push(body);
    }

    let answers = Arc::new(watch::Sender::new(0_u64));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| tokio::spawn(client(service.addr, format!("c{c}"), Arc::clone(&answers))))
        .collect();
    let mut seen = answers.subscribe();
    let mut answered = async |n: u64| {
        tokio::time::timeout(ingest_support::CHILD_TIMEOUT, seen.wait_for(|a| *a >= n))
            .await
            .expect("the service answers")
            .expect("the counter lives");
    };

    // Under load: the series are there, and nothing was refused yet.
    answered(SCRAPE_AFTER).await;
    let under_load = match Client::once(service.addr, &request("GET", "/metrics", &[], b"")).await {
        Outcome::Answered(r) => r,
        other => panic!("no answer from /metrics under load: {other:?}"),
    };
    assert!(
        clients.iter().all(|c| !c.is_finished()),
        "the load ended before the scrape"
    );
    let under_load = scraped(&under_load);
    let sink_under_load = total(
        under_load,
        "maiko_events_handled_total",
        &[("actor", "sink")],
    );
    assert_eq!(
        total(under_load, "maiko_publishes_refused_total", &[]),
        0,
        "refusals before the stop:\n{under_load}"
    );

    answered(SIGNAL_AFTER).await;
    service.signal(false);
    service.wait_for_log("SIGTERM received: draining").await;

    let mut refused = 0;
    let mut accepted = 0;
    for (conn, body) in held.iter_mut().zip(&held_bodies) {
        conn.get_mut()
            .write_all(body.as_bytes())
            .await
            .expect("write");
        let answer = read_response(conn).await.expect("an answer");
        assert_eq!(answer.status, 503, "{answer:?}");
        assert_eq!(answer.header("retry-after"), Some("1"), "{answer:?}");
        refused += 1;
    }
    for handle in clients {
        let told = handle.await.expect("a client");
        accepted += told.accepted;
        refused += told.refused;
    }

    // Settled: the drain is over, every request was answered.
    service.wait_for_log("audit trail: closed").await;
    settled_scrape
        .get_mut()
        .write_all(b"\r\n")
        .await
        .expect("write");
    let settled = read_response(&mut settled_scrape)
        .await
        .expect("an answer from /metrics after the drain");
    let settled = scraped(&settled);
    let sink_handled = total(settled, "maiko_events_handled_total", &[("actor", "sink")]);
    let refused_at_gate = total(settled, "maiko_publishes_refused_total", &[]);
    let ingest_refused = total(
        settled,
        "maiko_publishes_refused_total",
        &[("supervisor", "ingest")],
    );

    let (code, stderr) = service.finish().await;
    assert_eq!(code, 0, "stderr:\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "HTTP: {accepted} accepted (202), {refused} refused (503)"
        )),
        "the service counted other answers than the clients got ({accepted} 202, {refused} 503):\n{stderr}"
    );
    let rows: u64 = stored_ids(&db).values().sum();

    assert!(
        sink_under_load <= sink_handled,
        "the sink's count went down: {sink_under_load} under load, {sink_handled} settled"
    );
    assert_eq!(
        sink_handled, rows,
        "maiko_events_handled_total{{actor=\"sink\"}} against the rows stored"
    );
    assert_eq!(
        refused_at_gate, refused,
        "maiko_publishes_refused_total against the 503 answers"
    );
    assert_eq!(
        ingest_refused, refused,
        "the refusals are the ingest supervisor's"
    );
    println!(
        "ingest_service /metrics: sink handled {sink_under_load} under load, {sink_handled} settled \
         = {rows} rows; {refused_at_gate} refused at the gate = {refused} answered 503 \
         ({HELD_POSTS} held back until the drain); {accepted} answered 202"
    );
}
