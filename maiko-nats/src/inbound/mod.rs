//! The inbound bridge: messages of a durable JetStream pull consumer
//! published into a supervisor, each one acknowledged only once every
//! subscriber has handled it.
//!
//! - `settings`: [`Inbound`], what a bridge is configured with, and its
//!   registration on a supervisor;
//! - this file: the bridge once registered ([`InboundBridge`]), once bound
//!   to its consumer ([`InboundConsumer`]), its handle and its figures;
//! - `worker`: the task that pulls, publishes, keeps alive and settles;
//! - `acker`: how a message is settled with the server.

mod acker;
mod settings;
mod worker;

use std::{
    fmt,
    marker::PhantomData,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_nats::jetstream::{
    self,
    consumer::{AckPolicy, PullConsumer},
};
use maiko_core::{Actor, ActorId, Context, Event};

pub use acker::{DEAD_LETTER_REASON, DEAD_LETTER_SUBJECT};
pub use settings::Inbound;

use crate::{
    Codec, Error, InboundReport, InboundStats, Json,
    report::{Counter, Final},
};
use acker::{Acker, Reason, Settled, Verdict};
use worker::{Parts, Worker};

/// The name of every inbound bridge's actor starts with this; the outbound
/// bridge recognises the events they publish by it.
pub(crate) const INBOUND_ACTOR_PREFIX: &str = "nats-in:";

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
    /// The supervisor's shutdown deadline and grace.
    shutdown: Duration,
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

    /// The bound on messages in flight (the default settled by
    /// [`Inbound::attach`]: see [`Inbound::with_max_in_flight`]).
    pub fn max_in_flight(&self) -> usize {
        self.settings.max_in_flight()
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
            jetstream: jetstream.clone(),
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
    jetstream: jetstream::Context,
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

impl<E: Event, C: Codec<E>> InboundConsumer<E, C> {
    /// A handle on the bridge's figures and report.
    pub fn handle(&self) -> InboundHandle {
        self.bridge.handle()
    }

    /// Pull and deliver until the supervisor's shutdown starts; then stop
    /// pulling, give back what was not published, settle every message in
    /// flight, flush the connection and return the report (see
    /// [`Inbound`], "Stopping"). Failures of the server while running (a
    /// pull that fails, a restart) are waited out and retried.
    ///
    /// Spawn it, and await it after the supervisor has stopped, before
    /// closing the connection.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping it before it returns leaves the messages
    /// in flight unacknowledged, so the server delivers them again after
    /// the consumer's ack wait.
    pub async fn run(self) -> InboundReport {
        let Self {
            bridge,
            consumer,
            jetstream,
            ack_wait,
        } = self;
        let InboundBridge {
            ctx,
            settings,
            shared,
            shutdown,
        } = bridge;
        let client = jetstream.client();
        let max_in_flight = settings.max_in_flight();
        let acker = Arc::new(Acker {
            client: client.clone(),
            jetstream,
            timeout: settings.ack_timeout,
            retry: settings.ack_retry,
            redelivery_delay: settings.redelivery_delay,
            dead_letter: settings.dead_letter.map(Into::into),
            actor: shared.actor.clone(),
        });
        Worker::new(Parts {
            ctx,
            codec: settings.codec,
            shared,
            consumer,
            client,
            acker,
            window: settings.window,
            max_in_flight,
            batch: settings.batch,
            pull_expiry: settings.pull_expiry,
            ack_wait,
            give_up_after: shutdown + settings.ack_timeout,
        })
        .run()
        .await
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

/// What the worker and the handles share: the bridge's figures, and its
/// report once it has stopped.
struct Shared {
    actor: ActorId,
    received: Counter,
    delivered: Counter,
    acked: Counter,
    nacked: Counter,
    refused: Counter,
    duplicates: Counter,
    undecodable: Counter,
    dead_lettered: Counter,
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
            dead_lettered: Counter::default(),
            unconfirmed: Counter::default(),
            in_hand: Counter::default(),
            unconfirmed_ids: Mutex::new(Vec::new()),
            report: Final::new(),
        }
    }

    /// The figures: the only place they are read.
    fn stats(&self) -> InboundStats {
        InboundStats {
            received: self.received.get(),
            delivered: self.delivered.get(),
            acked: self.acked.get(),
            nacked: self.nacked.get(),
            refused: self.refused.get(),
            duplicates: self.duplicates.get(),
            undecodable: self.undecodable.get(),
            dead_lettered: self.dead_lettered.get(),
            unconfirmed: self.unconfirmed.get(),
            in_hand: self.in_hand.get(),
        }
    }

    /// Count a settled message in the figure its reason and verdict say.
    fn count(&self, settled: &Settled) {
        self.in_hand.sub(1);
        if !settled.confirmed {
            tracing::warn!(
                bridge = %self.actor,
                message = %settled.key,
                verdict = ?settled.verdict,
                "the server did not confirm the acknowledgement: the message may come again"
            );
            self.unconfirmed(&settled.key);
        }
        let figure = match (settled.reason, settled.verdict) {
            (Reason::Delivered, Verdict::Ack) => &self.acked,
            (Reason::Duplicate, Verdict::Ack) => &self.duplicates,
            (Reason::Delivered | Reason::Duplicate, _) => &self.nacked,
            (Reason::Refused, _) => &self.refused,
            (Reason::Undecodable, _) => &self.undecodable,
        };
        figure.add(1);
        if settled.dead_lettered {
            self.dead_lettered.add(1);
        }
    }

    /// Count an acknowledgement never confirmed, and name its message.
    fn unconfirmed(&self, key: &str) {
        self.unconfirmed.add(1);
        let mut ids = self
            .unconfirmed_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        ids.push(key.to_owned());
    }

    /// The report, set for the handles and returned.
    fn finish(&self) -> InboundReport {
        let unconfirmed = self
            .unconfirmed_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let report = InboundReport {
            stats: self.stats(),
            unconfirmed,
        };
        self.report.set(report.clone());
        report
    }
}
