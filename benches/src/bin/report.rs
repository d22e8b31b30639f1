//! The one-command benchmark report:
//!
//! ```text
//! cargo run --release -p maiko-benches --bin report
//! ```
//!
//! Runs every workload of `maiko_benches` on maiko, its plain-tokio
//! baselines and the peers, on a current-thread runtime and on a 2-worker
//! multi-thread runtime, repeats each measurement and takes the median, probes
//! memory with a counting global allocator, and writes `benches/RESULTS.md`
//! with the figures and the budget targets marked met or not met.
//!
//! Options: `--repeats N` (default 11) and `--out PATH`.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    fmt::Write as _,
    future::Future,
    path::PathBuf,
    process::Command,
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use maiko_benches::{
    BACKLOG, DrainMode, actix_peer, current_thread, kameo_peer, maiko_now, maiko_old, median,
    memory::IDLE_ACTORS, ractor_peer, tokio_base, two_workers,
};
use tokio::runtime::Runtime;

// ---------------------------------------------------------------------------
// Counting allocator

/// Counts live heap bytes while [`COUNTING`] is set. The memory probes run
/// first with it set; it is then cleared, so the timed workloads pay one
/// relaxed load of a read-only flag per allocation and nothing else.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(true);

/// Kept on its own cache line, away from the flag.
#[repr(align(128))]
struct Live(AtomicUsize);

