//! Restart: what one restart of a failed actor costs (the failure, the
//! rebuild, the first event handled by the new instance), maiko's
//! `add_restartable` against kameo's supervised restart and a plain-tokio
//! task that rebuilds its state in place, timed in the same run on a
//! current-thread and a 2-worker runtime; criterion reports time per
//! `RESTARTS` restarts and restarts per second.
//!
//! Each iteration sends the poison event, then a normal event, and waits
//! until the new instance has handled the normal one.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use maiko_benches::{RESTARTS, current_thread, kameo_peer, maiko_now, tokio_base, two_workers};

mod common;
use common::bench;

fn restart(c: &mut Criterion) {
    for (suffix, rt) in [("", current_thread()), ("/2_workers", two_workers())] {
        let mut g = c.benchmark_group(format!("restart{suffix}"));
        g.throughput(Throughput::Elements(RESTARTS))
            .sample_size(10)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(2));
        bench(&mut g, "maiko", &rt, || maiko_now::restart(RESTARTS));
        bench(&mut g, "tokio_rebuild_in_task", &rt, || {
            tokio_base::restart(RESTARTS)
        });
        bench(&mut g, "kameo_supervised", &rt, || {
            kameo_peer::restart(RESTARTS)
        });
        g.finish();
    }
}

criterion_group!(benches, restart);
criterion_main!(benches);
