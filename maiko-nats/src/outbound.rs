//! The outbound bridge: events of chosen topics published to JetStream,
//! each one handled only once the stream has acknowledged it.

use std::{
    collections::HashSet,
    fmt,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_nats::{
    HeaderMap, Subject,
    header::NATS_MESSAGE_ID,
    jetstream::{
        self,
        context::{PublishAckFuture, PublishError, PublishErrorKind},
        message::PublishMessage,
    },
};
use bytes::Bytes;
use futures_util::{StreamExt, stream::FuturesUnordered};
use maiko_core::{
    Actor, ActorId, Completion, Context, Envelope, Event, EventId, Subscribe, Supervisor, Topic,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use crate::{
    Codec, Error, Json, OutboundReport, OutboundStats, PublishFailure, RetryPolicy,
    inbound::INBOUND_ACTOR_PREFIX,
    report::{Counter, Final},
};

type SubjectFn<E> = Arc<dyn Fn(&E) -> String + Send + Sync>;

/// Settings of an outbound bridge: which subject each event goes to, how
/// it is encoded, how many acknowledgements may be awaited at once, and how
/// failures are retried. [`attach`](Self::attach) registers the bridge on
/// a supervisor.
///
/// # How an event crosses
///
/// The bridge is an actor (named `nats-out` unless
/// [`with_name`](Self::with_name) says otherwise) subscribed to the topics
/// given to `attach`. For each event its handler:
///
/// 1. waits for room among the acknowledgements in flight (at most
///    [`with_max_in_flight`](Self::with_max_in_flight); while the bound is
///    reached the bridge takes no further event, so its mailbox fills and
///    publishers wait, as with any slow subscriber);
/// 2. defers the event ([`Context::defer`]), encodes it, and publishes it
///    to the subject with the header `Nats-Msg-Id` set to the event's id
///    (and, with the `otel` feature, the trace context of the event: see
///    "Tracing" below);
/// 3. hands the [`Completion`] and the acknowledgement future to the
///    bridge's confirming task, and returns: the next event is published
///    while this one's acknowledgement is on its way.
///
/// The confirming task completes the event when the stream acknowledges
/// it: only then does it count as handled (a
/// [`Delivery`](maiko_core::Delivery) of it resolves, and the shutdown's
/// drain stops waiting for it). A transient failure (no acknowledgement in
/// time, a broken connection, a server restarting) is retried with the
/// same message id, so a publish that was stored although its
/// acknowledgement was lost is not stored twice; the stream discards the
/// duplicate within its duplicate window (two minutes by default). A
/// permanent failure (the stream refused the message, it was too large,
/// the codec failed, the attempts allowed by the [`RetryPolicy`] ran out)
/// fails the completion: the event counts as lost, never as handled, and
/// is named in the [`OutboundReport`] and in a warning.
///
/// Events are published in the order the bridge receives them; a retried
/// one may be stored after events published later.
///
/// # Stopping
///
/// Nothing special is needed: the supervisor's drain waits for deferred
/// events, so `stop()` returns once every event the bridge took has been
/// confirmed (or failed). If the shutdown deadline passes first, the events
/// still waiting count as abandoned in maiko's shutdown report, and the
/// bridge's report ([`OutboundHandle::finished`]) names them as
/// unconfirmed, with a warning for each.
///
/// # Tracing
///
/// With the `otel` feature, the bridge writes the OpenTelemetry context
/// of the span its handler runs in (maiko's `maiko.process` span of the
/// event, whose trace is the publisher's) into the message's headers, as
/// W3C trace context (`traceparent`, and `tracestate` if the trace has
/// one). An [`Inbound`](crate::Inbound) bridge built with the feature
/// continues the trace. Nothing is written where no
/// `tracing-opentelemetry` layer is installed, or the span is disabled.
///
/// # Events that came from NATS
///
/// Events published into the supervisor by an [`Inbound`](crate::Inbound)
/// bridge carry that bridge's actor id (whose name starts with `nats-in:`);
/// the outbound bridge does not publish them back, unless
/// [`with_republish_inbound`](Self::with_republish_inbound) is set.
///
/// # Examples
///
/// ```no_run
/// use maiko::*;
/// use maiko_nats::Outbound;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Event, Clone, Debug, Serialize, Deserialize)]
/// struct Order {
///     id: u64,
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let client = async_nats::connect("127.0.0.1:4222").await?;
/// let jetstream = async_nats::jetstream::new(client);
///
/// let mut sup = Supervisor::<Order>::default();
/// let bridge = Outbound::new(jetstream, |order: &Order| format!("orders.{}", order.id % 8))
///     .with_max_in_flight(512)
///     .attach(&mut sup, [DefaultTopic])?;
/// sup.start().await?;
///
/// sup.send(Order { id: 1 }).await?;
/// sup.stop().await?; // returns once the stream has acknowledged order 1
/// assert!(bridge.finished().await.is_clean());
/// # Ok(())
/// # }
/// ```
pub struct Outbound<E, C = Json> {
    jetstream: jetstream::Context,
    subject: SubjectFn<E>,
    codec: C,
    name: String,
    max_in_flight: usize,
    retry: RetryPolicy,
    republish_inbound: bool,
}

impl<E: Event> Outbound<E, Json> {
    /// An outbound bridge publishing through `jetstream`, each event to the
    /// subject `subject` gives it, encoded as JSON.
    ///
    /// Some stream must capture the subjects: JetStream answers a publish
    /// to a subject no stream captures as it answers while it is away, so
    /// the bridge retries it (see [`RetryPolicy`]). `subject` runs inside
    /// the bridge's handler and must not panic.
    pub fn new(
        jetstream: jetstream::Context,
        subject: impl Fn(&E) -> String + Send + Sync + 'static,
    ) -> Self {
        Self {
            jetstream,
            subject: Arc::new(subject),
            codec: Json,
            name: "nats-out".to_owned(),
            max_in_flight: 256,
            retry: RetryPolicy::default(),
            republish_inbound: false,
        }
    }
}

impl<E: Event, C: Codec<E>> Outbound<E, C> {
    /// Encode events with `codec` instead of JSON.
    pub fn with_codec<C2: Codec<E>>(self, codec: C2) -> Outbound<E, C2> {
        Outbound {
            jetstream: self.jetstream,
            subject: self.subject,
            codec,
            name: self.name,
            max_in_flight: self.max_in_flight,
            retry: self.retry,
            republish_inbound: self.republish_inbound,
        }
    }

    /// The name of the bridge's actor (`nats-out` by default): in maiko's
    /// shutdown report, and needed to register two outbound bridges on
    /// one supervisor.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// At most this many events awaiting their acknowledgement at once
    /// (256 by default). More pipelines deeper over a slow link; fewer
    /// holds fewer events in the air when the server goes away.
    #[must_use]
    pub fn with_max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = max;
        self
    }

    /// How transient failures are retried (by default: with backoff, until
    /// confirmed or the shutdown deadline passes).
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Also publish events that came in through an inbound bridge (off by
    /// default, so that a process bridging one stream both ways does not
    /// echo what it receives). Turn it on to pass events on from one stream
    /// to another.
    #[must_use]
    pub fn with_republish_inbound(mut self, republish: bool) -> Self {
        self.republish_inbound = republish;
        self
    }

    /// Register the bridge's actor on `supervisor`, subscribed to `topics`.
    /// Call it before [`Supervisor::start`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a zero in-flight bound or an unusable
    /// [`RetryPolicy`]; [`Error::Runtime`] if the supervisor refused the
    /// actor (it has started, or the name is taken).
    pub fn attach<T: Topic<E>>(
        self,
        supervisor: &mut Supervisor<E, T>,
        topics: impl Into<Subscribe<E, T>>,
    ) -> Result<OutboundHandle, Error> {
        if self.max_in_flight == 0 {
            return Err(Error::InvalidConfig(
                "Outbound::with_max_in_flight(0): at least one acknowledgement must be allowed in flight",
            ));
        }
        // The semaphore's limit.
        if self.max_in_flight > Semaphore::MAX_PERMITS {
            return Err(Error::InvalidConfig(
                "Outbound::with_max_in_flight: more than the largest bound supported",
            ));
        }
        self.retry.validate()?;
        let shared = Arc::new(Shared::new(ActorId::new(&self.name)));
        let Self {
            jetstream,
            subject,
            codec,
            name,
            max_in_flight,
            retry,
            republish_inbound,
        } = self;
        let actor_shared = Arc::clone(&shared);
        supervisor.add_actor(
            &name,
            move |ctx| Bridge {
                ctx,
                jetstream,
                subject,
                codec,
                permits: Arc::new(Semaphore::new(max_in_flight)),
                retry,
                republish_inbound,
                shared: actor_shared,
                confirming: None,
            },
            topics,
        )?;
        Ok(OutboundHandle { shared })
    }
}

impl<E, C> fmt::Debug for Outbound<E, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbound")
            .field("name", &self.name)
            .field("max_in_flight", &self.max_in_flight)
            .field("retry", &self.retry)
            .field("republish_inbound", &self.republish_inbound)
            .finish_non_exhaustive()
    }
}

