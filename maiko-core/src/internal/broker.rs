//! The broker: routes every accepted event by topic to its subscribers.
//!
//! Each publisher (every actor, and the supervisor with its handles) has its
//! own stage-1 channel, and each stage-1 channel has its own routing loop,
//! [`routing_loop`]. The loops share one immutable [`Routes`] table, built
//! at `start()` and replaced whole on the [`Board`] when an actor is added
//! or stopped while the supervisor runs (each loop picks the new table up
//! at its next batch; routing an event takes no lock). A loop that waits on a full mailbox under
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
//! ([`RoutedRun`]), and settles at once each copy it cannot deliver (a
//! dead letter, see [`DeadSink`]). If the
//! deadline aborts it, its drop guards still add the pending run and settle
//! the remaining copies of the event it was routing as abandoned; events it
//! had not started to route stay counted by the gate and are reported as
//! unrouted.
//!
//! # Why every event takes the routing hop
//!
//! An event goes through two channels: its publisher's stage-1 channel and
//! the subscriber's mailbox. A path that skips the first one when it is
//! empty (the publisher locks a copy of the table, reserves room in every
//! mailbox, re-checks the gate and sends) was built and measured, and not
//! kept. Under callgrind, one producer to one subscriber on one thread:
//! 1,504 instructions per event against 1,346 through the routing loop,
//! and 1,397 with the clock read taken out of it. The routing loop takes its
//! events in batches, so its hop costs about 300 instructions per event,
//! and the direct path spends as much: a clock read per event instead of
//! per batch, the table's lock, and a count of the events still queued,
//! kept on both sides to hold the order per publisher. On the reference
//! ingest service, over HTTP on two workers, the direct path made no
//! difference either (1.01x the requests per second, 0.97x the CPU per
//! request).

use std::{
    collections::HashMap,
    hash::{BuildHasherDefault, Hasher},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use tokio::sync::mpsc::{Receiver, Sender, error::TrySendError};
use tracing::{error, warn};

use super::{
    board::{Board, Seen},
    cell::{ActorCell, Stage, Status},
    dead::DeadSink,
    lane::{LaneEnd, Spill, close_and_drain},
    mail::Mail,
    meters::LaneMeters,
    shared::Shared,
    tracker::{self, Settled},
    watch::Watch,
};
use crate::{
    DeadReason, Error, Event, OverflowPolicy, Topic, meta::now_nanos, subscribe::Subscription,
};

/// How many events a routing loop takes from its channel at once.
const BATCH: usize = 64;

/// One subscriber's mailbox and shared cell.
#[derive(Debug)]
pub(crate) struct Subscriber<E> {
    pub(crate) mailbox: Sender<Mail<E>>,
    pub(crate) cell: Arc<ActorCell>,
}

/// A map keyed by topic, with the fast hasher below.
pub(crate) type TopicMap<T, V> = HashMap<T, V, BuildHasherDefault<TopicHasher>>;

impl<E> Clone for Subscriber<E> {
    fn clone(&self) -> Self {
        Self {
            mailbox: self.mailbox.clone(),
            cell: Arc::clone(&self.cell),
        }
    }
}

/// The routing table: who receives which topic.
pub(crate) struct Routes<E, T> {
    subscribers: Vec<Subscriber<E>>,
    by_topic: TopicMap<T, Vec<usize>>,
    to_all: Vec<usize>,
    /// Told of overflows while any monitor watches.
    watch: Watch<E, T>,
    /// Where the copies that are not delivered go.
    dead: Arc<DeadSink<E>>,
}

/// The routing board of one supervisor.
pub(crate) type RouteBoard<E, T> = Board<Routes<E, T>>;

/// Whether `subscriber` is the publisher `own` itself.
#[inline]
fn is_own<E>(own: Option<&ActorCell>, subscriber: &Subscriber<E>) -> bool {
    own.is_some_and(|cell| std::ptr::eq(cell, &*subscriber.cell))
}

/// One broker of a supervisor, for the report: its name, and the events
/// its routing loops never got to route because the deadline aborted them.
#[derive(Debug)]
pub(crate) struct BrokerCell {
    pub(crate) name: &'static str,
    unrouted: AtomicU64,
}

impl BrokerCell {
    pub(crate) fn new(name: &'static str) -> Self {
        Self {
            name,
            unrouted: AtomicU64::new(0),
        }
    }

    /// Events left unrouted, once every routing loop has ended.
    pub(crate) fn unrouted(&self) -> u64 {
        self.unrouted.load(Ordering::Relaxed)
    }

    fn count_unrouted(&self, n: u64) {
        if n > 0 {
            self.unrouted.fetch_add(n, Ordering::Relaxed);
        }
    }
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

/// What became of one copy that was not made to wait.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Delivery {
    /// It is in the mailbox.
    Delivered,
    /// It was not delivered, and is settled (dropped, lost, abandoned, or
    /// not meant for an actor that stopped itself).
    Settled,
    /// The mailbox is full under `Block`.
    MustWait,
}

/// An event whose routing must wait for room, from the copy at `position`
/// on.
struct Blocked<'a, E, T> {
    mail: Mail<E>,
    topic: T,
    targets: &'a [usize],
    position: usize,
    policy: Option<OverflowPolicy>,
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
    own: Option<&'a ActorCell>,
    shared: &'a Shared,
    mail: &'a Mail<E>,
    dead: &'a DeadSink<E>,
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
            let subscriber = &self.subscribers[self.index(position)];
            if is_own(self.own, subscriber) || subscriber.cell.is_retired() {
                tracker::settle(self.mail, Settled::NotMeant);
            } else {
                let cell = &subscriber.cell;
                cell.counters.abandoned(1, Stage::Broker);
                self.dead.bury(cell, self.mail, DeadReason::Abandoned);
            }
            self.shared.protocol().release(1);
        }
    }
}

