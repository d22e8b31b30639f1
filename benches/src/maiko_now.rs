//! The workloads on this workspace's `maiko`.

maiko_workloads!(maiko);

use crate::DrainMode;

/// `pending` events wait behind a subscriber stuck in its first handler;
/// then the subscriber is released and either the system keeps running
/// (measured until the last event is handled) or `stop()` is called at the
/// same instant (measured until it returns).
///
/// # Panics
///
/// If `stop()` returned before every pending event was handled.
pub async fn drain(pending: u64, mode: DrainMode) -> Duration {
    let (sup, gate, mut end) = stuck(pending).await;
    fill(&sup, pending).await;
    let t0 = Instant::now();
    gate.notify_one();
    match mode {
        DrainMode::Running => {
            let end = finished(end).await;
            sup.stop().await.expect("clean stop");
            end - t0
        }
        DrainMode::Stop => {
            sup.stop().await.expect("clean stop");
            let elapsed = t0.elapsed();
            end.try_recv()
                .expect("stop() returned before the backlog was handled");
            elapsed
        }
    }
}

/// [`drain`] in [`DrainMode::Stop`], stopped through a handle, for the
/// profile binary: how long the stop request took, how long until the
/// report, and the report's own total and phase times.
pub async fn drain_phases(pending: u64) -> (Duration, Duration, maiko::ShutdownReport) {
    let (sup, gate, _end) = stuck(pending).await;
    fill(&sup, pending).await;
    let handle = sup.handle();
    let t0 = Instant::now();
    gate.notify_one();
    handle.request_stop();
    let t1 = Instant::now();
    let report = handle.stopped().await;
    let t2 = Instant::now();
    drop(sup);
    (t1 - t0, t2 - t1, report)
}
