//! Every workload runs to completion on both runtimes and handles every
//! event (each one panics otherwise). Nothing here asserts a timing; the
//! timeout only turns a hang into a failure.

use std::{future::Future, time::Duration};

use maiko_benches::{
    BROKER_COUNTS, DrainMode, PRODUCER_COUNTS, actix_peer, all_cores, current_thread, kameo_peer,
    maiko_now, maiko_old, ractor_peer, tokio_base, two_workers,
};
use tokio::runtime::Runtime;

/// Restarts per run of the restart workloads in these tests.
const RESTARTS: u64 = 50;

const N: u64 = 2_000;
const HANG_GUARD: Duration = Duration::from_secs(60);

fn on_both<F, Fut>(workload: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Duration>,
{
    on([current_thread(), two_workers()], workload);
}

fn on<F, Fut, const R: usize>(runtimes: [Runtime; R], workload: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Duration>,
{
    for runtime in runtimes {
        runtime.block_on(async {
            tokio::time::timeout(HANG_GUARD, workload())
                .await
                .expect("workload hung");
        });
    }
}

#[test]
fn tokio_baselines_complete() {
    on_both(|| tokio_base::one_hop::<32>(N));
    on_both(|| tokio_base::two_hops::<1024>(N));
    on_both(|| tokio_base::fan_out(N, 4));
    on_both(|| tokio_base::fan_in(N, 4, false));
    on_both(|| tokio_base::fan_in(N, 4, true));
    on_both(|| tokio_base::pipeline(N, false));
    on_both(|| tokio_base::pipeline(N, true));
    on_both(|| tokio_base::scaling(100, 1_000));
    on_both(|| tokio_base::lanes(N));
    on_both(|| tokio_base::idle_stop(10));
    on_both(|| tokio_base::drain(N, DrainMode::Running));
    on_both(|| tokio_base::drain(N, DrainMode::Stop));
}

#[test]
fn maiko_workloads_complete() {
    on_both(|| maiko_now::one_to_one::<32>(N));
    on_both(|| maiko_now::one_to_one::<1024>(N));
    on_both(|| maiko_now::one_to_one_restartable(N));
    on_both(|| maiko_now::fan_out(N, 4));
    on_both(|| maiko_now::fan_in(N, 4));
    on_both(|| maiko_now::pipeline(N));
    on_both(|| maiko_now::scaling(100, 1_000));
    on_both(|| maiko_now::idle_stop(10));
    on_both(|| maiko_now::drain(N, DrainMode::Running));
    on_both(|| maiko_now::drain(N, DrainMode::Stop));
}

/// 1, 2, 4 and 8 producer tasks into one subscriber (maiko through a
/// handle clone per task, tokio into one channel), on the report's two
/// runtimes and on the criterion group's worker per core; the maiko run
/// also checks its shutdown report (clean, and the subscriber handled
/// exactly the events published).
#[test]
fn producers_workloads_complete() {
    for producers in PRODUCER_COUNTS {
        on([current_thread(), two_workers(), all_cores()], || {
            maiko_now::producers(N, producers)
        });
        on([current_thread(), two_workers(), all_cores()], || {
            tokio_base::producers(N, producers)
        });
    }
}

/// The monitored workloads: a no-op monitor registered before the start
/// (feature `monitoring`).
#[cfg(feature = "monitoring")]
#[test]
fn maiko_monitored_workloads_complete() {
    on_both(|| maiko_now::one_to_one_monitored(N));
    on_both(|| maiko_now::fan_out_monitored(N, 4));
}

/// Several brokers in one supervisor, and two supervisors bridged in a
/// `ShutdownGroup`: besides reaching the end signal, each run checks its
/// shutdown report (clean, and every subscriber handled exactly its
/// events).
#[test]
fn maiko_broker_and_group_workloads_complete() {
    for brokers in BROKER_COUNTS {
        on_both(|| maiko_now::lanes(N, brokers));
    }
    on_both(|| maiko_now::bridged_pipeline(N));
}

#[test]
fn maiko_0_3_1_workloads_complete() {
    on_both(|| maiko_old::one_to_one::<32>(N));
    on_both(|| maiko_old::one_to_one::<1024>(N));
    on_both(|| maiko_old::fan_out(N, 4));
    on_both(|| maiko_old::fan_in(N, 4));
    on_both(|| maiko_old::pipeline(N));
    on_both(|| maiko_old::scaling(100, 1_000));
    on_both(|| maiko_old::idle_stop(10));
}

#[test]
fn kameo_workloads_complete() {
    on_both(|| kameo_peer::one_to_one::<32>(N));
    on_both(|| kameo_peer::fan_out(N, 4));
    on_both(|| kameo_peer::fan_in(N, 4));
    on_both(|| kameo_peer::pipeline(N));
    on_both(|| kameo_peer::idle_stop(10));
    on_both(|| kameo_peer::drain(N, DrainMode::Running));
    on_both(|| kameo_peer::drain(N, DrainMode::Stop));
}

#[test]
fn ractor_workloads_complete() {
    on_both(|| ractor_peer::one_to_one::<32>(N));
    on_both(|| ractor_peer::fan_out(N, 4));
    on_both(|| ractor_peer::fan_in(N, 4));
    on_both(|| ractor_peer::pipeline(N));
    on_both(|| ractor_peer::idle_stop(10));
}

#[test]
fn actix_workloads_complete() {
    let system = actix_peer::system();
    actix_peer::one_to_one::<32>(&system, N);
    actix_peer::fan_out(&system, N, 4);
}

/// The restart workload: each run checks that every normal event after a
/// poison was handled by the instance built after that poison, and that
/// exactly one instance was built per restart.
#[test]
fn restart_workloads_complete() {
    on_both(|| tokio_base::restart(RESTARTS));
    on_both(|| maiko_now::restart(RESTARTS));
    on_both(|| kameo_peer::restart(RESTARTS));
}

/// Actors added and stopped while running (the churn memory probe, without
/// a counting allocator): the workload checks each stopped actor's report
/// and that the final report is clean and balanced. 1,100 cycles go past
/// the 1024 stopped actors whose reports are kept each, so the folded entry
/// is checked too.
#[test]
fn churn_workload_completes() {
    for samples in [&[100, 300][..], &[1_100][..]] {
        for runtime in [current_thread(), two_workers()] {
            runtime.block_on(async {
                let readings =
                    tokio::time::timeout(HANG_GUARD, maiko_now::churn_bytes(samples, || 0))
                        .await
                        .expect("workload hung");
                assert_eq!(readings.len(), samples.len());
            });
        }
    }
}
