//! Request-reply through the actors: a [`Reply`] slot carried by an
//! event, and the [`Answer`] the asker awaits (documented on [`Reply`]).

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use parking_lot::Mutex;
use tokio::sync::oneshot;

/// The answering end of a question, to put in an event: a handler calls
/// [`send`](Self::send), and the asker's [`Answer`] resolves with the
/// value.
///
/// Clones share one slot: the first value sent is the answer, and when the
/// last clone is dropped without one, the answer resolves with
/// [`NoAnswer::Unanswered`] (see below for what keeps a clone alive).
///
/// It is `Clone + Send + Sync + Debug` whatever `T` is (given `T: Send`),
/// so an event holding it derives `Clone` and `Debug` as before; it has no
/// `PartialEq`, `Hash` or serde support, so an event holding it cannot be
/// its own topic (`SelfRouting`) or be recorded by the `Recorder`.
///
/// # Why an answer never hangs
///
/// The slot lives as long as the event that carries it: every copy of an
/// event (one per subscriber) shares one `Arc<Envelope>`, and the runtime
/// lets go of it once every copy is settled — handled, dropped under
/// [`OverflowPolicy::Drop`](crate::OverflowPolicy::Drop), lost to a failed
/// or panicking handler, interrupted, abandoned at the shutdown deadline,
/// or never routed because no actor subscribes to its topic. When the last
/// copy of the slot goes without an answer, the [`Answer`] resolves at once
/// with [`NoAnswer::Unanswered`]. No timer is involved; [`Answer::timeout`]
/// adds one for a caller who wants a bound of its own.
///
/// What keeps a copy of the slot alive, and so keeps the answer waiting:
///
/// - an event refused at the gate, handed back in the
///   [`SendError`](crate::SendError) the caller still holds (drop it, or
///   answer through [`SendError::into_event`](crate::SendError::into_event));
/// - a handler that clones the event, or the slot, and keeps the clone
///   (a [`Completion`](crate::Completion) does not hold the event);
/// - the other events of the batch the actor took from its mailbox with
///   this one: the copies of a batch are let go together once the whole
///   batch is handled (up to `max_events_per_tick` events while a step is
///   due, up to 64 otherwise);
/// - a monitor that keeps envelopes, or has not yet seen them: the test
///   harness's recording (until the harness is dropped), a monitor's queue;
/// - anything of the application's that holds the event (a dead letter not
///   yet taken, a retry queue).
///
/// # Order
///
/// Events of one publisher reach a subscriber in the order published; no
/// order holds between publishers. A query sent from a
/// [`SupervisorHandle`](crate::SupervisorHandle) can overtake events that an
/// actor published before it, and be answered before they are handled. To
/// ask about everything published so far, send the query from the same
/// publisher as the events, or ask once their tracked delivery
/// ([`send_tracked`](crate::SupervisorHandle::send_tracked)) has resolved.
///
/// # Examples
///
/// ```
/// use maiko_core::{Actor, Answer, DefaultTopic, Envelope, Event, Reply, Result, Supervisor};
///
/// #[derive(Clone, Debug)]
/// enum Ledger {
///     Add(u64),
///     Total(Reply<u64>),
/// }
/// impl Event for Ledger {}
///
/// struct Book {
///     total: u64,
/// }
///
/// impl Actor for Book {
///     type Event = Ledger;
///
///     async fn handle_event(&mut self, envelope: &Envelope<Ledger>) -> Result {
///         match envelope.event() {
///             Ledger::Add(n) => self.total += n,
///             // Only the first answer counts; a later one comes back.
///             Ledger::Total(reply) => {
///                 let _ = reply.send(self.total);
///             }
///         }
///         Ok(())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result {
/// let mut sup = Supervisor::<Ledger>::default();
/// sup.add_actor("book", |_| Book { total: 0 }, [DefaultTopic])?;
/// sup.start().await?;
/// let handle = sup.handle();
///
/// // Sent from the same publisher as the query, so handled before it.
/// handle.send(Ledger::Add(40)).await?;
/// handle.send(Ledger::Add(2)).await?;
/// let (reply, answer): (Reply<u64>, Answer<u64>) = Reply::new();
/// handle.send(Ledger::Total(reply)).await?;
/// assert_eq!(answer.await?, 42);
///
/// sup.stop().await
/// # }
/// ```
pub struct Reply<T> {
    slot: Arc<Slot<T>>,
}

/// What the clones of a [`Reply`] share. Dropping it (with the last clone)
/// drops an unused sender, which resolves the [`Answer`].
struct Slot<T> {
    sender: Mutex<Option<oneshot::Sender<T>>>,
}

impl<T> Reply<T> {
    /// A reply slot and the answer that awaits it.
    #[must_use = "the reply goes into an event, and the answer is awaited"]
    pub fn new() -> (Reply<T>, Answer<T>) {
        let (sender, receiver) = oneshot::channel();
        let reply = Reply {
            slot: Arc::new(Slot {
                sender: Mutex::new(Some(sender)),
            }),
        };
        (reply, Answer { receiver })
    }

    /// Answer with `value`. The first answer sent through any clone is the
    /// one the asker gets.
    ///
    /// # Errors
    ///
    /// The value handed back in a [`ReplyError`]:
    /// [`AlreadyAnswered`](ReplyError::AlreadyAnswered) if some clone has
    /// answered before, [`NotWaiting`](ReplyError::NotWaiting) if the asker
    /// dropped its [`Answer`] (it stopped waiting, or its timeout passed).
    pub fn send(&self, value: T) -> Result<(), ReplyError<T>> {
        let mut sender = self.slot.sender.lock();
        match sender.take() {
            None => Err(ReplyError::AlreadyAnswered(value)),
            Some(open) if open.is_closed() => {
                // Left in place: every later answer is told the same.
                *sender = Some(open);
                Err(ReplyError::NotWaiting(value))
            }
            Some(open) => open.send(value).map_err(ReplyError::NotWaiting),
        }
    }

