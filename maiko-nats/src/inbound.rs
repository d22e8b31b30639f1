//! The inbound bridge: messages of a durable JetStream pull consumer
//! published into a supervisor, each one acknowledged only once every
//! subscriber has handled it.

use std::{
    collections::HashMap,
    fmt,
    marker::PhantomData,
    pin::pin,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_nats::{
    Client, Request,
    header::NATS_MESSAGE_ID,
    jetstream::{
        self, AckKind, Message,
        consumer::{AckPolicy, PullConsumer, pull},
    },
};
use bytes::Bytes;
use futures_util::{StreamExt, stream::FuturesUnordered};
use maiko_core::{Actor, ActorId, Context, Delivery, Event, Subscribe, Supervisor, Topic};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{
    Codec, Error, InboundReport, InboundStats, Json,
    report::{Counter, Final},
    window::Window,
};

/// The name of every inbound bridge's actor starts with this; the outbound
/// bridge recognises the events they publish by it.
pub(crate) const INBOUND_ACTOR_PREFIX: &str = "nats-in:";

/// Added to the time a pull has left, for a message given back during a
/// shutdown: the server's clock and this one are not read at the same
/// instant.
const PULL_MARGIN: Duration = Duration::from_millis(50);

/// Settings of an inbound bridge: the stream and durable consumer to pull
/// from, how payloads are decoded, and the bounds on what it holds.
/// [`attach`](Self::attach) registers the bridge on a supervisor.
///
/// # How a message crosses
///
/// The bridge pulls batches from a durable pull consumer with explicit
/// acks (created with [`with_consumer_config`](Self::with_consumer_config)'s
/// settings if it does not exist). Several processes may share the
/// consumer: each message goes to one of them. For each message it:
///
/// 1. decodes the payload into an event (a payload the codec rejects is
///    terminated on the server, as it would fail again on every
///    redelivery);
/// 2. publishes the event into the supervisor through the gate, as a
///    tracked publish ([`Context::send_tracked`]), under the bridge's own
///    actor id (`nats-in:` and the consumer's name);
/// 3. when the [`Delivery`] resolves: if every subscriber handled the
///    event ([`DeliveryOutcome::is_handled`](maiko_core::DeliveryOutcome::is_handled)),
///    acknowledges the message; otherwise (dropped, lost, interrupted,
///    abandoned at the shutdown deadline) acknowledges it negatively, so
///    the server delivers it again. Every acknowledgement is sent as a
///    request and waits for the server's confirmation that it was
///    recorded (retried a few times; one never confirmed is named in the
///    [`InboundReport`]).
///
/// While a message is being handled, the bridge tells the server it is
/// still at work (every third of the consumer's ack wait), so a slow
/// handler does not cause a redelivery. At most
/// [`with_max_in_hand`](Self::with_max_in_hand) messages are held at once.
///
/// A message with no subscriber for its event's topic is handled by
/// none, and acknowledged.
///
/// # Duplicates
///
/// A message may come again after its acknowledgement was lost (a server
/// restart, a connection broken at the wrong moment), or a publisher may
/// have stored it twice after the stream's duplicate window. The bridge
/// remembers the ids (`Nats-Msg-Id`, or the stream sequence when a
/// message has none) of the last [`with_dedup_window`](Self::with_dedup_window)
/// messages it handled: a message whose id is there is acknowledged
/// without being delivered again, and counted as a duplicate; one that
/// arrives while the first copy is still being handled waits for that
/// copy's outcome. The window is per process: a redelivery to another
/// process sharing the consumer is delivered there.
///
/// # Stopping
///
/// The bridge runs ([`InboundConsumer::run`]) until the supervisor's
/// shutdown starts. Then it:
///
/// 1. stops pulling: no new pull request is sent, and the one that is out
///    is read to its end (at most [`with_pull_expiry`](Self::with_pull_expiry));
///    the gate refuses what arrives, and each such message is acknowledged
///    negatively at once, so another process takes it (with a delay of
///    what is left of that pull request, so that the server does not hand
///    it straight back to this process);
/// 2. settles what it holds: the supervisor's drain handles every event
///    it accepted, and each message is acknowledged (or negatively, if the
///    deadline abandoned it) with confirmation;
/// 3. flushes the connection and returns its report. Close the connection
///    only after that.
///
/// So after a graceful stop, every message this process took is either
/// handled and acknowledged, or back on the server for another consumer:
/// none is handled twice.
///
/// # Examples
///
/// ```no_run
/// use maiko::*;
/// use maiko_nats::Inbound;
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
/// let inbound = Inbound::new("ORDERS", "ledger").attach(&mut sup)?;
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
    stream: String,
    consumer: String,
    codec: C,
    consumer_config: pull::Config,
    batch: usize,
    max_in_hand: usize,
    window: usize,
    pull_expiry: Duration,
    ack_timeout: Duration,
    ack_attempts: u32,
    redelivery_delay: Option<Duration>,
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
            max_in_hand: 512,
            window: 65_536,
            pull_expiry: Duration::from_secs(1),
            ack_timeout: Duration::from_secs(5),
            ack_attempts: 3,
            redelivery_delay: None,
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
            max_in_hand: self.max_in_hand,
            window: self.window,
            pull_expiry: self.pull_expiry,
            ack_timeout: self.ack_timeout,
            ack_attempts: self.ack_attempts,
            redelivery_delay: self.redelivery_delay,
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
    /// default).
    #[must_use]
    pub fn with_batch(mut self, batch: usize) -> Self {
        self.batch = batch;
        self
    }

    /// Hold at most this many messages at once, from their arrival to the
    /// server's confirmation of their acknowledgement (512 by default).
    #[must_use]
    pub fn with_max_in_hand(mut self, max: usize) -> Self {
        self.max_in_hand = max;
        self
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
    /// by default), and how many times to send it (3 by default).
    #[must_use]
    pub fn with_ack_confirmation(mut self, timeout: Duration, attempts: u32) -> Self {
        self.ack_timeout = timeout;
        self.ack_attempts = attempts;
        self
    }

    /// Ask the server to wait this long before redelivering a message that
    /// was not handled (none by default). Messages refused during a
    /// shutdown are always given back without delay.
    #[must_use]
    pub fn with_redelivery_delay(mut self, delay: Duration) -> Self {
        self.redelivery_delay = Some(delay);
        self
    }

    fn validate(&self) -> Result<(), Error> {
        if self.batch == 0 {
            return Err(Error::InvalidConfig(
                "Inbound::with_batch(0): a pull must ask for at least one message",
            ));
        }
        if self.max_in_hand == 0 {
            return Err(Error::InvalidConfig(
                "Inbound::with_max_in_hand(0): at least one message must be allowed in hand",
            ));
        }
        if self.max_in_hand > Semaphore::MAX_PERMITS || self.max_in_hand > u32::MAX as usize {
            return Err(Error::InvalidConfig(
                "Inbound::with_max_in_hand: more than the largest bound supported",
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
        if self.ack_timeout.is_zero() || self.ack_attempts == 0 {
            return Err(Error::InvalidConfig(
                "Inbound::with_ack_confirmation: the timeout and the attempts must be above zero",
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
    /// expiry under 10 ms, a zero ack timeout or attempt count, or an
    /// empty name; [`Error::NotExplicitAck`] if the consumer settings do
    /// not use explicit acks; [`Error::Runtime`] if the supervisor refused
    /// the actor (it has started, or the name is taken).
    pub fn attach<T: Topic<E>>(
        self,
        supervisor: &mut Supervisor<E, T>,
    ) -> Result<InboundBridge<E, C>, Error> {
        self.validate()?;
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
        })
    }
}

impl<E, C> fmt::Debug for Inbound<E, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbound")
            .field("stream", &self.stream)
            .field("consumer", &self.consumer)
            .field("batch", &self.batch)
            .field("max_in_hand", &self.max_in_hand)
            .field("window", &self.window)
            .field("pull_expiry", &self.pull_expiry)
            .finish_non_exhaustive()
    }
}

/// The inbound bridge's actor: it handles nothing; the bridge publishes
/// through its context.
struct Ingress<E>(PhantomData<fn() -> E>);

impl<E: Event> Actor for Ingress<E> {
    type Event = E;
}

/// An inbound bridge registered on a supervisor, not yet bound to a
/// consumer: [`bind`](Self::bind) it once the supervisor has started.
pub struct InboundBridge<E, C = Json> {
    ctx: Context<E>,
    settings: Inbound<E, C>,
    shared: Arc<Shared>,
}

impl<E: Event, C: Codec<E>> InboundBridge<E, C> {
    /// The bridge's actor: the sender of every event it publishes.
    pub fn actor_id(&self) -> &ActorId {
        &self.shared.actor
    }

    /// A handle on the bridge's figures and report.
    pub fn handle(&self) -> InboundHandle {
        InboundHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Find the durable consumer, or create it with the configured
    /// settings if it does not exist; the stream must exist.
    ///
    /// # Errors
    ///
    /// [`Error::Nats`] if the stream or consumer cannot be looked up or
    /// created; [`Error::NotExplicitAck`] if the existing consumer does
    /// not use explicit acks.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping it leaves at most a created consumer behind.
    pub async fn bind(
        self,
        jetstream: &jetstream::Context,
    ) -> Result<InboundConsumer<E, C>, Error> {
        let settings = &self.settings;
        let stream = jetstream
            .get_stream(&settings.stream)
            .await
            .map_err(|e| Error::nats("looking up the stream", e))?;
        let mut config = settings.consumer_config.clone();
        config.durable_name = Some(settings.consumer.clone());
        let consumer: PullConsumer = stream
            .get_or_create_consumer(&settings.consumer, config)
            .await
            .map_err(|e| Error::nats("looking up or creating the consumer", e))?;
        let info = consumer.cached_info();
        if info.config.ack_policy != AckPolicy::Explicit {
            return Err(Error::NotExplicitAck {
                stream: settings.stream.clone(),
                consumer: settings.consumer.clone(),
            });
        }
        // The server's default when the consumer does not say.
        let ack_wait = match info.config.ack_wait {
            wait if wait.is_zero() => Duration::from_secs(30),
            wait => wait,
        };
        Ok(InboundConsumer {
            bridge: self,
            consumer,
            client: jetstream.client(),
            ack_wait,
        })
    }

    /// [`bind`](Self::bind), then [`InboundConsumer::run`].
    ///
    /// # Errors
    ///
    /// As [`bind`](Self::bind).
    pub async fn run(self, jetstream: &jetstream::Context) -> Result<InboundReport, Error> {
        Ok(self.bind(jetstream).await?.run().await)
    }
}

impl<E, C> fmt::Debug for InboundBridge<E, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboundBridge")
            .field("actor", &self.shared.actor)
            .field("settings", &self.settings)
            .finish()
    }
}

/// An inbound bridge bound to its durable consumer, ready to
/// [`run`](Self::run).
pub struct InboundConsumer<E, C = Json> {
    bridge: InboundBridge<E, C>,
    consumer: PullConsumer,
    client: Client,
    ack_wait: Duration,
}

impl<E, C> fmt::Debug for InboundConsumer<E, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboundConsumer")
            .field("actor", &self.bridge.shared.actor)
            .field("consumer", &self.bridge.settings.consumer)
            .field("ack_wait", &self.ack_wait)
            .finish_non_exhaustive()
    }
}

/// A cloneable handle on an inbound bridge: its live figures, and its
/// report once it has stopped.
#[derive(Clone)]
pub struct InboundHandle {
    shared: Arc<Shared>,
}

impl InboundHandle {
    /// The figures so far.
    pub fn stats(&self) -> InboundStats {
        self.shared.stats()
    }

    /// The report, if the bridge has stopped.
    pub fn report(&self) -> Option<InboundReport> {
        self.shared.report.get()
    }

    /// Wait until the bridge has stopped and return its report.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn finished(&self) -> InboundReport {
        self.shared.report.wait().await
    }
}

