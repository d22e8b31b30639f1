//! Load generator for the `ingest_service` example, against a baseline
//! without actors (`ingest_baseline`), side by side in one run.
//!
//! ```text
//! cargo run --release -p maiko-benches --bin ingest_load            # about a minute
//! cargo run --release -p maiko-benches --bin ingest_load -- --markdown
//! ```
//!
//! It builds both servers in release (unless `--service` and `--baseline`
//! name the binaries), then, for each round, starts each server as a child
//! process on a loopback port with a fresh database and:
//!
//! 1. opens `--connections` keep-alive connections that post unique ids as
//!    fast as they are answered (saturation), from a load generator with
//!    `--client-threads` tokio workers;
//! 2. after `--warmup` seconds, counts the `202` answers and their latency
//!    for `--seconds` seconds: requests per second, p50 and p99;
//! 3. sends SIGTERM with the clients still sending, and times the drain:
//!    from the signal until the process has exited (every request answered,
//!    the last batch committed, the database closed); the servers' own
//!    figure (the shutdown report's for maiko) is shown too;
//! 4. checks that the database holds exactly as many rows as the clients got
//!    `202`s.
//!
//! The servers alternate within a round, and the table shows the medians
//! over the rounds and the throughput ratio maiko ÷ baseline. The load
//! generator shares the machine with the server it measures, as a sidecar
//! would.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Command as StdCommand, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU8, Ordering::Relaxed},
    },
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
    process::Command,
};

struct Options {
    connections: usize,
    seconds: f64,
    warmup: f64,
    rounds: usize,
    client_threads: usize,
    batch: usize,
    batch_ms: u64,
    payload: usize,
    service: Option<PathBuf>,
    baseline: Option<PathBuf>,
    markdown: bool,
}

fn options() -> Options {
    let mut o = Options {
        connections: 32,
        seconds: 5.0,
        warmup: 1.0,
        rounds: 3,
        client_threads: 1,
        batch: 256,
        batch_ms: 5,
        payload: 100,
        service: None,
        baseline: None,
        markdown: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--markdown" {
            o.markdown = true;
            continue;
        }
        let value = args
            .next()
            .unwrap_or_else(|| panic!("{flag} needs a value"));
        let number = || -> f64 {
            value
                .parse()
                .unwrap_or_else(|_| panic!("{flag}: {value:?} is not a number"))
        };
        match flag.as_str() {
            "--connections" => o.connections = number() as usize,
            "--seconds" => o.seconds = number(),
            "--warmup" => o.warmup = number(),
            "--rounds" => o.rounds = number() as usize,
            "--client-threads" => o.client_threads = number() as usize,
            "--batch" => o.batch = number() as usize,
            "--batch-ms" => o.batch_ms = number() as u64,
            "--payload" => o.payload = number() as usize,
            "--service" => o.service = Some(value.into()),
            "--baseline" => o.baseline = Some(value.into()),
            other => panic!(
                "unknown flag {other}; flags: --connections N --seconds S --warmup S --rounds R \
                 --client-threads T --batch N --batch-ms MS --payload BYTES --service PATH \
                 --baseline PATH --markdown"
            ),
        }
    }
    assert!(
        o.connections > 0 && o.rounds > 0 && o.client_threads > 0,
        "counts must be positive"
    );
    o
}

/// Build the two servers in release, next to this binary, and return their
/// paths.
fn build(o: &Options) -> (PathBuf, PathBuf) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut dir = std::env::current_exe().expect("this binary's path");
    dir.pop();
    let run = |args: &[&str]| {
        let status = StdCommand::new(&cargo)
            .args(args)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo {args:?} failed");
    };
    let service = o.service.clone().unwrap_or_else(|| {
        run(&[
            "build",
            "--release",
            "--quiet",
            "-p",
            "maiko",
            "--example",
            "ingest_service",
        ]);
        dir.join("examples").join("ingest_service")
    });
    let baseline = o.baseline.clone().unwrap_or_else(|| {
        run(&[
            "build",
            "--release",
            "--quiet",
            "-p",
            "maiko-benches",
            "--bin",
            "ingest_baseline",
        ]);
        dir.join("ingest_baseline")
    });
    (service, baseline)
}

