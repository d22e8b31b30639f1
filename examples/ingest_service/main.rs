//! A reference service: HTTP ingest through maiko actors into SQLite,
//! losing nothing when it is stopped, under load or not.
//!
//! ```sh
//! cargo run --release --example ingest_service -- --listen 127.0.0.1:8080 --db ingest.db
//! curl -i -X POST http://127.0.0.1:8080/events -d '{"id": "order-1", "payload": {"total": 12}}'
//! ```
//!
//! When ready it prints `listening on http://IP:PORT` to stdout. Endpoints:
//!
//! - `POST /events` with `{"id": "<string>", "payload": <any JSON>}`: `202`
//!   once the runtime has accepted the event; `503` with `Retry-After` once
//!   a shutdown has started; `400` for a body that is not such JSON; `413`
//!   for a body over the limit; `405` for another method.
//! - `GET /health`: `200` while running, `503` once draining.
//! - `GET /stats`: what the HTTP layer answered, what was stored, and every
//!   actor's live figures.
//! - `GET /metrics`, with the feature `metrics` (`cargo run --release
//!   --features metrics --example ingest_service -- …`): the runtime's
//!   metrics in Prometheus' text format (`Content-Type: text/plain;
//!   version=0.0.4`), labelled `supervisor="ingest"` or `"audit"`. Without
//!   the feature there is no such route: `404`. Once a stop has started, it
//!   answers only a scrape whose connection the listener took before the
//!   stop, like every route (see `exporter.rs`).
//!
//! Inside, two supervisors in one `ShutdownGroup`:
//!
//! - `ingest`: `validate` → `enrich` → `sink`, which commits batches (every
//!   `--batch` events or `--batch-ms` milliseconds, whichever comes first)
//!   on the database's own thread, and `bridge`, which forwards a summary
//!   of every committed batch to
//! - `audit`: `trail`, which writes it to the `audit` table.
//!
//! On SIGTERM or SIGINT: the listener stops taking connections, requests in
//! flight get their answer (`202` or `503`), the runtime drains everything
//! accepted, the sink commits its last batch, the audit trail (added last,
//! so closing last) records it, the database closes; the shutdown report
//! goes to stderr and the exit status is 0 only if nothing was lost or cut
//! short. A second signal aborts at once (exit status 1).
//!
//! In that report, `ingest`'s "publishes refused at the gate" counts every
//! publish the gate refused, not only the requests answered `503`: also the
//! sink's summary of its last batch, if the stop found one waiting
//! (committed in `on_shutdown`, after the gate has closed), and of a batch
//! a timer committed just as the stop came. Those summaries reach the
//! audit trail directly (see `Sink` in `pipeline.rs`), and its log line
//! counts them as "handed over at the end".
//!
//! Timeouts are layered so each layer finishes before the next gives up:
//! the drain (`--drain-timeout`, 20 s) < the HTTP server's graceful
//! shutdown (`--http-timeout`, 25 s) < the orchestrator's kill timeout
//! (Kubernetes' `terminationGracePeriodSeconds`, 30 s by default).

mod audit;
mod config;
mod db;
#[cfg(feature = "metrics")]
mod exporter;
mod http;
mod pipeline;

use std::{
    io::Write,
    process::ExitCode,
    sync::{Arc, atomic::Ordering::Relaxed, mpsc},
    time::Duration,
};

use maiko::*;

use crate::{
    audit::{AuditEntry, Trail},
    config::{Config, Parsed},
    db::Db,
    http::{App, HttpFigures},
    pipeline::{Batching, Bridge, Enrich, Figures, Ingest, Sink, Stage, Validate},
};

/// `eprintln!` that never panics: a service whose standard error has gone
/// (the terminal's pipe closed, say) must still drain and exit cleanly,
/// so a failed write to it is ignored.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

