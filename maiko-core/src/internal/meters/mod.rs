//! The one seam between the runtime and the `metrics` facade (feature
//! `metrics`).
//!
//! The books and the cell's counters talk to these types and never name the
//! feature. This module picks their implementation once: [`on`] (the
//! feature is on: each one holds handles registered with the recorder
//! installed when it was made) or [`off`] (the same types, sized zero,
//! whose methods do nothing and compile away).
//!
//! # Same accounting as the report
//!
//! A meter is moved only by the writer of the report figure it mirrors, in
//! the same call and by the same amount (`Counters` for an actor's six
//! counts, `Books` for the refused publishes, the dead-letter sink for the
//! dead letters). So whenever the report could be taken, a counter equals
//! its figure: there is no second count that could drift.
//!
//! What the report has no figure for is moved once per batch, off the
//! publish path: the accepted publishes by the routing loop that takes
//! them, the in-flight gauge after each routed batch and each batch an
//! actor has handled (two tasks may set it in the other order than they
//! read it; the next batch corrects it), a mailbox's depth
//! when its actor takes a batch. The shutdown's phases are recorded with
//! the report.
//!
//! # Timing, per batch, sampled
//!
//! The two per-actor histograms never read the clock per event: an actor
//! times its first batch and then one batch in eight, reading the clock
//! before the batch's first handler and after its last.
//!
//! - `maiko_handle_duration_seconds` gets one sample per copy of a timed
//!   batch: the batch's handling time divided evenly among its copies
//!   (exact for a batch of one, which is what a lightly loaded actor
//!   takes).
//! - `maiko_event_latency_seconds` gets one sample per copy of a timed
//!   batch: from the event's [`timestamp`](crate::Meta::timestamp) (when
//!   the broker took it) to the end of the batch.
//!
//! A batch in which a handler failed or a copy became a dead letter (the
//! actor failed, or the deadline passed) records neither, so both only
//! ever describe copies that handlers took, without a restart's time. Their counts are samples; the counters give the
//! exact numbers. The sampling keeps a real recorder's cost (a sample is a
//! clock read and a push into a shared bucket) to a fraction of an
//! event's.
//!
//! # Life
//!
//! `maiko_actors{state}` moves on the actor's transitions (registered,
//! started, stopping, failing, ended): each moves one actor from the gauge
//! of its old state to that of its new one, and `ended` is final, so the
//! gauges always add up to the actors registered. An actor counts once its
//! registration can no longer fail, and one whose supervisor is dropped
//! without a shutdown counts as ended when its meters go.
//!
//! # Handles
//!
//! Handles are registered once: a supervisor's when it is made, an actor's
//! when it is added, a routing loop's (the publishes of one publisher to
//! one broker) when it starts. An event never looks one up. A recorder installed
//! after that does not see them; install it first (as every `metrics`
//! exporter asks).

#[cfg(not(feature = "metrics"))]
mod off;
#[cfg(feature = "metrics")]
mod on;

#[cfg(not(feature = "metrics"))]
pub(crate) use off::{ActorMeters, BatchClock, LaneMeters, SupervisorMeters};
#[cfg(feature = "metrics")]
pub(crate) use on::{ActorMeters, BatchClock, LaneMeters, SupervisorMeters};

/// Where an actor is in its life, as `maiko_actors` counts it: the states
/// of [`ActorState`](crate::ActorState), `Ended` whatever the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Life {
    Starting = 0,
    Running = 1,
    Stopping = 2,
    Failing = 3,
    Ended = 4,
}
