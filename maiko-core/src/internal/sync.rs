//! The atomics of the shutdown protocol, swapped for loom's under
//! `--cfg maiko_loom` so the gate can be model-checked.
//!
//! Only the gate goes through here: it is the part whose interleavings
//! matter and that loom can see. tokio's channels stay tokio's (a global
//! `--cfg loom` would change tokio itself), and the model in
//! `internal/loom_model.rs` stands a small channel with tokio's close
//! semantics next to the real gate.

#[cfg(not(maiko_loom))]
pub(crate) use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(maiko_loom)]
pub(crate) use loom::sync::atomic::{AtomicU64, Ordering};
