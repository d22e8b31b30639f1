//! The task that runs one actor, in the order the [`Actor`] docs give:
//! `on_start`; then events and steps until the mailbox has ended (closing it
//! first when the actor stops itself, fails, or the deadline passes); then
//! `on_shutdown`; then the actor's ending is recorded.
//!
//! Every copy taken out of the mailbox is settled in the actor's
//! [`Counters`](super::cell::Counters) by a [`Batch`] guard, and every copy
//! left in it by the [`Mailbox`] guard, so the report balances also when
//! the task is aborted at the end of the grace.

use std::{
    collections::VecDeque,
    future::{Future, poll_fn},
    panic::{AssertUnwindSafe, catch_unwind},
    pin::pin,
    sync::Arc,
    task::Poll,
};

use tokio::{sync::mpsc::Receiver, time::Instant};
use tracing::Instrument;

use super::{
    cell::{Activity, ActorCell, Ending, Stage},
    dead::DeadSink,
    guard::{guarded, poll_guarded},
    lane::close_and_drain,
    mail::Mail,
    meters::BatchClock,
    protocol::Protocol,
    shared::Shared,
    spans,
    tracker::{self, Settled},
    watch::Watch,
};
use crate::{Actor, Context, DeadReason, Error, RestartPolicy, Result, StepAction, Topic};

/// When `step()` runs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StepState {
    Ready,
    AfterNextEvent,
    At(Instant),
    Off,
}

/// What ended a wait for mail.
enum Woken {
    /// This many events were received; 0 when the mailbox has ended.
    Mail(usize),
    /// A stop request, a failure or the deadline.
    Signal,
    /// The time of a `StepAction::Backoff` came.
    StepDue,
}

/// Batch size when no step is waiting, so the tick limit cannot matter.
const IDLE_BATCH: usize = 64;

/// An actor's mailbox. Dropped with events still in it (the task was
/// aborted), it settles them: lost if the actor had failed, abandoned
/// otherwise (dead letters either way), and gives their units back to the
/// gate.
pub(crate) struct Mailbox<E> {
    receiver: Receiver<Mail<E>>,
    cell: Arc<ActorCell>,
    shared: Arc<Shared>,
    dead: Arc<DeadSink<E>>,
}

impl<E> Mailbox<E> {
    pub(crate) fn new(
        receiver: Receiver<Mail<E>>,
        cell: Arc<ActorCell>,
        shared: Arc<Shared>,
        dead: Arc<DeadSink<E>>,
    ) -> Self {
        Self {
            receiver,
            cell,
            shared,
            dead,
        }
    }
}

impl<E> Drop for Mailbox<E> {
    fn drop(&mut self) {
        // A routing loop aborted at the same time may still be writing a
        // copy it reserved room for, on another worker, within its current
        // poll: it is counted too.
        let failed = self.cell.has_failed();
        let (cell, dead) = (&self.cell, &self.dead);
        let left = close_and_drain(&mut self.receiver, |mail| {
            let reason = if failed {
                DeadReason::ActorFailed
            } else {
                DeadReason::Abandoned
            };
            dead.bury(cell, &mail, reason);
        });
        if left > 0 {
            if failed {
                self.cell.counters.lost(left, Stage::Mailbox);
            } else {
                self.cell.counters.abandoned(left, Stage::Mailbox);
            }
            self.shared.protocol().release(left);
        }
    }
}

/// Settles a batch of copies taken out of the mailbox: what the handlers
/// made of them, added to the counters once per batch, and their units given
/// back to the gate after the handlers (and so their publishes) are done.
/// A copy whose handler deferred it is settled by its `Completion` instead,
/// which keeps its unit.
///
/// Dropped before the batch was through (the task was aborted), the copy
/// in hand counts as interrupted and the rest as abandoned.
struct Batch<'a, E> {
    cell: &'a ActorCell,
    shared: &'a Shared,
    dead: &'a DeadSink<E>,
    /// The copies taken; those from `next` on are not settled yet.
    mails: &'a mut Vec<Mail<E>>,
    next: usize,
    handled: u64,
    lost: u64,
    interrupted: u64,
    abandoned: u64,
    deferred: u64,
    /// When the batch began, for the actor's timings (see
    /// `internal::meters`); forgotten when a handler fails, as the batch's
    /// time then includes the failure's handling (a restart, its backoff).
    clock: BatchClock,
}