impl<E: Event, T: Topic<E>> Routes<E, T> {
    pub(crate) fn new(watch: Watch<E, T>, dead: Arc<DeadSink<E>>) -> Self {
        Self {
            subscribers: Vec::new(),
            by_topic: HashMap::default(),
            to_all: Vec::new(),
            watch,
            dead,
        }
    }

    /// Every topic some actor subscribes to by name.
    pub(crate) fn topics(&self) -> impl Iterator<Item = &T> {
        self.by_topic.keys()
    }

    /// Add a subscriber; returns its index.
    pub(crate) fn add(
        &mut self,
        subscriber: Subscriber<E>,
        subscription: &Subscription<T>,
    ) -> usize {
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

    /// The subscriber index of copy `position` of an event whose topic's
    /// own subscribers are `targets`.
    #[inline]
    fn index(&self, targets: &[usize], position: usize) -> usize {
        match targets.get(position) {
            Some(&index) => index,
            None => self.to_all[position - targets.len()],
        }
    }

    /// Route one event from publisher `own` (None for the supervisor),
    /// without waiting: deliver every copy that fits at once, and stop at
    /// the first copy that must wait for room under `Block`, returning it
    /// and the copies after it for [`finish`](Self::finish).
    ///
    /// On entry the event holds one unit of the gate's count; once it is
    /// fully routed the count holds exactly one unit per mailbox copy
    /// delivered.
    #[inline]
    fn route<'a>(
        &'a self,
        mail: Mail<E>,
        own: Option<&ActorCell>,
        shared: &Shared,
        run: &mut RoutedRun<'_, E>,
    ) -> Option<Blocked<'a, E, T>> {
        let topic = T::from_event(mail.event());
        let targets = self.by_topic.get(&topic).map_or(&[][..], Vec::as_slice);
        let count = targets.len() + self.to_all.len();
        if count == 0 {
            tracker::settle(&mail, Settled::NotMeant);
            shared.protocol().release(1);
            return None;
        }
        // Take a unit for every copy before delivering any (gate invariant
        // 3); the publisher's own copy, if it subscribes, is given back below.
        shared.protocol().add_copies(count as u64 - 1);
        if let Some(tracker) = mail.tracker() {
            tracker.add_copies(count as u32 - 1);
        }
        let mut policy = None;
        for position in 0..count {
            let index = self.index(targets, position);
            let subscriber = &self.subscribers[index];
            if is_own(own, subscriber) {
                tracker::settle(&mail, Settled::NotMeant);
                shared.protocol().release(1);
                continue;
            }
            match self.try_deliver(subscriber, &mail, &topic, &mut policy, shared) {
                Delivery::Delivered => run.add(index),
                Delivery::Settled => shared.protocol().release(1),
                Delivery::MustWait => {
                    return Some(Blocked {
                        mail,
                        topic,
                        targets,
                        position,
                        policy,
                    });
                }
            }
        }
        None
    }

    /// Route the rest of an event whose copy at `blocked.position` found
    /// its mailbox full: report the overflow to the monitors if any watch,
    /// apply the topic's policy (under `Block`, wait for room), then deliver
    /// the copies after it the same way. If the routing loop is aborted
    /// meanwhile, the [`Copies`] guard settles what is left.
    async fn finish(
        &self,
        blocked: Blocked<'_, E, T>,
        own: Option<&ActorCell>,
        shared: &Shared,
        lane: &LaneRef<'_>,
        run: &mut RoutedRun<'_, E>,
    ) {
        let Blocked {
            mail,
            topic,
            targets,
            position,
            mut policy,
        } = blocked;
        let mut copies = Copies {
            subscribers: &self.subscribers,
            targets,
            to_all: &self.to_all,
            settled: position,
            own,
            shared,
            mail: &mail,
            dead: &self.dead,
        };
        let count = copies.len();
        while copies.settled < count {
            let index = self.index(targets, copies.settled);
            let subscriber = &self.subscribers[index];
            let delivered = if is_own(own, subscriber) {
                tracker::settle(&mail, Settled::NotMeant);
                false
            } else {
                self.deliver_waiting(subscriber, &mail, &topic, &mut policy, shared, lane)
                    .await
            };
            copies.settled += 1;
            if delivered {
                run.add(index);
            } else {
                shared.protocol().release(1);
            }
        }
    }

    /// Deliver one copy, waiting for room under `Block`; `false` if it was
    /// not delivered (then it is settled here).
    async fn deliver_waiting(
        &self,
        subscriber: &Subscriber<E>,
        mail: &Mail<E>,
        topic: &T,
        policy: &mut Option<OverflowPolicy>,
        shared: &Shared,
        lane: &LaneRef<'_>,
    ) -> bool {
        match self.offer(subscriber, mail, shared) {
            Delivery::Delivered => return true,
            Delivery::Settled => return false,
            Delivery::MustWait => {}
        }
        let cell = &subscriber.cell;
        let policy = *policy.get_or_insert_with(|| topic.overflow_policy());
        self.watch
            .watching()
            .overflow(mail, topic, &cell.id, policy)
            .await;
        match policy {
            OverflowPolicy::Block => {
                // A real wait: it takes part in cycle detection until it ends.
                let _edge = shared.protocol().waits().lane_waits(
                    lane.key,
                    cell,
                    topic.name(),
                    lane.broker,
                    shared.protocol().cycle_policy(),
                );
                let delivered = subscriber.mailbox.send(Arc::clone(mail)).await.is_ok();
                if !delivered {
                    // The actor closed its mailbox while we waited.
                    self.undeliverable(cell, shared, mail);
                }
                delivered
            }
            OverflowPolicy::Drop | OverflowPolicy::Fail => {
                self.overflowed(cell, topic, policy, mail);
                false
            }
        }
    }

    /// Try to put one copy into its subscriber's mailbox without waiting.
    /// A copy that is not delivered is settled here (its unit is the
    /// caller's to release), except one that must wait: for room under
    /// `Block`, or, while monitors watch, to report any overflow (which
    /// takes a place in their queue, so it may wait too).
    #[inline]
    fn try_deliver(
        &self,
        subscriber: &Subscriber<E>,
        mail: &Mail<E>,
        topic: &T,
        policy: &mut Option<OverflowPolicy>,
        shared: &Shared,
    ) -> Delivery {
        let offered = self.offer(subscriber, mail, shared);
        if offered != Delivery::MustWait {
            return offered;
        }
        if self.watch.watching().is_on() {
            return Delivery::MustWait;
        }
        match *policy.get_or_insert_with(|| topic.overflow_policy()) {
            OverflowPolicy::Block => Delivery::MustWait,
            other => {
                self.overflowed(&subscriber.cell, topic, other, mail);
                Delivery::Settled
            }
        }
    }

    /// Offer one copy to its subscriber's mailbox: delivered, settled (the
    /// actor no longer takes events), or `MustWait` if the mailbox is full
    /// (the caller applies the topic's policy).
    #[inline]
    fn offer(&self, subscriber: &Subscriber<E>, mail: &Mail<E>, shared: &Shared) -> Delivery {
        let cell = &subscriber.cell;
        if cell.status() != Status::Running {
            self.undeliverable(cell, shared, mail);
            return Delivery::Settled;
        }
        match subscriber.mailbox.try_send(Arc::clone(mail)) {
            // Counted by the caller's run of deliveries.
            Ok(()) => Delivery::Delivered,
            Err(TrySendError::Full(_)) => Delivery::MustWait,
            Err(TrySendError::Closed(_)) => {
                self.undeliverable(cell, shared, mail);
                Delivery::Settled
            }
        }
    }

    /// Settle a copy that found its mailbox full under `Drop` or `Fail`.
    fn overflowed(&self, cell: &ActorCell, topic: &T, policy: OverflowPolicy, mail: &Mail<E>) {
        if policy == OverflowPolicy::Fail {
            cell.counters.lost(1, Stage::Broker);
            self.dead.bury(cell, mail, DeadReason::ActorFailed);
            error!(
                actor = %cell.id,
                topic = %topic.name(),
                "mailbox full under OverflowPolicy::Fail: stopping the actor"
            );
            cell.fail(Error::MailboxOverflow(cell.id.clone()));
        } else {
            cell.counters.dropped();
            self.dead.bury(cell, mail, DeadReason::Dropped);
            warn!(
                actor = %cell.id,
                topic = %topic.name(),
                "mailbox full: event dropped under OverflowPolicy::Drop"
            );
        }
    }

    /// Settle a copy meant for an actor whose mailbox no longer takes
    /// events: lost if it failed, abandoned if the deadline closed it, and
    /// not routed at all if it stopped itself or was stopped from outside
    /// (it unsubscribed; a table from before may still name it).
    fn undeliverable(&self, cell: &ActorCell, shared: &Shared, mail: &Mail<E>) {
        if cell.is_retired() {
            tracker::settle(mail, Settled::NotMeant);
            return;
        }
        match cell.status() {
            Status::Failed => {
                cell.counters.lost(1, Stage::Broker);
                self.dead.bury(cell, mail, DeadReason::ActorFailed);
            }
            Status::Running if shared.protocol().is_escalated() => {
                cell.counters.abandoned(1, Stage::Broker);
                self.dead.bury(cell, mail, DeadReason::Abandoned);
            }
            Status::Running | Status::SelfStopped => tracker::settle(mail, Settled::NotMeant),
        }
    }
}

