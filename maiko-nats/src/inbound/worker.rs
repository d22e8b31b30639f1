//! The inbound bridge's worker: one task that pulls, publishes into the
//! supervisor, keeps what it holds alive and settles it, each step a
//! method, dispatched by a short `select!`.
//!
//! # Invariants
//!
//! - Every message pulled is in `held` until its settling future has
//!   returned (or the give-up time has passed): so every one of them gets
//!   keep-alives, and `held.len()` is the count in flight.
//! - A pull asks for at most `max_in_flight - held.len()` messages, and
//!   only one pull is out at a time: so `held.len() <= max_in_flight`.
//! - At most one message is being published (`publishing`); the others
//!   not yet published wait in `waiting`, in arrival order. Once the stop
//!   has started, `waiting` is empty and stays so.

use std::{
    collections::{HashMap, VecDeque},
    future::Future,
    pin::Pin,
    sync::Arc,
    time::Duration,
};

use async_nats::{
    Client, Subject,
    header::NATS_MESSAGE_ID,
    jetstream::{
        AckKind, Message,
        consumer::{
            PullConsumer,
            pull::{self, BatchError},
        },
    },
};
use futures_util::{StreamExt, stream::FuturesUnordered};
use maiko_core::{Context, Delivery, Event, SendError};
use tokio::{task::JoinHandle, time::Instant};

use super::{
    Shared,
    acker::{Acker, Held, Job, Reason, Settled, Verdict},
};
use crate::{Codec, InboundReport, window::Window};

/// Added to the time a pull has left, for a message given back during a
/// shutdown: the server's clock and this one are not read at the same
/// instant.
const PULL_MARGIN: Duration = Duration::from_millis(50);

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What a publish into the supervisor ends with.
type Published<E> = Result<Delivery, SendError<E>>;

/// A message in flight, as the keep-alives see it.
struct InFlight {
    key: Arc<str>,
    /// Where its acknowledgements go.
    reply: Option<Subject>,
    /// When it arrived.
    since: Instant,
}

/// What the worker is given to run.
pub(super) struct Parts<E, C> {
    pub(super) ctx: Context<E>,
    pub(super) codec: C,
    pub(super) shared: Arc<Shared>,
    pub(super) consumer: PullConsumer,
    pub(super) client: Client,
    pub(super) acker: Arc<Acker>,
    pub(super) window: usize,
    pub(super) max_in_flight: usize,
    pub(super) batch: usize,
    pub(super) pull_expiry: Duration,
    pub(super) ack_wait: Duration,
    /// How long after the stop starts unconfirmed acknowledgements are
    /// given up on.
    pub(super) give_up_after: Duration,
}

pub(super) struct Worker<E, C> {
    ctx: Context<E>,
    codec: C,
    shared: Arc<Shared>,
    consumer: PullConsumer,
    client: Client,
    acker: Arc<Acker>,
    window: Window,
    max_in_flight: usize,
    batch: usize,
    pull_expiry: Duration,
    keep_alive_every: Duration,
    give_up_after: Duration,
    /// Every message in flight, by token.
    held: HashMap<u64, InFlight>,
    next_token: u64,
    /// Decoded messages waiting for their turn to be published.
    waiting: VecDeque<(Held, E)>,
    /// The message being published (waiting for room in the supervisor).
    publishing: Option<(Held, BoxFuture<Published<E>>)>,
    /// The first copy of each message id in flight (its key), with the
    /// later copies that share its outcome.
    copies: HashMap<Arc<str>, Vec<Held>>,
    settling: FuturesUnordered<BoxFuture<Settled>>,
    /// A pull request on its way.
    requesting: Option<BoxFuture<Result<pull::Batch, BatchError>>>,
    /// The pull that is out, and when it expires on the server.
    pulled: Option<(pull::Batch, Instant)>,
    pull_failures: u32,
    retry_at: Option<Instant>,
    /// When the stop was seen.
    stopped_at: Option<Instant>,
    /// The keep-alives being sent.
    keeping_alive: Option<JoinHandle<()>>,
}