impl<'a, E> Batch<'a, E> {
    fn new(
        cell: &'a ActorCell,
        shared: &'a Shared,
        dead: &'a DeadSink<E>,
        mails: &'a mut Vec<Mail<E>>,
    ) -> Self {
        Self {
            cell,
            shared,
            dead,
            mails,
            next: 0,
            handled: 0,
            lost: 0,
            interrupted: 0,
            abandoned: 0,
            deferred: 0,
            clock: cell.meters().start_batch(),
        }
    }

    /// Settle the copy in hand (the one at `next`) as handled or
    /// interrupted, and move on.
    #[inline]
    fn settle(&mut self, how: Settled) {
        match how {
            Settled::Handled => self.handled += 1,
            Settled::Interrupted => self.interrupted += 1,
            // The others are dead letters: see `bury`.
            Settled::Lost | Settled::Abandoned | Settled::Dropped | Settled::NotMeant => {}
        }
        tracker::settle(&self.mails[self.next], how);
        self.next += 1;
    }

    /// The copy in hand will never be handled: a dead letter, counted as
    /// lost or abandoned. Move on.
    #[cold]
    fn bury(&mut self, reason: DeadReason) {
        if matches!(reason, DeadReason::Abandoned) {
            self.abandoned += 1;
        } else {
            self.lost += 1;
        }
        self.dead.bury(self.cell, &self.mails[self.next], reason);
        self.next += 1;
    }

    /// The copy in hand was deferred: its completion settles it.
    fn defer(&mut self) {
        self.deferred += 1;
        self.next += 1;
    }
}

impl<E> Drop for Batch<'_, E> {
    fn drop(&mut self) {
        if self.next < self.mails.len() {
            // Aborted in the middle: the copy in hand (its completion's, if
            // its handler deferred it), then the rest.
            if self.cell.take_deferred() {
                self.defer();
            } else if self.cell.handling().is_some() {
                self.settle(Settled::Interrupted);
            }
            while self.next < self.mails.len() {
                self.bury(DeadReason::Abandoned);
            }
        }
        if self.lost == 0 && self.abandoned == 0 {
            self.cell
                .meters()
                .end_batch(self.clock, &self.mails[..self.next]);
        }
        let counters = &self.cell.counters;
        counters.handled(self.handled);
        counters.lost(self.lost, Stage::Mailbox);
        counters.interrupted(self.interrupted);
        counters.abandoned(self.abandoned, Stage::Mailbox);
        // The handlers' own publishes were counted when admitted, so
        // releasing after them never lets the count touch zero early.
        let protocol = self.shared.protocol();
        protocol.release(self.mails.len() as u64 - self.deferred);
        // After the handlers too, not only after routing: otherwise the
        // gauge would stay at its last routed figure once a service idles.
        self.shared
            .books()
            .meters()
            .in_flight(|| protocol.in_flight());
        self.mails.clear();
    }
}

pub(crate) struct ActorTask<A: Actor, T> {
    pub(crate) actor: A,
    pub(crate) mailbox: Mailbox<A::Event>,
    pub(crate) cell: Arc<ActorCell>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) max_events_per_tick: usize,
    /// Told of every event, step and error while any monitor watches.
    pub(crate) watch: Watch<A::Event, T>,
    /// How to rebuild the actor after a failure, if it is restartable
    /// (boxed, as the restart itself is: an actor that never fails carries
    /// neither in its task).
    pub(crate) rebuild: Option<Box<Rebuild<A>>>,
    /// Whether the current instance has started and not yet run
    /// `on_shutdown` (each instance that started gets exactly one).
    pub(crate) live: bool,
    /// Where the copies it will never handle go.
    pub(crate) dead: Arc<DeadSink<A::Event>>,
}

