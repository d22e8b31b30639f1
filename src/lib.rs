// The README's examples use every feature; they are tested as the crate's
// documentation when those are on (the README's test command turns them
// on), and a pointer to it stands in otherwise.
#![cfg_attr(
    all(feature = "macros", feature = "test-harness", feature = "serde"),
    doc = include_str!("../README.md")
)]
#![cfg_attr(
    not(all(feature = "macros", feature = "test-harness", feature = "serde")),
    doc = "A topic-based pub/sub actor runtime for Tokio whose shutdown loses nothing and \
           never hangs. See the README (and build the documentation with `--all-features` \
           to read it here)."
)]
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
    pub use maiko_core::{Answer, NoAnswer, Reply, ReplyError, RestartPolicy, ShutdownGroup};

    #[cfg(feature = "macros")]
    pub use maiko_macros::{Event, Label, SelfRouting};
}