impl fmt::Debug for InboundHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboundHandle")
            .field("actor", &self.shared.actor)
            .field("stats", &self.stats())
            .finish()
    }
}

struct Shared {
    actor: ActorId,
    received: Counter,
    delivered: Counter,
    acked: Counter,
    nacked: Counter,
    refused: Counter,
    duplicates: Counter,
    undecodable: Counter,
    unconfirmed: Counter,
    in_hand: Counter,
    unconfirmed_ids: Mutex<Vec<String>>,
    report: Final<InboundReport>,
}

impl Shared {
    fn new(actor: ActorId) -> Self {
        Self {
            actor,
            received: Counter::default(),
            delivered: Counter::default(),
            acked: Counter::default(),
            nacked: Counter::default(),
            refused: Counter::default(),
            duplicates: Counter::default(),
            undecodable: Counter::default(),
            unconfirmed: Counter::default(),
            in_hand: Counter::default(),
            unconfirmed_ids: Mutex::new(Vec::new()),
            report: Final::new(),
        }
    }

    fn stats(&self) -> InboundStats {
        InboundStats {
            received: self.received.get(),
            delivered: self.delivered.get(),
            acked: self.acked.get(),
            nacked: self.nacked.get(),
            refused: self.refused.get(),
            duplicates: self.duplicates.get(),
            undecodable: self.undecodable.get(),
            unconfirmed: self.unconfirmed.get(),
            in_hand: self.in_hand.get(),
        }
    }
}

