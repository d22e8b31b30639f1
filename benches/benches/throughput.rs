//! Event throughput: one to one (32 B and 1 KiB), fan-out to 4, fan-in from
//! 4, a 3-stage pipeline. Each group holds maiko, its plain-tokio baselines
//! and the peers, timed in the same run; criterion reports time per event.

use std::time::Duration;

use criterion::{
    BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main, measurement::WallTime,
};
use maiko_benches::{
    actix_peer, current_thread, kameo_peer, maiko_now, maiko_old, ractor_peer, tokio_base,
    two_workers,
};

mod common;
use common::bench;

/// Events per iteration.
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

fn one_to_one<const N_BYTES: usize>(c: &mut Criterion, name: &str) {
    let rt = current_thread();
    let actix = actix_peer::system();
    let mut g = group(c, name);
    bench(&mut g, "maiko", &rt, || maiko_now::one_to_one::<N_BYTES>(N));
    bench(&mut g, "tokio_one_hop", &rt, || {
        tokio_base::one_hop::<N_BYTES>(N)
    });
    bench(&mut g, "tokio_two_hops", &rt, || {
        tokio_base::two_hops::<N_BYTES>(N)
    });
    bench(&mut g, "maiko_0.3.1", &rt, || {
        maiko_old::one_to_one::<N_BYTES>(N)
    });
    bench(&mut g, "kameo", &rt, || {
        kameo_peer::one_to_one::<N_BYTES>(N)
    });
    bench(&mut g, "ractor", &rt, || {
        ractor_peer::one_to_one::<N_BYTES>(N)
    });
    g.bench_function("actix", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| actix_peer::one_to_one::<N_BYTES>(&actix, N))
                .sum()
        })
    });
    g.finish();
}

fn one_to_one_32b(c: &mut Criterion) {
    one_to_one::<32>(c, "one_to_one/32B");
}

fn one_to_one_1kib(c: &mut Criterion) {
    one_to_one::<1024>(c, "one_to_one/1KiB");
}

fn one_to_one_two_workers(c: &mut Criterion) {
    let rt = two_workers();
    let mut g = group(c, "one_to_one/32B/2_workers");
    bench(&mut g, "maiko", &rt, || maiko_now::one_to_one::<32>(N));
    bench(&mut g, "tokio_one_hop", &rt, || {
        tokio_base::one_hop::<32>(N)
    });
    bench(&mut g, "tokio_two_hops", &rt, || {
        tokio_base::two_hops::<32>(N)
    });
    bench(&mut g, "maiko_0.3.1", &rt, || {
        maiko_old::one_to_one::<32>(N)
    });
    bench(&mut g, "kameo", &rt, || kameo_peer::one_to_one::<32>(N));
    bench(&mut g, "ractor", &rt, || ractor_peer::one_to_one::<32>(N));
    g.finish();
}

fn fan_out(c: &mut Criterion) {
    let actix = actix_peer::system();
    for (name, rt) in [
        ("fan_out/4", current_thread()),
        ("fan_out/4/2_workers", two_workers()),
    ] {
        let mut g = group(c, name);
        bench(&mut g, "maiko", &rt, || maiko_now::fan_out(N, 4));
        bench(&mut g, "tokio_4_channels", &rt, || {
            tokio_base::fan_out(N, 4)
        });
        bench(&mut g, "maiko_0.3.1", &rt, || maiko_old::fan_out(N, 4));
        bench(&mut g, "kameo", &rt, || kameo_peer::fan_out(N, 4));
        bench(&mut g, "ractor", &rt, || ractor_peer::fan_out(N, 4));
        if name == "fan_out/4" {
            g.bench_function("actix", |b| {
                b.iter_custom(|iters| (0..iters).map(|_| actix_peer::fan_out(&actix, N, 4)).sum())
            });
        }
        g.finish();
    }
}

fn fan_in(c: &mut Criterion) {
    let rt = current_thread();
    let mut g = group(c, "fan_in/4");
    bench(&mut g, "maiko", &rt, || maiko_now::fan_in(N, 4));
    bench(&mut g, "tokio_one_hop", &rt, || {
        tokio_base::fan_in(N, 4, false)
    });
    bench(&mut g, "tokio_two_hops", &rt, || {
        tokio_base::fan_in(N, 4, true)
    });
    bench(&mut g, "maiko_0.3.1", &rt, || maiko_old::fan_in(N, 4));
    bench(&mut g, "kameo", &rt, || kameo_peer::fan_in(N, 4));
    bench(&mut g, "ractor", &rt, || ractor_peer::fan_in(N, 4));
    g.finish();
}

fn pipeline(c: &mut Criterion) {
    let rt = current_thread();
    let mut g = group(c, "pipeline/3");
    bench(&mut g, "maiko", &rt, || maiko_now::pipeline(N));
    bench(&mut g, "tokio_two_hops", &rt, || {
        tokio_base::pipeline(N, false)
    });
    bench(&mut g, "tokio_four_hops", &rt, || {
        tokio_base::pipeline(N, true)
    });
    bench(&mut g, "maiko_0.3.1", &rt, || maiko_old::pipeline(N));
    bench(&mut g, "kameo", &rt, || kameo_peer::pipeline(N));
    bench(&mut g, "ractor", &rt, || ractor_peer::pipeline(N));
    g.finish();
}

criterion_group!(
    benches,
    one_to_one_32b,
    one_to_one_1kib,
    one_to_one_two_workers,
    fan_out,
    fan_in,
    pipeline
);
criterion_main!(benches);
