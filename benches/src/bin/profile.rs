//! Runs one maiko workload in a loop for a profiler, e.g.
//!
//! ```text
//! cargo build --release -p maiko-benches --bin profile
//! perf record -g target/release/profile one_to_one 10
//! ```
//!
//! Usage: `profile WORKLOAD [SECONDS]`, WORKLOAD one of `one_to_one`,
//! `one_to_one_restartable` (its subscriber added with `add_restartable`),
//! `fan_out`, `fan_in`, `pipeline`, `bridged_pipeline`, `lanes_1_broker`,
//! `lanes_2_brokers`, `lanes_4_brokers`, `scaling_10000`, `idle_stop_4`,
//! `idle_stop_1000`, `tokio_idle_stop_1000` (the stop of idle actors or tasks),
//! `drain_stop`, `drain_running`, `old_one_to_one`, `old_scaling_10000`,
//! `tokio_one_hop`, `tokio_two_hops`, and with `--features monitoring`
//! `one_to_one_monitored` and `fan_out_monitored` (`one_to_one` and
//! `fan_out` with a no-op monitor registered). Runs on a current-thread
//! runtime.
//!
//! With `PROFILE_RUNS=R` (and optionally `PROFILE_EVENTS=N`, default
//! 20000) it runs exactly R runs of N events instead, for instruction
//! counts: under `valgrind --tool=callgrind`, the difference between the
//! totals of two event counts, divided by the difference in events, is the
//! cost per event without the set-up.
//!
//! Built with `--features metrics`, `PROFILE_RECORDER=prometheus` installs
//! the Prometheus recorder of `metrics-exporter-prometheus` first, so that
//! every meter records into it (`benches/metrics-cost.sh`).
//!
//! Two diagnostics print instead of looping: `drain_compare` (the time
//! `stop()` adds over handling the same backlog while running, for several
//! backlog sizes: a fixed cost or a per-event one) and `drain_phases` (the
//! shutdown report's phase times for a drain).

use std::time::{Duration, Instant};

use maiko_benches::{BACKLOG, DrainMode, current_thread, maiko_now, maiko_old, tokio_base};