/// A handle on a registered outbound bridge: its live figures, and its
/// report once it has stopped. Cheap to clone. The counterpart of
/// [`InboundHandle`](crate::InboundHandle).
#[derive(Clone)]
pub struct OutboundHandle {
    shared: Arc<Shared>,
}

/// The former name of [`OutboundHandle`].
#[deprecated(
    since = "0.4.1",
    note = "renamed to `OutboundHandle`, like `InboundHandle`"
)]
pub type OutboundBridge = OutboundHandle;

impl OutboundHandle {
    /// The bridge's actor.
    pub fn actor_id(&self) -> &ActorId {
        &self.shared.actor
    }

    /// The figures so far.
    pub fn stats(&self) -> OutboundStats {
        self.shared.stats()
    }

    /// The report, if the bridge has stopped.
    pub fn report(&self) -> Option<OutboundReport> {
        self.shared.report.get()
    }

    /// Wait until the bridge's actor has stopped (at the end of the
    /// supervisor's shutdown) and return its report. Never resolves if the
    /// supervisor is neither started nor dropped.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn finished(&self) -> OutboundReport {
        self.shared.report.wait().await
    }
}

impl fmt::Debug for OutboundHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundHandle")
            .field("actor", &self.shared.actor)
            .field("stats", &self.stats())
            .finish()
    }
}