/// How long the database may take to close after the runtime has stopped.
const DB_CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let config = match Config::parse(std::env::args().skip(1)) {
        Ok(Parsed::Run(config)) => config,
        Ok(Parsed::Help) => {
            print!("{}", config::HELP);
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            say!("ingest_service: {error}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        // A log line that cannot be written is dropped, silently: the
        // default reports it with `eprintln!`, which panics when standard
        // error is gone, and a panic here would cut the drain short.
        .log_internal_errors(false)
        // The log has no use for the per-event spans (`maiko::messaging`),
        // which only a trace exporter would show: left out unless
        // `RUST_LOG` asks for them.
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("info,maiko::messaging=off")
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(serve(config))
}

/// The ingest and audit supervisors, in a group, wired to the database.
struct Service {
    group: ShutdownGroup,
    ingest: SupervisorHandle<Ingest>,
    audit: SupervisorHandle<AuditEntry>,
    figures: Arc<Figures>,
}

fn build(config: &Config, db: Db) -> Service {
    let figures = Arc::new(Figures::default());
    let run = pipeline::now_ms();
    // Summaries the gate refused, handed from the sink and the bridge to the
    // audit trail, which reads them after both have ended.
    let (late_tx, late_rx) = mpsc::channel();

    // Named, so that their metrics differ by the `supervisor` label.
    let mut audit = Supervisor::<AuditEntry>::new(SupervisorConfig::default().with_name("audit"));
    let trail = Trail {
        db: Some(db.clone()),
        late: late_rx,
        figures: Arc::clone(&figures),
    };
    audit
        .add_actor("trail", move |_| trail, [DefaultTopic])
        .expect("a valid actor");

    let mut ingest =
        Supervisor::<Ingest, Stage>::new(SupervisorConfig::default().with_name("ingest"));
    let f = Arc::clone(&figures);
    ingest
        .add_actor(
            "validate",
            move |ctx| Validate { ctx, figures: f },
            [Stage::Received],
        )
        .expect("a valid actor");
    ingest
        .add_actor("enrich", |ctx| Enrich { ctx }, [Stage::Validated])
        .expect("a valid actor");
    let batching = Batching {
        max_events: config.batch,
        max_wait: config.batch_wait,
    };
    let (f, late) = (Arc::clone(&figures), late_tx.clone());
    ingest
        .build_actor("sink", move |ctx| {
            Sink::new(ctx, db, batching, run, late, f)
        })
        .topics([Stage::Enriched])
        // Room for the events that arrive while a batch commits.
        .channel_capacity(config.batch.max(1024))
        .build()
        .expect("a valid actor");
    let to_audit = audit.handle();
    ingest
        .add_actor(
            "bridge",
            move |ctx| Bridge {
                ctx,
                audit: to_audit,
                late: late_tx,
            },
            [Stage::Committed],
        )
        .expect("a valid actor");

    // The ingest side first, the audit trail after it: the trail closes
    // after the sink has committed its last batch.
    let mut group = ShutdownGroup::new()
        .with_shutdown_timeout(config.drain_timeout)
        .with_shutdown_grace(config::DRAIN_GRACE);
    let ingest = group.add("ingest", ingest);
    let audit = group.add("audit", audit);
    Service {
        group,
        ingest,
        audit,
        figures,
    }
}

/// SIGTERM and SIGINT (ctrl-c elsewhere than on Unix).
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// The next signal's name.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "ctrl-c"
        }
    }
}

/// How the HTTP server ended.
enum HttpEnd {
    /// Every connection closed: every request read was answered.
    Closed,
    /// It failed.
    Failed(String),
    /// Its graceful shutdown took longer than `--http-timeout`.
    TimedOut,
    /// A second signal cut it short.
    Aborted,
}

