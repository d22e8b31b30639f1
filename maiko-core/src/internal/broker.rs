//! The broker: routes every accepted event by topic to its subscribers.
//!
//! Each publisher (every actor, and the supervisor with its handles) has its
//! own stage-1 channel, and each stage-1 channel has its own routing loop,
//! [`forward`]. The loops share one immutable [`Routes`] table built at
//! `start()`. A loop that waits on a full mailbox under
//! [`OverflowPolicy::Block`] holds back only its own publisher's later
//! events (that keeps their order) while every other publisher keeps
//! flowing; so a pipeline whose stages both consume and publish cannot
//! deadlock on a single broker queue.
//!
//! # Shutdown
//!
//! When the gate closes, every loop closes its receiver and receives until
//! `None`: a permit reserved before the close still delivers, nothing
//! reserved after it can. Then the loop ends and drops its share of the
//! table; when the last loop has ended, every mailbox sender is gone and the
//! actors see the end of their mailboxes.

use std::{
    collections::HashMap,
    hash::{BuildHasherDefault, Hasher},
    sync::Arc,
};

use tokio::sync::mpsc::{Receiver, Sender, error::TrySendError};
use tracing::{error, warn};

use super::{
    cell::{ActorCell, Counters, FAILED, RUNNING},
    runtime::Runtime,
};
use crate::{Envelope, Error, Event, OverflowPolicy, Topic, meta::now_nanos};

/// How many events a routing loop takes from its channel at once.
const BATCH: usize = 64;

pub(crate) type Mail<E> = Arc<Envelope<E>>;

/// One subscriber's mailbox and shared cell.
#[derive(Debug)]
pub(crate) struct Subscriber<E> {
    pub(crate) mailbox: Sender<Mail<E>>,
    pub(crate) cell: Arc<ActorCell>,
}

/// The routing table: who receives which topic.
pub(crate) struct Routes<E, T> {
    subscribers: Vec<Subscriber<E>>,
    by_topic: HashMap<T, Vec<usize>, BuildHasherDefault<TopicHasher>>,
    to_all: Vec<usize>,
}

/// A fast, non-keyed hasher for topic lookups (one per routed event).
///
/// Topics are values of the program's own type, not attacker-chosen keys,
/// so the DoS resistance of the default SipHash buys nothing here; this is
/// the multiply-and-rotate scheme of rustc's FxHasher.
#[derive(Default, Clone, Copy)]
pub(crate) struct TopicHasher(u64);

impl Hasher for TopicHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Counts deliveries to one subscriber in a row, so a run of events to the
/// same subscriber costs one atomic add instead of one per event.
#[derive(Default)]
struct RoutedRun {
    index: Option<usize>,
    count: u64,
}

impl RoutedRun {
    #[inline]
    fn add<E>(&mut self, index: usize, subscribers: &[Subscriber<E>]) {
        if self.index != Some(index) {
            self.flush(subscribers);
            self.index = Some(index);
        }
        self.count += 1;
    }

    fn flush<E>(&mut self, subscribers: &[Subscriber<E>]) {
        if let Some(index) = self.index.take() {
            Counters::add(&subscribers[index].cell.counters.routed, self.count);
            self.count = 0;
        }
    }
}

impl<E: Event, T: Topic<E>> Routes<E, T> {
    pub(crate) fn new() -> Self {
        Self {
            subscribers: Vec::new(),
            by_topic: HashMap::default(),
            to_all: Vec::new(),
        }
    }

    /// Add a subscriber; returns its index.
    pub(crate) fn add(
        &mut self,
        subscriber: Subscriber<E>,
        subscription: &crate::subscribe::Subscription<T>,
    ) -> usize {
        use crate::subscribe::Subscription;
        let index = self.subscribers.len();
        self.subscribers.push(subscriber);
        match subscription {
            Subscription::All => self.to_all.push(index),
            Subscription::None => {}
            Subscription::Topics(topics) => {
                for topic in topics {
                    self.by_topic.entry(topic.clone()).or_default().push(index);
                }
            }
        }
        index
    }