/// What the bridge's actor, its confirming task and its handles share.
struct Shared {
    actor: ActorId,
    published: Counter,
    confirmed: Counter,
    duplicates: Counter,
    retries: Counter,
    failed: Counter,
    in_flight: Counter,
    skipped_inbound: Counter,
    failures: Mutex<Vec<PublishFailure>>,
    /// When the last warning about a transient failure was logged: they
    /// come in bursts (every event in flight when a server goes away), so
    /// at most one a second is logged.
    warned_at: Mutex<Option<Instant>>,
    report: Final<OutboundReport>,
}

impl Shared {
    fn new(actor: ActorId) -> Self {
        Self {
            actor,
            published: Counter::default(),
            confirmed: Counter::default(),
            duplicates: Counter::default(),
            retries: Counter::default(),
            failed: Counter::default(),
            in_flight: Counter::default(),
            skipped_inbound: Counter::default(),
            failures: Mutex::new(Vec::new()),
            warned_at: Mutex::new(None),
            report: Final::new(),
        }
    }

    fn stats(&self) -> OutboundStats {
        OutboundStats {
            published: self.published.get(),
            confirmed: self.confirmed.get(),
            duplicates: self.duplicates.get(),
            retries: self.retries.get(),
            failed: self.failed.get(),
            in_flight: self.in_flight.get(),
            skipped_inbound: self.skipped_inbound.get(),
        }
    }