/// How the server is told what became of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Handled (or a duplicate of a handled one): remove it.
    Ack,
    /// Not handled: deliver it again, after the delay if any.
    Nak(Option<Duration>),
    /// Cannot ever be handled: do not deliver it again.
    Term,
}

impl Verdict {
    fn payload(self) -> Bytes {
        match self {
            Self::Ack => AckKind::Ack.into(),
            Self::Nak(delay) => AckKind::Nak(delay).into(),
            Self::Term => AckKind::Term.into(),
        }
    }
}

/// Why a message is being settled, which says which figure it counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    Delivered,
    Refused,
    Duplicate,
    Undecodable,
}

/// A message on its way to being settled, with its place in the hand.
struct Held {
    message: Message,
    key: Arc<str>,
    reason: Reason,
    _room: Option<OwnedSemaphorePermit>,
}

/// A message being handled (its event delivered, the delivery not yet
/// resolved).
struct Handling {
    /// Where its acknowledgements go.
    reply: Option<async_nats::Subject>,
    /// When it arrived.
    since: tokio::time::Instant,
    /// Later copies of it, which share its outcome.
    copies: Vec<Held>,
}

/// What settling a message takes.
enum Job {
    /// Settle it as the delivery's outcome says, once it resolves.
    AfterDelivery(Held, Delivery),
    /// Settle it so.
    Now(Held, Verdict),
}

