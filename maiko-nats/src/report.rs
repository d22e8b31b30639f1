//! What the bridges count while they run ([`OutboundStats`],
//! [`InboundStats`]) and what they report when they have stopped
//! ([`OutboundReport`], [`InboundReport`]).

use std::{
    fmt,
    sync::atomic::{AtomicU64, Ordering},
};

use maiko_core::EventId;

/// The outbound bridge's figures, live ([`OutboundHandle::stats`](crate::OutboundHandle::stats))
/// or final (in the [`OutboundReport`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutboundStats {
    /// Events published to JetStream (counted once, however often they
    /// were retried).
    pub published: u64,
    /// Events whose publish the stream acknowledged: these count as
    /// handled.
    pub confirmed: u64,
    /// Of the confirmed, those the stream acknowledged as duplicates: a
    /// retry of a publish that had been stored already.
    pub duplicates: u64,
    /// Publishes sent again after a transient failure.
    pub retries: u64,
    /// Events given up on (a permanent error, or the attempts ran out):
    /// counted as lost, never as handled.
    pub failed: u64,
    /// Events waiting for their acknowledgement now.
    pub in_flight: u64,
    /// Events not published because they came in through an inbound
    /// bridge (see [`Outbound::with_republish_inbound`](crate::Outbound::with_republish_inbound)).
    pub skipped_inbound: u64,
}

/// A publish the outbound bridge gave up on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PublishFailure {
    /// The event.
    pub event: EventId,
    /// The subject it was meant for (empty if encoding failed first).
    pub subject: String,
    /// Why it failed.
    pub reason: String,
}

/// What the outbound bridge did, once its actor has stopped
/// ([`OutboundHandle::finished`](crate::OutboundHandle::finished)).
///
/// `unconfirmed` names the events whose acknowledgement had not arrived
/// when the shutdown deadline ended the drain: they may or may not be in
/// the stream, and maiko's shutdown report counts them as abandoned.
/// `failed` names the events given up on (at most the first
/// [`FAILURES_KEPT`](Self::FAILURES_KEPT); `stats.failed` counts them all).
/// Its `Display` is meant for a log.
///
/// # Examples
///
/// ```
/// use maiko_nats::OutboundReport;
///
/// let nothing_done = OutboundReport::default();
/// assert!(nothing_done.is_clean());
/// assert!(nothing_done.to_string().starts_with("outbound: published 0"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutboundReport {
    /// The final figures.
    pub stats: OutboundStats,
    /// Events whose acknowledgement never arrived.
    pub unconfirmed: Vec<EventId>,
    /// Events whose publish failed.
    pub failed: Vec<PublishFailure>,
}

impl OutboundReport {
    /// How many failures are named in [`failed`](Self::failed).
    pub const FAILURES_KEPT: usize = 1000;

    /// `true` when every event the bridge took was confirmed by the
    /// stream.
    pub fn is_clean(&self) -> bool {
        self.unconfirmed.is_empty() && self.stats.failed == 0
    }
}

impl fmt::Display for OutboundReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        write!(
            f,
            "outbound: published {}, confirmed {} ({} as duplicates), retries {}, failed {}, \
             unconfirmed {}, skipped (came inbound) {}",
            s.published,
            s.confirmed,
            s.duplicates,
            s.retries,
            s.failed,
            self.unconfirmed.len(),
            s.skipped_inbound
        )?;
        for id in &self.unconfirmed {
            write!(f, "\n  unconfirmed: {id}")?;
        }
        for failure in &self.failed {
            write!(
                f,
                "\n  failed: {} to '{}': {}",
                failure.event, failure.subject, failure.reason
            )?;
        }
        Ok(())
    }
}

