//! The inbound bridge's settings ([`Inbound`]), checked and registered on a
//! supervisor by [`Inbound::attach`].

use std::{fmt, marker::PhantomData, sync::Arc, time::Duration};

use async_nats::jetstream::consumer::{AckPolicy, pull};
use maiko_core::{Context, Event, Subscribe, Supervisor, Topic};

use super::{INBOUND_ACTOR_PREFIX, InboundBridge, Ingress, Shared};
use crate::{Codec, Error, Json, RetryPolicy};

/// Settings of an inbound bridge: the stream and durable consumer to pull
/// from, how payloads are decoded, and the bounds on what it holds.
/// [`attach`](Self::attach) registers the bridge on a supervisor.
///
/// # How a message crosses
///
/// The bridge pulls from a durable pull consumer with explicit acks
/// (created with [`with_consumer_config`](Self::with_consumer_config)'s
/// settings if it does not exist). Several processes may share the
/// consumer: each message goes to one of them. For each message it:
///
/// 1. decodes the payload into an event (a payload the codec rejects is
///    terminated on the server, as it would fail again on every
///    redelivery; with [`with_dead_letter_subject`](Self::with_dead_letter_subject)
///    it is first published there);
/// 2. publishes the event into the supervisor through the gate, as a
///    tracked publish ([`Context::send_tracked`]), under the bridge's own
///    actor id (`nats-in:` and the consumer's name), one message at a
///    time and in the order they arrived;
/// 3. when the [`Delivery`](maiko_core::Delivery) resolves: if every
///    subscriber handled the event
///    ([`DeliveryOutcome::is_handled`](maiko_core::DeliveryOutcome::is_handled)),
///    acknowledges the message; otherwise (dropped, lost, interrupted,
///    abandoned at the shutdown deadline) acknowledges it negatively, so
///    the server delivers it again. Every acknowledgement is sent as a
///    request and waits for the server's confirmation that it was
///    recorded, retried with backoff (see [`with_ack_retry`](Self::with_ack_retry)).
///
/// # Messages in flight
///
/// A message is in flight from the moment it is pulled until the server
/// has confirmed its acknowledgement (or its negative acknowledgement):
/// while it waits for room in the supervisor, while it is handled, and
/// while its acknowledgement is on its way. The bridge holds at most
/// [`with_max_in_flight`](Self::with_max_in_flight) messages in flight,
/// and pulls no more than it has room for, so few messages ever wait.
///
/// Every message in flight is kept alive: on a timer of a third of the
/// consumer's ack wait, the bridge tells the server it is still at work on
/// each one held for longer than that (`AckKind::Progress`), whatever the
/// supervisor is doing; so neither a slow handler nor a full mailbox makes
/// the server deliver the message again (to this process or another one).
/// The wait for room in the supervisor is a future of its own: the
/// acknowledgements, their confirmations and the keep-alives never wait
/// behind it.
///
/// A message with no subscriber for its event's topic is handled by
/// none, and acknowledged.
///
/// # Duplicates
///
/// A message may come again after its acknowledgement was lost (a server
/// that never came back in time, a process killed at the wrong moment), or
/// a publisher may have stored it twice after the stream's duplicate
/// window. The bridge remembers the ids (`Nats-Msg-Id`, or the stream
/// sequence when a message has none) of the last
/// [`with_dedup_window`](Self::with_dedup_window) messages it handled: a
/// message whose id is there is acknowledged without being delivered
/// again, and counted as a duplicate; one that arrives while the first
/// copy is in flight waits for that copy's outcome. The window is per
/// process: a redelivery to another process sharing the consumer is
/// delivered there.
///
/// # Tracing
///
/// With the `otel` feature, the bridge publishes each event inside an
/// INFO span `maiko_nats.receive` (target `maiko_nats::inbound`, kind
/// consumer, with the subject and the message id; exported as
/// `receive <subject>`) whose OpenTelemetry
/// parent is the W3C trace context the message carries (`traceparent`,
/// `tracestate`; what an [`Outbound`](crate::Outbound) bridge with the
/// feature writes). maiko's `maiko.publish` span of the event, and the
/// `maiko.process` spans of its handlers, are its children: the handlers
/// run in the producer's trace. A message without a valid context starts
/// a trace of its own. The span must be enabled by the subscriber's
/// filter for the trace to be joined.
///
/// # Stopping
///
/// The bridge runs ([`InboundConsumer::run`](crate::InboundConsumer::run))
/// until the supervisor's shutdown starts. Then it:
///
/// 1. stops pulling, and gives back (acknowledges negatively) at once
///    every message it has not yet published into the supervisor: those
///    waiting for room, and those the pull still out brings (it is read
///    to its end, at most [`with_pull_expiry`](Self::with_pull_expiry)),
///    each with a delay of what is left of that pull, so that the server
///    hands it to another process rather than back to this one;
/// 2. settles what it published: the supervisor's drain handles those
///    events, and each message is acknowledged (or negatively, if the
///    deadline abandoned it) with confirmation;
/// 3. flushes the connection and returns its report. Close the connection
///    only after that.
///
/// So a graceful stop handles at most `max_in_flight` more messages: it
/// takes about `max_in_flight` × the handler's time (of the slowest
/// subscriber, for a handler that takes one event at a time), plus a
/// round trip for the acknowledgements; with the defaults (128 in flight,
/// a 30 s shutdown deadline) that fits handlers of up to about 200 ms.
/// After it, every message this process took is either handled and
/// acknowledged, or back on the server for another consumer: none is
/// handled twice.
///
/// Once the stop has started, acknowledgements that the server does not
/// confirm are retried until the supervisor's shutdown deadline and grace
/// have passed, plus one ack timeout; what is still unconfirmed then is
/// named in the report, and the server delivers it again.
///
/// # Examples
///
/// ```no_run
/// use maiko::*;
/// use maiko_nats::{Inbound, async_nats};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Event, Clone, Debug, Serialize, Deserialize)]
/// struct Order {
///     id: u64,
/// }
///
/// struct Ledger;
/// impl Actor for Ledger {
///     type Event = Order;
///     async fn handle_event(&mut self, envelope: &Envelope<Order>) -> Result {
///         println!("booked order {}", envelope.event().id);
///         Ok(())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let client = async_nats::connect("127.0.0.1:4222").await?;
/// let jetstream = async_nats::jetstream::new(client.clone());
///
/// let mut sup = Supervisor::<Order>::default();
/// sup.add_actor("ledger", |_| Ledger, [DefaultTopic])?;
/// let inbound = Inbound::new("ORDERS", "ledger")
///     .with_dead_letter_subject("ORDERS_DEAD.ledger")
///     .attach(&mut sup)?;
/// sup.start().await?;
///
/// let consumer = inbound.bind(&jetstream).await?;
/// let pulling = tokio::spawn(consumer.run());
///
/// let report = sup.run_until_signal().await; // SIGTERM: drain
/// let inbound_report = pulling.await?; // every ack sent and confirmed
/// client.drain().await?; // only now close the connection
/// eprintln!("{report}\n{inbound_report}");
/// # Ok(())
/// # }
/// ```
pub struct Inbound<E, C = Json> {
    pub(super) stream: String,
    pub(super) consumer: String,
    pub(super) codec: C,
    pub(super) consumer_config: pull::Config,
    pub(super) batch: usize,
    /// `None`: the supervisor's default mailbox capacity.
    pub(super) max_in_flight: Option<usize>,
    pub(super) window: usize,
    pub(super) pull_expiry: Duration,
    pub(super) ack_timeout: Duration,
    pub(super) ack_retry: RetryPolicy,
    pub(super) redelivery_delay: Option<Duration>,
    pub(super) dead_letter: Option<String>,
    _event: PhantomData<fn() -> E>,
}