async fn serve(config: Config) -> ExitCode {
    // Signals from the first moment: a SIGTERM while binding or opening the
    // database is neither fatal nor lost; it starts the drain as soon as
    // the runtime runs (the group starts, drains nothing, and ends).
    let mut signals = match Signals::install() {
        Ok(signals) => signals,
        Err(error) => {
            say!("ingest_service: cannot listen for signals: {error}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            say!(
                "ingest_service: cannot listen on {}: {error}",
                config.listen
            );
            return ExitCode::from(2);
        }
    };
    let (db, db_closed) = match Db::open(&config.db) {
        Ok(opened) => opened,
        Err(error) => {
            say!(
                "ingest_service: cannot open the database {}: {error}",
                config.db.display()
            );
            return ExitCode::from(2);
        }
    };

    // Before the supervisors are built: they register their metrics when
    // they are made, and an actor when it is added.
    #[cfg(feature = "metrics")]
    let prometheus = match exporter::install() {
        Ok(handle) => {
            tokio::spawn(exporter::upkeep(handle.clone()));
            handle
        }
        Err(error) => {
            say!("ingest_service: cannot install the metrics recorder: {error}");
            return ExitCode::from(2);
        }
    };
    let Service {
        mut group,
        ingest,
        audit,
        figures,
    } = build(&config, db);
    let stop = group.handle();
    if let Err(error) = group.start().await {
        say!("ingest_service: cannot start the runtime: {error}");
        return ExitCode::from(2);
    }

    let app = Arc::new(App {
        ingest,
        audit,
        group: stop.clone(),
        figures: Arc::clone(&figures),
        http: HttpFigures::default(),
        #[cfg(feature = "metrics")]
        prometheus,
    });
    let address = listener.local_addr().expect("a bound listener");
    // The listener stops taking connections as soon as a stop starts;
    // requests in flight are answered, from the gate's verdict.
    let server = axum::serve(listener, http::router(Arc::clone(&app), config.body_limit))
        .with_graceful_shutdown(stop.stopping());
    let mut server = tokio::spawn(async move { server.await });
    let server_abort = server.abort_handle();

    tracing::info!(
        db = %config.db.display(),
        drain_timeout = ?config.drain_timeout,
        http_timeout = ?config.http_timeout,
        "ready"
    );
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on http://{address}");
    let _ = out.flush();
    drop(out);

    let mut server_ended = None;
    tokio::select! {
        name = signals.next() => {
            stop.request_stop();
            tracing::info!("{name} received: draining (a second signal aborts)");
        }
        () = stop.stopping() => {
            tracing::warn!("the runtime is stopping on its own: draining");
        }
        ended = &mut server => {
            let why = match ended {
                Ok(Ok(())) => "ended".to_owned(),
                Ok(Err(error)) => error.to_string(),
                Err(error) => error.to_string(),
            };
            stop.request_stop();
            tracing::error!("the HTTP server stopped ({why}): draining");
            server_ended = Some(HttpEnd::Failed(why));
        }
    }

    // The runtime drains while the HTTP server answers its last requests;
    // each of them waits at most for the gate's verdict.
    let http_timeout = config.http_timeout;
    let http = async move {
        if let Some(ended) = server_ended {
            return ended;
        }
        match tokio::time::timeout(http_timeout, &mut server).await {
            Ok(Ok(Ok(()))) => HttpEnd::Closed,
            Ok(Ok(Err(error))) => HttpEnd::Failed(error.to_string()),
            Ok(Err(error)) if error.is_cancelled() => HttpEnd::Aborted,
            Ok(Err(error)) => HttpEnd::Failed(error.to_string()),
            Err(_) => {
                server.abort();
                HttpEnd::TimedOut
            }
        }
    };
    let drained = async {
        let (report, http) = tokio::join!(group.shutdown(), http);
        let db = tokio::time::timeout(DB_CLOSE_TIMEOUT, db_closed.wait()).await;
        (report, http, db)
    };
    tokio::pin!(drained);
    let (report, http, db) = tokio::select! {
        done = &mut drained => done,
        name = signals.next() => {
            tracing::warn!("second signal ({name}): aborting the drain");
            stop.abort();
            server_abort.abort();
            drained.await
        }
    };

    let mut clean = report.is_clean();
    match http {
        HttpEnd::Closed => tracing::info!("HTTP server closed: every request read was answered"),
        HttpEnd::Failed(why) => {
            clean = false;
            tracing::error!("HTTP server failed: {why}");
        }
        HttpEnd::TimedOut => {
            clean = false;
            tracing::error!(
                "HTTP server still had requests after {http_timeout:?}: connections cut"
            );
        }
        HttpEnd::Aborted => {
            clean = false;
            tracing::warn!("HTTP server cut short by the second signal");
        }
    }
    match db {
        Ok(Ok(())) => tracing::info!("database closed"),
        Ok(Err(error)) => {
            clean = false;
            tracing::error!("database did not close cleanly: {error}");
        }
        Err(_) => {
            clean = false;
            tracing::error!("database still open after {DB_CLOSE_TIMEOUT:?}");
        }
    }

    let accepted = app.http.accepted.load(Relaxed);
    let stored = figures.stored.load(Relaxed);
    let duplicates = figures.duplicates.load(Relaxed);
    let accounted = accepted == stored + duplicates;
    clean &= accounted;
    say!("{}", report.to_string().trim_end());
    say!(
        "HTTP: {accepted} accepted (202), {} refused (503), {} bad requests (400), {} too large (413)",
        app.http.refused.load(Relaxed),
        app.http.bad_request.load(Relaxed),
        app.http.too_large.load(Relaxed),
    );
    say!(
        "database: {stored} events stored this run, {duplicates} duplicate ids ignored, \
         {} batches, {} audit entries; every accepted event accounted for: {}",
        figures.batches.load(Relaxed),
        figures.audited.load(Relaxed),
        if accounted { "yes" } else { "NO" },
    );
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
