//! The seam with the feature `monitoring` on: records go to the
//! supervisor's [`MonitorHub`] (see the [parent module](super)).

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use tokio_util::sync::CancellationToken;

use super::super::{
    mail::Mail,
    monitor_hub::{DrainMonitors, MonitorHub, Record},
};
use crate::{ActorId, Error, Event, OverflowPolicy, StepAction, Topic};

/// A publisher's logical clock (an actor's, or the supervisor's for the
/// publishes from outside): one tick per publish, and on handling an event
/// at least one more than the event's clock. Every publish ticks it
/// (cheaper than asking whether a monitor watches); a handling moves it
/// only while one does, and only records read it.
///
/// A load and a store, not a locked read-modify-write: the actor's own
/// task is the one that publishes (a clone of its context in another task
/// may repeat a value, which only leaves two records of equal rank in the
/// order). Relaxed: it orders records, not memory.
#[derive(Debug)]
pub(crate) struct Clock(AtomicU64);

impl Clock {
    pub(crate) const fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    /// The clock of a publish.
    #[inline]
    pub(crate) fn tick(&self) -> u64 {
        let now = self.0.load(Ordering::Relaxed) + 1;
        self.0.store(now, Ordering::Relaxed);
        now
    }

    /// Handling an event published at `clock`: the clock moves past it;
    /// returns the clock of this handling.
    #[inline]
    fn observe(&self, clock: u64) -> u64 {
        let now = self.0.load(Ordering::Relaxed).max(clock) + 1;
        self.0.store(now, Ordering::Relaxed);
        now
    }
}

/// One supervisor's monitoring.
pub(crate) struct Watch<E, T> {
    hub: Arc<MonitorHub<E, T>>,
}

impl<E, T> Clone for Watch<E, T> {
    fn clone(&self) -> Self {
        Self {
            hub: Arc::clone(&self.hub),
        }
    }
}

/// A batch, watched if a monitor was registered when it began.
pub(crate) struct Watching<'a, E, T> {
    hub: Option<&'a MonitorHub<E, T>>,
}

/// What the records of one copy share: its topic (computed once), and the
/// receiver's clock at handling. Empty when no monitor watches.
pub(crate) struct Sight<T> {
    topic: Option<T>,
    clock: u64,
}

/// The coordinator's way to a member's monitors.
pub(crate) struct Drain(Option<Arc<dyn DrainMonitors>>);

/// Tells the monitors that the actor stopped when its task ends, also when
/// it is aborted.
pub(crate) struct StopRecord(Option<(Arc<dyn StoppedSink>, ActorId)>);

/// The hub, with its types erased, for [`StopRecord`].
pub(crate) trait StoppedSink: Send + Sync {
    fn stopped(&self, actor: &ActorId);
}

impl<E: Event, T: Topic<E>> StoppedSink for MonitorHub<E, T> {
    fn stopped(&self, actor: &ActorId) {
        MonitorHub::stopped(self, actor);
    }
}

impl Drop for StopRecord {
    fn drop(&mut self) {
        if let Some((hub, actor)) = &self.0 {
            hub.stopped(actor);
        }
    }
}

impl<E: Event, T: Topic<E>> Watch<E, T> {
    /// The monitoring of a supervisor whose shutdown ends when `finished`
    /// fires; `capacity` bounds the queue of records.
    pub(crate) fn new(capacity: usize, finished: CancellationToken) -> Self {
        Self {
            hub: Arc::new(MonitorHub::new(capacity, finished)),
        }
    }

    /// The hub, for the supervisor's `MonitorRegistry`.
    pub(crate) fn hub(&self) -> &Arc<MonitorHub<E, T>> {
        &self.hub
    }

