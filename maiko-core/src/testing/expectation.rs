use std::{
    fmt,
    future::{Future, IntoFuture},
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use tokio::{sync::futures::OwnedNotified, time::Sleep};

use super::{EventQuery, Harness};
use crate::{Error, Event, Result, Topic};

/// How long [`Harness::settle_on`] waits by default before it fails.
pub const DEFAULT_EXPECT_TIMEOUT: Duration = Duration::from_secs(1);

/// A condition on the record to wait for, from [`Harness::settle_on`] and
/// [`Harness::settle_on_event`]; `.await` it.
///
/// The condition is checked at once, then each time new records reach the
/// harness, never on a timer; the time limit ([`within`](Self::within),
/// one second by default) only says when to give up with
/// [`Error::SettleTimeout`]. Once the condition holds, the recording phase
/// ends and its record is frozen for the queries.
///
/// The future is `Send` whenever the condition is, so it can be awaited in
/// a spawned task or under `tokio::time::timeout` in a multi-thread test.
#[must_use = "an expectation does nothing until it is awaited"]
pub struct Expectation<'a, E: Event, T: Topic<E>, F> {
    harness: &'a mut Harness<E, T>,
    condition: F,
    timeout: Duration,
}

impl<'a, E: Event, T: Topic<E>, F> Expectation<'a, E, T, F>
where
    F: Fn(EventQuery<E, T>) -> bool,
{
    pub(crate) fn new(harness: &'a mut Harness<E, T>, condition: F) -> Self {
        Self {
            harness,
            condition,
            timeout: DEFAULT_EXPECT_TIMEOUT,
        }
    }

    /// Give up after `timeout` instead of the default second.
    pub fn within(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl<'a, E: Event, T: Topic<E>, F> IntoFuture for Expectation<'a, E, T, F>
where
    F: Fn(EventQuery<E, T>) -> bool + 'a,
{
    type Output = Result;
    type IntoFuture = Settling<'a, E, T, F>;

    fn into_future(self) -> Self::IntoFuture {
        Settling {
            deadline: Box::pin(tokio::time::sleep(self.timeout)),
            news: None,
            harness: self.harness,
            condition: Box::new(self.condition),
            timeout: self.timeout,
        }
    }
}

impl<E: Event, T: Topic<E>, F> fmt::Debug for Expectation<'_, E, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Expectation")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The future of an [`Expectation`].
pub struct Settling<'a, E: Event, T: Topic<E>, F> {
    harness: &'a mut Harness<E, T>,
    /// Boxed, so that this future is `Unpin` whatever the condition.
    condition: Box<F>,
    timeout: Duration,
    deadline: Pin<Box<Sleep>>,
    /// Armed before each check, so that records arriving during the check
    /// wake the next poll.
    news: Option<Pin<Box<OwnedNotified>>>,
}

impl<E: Event, T: Topic<E>, F> Future for Settling<'_, E, T, F>
where
    F: Fn(EventQuery<E, T>) -> bool,
{
    type Output = Result;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result> {
        let this = self.get_mut();
        loop {
            let news = this.news.get_or_insert_with(|| {
                let mut news = Box::pin(this.harness.collector().news.clone().notified_owned());
                news.as_mut().enable();
                news
            });
            let records = this.harness.collector().current();
            if (this.condition)(EventQuery::new(records)) {
                this.harness.freeze();
                return Poll::Ready(Ok(()));
            }
            if news.as_mut().poll(cx).is_ready() {
                this.news = None;
                continue;
            }
            if this.deadline.as_mut().poll(cx).is_ready() {
                let recorded = this.harness.collector().len();
                return Poll::Ready(Err(Error::SettleTimeout(this.timeout, recorded)));
            }
            return Poll::Pending;
        }
    }
}

impl<E: Event, T: Topic<E>, F> fmt::Debug for Settling<'_, E, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settling")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
