//! The broker: routes every accepted event by topic to its subscribers.
//!
//! Each publisher (every actor, and the supervisor with its handles) has its
//! own stage-1 channel, and each stage-1 channel has its own routing loop,
//! [`routing_loop`]. The loops share one immutable [`Routes`] table built at
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
//!
//! # Accounting
//!
//! A loop counts each copy it puts into a mailbox as routed, in runs
//! ([`RoutedRun`]), and settles at once each copy it cannot deliver. If the
//! deadline aborts it, its drop guards still add the pending run and settle
//! the remaining copies of the event it was routing as abandoned; events it
//! had not started to route stay counted by the gate and are reported as
//! unrouted.

use std::{
    collections::HashMap,
    hash::{BuildHasherDefault, Hasher},
    sync::Arc,
};

use tokio::sync::mpsc::{Receiver, Sender, error::TrySendError};
use tracing::{error, warn};

use super::{
    cell::{ActorCell, Stage, Status},
    shared::Shared,
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
/// same subscriber costs one atomic add instead of one per event. Dropping
/// it flushes the run, also when the routing loop is aborted in the middle
/// of a batch.
struct RoutedRun<'a, E> {
    subscribers: &'a [Subscriber<E>],
    index: Option<usize>,
    count: u64,
}

impl<'a, E> RoutedRun<'a, E> {
    fn new(subscribers: &'a [Subscriber<E>]) -> Self {
        Self {
            subscribers,
            index: None,
            count: 0,
        }
    }

    #[inline]
    fn add(&mut self, index: usize) {
        if self.index != Some(index) {
            self.flush();
            self.index = Some(index);
        }
        self.count += 1;
    }

    fn flush(&mut self) {
        if let Some(index) = self.index.take() {
            self.subscribers[index].cell.counters.delivered(self.count);
            self.count = 0;
        }
    }
}

impl<E> Drop for RoutedRun<'_, E> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// The copies of one event not yet settled. Dropped early (the routing
/// loop aborted while it waited for room in a mailbox), it settles them as
/// abandoned, so every subscriber's report still balances.
struct Copies<'a, E> {
    subscribers: &'a [Subscriber<E>],
    targets: &'a [usize],
    to_all: &'a [usize],
    /// How many of `targets` then `to_all` are settled.
    settled: usize,
    own: Option<usize>,
    shared: &'a Shared,
}

impl<E> Copies<'_, E> {
    fn index(&self, position: usize) -> usize {
        match self.targets.get(position) {
            Some(&index) => index,
            None => self.to_all[position - self.targets.len()],
        }
    }

    fn len(&self) -> usize {
        self.targets.len() + self.to_all.len()
    }
}

impl<E> Drop for Copies<'_, E> {
    fn drop(&mut self) {
        for position in self.settled..self.len() {
            let index = self.index(position);
            if Some(index) != self.own {
                self.subscribers[index]
                    .cell
                    .counters
                    .abandoned(1, Stage::Broker);
            }
            self.shared.release(1);
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
        shared: &Shared,
        run: &mut RoutedRun<'_, E>,
    ) {
        let topic = T::from_event(mail.event());
        let targets = self.by_topic.get(&topic).map_or(&[][..], Vec::as_slice);
        let mut copies = Copies {
            subscribers: &self.subscribers,
            targets,
            to_all: &self.to_all,
            settled: 0,
            own,
            shared,
        };
        let count = copies.len();
        if count == 0 {
            shared.release(1);
            return;
        }
        // Take a unit for every copy before delivering any (gate invariant
        // 3); the publisher's own copy, if it subscribes, is given back below.
        shared.add_copies(count as u64 - 1);

        let mut policy = None;
        while copies.settled < count {
            let index = copies.index(copies.settled);
            let delivered = Some(index) != own
                && Self::deliver(&self.subscribers[index], &mail, &topic, &mut policy, shared)
                    .await;
            copies.settled += 1;
            if delivered {
                run.add(index);
            } else {
                shared.release(1);
            }
        }
    }

    /// Deliver one copy; `false` if it was not delivered (then it is settled
    /// here, and its unit must be released by the caller).
    async fn deliver(
        subscriber: &Subscriber<E>,
        mail: &Mail<E>,
        topic: &T,
        policy: &mut Option<OverflowPolicy>,
        shared: &Shared,
    ) -> bool {
        let cell = &subscriber.cell;
        if cell.status() != Status::Running {
            Self::undeliverable(cell, shared);
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
                            Self::undeliverable(cell, shared);
                        }
                        delivered
                    }
                    OverflowPolicy::Drop => {
                        cell.counters.dropped();
                        warn!(
                            actor = %cell.id,
                            topic = %topic.name(),
                            "mailbox full: event dropped under OverflowPolicy::Drop"
                        );
                        false
                    }
                    OverflowPolicy::Fail => {
                        cell.counters.lost(1, Stage::Broker);
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
                Self::undeliverable(cell, shared);
                false
            }
        }
    }

    /// Settle a copy meant for an actor whose mailbox no longer takes
    /// events: lost if it failed, abandoned if the deadline closed it, and
    /// not routed at all if it stopped itself (it unsubscribed).
    fn undeliverable(cell: &ActorCell, shared: &Shared) {
        match cell.status() {
            Status::Failed => cell.counters.lost(1, Stage::Broker),
            Status::Running if shared.is_escalated() => {
                cell.counters.abandoned(1, Stage::Broker);
            }
            Status::Running | Status::SelfStopped => {}
        }
    }
}

/// The routing loop of one publisher's stage-1 channel: route what arrives
/// until the gate closes, then close the channel and route what is left in
/// it, to the end.
pub(crate) async fn routing_loop<E: Event, T: Topic<E>>(
    mut inbox: Receiver<Mail<E>>,
    routes: Arc<Routes<E, T>>,
    shared: Arc<Shared>,
    own: Option<usize>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut closed_signal = std::pin::pin!(shared.closed());
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
        let mut run = RoutedRun::new(&routes.subscribers);
        for mut mail in batch.drain(..) {
            if let Some(envelope) = Arc::get_mut(&mut mail) {
                envelope.stamp_time(now);
            }
            routes.route(mail, own, &shared, &mut run).await;
        }
        drop(run);
        if !closing && shared.is_closed() {
            inbox.close();
            closing = true;
        }
    }
}
