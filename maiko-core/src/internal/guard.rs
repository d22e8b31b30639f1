//! Running user code so that a panic becomes an error and a long wait is
//! visible to the shutdown report.

use std::{
    any::Any,
    future::{Future, poll_fn},
    panic::{AssertUnwindSafe, catch_unwind},
    pin::Pin,
    task::{Context, Poll},
};

use crate::Error;

/// Poll `fut` to completion, turning a panic into [`Error::Panicked`] and
/// calling `on_pending` once if the first poll did not finish it.
///
/// `on_pending` lets the caller record what the actor is waiting on only
/// when it actually waits, which keeps the common, immediate case free of
/// any bookkeeping. The future is taken pinned where it was created
/// (`pin!(actor.step())`), so a large future is never moved.
pub(crate) async fn guarded<F: Future>(
    mut fut: Pin<&mut F>,
    on_pending: impl FnOnce(),
) -> Result<F::Output, Error> {
    let mut on_pending = Some(on_pending);
    poll_fn(|cx| {
        poll_guarded(fut.as_mut(), cx, || {
            if let Some(record) = on_pending.take() {
                record();
            }
        })
    })
    .await
}

/// Poll `fut` once, turning a panic into [`Error::Panicked`] and calling
/// `on_pending` if it is not finished: [`guarded`] for a caller that polls
/// in a `poll_fn` of its own, so that no future is nested in another just
/// to catch panics (each level of nesting keeps its own copy of its
/// arguments in the actor's task).
#[inline]
pub(crate) fn poll_guarded<F: Future>(
    fut: Pin<&mut F>,
    cx: &mut Context<'_>,
    on_pending: impl FnOnce(),
) -> Poll<Result<F::Output, Error>> {
    match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
        Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
        Ok(Poll::Pending) => {
            on_pending();
            Poll::Pending
        }
        Err(payload) => Poll::Ready(Err(Error::Panicked(panic_message(payload)))),
    }
}

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Ok(text) = payload.downcast::<String>() {
        *text
    } else {
        "a panic with a non-text payload".to_owned()
    }
}
