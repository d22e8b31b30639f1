//! How maiko shuts down, and what it reports.
//!
//! # The promise
//!
//! A supervisor can be stopped at any moment and it loses no event it
//! accepted, accepts nothing after the stop, and never hangs. In detail,
//! seven guarantees, numbered so that tests and comments can cite them
//! (a *publish* is any call that hands an event to the runtime; it is
//! *accepted* when it returned `Ok`):
//!
//! - **G1 No loss.** Every accepted event is handled by every actor
//!   subscribed to its topic when it was routed, except events dropped by
//!   an `OverflowPolicy::Drop`, meant for an actor that failed, or abandoned
//!   at the deadline; each of those is counted in the [`ShutdownReport`].
//! - **G2 No accept after close.** A publish the gate refuses returns
//!   [`Error::Stopping`] and reaches no one (the `publish` methods hand the
//!   event back); a publish waiting for room when the gate flips is either
//!   accepted (and G1 holds for it) or refused, never `Ok` and lost, never
//!   refused and delivered.
//! - **G3 Termination.** [`Supervisor::stop`](crate::Supervisor::stop)
//!   returns within the shutdown timeout plus a small, bounded grace,
//!   whatever the actors do: handlers that never return, cycles, panics, a
//!   second stop request.
//! - **G4 Order.** Events from one publisher reach each subscriber in the
//!   order they were accepted, during the drain too.
//! - **G5 Lifecycle.** `on_shutdown` runs exactly once for every actor whose
//!   `on_start` succeeded, after its mailbox was drained (or abandoned at
//!   the deadline), also when the actor failed; a publish refused inside a
//!   handler during the drain never fails the actor.
//! - **G6 Convergence.** Stop requests from anywhere start one shutdown; a
//!   second request never cuts the drain short; dropping the future of
//!   `stop()` does not abandon it.
//! - **G7 Proportional.** Stopping an idle system takes microseconds (no
//!   timer, no polling); stopping with a backlog takes about the time the
//!   actors need to handle it.
//!
//! # The gate
//!
//! Every publish ([`Context::send`](crate::Context::send),
//! [`Context::send_child_event`](crate::Context::send_child_event),
//! [`Supervisor::send`](crate::Supervisor::send), a
//! [`SupervisorHandle`](crate::SupervisorHandle)'s `send`) runs the same four
//! steps: check the gate; wait for room in the publisher's channel to the
//! broker; check the gate again and count the event as in flight, in one
//! atomic step; send. The gate has three states:
//!
//! - **Open**: everything is admitted.
//! - **Draining**, from the first stop request: publishes from outside the
//!   actors and from `step()` are refused and `step()` is no longer called;
//!   [`Context::is_stopping`](crate::Context::is_stopping) turns true.
//!   Publishes from inside `handle_event` are still admitted, so work that
//!   was accepted before the stop flows to the end of the pipeline. Each
//!   event published while draining carries the hop count of the event
//!   being handled plus one, and a publish past the
//!   [drain hop limit](crate::SupervisorConfig::with_drain_hop_limit) is
//!   refused: two actors answering each other forever stop after that many
//!   hops.
//! - **Closed**, as soon as nothing accepted is unhandled and no handler is
//!   running (the gate counts in-flight events, so this needs no timer), or
//!   when the deadline passes: every publish is refused.
//!
//! With [strict shutdown](crate::SupervisorConfig::with_strict_shutdown) the
//! gate goes straight to Closed at the first stop request.
//!
//! # The drain
//!
//! When the gate closes, the broker closes every publisher's channel and
//! receives from it until it is empty: a publisher that had reserved room
//! before the close still delivers, one that had not gets `Stopping`. The
//! broker routes what it drained, then lets go of the mailboxes; every actor
//! handles its mailbox to the end, runs `on_shutdown`, and ends.
//! `stop()` returns when every actor and routing task has ended. There is no
//! sleep, no polling and no fixed grace period on this path.
//!
//! # Several brokers, several supervisors
//!
//! A supervisor runs one broker per name its topics give
//! ([`Topic::broker`](crate::Topic::broker)); each broker has its own
//! channel from every publisher and its own routing loops, and on stop
//! each one closes and drains its own channels as described above. There
//! is still one gate per supervisor, so the drain and the guarantees are
//! the same; G4 holds per publisher within a broker (no order is promised
//! between two brokers).
//!
//! A [`ShutdownGroup`](crate::ShutdownGroup) goes one step further: its
//! supervisors share one gate. One stop request stops them all, a
//! handler's [`forward`](crate::Context::forward) into another member is a
//! handler's publish for that gate (admitted while draining, within the hop
//! limit), and the gate closes only when every member is quiescent; so G1
//! to G7 hold for the group as a whole, across members. Members then finish
//! in the order they were added, and one deadline bounds them all.
//!
//! # Cycles of blocked publishers
//!
//! The drain and the deadline bound a shutdown, but a *running* system can
//! also stop moving under `OverflowPolicy::Block`: actors that answer
//! events with events can wait for each other in a circle (each inside a
//! handler, waiting for room to publish, while its routing loop waits for
//! room in the next one's mailbox). The runtime keeps a wait-for graph of
//! the publishers and routing loops that actually wait (nothing else pays
//! for it), finds a cycle when its last wait begins, logs it once
//! (`s0 -> topic 'default' -> s1 -> topic 'default' -> s0`), shows it in
//! the live [`Snapshot`](crate::Snapshot) while it stands, and lists it in
//! [`ShutdownReport::cycles`] if it stood at the stop. A slow consumer that
//! is not itself waiting to publish is never part of a cycle.
//!
//! What happens next is the supervisor's
//! [`CyclePolicy`](crate::CyclePolicy). The default, `Exceed`, lets the
//! publish that closes the cycle go into its channel beyond capacity: it is
//! accepted (G2 as usual), routed in order after what its publisher sent
//! before it (G4), and handled (G1); the cycle unwinds. It costs memory,
//! one event per break, for as long as the cycle stands, and is counted per
//! actor as [`ActorReport::over_capacity`]. `Wait` keeps the memory bound
//! and only reports (the cycle then stands until the deadline, G3); `Refuse`
//! hands the event back with [`Error::Cycle`].
//!
//! # Knowing when an event is done
//!
//! A tracked publish ([`SupervisorHandle::send_tracked`](crate::SupervisorHandle::send_tracked),
//! [`Supervisor::send_tracked`](crate::Supervisor::send_tracked),
//! [`Context::send_tracked`](crate::Context::send_tracked)) passes the same
//! gate and returns a [`Delivery`](crate::Delivery) with the acceptance. It
//! resolves when every copy of the event is settled, with the same five
//! outcomes the report counts (handled, dropped, lost, abandoned,
//! interrupted), so it always resolves: by the handlers, or at the latest
//! when the deadline settles what is left. An untracked publish pays
//! nothing for it (one `Option` check where a copy is settled).
//!
//! A handler that finishes its event elsewhere (waits for a remote
//! acknowledgement, writes on another thread) calls
//! [`Context::defer`](crate::Context::defer) and returns; the actor goes on
//! with its next event. The deferred event keeps its unit in the gate until
//! its [`Completion`](crate::Completion) is completed (handled), failed or
//! dropped (lost), so the drain waits for it as it waits for a handler (G1,
//! G3: bounded by the deadline, after which a completion still out counts as
//! abandoned).
//!
//! # The deadline
//!
//! If the drain has not finished after the
//! [shutdown timeout](crate::SupervisorConfig::with_shutdown_timeout), the
//! gate closes for everyone, actors stop taking events from their mailboxes
//! (what is left is *abandoned*), actors still inside a handler get the
//! [grace](crate::SupervisorConfig::with_shutdown_grace) to return, and then
//! the remaining tasks are aborted. The report says which actor was stuck
//! doing what.