/// A settled message, back to the pulling loop.
struct Settled {
    key: Arc<str>,
    reason: Reason,
    verdict: Verdict,
    confirmed: bool,
}

/// How acknowledgements are sent.
struct Acker {
    client: Client,
    timeout: Duration,
    attempts: u32,
    redelivery_delay: Option<Duration>,
    actor: ActorId,
}

/// Settle one message: the future the pulling loop keeps for each message
/// it holds.
async fn settle(acker: Arc<Acker>, job: Job) -> Settled {
    match job {
        Job::AfterDelivery(held, delivery) => acker.after_delivery(held, delivery).await,
        Job::Now(held, verdict) => acker.finish(held, verdict).await,
    }
}

impl Acker {
    /// Send `verdict` for `message` as a request, so that the server's
    /// answer confirms it was recorded; retried up to the attempts allowed.
    async fn settle(&self, message: &Message, verdict: Verdict) -> bool {
        let Some(reply) = message.reply.clone() else {
            return false;
        };
        let payload = verdict.payload();
        for attempt in 1..=self.attempts {
            let request = Request::new()
                .payload(payload.clone())
                .timeout(Some(self.timeout));
            match self.client.send_request(reply.clone(), request).await {
                Ok(_) => return true,
                Err(error) => tracing::debug!(
                    bridge = %self.actor,
                    attempt,
                    ?verdict,
                    %error,
                    "acknowledgement not confirmed"
                ),
            }
        }
        false
    }

