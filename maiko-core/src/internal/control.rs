//! Stopping from outside: what `SupervisorHandle`, `GroupHandle`,
//! `Supervisor::run_until_signal` and `ShutdownGroup::run_until_signal` have
//! in common, written once.
//!
//! - [`StopControl`]: a protocol to stop and a [`ReportSlot`] to wait on;
//!   the public handles wrap one.
//! - [`StopControl::until_signal`]: the two-signal dance (the first signal
//!   starts the drain, a second one aborts it).

use std::sync::Arc;

use super::{shared::Shared, slot::ReportSlot};
use crate::signal::Signals;

/// A stop control: the protocol of a gate (reached through a supervisor's
/// shared state: a member's reaches its group's) and the slot of the report
/// its owner waits for.
#[derive(Debug)]
pub(crate) struct StopControl<R> {
    shared: Arc<Shared>,
    slot: Arc<ReportSlot<R>>,
}

impl<R> Clone for StopControl<R> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            slot: Arc::clone(&self.slot),
        }
    }
}

impl<R: Clone + Send + Sync + 'static> StopControl<R> {
    pub(crate) fn new(shared: Arc<Shared>, slot: Arc<ReportSlot<R>>) -> Self {
        Self { shared, slot }
    }

    /// Start the shutdown; any number of calls start one.
    pub(crate) fn request_stop(&self) {
        self.shared.protocol().request_stop();
    }

    /// Whether the shutdown has started.
    pub(crate) fn is_stopping(&self) -> bool {
        self.shared.protocol().is_stopping()
    }

    /// Resolves when the shutdown starts.
    pub(crate) fn stopping(&self) -> impl Future<Output = ()> + Send + 'static {
        self.shared.protocol().stopping_owned()
    }

    /// Cut the shutdown short, as a second signal does.
    pub(crate) fn abort(&self) {
        self.shared.protocol().escalate();
    }

    /// Wait for the report.
    pub(crate) async fn stopped(&self) -> R {
        self.slot.wait().await
    }

    /// Listen for signals from now on, in a task of their own, as
    /// [`until_signal`](Self::until_signal) does.
    pub(crate) fn stop_on_signal(&self, what: &'static str) {
        let signals = Signals::install();
        let control = self.clone();
        tokio::spawn(async move { control.until_signal(signals, what).await });
    }

    /// Until the shutdown has finished by itself or a signal came: on the
    /// first signal, request the stop, and leave a task behind that aborts
    /// the drain on a second signal (and ends with the shutdown).
    pub(crate) async fn until_signal(&self, mut signals: Signals, what: &'static str) {
        tokio::select! {
            () = self.slot.finished() => {}
            () = signals.recv() => {
                tracing::info!("signal received: shutting down {what} (a second signal aborts)");
                self.request_stop();
                let control = self.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        () = signals.recv() => {
                            tracing::warn!("second signal: aborting the drain");
                            control.abort();
                        }
                        () = control.slot.finished() => {}
                    }
                });
            }
        }
    }
}
