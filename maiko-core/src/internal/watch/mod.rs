//! The one seam between the runtime and monitoring (feature `monitoring`).
//!
//! The actor loop, the broker, the publish path and the wiring talk to a
//! [`Watch`] and never name the feature. This module picks its
//! implementation once: [`live`] (the feature is on: records go to the
//! supervisor's `MonitorHub`) or [`off`] (the feature is off: the same
//! types, sized zero, whose methods do nothing and compile away).
//!
//! What the seam offers:
//!
//! - [`Watch`]: one supervisor's monitoring, cloned into every routing loop
//!   and actor task. [`Watch::watching`] is read once per batch (one
//!   atomic load while the feature is on), and the [`Watching`] it returns
//!   makes the records of that batch, only if a monitor was registered;
//! - [`Sight`]: what a record of one copy carries from being taken out of
//!   the mailbox to being handled (its topic, and the actor's logical clock
//!   at handling);
//! - [`Clock`]: a publisher's logical clock, which orders the records;
//! - [`Drain`]: the coordinator's way to wait until every record has
//!   reached the monitors, and to count the records lost at the deadline.

#[cfg(feature = "monitoring")]
mod live;
#[cfg(not(feature = "monitoring"))]
mod off;

#[cfg(feature = "monitoring")]
pub(crate) use live::{Clock, Drain, Watch};
#[cfg(not(feature = "monitoring"))]
pub(crate) use off::{Clock, Drain, Watch};