impl<E: Event> Inbound<E, Json> {
    /// An inbound bridge pulling from the durable consumer `consumer` of
    /// `stream`, decoding JSON.
    pub fn new(stream: impl Into<String>, consumer: impl Into<String>) -> Self {
        Self {
            stream: stream.into(),
            consumer: consumer.into(),
            codec: Json,
            consumer_config: pull::Config {
                ack_policy: AckPolicy::Explicit,
                ..Default::default()
            },
            batch: 256,
            max_in_flight: None,
            window: 65_536,
            pull_expiry: Duration::from_secs(1),
            ack_timeout: Duration::from_secs(5),
            ack_retry: RetryPolicy::default()
                .with_backoff(Duration::from_millis(50), Duration::from_secs(1)),
            redelivery_delay: None,
            dead_letter: None,
            _event: PhantomData,
        }
    }
}

impl<E: Event, C: Codec<E>> Inbound<E, C> {
    /// Decode payloads with `codec` instead of JSON.
    pub fn with_codec<C2: Codec<E>>(self, codec: C2) -> Inbound<E, C2> {
        Inbound {
            stream: self.stream,
            consumer: self.consumer,
            codec,
            consumer_config: self.consumer_config,
            batch: self.batch,
            max_in_flight: self.max_in_flight,
            window: self.window,
            pull_expiry: self.pull_expiry,
            ack_timeout: self.ack_timeout,
            ack_retry: self.ack_retry,
            redelivery_delay: self.redelivery_delay,
            dead_letter: self.dead_letter,
            _event: PhantomData,
        }
    }

