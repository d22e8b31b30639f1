//! Topology: several brokers in one supervisor, and two supervisors bridged
//! in a `ShutdownGroup`, each next to its one-broker or one-supervisor
//! shape and a plain-tokio baseline, timed in the same run, on a
//! current-thread and a 2-worker runtime; criterion reports time per
//! published event.
//!
//! - `lanes/4`: one producer actor cycling over 4 lanes, one subscriber per
//!   lane, the lanes spread over 1, 2 or 4 brokers. Baseline: one tokio
//!   task sending each event into the channel of its lane's consumer task.
//! - `bridged_pipeline/3`: source -> transform -> sink, the transform
//!   forwarding with `ctx.forward` into a second supervisor that holds the
//!   sink, against the same pipeline in one supervisor. Baselines: the
//!   tokio pipelines of `throughput`'s `pipeline/3`.

use std::time::Duration;

use criterion::{
    BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main, measurement::WallTime,
};
use maiko_benches::{BROKER_COUNTS, current_thread, maiko_now, tokio_base, two_workers};
use tokio::runtime::Runtime;

mod common;
use common::bench;

/// Events per iteration (a multiple of the 4 lanes).
const N: u64 = 10_000;

fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .throughput(Throughput::Elements(N))
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    group
}

/// The two runtimes and the suffix of their group names.
fn runtimes() -> [(&'static str, Runtime); 2] {
    [("", current_thread()), ("/2_workers", two_workers())]
}

fn lanes(c: &mut Criterion) {
    for (suffix, rt) in runtimes() {
        let mut g = group(c, &format!("lanes/4{suffix}"));
        for brokers in BROKER_COUNTS {
            let name = match brokers {
                1 => "maiko_1_broker".to_owned(),
                b => format!("maiko_{b}_brokers"),
            };
            bench(&mut g, &name, &rt, || maiko_now::lanes(N, brokers));
        }
        bench(&mut g, "tokio_routed", &rt, || tokio_base::lanes(N));
        g.finish();
    }
}

fn bridged_pipeline(c: &mut Criterion) {
    for (suffix, rt) in runtimes() {
        let mut g = group(c, &format!("bridged_pipeline/3{suffix}"));
        bench(&mut g, "maiko_bridged", &rt, || {
            maiko_now::bridged_pipeline(N)
        });
        bench(&mut g, "maiko_one_supervisor", &rt, || {
            maiko_now::pipeline(N)
        });
        bench(&mut g, "tokio_two_hops", &rt, || {
            tokio_base::pipeline(N, false)
        });
        bench(&mut g, "tokio_four_hops", &rt, || {
            tokio_base::pipeline(N, true)
        });
        g.finish();
    }
}

criterion_group!(benches, lanes, bridged_pipeline);
criterion_main!(benches);
