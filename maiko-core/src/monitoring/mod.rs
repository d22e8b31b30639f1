//! Watching the event flow: monitors called on every dispatch, delivery and
//! handling, and on the actors' lifecycle (feature `monitoring`).
//!
//! Implement [`Monitor`] (every method has a default that does nothing)
//! and add it with `supervisor.monitors().add(monitor).await`. Built-in
//! monitors are in [`monitors`](crate::monitors).
//!
//! # What a monitor is told, and when
//!
//! | callback | when |
//! |---|---|
//! | [`on_actor_registered`](Monitor::on_actor_registered) | for every actor, also those registered before the monitor was added |
//! | [`on_event_dispatched`](Monitor::on_event_dispatched) | a copy of an event was put into a subscriber's mailbox |
//! | [`on_overflow`](Monitor::on_overflow) | a subscriber's mailbox was full; the policy then applies (a `Block` copy is dispatched once there is room) |
//! | [`on_event_delivered`](Monitor::on_event_delivered) | the subscriber took the copy, just before `handle_event` |
//! | [`on_event_handled`](Monitor::on_event_handled) | `handle_event` returned |
//! | [`on_error`](Monitor::on_error) | a handler or step returned an error (other than the shutdown's own) |
//! | [`on_step_enter`](Monitor::on_step_enter) / [`on_step_exit`](Monitor::on_step_exit) | around every call of `step()` |
//! | [`on_actor_stop`](Monitor::on_actor_stop) | the actor's task ended (after `on_shutdown`) |
//! | [`on_flush`](Monitor::on_flush) | everything queued so far has been delivered |
//!
//! For one copy of an event the order is dispatched, delivered, handled.
//! Events handled during the shutdown drain are reported like any other.
//!
//! # Never lost, never in the way
//!
//! Monitors run on a task of their own, one at a time, in the order they
//! were added, never on the actors' tasks: a slow monitor does not slow a
//! handler down until the queue of records for the monitors is full
//! ([`SupervisorConfig::with_monitoring_channel_capacity`](crate::SupervisorConfig::with_monitoring_channel_capacity),
//! 1024 by default). Then the actors making records wait for room: no record
//! is ever dropped, and memory stays bounded. Only a record whose producer
//! was aborted at the shutdown deadline can be lost; it is counted in the
//! [`ShutdownReport`](crate::ShutdownReport) (`monitor_records_lost`) and
//! logged. While no monitor is registered, no record is made.
//!
//! A monitor that panics is removed, with an error logged; the others go
//! on. A monitor added after the supervisor has stopped gets an error from
//! [`MonitorRegistry::try_add`] ([`MonitorRegistry::add`] logs it and returns
//! a handle that does nothing).

use std::{fmt, marker::PhantomData, sync::Arc, time::Duration};

use crate::{
    ActorId, DefaultTopic, Envelope, Error, Event, OverflowPolicy, Result, StepAction, Topic,
    internal::monitor_hub::{self, MonitorHub},
};

/// Identifies a monitor registered on a supervisor. Ids of removed monitors
/// are reused, so adding and removing monitors never runs out of ids.
pub type MonitorId = u16;

/// Watches the event flow of a supervisor. Every method defaults to doing
/// nothing; implement the ones you need.
///
/// Monitors are called on the supervisor's monitoring task, one record at a
/// time (see the [module docs](self)), so they need to be `Send` but not
/// `Sync`, and may use interior mutability freely. Keep them quick: while a
/// monitor is slow, records queue up, and once the queue is full the actors
/// wait.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, atomic::{AtomicUsize, Ordering}};
/// use maiko_core::{ActorId, DefaultTopic, Envelope, Event, monitoring::Monitor};
///
/// #[derive(Clone)]
/// struct Ping;
/// impl Event for Ping {}
///
/// #[derive(Default, Clone)]
/// struct CountHandled(Arc<AtomicUsize>);
///
/// impl Monitor<Ping> for CountHandled {
///     fn on_event_handled(&self, _: &Envelope<Ping>, _: &DefaultTopic, _: &ActorId) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///     }
/// }
/// ```
pub trait Monitor<E: Event, T: Topic<E> = DefaultTopic>: Send {
    /// A copy of `envelope` was put into `receiver`'s mailbox.
    fn on_event_dispatched(&self, envelope: &Envelope<E>, topic: &T, receiver: &ActorId) {
        let _ = (envelope, topic, receiver);
    }

    /// `receiver` took its copy of `envelope`; `handle_event` runs next.
    fn on_event_delivered(&self, envelope: &Envelope<E>, topic: &T, receiver: &ActorId) {
        let _ = (envelope, topic, receiver);
    }

    /// `receiver`'s `handle_event` returned for `envelope` (with `Ok` or
    /// an error).
    fn on_event_handled(&self, envelope: &Envelope<E>, topic: &T, receiver: &ActorId) {
        let _ = (envelope, topic, receiver);
    }

    /// An actor is registered. Monitors added later are told of every
    /// actor registered before them.
    fn on_actor_registered(&self, actor_id: &ActorId) {
        let _ = actor_id;
    }

    /// A handler or step of `actor_id` returned this error (before its
    /// `on_error` decided what it means).
    fn on_error(&self, err: &str, actor_id: &ActorId) {
        let _ = (err, actor_id);
    }

    /// `actor_id`'s `step()` is called.
    fn on_step_enter(&self, actor_id: &ActorId) {
        let _ = actor_id;
    }

    /// `actor_id`'s `step()` returned this action.
    fn on_step_exit(&self, step_action: &StepAction, actor_id: &ActorId) {
        let _ = (step_action, actor_id);
    }