/// The factory of a restartable actor.
pub(crate) type Factory<A> = Box<dyn FnMut(Context<<A as Actor>::Event>) -> A + Send>;

/// How a restartable actor is rebuilt (see [`RestartPolicy`]).
pub(crate) struct Rebuild<A: Actor> {
    factory: Factory<A>,
    ctx: Context<A::Event>,
    policy: RestartPolicy,
    /// When the failures within the budget's window happened.
    failures: VecDeque<Instant>,
}

impl<A: Actor> Rebuild<A> {
    pub(crate) fn new(factory: Factory<A>, ctx: Context<A::Event>, policy: RestartPolicy) -> Self {
        Self {
            factory,
            ctx,
            policy,
            failures: VecDeque::new(),
        }
    }

    /// A failure now: `Some(n)` if the budget allows restart number `n`
    /// (from 0) of this run of failures, `None` if it is exhausted.
    fn admit_failure(&mut self) -> Option<u32> {
        if !self.policy.restarts() {
            return None;
        }
        let now = Instant::now();
        let window = self.policy.window();
        while self
            .failures
            .front()
            .is_some_and(|&at| now.duration_since(at) > window)
        {
            self.failures.pop_front();
        }
        self.failures.push_back(now);
        let n = u32::try_from(self.failures.len()).unwrap_or(u32::MAX);
        (n <= self.policy.max_restarts_allowed()).then(|| n - 1)
    }
}

/// What actor code (a handler or a step) came back with, as the loop acts
/// on it (see [`classify`]).
enum Outcome<V> {
    /// It returned `Ok`.
    Done(V),
    /// It gave up because the runtime is stopping
    /// ([`Error::Interrupted`]): a distinct outcome, not a failure.
    Interrupted,
    /// A publish of it was refused because the runtime is stopping (the
    /// drain hop limit, strict mode): not the actor's fault, it never fails
    /// the actor, which keeps draining its mailbox.
    Refused,
    /// Any other error: it goes through `on_error`.
    Error(Error),
    /// It panicked: the actor fails.
    Panicked(Error),
}

/// Sort what actor code returned, the same way for handlers and steps.
fn classify<V>(result: std::result::Result<Result<V>, Error>, protocol: &Protocol) -> Outcome<V> {
    match result {
        Ok(Ok(value)) => Outcome::Done(value),
        Ok(Err(Error::Interrupted)) => Outcome::Interrupted,
        Ok(Err(Error::Stopping)) if protocol.is_stopping() => Outcome::Refused,
        Ok(Err(error)) => Outcome::Error(error),
        Err(panic) => Outcome::Panicked(panic),
    }
}

impl<A: Actor, T: Topic<A::Event>> ActorTask<A, T> {
    /// Run the actor to its end; `true` if it ended on its own (it stopped
    /// itself, failed, or the supervisor stopped), `false` if it was
    /// stopped from outside (`SupervisorHandle::stop_actor`).
    pub(crate) async fn run(mut self) -> bool {
        let _stop_record = self.watch.on_stop(&self.cell.id);
        let started = guarded(pin!(self.actor.on_start()), || {}).await;
        if let Err(error) = started.and_then(|result| result) {
            let Self {
                actor,
                cell,
                shared,
                rebuild,
                live,
                ..
            } = &mut self;
            if let Err(error) = Box::pin(restart(
                actor,
                live,
                cell,
                shared.protocol(),
                rebuild.as_deref_mut(),
                error,
            ))
            .await
            {
                self.fail_before_start(error).await;
                return !self.cell.is_retired();
            }
        }
        self.live = true;
        self.cell.set_activity(Activity::Idle);
        let cut_short = self.event_loop().await;
        self.shut_down(cut_short).await;
        !self.cell.is_retired()
    }

