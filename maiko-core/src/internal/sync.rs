//! The atomics of the shutdown protocol, swapped for loom's under
//! `--cfg maiko_loom` so the gate can be model-checked.
//!
//! Only the gate goes through here: it is the part whose interleavings
//! matter and that loom can see. tokio's channels stay tokio's (a global
//! `--cfg loom` would change tokio itself), and the model in
//! `internal/loom_model.rs` stands a small channel with tokio's close
//! semantics next to the real gate.

// loom is a dev-dependency, so only the crate's own test build uses it; a
// plain build with `--cfg maiko_loom` keeps the std atomics.
#[cfg(not(all(test, maiko_loom)))]
pub(crate) use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(all(test, maiko_loom))]
pub(crate) use loom::sync::atomic::{AtomicU64, Ordering};
