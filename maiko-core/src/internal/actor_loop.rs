//! The task that runs one actor: its start, its events and steps, the drain
//! of its mailbox, and its `on_shutdown`.

use std::{
    future::poll_fn,
    marker::PhantomData,
    panic::{AssertUnwindSafe, catch_unwind},
    pin::pin,
    sync::Arc,
    sync::atomic::Ordering::Relaxed,
    task::Poll,
};

use tokio::{sync::mpsc::Receiver, time::Instant};

use super::{
    broker::Mail,
    cell::{Activity, ActorCell, Counters, Ending},
    gate::OPEN,
    guard::guarded,
    runtime::Runtime,
};
use crate::{Actor, Error, Result, StepAction, Topic};

/// When `step()` runs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StepState {
    Ready,
    AfterNextEvent,
    At(Instant),
    Off,
}

/// Batch size when no step is waiting, so the tick limit cannot matter.
const IDLE_BATCH: usize = 64;

/// Tallies of one batch, added to the shared counters once per batch.
#[derive(Default)]
struct Tally {
    handled: u64,
    lost: u64,
    interrupted: u64,
    abandoned: u64,
}

pub(crate) struct ActorTask<A: Actor, T> {
    pub(crate) actor: A,
    pub(crate) mailbox: Receiver<Mail<A::Event>>,
    pub(crate) cell: Arc<ActorCell>,
    pub(crate) runtime: Arc<Runtime>,
    pub(crate) max_events_per_tick: usize,
    pub(crate) _topic: PhantomData<fn() -> T>,
}

impl<A: Actor, T: Topic<A::Event>> ActorTask<A, T> {
    pub(crate) async fn run(mut self) {
        let cell = Arc::clone(&self.cell);
        let started = guarded(pin!(self.actor.on_start()), || {}).await;
        if let Err(error) = started.and_then(|result| result) {
            // Never started: no on_shutdown (there is nothing to shut down),
            // and whatever was routed to it is lost.
            cell.fail(error);
            self.mailbox.close();
            let mut rest = Vec::new();
            while self.mailbox.recv_many(&mut rest, IDLE_BATCH).await > 0 {
                let n = rest.len() as u64;
                rest.clear();
                Counters::add(&cell.counters.lost, n);
                self.runtime.release(n);
            }
            self.finish(None, false);
            return;
        }
        cell.set_activity(Activity::Idle);

        let cut_short = self.event_loop().await;

        cell.set_activity(Activity::ShuttingDown);
        let shutdown = guarded(pin!(self.actor.on_shutdown()), || {}).await;
        let shutdown_error = shutdown.and_then(|result| result).err();
        self.finish(shutdown_error, cut_short);
    }

    /// Handle events and steps until the mailbox has ended. Returns `true`
    /// if the shutdown deadline cut the drain short.
    async fn event_loop(&mut self) -> bool {
        let cell = Arc::clone(&self.cell);
        let runtime = Arc::clone(&self.runtime);
        let limit = self.max_events_per_tick;
        let mut batch = Vec::with_capacity(limit.min(IDLE_BATCH));
        let mut step = StepState::Ready;
        let mut closing = false;
        let mut cut_short = false;

        loop {
            if !closing {
                let escalated = runtime.is_escalated();
                if escalated || cell.has_failed() || cell.stop_requested() {
                    if !escalated && !cell.has_failed() {
                        cell.mark_self_stopped();
                    }
                    cut_short = escalated;
                    self.mailbox.close();
                    closing = true;
                    step = StepState::Off;
                }
            }
            let step_allowed = !closing && runtime.gate.state() == OPEN;

            // The tick limit spaces events between steps; when no step can
            // run (none due, or the runtime is stopping), take bigger batches.
            let batch_limit = if step != StepState::Off && step_allowed {
                limit
            } else {
                limit.max(IDLE_BATCH)
            };
            // Take what is already in the mailbox without building any
            // future; wait (below) only when it is empty and no step is due.
            let mut received = self.take_ready(&mut batch, batch_limit).await;
            if received.is_none() && !(step == StepState::Ready && step_allowed) {
                let wake_at = match step {
                    StepState::At(at) if step_allowed => Some(at),
                    _ => None,
                };
                // Wait for the mailbox; a stop request, a failure or the
                // deadline wakes the task through the cell's waker slot.
                let mailbox = &mut self.mailbox;
                let batch = &mut batch;
                let wait = poll_fn(|cx| {
                    if let Poll::Ready(n) = mailbox.poll_recv_many(cx, batch, batch_limit) {
                        return Poll::Ready(Some(n));
                    }
                    if closing {
                        return Poll::Pending;
                    }
                    cell.register(cx.waker());
                    if cell.stop_requested() || cell.has_failed() || runtime.is_escalated() {
                        return Poll::Ready(None);
                    }
                    Poll::Pending
                });
                received = match wake_at {
                    None => wait.await,
                    Some(at) => tokio::select! {
                        biased;
                        received = wait => received,
                        () = tokio::time::sleep_until(at) => {
                            step = StepState::Ready;
                            None
                        }
                    },
                };
            }

            match received {
                Some(0) => return cut_short,
                Some(_) => {
                    self.handle_batch(&mut batch).await;
                    if step == StepState::AfterNextEvent {
                        step = StepState::Ready;
                    }
                }
                None => {}
            }

            if step == StepState::Ready
                && !closing
                && !cell.has_failed()
                && runtime.gate.state() == OPEN
            {
                step = self.step().await;
                tokio::task::consume_budget().await;
            }
        }
    }

