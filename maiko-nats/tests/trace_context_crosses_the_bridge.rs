//! With the `otel` feature, a trace crosses NATS: an event published
//! inside a span on one side is handled on the other side inside the same
//! trace, because the message carries the trace context in its
//! `traceparent` header.
//!
//! The two sides are two supervisors, each with a connection of its own,
//! in one process with one tracer: the inbound bridge's span is a root in
//! `tracing` (it has no local parent), so nothing but the header can put
//! the handler into the publisher's trace.

mod support;

use async_nats::jetstream::{self, consumer::pull};
use futures_util::StreamExt;
use maiko::*;
use maiko_nats::{Inbound, Outbound};
use opentelemetry::trace::{SpanId, TraceContextExt, TraceId, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use serde::{Deserialize, Serialize};
use support::{NEEDS_SERVER, NatsServer, connect, make_stream, within};
use tokio::sync::mpsc;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

#[derive(Event, Clone, Debug, Serialize, Deserialize)]
struct Ping(u32);

/// Sends the trace id of the span its handler runs in.
struct TraceRecorder {
    seen: mpsc::UnboundedSender<TraceId>,
}

impl Actor for TraceRecorder {
    type Event = Ping;

    async fn handle_event(&mut self, _envelope: &Envelope<Ping>) -> Result {
        let trace = tracing::Span::current()
            .context()
            .span()
            .span_context()
            .trace_id();
        let _ = self.seen.send(trace);
        Ok(())
    }
}

/// The one message on `stream`, with its headers.
async fn the_stored_message(jetstream: &jetstream::Context, stream: &str) -> jetstream::Message {
    let consumer: jetstream::consumer::PullConsumer = jetstream
        .get_stream(stream)
        .await
        .expect("the stream")
        .create_consumer(pull::Config {
            ack_policy: jetstream::consumer::AckPolicy::None,
            ..Default::default()
        })
        .await
        .expect("an ephemeral consumer");
    let mut batch = consumer
        .fetch()
        .max_messages(1)
        .messages()
        .await
        .expect("fetch");
    batch
        .next()
        .await
        .expect("a stored message")
        .expect("a stored message")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server: apt-get install nats-server"]
async fn the_handler_on_the_far_side_runs_in_the_publishers_trace() {
    let _ = NEEDS_SERVER;
    // Every span of both sides, exported to memory; the subscriber is
    // global because the actors run on the runtime's worker threads.
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
        .expect("the only subscriber of this test binary");

    let server = NatsServer::start();
    let (client_a, jetstream_a) = connect(&server).await;
    let (client_b, jetstream_b) = connect(&server).await;
    make_stream(&jetstream_a, "TRACED").await;

    // Side B: an inbound bridge and the recorder.
    let (seen, mut seen_by_b) = mpsc::unbounded_channel();
    let mut side_b = Supervisor::<Ping>::default();
    side_b
        .add_actor("recorder", move |_| TraceRecorder { seen }, [DefaultTopic])
        .unwrap();
    let inbound = Inbound::new("TRACED", "recorders")
        .attach(&mut side_b)
        .unwrap();
    side_b.start().await.unwrap();
    let pulling = tokio::spawn(inbound.bind(&jetstream_b).await.unwrap().run());

    // Side A: an outbound bridge; the event is published inside a span of
    // the user's.
    let mut side_a = Supervisor::<Ping>::default();
    let outbound = Outbound::new(jetstream_a.clone(), |_: &Ping| "TRACED.pings".to_owned())
        .attach(&mut side_a, [DefaultTopic])
        .unwrap();
    side_a.start().await.unwrap();
    let request = tracing::info_span!("user.request");
    let trace = request.context().span().span_context().trace_id();
    assert_ne!(trace, TraceId::INVALID, "the user's span has a trace");
    side_a.send(Ping(1)).instrument(request).await.unwrap();

    let handled_in = within("the ping to be handled on side B", seen_by_b.recv())
        .await
        .expect("the recorder is running");
    assert_eq!(
        handled_in, trace,
        "side B handled the ping outside the publisher's trace"
    );

    let report = within("side A's stop", side_a.shutdown()).await;
    assert!(report.is_clean(), "{report}");
    let sent = outbound.finished().await;
    assert!(sent.is_clean(), "{sent}");
    let report = within("side B's stop", side_b.shutdown()).await;
    assert!(report.is_clean(), "{report}");
    let received = within("the inbound bridge", pulling).await.unwrap();
    assert!(received.is_clean(), "{received}");
    assert_eq!(received.stats.acked, 1, "{received}");

    // On the wire: the message id the stream de-duplicates by, and the
    // trace context, in W3C form, of a span of the publisher's trace.
    let message = the_stored_message(&jetstream_a, "TRACED").await;
    let headers = message.headers.as_ref().expect("the message has headers");
    assert!(
        headers.get(async_nats::header::NATS_MESSAGE_ID).is_some(),
        "the message id is kept"
    );
    let traceparent = headers
        .get("traceparent")
        .expect("a traceparent header")
        .as_str()
        .to_owned();
    let fields: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(fields.len(), 4, "{traceparent}");
    assert_eq!(fields[0], "00", "{traceparent}");
    assert_eq!(fields[1], trace.to_string(), "{traceparent}");
    let sender = SpanId::from_hex(fields[2]).expect("a span id");

    // The spans: side B's receiving span has that span of side A as its
    // remote parent.
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let receive = spans
        .iter()
        .find(|span| span.name == "receive TRACED.pings")
        .expect("the inbound bridge's span was exported");
    assert_eq!(receive.span_context.trace_id(), trace);
    assert_eq!(receive.parent_span_id, sender);
    assert!(receive.parent_span_is_remote);
    // That span is the outbound bridge's handling of the event (maiko's
    // `maiko.process`), in the user's trace.
    let handled_by_bridge = spans
        .iter()
        .find(|span| span.span_context.span_id() == sender)
        .expect("the span named in traceparent was exported");
    let attribute = |key: &str| {
        handled_by_bridge
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.to_string())
    };
    assert_eq!(
        attribute("messaging.operation.type").as_deref(),
        Some("process")
    );
    assert_eq!(attribute("maiko.actor").as_deref(), Some("nats-out"));
    assert_eq!(handled_by_bridge.span_context.trace_id(), trace);

    client_a.flush().await.unwrap();
    client_b.flush().await.unwrap();
}