fn main() {
    install_recorder();
    let mut args = std::env::args().skip(1);
    let workload = args.next().unwrap_or_else(|| "one_to_one".into());
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
    let rt = current_thread();
    if workload == "drain_compare" {
        // Stop minus running, for several backlog sizes (a fixed cost or a
        // per-event one?), measured two ways: runs alternating stop and
        // running, and runs in blocks (all stops, then all running, as the
        // report does).
        let median = |mut v: Vec<Duration>| {
            v.sort();
            v[v.len() / 2]
        };
        for pending in [100u64, 1_000, 3_000, 10_000] {
            let (mut stop, mut run) = (Vec::new(), Vec::new());
            for _ in 0..15 {
                stop.push(rt.block_on(maiko_now::drain(pending, DrainMode::Stop)));
                run.push(rt.block_on(maiko_now::drain(pending, DrainMode::Running)));
            }
            let (alt_stop, alt_run) = (median(stop), median(run));
            let stop: Vec<_> = (0..15)
                .map(|_| rt.block_on(maiko_now::drain(pending, DrainMode::Stop)))
                .collect();
            let run: Vec<_> = (0..15)
                .map(|_| rt.block_on(maiko_now::drain(pending, DrainMode::Running)))
                .collect();
            let (blk_stop, blk_run) = (median(stop), median(run));
            println!(
                "pending {pending}: alternating stop {alt_stop:?} / running {alt_run:?} = {:.2}x; \
                 in blocks stop {blk_stop:?} / running {blk_run:?} = {:.2}x",
                alt_stop.as_secs_f64() / alt_run.as_secs_f64(),
                blk_stop.as_secs_f64() / blk_run.as_secs_f64(),
            );
        }
        return;
    }
    if workload == "drain_ab" {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..21 {
            a.push(rt.block_on(maiko_now::drain(BACKLOG, DrainMode::Stop)));
            let (request, wait, _) = rt.block_on(maiko_now::drain_phases(BACKLOG));
            b.push(request + wait);
        }
        a.sort();
        b.sort();
        println!("stop(): {:?}, handle: {:?}", a[10], b[10]);
        return;
    }
    if workload == "drain_phases" {
        for pending in [100u64, 10_000] {
            for _ in 0..3 {
                let (request, wait, report) = rt.block_on(maiko_now::drain_phases(pending));
                println!(
                    "pending {pending}: request_stop {request:?}, stopped() {wait:?}, \
                     report total {:?}, {:?}",
                    report.total, report.phases
                );
            }
        }
        return;
    }
    if let Some(runs) = std::env::var("PROFILE_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
    {
        // Fixed count, for instruction counts under callgrind: the
        // difference between two event counts cancels the set-up.
        let events: u64 = std::env::var("PROFILE_EVENTS")
            .ok()
            .and_then(|e| e.parse().ok())
            .unwrap_or(EVENTS);
        for _ in 0..runs {
            rt.block_on(run_once(&workload, events));
        }
        println!("{workload}: {runs} runs of {events} events (fixed count)");
        return;
    }
    let until = Instant::now() + Duration::from_secs(seconds);
    let (mut runs, mut measured) = (0u64, Duration::ZERO);
    while Instant::now() < until {
        measured += rt.block_on(run_once(&workload, EVENTS));
        runs += 1;
    }
    let mean = measured / u32::try_from(runs).unwrap_or(u32::MAX);
    // The figure in ns too, for scripts (`benches/monitoring-cost.sh`).
    println!(
        "{workload}: {runs} runs, median-free mean {mean:?} per run ({} ns)",
        mean.as_nanos()
    );
}

/// The recorder `PROFILE_RECORDER` names, if any (feature `metrics`).
fn install_recorder() {
    let Ok(recorder) = std::env::var("PROFILE_RECORDER") else {
        return;
    };
    #[cfg(feature = "metrics")]
    if recorder == "prometheus" {
        // The handle would render the scrape; nothing here reads it.
        let _handle = metrics_exporter_prometheus::PrometheusBuilder::new()
            .install_recorder()
            .expect("the only recorder of this process");
        return;
    }
    panic!("PROFILE_RECORDER={recorder}: only `prometheus`, in a build with --features metrics");
}

/// Events per run of a throughput workload.
const EVENTS: u64 = 20_000;

/// One run of `workload`; throughput workloads carry `events` events.
async fn run_once(workload: &str, events: u64) -> Duration {
    match workload {
        "one_to_one" => maiko_now::one_to_one::<32>(events).await,
        "one_to_one_restartable" => maiko_now::one_to_one_restartable(events).await,
        "fan_out" => maiko_now::fan_out(events, 4).await,
        "fan_in" => maiko_now::fan_in(events, 4).await,
        "pipeline" => maiko_now::pipeline(events).await,
        "bridged_pipeline" => maiko_now::bridged_pipeline(events).await,
        "lanes_1_broker" => maiko_now::lanes(events, 1).await,
        "lanes_2_brokers" => maiko_now::lanes(events, 2).await,
        "lanes_4_brokers" => maiko_now::lanes(events, 4).await,
        "scaling_10000" => maiko_now::scaling(10_000, 2_000).await,
        "idle_stop_4" => maiko_now::idle_stop(4).await,
        "idle_stop_1000" => maiko_now::idle_stop(1_000).await,
        "tokio_idle_stop_1000" => tokio_base::idle_stop(1_000).await,
        "drain_stop" => maiko_now::drain(BACKLOG, DrainMode::Stop).await,
        "drain_running" => maiko_now::drain(BACKLOG, DrainMode::Running).await,
        "old_one_to_one" => maiko_old::one_to_one::<32>(events).await,
        "old_scaling_10000" => maiko_old::scaling(10_000, 2_000).await,
        "tokio_two_hops" => tokio_base::two_hops::<32>(events).await,
        "tokio_one_hop" => tokio_base::one_hop::<32>(events).await,
        #[cfg(feature = "monitoring")]
        "one_to_one_monitored" => maiko_now::one_to_one_monitored(events).await,
        #[cfg(feature = "monitoring")]
        "fan_out_monitored" => maiko_now::fan_out_monitored(events, 4).await,
        #[cfg(not(feature = "monitoring"))]
        "one_to_one_monitored" | "fan_out_monitored" => {
            panic!("{workload} needs a build with --features monitoring")
        }
        other => panic!("unknown workload {other}"),
    }
}