    /// `on_start` failed: the actor never started, so it gets no
    /// `on_shutdown` (there is nothing to shut down), and whatever is routed
    /// to it is lost.
    async fn fail_before_start(&mut self, error: Error) {
        self.cell.fail(error);
        let receiver = &mut self.mailbox.receiver;
        receiver.close();
        let mut rest = Vec::new();
        while receiver.recv_many(&mut rest, IDLE_BATCH).await > 0 {
            let n = rest.len() as u64;
            for mail in rest.drain(..) {
                self.dead.bury(&self.cell, &mail, DeadReason::ActorFailed);
            }
            self.cell.counters.lost(n, Stage::Mailbox);
            self.shared.protocol().release(n);
        }
        self.record_ending(None, false);
    }

    /// `on_shutdown`, once, then the ending. In a shutdown group, during the
    /// shutdown, first wait until every member added before this one has
    /// finished (see the coordinator's order of closing).
    async fn shut_down(&mut self, cut_short: bool) {
        if let Some(turn) = self.shared.turn()
            && self.shared.protocol().is_stopping()
            && !turn.is_cancelled()
        {
            self.cell.set_activity(Activity::AwaitingTurn);
            turn.cancelled().await;
        }
        // An instance that already ran it (it failed, and no new one could
        // be started) does not run it twice.
        let mut shutdown_error = None;
        if std::mem::take(&mut self.live) {
            self.cell.set_activity(Activity::ShuttingDown);
            let shutdown = guarded(pin!(self.actor.on_shutdown()), || {}).await;
            shutdown_error = shutdown.and_then(|result| result).err();
        }
        self.record_ending(shutdown_error, cut_short);
    }

    /// Handle events and steps until the mailbox has ended. Returns `true`
    /// if the shutdown deadline cut the drain short.
    async fn event_loop(&mut self) -> bool {
        let limit = self.max_events_per_tick;
        // Grown by the first batches and kept: an actor that never gets an
        // event allocates nothing for it.
        let mut batch = Vec::new();
        let mut step = StepState::Ready;
        let mut closing = false;
        let mut cut_short = false;

        loop {
            if !closing && let Some(escalated) = self.must_close() {
                self.begin_closing(escalated);
                cut_short = escalated;
                closing = true;
                step = StepState::Off;
            }
            let step_allowed = !closing && self.shared.protocol().is_open();
            let step_due = step == StepState::Ready && step_allowed;

            // The tick limit spaces events between steps; when no step can
            // run (none due, or the runtime is stopping), take bigger batches.
            let batch_limit = if step != StepState::Off && step_allowed {
                limit
            } else {
                limit.max(IDLE_BATCH)
            };
            let mut received = self.take_ready(&mut batch, batch_limit).await;
            if received.is_none() && !step_due {
                let wake_at = match step {
                    StepState::At(at) if step_allowed => Some(at),
                    _ => None,
                };
                received = match self
                    .wait_for_mail(&mut batch, batch_limit, closing, wake_at)
                    .await
                {
                    Woken::Mail(n) => Some(n),
                    Woken::Signal => None,
                    Woken::StepDue => {
                        step = StepState::Ready;
                        None
                    }
                };
            }

            match received {
                Some(0) => return cut_short,
                Some(_) => {
                    let receiver = &self.mailbox.receiver;
                    self.cell.meters().mailbox_depth(|| receiver.len());
                    self.handle_batch(&mut batch).await;
                    if step == StepState::AfterNextEvent {
                        step = StepState::Ready;
                    }
                }
                None => {}
            }

            if step == StepState::Ready
                && !closing
                && !self.cell.has_failed()
                && self.shared.protocol().is_open()
            {
                step = self.step().await;
                tokio::task::consume_budget().await;
            }
        }
    }