impl<E: Event, C: Codec<E>> Worker<E, C> {
    pub(super) fn new(parts: Parts<E, C>) -> Self {
        Self {
            ctx: parts.ctx,
            codec: parts.codec,
            shared: parts.shared,
            consumer: parts.consumer,
            client: parts.client,
            acker: parts.acker,
            window: Window::new(parts.window),
            max_in_flight: parts.max_in_flight,
            batch: parts.batch,
            pull_expiry: parts.pull_expiry,
            keep_alive_every: parts.ack_wait / 3,
            give_up_after: parts.give_up_after,
            held: HashMap::new(),
            next_token: 0,
            waiting: VecDeque::new(),
            publishing: None,
            copies: HashMap::new(),
            settling: FuturesUnordered::new(),
            requesting: None,
            pulled: None,
            pull_failures: 0,
            retry_at: None,
            stopped_at: None,
            keeping_alive: None,
        }
    }

    pub(super) async fn run(mut self) -> InboundReport {
        let mut stopping = std::pin::pin!(self.ctx.stopping());
        let mut keep_alive = tokio::time::interval_at(
            Instant::now() + self.keep_alive_every,
            self.keep_alive_every,
        );
        keep_alive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        if self.ctx.is_stopping() {
            self.on_stop();
        }
        loop {
            self.pull();
            if self.is_done() {
                break;
            }
            let give_up_at = self.stopped_at.map(|at| at + self.give_up_after);
            tokio::select! {
                biased;
                () = &mut stopping, if self.stopped_at.is_none() => self.on_stop(),
                _ = keep_alive.tick(), if !self.held.is_empty() => self.keep_alive(),
                Some(settled) = self.settling.next(), if !self.settling.is_empty() => {
                    self.on_settled(settled);
                }
                published = published(&mut self.publishing), if self.publishing.is_some() => {
                    self.on_published(published);
                }
                next = next_message(&mut self.pulled), if self.pulled.is_some() => {
                    self.on_message(next);
                }
                answer = answered(&mut self.requesting), if self.requesting.is_some() => {
                    self.on_pull_answer(answer);
                }
                () = sleep_until(self.retry_at), if self.retry_at.is_some() => self.retry_at = None,
                () = sleep_until(give_up_at), if give_up_at.is_some() => {
                    self.give_up();
                    break;
                }
            }
        }
        self.finish().await
    }

    /// Stopped, with nothing in flight and no pull out.
    fn is_done(&self) -> bool {
        self.stopped_at.is_some()
            && self.held.is_empty()
            && self.pulled.is_none()
            && self.requesting.is_none()
    }

    /// Send a pull request if none is out and there is room in flight for
    /// at least half a batch (so that a nearly full bridge does not turn
    /// into pulls of one message each).
    fn pull(&mut self) {
        if self.stopped_at.is_some()
            || self.pulled.is_some()
            || self.requesting.is_some()
            || self.retry_at.is_some()
        {
            return;
        }
        let want = self.batch.min(self.max_in_flight);
        let room = self.max_in_flight.saturating_sub(self.held.len());
        if room < want.div_ceil(2) {
            return;
        }
        let asked = room.min(self.batch);
        let consumer = self.consumer.clone();
        let expiry = self.pull_expiry;
        self.requesting = Some(Box::pin(async move {
            consumer
                .batch()
                .max_messages(asked)
                .expires(expiry)
                .messages()
                .await
        }));
    }

    fn on_pull_answer(&mut self, answer: Result<pull::Batch, BatchError>) {
        self.requesting = None;
        match answer {
            Ok(batch) => {
                self.pull_failures = 0;
                self.pulled = Some((batch, Instant::now() + self.pull_expiry));
            }
            Err(error) => {
                tracing::warn!(bridge = %self.shared.actor, %error, "pull request failed");
                self.pull_failed();
            }
        }
    }