/// The inbound bridge's figures, live ([`InboundHandle::stats`](crate::InboundHandle::stats))
/// or final (in the [`InboundReport`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InboundStats {
    /// Messages pulled from the consumer (redeliveries included).
    pub received: u64,
    /// Messages accepted by the supervisor's gate.
    pub delivered: u64,
    /// Messages handled by every subscriber and then acknowledged.
    pub acked: u64,
    /// Messages delivered but not handled by every subscriber (dropped,
    /// lost, interrupted or abandoned): negatively acknowledged, so the
    /// server delivers them again.
    pub nacked: u64,
    /// Messages the gate refused because the supervisor was stopping:
    /// negatively acknowledged at once, for another process to take.
    pub refused: u64,
    /// Redeliveries of messages already handled here (their id was in the
    /// de-duplication window): acknowledged and not delivered again.
    pub duplicates: u64,
    /// Messages the codec could not decode: terminated on the server
    /// (after their copy was stored on the dead-letter subject, if one is
    /// set).
    pub undecodable: u64,
    /// Of the undecodable, those whose copy the dead-letter subject's
    /// stream stored (see [`Inbound::with_dead_letter_subject`](crate::Inbound::with_dead_letter_subject)).
    pub dead_lettered: u64,
    /// Acknowledgements (positive or negative) the server did not confirm
    /// in time, after every attempt.
    pub unconfirmed: u64,
    /// Messages in flight: taken from the server, and their
    /// acknowledgement not confirmed yet.
    pub in_hand: u64,
}

/// What the inbound bridge did, once it has stopped
/// ([`InboundConsumer::run`](crate::InboundConsumer::run)). Its `Display`
/// is meant for a log.
///
/// # Examples
///
/// ```
/// use maiko_nats::InboundReport;
///
/// let report = InboundReport::default();
/// assert!(report.is_clean());
/// assert_eq!(report.stats.acked, 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InboundReport {
    /// The final figures.
    pub stats: InboundStats,
    /// The message ids (`Nats-Msg-Id`, or the stream sequence when there is
    /// none) whose acknowledgement the server never confirmed: the server
    /// may deliver them again (to this consumer or another).
    pub unconfirmed: Vec<String>,
}

impl InboundReport {
    /// `true` when every message taken was settled and the server
    /// confirmed every acknowledgement.
    pub fn is_clean(&self) -> bool {
        self.unconfirmed.is_empty() && self.stats.in_hand == 0
    }
}

impl fmt::Display for InboundReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        write!(
            f,
            "inbound: received {}, delivered {}, acked {}, nacked {}, refused while stopping {}, \
             duplicates {}, undecodable {} ({} dead-lettered), unconfirmed acks {}",
            s.received,
            s.delivered,
            s.acked,
            s.nacked,
            s.refused,
            s.duplicates,
            s.undecodable,
            s.dead_lettered,
            s.unconfirmed
        )?;
        for id in &self.unconfirmed {
            write!(f, "\n  unconfirmed ack: {id}")?;
        }
        Ok(())
    }
}

/// A counter read and written from several tasks. Relaxed throughout: each
/// is an independent tally, read only to report figures; nothing else is
/// published through them.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn sub(&self, n: u64) {
        self.0.fetch_sub(n, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A bridge's report, set once when it stops, for its handles to read or
/// wait for.
pub(crate) struct Final<R>(tokio::sync::watch::Sender<Option<R>>);

impl<R: Clone> Final<R> {
    pub(crate) fn new() -> Self {
        Self(tokio::sync::watch::Sender::new(None))
    }

    pub(crate) fn set(&self, report: R) {
        self.0.send_replace(Some(report));
    }

    pub(crate) fn get(&self) -> Option<R> {
        self.0.borrow().clone()
    }

    pub(crate) fn is_set(&self) -> bool {
        self.0.borrow().is_some()
    }

    /// Resolves with the report once it is set. Cancel safe.
    pub(crate) async fn wait(&self) -> R {
        let mut report = self.0.subscribe();
        let done = report
            .wait_for(Option::is_some)
            .await
            .expect("the sender lives in `self`");
        done.clone().expect("waited for Some")
    }
}
