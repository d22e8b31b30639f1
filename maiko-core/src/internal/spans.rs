//! The `tracing` spans of an event's life, named and filled after the
//! OpenTelemetry conventions for messaging, so that a `tracing-opentelemetry`
//! layer turns them into a trace with no setting of its own:
//!
//! - `maiko.publish` (kind producer), made when a publish is accepted, as a
//!   child of the span current there (an actor's `maiko.process`, or the
//!   caller's own span);
//! - `maiko.process` (kind consumer), around each `handle_event`, as a
//!   child of the event's `maiko.publish`.
//!
//! So an event published by a handler continues the trace of the event
//! that handler took, across actors and brokers.
//!
//! Both are at level `INFO`, with the target `maiko::messaging` (a filter
//! such as `maiko::messaging=off` leaves them out). While no subscriber
//! takes `INFO` at all, an event pays one load of tracing's level filter
//! per span and the envelope carries nothing.
//!
//! The envelope keeps the `maiko.publish` span open while the runtime holds
//! it (until its last copy is handled or becomes a dead letter) and while
//! anything else holds it: a dead letter not yet dropped, a monitor's
//! record. A clone of the envelope leaves the span behind.

use tracing::{Level, Span, field::Empty, info_span, level_enabled};

use crate::{ActorId, EventId};

/// Whether a subscriber may record these spans: `false` rules them out
/// at the cost of one load, so an actor asks once per batch.
#[inline]
pub(crate) fn enabled() -> bool {
    level_enabled!(Level::INFO)
}

/// The span of a publish to the topic `topic` (asked only if the span is
/// recorded), or `None` if no subscriber records it. Asked only when
/// [`enabled`].
#[inline(never)]
pub(crate) fn publish<'t>(
    topic: impl FnOnce() -> std::borrow::Cow<'t, str>,
    id: EventId,
) -> Option<Span> {
    let span = info_span!(
        target: "maiko::messaging",
        "maiko.publish",
        otel.name = Empty,
        otel.kind = "producer",
        messaging.system = "maiko",
        messaging.operation.type = "publish",
        messaging.operation.name = "publish",
        messaging.destination.name = Empty,
        messaging.message.id = Empty,
    );
    if span.is_disabled() {
        return None;
    }
    fill(&span, "publish", &topic(), id);
    Some(span)
}

/// The span around `actor`'s handling of the event `id` of the topic
/// `topic` (asked only if the span is recorded), a child of the event's
/// publish span `parent` (or a new trace without one); `None` if no
/// subscriber records it. Asked only when [`enabled`].
///
/// The child is made by the subscriber that recorded its parent: a span
/// id means something only to the subscriber that gave it out, and the
/// actor's thread may have another one as its default.
#[inline(never)]
pub(crate) fn process<'t>(
    parent: Option<&Span>,
    actor: &ActorId,
    topic: impl FnOnce() -> std::borrow::Cow<'t, str>,
    id: EventId,
) -> Option<Span> {
    let make = |parent: Option<tracing::Id>| {
        info_span!(
            target: "maiko::messaging",
            parent: parent,
            "maiko.process",
            otel.name = Empty,
            otel.kind = "consumer",
            messaging.system = "maiko",
            messaging.operation.type = "process",
            messaging.operation.name = "process",
            messaging.destination.name = Empty,
            messaging.message.id = Empty,
            maiko.actor = %actor,
        )
    };
    let publisher = parent
        .and_then(|parent| parent.with_subscriber(|(id, dispatch)| (id.clone(), dispatch.clone())));
    let span = match publisher {
        Some((parent, dispatch)) => {
            tracing::dispatcher::with_default(&dispatch, || make(Some(parent)))
        }
        None => make(None),
    };
    if span.is_disabled() {
        return None;
    }
    fill(&span, "process", &topic(), id);
    Some(span)
}

/// The fields known only once the span is recorded.
#[cold]
fn fill(span: &Span, operation: &str, topic: &str, id: EventId) {
    span.record("otel.name", format!("{operation} {topic}"));
    span.record("messaging.destination.name", topic);
    span.record("messaging.message.id", tracing::field::display(id));
}