/// One publisher's stage-1 channel to one broker, as its routing loop owns
/// it. Dropped before the loop saw the end (the loop was aborted), it counts
/// what is left in it as unrouted for its broker; those events stay counted
/// by the gate.
struct Inbox<E> {
    receiver: Receiver<Mail<E>>,
    spill: Arc<Spill<E>>,
    broker: Arc<BrokerCell>,
    /// The publishes this loop takes (see `internal::meters`).
    meters: LaneMeters,
}

impl<E> Drop for Inbox<E> {
    fn drop(&mut self) {
        // After a normal end the channel is closed and empty, and this finds
        // it so at once. A publisher holds a permit only between its
        // re-check of the gate and its send, without yielding.
        let left = close_and_drain(&mut self.receiver, |mail| {
            tracker::settle(&mail, Settled::Abandoned);
        });
        let mut spilled = Vec::new();
        self.spill.close(&mut spilled);
        for mail in &spilled {
            tracker::settle(mail, Settled::Abandoned);
        }
        self.broker.count_unrouted(left + spilled.len() as u64);
    }
}

/// The lane a routing loop serves, for the wait-for graph, and its meter.
struct LaneRef<'a> {
    key: usize,
    broker: &'static str,
    meters: &'a LaneMeters,
}

/// The events of a batch not yet handed to [`Routes::route`], last first.
/// Dropped early (the loop was aborted), it counts them as unrouted.
struct Pending<'a, E> {
    broker: &'a BrokerCell,
    batch: &'a mut Vec<Mail<E>>,
}