    /// Events already in the mailbox, without waiting: `None` if there are
    /// none (also when it has ended; the caller's wait then sees the end).
    async fn take_ready(&mut self, batch: &mut Vec<Mail<A::Event>>, limit: usize) -> Option<usize> {
        if self.mailbox.is_empty() {
            return None;
        }
        let mailbox = &mut self.mailbox;
        poll_fn(|cx| {
            Poll::Ready(match mailbox.poll_recv_many(cx, batch, limit) {
                Poll::Ready(n) if n > 0 => Some(n),
                _ => None,
            })
        })
        .await
    }

    async fn handle_batch(&mut self, batch: &mut Vec<Mail<A::Event>>) {
        let Self {
            actor,
            cell,
            runtime,
            ..
        } = self;
        let escalated = runtime.is_escalated();
        let count = batch.len() as u64;
        let mut tally = Tally::default();
        for mail in batch.drain(..) {
            if escalated {
                tally.abandoned += 1;
                continue;
            }
            if cell.has_failed() {
                tally.lost += 1;
                continue;
            }
            let mut waited = false;
            cell.enter_handler(mail.depth);
            let result = guarded(pin!(actor.handle_event(&mail)), || {
                waited = true;
                cell.set_activity(Activity::Handling(T::from_event(mail.event()).name()));
            })
            .await;
            cell.leave_handler();
            if waited {
                cell.set_activity(Activity::Idle);
            }
            match result {
                Ok(Ok(())) => tally.handled += 1,
                Ok(Err(Error::Interrupted)) => tally.interrupted += 1,
                // A publish refused because the runtime is stopping (the
                // drain hop limit, strict mode) is not the actor's fault: it
                // never fails the actor, which keeps draining its mailbox.
                Ok(Err(Error::Stopping)) if runtime.is_stopping() => {
                    tally.handled += 1;
                }
                Ok(Err(error)) => {
                    tally.handled += 1;
                    on_error(actor, cell, error);
                }
                Err(panic) => {
                    tally.lost += 1;
                    cell.fail(panic);
                }
            }
        }
        let counters = &cell.counters;
        Counters::add(&counters.handled, tally.handled);
        // (Counters::add skips zeros, so the rare tallies cost nothing.)
        Counters::add(&counters.lost, tally.lost);
        Counters::add(&counters.interrupted, tally.interrupted);
        Counters::add(&counters.abandoned, tally.abandoned);
        // The handlers' own publishes were counted when admitted, so
        // releasing after them never lets the count touch zero early.
        runtime.release(count);
    }

    async fn step(&mut self) -> StepState {
        let Self {
            actor,
            cell,
            runtime,
            ..
        } = self;
        let mut waited = false;
        let result = guarded(pin!(actor.step()), || {
            waited = true;
            cell.set_activity(Activity::Stepping);
        })
        .await;
        if waited {
            cell.set_activity(Activity::Idle);
        }
        match result {
            Ok(Ok(action)) => match action {
                StepAction::Continue => StepState::Ready,
                StepAction::Yield => {
                    tokio::task::yield_now().await;
                    StepState::Ready
                }
                StepAction::AwaitEvent => StepState::AfterNextEvent,
                StepAction::Backoff(delay) => StepState::At(Instant::now() + delay),
                StepAction::Never => StepState::Off,
            },
            // Interrupted, or a publish from step() refused because the
            // runtime is stopping: no more steps, and no failure.
            Ok(Err(Error::Interrupted)) => StepState::Off,
            Ok(Err(Error::Stopping)) if runtime.is_stopping() => StepState::Off,
            Ok(Err(error)) => {
                on_error(actor, cell, error);
                StepState::Ready
            }
            Err(panic) => {
                cell.fail(panic);
                StepState::Off
            }
        }
    }

    fn finish(&self, shutdown_error: Option<Error>, cut_short: bool) {
        let cell = &self.cell;
        let ending = match (cell.take_failure(), shutdown_error) {
            (Some(error), _) | (None, Some(error)) => {
                self.runtime.failure.notify_one();
                Ending::Failed(error)
            }
            // Cut short only if the deadline made it leave work behind.
            (None, None) if cut_short && cell.counters.abandoned.load(Relaxed) > 0 => {
                Ending::Interrupted
            }
            (None, None) => Ending::Completed,
        };
        cell.set_ending(ending);
    }
}

/// Pass an error to the actor's `on_error`; fail the actor if it propagates
/// (or panics).
fn on_error<A: Actor>(actor: &mut A, cell: &ActorCell, error: Error) {
    let decision = catch_unwind(AssertUnwindSafe(|| actor.on_error(error)));
    let outcome: Result =
        decision.unwrap_or_else(|_| Err(Error::Panicked("on_error panicked".to_owned())));
    if let Err(error) = outcome {
        cell.fail(error);
    }
}