    fn pull_failed(&mut self) {
        self.pull_failures += 1;
        self.retry_at = Some(Instant::now() + backoff(self.pull_failures));
    }

    /// A message of the pull that is out (or its end).
    fn on_message(&mut self, next: Option<Result<Message, async_nats::Error>>) {
        let message = match next {
            Some(Ok(message)) => message,
            Some(Err(error)) => {
                tracing::warn!(bridge = %self.shared.actor, %error, "pull failed");
                self.pulled = None;
                self.pull_failed();
                return;
            }
            None => {
                self.pulled = None;
                return;
            }
        };
        self.shared.received.add(1);
        self.shared.in_hand.add(1);
        let key = message_key(&message);
        let token = self.next_token;
        self.next_token += 1;
        self.held.insert(
            token,
            InFlight {
                key: Arc::clone(&key),
                reply: message.reply.clone(),
                since: Instant::now(),
            },
        );
        let held = Held {
            token,
            key,
            message,
        };
        if self.window.contains(&held.key) {
            self.settle(held, Reason::Duplicate, Job::Now(Verdict::Ack));
            return;
        }
        if let Some(copies) = self.copies.get_mut(&held.key) {
            copies.push(held);
            return;
        }
        if self.stopped_at.is_some() {
            self.give_back(held);
            return;
        }
        match self.codec.decode(&held.message.payload) {
            Ok(event) => {
                self.copies.insert(Arc::clone(&held.key), Vec::new());
                self.waiting.push_back((held, event));
                self.publish_next();
            }
            Err(error) => {
                let dead_letter = self.acker.dead_letter.is_some();
                tracing::warn!(
                    bridge = %self.shared.actor,
                    message = %held.key,
                    %error,
                    dead_letter,
                    "undecodable payload: terminated"
                );
                let job = if dead_letter {
                    Job::DeadLetter(error.to_string())
                } else {
                    Job::Now(Verdict::Term)
                };
                self.settle(held, Reason::Undecodable, job);
            }
        }
    }

    /// Start publishing the next message waiting, if none is being
    /// published: a future of its own, so that nothing else waits for
    /// room in the supervisor.
    fn publish_next(&mut self) {
        if self.publishing.is_some() {
            return;
        }
        let Some((held, event)) = self.waiting.pop_front() else {
            return;
        };
        let ctx = self.ctx.clone();
        let publish = async move { ctx.send_tracked(event).await };
        // The event is published inside a span that continues the trace
        // the message carries, so maiko's spans of the publish and of the
        // handlers join it.
        #[cfg(feature = "otel")]
        let publish = {
            use tracing::Instrument as _;
            publish.instrument(crate::otel::receive_span(&held.message, &held.key))
        };
        self.publishing = Some((held, Box::pin(publish)));
    }

    fn on_published(&mut self, (held, published): (Held, Published<E>)) {
        match published {
            Ok(delivery) => {
                self.shared.delivered.add(1);
                self.settle(held, Reason::Delivered, Job::AfterDelivery(delivery));
            }
            // The supervisor is stopping.
            Err(_refused) => self.give_back(held),
        }
        self.publish_next();
    }

    /// The shutdown has started: no more pulls, and what was not published
    /// goes back to the server at once.
    fn on_stop(&mut self) {
        tracing::debug!(bridge = %self.shared.actor, "shutdown: no more pulls");
        self.stopped_at = Some(Instant::now());
        while let Some((held, _event)) = self.waiting.pop_front() {
            self.give_back(held);
        }
    }

    /// Give back a message that was not published, for another process.
    /// Not to this one: the server would hand it to the pull still out, so
    /// it waits until that pull is over.
    fn give_back(&mut self, held: Held) {
        let rest = self
            .pulled
            .as_ref()
            .map(|(_, ends)| ends.saturating_duration_since(Instant::now()))
            .filter(|rest| !rest.is_zero())
            .map(|rest| rest + PULL_MARGIN);
        self.settle(held, Reason::Refused, Job::Now(Verdict::Nak(rest)));
    }

