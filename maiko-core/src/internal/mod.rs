//! Machinery behind the public types, in floors: each module imports only
//! modules drawn below it, so there is no circle of imports.
//! `.ci/internal-imports` checks that there is none (CI runs it) and prints
//! the floors as the code has them.
//!
//! ```text
//!  wiring        registration before start(), and spawning         (top)
//!  ------------------------------------------------------------------
//!  coordinator   the shutdown: drain, deadline, reports
//!  broker        routing by topic; close and drain of stage 1
//!  actor_loop    one actor: events, steps, mailbox drain, on_shutdown
//!  publish       check, reserve, check again, send
//!  control       stopping from outside: handles and signals
//!  ------------------------------------------------------------------
//!  shared        a supervisor's way to its protocol, and its books
//!  protocol      the gate, the stop signals, the deadline (per gate)
//!  books         refusals, cells, report (per supervisor)
//!  ------------------------------------------------------------------
//!  cycle         the wait-for graph of blocked publishers
//!  cell          what the runtime shares about one actor
//!  outbox        a publisher's lanes, one per broker
//!  watch         the seam to monitoring (live, or a no-op twin)
//!  monitor_hub   the monitors' queue and dispatcher (feature)
//!  meters        the seam to the `metrics` facade (feature)
//!  ------------------------------------------------------------------
//!  lane          a stage-1 channel and its spill
//!  gate          which publishes are admitted; the in-flight count
//!  mail, slot,   plain data: the shared envelope, the report slot,
//!  tracker,      a tracked event's outcome, panics caught,
//!  guard, sync,  the gate's atomics (loom's in the model check),
//!  spans, tasks  an event's tracing spans, tasks spawned by name   (bottom)
//! ```
//!
//! Where shutdown happens: [`publish`] is the one path every sender takes
//! through the [`gate`]; [`broker`]'s routing loops close and drain stage 1
//! when the gate closes; [`actor_loop`] drains each mailbox before
//! `on_shutdown`; [`coordinator`] runs the deadline ladder and writes the
//! reports. Each file states its own invariants.

pub(crate) mod actor_loop;
pub(crate) mod board;
pub(crate) mod books;
pub(crate) mod broker;
pub(crate) mod cell;
pub(crate) mod control;
pub(crate) mod coordinator;
pub(crate) mod cycle;
pub(crate) mod dead;
pub(crate) mod gate;
pub(crate) mod guard;
pub(crate) mod lane;
pub(crate) mod mail;
pub(crate) mod meters;
#[cfg(feature = "monitoring")]
pub(crate) mod monitor_hub;
pub(crate) mod outbox;
pub(crate) mod protocol;
pub(crate) mod publish;
pub(crate) mod shared;
pub(crate) mod slot;
pub(crate) mod spans;
pub(crate) mod sync;
pub(crate) mod tasks;
pub(crate) mod tracker;
pub(crate) mod watch;
pub(crate) mod wiring;

#[cfg(all(test, maiko_loom))]
mod loom_model;