    /// The settings to create the consumer with if it does not exist (its
    /// durable name is set to the consumer's name; the ack policy must be
    /// `Explicit`, the default). An existing consumer is used as it is.
    #[must_use]
    pub fn with_consumer_config(mut self, config: pull::Config) -> Self {
        self.consumer_config = config;
        self
    }

    /// Ask for at most this many messages per pull request (256 by
    /// default; a pull never asks for more than there is room for in
    /// flight).
    #[must_use]
    pub fn with_batch(mut self, batch: usize) -> Self {
        self.batch = batch;
        self
    }

    /// Hold at most this many messages in flight, from the moment they
    /// are pulled until the server has confirmed their acknowledgement.
    ///
    /// By default, the supervisor's default mailbox capacity
    /// ([`SupervisorConfig::with_default_actor_channel_capacity`](maiko_core::SupervisorConfig::with_default_actor_channel_capacity),
    /// 128 unless set): what a subscriber's mailbox holds, so that what the
    /// bridge has published and not yet seen handled fits in one mailbox.
    /// A graceful stop handles at most this many more messages (see
    /// "Stopping" above): lower it for slow handlers, raise it for
    /// throughput with fast ones.
    #[must_use]
    pub fn with_max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = Some(max);
        self
    }

    /// The former name of [`with_max_in_flight`](Self::with_max_in_flight).
    #[deprecated(since = "0.4.1", note = "renamed to `with_max_in_flight`")]
    #[must_use]
    pub fn with_max_in_hand(self, max: usize) -> Self {
        self.with_max_in_flight(max)
    }

    /// Remember the ids of this many handled messages to recognise
    /// redeliveries (65 536 by default).
    #[must_use]
    pub fn with_dedup_window(mut self, ids: usize) -> Self {
        self.window = ids;
        self
    }

    /// How long a pull request waits on the server for messages (1 s by
    /// default). Also the longest a stop waits for the request that is
    /// out.
    #[must_use]
    pub fn with_pull_expiry(mut self, expiry: Duration) -> Self {
        self.pull_expiry = expiry;
        self
    }

    /// How long to wait for the server to confirm an acknowledgement (5 s
    /// by default), and how many times to send it at most (by default,
    /// until it is confirmed; see [`with_ack_retry`](Self::with_ack_retry)).
    #[must_use]
    pub fn with_ack_confirmation(mut self, timeout: Duration, attempts: u32) -> Self {
        self.ack_timeout = timeout;
        self.ack_retry = self.ack_retry.with_max_attempts(attempts);
        self
    }

    /// How an acknowledgement that the server did not confirm (no answer
    /// in time, the connection away, the server restarting) is sent again,
    /// and how a dead-lettered payload's publish is retried. By default:
    /// 50 ms doubling up to 1 s, with no limit on attempts while the
    /// bridge runs; once the shutdown has started, until its deadline (see
    /// "Stopping" above). A server restart of a few seconds therefore
    /// loses no acknowledgement.
    #[must_use]
    pub fn with_ack_retry(mut self, retry: RetryPolicy) -> Self {
        self.ack_retry = retry;
        self
    }

    /// Ask the server to wait this long before redelivering a message that
    /// was not handled (none by default). Messages given back during a
    /// shutdown are always given back without delay.
    #[must_use]
    pub fn with_redelivery_delay(mut self, delay: Duration) -> Self {
        self.redelivery_delay = Some(delay);
        self
    }

    /// Publish each payload the codec rejects to `subject` before
    /// terminating it on the server (none by default: it is only
    /// terminated). A stream must capture the subject. The copy carries
    /// the original payload, the headers
    /// [`DEAD_LETTER_REASON`](crate::DEAD_LETTER_REASON) (the codec's
    /// error) and [`DEAD_LETTER_SUBJECT`](crate::DEAD_LETTER_SUBJECT) (the
    /// subject it was published to), and a `Nats-Msg-Id` derived from the
    /// original's id, so a retried publish is not stored twice. The
    /// message is terminated only once the stream has stored the copy; it
    /// is counted in [`InboundStats::dead_lettered`](crate::InboundStats::dead_lettered).
    /// A copy that cannot be stored (the retries allowed by
    /// [`with_ack_retry`](Self::with_ack_retry) ran out) leaves the
    /// message on the server, negatively acknowledged.
    #[must_use]
    pub fn with_dead_letter_subject(mut self, subject: impl Into<String>) -> Self {
        self.dead_letter = Some(subject.into());
        self
    }

    fn validate(&self) -> Result<(), Error> {
        if self.batch == 0 {
            return Err(Error::InvalidConfig(
                "Inbound::with_batch(0): a pull must ask for at least one message",
            ));
        }
        if self.max_in_flight == Some(0) {
            return Err(Error::InvalidConfig(
                "Inbound::with_max_in_flight(0): at least one message must be allowed in flight",
            ));
        }
        if self.window == 0 {
            return Err(Error::InvalidConfig(
                "Inbound::with_dedup_window(0): the window must hold at least one id",
            ));
        }
        if self.pull_expiry < Duration::from_millis(10) {
            return Err(Error::InvalidConfig(
                "Inbound::with_pull_expiry: at least 10 ms (a shorter request expires on its way)",
            ));
        }
        if self.ack_timeout.is_zero() {
            return Err(Error::InvalidConfig(
                "Inbound::with_ack_confirmation: the timeout and the attempts must be above zero",
            ));
        }
        if self.ack_retry.validate().is_err() {
            return Err(Error::InvalidConfig(
                "Inbound::with_ack_confirmation or with_ack_retry: the timeout and the attempts must be above zero, the backoff's start at most its cap",
            ));
        }
        if self.dead_letter.as_deref() == Some("") {
            return Err(Error::InvalidConfig(
                "Inbound::with_dead_letter_subject: the subject must not be empty",
            ));
        }
        if self.consumer.is_empty() || self.stream.is_empty() {
            return Err(Error::InvalidConfig(
                "Inbound::new: the stream and the consumer need names",
            ));
        }
        if self.consumer_config.ack_policy != AckPolicy::Explicit {
            return Err(Error::NotExplicitAck {
                stream: self.stream.clone(),
                consumer: self.consumer.clone(),
            });
        }
        Ok(())
    }

    /// Register the bridge's actor (`nats-in:` and the consumer's name,
    /// subscribed to nothing: it only publishes) on `supervisor`. Call it
    /// before [`Supervisor::start`], then [`InboundBridge::bind`] the
    /// bridge to the server.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a zero batch, bound or window, a pull
    /// expiry under 10 ms, a zero ack timeout or attempt count, an
    /// unusable ack retry policy, an empty dead-letter subject or an empty
    /// name; [`Error::NotExplicitAck`] if the consumer settings do not use
    /// explicit acks; [`Error::Runtime`] if the supervisor refused the
    /// actor (it has started, or the name is taken).
    pub fn attach<T: Topic<E>>(
        mut self,
        supervisor: &mut Supervisor<E, T>,
    ) -> Result<InboundBridge<E, C>, Error> {
        self.validate()?;
        let config = supervisor.config();
        self.max_in_flight = Some(
            self.max_in_flight
                .unwrap_or_else(|| config.default_actor_channel_capacity().max(1)),
        );
        let shutdown = config.shutdown_timeout() + config.shutdown_grace();
        let name = format!("{INBOUND_ACTOR_PREFIX}{}", self.consumer);
        let mut context = None;
        supervisor.add_actor(
            &name,
            |ctx: Context<E>| {
                context = Some(ctx);
                Ingress(PhantomData)
            },
            Subscribe::none(),
        )?;
        let ctx = context.expect("the supervisor calls the factory when it registers the actor");
        let shared = Arc::new(Shared::new(ctx.actor_id().clone()));
        Ok(InboundBridge {
            ctx,
            settings: self,
            shared,
            shutdown,
        })
    }

    /// The bound on messages in flight, once [`attach`](Self::attach) has
    /// settled the default.
    pub(super) fn max_in_flight(&self) -> usize {
        self.max_in_flight.unwrap_or(1)
    }
}

impl<E, C> fmt::Debug for Inbound<E, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbound")
            .field("stream", &self.stream)
            .field("consumer", &self.consumer)
            .field("batch", &self.batch)
            .field("max_in_flight", &self.max_in_flight)
            .field("window", &self.window)
            .field("pull_expiry", &self.pull_expiry)
            .field("ack_retry", &self.ack_retry)
            .field("dead_letter", &self.dead_letter)
            .finish_non_exhaustive()
    }
}
