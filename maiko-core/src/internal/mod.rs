//! Machinery behind the public types. Where shutdown happens, by file:
//!
//! - [`shared`]: the one door into the protocol: the gate and every signal
//!   of the shutdown (stopping, closed, escalated, finished), behind
//!   methods;
//! - [`gate`]: which publishes are admitted, and the count of accepted but
//!   unhandled events that tells when the system is quiescent;
//! - [`publish`]: the four-step publish path every sender goes through;
//! - [`outbox`]: a publisher's channels to the brokers (stage 1), one per
//!   broker;
//! - [`broker`]: routing by topic in one routing loop per publisher, and
//!   closing and draining stage 1;
//! - [`actor_loop`]: one actor's events, steps, mailbox drain and
//!   `on_shutdown`;
//! - [`coordinator`]: the shutdown itself, its deadline and its report.
//!
//! And around them:
//!
//! - [`cell`]: what the runtime shares about one actor, including its event
//!   accounting ([`cell::Counters`], whose invariant is the report's balance);
//! - [`wiring`]: registration before `start()` and the spawning it does;
//! - [`guard`]: running actor code with panics caught and waits recorded;
//! - [`tracker`]: what became of a tracked event, for its `Delivery`;
//! - `monitor_hub` (feature `monitoring`): the queue of records for the
//!   monitors and the task that delivers them;
//! - [`sync`]: the gate's atomics, swapped for loom's in the model check.

pub(crate) mod actor_loop;
pub(crate) mod broker;
pub(crate) mod cell;
pub(crate) mod coordinator;
pub(crate) mod cycle;
pub(crate) mod gate;
pub(crate) mod guard;
#[cfg(feature = "monitoring")]
pub(crate) mod monitor_hub;
pub(crate) mod outbox;
pub(crate) mod publish;
pub(crate) mod shared;
pub(crate) mod sync;
pub(crate) mod tracker;
pub(crate) mod wiring;

#[cfg(all(test, maiko_loom))]
mod loom_model;
