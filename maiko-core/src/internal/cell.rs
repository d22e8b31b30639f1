//! What the runtime shares about one actor: its identity, where its handler
//! is in a drain chain, its counters for the shutdown report, and how it
//! ended.

use std::{
    borrow::Cow,
    sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering},
    task::Waker,
};

use parking_lot::Mutex;

use super::gate::Origin;
use crate::{ActorId, Error};

/// Lifecycle of an actor as the broker sees it.
pub(crate) const RUNNING: u8 = 0;
/// The actor stopped itself: it takes no new events.
pub(crate) const SELF_STOPPED: u8 = 1;
/// The actor failed: events meant for it are lost.
pub(crate) const FAILED: u8 = 2;

/// What an actor is doing, recorded only when it waits (see
/// [`guarded`](super::guard::guarded)), for the shutdown report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Activity {
    Starting,
    Idle,
    Handling(Cow<'static, str>),
    Stepping,
    Sending(Cow<'static, str>),
    ShuttingDown,
}

impl Activity {
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Starting => "in on_start".to_owned(),
            Self::Idle => "idle".to_owned(),
            Self::Handling(topic) => format!("handling an event of topic '{topic}'"),
            Self::Stepping => "in step()".to_owned(),
            Self::Sending(topic) => format!("blocked publishing to topic '{topic}'"),
            Self::ShuttingDown => "in on_shutdown".to_owned(),
        }
    }
}

/// How an actor task ended, as recorded by the task itself.
#[derive(Debug, Clone)]
pub(crate) enum Ending {
    Completed,
    Failed(Error),
    Interrupted,
}

/// Per-actor counters. `routed` is written by the brokers, the rest by the
/// actor's own task.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) routed: AtomicU64,
    pub(crate) handled: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) lost: AtomicU64,
    pub(crate) interrupted: AtomicU64,
    pub(crate) abandoned: AtomicU64,
}

impl Counters {
    #[inline]
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        // Relaxed: counters are read after the tasks that write them have
        // been joined (or aborted and joined), which synchronises.
        if n > 0 {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }
}

/// The shared part of one actor.
#[derive(Debug)]
pub(crate) struct ActorCell {
    pub(crate) id: ActorId,
    /// 0 outside `handle_event`; `depth + 1` while handling an event of
    /// drain depth `depth`. Written and read by the actor's own task only
    /// (a `Context` is used from within the handler), hence Relaxed.
    in_handler: AtomicU32,
    status: AtomicU8,
    stop_requested: AtomicBool,
    /// The actor task's waker while it waits for its mailbox, so a stop
    /// request, a failure or the deadline can wake it without it having to
    /// build a wait future for each of them every time it waits.
    waker: Mutex<Option<Waker>>,
    pub(crate) counters: Counters,
    /// What the actor's task is doing, and the topic a publish of it is
    /// waiting on, if any. Two layers because a handler's first poll can
    /// record a waiting publish before the handler itself is recorded.
    activity: Mutex<(Activity, Option<Cow<'static, str>>)>,
    ending: Mutex<Option<Ending>>,
    failure: Mutex<Option<Error>>,
}

impl ActorCell {
    pub(crate) fn new(id: ActorId) -> Self {
        Self {
            id,
            in_handler: AtomicU32::new(0),
            status: AtomicU8::new(RUNNING),
            stop_requested: AtomicBool::new(false),
            waker: Mutex::new(None),
            counters: Counters::default(),
            activity: Mutex::new((Activity::Starting, None)),
            ending: Mutex::new(None),
            failure: Mutex::new(None),
        }
    }

    #[inline]
    pub(crate) fn origin(&self) -> Origin {
        match self.in_handler.load(Ordering::Relaxed) {
            0 => Origin::Outside,
            n => Origin::Handler {
                parent_depth: n - 1,
            },
        }
    }

    #[inline]
    pub(crate) fn enter_handler(&self, depth: u32) {
        self.in_handler
            .store(depth.saturating_add(1), Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn leave_handler(&self) {
        self.in_handler.store(0, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn status(&self) -> u8 {
        self.status.load(Ordering::Acquire)
    }

    /// Ask the actor to stop itself (from `Context::stop`).
    pub(crate) fn request_stop(&self) {
        self.stop_requested.store(true, Ordering::Release);
        self.wake();
    }

    /// Remember the waiting task's waker. The caller re-checks its flags
    /// after this: a flag set before the registration is seen by that
    /// re-check, one set after it finds the waker (the mutex orders both).
    pub(crate) fn register(&self, waker: &Waker) {
        let mut slot = self.waker.lock();
        if !slot
            .as_ref()
            .is_some_and(|current| current.will_wake(waker))
        {
            *slot = Some(waker.clone());
        }
    }

    /// Wake the actor task if it is waiting.
    pub(crate) fn wake(&self) {
        let waker = self.waker.lock().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    pub(crate) fn stop_requested(&self) -> bool {
        self.stop_requested.load(Ordering::Acquire)
    }

    pub(crate) fn mark_self_stopped(&self) {
        let _ = self.status.compare_exchange(
            RUNNING,
            SELF_STOPPED,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    /// Record a failure. The first one wins; the actor is woken so it stops.
    pub(crate) fn fail(&self, error: Error) {
        let mut failure = self.failure.lock();
        if failure.is_none() {
            *failure = Some(error);
        }
        drop(failure);
        self.status.store(FAILED, Ordering::Release);
        self.wake();
    }

    pub(crate) fn take_failure(&self) -> Option<Error> {
        self.failure.lock().take()
    }

    pub(crate) fn has_failed(&self) -> bool {
        self.status() == FAILED
    }

    pub(crate) fn set_activity(&self, activity: Activity) {
        self.activity.lock().0 = activity;
    }

    /// Record (or clear) a publish waiting for room on a topic.
    pub(crate) fn set_sending(&self, topic: Option<Cow<'static, str>>) {
        self.activity.lock().1 = topic;
    }

    pub(crate) fn activity(&self) -> Activity {
        match &*self.activity.lock() {
            (_, Some(topic)) => Activity::Sending(topic.clone()),
            (activity, None) => activity.clone(),
        }
    }

    pub(crate) fn set_ending(&self, ending: Ending) {
        *self.ending.lock() = Some(ending);
    }

    pub(crate) fn ending(&self) -> Option<Ending> {
        self.ending.lock().clone()
    }
}