static LIVE: Live = Live(AtomicUsize::new(0));

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged and only adds bookkeeping on an atomic counter; the layout
// contracts are the caller's, exactly as for `System`.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged (see the impl).
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() && COUNTING.load(Ordering::Relaxed) {
            LIVE.0.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged (see the impl).
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() && COUNTING.load(Ordering::Relaxed) {
            LIVE.0.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { System.dealloc(ptr, layout) };
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.0.fetch_sub(layout.size(), Ordering::Relaxed);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged (see the impl).
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() && COUNTING.load(Ordering::Relaxed) {
            LIVE.0.fetch_add(new_size, Ordering::Relaxed);
            LIVE.0.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live_bytes() -> usize {
    LIVE.0.load(Ordering::Relaxed)
}

// ---------------------------------------------------------------------------
// Measurement

/// Events per throughput run.
const EVENTS: u64 = 20_000;
/// Events per scaling run (a multiple of the 100 topics).
const SCALING_EVENTS: u64 = 2_000;
const SCALING_SIZES: [usize; 4] = [10, 100, 1_000, 10_000];
const STOP_SIZES: [usize; 3] = [4, 100, 1_000];
/// Extra repeats for the microsecond-scale stops.
const STOP_REPEAT_FACTOR: usize = 3;

const MAIKO: &str = "maiko";
const MAIKO_OLD: &str = "maiko 0.3.1";
const TOKIO_1: &str = "tokio mpsc, one hop";
const TOKIO_2: &str = "tokio mpsc, two hops (forwarder)";
const KAMEO: &str = "kameo 0.22";
const RACTOR: &str = "ractor 0.16";
const ACTIX: &str = "actix 0.13";

/// The two runtimes, as table columns.
const FLAVORS: [&str; 2] = ["1 thread", "2 workers"];

struct Bench {
    repeats: usize,
    runtimes: [Runtime; 2],
    actix: actix_rt::SystemRunner,
}

impl Bench {
    /// Median of `repeats` runs (after one discarded warm-up run).
    fn run<F, Fut>(&self, flavor: usize, repeats: usize, workload: F) -> Duration
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Duration>,
    {
        let runtime = &self.runtimes[flavor];
        runtime.block_on(workload());
        let mut samples: Vec<Duration> =
            (0..repeats).map(|_| runtime.block_on(workload())).collect();
        median(&mut samples)
    }

    fn run_actix(
        &self,
        repeats: usize,
        workload: impl Fn(&actix_rt::SystemRunner) -> Duration,
    ) -> Duration {
        workload(&self.actix);
        let mut samples: Vec<Duration> = (0..repeats).map(|_| workload(&self.actix)).collect();
        median(&mut samples)
    }
}

/// One system's figures in one workload: nanoseconds per unit, per runtime.
struct Row {
    system: &'static str,
    ns: [Option<f64>; 2],
}

/// One workload: its rows, the first of which is maiko.
struct Table {
    key: &'static str,
    title: String,
    unit: &'static str,
    note: &'static str,
    rows: Vec<Row>,
}

impl Table {
    fn new(
        key: &'static str,
        title: impl Into<String>,
        unit: &'static str,
        note: &'static str,
    ) -> Self {
        Self {
            key,
            title: title.into(),
            unit,
            note,
            rows: Vec::new(),
        }
    }

    fn get(&self, system: &str, flavor: usize) -> Option<f64> {
        self.rows
            .iter()
            .find(|row| row.system == system)
            .and_then(|row| row.ns[flavor])
    }

    /// maiko's figure divided by `system`'s.
    fn ratio(&self, system: &str, flavor: usize) -> Option<f64> {
        Some(self.get(MAIKO, flavor)? / self.get(system, flavor)?)
    }
}

fn ns(d: Duration, per: u64) -> f64 {
    d.as_nanos() as f64 / per as f64
}

/// Measure one workload on both runtimes, print progress, add a row.
fn measure<F, Fut>(
    bench: &Bench,
    table: &mut Table,
    system: &'static str,
    per: u64,
    repeats: usize,
    workload: F,
) where
    F: Fn() -> Fut,
    Fut: Future<Output = Duration>,
{
    let mut row = Row {
        system,
        ns: [None, None],
    };
    for flavor in 0..2 {
        let figure = ns(bench.run(flavor, repeats, &workload), per);
        row.ns[flavor] = Some(figure);
    }
    println!(
        "  {:<28} {:<36} {:>12.1} {:>12.1}  {}",
        table.key,
        system,
        row.ns[0].unwrap_or(f64::NAN),
        row.ns[1].unwrap_or(f64::NAN),
        table.unit
    );
    table.rows.push(row);
}

/// Measure a drain stopping and running, alternating the two runs so that
/// both see the same drift of the machine and allocator state; a row each.
fn measure_drain<F, Fut>(
    bench: &Bench,
    table: &mut Table,
    names: [&'static str; 2],
    repeats: usize,
    workload: F,
) where
    F: Fn(DrainMode) -> Fut,
    Fut: Future<Output = Duration>,
{
    let mut rows = names.map(|system| Row {
        system,
        ns: [None, None],
    });
    for flavor in 0..2 {
        let runtime = &bench.runtimes[flavor];
        runtime.block_on(workload(DrainMode::Stop));
        runtime.block_on(workload(DrainMode::Running));
        let mut samples = [Vec::new(), Vec::new()];
        for _ in 0..repeats {
            samples[0].push(runtime.block_on(workload(DrainMode::Stop)));
            samples[1].push(runtime.block_on(workload(DrainMode::Running)));
        }
        for (row, samples) in rows.iter_mut().zip(&mut samples) {
            row.ns[flavor] = Some(ns(median(samples), BACKLOG));
        }
    }
    for row in rows {
        println!(
            "  {:<28} {:<36} {:>12.1} {:>12.1}  {}",
            table.key,
            row.system,
            row.ns[0].unwrap_or(f64::NAN),
            row.ns[1].unwrap_or(f64::NAN),
            table.unit
        );
        table.rows.push(row);
    }
}

fn measure_actix(
    bench: &Bench,
    table: &mut Table,
    per: u64,
    repeats: usize,
    workload: impl Fn(&actix_rt::SystemRunner) -> Duration,
) {
    let figure = ns(bench.run_actix(repeats, workload), per);
    println!(
        "  {:<28} {:<36} {:>12.1} {:>12}  {}",
        table.key, ACTIX, figure, "n/a", table.unit
    );
    table.rows.push(Row {
        system: ACTIX,
        ns: [Some(figure), None],
    });
}

fn one_to_one<const N: usize>(bench: &Bench, key: &'static str, title: &str) -> Table {
    let r = bench.repeats;
    let mut t = Table::new(key, title, "ns/event", "");
    measure(bench, &mut t, MAIKO, EVENTS, r, || {
        maiko_now::one_to_one::<N>(EVENTS)
    });
    measure(bench, &mut t, TOKIO_1, EVENTS, r, || {
        tokio_base::one_hop::<N>(EVENTS)
    });
    measure(bench, &mut t, TOKIO_2, EVENTS, r, || {
        tokio_base::two_hops::<N>(EVENTS)
    });
    measure(bench, &mut t, MAIKO_OLD, EVENTS, r, || {
        maiko_old::one_to_one::<N>(EVENTS)
    });
    measure(bench, &mut t, KAMEO, EVENTS, r, || {
        kameo_peer::one_to_one::<N>(EVENTS)
    });
    measure(bench, &mut t, RACTOR, EVENTS, r, || {
        ractor_peer::one_to_one::<N>(EVENTS)
    });
    measure_actix(bench, &mut t, EVENTS, r, |s| {
        actix_peer::one_to_one::<N>(s, EVENTS)
    });
    t
}

fn throughput(bench: &Bench) -> Vec<Table> {
    let r = bench.repeats;
    let mut tables = vec![
        one_to_one::<32>(
            bench,
            "one_to_one/32B",
            "One producer to one subscriber, 32-byte events",
        ),
        one_to_one::<1024>(
            bench,
            "one_to_one/1KiB",
            "One producer to one subscriber, 1 KiB events",
        ),
    ];

    let mut t = Table::new(
        "fan_out/4",
        "Fan-out: one producer to 4 subscribers of one topic, 32 B",
        "ns/event",
        "Per published event (each is handled 4 times). Peers send each event to the 4 actors.",
    );
    measure(bench, &mut t, MAIKO, EVENTS, r, || {
        maiko_now::fan_out(EVENTS, 4)
    });
    measure(
        bench,
        &mut t,
        "tokio mpsc, 4 raw channels",
        EVENTS,
        r,
        || tokio_base::fan_out(EVENTS, 4),
    );
    measure(bench, &mut t, MAIKO_OLD, EVENTS, r, || {
        maiko_old::fan_out(EVENTS, 4)
    });
    measure(bench, &mut t, KAMEO, EVENTS, r, || {
        kameo_peer::fan_out(EVENTS, 4)
    });
    measure(bench, &mut t, RACTOR, EVENTS, r, || {
        ractor_peer::fan_out(EVENTS, 4)
    });
    measure_actix(bench, &mut t, EVENTS, r, |s| {
        actix_peer::fan_out(s, EVENTS, 4)
    });
    tables.push(t);

    let mut t = Table::new(
        "fan_in/4",
        "Fan-in: 4 producers to one subscriber, 32 B",
        "ns/event",
        "",
    );
    measure(bench, &mut t, MAIKO, EVENTS, r, || {
        maiko_now::fan_in(EVENTS, 4)
    });
    measure(bench, &mut t, TOKIO_1, EVENTS, r, || {
        tokio_base::fan_in(EVENTS, 4, false)
    });
    measure(bench, &mut t, TOKIO_2, EVENTS, r, || {
        tokio_base::fan_in(EVENTS, 4, true)
    });
    measure(bench, &mut t, MAIKO_OLD, EVENTS, r, || {
        maiko_old::fan_in(EVENTS, 4)
    });
    measure(bench, &mut t, KAMEO, EVENTS, r, || {
        kameo_peer::fan_in(EVENTS, 4)
    });
    measure(bench, &mut t, RACTOR, EVENTS, r, || {
        ractor_peer::fan_in(EVENTS, 4)
    });
    tables.push(t);

    let mut t = Table::new(
        "pipeline/3",
        "Pipeline: source -> transform -> sink, 32 B",
        "ns/event",
        "The transform republishes every event from its handler. tokio: two hops \
         (task to task), or four (a forwarder task between stages, the brokered shape).",
    );
    measure(bench, &mut t, MAIKO, EVENTS, r, || {
        maiko_now::pipeline(EVENTS)
    });
    measure(bench, &mut t, "tokio mpsc, two hops", EVENTS, r, || {
        tokio_base::pipeline(EVENTS, false)
    });
    measure(
        bench,
        &mut t,
        "tokio mpsc, four hops (forwarders)",
        EVENTS,
        r,
        || tokio_base::pipeline(EVENTS, true),
    );
    measure(bench, &mut t, MAIKO_OLD, EVENTS, r, || {
        maiko_old::pipeline(EVENTS)
    });
    measure(bench, &mut t, KAMEO, EVENTS, r, || {
        kameo_peer::pipeline(EVENTS)
    });
    measure(bench, &mut t, RACTOR, EVENTS, r, || {
        ractor_peer::pipeline(EVENTS)
    });
    tables.push(t);
    tables
}

fn stops(bench: &Bench) -> Vec<Table> {
    let r = bench.repeats * STOP_REPEAT_FACTOR;
    let mut tables = Vec::new();
    for actors in STOP_SIZES {
        let key: &'static str = match actors {
            4 => "idle_stop/4",
            100 => "idle_stop/100",
            _ => "idle_stop/1000",
        };
        let repeats = if actors >= 1000 { bench.repeats } else { r };
        let mut t = Table::new(
            key,
            format!("Stop latency of an idle system of {actors} actors"),
            "ns/stop",
            "From the stop call until every task has ended. tokio: drop the senders of \
             idle tasks and join them. kameo: `stop_gracefully` then `wait_for_shutdown` \
             on each actor. ractor: `stop(None)` on each, then join.",
        );
        measure(bench, &mut t, MAIKO, 1, repeats, || {
            maiko_now::idle_stop(actors)
        });
        measure(
            bench,
            &mut t,
            "tokio tasks, drop senders + join",
            1,
            repeats,
            || tokio_base::idle_stop(actors),
        );
        measure(bench, &mut t, MAIKO_OLD, 1, repeats, || {
            maiko_old::idle_stop(actors)
        });
        measure(bench, &mut t, KAMEO, 1, repeats, || {
            kameo_peer::idle_stop(actors)
        });
        measure(bench, &mut t, RACTOR, 1, repeats, || {
            ractor_peer::idle_stop(actors)
        });
        tables.push(t);
    }

    let mut t = Table::new(
        "drain/10000",
        format!("Drain: {BACKLOG} events pending behind a stuck subscriber"),
        "ns/event",
        "Running: released, measured until the last event is handled. Stop: released and \
         `stop()` called at once, measured until it returns (every event handled). \
         maiko 0.3.1 cannot express it: its `stop()` drops pending events.",
    );
    let r = bench.repeats * STOP_REPEAT_FACTOR;
    let names = [MAIKO, "maiko, running"];
    measure_drain(bench, &mut t, names, r, |mode| {
        maiko_now::drain(BACKLOG, mode)
    });
    let names = ["tokio, close + join", "tokio, running"];
    measure_drain(bench, &mut t, names, r, |mode| {
        tokio_base::drain(BACKLOG, mode)
    });
    let names = ["kameo 0.22, stop_gracefully", "kameo 0.22, running"];
    measure_drain(bench, &mut t, names, r, |mode| {
        kameo_peer::drain(BACKLOG, mode)
    });
    tables.push(t);
    tables
}

fn scaling(bench: &Bench) -> Vec<Table> {
    let mut tables = Vec::new();
    for subscribers in SCALING_SIZES {
        let key: &'static str = match subscribers {
            10 => "scaling/10",
            100 => "scaling/100",
            1_000 => "scaling/1000",
            _ => "scaling/10000",
        };
        let repeats = bench.repeats;
        let mut t = Table::new(
            key,
            format!("Scaling: {subscribers} subscribers over 100 topics"),
            "ns/event",
            "Per published event. Subscriber i subscribes to topic i mod 100 and the \
             producer cycles over the 100 topics, so an event reaches subscribers / 100 \
             subscribers (at 10 subscribers, one in ten events reaches one subscriber and \
             the rest reach nobody). tokio: one producer task routing each event to the \
             channels of its topic's consumer tasks. At 10,000 subscribers the spread \
             between runs is wide.",
        );
        measure(bench, &mut t, MAIKO, SCALING_EVENTS, repeats, || {
            maiko_now::scaling(subscribers, SCALING_EVENTS)
        });
        measure(
            bench,
            &mut t,
            "tokio mpsc, routed by the producer",
            SCALING_EVENTS,
            repeats,
            || tokio_base::scaling(subscribers, SCALING_EVENTS),
        );
        measure(bench, &mut t, MAIKO_OLD, SCALING_EVENTS, repeats, || {
            maiko_old::scaling(subscribers, SCALING_EVENTS)
        });
        tables.push(t);
    }
    tables
}

// ---------------------------------------------------------------------------
// Memory

struct Memory {
    system: &'static str,
    idle_actor: Option<f64>,
    queued_event: Option<f64>,
}

fn memory() -> Vec<Memory> {
    let rt = current_thread();
    let mut rows = Vec::new();
    let mut probe = |system, idle: Option<f64>, queued: Option<f64>| {
        println!(
            "  memory {:<36} {:>10.0} B/idle actor {:>10.0} B/queued event",
            system,
            idle.unwrap_or(f64::NAN),
            queued.unwrap_or(f64::NAN)
        );
        rows.push(Memory {
            system,
            idle_actor: idle,
            queued_event: queued,
        });
    };
    // Probe each twice and keep the second, so one-time allocations (the
    // runtime's first timers, thread-locals) are not charged to a system.
    let twice = |f: &dyn Fn() -> f64| {
        f();
        f()
    };
    probe(
        MAIKO,
        Some(twice(&|| {
            rt.block_on(maiko_now::idle_actor_bytes(IDLE_ACTORS, live_bytes))
        })),
        Some(twice(&|| {
            rt.block_on(maiko_now::queued_event_bytes(BACKLOG, live_bytes))
        })),
    );
    probe(
        MAIKO_OLD,
        Some(twice(&|| {
            rt.block_on(maiko_old::idle_actor_bytes(IDLE_ACTORS, live_bytes))
        })),
        Some(twice(&|| {
            rt.block_on(maiko_old::queued_event_bytes(BACKLOG, live_bytes))
        })),
    );
    probe(
        "tokio task + bounded mpsc",
        Some(twice(&|| {
            rt.block_on(tokio_base::idle_task_bytes(IDLE_ACTORS, live_bytes))
        })),
        Some(twice(&|| {
            rt.block_on(tokio_base::queued_event_bytes(BACKLOG, live_bytes))
        })),
    );
    probe(
        KAMEO,
        Some(twice(&|| {
            rt.block_on(kameo_peer::idle_actor_bytes(IDLE_ACTORS, live_bytes))
        })),
        Some(twice(&|| {
            rt.block_on(kameo_peer::queued_event_bytes(BACKLOG, live_bytes))
        })),
    );
    probe(
        RACTOR,
        Some(twice(&|| {
            rt.block_on(ractor_peer::idle_actor_bytes(IDLE_ACTORS, live_bytes))
        })),
        Some(twice(&|| {
            rt.block_on(ractor_peer::queued_event_bytes(BACKLOG, live_bytes))
        })),
    );
    rows
}

// ---------------------------------------------------------------------------
// Targets

struct Target {
    name: String,
    figures: String,
    met: Option<bool>,
}

fn find<'a>(tables: &'a [Table], key: &str) -> &'a Table {
    tables
        .iter()
        .find(|t| t.key == key)
        .unwrap_or_else(|| panic!("no table {key}"))
}

