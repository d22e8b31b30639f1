//! The HTTP layer: `POST /events`, `GET /health`, `GET /stats`, and with
//! the feature `metrics` `GET /metrics` (see `exporter.rs`; without the
//! feature there is no such route, and the server answers `404`).
//!
//! A `202 Accepted` means the runtime accepted the event: its gate said
//! yes, so the event will be stored, even if the service is stopped the
//! next instant. Once a stop has started the gate says no, and the client
//! gets `503 Service Unavailable` with a `Retry-After`, to try again
//! elsewhere or later: nothing of that request is stored.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering::Relaxed},
};

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, State, rejection::BytesRejection},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use maiko::{GroupHandle, Snapshot, SupervisorHandle};
use serde::Deserialize;
use serde_json::{json, value::RawValue};

use crate::{
    audit::AuditEntry,
    pipeline::{Figures, Ingest, Record},
};

/// What a refused client is told to wait before retrying, in seconds.
const RETRY_AFTER_SECS: &str = "1";

/// What the handlers share.
pub struct App {
    pub ingest: SupervisorHandle<Ingest>,
    pub audit: SupervisorHandle<AuditEntry>,
    pub group: GroupHandle,
    pub figures: Arc<Figures>,
    pub http: HttpFigures,
    /// What `GET /metrics` renders.
    #[cfg(feature = "metrics")]
    pub prometheus: metrics_exporter_prometheus::PrometheusHandle,
}

/// What the HTTP layer answered, by kind.
#[derive(Debug, Default)]
pub struct HttpFigures {
    /// 202: the runtime accepted the event.
    pub accepted: AtomicU64,
    /// 503: the runtime is stopping.
    pub refused: AtomicU64,
    /// 400: not JSON, or no string id.
    pub bad_request: AtomicU64,
    /// 413: the body was over the limit.
    pub too_large: AtomicU64,
}

/// The routes, with the body limit.
pub fn router(app: Arc<App>, body_limit: usize) -> Router {
    let routes = Router::new()
        .route("/events", post(post_event))
        .route("/health", get(health))
        .route("/stats", get(stats));
    #[cfg(feature = "metrics")]
    let routes = routes.route("/metrics", get(crate::exporter::scrape));
    routes
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(app)
}

/// The body of `POST /events`. The payload is kept as the client wrote it
/// (checked to be JSON, not parsed into a tree).
#[derive(Deserialize)]
struct Incoming {
    id: String,
    #[serde(default)]
    payload: Option<Box<RawValue>>,
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn unavailable(body: serde_json::Value) -> Response {
    let mut response = answer(StatusCode::SERVICE_UNAVAILABLE, body);
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_AFTER_SECS),
    );
    response
}

async fn post_event(State(app): State<Arc<App>>, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            app.http.too_large.fetch_add(1, Relaxed);
            return answer(
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({ "error": "the body is over the limit" }),
            );
        }
        Err(rejection) => {
            app.http.bad_request.fetch_add(1, Relaxed);
            return answer(
                StatusCode::BAD_REQUEST,
                json!({ "error": rejection.body_text() }),
            );
        }
    };
    let incoming: Incoming = match serde_json::from_slice(&body) {
        Ok(incoming) => incoming,
        Err(error) => {
            app.http.bad_request.fetch_add(1, Relaxed);
            return answer(
                StatusCode::BAD_REQUEST,
                json!({ "error": format!("expected {{\"id\": string, \"payload\": any}}: {error}") }),
            );
        }
    };
    if incoming.id.is_empty() {
        app.http.bad_request.fetch_add(1, Relaxed);
        return answer(
            StatusCode::BAD_REQUEST,
            json!({ "error": "the id must not be empty" }),
        );
    }
    let payload: Arc<str> = match &incoming.payload {
        Some(raw) => raw.get().into(),
        None => "null".into(),
    };
    let record = Record::received(incoming.id, payload);
    let id = Arc::clone(&record.id);
    // The gate decides: accepted means it will be stored; refused means it
    // reached no one.
    match app.ingest.send(Ingest::Received(record)).await {
        Ok(()) => {
            app.http.accepted.fetch_add(1, Relaxed);
            answer(StatusCode::ACCEPTED, json!({ "accepted": &*id }))
        }
        Err(refused) => {
            app.http.refused.fetch_add(1, Relaxed);
            tracing::debug!(%id, error = %refused.error(), "refused");
            unavailable(json!({ "error": "shutting down; retry elsewhere or later" }))
        }
    }
}

async fn health(State(app): State<Arc<App>>) -> Response {
    if app.group.is_stopping() {
        unavailable(json!({ "status": "draining" }))
    } else {
        answer(StatusCode::OK, json!({ "status": "ok" }))
    }
}

fn actors(member: &str, snapshot: &Snapshot) -> Vec<serde_json::Value> {
    snapshot
        .actors
        .iter()
        .map(|a| {
            json!({
                "member": member,
                "actor": a.actor.as_str(),
                "state": a.state.to_string(),
                "routed": a.routed,
                "handled": a.handled,
                "queued": a.queued,
                "dropped": a.dropped,
                "lost": a.lost,
                "doing": a.doing,
            })
        })
        .collect()
}

/// The figures of the HTTP layer, the database and every actor, from the
/// runtime's live snapshots.
async fn stats(State(app): State<Arc<App>>) -> Response {
    let (ingest, audit) = (app.ingest.snapshot(), app.audit.snapshot());
    let load = |n: &AtomicU64| n.load(Relaxed);
    let mut per_actor = actors("ingest", &ingest);
    per_actor.extend(actors("audit", &audit));
    answer(
        StatusCode::OK,
        json!({
            "state": if app.group.is_stopping() { "draining" } else { "running" },
            "accepted": load(&app.http.accepted),
            "refused": load(&app.http.refused),
            "bad_request": load(&app.http.bad_request),
            "too_large": load(&app.http.too_large),
            "stored": load(&app.figures.stored),
            "duplicates": load(&app.figures.duplicates),
            "batches": load(&app.figures.batches),
            "flagged": load(&app.figures.flagged),
            "audited": load(&app.figures.audited),
            "in_flight": ingest.in_flight,
            "refused_at_gate": ingest.rejected,
            "actors": per_actor,
        }),
    )
}