use std::{fmt, time::Duration};

use crate::{ActorId, Error, Result};

/// How an actor ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ActorOutcome {
    /// It ended normally: its mailbox ended (or it stopped itself) and
    /// `on_shutdown` returned `Ok`.
    Completed,
    /// It failed with this error (from a handler, step or hook, a panic, or
    /// a mailbox overflow under `OverflowPolicy::Fail`).
    Failed(Error),
    /// The shutdown deadline made it abandon events, and it returned within
    /// the grace.
    Interrupted,
    /// Its task was aborted after the grace.
    Aborted,
}

impl fmt::Display for ActorOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Completed => f.write_str("completed"),
            Self::Failed(error) => write!(f, "failed: {error}"),
            Self::Interrupted => f.write_str("interrupted at the deadline"),
            Self::Aborted => f.write_str("aborted"),
        }
    }
}

event_counts! {
    /// What happened to one actor's events during the life of the supervisor.
    ///
    /// The counts balance: `routed == handled + dropped + lost + abandoned +
    /// interrupted` (see [`is_balanced`](Self::is_balanced)). Every copy of an
    /// event the broker meant for the actor is counted once as routed and once
    /// as one of the five outcomes, on every path, the abort at the end of the
    /// grace included.
    #[derive(Debug, Clone, PartialEq, Eq)]
    #[non_exhaustive]
    pub struct ActorReport {
        head {
            /// The actor.
            pub actor: ActorId,
        }
        counts(pub u64)
        tail {
            /// How it ended.
            pub outcome: ActorOutcome,
            /// What it was doing when it was abandoned at the deadline, if it
            /// was.
            pub stuck_in: Option<String>,
            /// Events it published beyond its channel's capacity to break a
            /// cycle of actors blocked publishing to each other (see
            /// [`CyclePolicy::Exceed`](crate::CyclePolicy::Exceed)). They were
            /// routed like any other, so they are in the subscribers' counts;
            /// this is the memory the cycles cost, not a sixth outcome.
            pub over_capacity: u64,
            /// How many times it was rebuilt after a failure (see
            /// [`Supervisor::add_restartable`](crate::Supervisor::add_restartable)).
            pub restarts: u32,
        }
    }
}

