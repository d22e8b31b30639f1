//! The baseline of the ingest benchmark: the `ingest_service` example's
//! HTTP contract and database work, without actors.
//!
//! Same axum server, same body limit, same JSON checks, the same per-record
//! work as the example's `validate` and `enrich` actors (done inline in the
//! handler), the same SQLite schema and pragmas, the same batching (every
//! `--batch` records or `--batch-ms` milliseconds, committed on a database
//! thread of its own). What it does not have: a broker, mailboxes, a stop
//! gate, an audit trail. The handler sends each record into one bounded
//! tokio `mpsc` channel, and one batching task drains it.
//!
//! Shutdown: on SIGTERM or SIGINT the listener closes and handlers still
//! running answer; a handler that sees the stop flag answers 503. When the
//! server has finished, the channel's last sender is dropped, the batching
//! task commits what is left, and the database closes. It prints
//! `listening on http://IP:PORT` when ready and, on stderr, how long the
//! drain took and what was stored.
//!
//! ```text
//! cargo run --release -p maiko-benches --bin ingest_baseline -- --listen 127.0.0.1:0 --db /tmp/baseline.db
//! ```
//!
//! `ingest_load` starts it next to the example and compares them.

use std::{
    io::Write,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
        mpsc as std_mpsc,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, State, rejection::BytesRejection},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use rusqlite::{Connection, params};
use serde::Deserialize;
use serde_json::{json, value::RawValue};
use tokio::sync::{mpsc, oneshot};

/// The example's schema (its `audit` table is left out: there is no audit
/// trail here).
const SCHEMA: &str = "
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    CREATE TABLE IF NOT EXISTS events (
        id          TEXT PRIMARY KEY NOT NULL,
        payload     TEXT NOT NULL,
        kind        TEXT NOT NULL,
        bytes       INTEGER NOT NULL,
        flag        TEXT,
        received_at INTEGER NOT NULL,
        stored_at   INTEGER NOT NULL
    );
";

/// Room in the channel between the handlers and the batching task: about
/// what the example has between its HTTP layer and its sink.
const CHANNEL: usize = 1024;

struct Settings {
    listen: SocketAddr,
    db: PathBuf,
    body_limit: usize,
    batch: usize,
    batch_wait: Duration,
}

