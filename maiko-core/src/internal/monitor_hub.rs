//! The machinery behind monitors (feature `monitoring`): one queue of
//! records per supervisor, drained by one dispatcher task that calls every
//! monitor.
//!
//! # No record lost, bounded memory
//!
//! Records of events (dispatched, delivered, handled, overflow, steps,
//! errors) are queued by the actor tasks and routing loops that produce
//! them, and each takes one of `capacity` places first ([`MonitorHub::emit`]
//! waits for a place): when the monitors fall behind, the producers wait,
//! so no record is dropped and the queue never holds more than `capacity`
//! of them. Lifecycle records (an actor registered or stopped) and commands
//! (add, remove, pause, resume, flush) take no place: there are at most two
//! per actor and one per call. A record that could not be queued because
//! its producer was aborted at the shutdown deadline is counted and shown
//! in the shutdown report.
//!
//! # Order
//!
//! The queue is one FIFO, so the dispatcher sees records in the order they
//! were queued, and commands in order with them: a monitor added sees every
//! record queued after its `add` returned and none before (it is first told
//! of the actors registered, and stopped, so far). For one copy of an event
//! the order is dispatched, delivered, handled. Each record goes to the
//! monitors in the order they were added.
//!
//! # Cost when unused
//!
//! Until a monitor is added, [`MonitorHub::is_active`] is false and no
//! record is made at all: the producers read one flag per batch.
//!
//! # Deadlock safety
//!
//! The dispatcher calls monitors synchronously and never waits for the
//! runtime, so producers waiting for a place always get one. A monitor that
//! panics is removed (and the panic logged); the others go on.