    fn settle(&mut self, held: Held, reason: Reason, job: Job) {
        let acker = Arc::clone(&self.acker);
        self.settling
            .push(Box::pin(acker.settle(held, reason, job)));
    }

    /// The server has confirmed (or never did) what became of a message.
    fn on_settled(&mut self, settled: Settled) {
        self.held.remove(&settled.token);
        self.shared.count(&settled);
        if !matches!(settled.reason, Reason::Delivered | Reason::Refused) {
            return;
        }
        let handled = settled.reason == Reason::Delivered && settled.verdict == Verdict::Ack;
        if handled {
            self.window.insert(&settled.key);
        }
        // The copies that came while this one was in flight share its
        // fate.
        let copies = self.copies.remove(&settled.key).unwrap_or_default();
        let verdict = if handled {
            Verdict::Ack
        } else {
            settled.verdict
        };
        for copy in copies {
            self.settle(copy, Reason::Duplicate, Job::Now(verdict));
        }
    }

    /// Tell the server that every message held for a while is still being
    /// worked on. Sent by a task of its own, so that a connection that is
    /// away holds up nothing else; skipped while the last round is still
    /// going out.
    fn keep_alive(&mut self) {
        if self
            .keeping_alive
            .as_ref()
            .is_some_and(|task| !task.is_finished())
        {
            return;
        }
        let now = Instant::now();
        let replies: Vec<Subject> = self
            .held
            .values()
            .filter(|held| now.duration_since(held.since) >= self.keep_alive_every)
            .filter_map(|held| held.reply.clone())
            .collect();
        if replies.is_empty() {
            return;
        }
        let client = self.client.clone();
        self.keeping_alive = Some(tokio::spawn(async move {
            for reply in replies {
                // Fire and forget: one lost only risks a redelivery, which
                // the window (or the next consumer) handles.
                let _ = client.publish(reply, AckKind::Progress.into()).await;
            }
        }));
    }

    /// The stop's deadline has passed with acknowledgements still
    /// unconfirmed: name them in the report; the server delivers them
    /// again.
    fn give_up(&mut self) {
        self.settling.clear();
        for (_, held) in self.held.drain() {
            tracing::warn!(
                bridge = %self.shared.actor,
                message = %held.key,
                "the shutdown deadline passed before the server confirmed the acknowledgement: \
                 the message may come again"
            );
            self.shared.in_hand.sub(1);
            self.shared.unconfirmed(&held.key);
        }
    }

    async fn finish(mut self) -> InboundReport {
        if let Some(task) = self.keeping_alive.take() {
            task.abort();
        }
        if let Err(error) = self.client.flush().await {
            tracing::warn!(bridge = %self.shared.actor, %error, "flushing the connection failed");
        }
        self.shared.finish()
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

/// The next message of the pull that is out.
async fn next_message(
    pulled: &mut Option<(pull::Batch, Instant)>,
) -> Option<Result<Message, async_nats::Error>> {
    match pulled {
        Some((batch, _)) => batch.next().await,
        None => std::future::pending().await,
    }
}

/// The outcome of the publish under way, with its message.
async fn published<E>(
    publishing: &mut Option<(Held, BoxFuture<Published<E>>)>,
) -> (Held, Published<E>) {
    let result = match publishing {
        Some((_, publish)) => publish.await,
        None => std::future::pending().await,
    };
    let (held, _) = publishing.take().expect("polled only while publishing");
    (held, result)
}

/// The server's answer to the pull request on its way.
async fn answered(
    requesting: &mut Option<BoxFuture<Result<pull::Batch, BatchError>>>,
) -> Result<pull::Batch, BatchError> {
    match requesting {
        Some(request) => request.await,
        None => std::future::pending().await,
    }
}

/// Wait until `at`, or forever if there is nothing to wait for.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The wait before pulling again after `failures` failed pulls in a row.
fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(5);
    Duration::from_millis(50 << doublings).min(Duration::from_secs(1))
}
