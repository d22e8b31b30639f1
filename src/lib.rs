#![doc = include_str!("../README.md")]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
#![forbid(unsafe_code)]

// Lets the derives' `::maiko::…` paths resolve inside this crate's own
// doctests and tests.
extern crate self as maiko;

pub use maiko_core::*;

#[cfg(feature = "macros")]
pub use maiko_macros::{Event, Label, SelfRouting};

/// Everything an actor program usually needs: `use maiko::prelude::*;`.
pub mod prelude {
    pub use maiko_core::{
        Actor, ActorConfig, ActorId, Context, DefaultTopic, Envelope, Error, Event, EventId, Label,
        OverflowPolicy, Result, SendError, ShutdownReport, StepAction, Subscribe, Supervisor,
        SupervisorConfig, SupervisorHandle, Topic,
    };

    #[cfg(feature = "macros")]
    pub use maiko_macros::{Event, Label, SelfRouting};
}