    fn record_failure(&self, event: EventId, subject: &str, reason: String) {
        tracing::warn!(
            bridge = %self.actor,
            event = %event,
            subject,
            %reason,
            "publish failed: the event is not in the stream"
        );
        self.failed.add(1);
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() < OutboundReport::FAILURES_KEPT {
            failures.push(PublishFailure {
                event,
                subject: subject.to_owned(),
                reason,
            });
        }
    }

    fn note_transient(&self, event: EventId, attempt: u32, error: &PublishError) {
        tracing::debug!(bridge = %self.actor, event = %event, attempt, %error, "publish will be retried");
        let now = Instant::now();
        let mut warned_at = self.warned_at.lock().unwrap_or_else(|p| p.into_inner());
        if warned_at.is_none_or(|at| now.duration_since(at) >= Duration::from_secs(1)) {
            *warned_at = Some(now);
            tracing::warn!(
                bridge = %self.actor,
                in_flight = self.in_flight.get(),
                %error,
                "publishes are failing for now; retrying with the same message ids"
            );
        }
    }

    fn finish(&self, unconfirmed: Vec<EventId>) {
        for id in &unconfirmed {
            tracing::warn!(
                bridge = %self.actor,
                event = %id,
                "stopped before the stream acknowledged this event: it may or may not be stored"
            );
        }
        let failed = self
            .failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let report = OutboundReport {
            stats: self.stats(),
            unconfirmed,
            failed,
        };
        self.report.set(report);
    }
}

/// One event on its way to the stream.
struct Outgoing {
    id: EventId,
    /// `Nats-Msg-Id` (the event's id), and with the `otel` feature the
    /// trace context: the same on every attempt.
    headers: HeaderMap,
    subject: Subject,
    payload: Bytes,
}

impl Outgoing {
    async fn publish(
        &self,
        jetstream: &jetstream::Context,
    ) -> Result<PublishAckFuture, PublishError> {
        jetstream
            .send_publish(
                Subject::clone(&self.subject),
                PublishMessage::build()
                    .payload(self.payload.clone())
                    .headers(self.headers.clone()),
            )
            .await
    }
}

/// What the confirming task holds for an event until its acknowledgement:
/// the event's completion, and its place among the events in flight.
struct InFlight {
    outgoing: Outgoing,
    first: Option<Result<PublishAckFuture, PublishError>>,
    completion: Completion,
    _permit: OwnedSemaphorePermit,
}

enum Confirmation {
    Stored { duplicate: bool },
    Failed(String),
}

/// Whether a publish that failed this way may succeed if sent again.
fn is_transient(error: &PublishError) -> bool {
    use std::error::Error as _;
    match error.kind() {
        PublishErrorKind::TimedOut
        | PublishErrorKind::BrokenPipe
        | PublishErrorKind::MaxAckPending
        // "No responders": no stream answered, which is also what a
        // server that is starting, or a connection that is away, looks
        // like.
        | PublishErrorKind::StreamNotFound => true,
        PublishErrorKind::WrongLastMessageId
        | PublishErrorKind::WrongLastSequence
        | PublishErrorKind::MaxPayloadExceeded => false,
        PublishErrorKind::Other => match error.source() {
            // The stream answered with an error: only "temporarily
            // unavailable" is worth another try.
            Some(source) if source.is::<jetstream::Error>() => source
                .downcast_ref::<jetstream::Error>()
                .is_some_and(|api| api.code() == 503),
            Some(source) if source.is::<async_nats::SubjectError>() => false,
            // The client could not send (it is closing, or its buffer is
            // full for too long), or the answer was garbled.
            _ => true,
        },
    }
}

