//! The engine of the randomised fault trials: injected errors and panics
//! under load, restarts (also during the drain), actors added and stopped
//! while producers run, and a stop at a random moment.
//!
//! A *trial* builds a fresh supervisor from parameters drawn from one seed
//! ([`Params::draw`]), runs it ([`run_trial`]) and compares, per subscriber
//! and producer, what was accepted with what was handled and what reached
//! the dead letters ([`check`](check::check)).
//!
//! # The system under test
//!
//! Every event is an [`Ev`]: a lane (its topic, one of [`LANES`]), the
//! producer that sent it and that producer's sequence number. Producers are
//! tasks sending through `SupervisorHandle::send`; each records only the
//! sends that returned `Ok`, with two ticks of one shared [`Clock`] around
//! the call, so that the test can tell which publishes started after an
//! actor was added, after a `stop_actor` call began, or after the stop
//! request.
//!
//! Every subscriber is a [`Flaky`]: it fails on the events a
//! deterministic rule ([`fate`]) picks from the seed, alternately with an
//! error and a panic: some only on their first attempt (so that the retry
//! handed to the rebuilt instance succeeds), some on every attempt (so
//! that they end as `Failed` dead letters once the retries are used up).
//! Most are restartable with a generous budget; some have a small budget
//! that runs out, one may not be restartable at all.
//!
//! # What a trial checks
//!
//! See `check.rs`: per (subscriber, producer), every accepted event the
//! subscriber was meant to get was handled exactly once or is exactly one
//! dead letter with the reason the rule, the restart policy and the
//! report allow; never both; the handled ones in order; and per actor the
//! report balances and its dead letters are `dropped + lost + abandoned`.

mod actors;
mod check;
mod params;
mod tally;
mod trial;

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use maiko::*;

#[allow(unused_imports)]
pub use {
    actors::{Flaky, Record},
    params::{Params, ProducerSpec, Restart, SubSpec},
    tally::Tally,
    trial::{TrialOutcome, run_trial},
};

/// How many lanes (topics) a trial has.
pub const LANES: u8 = 3;

/// The topic of an [`Ev`].
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct Lane(pub u8);

impl Topic<Ev> for Lane {
    fn from_event(event: &Ev) -> Self {
        Lane(event.lane)
    }
}

/// One event of a trial.
#[derive(Event, Clone, Debug, PartialEq, Eq)]
pub struct Ev {
    /// Its topic.
    pub lane: u8,
    /// The producer task that sent it.
    pub producer: u16,
    /// Its place in the producer's stream.
    pub seq: u32,
}

/// A producer's event, as the key of the records: `(producer, seq)`.
pub type Key = (u16, u32);

/// One logical clock for the whole trial: every tick is unique and ordered
/// with the other ticks (`SeqCst`), so "tick a < tick b" means a happened
/// before b.
#[derive(Clone, Debug, Default)]
pub struct Clock(Arc<AtomicU64>);

impl Clock {
    pub fn tick(&self) -> u64 {
        self.0.fetch_add(1, Ordering::SeqCst)
    }
}

/// What the rule says a subscriber's handler does with an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Handled at the first attempt.
    Fine,
    /// Fails at the first attempt only: a retry succeeds.
    FailOnce,
    /// Fails at every attempt.
    AlwaysFail,
}

/// splitmix64's finaliser.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The hash the rule works on: one per (trial, subscriber, event).
fn event_hash(seed: u64, sub: usize, key: Key) -> u64 {
    mix(seed ^ mix(((sub as u64) << 48) ^ (u64::from(key.0) << 32) ^ u64::from(key.1)))
}

/// What subscriber `sub` (drawn as `spec`) does with event `key` in the
/// trial of `seed`.
pub fn fate(seed: u64, sub: usize, spec: &SubSpec, key: Key) -> Fate {
    let h = event_hash(seed, sub, key);
    if spec.always_every > 0 && (h >> 32).is_multiple_of(spec.always_every) {
        Fate::AlwaysFail
    } else if spec.fail_every > 0 && (h & 0xffff_ffff).is_multiple_of(spec.fail_every) {
        Fate::FailOnce
    } else {
        Fate::Fine
    }
}

/// Whether failed attempt number `attempt` (from 0) of `sub` on `key`
/// panics (otherwise it returns an error): alternately, from a start the
/// hash picks.
pub fn panics(seed: u64, sub: usize, key: Key, attempt: u32) -> bool {
    ((event_hash(seed, sub, key) >> 20) + u64::from(attempt)) % 2 == 1
}

/// How many yields the handler of `sub` makes before handling `key`.
pub fn yields(seed: u64, sub: usize, spec: &SubSpec, key: Key) -> u64 {
    match spec.slowness {
        0 => 0,
        slow => (event_hash(seed, sub, key) >> 40) % (u64::from(slow) + 1),
    }
}

/// The text of failed attempt `attempt` of `name` on `key`: the error's
/// message, or the panic's.
pub fn failure_text(name: &str, key: Key, attempt: u32, panicked: bool) -> String {
    let how = if panicked { "panic" } else { "error" };
    format!(
        "injected {how} in {name} on {}:{} attempt {attempt}",
        key.0, key.1
    )
}

/// Silence the default panic hook for the panics this engine injects (the
/// runtime catches them; printing hundreds of them hides real failures).
/// Other panics are printed as usual.
pub fn quiet_injected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let text = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("");
            if !text.starts_with("injected ") {
                default(info);
            }
        }));
    });
}
