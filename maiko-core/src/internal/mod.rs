//! Machinery behind the public types. Where shutdown happens:
//!
//! - [`gate`]: which publishes are admitted, and the count of accepted but
//!   unhandled events that tells when the system is quiescent;
//! - [`publish`]: the four-step publish path every sender goes through;
//! - [`broker`]: routing by topic, and closing and draining stage 1;
//! - [`actor_loop`]: one actor's events, steps, mailbox drain and
//!   `on_shutdown`;
//! - [`coordinator`]: the shutdown itself, its deadline and its report.

pub(crate) mod actor_loop;
pub(crate) mod broker;
pub(crate) mod cell;
pub(crate) mod coordinator;
pub(crate) mod gate;
pub(crate) mod guard;
pub(crate) mod publish;
pub(crate) mod runtime;
pub(crate) mod sync;

#[cfg(all(test, maiko_loom))]
mod loom_model;