/// Confirm one event: await its acknowledgement; after a transient
/// failure, publish it again as the retry policy allows (in a future of its
/// own, so that the common case stays small).
async fn confirm(
    mut flight: InFlight,
    jetstream: Arc<jetstream::Context>,
    retry: RetryPolicy,
    shared: Arc<Shared>,
) -> (InFlight, Confirmation) {
    let first = match flight.first.take() {
        Some(Ok(ack)) => ack.await,
        Some(Err(error)) => Err(error),
        None => return Box::pin(retrying(flight, None, jetstream, retry, shared)).await,
    };
    match first {
        Ok(ack) => (
            flight,
            Confirmation::Stored {
                duplicate: ack.duplicate,
            },
        ),
        Err(error) => Box::pin(retrying(flight, Some(error), jetstream, retry, shared)).await,
    }
}

/// The rest of [`confirm`], after the first attempt failed with `error`.
async fn retrying(
    flight: InFlight,
    mut error: Option<PublishError>,
    jetstream: Arc<jetstream::Context>,
    retry: RetryPolicy,
    shared: Arc<Shared>,
) -> (InFlight, Confirmation) {
    let mut attempt = 1;
    loop {
        if let Some(failure) = error.take() {
            if !is_transient(&failure) {
                return (flight, Confirmation::Failed(failure.to_string()));
            }
            if !retry.allows_another(attempt) {
                let reason = format!("gave up after {attempt} attempts: {failure}");
                return (flight, Confirmation::Failed(reason));
            }
            shared.note_transient(flight.outgoing.id, attempt, &failure);
            tokio::time::sleep(retry.backoff(attempt)).await;
            attempt += 1;
            shared.retries.add(1);
        }
        let result = match flight.outgoing.publish(&jetstream).await {
            Ok(ack) => ack.await,
            Err(failure) => Err(failure),
        };
        match result {
            Ok(ack) => {
                return (
                    flight,
                    Confirmation::Stored {
                        duplicate: ack.duplicate,
                    },
                );
            }
            Err(failure) => error = Some(failure),
        }
    }
}

/// The confirming task: awaits the acknowledgements of the events in
/// flight, concurrently, and settles each event's completion. Ends when
/// the actor has let go of it and nothing is left in flight, or when told
/// to stop (or the actor is gone): then what is left is unconfirmed.
async fn confirming(
    mut taken: mpsc::UnboundedReceiver<InFlight>,
    mut stop: oneshot::Receiver<()>,
    jetstream: jetstream::Context,
    retry: RetryPolicy,
    shared: Arc<Shared>,
) {
    let jetstream = Arc::new(jetstream);
    let mut pending = FuturesUnordered::new();
    let mut waiting: HashSet<EventId> = HashSet::new();
    let mut open = true;
    loop {
        tokio::select! {
            biased;
            _ = &mut stop => break,
            Some((flight, confirmation)) = pending.next(), if !pending.is_empty() => {
                let flight: InFlight = flight;
                let id = flight.outgoing.id;
                waiting.remove(&id);
                // Counted before the completion settles, so that once the
                // supervisor's drain is over, the figures are final.
                shared.in_flight.sub(1);
                match confirmation {
                    Confirmation::Stored { duplicate } => {
                        shared.confirmed.add(1);
                        if duplicate {
                            shared.duplicates.add(1);
                        }
                        flight.completion.complete();
                    }
                    Confirmation::Failed(reason) => {
                        shared.record_failure(id, flight.outgoing.subject.as_str(), reason.clone());
                        flight.completion.fail(reason);
                    }
                }
            }
            received = taken.recv(), if open => match received {
                Some(flight) => {
                    waiting.insert(flight.outgoing.id);
                    pending.push(confirm(
                        flight,
                        Arc::clone(&jetstream),
                        retry,
                        Arc::clone(&shared),
                    ));
                }
                None => open = false,
            },
            else => break,
        }
    }
    // Anything still waiting was cut off (the shutdown deadline, or the
    // actor is gone): dropping it drops its completion, which the runtime
    // counts as abandoned.
    let mut unconfirmed: Vec<EventId> = waiting.into_iter().collect();
    unconfirmed.sort_unstable();
    shared
        .in_flight
        .sub(u64::try_from(unconfirmed.len()).unwrap_or(u64::MAX));
    drop(pending);
    shared.finish(unconfirmed);
}