    /// Whether the mailbox must close now: `Some(true)` at the deadline,
    /// `Some(false)` when the actor stopped itself or failed.
    fn must_close(&self) -> Option<bool> {
        if self.shared.protocol().is_escalated() {
            Some(true)
        } else if self.cell.has_failed() || self.cell.stop_requested() {
            Some(false)
        } else {
            None
        }
    }

    /// Take no new events; what is already in the mailbox is still taken
    /// (handled, or settled as lost or abandoned).
    fn begin_closing(&mut self, escalated: bool) {
        if !escalated && !self.cell.has_failed() {
            self.cell.mark_self_stopped();
        }
        self.mailbox.receiver.close();
    }

    /// Events already in the mailbox, without waiting: `None` if there are
    /// none (also when it has ended; the caller's wait then sees the end).
    async fn take_ready(&mut self, batch: &mut Vec<Mail<A::Event>>, limit: usize) -> Option<usize> {
        let receiver = &mut self.mailbox.receiver;
        if receiver.is_empty() {
            return None;
        }
        poll_fn(|cx| {
            Poll::Ready(match receiver.poll_recv_many(cx, batch, limit) {
                Poll::Ready(n) if n > 0 => Some(n),
                _ => None,
            })
        })
        .await
    }

    /// Wait for mail, or for whatever comes first of a stop request, a
    /// failure, the deadline (these three wake the task through the cell's
    /// waker slot, so nothing else is built here) and the next step's time.
    async fn wait_for_mail(
        &mut self,
        batch: &mut Vec<Mail<A::Event>>,
        limit: usize,
        closing: bool,
        wake_at: Option<Instant>,
    ) -> Woken {
        let cell = &self.cell;
        let shared = &self.shared;
        let receiver = &mut self.mailbox.receiver;
        let wait = poll_fn(|cx| {
            if let Poll::Ready(n) = receiver.poll_recv_many(cx, batch, limit) {
                return Poll::Ready(Woken::Mail(n));
            }
            if closing {
                return Poll::Pending;
            }
            cell.register(cx.waker());
            if cell.stop_requested() || cell.has_failed() || shared.protocol().is_escalated() {
                return Poll::Ready(Woken::Signal);
            }
            Poll::Pending
        });
        match wake_at {
            None => wait.await,
            // Boxed, so that an actor that never waits for a step's time
            // does not carry a timer in its task.
            Some(at) => tokio::select! {
                biased;
                woken = wait => woken,
                () = Box::pin(tokio::time::sleep_until(at)) => Woken::StepDue,
            },
        }
    }

