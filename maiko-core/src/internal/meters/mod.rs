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
//! them, the in-flight gauge after each routed batch, a mailbox's depth
//! when its actor takes a batch. The shutdown's phases are recorded with
//! the report.
//!
//! # Handles
//!
//! Handles are registered once: a supervisor's when it is made, an actor's
//! when it is added. An event never looks one up. A recorder installed
//! after that does not see them; install it first (as every `metrics`
//! exporter asks).

#[cfg(not(feature = "metrics"))]
mod off;
#[cfg(feature = "metrics")]
mod on;

#[cfg(not(feature = "metrics"))]
pub(crate) use off::{ActorMeters, SupervisorMeters};
#[cfg(feature = "metrics")]
pub(crate) use on::{ActorMeters, SupervisorMeters};
