//! `GET /metrics` (feature `metrics`): the runtime's counters, gauges and
//! histograms in Prometheus' text format, served by the service's own
//! router.
//!
//! The recorder is installed before the supervisors are built: each of them
//! registers its handles once, when it is made and when an actor is added,
//! and a handle registered before any recorder records nowhere. The two
//! supervisors are named (`SupervisorConfig::with_name`), so their series
//! differ by the `supervisor` label: `ingest` and `audit`.
//!
//! The route answers like the others: while the service runs, and, once a
//! stop has started, only on a connection the listener took before it (a
//! scrape already under way). The figures of the end of the drain are in
//! the shutdown report on stderr.

use std::{sync::Arc, time::Duration};

use axum::{
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use metrics_exporter_prometheus::{BuildError, PrometheusBuilder, PrometheusHandle};

use crate::http::App;

/// The media type of Prometheus' text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// How often the histograms' samples are folded in between scrapes, so that
/// a service nobody scrapes keeps a bounded memory.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Install the Prometheus recorder as the process's `metrics` recorder.
///
/// # Errors
///
/// When a recorder is already installed.
pub fn install() -> Result<PrometheusHandle, BuildError> {
    PrometheusBuilder::new().install_recorder()
}

/// Fold the histograms' samples in, every [`UPKEEP_EVERY`], for as long as
/// the task runs.
pub async fn upkeep(handle: PrometheusHandle) {
    let mut every = tokio::time::interval(UPKEEP_EVERY);
    loop {
        every.tick().await;
        handle.run_upkeep();
    }
}

/// `GET /metrics`: every series recorded so far.
pub async fn scrape(State(app): State<Arc<App>>) -> Response {
    let mut response = app.prometheus.render().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}
