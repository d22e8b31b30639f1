//! A publisher's stage-1 channel to one broker (a *lane*): the bounded
//! channel its publishes go through, and the [`Spill`] beside it that takes
//! what goes over capacity to break a cycle (see `internal::cycle`).
//!
//! Plain data and the one helper every drop guard uses to empty a channel;
//! nothing here knows the gate, the broker or the actors.

use std::{
    collections::VecDeque,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use parking_lot::{Mutex, MutexGuard};
use tokio::sync::{
    Notify,
    mpsc::{self, Receiver, Sender, error::TryRecvError},
};

use super::mail::Mail;

/// A publisher's stage-1 channel to one broker, with the spill that takes
/// what goes over its capacity to break a cycle (see `internal::cycle`).
pub(crate) struct Lane<E> {
    pub(crate) sender: Sender<Mail<E>>,
    pub(crate) spill: Arc<Spill<E>>,
}

impl<E> Clone for Lane<E> {
    fn clone(&self) -> Self {
        Self {
            sender: self.sender.clone(),
            spill: Arc::clone(&self.spill),
        }
    }
}

/// The routing loop's end of a [`Lane`].
pub(crate) struct LaneEnd<E> {
    pub(crate) receiver: Receiver<Mail<E>>,
    pub(crate) spill: Arc<Spill<E>>,
}

/// A new lane of `capacity`.
pub(crate) fn lane<E>(capacity: usize) -> (Lane<E>, LaneEnd<E>) {
    let (sender, receiver) = mpsc::channel(capacity);
    let spill = Arc::new(Spill::new());
    let end = LaneEnd {
        receiver,
        spill: Arc::clone(&spill),
    };
    (Lane { sender, spill }, end)
}

/// Events put into a lane beyond its channel's capacity to break a cycle,
/// routed after the channel events sent before them.
pub(crate) struct Spill<E> {
    len: AtomicUsize,
    queue: Mutex<SpillQueue<E>>,
    /// Woken when the routing loop empties the spill, for publishers that
    /// wait for it before they use the channel again.
    drained: Notify,
}

struct SpillQueue<E> {
    items: VecDeque<Mail<E>>,
    /// Set by the routing loop at its end: nothing more may come.
    closed: bool,
}

impl<E> Spill<E> {
    pub(crate) fn new() -> Self {
        Self {
            len: AtomicUsize::new(0),
            queue: Mutex::new(SpillQueue {
                items: VecDeque::new(),
                closed: false,
            }),
            drained: Notify::new(),
        }
    }

    /// How many events wait in the spill (one atomic load: the hot path's
    /// only look at it).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// The key of this spill's lane in the wait-for graph.
    pub(crate) fn key(self: &Arc<Self>) -> usize {
        Arc::as_ptr(self).cast::<()>() as usize
    }

    /// Put `mail` in, unless the routing loop has ended. Call with the
    /// graph's lock held (see the module docs).
    pub(crate) fn push(&self, admit: impl FnOnce() -> Option<Mail<E>>) -> Result<(), ()> {
        let mut queue = self.queue.lock();
        if queue.closed {
            return Err(());
        }
        let mail = admit().ok_or(())?;
        queue.items.push_back(mail);
        self.len.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// Take the first `n` events out, into `batch`.
    pub(crate) fn take(&self, n: usize, batch: &mut Vec<Mail<E>>) {
        self.take_from(self.queue.lock(), n, batch);
    }

    /// Take everything out and take nothing more.
    pub(crate) fn close(&self, batch: &mut Vec<Mail<E>>) {
        let mut queue = self.queue.lock();
        queue.closed = true;
        self.take_from(queue, usize::MAX, batch);
    }

    fn take_from(
        &self,
        mut queue: MutexGuard<'_, SpillQueue<E>>,
        n: usize,
        batch: &mut Vec<Mail<E>>,
    ) {
        let n = n.min(queue.items.len());
        batch.extend(queue.items.drain(..n));
        self.len.fetch_sub(n, Ordering::Release);
        if queue.items.is_empty() {
            drop(queue);
            self.drained.notify_waiters();
        }
    }

    /// Resolves once the spill is empty.
    pub(crate) async fn drained(&self) {
        loop {
            let notified = self.drained.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.len() == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Close a channel and take out everything left in it, to the end, passing
/// each to `visit`; returns how many there were.
///
/// For the drop guards of aborted tasks. `try_recv` on a closed channel
/// says `Empty` only while a sender holds a permit it reserved before the
/// close, and every sender here writes with its permit in the same poll
/// that reserved it, on another worker: the wait is that short. It says
/// `Disconnected` once nothing is left and nothing can come.
pub(crate) fn close_and_drain<T>(receiver: &mut Receiver<T>, mut visit: impl FnMut(T)) -> u64 {
    receiver.close();
    let mut left = 0;
    loop {
        match receiver.try_recv() {
            Ok(item) => {
                left += 1;
                visit(item);
            }
            Err(TryRecvError::Empty) => std::thread::yield_now(),
            Err(TryRecvError::Disconnected) => return left,
        }
    }
}