/// One server run's figures.
#[derive(Debug, Clone)]
struct Figures {
    requests_per_sec: f64,
    p50: Duration,
    p99: Duration,
    /// From SIGTERM until the process exited.
    drain: Duration,
    /// CPU time the server process used per request answered `202` while
    /// measuring (user and system): steadier than requests per second on a
    /// machine shared with other work.
    cpu_per_request: Duration,
    /// The server's own drain figure, as it printed it.
    reported: String,
    accepted: u64,
    stored: u64,
}

const WARMUP: u8 = 0;
const MEASURING: u8 = 1;
const AFTER: u8 = 2;

/// What one connection did.
#[derive(Default)]
struct ClientLog {
    accepted: u64,
    measured: u64,
    latencies_us: Vec<u32>,
}

async fn read_status(conn: &mut BufReader<TcpStream>) -> Option<(u16, bool)> {
    let mut line = String::new();
    if conn.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let status = line.split_whitespace().nth(1)?.parse().ok()?;
    let (mut length, mut close) = (0, false);
    loop {
        line.clear();
        if conn.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse().ok()?;
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.trim().eq_ignore_ascii_case("close");
        }
    }
    let mut body = vec![0; length];
    conn.read_exact(&mut body).await.ok()?;
    Some((status, close))
}

