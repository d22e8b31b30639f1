//! Shutdown: stop latency of an idle system (4, 100 and 1,000 actors) and
//! the drain rate (`stop()` with 10,000 events pending versus handling them
//! while running), with plain-tokio baselines and kameo.
//!
//! Each iteration builds and starts the system untimed (which takes longer
//! than the stop itself), so these groups use flat sampling and short
//! measurement times to keep the wall time modest.

use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use maiko_benches::{
    BACKLOG, DrainMode, current_thread, kameo_peer, maiko_now, maiko_old, ractor_peer, tokio_base,
};

mod common;
use common::bench;

fn idle_stop(c: &mut Criterion) {
    let rt = current_thread();
    for actors in [4, 100, 1_000] {
        let mut g = c.benchmark_group(format!("idle_stop/{actors}"));
        g.sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_millis(10))
            .measurement_time(Duration::from_millis(30));
        bench(&mut g, "maiko", &rt, || maiko_now::idle_stop(actors));
        bench(&mut g, "tokio_tasks", &rt, || tokio_base::idle_stop(actors));
        bench(&mut g, "maiko_0.3.1", &rt, || maiko_old::idle_stop(actors));
        bench(&mut g, "kameo", &rt, || kameo_peer::idle_stop(actors));
        bench(&mut g, "ractor", &rt, || ractor_peer::idle_stop(actors));
        g.finish();
    }
}

fn drain(c: &mut Criterion) {
    let rt = current_thread();
    let mut g = c.benchmark_group(format!("drain/{BACKLOG}"));
    g.throughput(Throughput::Elements(BACKLOG))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(20))
        .measurement_time(Duration::from_millis(200));
    bench(&mut g, "maiko_stop", &rt, || {
        maiko_now::drain(BACKLOG, DrainMode::Stop)
    });
    bench(&mut g, "maiko_running", &rt, || {
        maiko_now::drain(BACKLOG, DrainMode::Running)
    });
    bench(&mut g, "tokio_close_join", &rt, || {
        tokio_base::drain(BACKLOG, DrainMode::Stop)
    });
    bench(&mut g, "tokio_running", &rt, || {
        tokio_base::drain(BACKLOG, DrainMode::Running)
    });
    bench(&mut g, "kameo_stop_gracefully", &rt, || {
        kameo_peer::drain(BACKLOG, DrainMode::Stop)
    });
    bench(&mut g, "kameo_running", &rt, || {
        kameo_peer::drain(BACKLOG, DrainMode::Running)
    });
    g.finish();
}

criterion_group!(benches, idle_stop, drain);
criterion_main!(benches);