use std::{
    collections::VecDeque,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use parking_lot::Mutex;
use tokio::sync::{Notify, Semaphore, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{error, warn};

use super::mail::Mail;
use crate::{
    ActorId, Event, OverflowPolicy, StepAction, Topic,
    monitoring::{Monitor, MonitorId},
};

/// What the runtime tells monitors.
pub(crate) enum Record<E, T> {
    /// A copy was put into the receiver's mailbox.
    Dispatched(Mail<E>, T, ActorId),
    /// The receiver took the copy, just before `handle_event`.
    Delivered(Mail<E>, T, ActorId),
    /// The receiver's `handle_event` returned; `clock` is the receiver's
    /// logical clock at that handling (see `testing`).
    Handled {
        mail: Mail<E>,
        topic: T,
        receiver: ActorId,
        #[cfg_attr(not(feature = "test-harness"), allow(dead_code))]
        clock: u64,
    },
    Registered(ActorId),
    Error(String, ActorId),
    StepEnter(ActorId),
    StepExit(StepAction, ActorId),
    /// The receiver's mailbox was full; `policy` says what happens next.
    Overflow(Mail<E>, T, ActorId, OverflowPolicy),
    Stopped(ActorId),
}

impl<E, T> Record<E, T> {
    /// Whether it takes one of the queue's places (lifecycle records do
    /// not: they are bounded by the number of actors).
    fn takes_place(&self) -> bool {
        !matches!(self, Self::Registered(_) | Self::Stopped(_))
    }
}

/// What receives records in the dispatcher task: a user's [`Monitor`], or
/// the runtime's own collector (the test harness's).
pub(crate) trait Watcher<E, T>: Send {
    fn see(&mut self, record: &Record<E, T>);
    /// Everything queued so far has been delivered.
    fn flushed(&mut self) {}
}

/// Calls a [`Monitor`]'s callbacks for records.
struct MonitorWatcher<M>(M);

impl<E: Event, T: Topic<E>, M: Monitor<E, T>> Watcher<E, T> for MonitorWatcher<M> {
    fn see(&mut self, record: &Record<E, T>) {
        let monitor = &self.0;
        match record {
            Record::Dispatched(mail, topic, receiver) => {
                monitor.on_event_dispatched(mail, topic, receiver);
            }
            Record::Delivered(mail, topic, receiver) => {
                monitor.on_event_delivered(mail, topic, receiver);
            }
            Record::Handled {
                mail,
                topic,
                receiver,
                ..
            } => monitor.on_event_handled(mail, topic, receiver),
            Record::Registered(actor) => monitor.on_actor_registered(actor),
            Record::Error(error, actor) => monitor.on_error(error, actor),
            Record::StepEnter(actor) => monitor.on_step_enter(actor),
            Record::StepExit(action, actor) => monitor.on_step_exit(action, actor),
            Record::Overflow(mail, topic, receiver, policy) => {
                monitor.on_overflow(mail, topic, receiver, *policy);
            }
            Record::Stopped(actor) => monitor.on_actor_stop(actor),
        }
    }

    fn flushed(&mut self) {
        self.0.on_flush();
    }
}

enum Item<E, T> {
    Record(Record<E, T>),
    Add {
        id: MonitorId,
        watcher: Box<dyn Watcher<E, T>>,
        /// The actors registered, then stopped, before the add: told first.
        registered: Vec<ActorId>,
        stopped: Vec<ActorId>,
    },
    Remove(MonitorId),
    /// `None`: every monitor.
    Pause(Option<MonitorId>),
    Resume(Option<MonitorId>),
    /// Answered once everything queued before it was delivered.
    Barrier(oneshot::Sender<()>),
}

/// The items waiting for the dispatcher.
struct Queue<E, T> {
    items: VecDeque<Item<E, T>>,
    /// Set by the dispatcher when it ends: nothing queued later would be
    /// delivered, and everything queued before was.
    closed: bool,
}

/// The actors as registered and stopped, for monitors added later.
#[derive(Default)]
struct Lifecycle {
    registered: Vec<ActorId>,
    stopped: Vec<ActorId>,
    /// Ids in use; the lowest free one is given out, so ids are reused and
    /// the 16-bit id space is never exhausted by adds and removes.
    ids: Vec<MonitorId>,
}

/// One supervisor's monitoring queue.
pub(crate) struct MonitorHub<E, T> {
    active: AtomicBool,
    queue: Mutex<Queue<E, T>>,
    places: Semaphore,
    /// Wakes the dispatcher.
    work: Notify,
    lifecycle: Mutex<Lifecycle>,
    dispatcher: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Fires when the supervisor's shutdown has finished: no record will
    /// come.
    finished: CancellationToken,
    /// Records lost because their producer was aborted.
    records_lost: AtomicU64,
}

impl<E, T> std::fmt::Debug for MonitorHub<E, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitorHub")
            .field("active", &self.active.load(Ordering::Relaxed))
            .field("queued", &self.queue.lock().items.len())
            .finish_non_exhaustive()
    }
}

impl<E: Event, T: Topic<E>> MonitorHub<E, T> {
    pub(crate) fn new(capacity: usize, finished: CancellationToken) -> Self {
        Self {
            active: AtomicBool::new(false),
            queue: Mutex::new(Queue {
                items: VecDeque::new(),
                closed: false,
            }),
            places: Semaphore::new(capacity.max(1)),
            work: Notify::new(),
            lifecycle: Mutex::new(Lifecycle::default()),
            dispatcher: Mutex::new(None),
            finished,
            records_lost: AtomicU64::new(0),
        }
    }

    /// Whether any monitor is registered: producers make records only then.
    #[inline]
    pub(crate) fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// Whether the supervisor has stopped: no record will come.
    pub(crate) fn has_finished(&self) -> bool {
        self.finished.is_cancelled()
    }

    /// Queue an item; `false` if the dispatcher has ended (the item is
    /// dropped: nothing would deliver it).
    fn push(&self, item: Item<E, T>) -> bool {
        let mut queue = self.queue.lock();
        if queue.closed {
            return false;
        }
        queue.items.push_back(item);
        drop(queue);
        self.work.notify_one();
        true
    }