impl<E> Drop for Pending<'_, E> {
    fn drop(&mut self) {
        self.broker.count_unrouted(self.batch.len() as u64);
        for mail in self.batch.drain(..) {
            tracker::settle(&mail, Settled::Abandoned);
        }
    }
}

/// The routing loop of one publisher's stage-1 channel to one broker: route
/// what arrives until the gate closes, then close the channel and route
/// what is left in it, to the end.
///
/// Until the first event (or the close) it waits holding only its channel
/// and a few `Arc`s; the loop proper, whose state is about a kilobyte, is
/// boxed then. So a publisher that never publishes (most actors of a large
/// system) costs its routing task little memory.
///
/// Events in the lane's spill (put there to break a cycle) are routed after
/// the channel events that were there before them: the loop notes how many
/// wait in the spill, then how many in the channel, routes those channel
/// events and then those spilled ones.
pub(crate) async fn routing_loop<E: Event, T: Topic<E>>(
    end: LaneEnd<E>,
    board: Arc<RouteBoard<E, T>>,
    shared: Arc<Shared>,
    own: Option<Arc<ActorCell>>,
    broker: Arc<BrokerCell>,
) {
    let LaneEnd { receiver, spill } = end;
    let meters = LaneMeters::new(
        shared.books().meters(),
        own.as_ref().map(|cell| cell.id.as_str()),
        broker.name,
    );
    let mut inbox = Inbox {
        receiver,
        spill,
        broker,
        meters,
    };
    // The idle wait. A spill only fills once the channel is full, so the
    // first event is always in the channel.
    let mut closing = false;
    let received = tokio::select! {
        biased;
        first = inbox.receiver.recv() => Some(first),
        () = shared.protocol().closed() => None,
    };
    let first = match received {
        // An event, or the end of every sender.
        Some(first) => first,
        None => {
            // The gate closed: close the channel and take what a permit
            // reserved before still delivers (`None` once nothing can come).
            inbox.receiver.close();
            closing = true;
            inbox.receiver.recv().await
        }
    };
    let mut batch = Vec::new();
    match first {
        Some(mail) => batch.push(mail),
        None => {
            // The channel ended without an event: close the spill and end,
            // unless it holds some (routed by the loop proper).
            inbox.spill.close(&mut batch);
            if batch.is_empty() {
                return;
            }
        }
    }
    Box::pin(route_until_end(inbox, board, shared, own, batch, closing)).await;
}

