//! Where a finished shutdown leaves its report: a supervisor's, in its
//! books, and a group's.

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

/// Where a finished shutdown leaves its report.
///
/// # Invariant
///
/// The report is stored before `finished` fires, so whoever is woken by
/// `finished` finds it.
#[derive(Debug)]
pub(crate) struct ReportSlot<R> {
    report: Mutex<Option<R>>,
    finished: CancellationToken,
}

impl<R: Clone> ReportSlot<R> {
    pub(crate) fn new() -> Self {
        Self {
            report: Mutex::new(None),
            finished: CancellationToken::new(),
        }
    }

    /// Store the report and wake everyone waiting for it.
    pub(crate) fn store(&self, report: R) {
        *self.report.lock() = Some(report);
        self.finished.cancel();
    }

    /// Whether the shutdown has finished.
    pub(crate) fn has_finished(&self) -> bool {
        self.finished.is_cancelled()
    }

    /// Resolves when the shutdown has finished and the report is stored.
    pub(crate) async fn finished(&self) {
        self.finished.cancelled().await;
    }

    /// A token that fires when the shutdown has finished (for the tasks
    /// that outlive any borrow of the slot, such as the monitors'
    /// dispatcher).
    pub(crate) fn finished_token(&self) -> CancellationToken {
        self.finished.clone()
    }

    /// Wait until the shutdown has finished and read its report with
    /// `read`, without copying it.
    pub(crate) async fn read<V>(&self, read: impl FnOnce(&R) -> V) -> V {
        self.finished().await;
        read(
            self.report
                .lock()
                .as_ref()
                .expect("the report is stored before `finished` fires"),
        )
    }

    /// Wait until the shutdown has finished and return its report.
    pub(crate) async fn wait(&self) -> R {
        self.read(R::clone).await
    }
}