    /// Route one event from publisher `own` (None for the supervisor).
    ///
    /// On entry the event holds one unit of the gate's count; on return the
    /// count holds exactly one unit per mailbox copy delivered.
    async fn route(
        &self,
        mail: Mail<E>,
        own: Option<usize>,
        runtime: &Runtime,
        run: &mut RoutedRun,
    ) {
        let topic = T::from_event(mail.event());
        let specific = self.by_topic.get(&topic).map_or(&[][..], Vec::as_slice);
        let count = (specific.len() + self.to_all.len()) as u64;
        if count == 0 {
            runtime.release(1);
            return;
        }
        // Take a unit for every copy before delivering any (gate invariant
        // 3); the publisher's own copy, if it subscribes, is given back below.
        runtime.gate.add(count - 1);

        let mut policy = None;
        for &index in specific.iter().chain(self.to_all.iter()) {
            let delivered = Some(index) != own
                && Self::deliver(
                    &self.subscribers[index],
                    &mail,
                    &topic,
                    &mut policy,
                    runtime,
                )
                .await;
            if delivered {
                run.add(index, &self.subscribers);
            } else {
                runtime.release(1);
            }
        }
    }

    /// Deliver one copy; `false` if it was not delivered (its unit must be
    /// released by the caller).
    async fn deliver(
        subscriber: &Subscriber<E>,
        mail: &Mail<E>,
        topic: &T,
        policy: &mut Option<OverflowPolicy>,
        runtime: &Runtime,
    ) -> bool {
        let cell = &subscriber.cell;
        let counters = &cell.counters;
        if cell.status() != RUNNING {
            Self::not_delivered(cell, runtime);
            return false;
        }
        match subscriber.mailbox.try_send(Arc::clone(mail)) {
            // Counted by the caller's run of deliveries.
            Ok(()) => true,
            Err(TrySendError::Full(mail)) => {
                match *policy.get_or_insert_with(|| topic.overflow_policy()) {
                    OverflowPolicy::Block => {
                        let delivered = subscriber.mailbox.send(mail).await.is_ok();
                        if !delivered {
                            // The actor closed its mailbox while we waited.
                            Self::not_delivered(cell, runtime);
                        }
                        delivered
                    }
                    OverflowPolicy::Drop => {
                        Counters::add(&counters.routed, 1);
                        Counters::add(&counters.dropped, 1);
                        warn!(
                            actor = %cell.id,
                            topic = %topic.name(),
                            "mailbox full: event dropped under OverflowPolicy::Drop"
                        );
                        false
                    }
                    OverflowPolicy::Fail => {
                        Counters::add(&counters.routed, 1);
                        Counters::add(&counters.lost, 1);
                        error!(
                            actor = %cell.id,
                            topic = %topic.name(),
                            "mailbox full under OverflowPolicy::Fail: stopping the actor"
                        );
                        cell.fail(Error::MailboxOverflow(cell.id.clone()));
                        false
                    }
                }
            }
            Err(TrySendError::Closed(_)) => {
                Self::not_delivered(cell, runtime);
                false
            }
        }
    }

    /// Account for a copy meant for an actor whose mailbox no longer takes
    /// events: lost if it failed, abandoned if the deadline closed it, and
    /// not routed at all if it stopped itself (it unsubscribed).
    fn not_delivered(cell: &ActorCell, runtime: &Runtime) {
        let counters = &cell.counters;
        if cell.status() == FAILED {
            Counters::add(&counters.routed, 1);
            Counters::add(&counters.lost, 1);
        } else if cell.status() == RUNNING && runtime.is_escalated() {
            Counters::add(&counters.routed, 1);
            Counters::add(&counters.abandoned, 1);
        }
    }
}

/// The routing loop of one publisher's stage-1 channel.
pub(crate) async fn forward<E: Event, T: Topic<E>>(
    mut inbox: Receiver<Mail<E>>,
    routes: Arc<Routes<E, T>>,
    runtime: Arc<Runtime>,
    own: Option<usize>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let closed = runtime.closed.clone();
    let mut closed_signal = std::pin::pin!(closed.cancelled());
    let mut closing = false;
    loop {
        let received = if closing {
            inbox.recv_many(&mut batch, BATCH).await
        } else {
            tokio::select! {
                biased;
                received = inbox.recv_many(&mut batch, BATCH) => received,
                () = &mut closed_signal => {
                    inbox.close();
                    closing = true;
                    continue;
                }
            }
        };
        if received == 0 {
            // Closed and empty, or every sender is gone: nothing more can come.
            break;
        }
        // One clock read per batch: the time the broker took the events.
        let now = now_nanos();
        let mut run = RoutedRun::default();
        for mut mail in batch.drain(..) {
            if let Some(envelope) = Arc::get_mut(&mut mail) {
                envelope.stamp_time(now);
            }
            routes.route(mail, own, &runtime, &mut run).await;
        }
        run.flush(&routes.subscribers);
        if !closing && runtime.is_closed() {
            inbox.close();
            closing = true;
        }
    }
}
