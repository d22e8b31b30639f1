//! Scaling, two ways.
//!
//! - `scaling/N`: 10, 100, 1,000 and 10,000 subscribers over 100 topics;
//!   one producer publishes events cycling over the topics. Baseline: one
//!   tokio task routing each event to the channels of its topic's consumer
//!   tasks. Current-thread runtime.
//! - `producers/P`: 1, 2, 4 and 8 producer tasks, each publishing its share
//!   of the events through its own `SupervisorHandle` clone, to one
//!   subscriber; every publish touches the supervisor's one gate word.
//!   Baseline: P tokio tasks sending into one bounded `mpsc` channel
//!   drained by one task. Multi-thread runtime with a worker per core (at
//!   least 2), so a machine with more cores shows how publishing scales.
//!   These groups take their warm-up and measurement times from the command
//!   line (`-- producers --warm-up-time 1 --measurement-time 3`).
//!
//! Criterion reports time per published event.

use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use maiko_benches::{
    PRODUCER_COUNTS, all_cores, all_cores_workers, current_thread, maiko_now, maiko_old, tokio_base,
};

mod common;
use common::bench;

/// Published events per iteration (a multiple of the 100 topics).
const EVENTS: u64 = 2_000;

/// Published events per iteration of `producers/P`, shared among the
/// producers.
const PRODUCER_EVENTS: u64 = 20_000;

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

fn producers(c: &mut Criterion) {
    let rt = all_cores();
    eprintln!(
        "producers/P: multi-thread runtime with {} workers",
        all_cores_workers()
    );
    for producers in PRODUCER_COUNTS {
        let mut g = c.benchmark_group(format!("producers/{producers}"));
        g.throughput(Throughput::Elements(PRODUCER_EVENTS))
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10);
        bench(&mut g, "maiko", &rt, || {
            maiko_now::producers(PRODUCER_EVENTS, producers)
        });
        bench(&mut g, "tokio_one_hop", &rt, || {
            tokio_base::producers(PRODUCER_EVENTS, producers)
        });
        g.finish();
    }
}

criterion_group!(benches, scaling, producers);
criterion_main!(benches);