    /// The start of a batch: watched if any monitor is registered now.
    #[inline]
    pub(crate) fn watching(&self) -> Watching<'_, E, T> {
        Watching {
            hub: self.hub.is_active().then_some(&*self.hub),
        }
    }

    /// An actor was registered.
    pub(crate) fn registered(&self, actor: &ActorId) {
        self.hub.registered(actor);
    }

    /// A guard that tells the monitors when the actor's task ends.
    pub(crate) fn on_stop(&self, actor: &ActorId) -> StopRecord {
        let hub = Arc::clone(&self.hub) as Arc<dyn StoppedSink>;
        StopRecord(Some((hub, actor.clone())))
    }

    /// For the coordinator.
    pub(crate) fn drain(&self) -> Drain {
        Drain(Some(Arc::clone(&self.hub) as Arc<dyn DrainMonitors>))
    }
}

impl<E: Event, T: Topic<E>> Watching<'_, E, T> {
    /// Whether this batch is watched.
    #[inline]
    pub(crate) fn is_on(&self) -> bool {
        self.hub.is_some()
    }

    /// The sight of a copy no record is made of (an unwatched batch).
    #[inline]
    pub(crate) fn unseen(&self) -> Sight<T> {
        Sight {
            topic: None,
            clock: 0,
        }
    }

    /// A mailbox was full; `policy` says what happens next.
    pub(crate) async fn overflow(
        &self,
        mail: &Mail<E>,
        topic: &T,
        actor: &ActorId,
        policy: OverflowPolicy,
    ) {
        if let Some(hub) = self.hub {
            let record = Record::Overflow(Arc::clone(mail), topic.clone(), actor.clone(), policy);
            hub.emit(record).await;
        }
    }

    /// The actor took a copy out of its mailbox.
    pub(crate) async fn dispatched(&self, mail: &Mail<E>, actor: &ActorId) -> Sight<T> {
        let Some(hub) = self.hub else {
            return self.unseen();
        };
        let topic = T::from_event(mail.event());
        hub.emit(Record::Dispatched(
            Arc::clone(mail),
            topic.clone(),
            actor.clone(),
        ))
        .await;
        Sight {
            topic: Some(topic),
            clock: 0,
        }
    }

    /// The actor is about to handle the copy: its clock moves past the
    /// event's.
    pub(crate) async fn delivered(
        &self,
        sight: &mut Sight<T>,
        mail: &Mail<E>,
        actor: &ActorId,
        clock: &Clock,
    ) {
        if let (Some(hub), Some(topic)) = (self.hub, &sight.topic) {
            sight.clock = clock.observe(u64::from(mail.clock));
            hub.emit(Record::Delivered(
                Arc::clone(mail),
                topic.clone(),
                actor.clone(),
            ))
            .await;
        }
    }

    /// The handler returned `Ok`.
    pub(crate) async fn handled(&self, sight: Sight<T>, mail: &Mail<E>, actor: &ActorId) {
        if let (Some(hub), Some(topic)) = (self.hub, sight.topic) {
            let handled = Record::Handled {
                mail: Arc::clone(mail),
                topic,
                receiver: actor.clone(),
                clock: sight.clock,
            };
            hub.emit(handled).await;
        }
    }

    /// A handler or a step returned an error the actor is told of.
    pub(crate) async fn error(&self, error: &Error, actor: &ActorId) {
        if let Some(hub) = self.hub {
            hub.emit(Record::Error(error.to_string(), actor.clone()))
                .await;
        }
    }

    pub(crate) async fn step_enter(&self, actor: &ActorId) {
        if let Some(hub) = self.hub {
            hub.emit(Record::StepEnter(actor.clone())).await;
        }
    }

    pub(crate) async fn step_exit(&self, action: StepAction, actor: &ActorId) {
        if let Some(hub) = self.hub {
            hub.emit(Record::StepExit(action, actor.clone())).await;
        }
    }
}

impl Drain {
    /// No monitors (a supervisor that never started).
    pub(crate) fn none() -> Self {
        Self(None)
    }

    /// Resolves once the monitors have received every record queued.
    pub(crate) async fn drained(&self) {
        if let Some(monitors) = &self.0 {
            monitors.drained().await;
        }
    }

    /// Records lost because their producer was aborted at the deadline.
    pub(crate) fn records_lost(&self) -> u64 {
        self.0.as_ref().map_or(0, |m| m.records_lost())
    }
}