    /// Queue `record`, waiting for a place if the monitors are behind. If
    /// the future is dropped while it waits (its task was aborted at the
    /// shutdown deadline), the record is counted as lost.
    pub(crate) async fn emit(&self, record: Record<E, T>) {
        if record.takes_place() {
            let mut lost = Lost {
                hub: self,
                armed: true,
            };
            // The semaphore is never closed.
            if let Ok(place) = self.places.acquire().await {
                place.forget();
            }
            lost.armed = false;
        }
        self.push(Item::Record(record));
    }

    /// An actor was registered (before `start`).
    pub(crate) fn registered(&self, actor: &ActorId) {
        let mut lifecycle = self.lifecycle.lock();
        lifecycle.registered.push(actor.clone());
        if self.is_active() {
            self.push(Item::Record(Record::Registered(actor.clone())));
        }
    }

    /// An actor's task ended.
    pub(crate) fn stopped(&self, actor: &ActorId) {
        let mut lifecycle = self.lifecycle.lock();
        lifecycle.stopped.push(actor.clone());
        if self.is_active() {
            self.push(Item::Record(Record::Stopped(actor.clone())));
        }
    }

    /// Add a monitor (or the harness's collector); returns its id, or
    /// `None` if the runtime has finished (no record would ever come) or
    /// 65,536 monitors are registered at once.
    pub(crate) fn add(self: &Arc<Self>, watcher: Box<dyn Watcher<E, T>>) -> Option<MonitorId> {
        if self.finished.is_cancelled() {
            return None;
        }
        self.start_dispatcher();
        let mut lifecycle = self.lifecycle.lock();
        let id = (0..=MonitorId::MAX).find(|id| !lifecycle.ids.contains(id))?;
        lifecycle.ids.push(id);
        self.push(Item::Add {
            id,
            watcher,
            registered: lifecycle.registered.clone(),
            stopped: lifecycle.stopped.clone(),
        });
        // Under the lifecycle lock: a registration or stop after this point
        // is queued behind the add, one before it is in the lists above.
        self.active.store(true, Ordering::Release);
        Some(id)
    }

    pub(crate) fn remove(&self, id: MonitorId) {
        let mut lifecycle = self.lifecycle.lock();
        if let Some(at) = lifecycle.ids.iter().position(|&i| i == id) {
            lifecycle.ids.swap_remove(at);
            self.push(Item::Remove(id));
            if lifecycle.ids.is_empty() {
                self.active.store(false, Ordering::Release);
            }
        }
    }

    pub(crate) fn pause(&self, id: Option<MonitorId>) {
        self.push(Item::Pause(id));
    }

    pub(crate) fn resume(&self, id: Option<MonitorId>) {
        self.push(Item::Resume(id));
    }

    /// Wait until every record queued before this call has been delivered
    /// to every monitor. No timer: it waits for the dispatcher to reach
    /// this point of the queue, which it does under any traffic.
    pub(crate) async fn barrier(&self) {
        if self.dispatcher.lock().is_none() {
            return;
        }
        let (done, reached) = oneshot::channel();
        // Not queued: the dispatcher has ended, everything is delivered.
        if self.push(Item::Barrier(done)) {
            let _ = reached.await;
        }
    }

    fn start_dispatcher(self: &Arc<Self>) {
        let mut dispatcher = self.dispatcher.lock();
        if dispatcher.is_none() {
            *dispatcher = Some(tokio::spawn(Arc::clone(self).dispatch()));
        }
    }

    /// The dispatcher task: deliver items until the runtime has finished
    /// and nothing is queued, then let the monitors go (a buffering monitor
    /// writes out what it holds when it is dropped).
    async fn dispatch(self: Arc<Self>) {
        let mut watchers: Vec<Watching<E, T>> = Vec::new();
        let mut batch = Vec::new();
        loop {
            let work = self.work.notified();
            let finished = self.finished.is_cancelled();
            {
                let mut queue = self.queue.lock();
                batch.extend(queue.items.drain(..));
                if batch.is_empty() && finished {
                    queue.closed = true;
                }
            }
            if batch.is_empty() {
                if finished {
                    break;
                }
                tokio::select! {
                    () = work => {}
                    () = self.finished.cancelled() => {}
                }
                continue;
            }
            let places = batch.iter().filter(|item| takes_place(item)).count();
            for item in batch.drain(..) {
                self.deliver(&mut watchers, item);
            }
            // Places go back once their records are delivered.
            self.places.add_permits(places);
            if self.queue.lock().items.is_empty() {
                for watching in &mut watchers {
                    watching.call(|w| w.flushed());
                }
            }
        }
        for watching in &mut watchers {
            watching.call(|w| w.flushed());
        }
    }