fn settings() -> Result<Settings, String> {
    let mut s = Settings {
        listen: SocketAddr::from(([127, 0, 0, 1], 8081)),
        db: PathBuf::from("baseline.db"),
        body_limit: 1024 * 1024,
        batch: 256,
        batch_wait: Duration::from_millis(5),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = || format!("{flag}: bad value {value:?}");
        match flag.as_str() {
            "--listen" => s.listen = value.parse().map_err(|_| bad())?,
            "--db" => s.db = value.clone().into(),
            "--body-limit" => s.body_limit = value.parse().map_err(|_| bad())?,
            "--batch" => s.batch = value.parse().map_err(|_| bad())?,
            "--batch-ms" => {
                s.batch_wait = Duration::from_millis(value.parse().map_err(|_| bad())?);
            }
            // Accepted for symmetry with the example's command line.
            "--drain-timeout" | "--http-timeout" => {}
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if s.batch == 0 || s.batch_wait.is_zero() {
        return Err("--batch and --batch-ms must be positive".into());
    }
    Ok(s)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A record, as the example's sink receives it.
struct Record {
    id: Arc<str>,
    payload: Arc<str>,
    received_at: u64,
    flag: Option<&'static str>,
    kind: &'static str,
}

/// The example's `validate` rule.
fn flag(id: &str, payload: &str) -> Option<&'static str> {
    if id.chars().any(char::is_control) {
        Some("id has control characters")
    } else if id.trim() != id {
        Some("id has surrounding whitespace")
    } else if id.len() > 200 {
        Some("id longer than 200 bytes")
    } else if payload == "null" {
        Some("no payload")
    } else {
        None
    }
}

/// The example's `enrich` rule.
fn kind(payload: &str) -> &'static str {
    match payload.trim_start().as_bytes().first() {
        Some(b'{') => "object",
        Some(b'[') => "array",
        Some(b'"') => "string",
        Some(b't' | b'f') => "boolean",
        Some(b'n') | None => "null",
        Some(_) => "number",
    }
}

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// The database thread; it closes the connection when `jobs` is dropped.
fn open_db(path: &Path) -> (std_mpsc::Sender<Job>, std::thread::JoinHandle<()>) {
    let (jobs, queue) = std_mpsc::channel::<Job>();
    let path = path.to_owned();
    let thread = std::thread::spawn(move || {
        let mut conn = Connection::open(&path).expect("open the database");
        conn.execute_batch(SCHEMA).expect("the schema");
        for job in queue {
            job(&mut conn);
        }
        conn.close()
            .map_err(|(_, e)| e)
            .expect("close the database");
    });
    (jobs, thread)
}

fn insert(conn: &mut Connection, records: &[Record], stored_at: u64) -> rusqlite::Result<u64> {
    let tx = conn.transaction()?;
    let mut rows = 0;
    {
        let mut insert = tx.prepare_cached(
            "INSERT OR IGNORE INTO events (id, payload, kind, bytes, flag, received_at, stored_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for r in records {
            rows += insert.execute(params![
                &*r.id,
                &*r.payload,
                r.kind,
                r.payload.len() as i64,
                r.flag,
                r.received_at as i64,
                stored_at as i64,
            ])? as u64;
        }
    }
    tx.commit()?;
    Ok(rows)
}

/// Drain the channel into the database in batches, until every sender is
/// gone; returns the rows stored.
async fn batcher(
    mut records: mpsc::Receiver<Record>,
    jobs: std_mpsc::Sender<Job>,
    batch: usize,
    wait: Duration,
) -> u64 {
    let mut stored = 0;
    let mut pending: Vec<Record> = Vec::with_capacity(batch);
    let mut open = true;
    while open || !pending.is_empty() {
        if pending.is_empty() {
            match records.recv().await {
                Some(record) => pending.push(record),
                None => break,
            }
        }
        let deadline = tokio::time::Instant::now() + wait;
        while open && pending.len() < batch {
            let room = batch - pending.len();
            tokio::select! {
                got = records.recv_many(&mut pending, room) => {
                    open = got > 0;
                }
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        let full = std::mem::replace(&mut pending, Vec::with_capacity(batch));
        let (done_tx, done) = oneshot::channel();
        let stored_at = now_ms();
        let job: Job = Box::new(move |conn| {
            let _ = done_tx.send(insert(conn, &full, stored_at));
        });
        jobs.send(job).expect("the database thread");
        stored += done
            .await
            .expect("the database thread")
            .expect("the batch commits");
    }
    stored
}

struct App {
    records: mpsc::Sender<Record>,
    stopping: AtomicBool,
    accepted: AtomicU64,
    refused: AtomicU64,
}

#[derive(Deserialize)]
struct Incoming {
    id: String,
    #[serde(default)]
    payload: Option<Box<RawValue>>,
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn unavailable() -> Response {
    let mut response = answer(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({ "error": "shutting down; retry elsewhere or later" }),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

async fn post_event(State(app): State<Arc<App>>, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            return answer(
                rejection.status(),
                json!({ "error": rejection.body_text() }),
            );
        }
    };
    let incoming: Incoming = match serde_json::from_slice::<Incoming>(&body) {
        Ok(incoming) if !incoming.id.is_empty() => incoming,
        Ok(_) => return answer(StatusCode::BAD_REQUEST, json!({ "error": "empty id" })),
        Err(error) => {
            return answer(
                StatusCode::BAD_REQUEST,
                json!({ "error": format!("expected {{\"id\": string, \"payload\": any}}: {error}") }),
            );
        }
    };
    if app.stopping.load(Relaxed) {
        app.refused.fetch_add(1, Relaxed);
        return unavailable();
    }
    let payload: Arc<str> = match &incoming.payload {
        Some(raw) => raw.get().into(),
        None => "null".into(),
    };
    let record = Record {
        flag: flag(&incoming.id, &payload),
        kind: kind(&payload),
        id: incoming.id.into(),
        payload,
        received_at: now_ms(),
    };
    let id = Arc::clone(&record.id);
    // The receiver lives until every handler has finished: never closed.
    if app.records.send(record).await.is_err() {
        app.refused.fetch_add(1, Relaxed);
        return unavailable();
    }
    app.accepted.fetch_add(1, Relaxed);
    answer(StatusCode::ACCEPTED, json!({ "accepted": &*id }))
}

async fn health(State(app): State<Arc<App>>) -> Response {
    if app.stopping.load(Relaxed) {
        unavailable()
    } else {
        answer(StatusCode::OK, json!({ "status": "ok" }))
    }
}

#[cfg(unix)]
async fn next_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}

#[cfg(not(unix))]
async fn next_signal() -> &'static str {
    let _ = tokio::signal::ctrl_c().await;
    "ctrl-c"
}

fn main() {
    let s = match settings() {
        Ok(s) => s,
        Err(error) => {
            eprintln!("ingest_baseline: {error}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(s.listen)
            .await
            .expect("bind the listener");
        let address = listener.local_addr().expect("a bound listener");
        let (jobs, db_thread) = open_db(&s.db);
        let (records, queue) = mpsc::channel(CHANNEL);
        let batching = tokio::spawn(batcher(queue, jobs, s.batch, s.batch_wait));
        let app = Arc::new(App {
            records,
            stopping: AtomicBool::new(false),
            accepted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        });
        let router = Router::new()
            .route("/events", post(post_event))
            .route("/health", get(health))
            .layer(DefaultBodyLimit::max(s.body_limit))
            .with_state(Arc::clone(&app));

        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let server = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = stop_rx.await;
        });
        let server = tokio::spawn(async move { server.await });
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{address}");
        let _ = out.flush();
        drop(out);

        let name = next_signal().await;
        let started = Instant::now();
        app.stopping.store(true, Relaxed);
        let _ = stop_tx.send(());
        server
            .await
            .expect("the server task")
            .expect("the server");
        let accepted = app.accepted.load(Relaxed);
        let refused = app.refused.load(Relaxed);
        // The handlers are done: the last sender goes with the state.
        drop(app);
        let stored = batching.await.expect("the batching task");
        tokio::task::spawn_blocking(move || db_thread.join())
            .await
            .expect("join")
            .expect("the database thread");
        eprintln!(
            "baseline: {name}: drained in {:?}; HTTP: {accepted} accepted (202), {refused} refused (503); database: {stored} events stored",
            started.elapsed()
        );
    });
}
