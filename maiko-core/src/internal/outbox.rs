//! A publisher's channels to the brokers of its supervisor (stage 1).
//!
//! Every publisher (each actor's context, and the supervisor with its
//! handles) has one channel per broker, each drained by a routing loop of
//! its own, so that a broker held up under `Block` never holds up another
//! and order is kept per publisher within a broker.
//!
//! The channel to the default broker exists from the start, and is the only
//! one of a supervisor whose topics all use the default broker: choosing it
//! then costs one atomic load. The other brokers are known only when the
//! supervisor starts (they are the brokers its actors' topics name), so
//! `start()` indexes them and hands each publisher its senders, with a
//! function from an event to its broker's index. A publish before the start
//! to a topic of another broker opens that broker's channel by name, under
//! a lock (only before the start), and `start()` adopts the channel: so the
//! events a publisher sends before and after the start to one broker travel
//! in one channel, in order.

use std::{
    ops::Deref,
    sync::{Arc, OnceLock},
};

use super::{
    lane::{Lane, LaneEnd, lane},
    watch::Clock,
};
use crate::topic::DEFAULT_BROKER;
use parking_lot::Mutex;

/// Chooses the index of an event's broker.
pub(crate) type Choose<E> = Arc<dyn Fn(&E) -> usize + Send + Sync>;

/// How `start()` set up the brokers.
enum Started<E> {
    /// One broker: every event goes to the default channel.
    One,
    /// Several: one sender per broker (index 0 is the default broker), and
    /// the function that picks one for an event.
    Several {
        senders: Box<[Lane<E>]>,
        choose: Choose<E>,
    },
}

/// Channels opened before the start to brokers other than the default one.
struct Early<E> {
    /// Set by [`Outbox::freeze`], just before `start()` indexes the brokers
    /// from these channels: no channel may be opened after that.
    frozen: bool,
    channels: Vec<EarlyChannel<E>>,
}

struct EarlyChannel<E> {
    broker: &'static str,
    sender: Lane<E>,
    /// Taken by `start()`.
    receiver: Option<LaneEnd<E>>,
}

/// One publisher's channels to the brokers.
pub(crate) struct Outbox<E> {
    default: Lane<E>,
    started: OnceLock<Started<E>>,
    early: Mutex<Early<E>>,
    /// The name of the broker of an event's topic.
    broker_of: fn(&E) -> &'static str,
    capacity: usize,
    /// The logical clock of the publishes from outside the actors, for the
    /// supervisor's outbox (an actor's publishes use its cell's clock).
    pub(crate) clock: Clock,
}

/// The channel a publish goes into: borrowed from the outbox, or (only
/// before the start, for a broker other than the default one) a clone.
pub(crate) enum Channel<'a, E> {
    Borrowed(&'a Lane<E>),
    Owned(Lane<E>),
}

impl<E> Deref for Channel<'_, E> {
    type Target = Lane<E>;

    fn deref(&self) -> &Self::Target {
        match self {
            Self::Borrowed(sender) => sender,
            Self::Owned(sender) => sender,
        }
    }
}

impl<E> Outbox<E> {
    /// An outbox with its channel to the default broker, whose receiving
    /// end is returned for that broker's routing loop.
    pub(crate) fn new(capacity: usize, broker_of: fn(&E) -> &'static str) -> (Self, LaneEnd<E>) {
        let (default, receiver) = lane(capacity);
        let outbox = Self {
            default,
            started: OnceLock::new(),
            early: Mutex::new(Early {
                frozen: false,
                channels: Vec::new(),
            }),
            broker_of,
            capacity,
            clock: Clock::new(),
        };
        (outbox, receiver)
    }

    /// The channel for `event`.
    #[inline]
    pub(crate) fn channel_for(&self, event: &E) -> Channel<'_, E> {
        match self.started.get() {
            Some(Started::One) => Channel::Borrowed(&self.default),
            Some(Started::Several { senders, choose }) => {
                Channel::Borrowed(&senders[choose(event)])
            }
            None => self.early_channel(event),
        }
    }

    /// Before the start: the default channel, or the channel opened (now or
    /// earlier) to the event's broker.
    #[cold]
    fn early_channel(&self, event: &E) -> Channel<'_, E> {
        let broker = (self.broker_of)(event);
        if broker == DEFAULT_BROKER {
            return Channel::Borrowed(&self.default);
        }
        let mut early = self.early.lock();
        if early.frozen {
            // `start()` is indexing the brokers, on another thread, without
            // yielding: wait the moment until it has set them.
            drop(early);
            while self.started.get().is_none() {
                std::thread::yield_now();
            }
            return self.channel_for(event);
        }
        if let Some(channel) = early.channels.iter().find(|c| c.broker == broker) {
            return Channel::Owned(channel.sender.clone());
        }
        let (sender, receiver) = lane(self.capacity);
        early.channels.push(EarlyChannel {
            broker,
            sender: sender.clone(),
            receiver: Some(receiver),
        });
        Channel::Owned(sender)
    }

    /// The name of the broker of `event`'s topic (for the report).
    pub(crate) fn broker_of(&self, event: &E) -> &'static str {
        (self.broker_of)(event)
    }

    /// Whether any of the channels is full, so a publish may wait.
    pub(crate) fn is_full(&self) -> bool {
        match self.started.get() {
            Some(Started::Several { senders, .. }) => {
                senders.iter().any(|lane| lane.sender.capacity() == 0)
            }
            _ => self.default.sender.capacity() == 0,
        }
    }

    /// The first half of `start()`: open no more channels, and return the
    /// brokers this outbox opened channels to, for the caller to index with
    /// the rest. Every outbox of a supervisor is frozen before any is
    /// started, and [`start`](Self::start) follows at once, without
    /// yielding; a publish meanwhile waits for it.
    pub(crate) fn freeze(&self) -> Vec<&'static str> {
        let mut early = self.early.lock();
        early.frozen = true;
        early.channels.iter().map(|c| c.broker).collect()
    }

    /// The second half of `start()`, with the brokers' names (index 0 is
    /// the default broker): set up one channel per broker and return, in
    /// the same order, the receiving ends the routing loops need (`None`
    /// for the default broker, whose receiver the caller already holds),
    /// and the receiving ends of the channels opened before to brokers not
    /// in `brokers` (none when `brokers` includes every broker [`freeze`]
    /// returned; an actor added while its supervisor runs may have some).
    ///
    /// [`freeze`]: Self::freeze
    pub(crate) fn start(
        &self,
        brokers: &[&'static str],
        choose: &Choose<E>,
    ) -> (Vec<Option<LaneEnd<E>>>, Vec<LaneEnd<E>>) {
        let mut early = self.early.lock();
        debug_assert!(early.frozen, "freeze() comes first");
        let mut receivers = vec![None];
        let started = if brokers.len() == 1 {
            Started::One
        } else {
            let mut senders = vec![self.default.clone()];
            for &broker in &brokers[1..] {
                let adopted = early.channels.iter_mut().find(|c| c.broker == broker);
                let (sender, receiver) = match adopted {
                    Some(channel) => (channel.sender.clone(), channel.receiver.take()),
                    None => {
                        let (sender, receiver) = lane(self.capacity);
                        (sender, Some(receiver))
                    }
                };
                senders.push(sender);
                receivers.push(receiver);
            }
            Started::Several {
                senders: senders.into_boxed_slice(),
                choose: Arc::clone(choose),
            }
        };
        let _ = self.started.set(started);
        let strays = early
            .channels
            .iter_mut()
            .filter_map(|c| c.receiver.take())
            .collect();
        (receivers, strays)
    }
}
