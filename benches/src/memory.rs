//! How the memory figures are taken. Each system's module has the probes
//! (`idle_actor_bytes`, or `idle_task_bytes` for tokio, and
//! `queued_event_bytes`); each takes the live-byte reader of a counting
//! global allocator, which the report binary installs and passes in.
//!
//! A probe builds the state, reads the live total before and after, and
//! divides the difference by the number of actors or events; the state is
//! then torn down. The report runs them on a current-thread runtime, before
//! any timing, so no other work allocates meanwhile.

/// Idle actors (or tasks) per probe.
pub const IDLE_ACTORS: usize = 1_000;
