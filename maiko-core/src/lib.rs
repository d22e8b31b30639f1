//! The runtime of [maiko](https://docs.rs/maiko): a topic-based pub/sub
//! actor runtime for Tokio whose shutdown loses nothing and never hangs.
//!
//! Most programs depend on the `maiko` facade, which re-exports everything
//! here together with the derive macros. This crate holds the runtime:
//!
//! - the public types, one per module: [`Actor`], [`Context`],
//!   [`Supervisor`], [`SupervisorHandle`], [`Topic`], [`Envelope`],
//!   [`Error`], …;
//! - asking through the actors: a [`Reply`] slot in an event, and the
//!   [`Answer`] that cannot hang;
//! - the guide to stopping, [`shutdown`], with the [`ShutdownReport`];
//! - the machinery (gate, broker, actor loop, shutdown coordinator) in
//!   private modules.
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
#![forbid(unsafe_code)]

#[macro_use]
mod counts;

mod actor;
mod actor_builder;
mod actor_config;
mod actor_id;
mod context;
mod dead_letter;
mod delivery;
mod envelope;
mod error;
mod event;
mod event_id;
mod group;
mod handle;
mod into_envelope;
mod label;
mod meta;
mod overflow_policy;
mod reply;
mod restart_policy;
mod signal;
mod snapshot;
mod step_action;
mod subscribe;
mod supervisor;
mod supervisor_config;
mod topic;

pub mod shutdown;

#[cfg(feature = "monitoring")]
pub mod monitoring;
#[cfg(feature = "monitoring")]
pub mod monitors;
#[cfg(feature = "test-harness")]
pub mod testing;

mod internal;

pub use actor::Actor;
pub use actor_builder::ActorBuilder;
pub use actor_config::ActorConfig;
pub use actor_id::ActorId;
pub use context::Context;
pub use dead_letter::{DeadLetter, DeadLetters, DeadReason};
pub use delivery::{Completion, Delivery, DeliveryOutcome};
pub use envelope::Envelope;
pub use error::{Error, SendError};
pub use event::Event;
pub use event_id::EventId;
pub use group::{AddError, GroupHandle, GroupReport, ShutdownGroup};
pub use handle::SupervisorHandle;
pub use into_envelope::IntoEnvelope;
pub use label::Label;
pub use meta::Meta;
pub use overflow_policy::{CyclePolicy, OverflowPolicy};
pub use reply::{Answer, NoAnswer, Reply, ReplyError};
pub use restart_policy::RestartPolicy;
pub use shutdown::{ActorOutcome, ActorReport, BrokerReport, PhaseTimes, ShutdownReport};
pub use snapshot::{ActorFigures, ActorState, Snapshot};
pub use step_action::StepAction;
pub use subscribe::Subscribe;
pub use supervisor::Supervisor;
pub use supervisor_config::SupervisorConfig;
pub use topic::{DefaultTopic, Topic};

/// `Result` with maiko's [`Error`]; `Result` alone means `Result<()>`.
pub type Result<T = (), E = Error> = std::result::Result<T, E>;