    /// Handle a batch taken from the mailbox, copy by copy: abandoned at
    /// the deadline, lost once the actor has failed, otherwise handed to
    /// `handle_event` and settled by what it returned.
    async fn handle_batch(&mut self, batch: &mut Vec<Mail<A::Event>>) {
        let Self {
            actor,
            cell,
            shared,
            watch,
            rebuild,
            live,
            dead,
            ..
        } = self;
        let protocol = shared.protocol();
        let escalated = protocol.is_escalated();
        // Read once per batch: an unwatched batch makes no record at all, so
        // monitoring compiled in costs nothing while no monitor watches. The
        // check is here rather than in the seam: calling a record's async fn
        // to find it has nothing to do costs more than the branch (and
        // returning an already-ready future from the seam instead measured
        // worse still).
        let watching = watch.watching();
        let watched = watching.is_on();
        let mut settle = Batch::new(cell, shared, dead, batch);
        // The copy handed again to a rebuilt instance, and how many more
        // times it may be.
        let mut retries: Option<(usize, u32)> = None;
        while settle.next < settle.mails.len() {
            let mail = &settle.mails[settle.next];
            let mut sight = if watched {
                watching.dispatched(mail, &cell.id).await
            } else {
                watching.unseen()
            };
            if escalated {
                settle.bury(DeadReason::Abandoned);
                continue;
            }
            if cell.has_failed() {
                settle.bury(DeadReason::ActorFailed);
                continue;
            }
            if watched {
                watching
                    .delivered(&mut sight, mail, &cell.id, &cell.clock)
                    .await;
            }
            // Whether a subscriber may record spans (each copy is then
            // handled inside its `maiko.process` span, see
            // `internal::spans`): asked per copy, so that no flag is kept
            // across the handler's await.
            let result = if spans::enabled()
                && let Some(span) = spans::process(
                    mail.span(),
                    &cell.id,
                    || T::from_event(mail.event()).name(),
                    mail.id(),
                ) {
                // Boxed: the traced handling adds one word to the actor's
                // task, not a span's size, and the untraced one nothing.
                Box::pin(handle_event::<A, T>(actor, cell, mail).instrument(span)).await
            } else {
                handle_event::<A, T>(actor, cell, mail).await
            };
            let outcome = classify(result, protocol);
            if watched && !matches!(outcome, Outcome::Panicked(_)) {
                watching.handled(sight, mail, &cell.id).await;
            }
            // The usual case (the handler returned) settles here; a failure
            // comes back as the error `on_error` propagated.
            let failure = match outcome {
                Outcome::Done(()) | Outcome::Refused => None,
                Outcome::Interrupted => {
                    settle_in_hand(&mut settle, cell, Settled::Interrupted);
                    continue;
                }
                Outcome::Error(error) => {
                    if watched {
                        watching.error(&error, &cell.id).await;
                    }
                    on_error(actor, error).err()
                }
                // A panic the actor swallows is an error it carried on from.
                Outcome::Panicked(panic) => on_error(actor, panic).err(),
            };
            if let Some(error) = failure {
                // Boxed: the rare path keeps its state out of the task.
                let failed = Failed {
                    actor,
                    live,
                    cell,
                    protocol,
                    rebuild,
                };
                Box::pin(failed.settle(&mut settle, &mut retries, error)).await;
                continue;
            }
            settle_in_hand(&mut settle, cell, Settled::Handled);
        }
    }

    /// Call `step()` once and say when it runs next: an interrupted or
    /// refused step ends the stepping, an error goes through `on_error`, a
    /// panic fails the actor.
    async fn step(&mut self) -> StepState {
        let Self {
            actor,
            cell,
            shared,
            watch,
            rebuild,
            live,
            ..
        } = self;
        // As for a batch: an unwatched step makes no record.
        let watching = watch.watching();
        let watched = watching.is_on();
        if watched {
            watching.step_enter(&cell.id).await;
        }
        let result = run_as(cell, pin!(actor.step()), || Activity::Stepping).await;
        match classify(result, shared.protocol()) {
            Outcome::Done(action) => {
                if watched {
                    watching.step_exit(action, &cell.id).await;
                }
                next_step(action).await
            }
            Outcome::Interrupted | Outcome::Refused => StepState::Off,
            Outcome::Error(error) | Outcome::Panicked(error) => {
                if watched && !matches!(error, Error::Panicked(_)) {
                    watching.error(&error, &cell.id).await;
                }
                let Err(error) = on_error(actor, error) else {
                    return StepState::Ready;
                };
                let protocol = shared.protocol();
                let rebuilt = restart(actor, live, cell, protocol, rebuild.as_deref_mut(), error);
                match Box::pin(rebuilt).await {
                    // A new instance starts stepping afresh.
                    Ok(()) => StepState::Ready,
                    Err(error) => {
                        cell.fail(error);
                        StepState::Off
                    }
                }
            }
        }
    }

    fn record_ending(&self, shutdown_error: Option<Error>, cut_short: bool) {
        let cell = &self.cell;
        cell.meters().mailbox_depth(|| 0);
        let ending = match (cell.take_failure(), shutdown_error) {
            (Some(error), _) | (None, Some(error)) => {
                self.shared.protocol().notify_failure();
                Ending::Failed(error)
            }
            // Cut short only if the deadline made it leave work behind.
            (None, None) if cut_short && cell.counters.abandoned_count() > 0 => Ending::Interrupted,
            (None, None) => Ending::Completed,
        };
        cell.set_ending(ending);
    }
}