/// The loop proper of [`routing_loop`], from the events of its first
/// `batch` (the gate may have closed already: `closing`).
async fn route_until_end<E: Event, T: Topic<E>>(
    mut inbox: Inbox<E>,
    board: Arc<RouteBoard<E, T>>,
    shared: Arc<Shared>,
    own: Option<Arc<ActorCell>>,
    mut batch: Vec<Mail<E>>,
    mut closing: bool,
) {
    let mut routes = board.load();
    let mut router = Router {
        board: &board,
        routes: &mut routes,
        shared: &shared,
        own: own.as_deref(),
    };
    let lane = LaneRef {
        key: inbox.spill.key(),
        broker: inbox.broker.name,
        meters: &inbox.meters,
    };
    // Grown by the first batches and kept.
    router.route_batch(&lane, &inbox.broker, &mut batch).await;
    let mut closed_signal = std::pin::pin!(shared.protocol().closed());
    loop {
        let spilled = inbox.spill.len();
        if spilled > 0 {
            let mut before = inbox.receiver.len();
            while before > 0 {
                let received = inbox
                    .receiver
                    .recv_many(&mut batch, before.min(BATCH))
                    .await;
                if received == 0 {
                    break;
                }
                before -= received.min(before);
                router.route_batch(&lane, &inbox.broker, &mut batch).await;
            }
            inbox.spill.take(spilled, &mut batch);
            router.route_batch(&lane, &inbox.broker, &mut batch).await;
            continue;
        }
        let receiver = &mut inbox.receiver;
        let received = if closing {
            receiver.recv_many(&mut batch, BATCH).await
        } else {
            tokio::select! {
                biased;
                received = receiver.recv_many(&mut batch, BATCH) => received,
                () = &mut closed_signal => {
                    receiver.close();
                    closing = true;
                    continue;
                }
            }
        };
        if received == 0 {
            // Closed and empty, or every sender is gone: nothing more can
            // come, except what the spill holds.
            inbox.spill.close(&mut batch);
            router.route_batch(&lane, &inbox.broker, &mut batch).await;
            break;
        }
        router.route_batch(&lane, &inbox.broker, &mut batch).await;
        if !closing && shared.protocol().is_closed() {
            inbox.receiver.close();
            closing = true;
        }
    }
}