    /// Wait for the delivery, then settle the message as its outcome says.
    async fn after_delivery(&self, held: Held, delivery: Delivery) -> Settled {
        let outcome = delivery.await;
        let verdict = if outcome.is_handled() {
            Verdict::Ack
        } else {
            tracing::debug!(bridge = %self.actor, ?outcome, "not handled by every subscriber: nak");
            Verdict::Nak(self.redelivery_delay)
        };
        self.finish(held, verdict).await
    }

    async fn finish(&self, held: Held, verdict: Verdict) -> Settled {
        let confirmed = self.settle(&held.message, verdict).await;
        Settled {
            key: held.key,
            reason: held.reason,
            verdict,
            confirmed,
        }
    }
}

/// The message's id for de-duplication: its `Nats-Msg-Id`, or else its
/// stream sequence.
fn message_key(message: &Message) -> Arc<str> {
    if let Some(id) = message
        .headers
        .as_ref()
        .and_then(|headers| headers.get(NATS_MESSAGE_ID))
    {
        return id.as_str().into();
    }
    match message.info() {
        Ok(info) => format!("#{}", info.stream_sequence).into(),
        Err(_) => "#?".into(),
    }
}

/// The next message of the pull request that is out, if one is.
async fn next_message(
    batch: &mut Option<pull::Batch>,
) -> Option<Result<Message, async_nats::Error>> {
    match batch {
        Some(batch) => batch.next().await,
        None => std::future::pending().await,
    }
}

impl<E: Event, C: Codec<E>> InboundConsumer<E, C> {
    /// A handle on the bridge's figures and report.
    pub fn handle(&self) -> InboundHandle {
        self.bridge.handle()
    }