/// What a handler's failure needs to decide the fate of its copy.
struct Failed<'a, A: Actor> {
    actor: &'a mut A,
    live: &'a mut bool,
    cell: &'a ActorCell,
    protocol: &'a Protocol,
    rebuild: &'a mut Option<Box<Rebuild<A>>>,
}

impl<A: Actor> Failed<'_, A> {
    /// The copy in hand failed with `error` (`on_error` propagated it): it
    /// is not handled. Restart the actor if it may be; the copy is handed
    /// to the new instance while its retries (counted in `retries`) last,
    /// and is a dead letter otherwise.
    async fn settle(
        self,
        settle: &mut Batch<'_, A::Event>,
        retries: &mut Option<(usize, u32)>,
        error: Error,
    ) {
        let Self {
            actor,
            live,
            cell,
            protocol,
            rebuild,
        } = self;
        settle.clock.forget();
        let deferred = cell.take_deferred();
        let rebuilt = restart(
            actor,
            live,
            cell,
            protocol,
            rebuild.as_deref_mut(),
            error.clone(),
        );
        let failed_for_good = match rebuilt.await {
            Ok(()) => {
                let left = match *retries {
                    Some((at, left)) if at == settle.next => left,
                    _ => rebuild.as_ref().map_or(0, |r| r.policy.event_retries()),
                };
                if !deferred && left > 0 {
                    // Handed again: the loop takes the same copy next.
                    *retries = Some((settle.next, left - 1));
                    return;
                }
                None
            }
            Err(failed) => Some(failed),
        };
        if deferred {
            settle.defer();
        } else {
            settle.bury(DeadReason::Failed(error));
        }
        // After its event's letter, so that it comes before the letters of
        // the copies the failure makes lost.
        if let Some(failed) = failed_for_good {
            cell.fail(failed);
        }
    }
}

/// Settle the copy in hand as `how`, or leave it to its completion if its
/// handler deferred it.
#[inline]
fn settle_in_hand<E>(settle: &mut Batch<'_, E>, cell: &ActorCell, how: Settled) {
    if cell.take_deferred() {
        settle.defer();
    } else {
        settle.settle(how);
    }
}

/// Run `handle_event` for one copy, marked as in the handler (for the
/// gate's drain depth and `Context::forward`) and with the event's tracker
/// in the cell while it runs (for `Context::defer`).
async fn handle_event<A: Actor, T: Topic<A::Event>>(
    actor: &mut A,
    cell: &ActorCell,
    mail: &Mail<A::Event>,
) -> std::result::Result<Result, Error> {
    if mail.tracker().is_some() {
        cell.set_tracker(mail.tracker().cloned());
    }
    cell.enter_handler(mail.depth, mail.id());
    let mut code = pin!(actor.handle_event(mail));
    let mut waited = false;
    let result = poll_fn(|cx| {
        poll_as(cell, code.as_mut(), cx, &mut waited, || {
            Activity::Handling(T::from_event(mail.event()).name())
        })
    })
    .await;
    if waited {
        cell.set_activity(Activity::Idle);
    }
    cell.leave_handler();
    if mail.tracker().is_some() {
        cell.set_tracker(None);
    }
    result
}

/// When the step after one that returned `action` runs.
async fn next_step(action: StepAction) -> StepState {
    match action {
        StepAction::Continue => StepState::Ready,
        StepAction::Yield => {
            tokio::task::yield_now().await;
            StepState::Ready
        }
        StepAction::AwaitEvent => StepState::AfterNextEvent,
        StepAction::Backoff(delay) => StepState::At(Instant::now() + delay),
        StepAction::Never => StepState::Off,
    }
}

