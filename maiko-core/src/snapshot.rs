//! Live figures of a running supervisor: [`Snapshot`].

use std::fmt;

use crate::{ActorId, ActorOutcome};

/// Where an actor is in its life, as of a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub enum ActorState {
    /// Its `on_start` has not returned yet.
    Starting,
    /// It takes events.
    Running,
    /// It stopped itself (`Context::stop`) and is finishing its mailbox.
    Stopping,
    /// It failed and is finishing (its remaining events are lost).
    Failing,
    /// Its task has ended, this way.
    #[cfg_attr(feature = "serde", serde(serialize_with = "outcome_text"))]
    Ended(ActorOutcome),
}

#[cfg(feature = "serde")]
fn outcome_text<S: serde::Serializer>(outcome: &ActorOutcome, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(outcome)
}

event_counts! {
    /// One actor's figures in a [`Snapshot`]. The counts mean what they mean
    /// in the [`ActorReport`](crate::ActorReport), so far.
    #[derive(Debug, Clone, PartialEq, Eq)]
    #[cfg_attr(feature = "serde", derive(serde::Serialize))]
    #[non_exhaustive]
    pub struct ActorFigures {
        head {
            /// The actor.
            pub actor: ActorId,
        }
        counts(pub u64)
        tail {
            /// Events routed to it and not yet settled: waiting in its mailbox or
            /// in its hands. The actor adds its counts once per batch of events, so
            /// this runs a batch ahead at most.
            pub queued: u64,
            /// Events it published beyond its channel's capacity to break a cycle
            /// (see [`ActorReport::over_capacity`](crate::ActorReport::over_capacity)).
            pub over_capacity: u64,
            /// Where it is in its life.
            pub state: ActorState,
            /// What it is doing, if it is waiting on something ("handling an event
            /// of topic 'orders'", "blocked publishing to topic 'audit'", "idle"),
            /// or "ended" once its task has ended.
            pub doing: String,
        }
    }
}

/// Live figures of a supervisor, from
/// [`SupervisorHandle::snapshot`](crate::SupervisorHandle::snapshot): per
/// actor, what was routed to it, what it handled, what is queued, and its
/// state; for the runtime, what is in flight and what the gate refused.
///
/// Reading it takes a few atomic loads and one short lock per actor, so a
/// metrics endpoint can poll it every second. Its `Display` is a table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Snapshot {
    /// One entry per actor, in registration order.
    pub actors: Vec<ActorFigures>,
    /// Events accepted and not yet handled (one per copy once routed), over
    /// the whole gate (every member of a shutdown group).
    pub in_flight: u64,
    /// Publishes refused with `Error::Stopping` through this supervisor so
    /// far, also after its shutdown has finished.
    pub rejected: u64,
    /// Whether a shutdown has started.
    pub stopping: bool,
    /// Whether the shutdown has finished.
    pub finished: bool,
    /// Cycles of actors blocked publishing to each other under
    /// `OverflowPolicy::Block` that stand now, as
    /// `a -> topic 'x' -> b -> topic 'y' -> a` (see
    /// [`CyclePolicy`](crate::CyclePolicy); under the default policy a
    /// cycle is broken as soon as it is found, so this is mostly empty).
    pub cycles: Vec<String>,
}

impl Snapshot {
    /// The figures of `actor`, if it is registered.
    pub fn actor(&self, actor: &str) -> Option<&ActorFigures> {
        self.actors.iter().find(|a| a.actor.as_str() == actor)
    }
}

impl fmt::Display for ActorState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Starting => f.write_str("starting"),
            Self::Running => f.write_str("running"),
            Self::Stopping => f.write_str("stopping"),
            Self::Failing => f.write_str("failing"),
            Self::Ended(outcome) => write!(f, "ended: {outcome}"),
        }
    }
}

impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "in flight {}, refused {}{}",
            self.in_flight,
            self.rejected,
            match (self.stopping, self.finished) {
                (_, true) => ", stopped",
                (true, false) => ", stopping",
                (false, false) => "",
            }
        )?;
        for a in &self.actors {
            writeln!(
                f,
                "  {}: {} — routed {}, handled {}, queued {}, dropped {}, lost {}; {}",
                a.actor, a.state, a.routed, a.handled, a.queued, a.dropped, a.lost, a.doing
            )?;
        }
        Ok(())
    }
}
