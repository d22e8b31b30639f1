//! A lossless bridge between [maiko](https://docs.rs/maiko) supervisors and
//! NATS JetStream: events leave one process and are handled in another,
//! and maiko's promise holds across the wire.
//!
//! - [`Outbound`]: events of chosen topics are published to JetStream
//!   subjects; an event counts as handled only once the stream has
//!   acknowledged it.
//! - [`Inbound`]: messages of a durable pull consumer are published into a
//!   supervisor; a message is acknowledged only once every subscriber has
//!   handled its event.
//!
//! # The guarantee
//!
//! An event whose publish returned `Ok` in the producing process is
//! handled by a consuming process, also when either is sent SIGTERM, or
//! a consumer is killed, in the middle (see below for what a kill of the
//! producer or a server restart does):
//!
//! - In the producer, the outbound bridge holds each event (through
//!   [`Context::defer`](maiko_core::Context::defer)) until the stream's
//!   acknowledgement arrives, and the supervisor's drain waits for it: a
//!   stop returns only once every accepted event is stored (or the
//!   deadline has passed, and the bridge's report names what is not
//!   confirmed). Publishes are retried with the same `Nats-Msg-Id` (the
//!   event's id), so a retry does not store a duplicate.
//! - In a consumer, the inbound bridge acknowledges a message only after
//!   its event was handled by every subscriber, so a consumer killed at
//!   any moment leaves the message on the server, which delivers it again
//!   (to this consumer or another one sharing the durable consumer).
//!
//! Delivery is therefore **at least once**. It is **exactly once across
//! graceful stops**, for handlers of any speed: on SIGTERM, an inbound
//! bridge stops pulling, gives back at once every message it has not yet
//! published into its supervisor, and acknowledges, with the server's
//! confirmation, everything its supervisor handled before it lets the
//! connection close; while it runs, it keeps every message it holds alive
//! on the server (so a slow handler or a full mailbox causes no
//! redelivery to another process), and it holds at most
//! [`Inbound::with_max_in_flight`] messages, so a stop takes about that
//! many times the handler's time.
//!
//! # After a kill, after a server restart
//!
//! - **A consumer killed** (SIGKILL, a crash, a lost machine): the
//!   messages it held, at most `max_in_flight`, were not acknowledged, and
//!   the server delivers them again after the consumer's ack wait, to
//!   another process or to this one restarted. Those whose events had been
//!   handled are handled again: make handlers idempotent if a kill must
//!   not repeat work. Nothing is lost.
//! - **A producer killed**: an event whose publish returned `Ok` but was
//!   not yet stored is lost with the process (it was never handled
//!   anywhere); a publish retried after a kill and restart is stored once
//!   within the stream's duplicate window.
//! - **A server restarted** (stopped and started, a few seconds away):
//!   the bridges wait it out. Publishes and acknowledgements that were not
//!   confirmed are sent again with backoff until the server confirms them
//!   (for an inbound bridge that is stopping, until the supervisor's
//!   shutdown deadline); so a consumer that lives through the restart
//!   ends with a clean report and loses nothing. But the server may
//!   deliver again, after it is back, messages that were in flight when
//!   it went away (nats-server 2.9 does so for a few of them, also after
//!   a graceful stop; a server killed outright may also forget
//!   acknowledgements it had not written out): the bridge that handled
//!   such a message acknowledges the copy without delivering it twice
//!   (it remembers the last `with_dedup_window` ids it handled); another
//!   process delivers it. So across a server restart delivery is at
//!   least once: make handlers idempotent if that matters.
//! - **A payload that cannot be decoded** is never handled: it is
//!   terminated on the server, after a copy was stored on the dead-letter
//!   subject if one is set ([`Inbound::with_dead_letter_subject`]), and
//!   counted in the report.
//!
//! # Shutdown order
//!
//! In a process with both bridges, on SIGTERM:
//!
//! 1. the supervisor's gate refuses new events; the inbound bridge stops
//!    pulling and gives back what arrives;
//! 2. the supervisor drains: every event accepted is handled, including
//!    the deferred ones of the outbound bridge, which end when their
//!    acknowledgement arrives;
//! 3. the inbound bridge sends the acknowledgement of every message whose
//!    event was handled, waits for the server to confirm them, and flushes;
//! 4. then the program closes the connection.
//!
//! # Events that came from NATS
//!
//! The inbound bridge publishes as an actor of its own, named `nats-in:`
//! and the consumer's name; the outbound bridge does not publish events
//! from such actors back to NATS (unless told to, with
//! [`Outbound::with_republish_inbound`]). The events that a handler
//! publishes in response are ordinary events and are bridged as usual.
//!
//! # Tracing across processes
//!
//! With the feature `otel`, a trace crosses the bridges. The outbound
//! bridge writes the OpenTelemetry context of the event it publishes (of
//! maiko's `maiko.process` span its handler runs in, a descendant of the
//! publisher's span) into the message's headers, as W3C trace context
//! (`traceparent`, `tracestate`), next to `Nats-Msg-Id`. The inbound
//! bridge reads it and publishes the event inside a span
//! (`maiko_nats.receive`) whose parent is that context, so the handlers'
//! `maiko.process` spans belong to the producer's trace. The format is
//! built in: no global propagator needs to be installed; a
//! `tracing-opentelemetry` layer (0.34, for opentelemetry 0.33) must be,
//! on both sides. Without the feature, no header is added and no
//! OpenTelemetry crate is compiled.
//!
//! # The client
//!
//! Use the re-exported [`async_nats`] (`maiko_nats::async_nats`) rather
//! than a dependency of your own on the crate: the bridges are built
//! against this version, with the features that keep requests understood
//! by nats-server 2.9; the crate's default features include newer server
//! protocol that makes such a server refuse requests.
//!
//! # Example
//!
//! `examples/nats_bridge.rs` is a producer and a consumer of orders, run
//! as two processes against a `nats-server -js`
//! (`cargo run -p maiko-nats --example nats_bridge -- consume`, then
//! `-- produce`); stop and restart either in the middle and no accepted
//! order is missing. `examples/e2e_producer.rs` and
//! `examples/e2e_consumer.rs` are the processes of the end-to-end tests.
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
#![forbid(unsafe_code)]

mod codec;
mod error;
mod inbound;
#[cfg(feature = "otel")]
mod otel;
mod outbound;
mod report;
mod retry;
mod window;

pub use codec::{Codec, CodecError, Json};
pub use error::Error;
pub use inbound::{
    DEAD_LETTER_REASON, DEAD_LETTER_SUBJECT, Inbound, InboundBridge, InboundConsumer, InboundHandle,
};
#[allow(deprecated)]
pub use outbound::OutboundBridge;
pub use outbound::{Outbound, OutboundHandle};
pub use report::{InboundReport, InboundStats, OutboundReport, OutboundStats, PublishFailure};
pub use retry::RetryPolicy;

/// The client library the bridges use, re-exported so that a program can
/// name the same version.
pub use async_nats;
