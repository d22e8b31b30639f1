//! Scaling: 10, 100, 1,000 and 10,000 subscribers over 100 topics; one
//! producer publishes events cycling over the topics. Criterion reports
//! time per published event. Baseline: one tokio task routing each event to
//! the channels of its topic's consumer tasks.

use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use maiko_benches::{current_thread, maiko_now, maiko_old, tokio_base};

mod common;
use common::bench;

/// Published events per iteration (a multiple of the 100 topics).
const EVENTS: u64 = 2_000;

fn scaling(c: &mut Criterion) {
    let rt = current_thread();
    for subscribers in [10, 100, 1_000, 10_000] {
        let mut g = c.benchmark_group(format!("scaling/{subscribers}"));
        g.throughput(Throughput::Elements(EVENTS))
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_millis(50))
            .measurement_time(Duration::from_millis(300));
        bench(&mut g, "maiko", &rt, || {
            maiko_now::scaling(subscribers, EVENTS)
        });
        bench(&mut g, "tokio_routed", &rt, || {
            tokio_base::scaling(subscribers, EVENTS)
        });
        bench(&mut g, "maiko_0.3.1", &rt, || {
            maiko_old::scaling(subscribers, EVENTS)
        });
        g.finish();
    }
}

criterion_group!(benches, scaling);
criterion_main!(benches);
