//! Helpers shared by the integration tests: a timeout safety net, polling a
//! future once, seeds and counts from the environment, a shared log, a door
//! that holds a handler until the test opens it, the overflow scenario of
//! the policy tests and the engine of the randomised stress test.
//!
//! None of them sleeps to wait for something: every wait is on a signal,
//! bounded by [`TIMEOUT`] only so that a broken runtime fails the test
//! instead of hanging it. (The stress engine's slow handlers sleep now and
//! then, as simulated work.) What a test's own actors do, they signal: a
//! [`Tally`] to wait for a count, a [`Door`] to wait for handlers to arrive.
//!
//! One kind of wait is a poll, and has to be: waiting for the runtime to
//! show a state in [`SupervisorHandle::snapshot`](maiko::SupervisorHandle::snapshot)
//! (an actor blocked publishing, a cycle standing), which the runtime
//! announces to no one. [`until`] reads it between yields, bounded by
//! [`TIMEOUT`] like every other wait, and never by sleeping.
//!
//! Randomised tests take their seed from an environment variable so that a
//! failure can be replayed exactly, and print the seed they used.

// Every test binary that declares `mod support;` compiles all of it and uses
// only a part.
#![allow(dead_code)]

pub mod faults;
pub mod overflow;
pub mod stress;

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    task::Poll,
    time::Duration,
};

use tokio::sync::{Semaphore, watch};

/// The safety net for every wait in a test. Generous: a passing test never
/// comes near it.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Await `future`, failing the test if it takes longer than [`TIMEOUT`].
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    finish_within(TIMEOUT, future)
        .await
        .unwrap_or_else(|| panic!("timed out after {TIMEOUT:?} waiting for {what}"))
}

/// Await `future` for at most `limit`: its output, or `None` if it had not
/// finished by then. For a test that counts a hang rather than failing on
/// the first one.
pub async fn finish_within<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
    tokio::time::timeout(limit, future).await.ok()
}

/// A fresh tokio runtime for one randomised trial: multi-thread with 2
/// workers (the machines this runs on have 2 cores), or current-thread.
pub fn trial_runtime(multi_thread: bool) -> tokio::runtime::Runtime {
    let mut builder = if multi_thread {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(2);
        builder
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder.enable_all().build().expect("build a tokio runtime")
}

/// Read `probe` until it finds something, yielding between reads, failing
/// the test if it has found nothing within [`TIMEOUT`]. Only for state the
/// runtime shows in a snapshot and signals to no one (see the module doc).
pub async fn until<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    within(what, async {
        loop {
            if let Some(found) = probe() {
                return found;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
}

/// Send `events` through `handle` one by one until one is refused (the
/// runtime stopped meanwhile); returns how many were accepted.
pub async fn send_until_refused<E>(
    handle: &maiko::SupervisorHandle<E>,
    events: impl IntoIterator<Item = E>,
) -> usize {
    let mut accepted = 0;
    for event in events {
        if handle.send(event).await.is_err() {
            break;
        }
        accepted += 1;
    }
    accepted
}

/// Wait for `answer` to resolve with `NoAnswer::Unanswered`: every copy
/// of the event that carried its reply settled without an answer.
pub async fn unanswered<T: std::fmt::Debug + PartialEq>(answer: maiko::Answer<T>) {
    assert_eq!(
        within("the answer to fail", answer).await,
        Err(maiko::NoAnswer::Unanswered)
    );
}

/// Poll `future` exactly once, from inside the calling task: `Pending` if it
/// has to wait, its output if it finished at once.
pub async fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx))).await
}

/// The seed named by the environment variable `var` (decimal, or hex with a
/// `0x` prefix), or a fresh random one if it is not set.
///
/// # Panics
///
/// If the variable is set to something that is not a number.
pub fn seed_from_env(var: &str) -> u64 {
    match std::env::var(var) {
        Ok(text) => parse_u64(&text).unwrap_or_else(|| panic!("{var}={text:?} is not a number")),
        Err(_) => fastrand::u64(..),
    }
}

/// Keep the summary line of a randomised test that passed, as
/// `target/tmp/summaries/{test}.txt`, where `.ci/run` prints it from: the
/// suite runs these tests once, and their output is captured.
pub fn keep_summary(test: &str, summary: &str) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("summaries");
    std::fs::create_dir_all(&dir).expect("create target/tmp/summaries");
    std::fs::write(dir.join(format!("{test}.txt")), format!("{summary}\n"))
        .expect("write a test summary");
}

/// The count named by the environment variable `var`, or `default`.
///
/// # Panics
///
/// If the variable is set to something that is not a number.
pub fn count_from_env(var: &str, default: usize) -> usize {
    match std::env::var(var) {
        Ok(text) => parse_u64(&text)
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or_else(|| panic!("{var}={text:?} is not a count")),
        Err(_) => default,
    }
}

fn parse_u64(text: &str) -> Option<u64> {
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
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

/// A count that actors add to and the test waits on: the signal for "the
/// actors have done this much".
#[derive(Clone, Debug)]
pub struct Tally(Arc<watch::Sender<u64>>);

impl Default for Tally {
    fn default() -> Self {
        Self::new()
    }
}

impl Tally {
    pub fn new() -> Self {
        Self(Arc::new(watch::Sender::new(0)))
    }

    /// Called from an actor: count one more.
    pub fn add_one(&self) {
        self.0.send_modify(|count| *count += 1);
    }

    /// Wait until the count is at least `n`.
    pub async fn reaches(&self, n: u64) {
        let mut count = self.0.subscribe();
        within(
            &format!("a tally to reach {n}"),
            count.wait_for(|c| *c >= n),
        )
        .await
        .expect("the tally holds its own sender");
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
