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
//! killed, in the middle:
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
//! graceful stops**: on SIGTERM, an inbound bridge stops pulling, gives
//! back at once what its supervisor refuses, and acknowledges, with the
//! server's confirmation, everything its supervisor handled before it
//! lets the connection close; so nothing it took is handled twice. A
//! process killed outright, or a server restarted, can make a message come
//! again after it was handled; each inbound bridge remembers the ids of
//! the messages it handled (a bounded window) and acknowledges such a
//! redelivery without delivering it twice.
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
mod outbound;
mod report;
mod retry;
mod window;

pub use codec::{Codec, CodecError, Json};
pub use error::Error;
pub use inbound::{Inbound, InboundBridge, InboundConsumer, InboundHandle};
pub use outbound::{Outbound, OutboundBridge};
pub use report::{InboundReport, InboundStats, OutboundReport, OutboundStats, PublishFailure};
pub use retry::RetryPolicy;

/// The client library the bridges use, re-exported so that a program can
/// name the same version.
pub use async_nats;