fn fmt_ns(v: Option<f64>) -> String {
    match v {
        Some(v) if v >= 100_000.0 => format!("{:.0} µs", v / 1000.0),
        Some(v) if v >= 10_000.0 => format!("{:.1} µs", v / 1000.0),
        Some(v) => format!("{v:.0} ns"),
        None => "n/a".into(),
    }
}

fn fmt_ratio(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:.2}x"))
}

fn targets(tables: &[Table]) -> Vec<Target> {
    let mut out = Vec::new();
    let one = find(tables, "one_to_one/32B");
    let fan = find(tables, "fan_out/4");
    for (flavor, label) in FLAVORS.iter().enumerate() {
        let ratio = one.ratio(TOKIO_2, flavor);
        out.push(Target {
            name: format!("One to one (32 B) at most 1.5x the two-hop tokio baseline ({label})"),
            figures: format!(
                "maiko {} vs two hops {}: {}",
                fmt_ns(one.get(MAIKO, flavor)),
                fmt_ns(one.get(TOKIO_2, flavor)),
                fmt_ratio(ratio)
            ),
            met: ratio.map(|r| r <= 1.5),
        });
    }
    for (flavor, label) in FLAVORS.iter().enumerate() {
        let k = one.ratio(KAMEO, flavor);
        let r = one.ratio(RACTOR, flavor);
        out.push(Target {
            name: format!("One to one (32 B) faster than kameo and ractor ({label})"),
            figures: format!(
                "maiko {}, kameo {} ({}), ractor {} ({})",
                fmt_ns(one.get(MAIKO, flavor)),
                fmt_ns(one.get(KAMEO, flavor)),
                fmt_ratio(k),
                fmt_ns(one.get(RACTOR, flavor)),
                fmt_ratio(r)
            ),
            met: k.zip(r).map(|(k, r)| k < 1.0 && r < 1.0),
        });
    }
    for (flavor, label) in FLAVORS.iter().enumerate() {
        let ratio = fan.ratio("tokio mpsc, 4 raw channels", flavor);
        out.push(Target {
            name: format!("Fan-out to 4 at most 1.5x sending to 4 raw channels ({label})"),
            figures: format!(
                "maiko {} vs raw {}: {}",
                fmt_ns(fan.get(MAIKO, flavor)),
                fmt_ns(fan.get("tokio mpsc, 4 raw channels", flavor)),
                fmt_ratio(ratio)
            ),
            met: ratio.map(|r| r <= 1.5),
        });
    }
    for (flavor, label) in FLAVORS.iter().enumerate() {
        let mut worst: Option<(f64, &str)> = None;
        let mut all = Vec::new();
        for table in tables {
            if let (Some(new), Some(old)) = (table.get(MAIKO, flavor), table.get(MAIKO_OLD, flavor))
            {
                let speedup = old / new;
                all.push(format!("{} {speedup:.1}x", table.key));
                if worst.is_none_or(|(w, _)| speedup < w) {
                    worst = Some((speedup, table.key));
                }
            }
        }
        out.push(Target {
            name: format!("At least 4x faster than maiko 0.3.1 on every shared workload ({label})"),
            figures: match worst {
                Some((w, key)) => format!("slowest gain {w:.1}x ({key}); {}", all.join(", ")),
                None => "n/a".into(),
            },
            met: worst.map(|(w, _)| w >= 4.0),
        });
    }
    let stop = find(tables, "idle_stop/4");
    for (flavor, label) in FLAVORS.iter().enumerate() {
        let ratio = stop.ratio(KAMEO, flavor);
        out.push(Target {
            name: format!(
                "Idle stop of 4 actors no slower than kameo stop_gracefully + wait_for_shutdown ({label})"
            ),
            figures: format!(
                "maiko {} vs kameo {}: {}",
                fmt_ns(stop.get(MAIKO, flavor)),
                fmt_ns(stop.get(KAMEO, flavor)),
                fmt_ratio(ratio)
            ),
            met: ratio.map(|r| r <= 1.0),
        });
    }
    let drain = find(tables, "drain/10000");
    for (flavor, label) in FLAVORS.iter().enumerate() {
        let ratio = drain.ratio("maiko, running", flavor);
        out.push(Target {
            name: format!("Drain of {BACKLOG} pending events within 1.1x of handling them while running ({label})"),
            figures: format!(
                "stop {} vs running {} per event: {}",
                fmt_ns(drain.get(MAIKO, flavor)),
                fmt_ns(drain.get("maiko, running", flavor)),
                fmt_ratio(ratio)
            ),
            met: ratio.map(|r| r <= 1.1),
        });
    }
    out
}

