//! Helpers shared by the integration tests: a timeout safety net, a shared
//! log, and a door that holds a handler until the test opens it.
//!
//! None of them sleeps: every wait is on a signal, bounded by [`TIMEOUT`]
//! only so that a broken runtime fails the test instead of hanging it.

#![allow(dead_code)]

pub mod overflow;

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::sync::{Semaphore, watch};

/// The safety net for every wait in a test. Generous: a passing test never
/// comes near it.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Await `future`, failing the test if it takes longer than [`TIMEOUT`].
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(TIMEOUT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out after {TIMEOUT:?} waiting for {what}"))
}

/// An append-only log shared by actors and the test, to check the order in
/// which things happened.
#[derive(Clone, Debug, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&self, entry: impl Into<String>) {
        self.0.lock().unwrap().push(entry.into());
    }

    pub fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// The entries that start with `prefix`, in order.
    pub fn of(&self, prefix: &str) -> Vec<String> {
        self.entries()
            .into_iter()
            .filter(|entry| entry.starts_with(prefix))
            .collect()
    }

    pub fn count(&self, entry: &str) -> usize {
        self.entries()
            .iter()
            .filter(|e| e.as_str() == entry)
            .count()
    }
}

/// Holds handlers until the test opens it, and tells the test how many are
/// waiting. Used to pile events up in a mailbox behind a busy handler.
#[derive(Clone, Debug)]
pub struct Door {
    open: Arc<watch::Sender<bool>>,
    arrived: Arc<Semaphore>,
}

impl Default for Door {
    fn default() -> Self {
        Self::new()
    }
}

impl Door {
    pub fn new() -> Self {
        Self {
            open: Arc::new(watch::Sender::new(false)),
            arrived: Arc::new(Semaphore::new(0)),
        }
    }

    /// Called from a handler: say "I am here" and wait until the door opens.
    pub async fn pass(&self) {
        let mut open = self.open.subscribe();
        self.arrived.add_permits(1);
        let _ = open.wait_for(|open| *open).await;
    }

    /// Wait until `n` more handlers have arrived at the door.
    pub async fn arrivals(&self, n: u32) {
        within(
            "handlers to arrive at the door",
            self.arrived.acquire_many(n),
        )
        .await
        .expect("the semaphore is never closed")
        .forget();
    }

    /// Let every waiting and future handler through.
    pub fn open(&self) {
        self.open.send_replace(true);
    }
}
