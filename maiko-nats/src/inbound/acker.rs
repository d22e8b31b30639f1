//! How the inbound bridge settles a message with the server: the
//! acknowledgement (positive, negative or terminal) sent as a request and
//! retried with backoff until the server confirms it, and, for a payload
//! the codec rejected, its copy on the dead-letter subject first.

use std::{sync::Arc, time::Duration};

use async_nats::{
    Client, HeaderMap, Request, Subject,
    jetstream::{self, AckKind, Message, message::PublishMessage},
};
use bytes::Bytes;
use maiko_core::{ActorId, Delivery};

use crate::RetryPolicy;

/// The header of a dead-lettered copy that says why the original could
/// not be handled (the codec's error).
pub const DEAD_LETTER_REASON: &str = "Maiko-Dead-Letter-Reason";

/// The header of a dead-lettered copy that names the subject the original
/// was published to.
pub const DEAD_LETTER_SUBJECT: &str = "Maiko-Dead-Letter-Subject";

/// How the server is told what became of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
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
pub(super) enum Reason {
    /// Its event was published into the supervisor.
    Delivered,
    /// Given back unpublished: the supervisor is stopping.
    Refused,
    /// A copy of a message handled here, or in flight here.
    Duplicate,
    /// The codec rejected its payload.
    Undecodable,
}

/// A message in flight, on its way to being settled.
pub(super) struct Held {
    /// Its place among the messages in flight.
    pub(super) token: u64,
    /// Its id for de-duplication.
    pub(super) key: Arc<str>,
    pub(super) message: Message,
}

/// What settling a message takes.
pub(super) enum Job {
    /// Settle it as the delivery's outcome says, once it resolves.
    AfterDelivery(Delivery),
    /// Settle it so.
    Now(Verdict),
    /// Store a copy on the dead-letter subject, then terminate it.
    DeadLetter(String),
}

/// A settled message, back to the worker.
#[derive(Debug)]
pub(super) struct Settled {
    pub(super) token: u64,
    pub(super) key: Arc<str>,
    pub(super) reason: Reason,
    pub(super) verdict: Verdict,
    /// The server confirmed the verdict.
    pub(super) confirmed: bool,
    /// A copy is on the dead-letter subject.
    pub(super) dead_lettered: bool,
}

/// Sends the acknowledgements, shared by every settling future.
pub(super) struct Acker {
    pub(super) client: Client,
    pub(super) jetstream: jetstream::Context,
    pub(super) timeout: Duration,
    pub(super) retry: RetryPolicy,
    pub(super) redelivery_delay: Option<Duration>,
    pub(super) dead_letter: Option<Subject>,
    pub(super) actor: ActorId,
}

impl Acker {
    /// Settle `held` as `job` says: the future the worker keeps for each
    /// message until the server has confirmed what became of it.
    pub(super) async fn settle(self: Arc<Self>, held: Held, reason: Reason, job: Job) -> Settled {
        let mut dead_lettered = false;
        let verdict = match job {
            Job::Now(verdict) => verdict,
            Job::AfterDelivery(delivery) => {
                let outcome = delivery.await;
                if outcome.is_handled() {
                    Verdict::Ack
                } else {
                    tracing::debug!(bridge = %self.actor, ?outcome, "not handled by every subscriber: nak");
                    Verdict::Nak(self.redelivery_delay)
                }
            }
            Job::DeadLetter(why) => {
                dead_lettered = self.dead_letter(&held, &why).await;
                if dead_lettered {
                    Verdict::Term
                } else {
                    Verdict::Nak(self.redelivery_delay)
                }
            }
        };
        let confirmed = self.confirm(&held.message, verdict).await;
        Settled {
            token: held.token,
            key: held.key,
            reason,
            verdict,
            confirmed,
            dead_lettered,
        }
    }

    /// Send `verdict` for `message` as a request, so that the server's
    /// answer confirms it was recorded; sent again after the backoff as
    /// long as the retry policy allows (while the connection is
    /// re-established, the request waits in the client and goes out once
    /// it is back).
    async fn confirm(&self, message: &Message, verdict: Verdict) -> bool {
        let Some(reply) = message.reply.clone() else {
            return false;
        };
        let payload = verdict.payload();
        self.retry
            .until_ok(|attempt| {
                let request = Request::new()
                    .payload(payload.clone())
                    .timeout(Some(self.timeout));
                let reply = reply.clone();
                async move {
                    let answer = self.client.send_request(reply, request).await;
                    if let Err(error) = &answer {
                        tracing::debug!(
                            bridge = %self.actor, attempt, ?verdict, %error,
                            "acknowledgement not confirmed yet"
                        );
                    }
                    answer
                }
            })
            .await
            .is_ok()
    }

    /// Store a copy of `held` on the dead-letter subject, with the reason
    /// and the original subject in headers; `true` once the stream has
    /// acknowledged it.
    async fn dead_letter(&self, held: &Held, why: &str) -> bool {
        let Some(subject) = &self.dead_letter else {
            return false;
        };
        let mut headers = HeaderMap::new();
        // A header value is one line.
        headers.insert(DEAD_LETTER_REASON, why.replace(['\r', '\n'], " ").as_str());
        headers.insert(DEAD_LETTER_SUBJECT, held.message.subject.as_str());
        let id = format!("dead-letter:{}", held.key);
        let stored = self
            .retry
            .until_ok(|attempt| {
                let copy = PublishMessage::build()
                    .payload(held.message.payload.clone())
                    .headers(headers.clone())
                    .message_id(&id);
                async move {
                    let stored = match self.jetstream.send_publish(subject.clone(), copy).await {
                        Ok(ack) => ack.await,
                        Err(error) => Err(error),
                    };
                    if let Err(error) = &stored {
                        tracing::debug!(
                            bridge = %self.actor, attempt, %error,
                            "dead-letter copy not stored yet"
                        );
                    }
                    stored
                }
            })
            .await;
        match stored {
            Ok(_) => true,
            Err(error) => {
                tracing::warn!(
                    bridge = %self.actor,
                    message = %held.key,
                    %subject,
                    %error,
                    "the dead-letter copy was not stored: the message is given back"
                );
                false
            }
        }
    }
}