/// What a routing loop routes with: the table it last took from the
/// board, and who it routes for.
struct Router<'a, E, T> {
    board: &'a RouteBoard<E, T>,
    routes: &'a mut Seen<Routes<E, T>>,
    shared: &'a Shared,
    /// The publisher, unless it is the supervisor.
    own: Option<&'a ActorCell>,
}

impl<E: Event, T: Topic<E>> Router<'_, E, T> {
    /// Route a batch taken from a lane, in order, and leave it empty; with
    /// the newest table, taken after the batch was received (see the
    /// board's invariant).
    async fn route_batch(
        &mut self,
        lane: &LaneRef<'_>,
        broker: &BrokerCell,
        batch: &mut Vec<Mail<E>>,
    ) {
        if batch.is_empty() {
            return;
        }
        self.board.refresh(self.routes);
        route_batch(
            &self.routes.value,
            self.shared,
            self.own,
            lane,
            broker,
            batch,
        )
        .await;
    }
}

/// Route a batch, in order, and leave it empty.
async fn route_batch<E: Event, T: Topic<E>>(
    routes: &Routes<E, T>,
    shared: &Shared,
    own: Option<&ActorCell>,
    lane: &LaneRef<'_>,
    broker: &BrokerCell,
    batch: &mut Vec<Mail<E>>,
) {
    // One clock read per batch: the time the broker took the events.
    let now = now_nanos();
    // Every event of a lane was accepted from its publisher; counted here,
    // once per batch, rather than on the publish path.
    lane.meters.published(batch.len() as u64);
    let mut run = RoutedRun::new(&routes.subscribers);
    batch.reverse();
    let pending = Pending { broker, batch };
    // Taken out of the batch, an event's copies are settled by `route`
    // (and `finish`).
    while let Some(mut mail) = pending.batch.pop() {
        if let Some(envelope) = Arc::get_mut(&mut mail) {
            envelope.stamp_time(now);
        }
        if let Some(blocked) = routes.route(mail, own, shared, &mut run) {
            routes.finish(blocked, own, shared, lane, &mut run).await;
        }
    }
    shared
        .books()
        .meters()
        .in_flight(|| shared.protocol().in_flight());
}
