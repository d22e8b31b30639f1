//! Shared helpers of the criterion benchmarks: every workload returns the
//! measured span of one run, so each benchmark uses `iter_custom` and sums
//! those spans; setup and teardown are never timed.

use std::{future::Future, time::Duration};

use criterion::{BenchmarkGroup, measurement::WallTime};
use tokio::runtime::Runtime;

/// Time `workload` on `runtime` as benchmark `name` of `group`.
pub fn bench<F, Fut>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    runtime: &Runtime,
    workload: F,
) where
    F: Fn() -> Fut,
    Fut: Future<Output = Duration>,
{
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += workload().await;
                }
                total
            })
        })
    });
}