/// Run actor code (a step) to completion, panics caught, recording its
/// activity as [`poll_as`] does and putting the cell back to idle if it
/// waited.
async fn run_as<F: Future>(
    cell: &ActorCell,
    mut code: std::pin::Pin<&mut F>,
    activity: fn() -> Activity,
) -> std::result::Result<F::Output, Error> {
    let mut waited = false;
    let result = poll_fn(|cx| poll_as(cell, code.as_mut(), cx, &mut waited, activity)).await;
    if waited {
        cell.set_activity(Activity::Idle);
    }
    result
}

/// Poll actor code (a handler or a step) once, panics caught. The first
/// time it has to wait, `activity` is recorded in the cell, for the report,
/// and `waited` is set, for the caller to put the cell back to idle once
/// the code has finished: the common, immediate case does no bookkeeping.
/// A handler is polled through this in its own `poll_fn`, not through
/// [`run_as`]: one level of nesting less in the state of every actor's task.
#[inline]
fn poll_as<F: Future>(
    cell: &ActorCell,
    code: std::pin::Pin<&mut F>,
    cx: &mut std::task::Context<'_>,
    waited: &mut bool,
    activity: impl FnOnce() -> Activity,
) -> Poll<std::result::Result<F::Output, Error>> {
    poll_guarded(code, cx, || {
        if !*waited {
            *waited = true;
            cell.set_activity(activity());
        }
    })
}

/// Pass an error (or a panic, as [`Error::Panicked`]) to the actor's
/// `on_error`: `Ok` if the actor carries on, or the error it fails with
/// (the one it propagated, or its own panic).
fn on_error<A: Actor>(actor: &mut A, error: Error) -> Result {
    let decision = catch_unwind(AssertUnwindSafe(|| actor.on_error(error)));
    decision.unwrap_or_else(|_| Err(Error::Panicked("on_error panicked".to_owned())))
}

/// The actor failed with `error`. If it is restartable and its budget
/// allows, the failed instance runs `on_shutdown` (if it had started), is
/// dropped, and after the backoff a new one is built with the same context
/// and started: `Ok` once one has started. `Err` with the error it fails
/// with for good otherwise (budget exhausted, not restartable, or the
/// deadline escalated the shutdown meanwhile); `live` then says whether the
/// instance in `actor` still needs its `on_shutdown`.
async fn restart<A: Actor>(
    actor: &mut A,
    live: &mut bool,
    cell: &ActorCell,
    protocol: &Protocol,
    rebuild: Option<&mut Rebuild<A>>,
    mut error: Error,
) -> std::result::Result<(), Error> {
    let Some(rebuild) = rebuild else {
        return Err(error);
    };
    loop {
        let Some(n) = rebuild.admit_failure() else {
            tracing::warn!(actor = %cell.id, %error, "actor failed: restart budget exhausted");
            return Err(error);
        };
        if protocol.is_escalated() {
            return Err(error);
        }
        if std::mem::take(live) {
            cell.set_activity(Activity::ShuttingDown);
            let closed = guarded(pin!(actor.on_shutdown()), || {}).await;
            if let Err(failed) = closed.and_then(|result| result) {
                tracing::warn!(actor = %cell.id, error = %failed, "on_shutdown of a failed instance failed");
            }
        }
        tracing::warn!(actor = %cell.id, %error, restart = n + 1, "actor failed: restarting it");
        cell.count_restart();
        cell.set_activity(Activity::Starting);
        let wait = rebuild.policy.backoff_before(n);
        if !wait.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = protocol.escalated() => return Err(error),
            }
        }
        let factory = &mut rebuild.factory;
        let ctx = rebuild.ctx.clone();
        match catch_unwind(AssertUnwindSafe(|| factory(ctx))) {
            Ok(instance) => *actor = instance,
            Err(_) => {
                error = Error::Panicked("the actor's factory panicked".to_owned());
                continue;
            }
        }
        match guarded(pin!(actor.on_start()), || {}).await.and_then(|r| r) {
            Ok(()) => {
                *live = true;
                cell.set_activity(Activity::Idle);
                return Ok(());
            }
            Err(failed) => error = failed,
        }
    }
}