impl ActorReport {
    /// `true` when every routed event is accounted for exactly once.
    pub fn is_balanced(&self) -> bool {
        self.routed == self.handled + self.dropped + self.lost + self.abandoned + self.interrupted
    }
}

/// What one broker of a supervisor left unrouted when the deadline aborted
/// its routing tasks (see [`Topic::broker`](crate::Topic::broker)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BrokerReport {
    /// The broker's name.
    pub name: String,
    /// Events its routing tasks had taken or still had in their channels
    /// when they were aborted.
    pub unrouted: u64,
}

impl BrokerReport {
    pub(crate) fn new(name: &str, unrouted: u64) -> Self {
        Self {
            name: name.to_owned(),
            unrouted,
        }
    }
}

/// Time spent in each phase of a shutdown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PhaseTimes {
    /// From the stop request until the gate closed (handlers finishing the
    /// work accepted before the stop).
    pub draining: Duration,
    /// From the gate closing until every routing task had drained its
    /// channels.
    pub closing: Duration,
    /// From then until every actor had drained its mailbox and run
    /// `on_shutdown`.
    pub on_shutdown: Duration,
}

/// The outcome of a shutdown: per actor, what became of its events and how
/// it ended; for the runtime, what the gate refused, how long each phase
/// took, and whether the deadline was hit.
///
/// Returned by [`Supervisor::shutdown`](crate::Supervisor::shutdown) and
/// [`SupervisorHandle::stopped`](crate::SupervisorHandle::stopped);
/// [`Supervisor::stop`](crate::Supervisor::stop) turns it into a `Result`.
/// Its `Display` is meant for a log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// One entry per registered actor, in registration order.
    pub actors: Vec<ActorReport>,
    /// Publishes refused with `Error::Stopping` through this supervisor
    /// (its handles and its actors) from its creation until this report
    /// was made, when the shutdown finished. Publishes tried after that are
    /// refused too but no longer in this report; the live
    /// [`Snapshot::rejected`](crate::Snapshot::rejected) goes on counting
    /// them.
    pub rejected: u64,
    /// Events accepted but never routed because the routing tasks were
    /// aborted at the deadline.
    pub unrouted: u64,
    /// One entry per broker (the default broker first), with what its
    /// routing tasks left unrouted.
    pub brokers: Vec<BrokerReport>,
    /// Monitoring records that never reached the monitors because the
    /// task producing them was aborted at the deadline (feature
    /// `monitoring`; otherwise 0). Monitoring never drops a record
    /// otherwise (see the `monitoring` module).
    pub monitor_records_lost: u64,
    /// Whether the drain was cut short: the deadline passed, or a second
    /// signal forced the abort step.
    pub deadline_hit: bool,
    /// Whether it was a second signal that cut the drain short (then no
    /// grace was given).
    pub aborted_by_signal: bool,
    /// The configured shutdown timeout.
    pub timeout: Duration,
    /// Time per phase.
    pub phases: PhaseTimes,
    /// From the stop request until everything had ended.
    pub total: Duration,
    /// Cycles of actors blocked publishing to each other under
    /// `OverflowPolicy::Block` that stood at the stop request or were
    /// found after it, as `a -> topic 'x' -> b -> topic 'y' -> a` (see
    /// [`CyclePolicy`](crate::CyclePolicy)).
    pub cycles: Vec<String>,
}