    fn deliver(&self, watchers: &mut Vec<Watching<E, T>>, item: Item<E, T>) {
        match item {
            Item::Record(record) => {
                for watching in watchers.iter_mut().filter(|w| !w.paused) {
                    watching.call(|w| w.see(&record));
                }
                watchers.retain(|w| !w.panicked);
            }
            Item::Add {
                id,
                watcher,
                registered,
                stopped,
            } => {
                let mut watching = Watching {
                    id,
                    watcher,
                    paused: false,
                    panicked: false,
                };
                for actor in registered {
                    watching.call(|w| w.see(&Record::Registered(actor.clone())));
                }
                for actor in stopped {
                    watching.call(|w| w.see(&Record::Stopped(actor.clone())));
                }
                if !watching.panicked {
                    watchers.push(watching);
                }
            }
            Item::Remove(id) => watchers.retain(|w| w.id != id),
            Item::Pause(which) => set_paused(watchers, which, true),
            Item::Resume(which) => set_paused(watchers, which, false),
            Item::Barrier(done) => {
                for watching in watchers.iter_mut() {
                    watching.call(|w| w.flushed());
                }
                let _ = done.send(());
            }
        }
    }
}

/// Lets the coordinator, which knows no event type, wait for a
/// supervisor's monitors to have received every record before it reports.
pub(crate) trait DrainMonitors: Send + Sync {
    fn drained(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>>;
    /// Records lost because their producer was aborted at the deadline.
    fn records_lost(&self) -> u64;
}

impl<E: Event, T: Topic<E>> DrainMonitors for MonitorHub<E, T> {
    fn drained(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(self.barrier())
    }

    fn records_lost(&self) -> u64 {
        self.records_lost.load(Ordering::Relaxed)
    }
}

fn takes_place<E, T>(item: &Item<E, T>) -> bool {
    matches!(item, Item::Record(record) if record.takes_place())
}

fn set_paused<E, T>(watchers: &mut [Watching<E, T>], which: Option<MonitorId>, paused: bool) {
    for watching in watchers
        .iter_mut()
        .filter(|w| which.is_none_or(|id| id == w.id))
    {
        watching.paused = paused;
    }
}

/// A registered watcher in the dispatcher.
struct Watching<E, T> {
    id: MonitorId,
    watcher: Box<dyn Watcher<E, T>>,
    paused: bool,
    panicked: bool,
}

impl<E, T> Watching<E, T> {
    /// Call the watcher; a panic removes it.
    fn call(&mut self, f: impl FnOnce(&mut dyn Watcher<E, T>)) {
        if self.panicked {
            return;
        }
        let watcher = &mut *self.watcher;
        if catch_unwind(AssertUnwindSafe(|| f(watcher))).is_err() {
            error!(monitor = self.id, "a monitor panicked; it is removed");
            self.panicked = true;
        }
    }
}

/// Counts a record as lost if its producer is dropped while it waits for a
/// place.
struct Lost<'a, E, T> {
    hub: &'a MonitorHub<E, T>,
    armed: bool,
}

impl<E, T> Drop for Lost<'_, E, T> {
    fn drop(&mut self) {
        if self.armed {
            self.hub.records_lost.fetch_add(1, Ordering::Relaxed);
            warn!(
                "a monitoring record was lost: its producer was aborted at the shutdown deadline"
            );
        }
    }
}

/// Adapt a user's monitor for the dispatcher.
pub(crate) fn watcher<E: Event, T: Topic<E>, M: Monitor<E, T> + 'static>(
    monitor: M,
) -> Box<dyn Watcher<E, T>> {
    Box::new(MonitorWatcher(monitor))
}