    /// `receiver`'s mailbox was full when a copy of `envelope` was routed
    /// to it; `policy` applies next (under `Block`, the copy is dispatched
    /// once there is room).
    fn on_overflow(
        &self,
        envelope: &Envelope<E>,
        topic: &T,
        receiver: &ActorId,
        policy: OverflowPolicy,
    ) {
        let _ = (envelope, topic, receiver, policy);
    }

    /// `actor_id`'s task ended, after its `on_shutdown`.
    fn on_actor_stop(&self, actor_id: &ActorId) {
        let _ = actor_id;
    }

    /// Every record queued so far has been delivered (the queue ran empty,
    /// or [`MonitorHandle::flush`] asked): a monitor that buffers output
    /// writes it out here. Also called once at the end.
    fn on_flush(&self) {}
}

/// The monitors of one supervisor, from
/// [`Supervisor::monitors`](crate::Supervisor::monitors).
pub struct MonitorRegistry<E: Event, T: Topic<E>> {
    hub: Arc<MonitorHub<E, T>>,
}

impl<E: Event, T: Topic<E>> MonitorRegistry<E, T> {
    pub(crate) fn new(hub: Arc<MonitorHub<E, T>>) -> Self {
        Self { hub }
    }

    /// Add a monitor; it is told of every actor registered so far, then
    /// of every record from now on.
    ///
    /// If the monitor cannot be added (see [`try_add`](Self::try_add)), an
    /// error is logged and the handle returned does nothing.
    pub async fn add<M: Monitor<E, T> + 'static>(&self, monitor: M) -> MonitorHandle<E, T> {
        match self.try_add(monitor).await {
            Ok(handle) => handle,
            Err(error) => {
                tracing::error!(%error, "monitor not added");
                MonitorHandle {
                    hub: Arc::clone(&self.hub),
                    id: None,
                    _topic: PhantomData,
                }
            }
        }
    }

    /// Add a monitor, or say why not.
    ///
    /// Must be called from within a tokio runtime (monitors run on a task
    /// of their own).
    ///
    /// # Errors
    ///
    /// [`Error::Stopping`] if the supervisor has already stopped (no record
    /// would ever come), [`Error::InvalidConfig`] if 65,536 monitors are
    /// registered at once.
    pub async fn try_add<M: Monitor<E, T> + 'static>(
        &self,
        monitor: M,
    ) -> Result<MonitorHandle<E, T>> {
        if self.hub.has_finished() {
            return Err(Error::Stopping);
        }
        let id = self
            .hub
            .add(monitor_hub::watcher(monitor))
            .ok_or(Error::InvalidConfig(
                "65,536 monitors are registered at once",
            ))?;
        Ok(MonitorHandle {
            hub: Arc::clone(&self.hub),
            id: Some(id),
            _topic: PhantomData,
        })
    }

    /// Remove the monitor with this id (nothing happens if there is none).
    pub async fn remove(&self, id: MonitorId) {
        self.hub.remove(id);
    }

    /// Stop calling every monitor until [`resume`](Self::resume); records
    /// meanwhile are not kept for them.
    pub async fn pause(&self) {
        self.hub.pause(None);
    }

    /// Call every monitor again.
    pub async fn resume(&self) {
        self.hub.resume(None);
    }

    #[cfg(feature = "test-harness")]
    pub(crate) fn hub(&self) -> &Arc<MonitorHub<E, T>> {
        &self.hub
    }
}

impl<E: Event, T: Topic<E>> fmt::Debug for MonitorRegistry<E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MonitorRegistry")
            .field("hub", &self.hub)
            .finish()
    }
}

/// A registered monitor: pause, resume, flush or remove it.
pub struct MonitorHandle<E: Event, T: Topic<E>> {
    hub: Arc<MonitorHub<E, T>>,
    /// `None` for a monitor that could not be added.
    id: Option<MonitorId>,
    _topic: PhantomData<fn() -> T>,
}

impl<E: Event, T: Topic<E>> MonitorHandle<E, T> {
    /// The monitor's id (`MonitorId::MAX` for a monitor that could not be
    /// added).
    pub fn id(&self) -> MonitorId {
        self.id.unwrap_or(MonitorId::MAX)
    }

    /// Remove the monitor.
    pub async fn remove(self) {
        if let Some(id) = self.id {
            self.hub.remove(id);
        }
    }

    /// Stop calling the monitor until [`resume`](Self::resume); records
    /// meanwhile are not kept for it.
    pub async fn pause(&self) {
        if let Some(id) = self.id {
            self.hub.pause(Some(id));
        }
    }

    /// Call the monitor again.
    pub async fn resume(&self) {
        if let Some(id) = self.id {
            self.hub.resume(Some(id));
        }
    }

    /// Wait until every record made before this call has been delivered to
    /// the monitors (and their [`on_flush`](Monitor::on_flush) was called).
    ///
    /// This is a barrier in the queue of records, not a timer: it returns
    /// as soon as the monitoring task reaches it, also under continuous
    /// traffic. `settle_window` is kept for compatibility and not used.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future changes nothing.
    pub async fn flush(&self, settle_window: Duration) {
        let _ = settle_window;
        self.hub.barrier().await;
    }
}

impl<E: Event, T: Topic<E>> Clone for MonitorHandle<E, T> {
    fn clone(&self) -> Self {
        Self {
            hub: Arc::clone(&self.hub),
            id: self.id,
            _topic: PhantomData,
        }
    }
}

impl<E: Event, T: Topic<E>> fmt::Debug for MonitorHandle<E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MonitorHandle")
            .field("id", &self.id)
            .finish()
    }
}