/// Post unique ids as fast as they are answered until a connection is
/// refused (the server has closed its listener).
async fn client(addr: SocketAddr, name: String, pad: String, phase: Arc<AtomicU8>) -> ClientLog {
    let mut log = ClientLog::default();
    let mut conn: Option<BufReader<TcpStream>> = None;
    let mut request = Vec::with_capacity(256 + pad.len());
    for n in 0_u64.. {
        let stream = match &mut conn {
            Some(stream) => stream,
            None => match TcpStream::connect(addr).await {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    conn.insert(BufReader::new(stream))
                }
                Err(_) => break,
            },
        };
        let body = format!(r#"{{"id":"{name}-{n}","payload":{{"n":{n},"pad":"{pad}"}}}}"#);
        request.clear();
        request.extend_from_slice(
            format!(
                "POST /events HTTP/1.1\r\nhost: load\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        request.extend_from_slice(body.as_bytes());
        let started = Instant::now();
        if stream.get_mut().write_all(&request).await.is_err() {
            conn = None;
            continue;
        }
        match read_status(stream).await {
            Some((status, close)) => {
                if status == 202 {
                    log.accepted += 1;
                    if phase.load(Relaxed) == MEASURING {
                        log.measured += 1;
                        let us = started.elapsed().as_micros().min(u128::from(u32::MAX));
                        log.latencies_us.push(us as u32);
                    }
                }
                if close {
                    conn = None;
                }
            }
            None => conn = None,
        }
    }
    log
}

fn percentile(sorted: &[u32], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    Duration::from_micros(u64::from(sorted[index]))
}

/// CPU time used so far by process `pid` (user and system), from
/// `/proc/PID/stat`; zero where there is no `/proc`.
fn cpu_time(pid: u32) -> Duration {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // Fields after the command name, which is in parentheses: utime and
    // stime are the 12th and 13th of them, in clock ticks.
    let after = stat.rsplit(')').next().unwrap_or("");
    let ticks: u64 = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse::<u64>().ok())
        .sum();
    Duration::from_secs_f64(ticks as f64 / clock_ticks_per_sec())
}

fn clock_ticks_per_sec() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        StdCommand::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

fn count_rows(db: &Path) -> u64 {
    let conn = rusqlite::Connection::open(db).expect("open the database");
    conn.query_row("SELECT COUNT(*) FROM events", [], |row| {
        row.get::<_, i64>(0)
    })
    .expect("count the rows") as u64
}

/// The server's own drain figure from its stderr.
fn reported_drain(stderr: &str) -> String {
    for line in stderr.lines() {
        if let Some(rest) = line.strip_prefix("group shutdown ") {
            // "clean in 12.3ms, 2 members"
            return rest.split(',').next().unwrap_or(rest).to_owned();
        }
        if let Some(at) = line.find("drained in ") {
            let rest = &line[at + "drained in ".len()..];
            return format!("drained in {}", rest.split(';').next().unwrap_or(rest));
        }
    }
    "not reported".into()
}

async fn run_server(binary: &Path, label: &str, round: usize, o: &Options) -> Figures {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("ingest.db");
    let mut child = Command::new(binary)
        .args(["--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .args(["--batch", &o.batch.to_string()])
        .args(["--batch-ms", &o.batch_ms.to_string()])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut stderr = child.stderr.take().expect("stderr");
    let stderr_text = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let first = stdout
        .next_line()
        .await
        .expect("stdout")
        .expect("a first line");
    let addr: SocketAddr = first
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .parse()
        .expect("an address");

    let phase = Arc::new(AtomicU8::new(WARMUP));
    let pad = "x".repeat(o.payload.saturating_sub(60));
    let clients: Vec<_> = (0..o.connections)
        .map(|c| {
            tokio::spawn(client(
                addr,
                format!("{label}-r{round}-c{c}"),
                pad.clone(),
                Arc::clone(&phase),
            ))
        })
        .collect();

    tokio::time::sleep(Duration::from_secs_f64(o.warmup)).await;
    let pid = child.id().expect("running");
    phase.store(MEASURING, Relaxed);
    let (measuring, cpu_before) = (Instant::now(), cpu_time(pid));
    tokio::time::sleep(Duration::from_secs_f64(o.seconds)).await;
    phase.store(AFTER, Relaxed);
    let (measured_for, cpu_used) = (measuring.elapsed(), cpu_time(pid) - cpu_before);

    // At saturation: the clients are still sending.
    let signalled = Instant::now();
    let status = StdCommand::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = child.wait().await.expect("the server exits");
    let drain = signalled.elapsed();
    let stderr = stderr_text.await.expect("stderr");
    assert!(
        exit.success(),
        "{label} exited with {exit}; stderr:\n{stderr}"
    );

    let mut latencies = Vec::new();
    let (mut accepted, mut measured) = (0, 0);
    for handle in clients {
        let log = handle.await.expect("a client");
        accepted += log.accepted;
        measured += log.measured;
        latencies.extend(log.latencies_us);
    }
    latencies.sort_unstable();
    let stored = count_rows(&db);
    Figures {
        requests_per_sec: measured as f64 / measured_for.as_secs_f64(),
        cpu_per_request: cpu_used / u32::try_from(measured.max(1)).unwrap_or(u32::MAX),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        drain,
        reported: reported_drain(&stderr),
        accepted,
        stored,
    }
}

/// Each figure's median over the rounds (each taken on its own).
struct Medians {
    requests_per_sec: f64,
    cpu_per_request: Duration,
    p50: Duration,
    p99: Duration,
    drain: Duration,
}

impl Medians {
    fn of(runs: &[Figures]) -> Self {
        fn median(mut values: Vec<f64>) -> f64 {
            values.sort_by(f64::total_cmp);
            values[values.len() / 2]
        }
        let secs = |f: fn(&Figures) -> Duration| {
            Duration::from_secs_f64(median(runs.iter().map(|r| f(r).as_secs_f64()).collect()))
        };
        Self {
            requests_per_sec: median(runs.iter().map(|r| r.requests_per_sec).collect()),
            cpu_per_request: secs(|r| r.cpu_per_request),
            p50: secs(|r| r.p50),
            p99: secs(|r| r.p99),
            drain: secs(|r| r.drain),
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// The load average, from `/proc/loadavg` (the first three figures).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn main() {
    let o = options();
    let (service, baseline) = build(&o);
    let load_before = load_average();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(o.client_threads)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let systems = [
        ("maiko", service.as_path()),
        ("baseline", baseline.as_path()),
    ];
    let runs: Mutex<Vec<Vec<Figures>>> = Mutex::new(vec![Vec::new(), Vec::new()]);
    for round in 0..o.rounds {
        // Alternate which server goes first.
        let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let (label, binary) = systems[i];
            let figures = runtime.block_on(run_server(binary, label, round, &o));
            eprintln!(
                "round {round} {label:<8}: {:>8.0} req/s, {:.1} µs CPU/req, p50 {}, p99 {}, \
                 SIGTERM to exit {}, server: {}; {} accepted, {} rows",
                figures.requests_per_sec,
                figures.cpu_per_request.as_secs_f64() * 1e6,
                ms(figures.p50),
                ms(figures.p99),
                ms(figures.drain),
                figures.reported,
                figures.accepted,
                figures.stored
            );
            assert_eq!(
                figures.accepted, figures.stored,
                "{label}: every 202 must be stored"
            );
            runs.lock().unwrap()[i].push(figures);
        }
    }
    let runs = runs.into_inner().unwrap();
    let medians: Vec<Medians> = runs.iter().map(|r| Medians::of(r)).collect();
    let ratio = medians[0].requests_per_sec / medians[1].requests_per_sec;
    let cpu_ratio = medians[0].cpu_per_request.as_secs_f64()
        / medians[1]
            .cpu_per_request
            .as_secs_f64()
            .max(f64::MIN_POSITIVE);

    let names = [
        "ingest_service (maiko: validate, enrich, sink, bridge; audit trail)",
        "baseline (axum → tokio mpsc → one batching task)",
    ];
    let mut table = String::new();
    table.push_str(
        "| server | requests/s | server CPU per request | p50 latency | p99 latency | \
         SIGTERM → exit | server's own drain figure, per round |\n",
    );
    table.push_str("|---|---:|---:|---:|---:|---:|---|\n");
    for (i, m) in medians.iter().enumerate() {
        let drains: Vec<String> = runs[i].iter().map(|f| f.reported.clone()).collect();
        table.push_str(&format!(
            "| {} | {:.0} | {:.1} µs | {} | {} | {} | {} |\n",
            names[i],
            m.requests_per_sec,
            m.cpu_per_request.as_secs_f64() * 1e6,
            ms(m.p50),
            ms(m.p99),
            ms(m.drain),
            drains.join("; ")
        ));
    }
    let p99_ratio =
        medians[0].p99.as_secs_f64() / medians[1].p99.as_secs_f64().max(f64::MIN_POSITIVE);
    let met = ratio >= 0.95 && p99_ratio <= 1.2;
    let verdict = if met { "met" } else { "**not met**" };
    if o.markdown {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|m| m.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".into());
        let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
        let load_after = load_average();
        println!("### Ingest service over HTTP (`ingest_load`)\n");
        println!(
            "`cargo run --release -p maiko-benches --bin ingest_load -- --markdown`, on {nproc} \
             CPUs ({cpu}), shared with the load generator. {} keep-alive connections post unique \
             ids as fast as they are answered ({}-byte payloads; a load generator with {} tokio \
             worker), {} s warm-up then {} s measured, {} rounds with the two servers \
             alternating; medians. Both servers: the same axum, JSON checks, per-record work, \
             SQLite schema and pragmas, batches of {} records or {} ms on a database thread. \
             SIGTERM is sent at saturation, the clients still sending; \"SIGTERM → exit\" runs \
             until the process has exited (requests in flight answered, last batch committed, \
             database closed). Every run checks that the rows stored equal the `202`s the \
             clients got. Load average before and after: {load_before} / {load_after}.\n",
            o.connections,
            o.payload,
            o.client_threads,
            o.warmup,
            o.seconds,
            o.rounds,
            o.batch,
            o.batch_ms
        );
        print!("{table}");
        println!(
            "\nThroughput, maiko ÷ baseline: **{ratio:.2}**; p99 latency, maiko ÷ baseline: \
             **{p99_ratio:.2}** (goal: at least 0.95x the throughput, p99 within 1.2x: \
             {verdict}); server CPU per request, maiko ÷ baseline: {cpu_ratio:.2}.\n"
        );
    } else {
        println!("\n{table}");
        println!(
            "throughput maiko ÷ baseline: {ratio:.2}, p99 maiko ÷ baseline: {p99_ratio:.2} \
             (goal: throughput ≥ 0.95, p99 ≤ 1.2: {verdict})"
        );
        println!("server CPU per request maiko ÷ baseline: {cpu_ratio:.2}");
    }
}