    /// Whether an answer has been sent through some clone.
    pub fn is_answered(&self) -> bool {
        self.slot.sender.lock().is_none()
    }
}

impl<T> Clone for Reply<T> {
    fn clone(&self) -> Self {
        Self {
            slot: Arc::clone(&self.slot),
        }
    }
}

impl<T> fmt::Debug for Reply<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("answered", &self.is_answered())
            .finish()
    }
}

/// The asking end of a question: a future of the value a handler sent
/// through the [`Reply`], or of [`NoAnswer`] once no answer can come.
///
/// # Cancel safety
///
/// Cancel safe: it can be polled again after a `select!` branch lost. Once
/// it is dropped, an answer sent later comes back to the handler as
/// [`ReplyError::NotWaiting`].
#[must_use = "an answer does nothing unless awaited"]
pub struct Answer<T> {
    receiver: oneshot::Receiver<T>,
}

impl<T> Answer<T> {
    /// The answer, or [`NoAnswer::TimedOut`] if none has come within
    /// `limit` (and [`NoAnswer::Unanswered`] as soon as none can come).
    ///
    /// # Errors
    ///
    /// [`NoAnswer`], saying why no value came.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as the answer itself; dropping it drops the answer.
    pub async fn timeout(self, limit: Duration) -> Result<T, NoAnswer> {
        match tokio::time::timeout(limit, self).await {
            Ok(answer) => answer,
            Err(_) => Err(NoAnswer::TimedOut(limit)),
        }
    }
}

impl<T> Future for Answer<T> {
    type Output = Result<T, NoAnswer>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.receiver)
            .poll(cx)
            .map(|received| received.map_err(|_| NoAnswer::Unanswered))
    }
}

impl<T> fmt::Debug for Answer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Answer").finish_non_exhaustive()
    }
}

/// Why an [`Answer`] came without a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoAnswer {
    /// Every copy of the [`Reply`] is gone and none answered: each copy of
    /// the event that carried it was settled without an answer (handled
    /// without one, dropped under `OverflowPolicy::Drop`, lost to a failed
    /// handler, interrupted, abandoned), or the event was never delivered
    /// (refused at the gate and dropped by the caller, or on a topic no
    /// actor subscribes to). A tracked publish
    /// ([`send_tracked`](crate::SupervisorHandle::send_tracked)) tells which.
    Unanswered,
    /// [`Answer::timeout`]'s limit passed first.
    TimedOut(Duration),
}

impl fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unanswered => f.write_str(
                "no answer: every copy of the event carrying the reply was settled \
                 (handled without a reply, dropped, lost, abandoned, refused or routed \
                 to no one) without one",
            ),
            Self::TimedOut(limit) => write!(f, "no answer within {limit:?}"),
        }
    }
}

impl std::error::Error for NoAnswer {}

impl From<NoAnswer> for crate::Error {
    fn from(no_answer: NoAnswer) -> Self {
        crate::Error::external(no_answer)
    }
}

/// An answer that was not taken, handed back by [`Reply::send`].
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplyError<T> {
    /// Another answer was sent first; this one is not the answer.
    AlreadyAnswered(T),
    /// The asker dropped its [`Answer`]: nobody waits for this one.
    NotWaiting(T),
}

impl<T> ReplyError<T> {
    /// The value that was not taken.
    pub fn into_inner(self) -> T {
        match self {
            Self::AlreadyAnswered(value) | Self::NotWaiting(value) => value,
        }
    }
}

impl<T> fmt::Debug for ReplyError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::AlreadyAnswered(_) => "AlreadyAnswered(..)",
            Self::NotWaiting(_) => "NotWaiting(..)",
        })
    }
}

impl<T> fmt::Display for ReplyError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::AlreadyAnswered(_) => "the question was already answered",
            Self::NotWaiting(_) => "the asker no longer waits for the answer",
        })
    }
}

impl<T> std::error::Error for ReplyError<T> {}

#[cfg(all(test, not(maiko_loom)))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_answer_wins_and_later_ones_come_back() {
        let (reply, answer) = Reply::<u32>::new();
        let other = reply.clone();
        assert!(!reply.is_answered());
        assert!(reply.send(1).is_ok());
        assert!(other.is_answered());
        assert_eq!(other.send(2), Err(ReplyError::AlreadyAnswered(2)));
        assert_eq!(answer.await, Ok(1));
    }

    #[tokio::test]
    async fn the_last_clone_dropped_unanswered_resolves_the_answer() {
        let (reply, answer) = Reply::<u32>::new();
        let other = reply.clone();
        drop(reply);
        let mut answer = std::pin::pin!(answer);
        assert!(futures_poll_once(answer.as_mut()).is_pending());
        drop(other);
        assert_eq!(answer.await, Err(NoAnswer::Unanswered));
    }

    #[tokio::test]
    async fn an_answer_nobody_waits_for_comes_back() {
        let (reply, answer) = Reply::<u32>::new();
        drop(answer);
        assert_eq!(reply.send(7).map_err(ReplyError::into_inner), Err(7));
        assert_eq!(reply.send(8), Err(ReplyError::NotWaiting(8)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_timeout_says_so() {
        let (_reply, answer) = Reply::<u32>::new();
        let limit = Duration::from_secs(1);
        assert_eq!(answer.timeout(limit).await, Err(NoAnswer::TimedOut(limit)));
    }

    fn futures_poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
        let waker = std::task::Waker::noop();
        future.poll(&mut Context::from_waker(waker))
    }
}
