//! How the memory figures are taken. Each system's module has the probes
//! (`idle_actor_bytes`, or `idle_task_bytes` for tokio, and
//! `queued_event_bytes`); each takes the live-byte reader of a counting
//! global allocator, which the report binary installs and passes in.
//!
//! A probe builds the state, reads the live total before and after, and
//! divides the difference by the number of actors or events; the state is
//! then torn down. The churn probe (maiko only) instead reads the live total
//! every [`CHURN_BLOCK`] cycles of adding and stopping an actor in one
//! running supervisor, to show whether it stays flat. The report runs them on a current-thread runtime, before
//! any timing, so no other work allocates meanwhile.

/// Idle actors (or tasks) per probe.
pub const IDLE_ACTORS: usize = 1_000;

/// Cycles of the churn probe (`maiko_now::churn_bytes`: add an actor, publish
/// one event, stop the actor) before the first reading.
pub const CHURN_WARM_UP: u64 = 2_000;

/// Cycles between two readings of the churn probe after the warm-up.
pub const CHURN_BLOCK: u64 = 10_000;

/// Cycles of the churn probe in all.
pub const CHURN_CYCLES: u64 = 100_000;

/// The cycles after which the churn probe reads the live total: the
/// warm-up, then every [`CHURN_BLOCK`] up to [`CHURN_CYCLES`].
pub fn churn_samples() -> Vec<u64> {
    std::iter::once(CHURN_WARM_UP)
        .chain((CHURN_BLOCK..=CHURN_CYCLES).step_by(CHURN_BLOCK as usize))
        .collect()
}