// ---------------------------------------------------------------------------
// Machine and output

fn command(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn machine() -> Vec<(String, String)> {
    let manifest = env!("CARGO_MANIFEST_DIR");
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let commit = command("git", &["-C", manifest, "rev-parse", "--short", "HEAD"]);
    let dirty =
        command("git", &["-C", manifest, "status", "--porcelain"]).is_some_and(|s| !s.is_empty());
    vec![
        (
            "date".into(),
            command("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_else(|| "unknown".into()),
        ),
        (
            "nproc".into(),
            std::thread::available_parallelism()
                .map_or_else(|_| "unknown".into(), |n| n.to_string()),
        ),
        ("cpu".into(), cpu),
        (
            "rustc".into(),
            command(&rustc, &["--version"]).unwrap_or_else(|| "unknown".into()),
        ),
        (
            "maiko commit".into(),
            match commit {
                Some(c) if dirty => format!("{c} (with uncommitted changes)"),
                Some(c) => c,
                None => "unknown".into(),
            },
        ),
        (
            "profile".into(),
            if cfg!(debug_assertions) {
                "debug (figures not meaningful)"
            } else {
                "release"
            }
            .into(),
        ),
    ]
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn render(
    machine: &[(String, String)],
    load: (&str, &str),
    wall: Duration,
    repeats: usize,
    targets: &[Target],
    tables: &[Table],
    memory: &[Memory],
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# maiko benchmark results\n");
    let _ = writeln!(
        s,
        "Generated by one command, from the workspace root:\n\n\
         ```sh\ncargo run --release -p maiko-benches --bin report\n```\n\n\
         It runs every workload in `benches/src/` (the same code the criterion \
         benchmarks in `benches/benches/` time) on maiko, its plain-tokio baselines and \
         the peers, on a current-thread tokio runtime (\"1 thread\") and on a multi-thread \
         runtime with 2 workers (\"2 workers\"); it repeats every measurement ({repeats} \
         times, after a discarded warm-up run; 3x as often for the stops of 4 and 100 \
         actors and for the drain, whose stopping and running runs alternate) and \
         reports the median. The criterion benchmarks are run with \
         `cargo bench -p maiko-benches`.\n"
    );
    let _ = writeln!(s, "## Machine\n");
    let _ = writeln!(s, "| | |\n|---|---|");
    for (k, v) in machine {
        let _ = writeln!(s, "| {k} | {v} |");
    }
    let _ = writeln!(s, "| load average (start, end) | {} / {} |", load.0, load.1);
    let _ = writeln!(s, "| report wall time | {:.0} s |", wall.as_secs_f64());
    let _ = writeln!(
        s,
        "\nThe machine is shared with other builds; figures from one run move by \
         several percent, and the 2-worker figures more.\n"
    );

    let _ = writeln!(s, "## Targets\n");
    let _ = writeln!(s, "| target | figures of this run | |\n|---|---|---|");
    for t in targets {
        let mark = match t.met {
            Some(true) => "met",
            Some(false) => "**not met**",
            None => "n/a",
        };
        let _ = writeln!(s, "| {} | {} | {mark} |", t.name, t.figures);
    }
    let _ = writeln!(
        s,
        "\nRatios are maiko's time divided by the other's: below 1 maiko is faster. \
         \"Faster than maiko 0.3.1\" is 0.3.1's time divided by maiko's.\n"
    );

    let _ = writeln!(s, "## Memory\n");
    let _ = writeln!(
        s,
        "Live heap bytes counted by a global allocator: per idle actor (a started system \
         of {IDLE_ACTORS} idle actors, including each one's mailbox and maiko's per-actor \
         broker channel, divided by {IDLE_ACTORS}), and per queued event ({BACKLOG} \
         events of 32 B waiting behind a stuck subscriber, divided by {BACKLOG}). All \
         mailboxes bounded at capacity 1024 (16384 for the queue probe) except ractor's, \
         which are unbounded.\n"
    );
    let _ = writeln!(
        s,
        "| system | bytes per idle actor | bytes per queued event |\n|---|---|---|"
    );
    for m in memory {
        let f = |v: Option<f64>| v.map_or_else(|| "n/a".into(), |v| format!("{v:.0}"));
        let _ = writeln!(
            s,
            "| {} | {} | {} |",
            m.system,
            f(m.idle_actor),
            f(m.queued_event)
        );
    }

    let _ = writeln!(s, "\n## Workloads\n");
    let _ = writeln!(
        s,
        "Throughput figures are nanoseconds per event from the first publish until the \
         subscriber(s) handled all {EVENTS} events ({SCALING_EVENTS} for scaling); setup and \
         stop are outside the measured span. Every bounded channel and mailbox has capacity \
         1024; maiko uses `OverflowPolicy::Block` (maiko 0.3.1 too, set on its topic). \
         maiko's producer is an actor publishing from `step()` with `ctx.send().await`; the \
         others' producers are tasks (kameo `tell().await`, ractor `send_message`, actix \
         `try_send` plus a yield when full). actix runs on its own single-thread system only. \
         The column \"maiko ÷\" is maiko's figure divided by that row's.\n"
    );
    for table in tables {
        let _ = writeln!(s, "### {} (`{}`)\n", table.title, table.key);
        if !table.note.is_empty() {
            let _ = writeln!(s, "{}\n", table.note);
        }
        let _ = writeln!(
            s,
            "| system | {0}, {u} | maiko ÷ | {1}, {u} | maiko ÷ |\n|---|---:|---:|---:|---:|",
            FLAVORS[0],
            FLAVORS[1],
            u = table.unit
        );
        for row in &table.rows {
            let mut line = format!("| {} ", row.system);
            for flavor in 0..2 {
                let ratio = if row.system == MAIKO {
                    "".into()
                } else {
                    fmt_ratio(table.ratio(row.system, flavor))
                };
                let figure = row.ns[flavor].map_or_else(|| "n/a".into(), |v| format!("{v:.0}"));
                let _ = write!(line, "| {figure} | {ratio} ");
            }
            let _ = writeln!(s, "{line}|");
        }
        let _ = writeln!(s);
    }
    s
}

fn main() {
    let mut repeats = 11;
    let mut out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("RESULTS.md");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--repeats" => {
                repeats = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n > 0)
                    .expect("--repeats N, N > 0");
            }
            "--out" => out = PathBuf::from(args.next().expect("--out PATH")),
            other => panic!("unknown argument {other}; options: --repeats N, --out PATH"),
        }
    }
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; run with --release for meaningful figures");
    }

    let began = Instant::now();
    let load_start = loadavg();
    println!("memory probes (counting allocator on)");
    let memory = memory();
    COUNTING.store(false, Ordering::Relaxed);

    let bench = Bench {
        repeats,
        runtimes: [current_thread(), two_workers()],
        actix: actix_peer::system(),
    };
    println!(
        "  {:<28} {:<36} {:>12} {:>12}",
        "workload", "system", FLAVORS[0], FLAVORS[1]
    );
    let mut tables = throughput(&bench);
    tables.extend(stops(&bench));
    tables.extend(scaling(&bench));
    let targets = targets(&tables);
    let load_end = loadavg();
    let wall = began.elapsed();

    let text = render(
        &machine(),
        (&load_start, &load_end),
        wall,
        repeats,
        &targets,
        &tables,
        &memory,
    );
    std::fs::write(&out, &text).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
    println!("\nTargets:");
    for t in &targets {
        let mark = match t.met {
            Some(true) => "met",
            Some(false) => "NOT MET",
            None => "n/a",
        };
        println!("  [{mark}] {}: {}", t.name, t.figures);
    }
    println!("\nwrote {} in {:.0} s", out.display(), wall.as_secs_f64());
}
