//! The trace context in the headers of a NATS message (the `otel`
//! feature): written by the outbound bridge, read by the inbound one, in
//! the W3C trace-context format (`traceparent`, `tracestate`).
//!
//! The propagator is used directly, not the one a program may have
//! installed globally: the bridges on both sides must agree on the
//! format, whatever else each program propagates.

use async_nats::{HeaderMap, HeaderName, HeaderValue, jetstream::Message};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Write the OpenTelemetry context of the current span (in the outbound
/// bridge's handler: the span of the event being handled) into
/// `headers`. Nothing is written if the current span has no valid
/// context: no OpenTelemetry layer, or the span is disabled.
pub(crate) fn inject_current(headers: &mut HeaderMap) {
    let context = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&context, &mut Writer(headers));
}

/// The span in which the inbound bridge publishes `message`'s event into
/// its supervisor: a root span whose OpenTelemetry parent is the context
/// the message carries, so that the spans of the publish and of the
/// handlers join the producer's trace. Without a valid context in the
/// headers, the span starts a trace of its own.
///
/// Named and filled after the OpenTelemetry conventions for messaging, as
/// maiko's own spans are: exported as `receive <subject>`.
pub(crate) fn receive_span(message: &Message, key: &str) -> tracing::Span {
    let subject = message.subject.as_str();
    let span = tracing::info_span!(
        target: "maiko_nats::inbound",
        parent: None,
        "maiko_nats.receive",
        otel.name = format!("receive {subject}").as_str(),
        otel.kind = "consumer",
        messaging.system = "nats",
        messaging.operation.type = "receive",
        messaging.operation.name = "receive",
        messaging.destination.name = subject,
        messaging.message.id = key,
    );
    if let Some(headers) = &message.headers {
        let parent = TraceContextPropagator::new().extract(&Reader(headers));
        // Fails only if the span is disabled or no OpenTelemetry layer is
        // installed, and then there is no trace to join.
        let _ = span.set_parent(parent);
    }
    span
}

/// The headers of an outgoing message, as the propagator writes them.
struct Writer<'a>(&'a mut HeaderMap);

impl Injector for Writer<'_> {
    fn set(&mut self, key: &str, value: String) {
        // The propagator writes only valid names and values; one that is
        // not is left out rather than let the header map panic.
        if let (Ok(name), Ok(value)) = (key.parse::<HeaderName>(), value.parse::<HeaderValue>()) {
            self.0.insert(name, value);
        }
    }
}

/// The headers of an incoming message, as the propagator reads them.
/// Names are matched exactly first, then ignoring case (a producer other
/// than this bridge may write `Traceparent`).
struct Reader<'a>(&'a HeaderMap);

impl Extractor for Reader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        if let Some(value) = self.0.get(key) {
            return Some(value.as_str());
        }
        self.0
            .iter()
            .find(|(name, _)| header_name(name).eq_ignore_ascii_case(key))
            .and_then(|(_, values)| values.first())
            .map(HeaderValue::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| header_name(name)).collect()
    }
}

fn header_name(name: &HeaderName) -> &str {
    name.as_ref()
}

#[cfg(test)]
mod tests {
    use opentelemetry::{
        Context,
        trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState},
    };

    use super::*;

    fn remote() -> Context {
        Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        ))
    }

    #[test]
    fn a_context_written_is_read_back() {
        let mut headers = HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, "m-1");
        TraceContextPropagator::new().inject_context(&remote(), &mut Writer(&mut headers));
        assert_eq!(
            headers.get("traceparent").map(HeaderValue::as_str),
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        );
        // The headers the bridge already sets are kept.
        assert_eq!(
            headers
                .get(async_nats::header::NATS_MESSAGE_ID)
                .map(HeaderValue::as_str),
            Some("m-1")
        );
        let read = TraceContextPropagator::new().extract(&Reader(&headers));
        assert_eq!(
            read.span().span_context().trace_id(),
            remote().span().span_context().trace_id()
        );
        assert_eq!(
            read.span().span_context().span_id(),
            remote().span().span_context().span_id()
        );
    }

    #[test]
    fn a_name_in_other_case_is_read() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "Traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        );
        let read = TraceContextPropagator::new().extract(&Reader(&headers));
        assert!(read.span().span_context().is_valid());
    }

    #[test]
    fn no_context_writes_nothing() {
        let mut headers = HeaderMap::new();
        TraceContextPropagator::new().inject_context(&Context::new(), &mut Writer(&mut headers));
        assert_eq!(headers.iter().count(), 0);
    }
}