    /// Pull and deliver until the supervisor's shutdown starts; then stop
    /// pulling, settle every message held, flush the connection and return
    /// the report (see [`Inbound`], "Stopping"). Failures of the server
    /// while running (a pull that fails, a restart) are waited out and
    /// retried.
    ///
    /// Spawn it, and await it after the supervisor has stopped, before
    /// closing the connection.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping it before it returns leaves the messages
    /// it holds unacknowledged, so the server delivers them again after
    /// the consumer's ack wait.
    pub async fn run(self) -> InboundReport {
        let Self {
            bridge,
            consumer,
            client,
            ack_wait,
        } = self;
        let InboundBridge {
            ctx,
            settings,
            shared,
        } = bridge;
        let acker = Arc::new(Acker {
            client: client.clone(),
            timeout: settings.ack_timeout,
            attempts: settings.ack_attempts,
            redelivery_delay: settings.redelivery_delay,
            actor: shared.actor.clone(),
        });
        let hand = Arc::new(Semaphore::new(settings.max_in_hand));
        let want = settings.batch.min(settings.max_in_hand);
        // Wait until a pull can ask for at least half a batch, so that a
        // nearly full hand does not turn into pulls of one message each.
        let least = u32::try_from(want.div_ceil(2)).expect("validated against u32::MAX");
        let mut window = Window::new(settings.window);
        // Messages being handled, with the later copies that arrived
        // meanwhile.
        let mut handling: HashMap<Arc<str>, Handling> = HashMap::new();
        // Now and then, the server is told which messages are still being
        // handled, so a slow handler causes no redelivery: every third of
        // the ack wait, for those held at least that long (so each one is
        // told at most two thirds of the ack wait after it arrived).
        let keepalive_every = ack_wait / 3;
        let mut keepalive = tokio::time::interval_at(
            tokio::time::Instant::now() + keepalive_every,
            keepalive_every,
        );
        keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut settling = FuturesUnordered::new();
        let mut batch: Option<pull::Batch> = None;
        let mut batch_room: Option<OwnedSemaphorePermit> = None;
        let mut stopping = pin!(ctx.stopping());
        let mut stop_seen = ctx.is_stopping();
        let mut retry_after: Option<Duration> = None;
        // When the pull that is out expires on the server.
        let mut pull_ends: Option<tokio::time::Instant> = None;
        let mut pull_failures = 0u32;

        loop {
            tokio::select! {
                biased;
                () = &mut stopping, if !stop_seen => {
                    tracing::debug!(bridge = %shared.actor, "shutdown: no more pulls");
                    stop_seen = true;
                }
                Some(settled) = settling.next(), if !settling.is_empty() => {
                    let settled: Settled = settled;
                    shared.in_hand.sub(1);
                    if !settled.confirmed {
                        shared.unconfirmed.add(1);
                        tracing::warn!(
                            bridge = %shared.actor,
                            message = %settled.key,
                            verdict = ?settled.verdict,
                            "the server did not confirm the acknowledgement: the message may come again"
                        );
                        let mut ids = shared.unconfirmed_ids.lock().unwrap_or_else(|p| p.into_inner());
                        ids.push(settled.key.to_string());
                    }
                    match settled.reason {
                        Reason::Delivered => {
                            let handled = settled.verdict == Verdict::Ack;
                            if handled {
                                shared.acked.add(1);
                                window.insert(&settled.key);
                            } else {
                                shared.nacked.add(1);
                            }
                            // The copies that came while this one was being
                            // handled share its fate.
                            let copies = handling
                                .remove(&settled.key)
                                .map(|handling| handling.copies)
                                .unwrap_or_default();
                            for copy in copies {
                                let verdict = if handled { Verdict::Ack } else { settled.verdict };
                                settling.push(settle(Arc::clone(&acker), Job::Now(copy, verdict)));
                            }
                        }
                        Reason::Duplicate => {
                            if settled.verdict == Verdict::Ack {
                                shared.duplicates.add(1);
                            } else {
                                shared.nacked.add(1);
                            }
                        }
                        Reason::Refused => shared.refused.add(1),
                        Reason::Undecodable => shared.undecodable.add(1),
                    }
                }
                next = next_message(&mut batch), if batch.is_some() => match next {
                    Some(Ok(message)) => {
                        shared.received.add(1);
                        shared.in_hand.add(1);
                        // A pull never brings more than it asked for, so
                        // its room always has a place for the message.
                        let room = batch_room.as_mut().and_then(|room| room.split(1));
                        let key = message_key(&message);
                        if window.contains(&key) {
                            let held = Held { message, key, reason: Reason::Duplicate, _room: room };
                            settling.push(settle(Arc::clone(&acker), Job::Now(held, Verdict::Ack)));
                            continue;
                        }
                        if let Some(first) = handling.get_mut(&key) {
                            first.copies.push(Held { message, key, reason: Reason::Duplicate, _room: room });
                            continue;
                        }
                        let event = match settings.codec.decode(&message.payload) {
                            Ok(event) => event,
                            Err(error) => {
                                tracing::warn!(
                                    bridge = %shared.actor,
                                    message = %key,
                                    %error,
                                    "undecodable payload: terminated"
                                );
                                let held = Held { message, key, reason: Reason::Undecodable, _room: room };
                                settling.push(settle(Arc::clone(&acker), Job::Now(held, Verdict::Term)));
                                continue;
                            }
                        };
                        match ctx.send_tracked(event).await {
                            Ok(delivery) => {
                                shared.delivered.add(1);
                                handling.insert(
                                    Arc::clone(&key),
                                    Handling {
                                        reply: message.reply.clone(),
                                        since: tokio::time::Instant::now(),
                                        copies: Vec::new(),
                                    },
                                );
                                let held = Held { message, key, reason: Reason::Delivered, _room: room };
                                settling.push(settle(Arc::clone(&acker), Job::AfterDelivery(held, delivery)));
                            }
                            Err(_refused) => {
                                // The supervisor is stopping: give the
                                // message back at once, for another
                                // process. Not to this one: the server
                                // would hand it to the pull still out, so
                                // it waits until that pull is over.
                                let rest = pull_ends
                                    .map(|ends| ends.saturating_duration_since(tokio::time::Instant::now()))
                                    .filter(|rest| !rest.is_zero())
                                    .map(|rest| rest + PULL_MARGIN);
                                let held = Held { message, key, reason: Reason::Refused, _room: room };
                                settling.push(settle(Arc::clone(&acker), Job::Now(held, Verdict::Nak(rest))));
                            }
                        }
                    }
                    Some(Err(error)) => {
                        tracing::warn!(bridge = %shared.actor, %error, "pull failed");
                        batch = None;
                        pull_ends = None;
                        batch_room = None;
                        pull_failures += 1;
                        retry_after = Some(backoff(pull_failures));
                    }
                    None => {
                        batch = None;
                        pull_ends = None;
                        // The room the pull did not use.
                        batch_room = None;
                    }
                },
                _ = keepalive.tick(), if !handling.is_empty() => {
                    let now = tokio::time::Instant::now();
                    for held in handling.values() {
                        if now.duration_since(held.since) < keepalive_every {
                            continue;
                        }
                        if let Some(reply) = &held.reply {
                            // Fire and forget: one lost only risks a
                            // redelivery, which the window (or the next
                            // consumer) handles.
                            let _ = client.publish(reply.clone(), AckKind::Progress.into()).await;
                        }
                    }
                }
                () = pause(retry_after), if retry_after.is_some() && batch.is_none() && !stop_seen => {
                    retry_after = None;
                }
                room = Arc::clone(&hand).acquire_many_owned(least),
                    if batch.is_none() && !stop_seen && retry_after.is_none() =>
                {
                    let mut room = room.expect("the semaphore is never closed");
                    // Take what else is free, up to a whole batch.
                    let mut extra = u32::try_from(want).unwrap_or(u32::MAX) - least;
                    while extra > 0 {
                        match Arc::clone(&hand).try_acquire_many_owned(extra) {
                            Ok(more) => {
                                room.merge(more);
                                break;
                            }
                            Err(_) => extra /= 2,
                        }
                    }
                    let asked = room.num_permits();
                    match consumer
                        .batch()
                        .max_messages(asked)
                        .expires(settings.pull_expiry)
                        .messages()
                        .await
                    {
                        Ok(pulled) => {
                            pull_failures = 0;
                            pull_ends = Some(tokio::time::Instant::now() + settings.pull_expiry);
                            batch = Some(pulled);
                            batch_room = Some(room);
                        }
                        Err(error) => {
                            tracing::warn!(bridge = %shared.actor, %error, "pull request failed");
                            pull_failures += 1;
                            retry_after = Some(backoff(pull_failures));
                        }
                    }
                }
                else => break,
            }
        }

        if let Err(error) = client.flush().await {
            tracing::warn!(bridge = %shared.actor, %error, "flushing the connection failed");
        }
        let unconfirmed = shared
            .unconfirmed_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let report = InboundReport {
            stats: shared.stats(),
            unconfirmed,
        };
        shared.report.set(report.clone());
        report
    }
}

/// Wait `after`, or forever if there is nothing to wait for.
async fn pause(after: Option<Duration>) {
    match after {
        Some(after) => tokio::time::sleep(after).await,
        None => std::future::pending().await,
    }
}

/// The wait before pulling again after `failures` failed pulls in a row.
fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(5);
    Duration::from_millis(50 << doublings).min(Duration::from_secs(1))
}
