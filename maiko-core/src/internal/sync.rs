//! The atomics and the mutex of the shutdown protocol, swapped for loom's
//! under `--cfg maiko_loom` so the gate and the routing board can be
//! model-checked.
//!
//! Only the gate and the [`Board`](super::board::Board) go through here:
//! they are the parts whose interleavings matter and that loom can see. tokio's channels stay tokio's (a global
//! `--cfg loom` would change tokio itself), and the model in
//! `internal/loom_model.rs` stands a small channel with tokio's close
//! semantics next to the real gate.

// loom is a dev-dependency, so only the crate's own test build uses it; a
// plain build with `--cfg maiko_loom` keeps the std atomics.
#[cfg(not(all(test, maiko_loom)))]
pub(crate) use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(all(test, maiko_loom))]
pub(crate) use loom::sync::atomic::{AtomicU64, Ordering};

/// A mutex with parking_lot's shape (`lock()` returns the guard), loom's
/// under the model check.
#[cfg(not(all(test, maiko_loom)))]
pub(crate) use parking_lot::Mutex;

#[cfg(all(test, maiko_loom))]
#[derive(Debug)]
pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

#[cfg(all(test, maiko_loom))]
impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(loom::sync::Mutex::new(value))
    }

    pub(crate) fn lock(&self) -> loom::sync::MutexGuard<'_, T> {
        self.0
            .lock()
            .expect("no test thread panics while holding it")
    }
}