impl ShutdownReport {
    /// `true` when every actor completed and nothing was lost, dropped,
    /// abandoned or left unrouted.
    pub fn is_clean(&self) -> bool {
        !self.deadline_hit
            && self.unrouted == 0
            && self.actors.iter().all(|a| {
                a.outcome == ActorOutcome::Completed
                    && a.dropped == 0
                    && a.lost == 0
                    && a.abandoned == 0
            })
    }

    /// The report for `actor`, if it was registered.
    pub fn actor(&self, actor: &str) -> Option<&ActorReport> {
        self.actors.iter().find(|a| a.actor.as_str() == actor)
    }

    /// Events abandoned at the deadline, in mailboxes and unrouted.
    pub fn abandoned(&self) -> u64 {
        self.unrouted + self.actors.iter().map(|a| a.abandoned).sum::<u64>()
    }

    /// `Ok` if an actor neither failed nor was cut off; otherwise the first
    /// failure as [`Error::ActorFailed`], or [`Error::ShutdownTimedOut`].
    /// Events dropped under `OverflowPolicy::Drop` are by design and do not
    /// make this an error.
    ///
    /// # Errors
    ///
    /// As described above.
    pub fn into_result(self) -> Result {
        self.result()
    }

    /// [`into_result`](Self::into_result) of a report left in place.
    pub(crate) fn result(&self) -> Result {
        for actor in &self.actors {
            if let ActorOutcome::Failed(error) = &actor.outcome {
                return Err(Error::actor_failed(&actor.actor, error.clone()));
            }
        }
        if self.deadline_hit {
            return Err(Error::ShutdownTimedOut {
                timeout: self.timeout,
                abandoned: self.abandoned(),
            });
        }
        Ok(())
    }
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.is_clean() {
            "clean"
        } else {
            "NOT clean"
        };
        writeln!(
            f,
            "shutdown {verdict} in {:?} (draining {:?}, closing {:?}, on_shutdown {:?}){}",
            self.total,
            self.phases.draining,
            self.phases.closing,
            self.phases.on_shutdown,
            match (self.deadline_hit, self.aborted_by_signal) {
                (_, true) => "; aborted by a second signal".to_owned(),
                (true, false) => format!("; deadline of {:?} hit", self.timeout),
                (false, false) => String::new(),
            }
        )?;
        write!(
            f,
            "  publishes refused at the gate: {}; events left unrouted: {}",
            self.rejected, self.unrouted
        )?;
        if self.brokers.len() > 1 {
            let by_broker: Vec<String> = self
                .brokers
                .iter()
                .map(|b| format!("broker '{}': {}", b.name, b.unrouted))
                .collect();
            write!(f, " ({})", by_broker.join(", "))?;
        }
        writeln!(f)?;
        for cycle in &self.cycles {
            writeln!(f, "  cycle of blocked publishers: {cycle}")?;
        }
        if self.monitor_records_lost > 0 {
            writeln!(
                f,
                "  monitoring records lost at the abort: {}",
                self.monitor_records_lost
            )?;
        }
        for a in &self.actors {
            write!(
                f,
                "  {}: {} — routed {}, handled {}, dropped {}, lost {}, abandoned {}, interrupted {}",
                a.actor,
                a.outcome,
                a.routed,
                a.handled,
                a.dropped,
                a.lost,
                a.abandoned,
                a.interrupted
            )?;
            if a.restarts > 0 {
                write!(f, "; restarted {} times", a.restarts)?;
            }
            if a.over_capacity > 0 {
                write!(f, "; {} over capacity to break a cycle", a.over_capacity)?;
            }
            if let Some(stuck) = &a.stuck_in {
                write!(f, "; stuck {stuck}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
