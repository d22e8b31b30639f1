//! The engine of the randomised shutdown stress test.
//!
//! A *trial* builds a fresh supervisor from parameters drawn from one seed
//! ([`Params::draw`]), runs producers, a pipeline and subscribers on it,
//! stops it at a random moment and then compares, per publisher and
//! sequence number, what was accepted with what was handled
//! ([`run_trial`]).
//!
//! The counters cite the guarantees they check by the numbers (G1 to G7)
//! given in the `maiko::shutdown` module guide.
//!
//! # The system under test
//!
//! Every event is a [`Msg`]: a [`Lane`] (its topic), the id of the
//! participant that published it, and that publisher's sequence number.
//!
//! - *Sources* publish to `Data(0)`: the test task itself through
//!   `Supervisor::send` / `publish` (the "driver"), spawned tasks through
//!   `SupervisorHandle::send`, actors from `step()`, and *reactors*, which
//!   publish a burst from `handle_event` when a source sends them a
//!   `Trigger`.
//! - *Relays* form the pipeline: a relay of stage `k` handles `Data(k)` and
//!   publishes one `Data(k + 1)` per event from `handle_event`.
//! - *Sinks* only record what they handle; each subscribes to some lanes,
//!   or to all of them.
//!
//! Every publisher records the publishes that returned `Ok` (and only
//! those); every subscriber records what it handled, in order.
//!
//! # What a trial checks
//!
//! After the shutdown has returned, for every subscriber and every
//! publisher, the sequence numbers handled on the lanes the subscriber
//! takes must be exactly the ones accepted on those lanes, each once, in
//! accepted order. Besides, no publish from outside the handlers that
//! started after the stop request had returned may be accepted, and the
//! [`ShutdownReport`] must balance, be clean, and count what the actors
//! counted.
//!
//! # Where things are
//!
//! - `params.rs`: what a trial is made of, drawn from its seed.
//! - `actors.rs`: the actors, and the record they share with the test.
//! - `trial.rs`: running one trial, from building the supervisor to the
//!   stop.
//! - `check.rs`: comparing what was accepted with what was handled.
//! - `tally.rs`: the counts, and the summary line they print.

mod actors;
mod check;
mod params;
mod tally;
mod trial;

use maiko::*;

// The engine's interface. A test binary that does not run the engine
// leaves it unused, as it does the rest of `support` it does not need.
#[allow(unused_imports)]
pub use {
    params::{ActorSpec, DriverStop, Params, Script, SinkSpec, StepperSpec, StopPlan},
    tally::{Tally, TrialOutcome},
    trial::run_trial,
};

/// The topic of every stress event.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Lane {
    /// Pipeline stage `k`: sources publish to `Data(0)`, the relays of stage
    /// `k` take `Data(k)` and publish to `Data(k + 1)`.
    Data(u8),
    /// Asks reactor `n` to publish a burst from its handler.
    Trigger(u8),
}

impl Topic<Msg> for Lane {
    fn from_event(event: &Msg) -> Self {
        event.lane
    }
}

/// One stress event.
#[derive(Event, Clone, Debug, PartialEq, Eq)]
pub struct Msg {
    /// Its topic.
    pub lane: Lane,
    /// The participant that published it.
    pub publisher: u16,
    /// Its place in the publisher's stream (counting refused attempts too).
    pub seq: u32,
    /// For a trigger: how many events the reactor publishes in answer.
    pub burst: u8,
}

/// Every lane of a trial with `depth` data lanes and `reactors` reactors.
fn all_lanes(depth: u8, reactors: usize) -> Vec<Lane> {
    let triggers = (0..reactors).map(|r| Lane::Trigger(u8::try_from(r).expect("few reactors")));
    (0..depth).map(Lane::Data).chain(triggers).collect()
}
