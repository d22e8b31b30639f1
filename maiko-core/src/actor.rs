use std::future::Future;

use crate::{Envelope, Error, Event, Result, StepAction};

/// An actor: state plus the code that reacts to events.
///
/// Every method is an `async fn` you may override; none needs an attribute
/// macro. The runtime calls them from one task per actor, never two at once:
///
/// 1. [`on_start`](Self::on_start) once;
/// 2. then, repeatedly, up to `max_events_per_tick` calls of
///    [`handle_event`](Self::handle_event) for the events in the mailbox and
///    one call of [`step`](Self::step) when it is due (never cancelled by an
///    arriving event);
/// 3. after the mailbox is drained at shutdown (or the actor stopped itself,
///    or failed), [`on_shutdown`](Self::on_shutdown) exactly once.
///
/// An error from `handle_event` or `step` goes to [`on_error`](Self::on_error),
/// and so does a panic in them, as [`Error::Panicked`] with the panic's
/// message. `on_error` propagates it by default, and then the actor fails:
///
/// - the event whose handler failed is not handled: it counts as lost, and
///   is a dead letter ([`DeadReason::Failed`](crate::DeadReason::Failed),
///   see [`Supervisor::dead_letters`](crate::Supervisor::dead_letters));
/// - an actor registered with
///   [`add_restartable`](crate::Supervisor::add_restartable) is rebuilt
///   (this instance's `on_shutdown` runs, the factory builds a new one
///   with the same mailbox, which gets the failed event first), within its
///   [`RestartPolicy`](crate::RestartPolicy)'s budget;
/// - otherwise (or with the budget exhausted) it fails for good: the rest
///   of its mailbox, and whatever is routed to it later, counts as lost
///   (dead letters, [`DeadReason::ActorFailed`](crate::DeadReason::ActorFailed)),
///   `on_shutdown` still runs, and
///   [`Supervisor::stop`](crate::Supervisor::stop) reports the failure. By
///   default an actor failing for good also stops its supervisor, which
///   drains everything else (see
///   [`SupervisorConfig::with_stop_on_failure`](crate::SupervisorConfig::with_stop_on_failure)).
///
/// # Examples
///
/// ```
/// use maiko_core::{Actor, Envelope, Event, Result};
///
/// #[derive(Clone)]
/// struct Order(u64);
/// impl Event for Order {}
///
/// #[derive(Default)]
/// struct Tally { total: u64 }
///
/// impl Actor for Tally {
///     type Event = Order;
///
///     async fn handle_event(&mut self, envelope: &Envelope<Order>) -> Result {
///         self.total += envelope.event().0;
///         Ok(())
///     }
/// }
/// ```
pub trait Actor: Send + 'static {
    /// The event type of the supervisor this actor runs on.
    type Event: Event;

    /// Handle one event from the mailbox.
    ///
    /// Publishing from here is always admitted while the runtime runs, and
    /// also while it drains, within the drain hop limit: work accepted before
    /// a stop flows to the end of the pipeline.
    ///
    /// # Errors
    ///
    /// An error is passed to [`on_error`](Self::on_error), with two
    /// exceptions that never fail the actor. Return [`Error::Interrupted`]
    /// to say "stopped early because of the shutdown": the event then counts
    /// as interrupted. And an [`Error::Stopping`] returned while the runtime
    /// is stopping (a publish refused by the gate, propagated with `?`)
    /// counts the event as handled; the actor keeps draining its mailbox.
    fn handle_event(
        &mut self,
        envelope: &Envelope<Self::Event>,
    ) -> impl Future<Output = Result> + Send {
        let _ = envelope;
        async { Ok(()) }
    }

    /// Produce work on the actor's own initiative; the returned
    /// [`StepAction`] says when to call it again. The default returns
    /// [`StepAction::Never`].
    ///
    /// Once a stop was requested, `step` is not called again, and publishes
    /// from a `step` already running are refused with [`Error::Stopping`].
    ///
    /// # Errors
    ///
    /// An error is passed to [`on_error`](Self::on_error), except
    /// [`Error::Interrupted`], and [`Error::Stopping`] while the runtime is
    /// stopping: those just end the stepping, so a producer may write
    /// `self.ctx.send(event).await?` and stop cleanly.
    fn step(&mut self) -> impl Future<Output = Result<StepAction>> + Send {
        async { Ok(StepAction::Never) }
    }

    /// Runs once before the first event or step.
    ///
    /// # Errors
    ///
    /// An error (or a panic) is a failure: a restartable actor is rebuilt
    /// as after any failure; otherwise the actor fails before it started,
    /// its mailbox is counted as lost (dead letters) and this instance's
    /// `on_shutdown` does not run.
    fn on_start(&mut self) -> impl Future<Output = Result> + Send {
        async { Ok(()) }
    }

    /// Runs once at the end, after the mailbox was drained, also when the
    /// actor failed. Final writes belong here.
    ///
    /// # Errors
    ///
    /// An error is reported as the actor's failure.
    fn on_shutdown(&mut self) -> impl Future<Output = Result> + Send {
        async { Ok(()) }
    }

    /// Decide what an error from `handle_event` or `step` means: return
    /// `Ok(())` to carry on, or the error to fail the actor. The default
    /// propagates every error.
    ///
    /// A panic in `handle_event` or `step` arrives here as
    /// [`Error::Panicked`]. Swallowing it keeps the actor running with its
    /// state as the panic left it, and counts the event as handled; a
    /// panic in `on_error` itself fails the actor. An event counts as
    /// handled only when its handler returned `Ok` or this swallowed the
    /// error.
    ///
    /// # Errors
    ///
    /// The error that fails the actor.
    fn on_error(&mut self, error: Error) -> Result {
        Err(error)
    }
}