/// The confirming task, as seen from the actor.
struct Confirming {
    hand_over: mpsc::UnboundedSender<InFlight>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

/// The bridge's actor.
struct Bridge<E, C> {
    ctx: Context<E>,
    jetstream: jetstream::Context,
    subject: SubjectFn<E>,
    codec: C,
    permits: Arc<Semaphore>,
    retry: RetryPolicy,
    republish_inbound: bool,
    shared: Arc<Shared>,
    confirming: Option<Confirming>,
}

impl<E: Event, C: Codec<E>> Actor for Bridge<E, C> {
    type Event = E;

    async fn on_start(&mut self) -> maiko_core::Result {
        let (hand_over, taken) = mpsc::unbounded_channel();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(confirming(
            taken,
            stopped,
            self.jetstream.clone(),
            self.retry,
            Arc::clone(&self.shared),
        ));
        self.confirming = Some(Confirming {
            hand_over,
            stop,
            task,
        });
        Ok(())
    }

    async fn handle_event(&mut self, envelope: &Envelope<E>) -> maiko_core::Result {
        if !self.republish_inbound
            && envelope
                .meta()
                .actor_name()
                .starts_with(INBOUND_ACTOR_PREFIX)
        {
            self.shared.skipped_inbound.add(1);
            return Ok(());
        }
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let completion = self.ctx.defer();
        let id = envelope.id();
        let payload = match self.codec.encode(envelope.event()) {
            Ok(bytes) => Bytes::from(bytes),
            Err(error) => {
                self.shared.record_failure(id, "", error.to_string());
                completion.fail(error);
                return Ok(());
            }
        };
        let mut headers = HeaderMap::new();
        headers.insert(NATS_MESSAGE_ID, id.to_string());
        // The context of the span this handler runs in: the event's, so
        // the trace goes on where the message is received.
        #[cfg(feature = "otel")]
        crate::otel::inject_current(&mut headers);
        let outgoing = Outgoing {
            id,
            headers,
            subject: Subject::from((self.subject)(envelope.event())),
            payload,
        };
        let first = outgoing.publish(&self.jetstream).await;
        self.shared.published.add(1);
        self.shared.in_flight.add(1);
        let flight = InFlight {
            outgoing,
            first: Some(first),
            completion,
            _permit: permit,
        };
        let handed = match &self.confirming {
            Some(confirming) => confirming.hand_over.send(flight).map_err(|e| e.0),
            None => Err(flight),
        };
        if let Err(flight) = handed {
            // Only if the confirming task is gone (it panicked): nothing
            // can confirm this event any more.
            self.shared.in_flight.sub(1);
            let reason = "the bridge's confirming task has ended".to_owned();
            self.shared
                .record_failure(id, flight.outgoing.subject.as_str(), reason.clone());
            flight.completion.fail(reason);
        }
        Ok(())
    }

    async fn on_shutdown(&mut self) -> maiko_core::Result {
        let Some(Confirming {
            hand_over,
            stop,
            task,
        }) = self.confirming.take()
        else {
            return Ok(());
        };
        drop(hand_over);
        if self.ctx.is_stopping() {
            // The supervisor's drain is over: it waited for every deferred
            // event, so nothing is left in flight unless the deadline cut
            // the drain short, and then what is left is unconfirmed.
            let _ = stop.send(());
            let _ = task.await;
        } else {
            // The actor stopped on its own (it failed) while the runtime
            // goes on: let what is in flight be confirmed (the task ends
            // when nothing is left, since the hand-over is closed).
            let _ = task.await;
            drop(stop);
        }
        Ok(())
    }
}

impl<E, C> Drop for Bridge<E, C> {
    fn drop(&mut self) {
        // Never started (the supervisor was dropped or stopped before its
        // start): report that nothing was done.
        if self.confirming.is_none() && !self.shared.report.is_set() {
            self.shared.finish(Vec::new());
        }
    }
}
