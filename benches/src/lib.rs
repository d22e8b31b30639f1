//! Workloads shared by the criterion benchmarks (`benches/*.rs`) and the
//! one-command report (`src/bin/report/`).
//!
//! Every workload is written once per system, the way a user of that system
//! would write it, and measures one thing: for throughput, the time from the
//! first publish until the subscriber(s) have handled every event; for
//! shutdown, the time `stop()` (or the peer's equivalent) takes. Setup and
//! teardown are done outside the measured span. Each function returns the
//! measured [`Duration`] of one run, so criterion can use it with
//! `iter_custom` and the report can take medians.
//!
//! Systems:
//!
//! - [`tokio_base`]: plain tokio tasks and bounded `mpsc` channels, the
//!   baselines (one hop, two hops through a forwarder task, raw fan-out …);
//! - [`maiko_now`]: this workspace's `maiko`, with the workloads only it
//!   can express (several brokers in one supervisor, two supervisors
//!   bridged in a `ShutdownGroup`, the drain);
//! - [`maiko_old`]: `maiko` 0.3.1 from crates.io, with `OverflowPolicy::Block`
//!   on its topic (its default is `Fail`) and the same channel capacities;
//! - [`kameo_peer`]: kameo, bounded mailbox, `tell().await`;
//! - [`ractor_peer`]: ractor, `send_message` (unbounded, no backpressure);
//! - [`actix_peer`]: actix, `try_send` with a yield when the mailbox is
//!   full; it needs its own single-thread `actix_rt::System`.
//!
//! The restart workload (`restart` in [`tokio_base`], [`maiko_now`] and
//! [`kameo_peer`]) measures the cost of one restart: a poison event makes
//! the one actor's handler fail, the actor is rebuilt, and the span ends
//! when the normal event sent right after it has been handled by the new
//! instance; [`Restarts`] and [`Fragile`] are its shared pieces.
//!
//! All workloads except actix run on whatever tokio runtime they are called
//! from: the benchmarks and the report use a current-thread runtime and a
//! multi-thread runtime with 2 workers; the `producers/P` groups of the
//! `scaling` benchmark use a multi-thread runtime with a worker per core
//! ([`all_cores`]), so that a machine with more cores shows how publishing
//! from [`PRODUCER_COUNTS`] concurrent producer tasks scales.

use std::{
    fmt,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::sync::{Notify, oneshot, watch};

#[macro_use]
mod maiko_workloads;

pub mod actix_peer;
pub mod kameo_peer;
pub mod maiko_now;
pub mod maiko_old;
pub mod memory;
pub mod ractor_peer;
pub mod tokio_base;

/// Capacity of every bounded channel and mailbox in the throughput workloads
/// (maiko's stage-1 and stage-2 channels, tokio channels, kameo and actix
/// mailboxes), so that no system gets more buffering than another.
pub const CAPACITY: usize = 1024;

/// Capacity used where a whole backlog must fit in one mailbox (drain and
/// queued-event memory): more than [`BACKLOG`].
pub const BACKLOG_CAPACITY: usize = 16 * 1024;

/// Events pending in the drain workload and the queued-event memory probe.
pub const BACKLOG: u64 = 10_000;

/// Number of topics in the scaling workload.
pub const SCALING_TOPICS: u8 = 100;

/// Producer-task counts of the producers workload (`producers` in
/// [`maiko_now`] and [`tokio_base`]): that many tasks publish at once into
/// one subscriber.
pub const PRODUCER_COUNTS: [usize; 4] = [1, 2, 4, 8];

/// Lanes of the broker workload: one producer cycles over them, one
/// subscriber per lane.
pub const LANES: u8 = 4;

/// Broker counts of the broker workload: its [`LANES`] lanes spread over
/// 1, 2 or 4 brokers of one supervisor.
pub const BROKER_COUNTS: [u8; 3] = [1, 2, 4];

/// Restarts per run of the restart workload.
pub const RESTARTS: u64 = 200;

/// The window of the restart budget in the restart workload (maiko's
/// `within`, kameo's `restart_limit`); the budget itself is `u32::MAX`
/// restarts, so it never runs out.
pub const RESTART_WINDOW: Duration = Duration::from_millis(100);

/// The sequence number that marks the poison event of the restart workload.
const POISON_SEQ: u64 = u64::MAX;

/// An event of `N` bytes: byte 0 is its topic, bytes 1..9 its sequence
/// number. Sent by value through tokio channels and peers' mailboxes, and as
/// the event of the maiko supervisors.
#[derive(Clone, Copy, Debug)]
pub struct Payload<const N: usize>(pub [u8; N]);

impl<const N: usize> Payload<N> {
    /// An event on `topic` with sequence number `seq`.
    #[inline]
    pub fn new(topic: u8, seq: u64) -> Self {
        let mut bytes = [0u8; N];
        bytes[0] = topic;
        bytes[1..9].copy_from_slice(&seq.to_le_bytes());
        Self(bytes)
    }

    /// The topic byte.
    #[inline]
    pub fn topic(&self) -> u8 {
        self.0[0]
    }

    /// The sequence number.
    #[inline]
    pub fn seq(&self) -> u64 {
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&self.0[1..9]);
        u64::from_le_bytes(seq)
    }

    /// The poison event of the restart workload, on topic 0: handling it
    /// fails.
    pub fn poison() -> Self {
        Self::new(0, POISON_SEQ)
    }

    /// Whether this is the poison event.
    #[inline]
    pub fn is_poison(&self) -> bool {
        self.seq() == POISON_SEQ
    }

    /// The same event moved to another topic (a pipeline stage's output).
    #[inline]
    pub fn with_topic(mut self, topic: u8) -> Self {
        self.0[0] = topic;
        self
    }
}

/// The topic of a [`Payload`]: its first byte. Implements both maiko
/// versions' `Topic` with `OverflowPolicy::Block`.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct ByteTopic(pub u8);

/// The start of a measured span: the first publish. Several producers may
/// mark it; the earliest mark wins.
#[derive(Debug, Default)]
pub struct Start(Mutex<Option<Instant>>);

impl Start {
    /// A shared, unmarked start.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Mark now as the start unless it was marked before.
    pub fn mark(&self) {
        let now = Instant::now();
        let mut slot = self.0.lock().expect("start mutex");
        if slot.is_none_or(|t| now < t) {
            *slot = Some(now);
        }
    }

    /// The marked start.
    ///
    /// # Panics
    ///
    /// If nobody marked it.
    pub fn get(&self) -> Instant {
        self.0
            .lock()
            .expect("start mutex")
            .expect("start was never marked")
    }
}

/// Holds the producers back until the consumers are up, so that starting
/// the actors is never part of a measured span.
#[derive(Debug)]
pub struct Go(watch::Sender<bool>);

/// A producer's side of [`Go`].
#[derive(Clone, Debug)]
pub struct Ready(watch::Receiver<bool>);

impl Go {
    /// A held-back start and the producers' side of it.
    pub fn new() -> (Self, Ready) {
        let (tx, rx) = watch::channel(false);
        (Self(tx), Ready(rx))
    }

    /// Let freshly spawned tasks settle, then release the producers.
    pub async fn fire(&self) {
        settle().await;
        self.0.send_replace(true);
    }
}

impl Ready {
    /// Wait until released.
    ///
    /// # Panics
    ///
    /// If the [`Go`] was dropped without firing.
    pub async fn wait(mut self) {
        self.0.wait_for(|go| *go).await.expect("go dropped unfired");
    }
}

/// The end of a measured span: fired when the last of `k` consumers has
/// handled everything it expects.
#[derive(Debug)]
pub struct Done {
    remaining: AtomicUsize,
    tx: Mutex<Option<oneshot::Sender<Instant>>>,
}

impl Done {
    /// A signal for `consumers` consumers and the receiver of its instant.
    pub fn new(consumers: usize) -> (Arc<Self>, oneshot::Receiver<Instant>) {
        let (tx, rx) = oneshot::channel();
        let done = Arc::new(Self {
            remaining: AtomicUsize::new(consumers),
            tx: Mutex::new(Some(tx)),
        });
        (done, rx)
    }

    /// One consumer has handled all it expects.
    pub fn finished(&self) {
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            let now = Instant::now();
            if let Some(tx) = self.tx.lock().expect("done mutex").take() {
                let _ = tx.send(now);
            }
        }
    }
}

/// Per-consumer tally: counts events and reports to [`Done`] at `expect`.
#[derive(Debug)]
pub struct Tally {
    seen: u64,
    expect: u64,
    done: Arc<Done>,
}

impl Tally {
    /// A tally expecting `expect` events.
    pub fn new(expect: u64, done: &Arc<Done>) -> Self {
        Self {
            seen: 0,
            expect,
            done: Arc::clone(done),
        }
    }

    /// Count one event.
    #[inline]
    pub fn count<const N: usize>(&mut self, event: &Payload<N>) {
        std::hint::black_box(event);
        self.seen += 1;
        if self.seen == self.expect {
            self.done.finished();
        }
    }
}

/// Wait for the end instant.
///
/// # Panics
///
/// If every consumer is gone without firing (a workload bug).
pub async fn finished(rx: oneshot::Receiver<Instant>) -> Instant {
    rx.await
        .expect("consumers ended before handling every event")
}

/// The events each of `producers` producers publishes so that `n` are
/// published in all.
pub fn share(n: u64, producers: usize, index: usize) -> u64 {
    let producers = producers as u64;
    n / producers + u64::from((index as u64) < n % producers)
}

/// The failure of a handler of the restart workload: it was handed the
/// poison event.
#[derive(Clone, Copy, Debug)]
pub struct Poisoned;

impl fmt::Display for Poisoned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("handed the poison event")
    }
}

impl std::error::Error for Poisoned {}

/// The shared side of the restart workload: numbers every instance of the
/// actor built (0 for the first), and signals each normal event handled
/// with the number of the instance that handled it.
#[derive(Debug, Default)]
pub struct Restarts {
    built: AtomicU64,
    handled_by: AtomicU64,
    handled: Notify,
}

impl Restarts {
    /// A fresh count: nothing built yet.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// How many instances were built.
    pub fn built(&self) -> u64 {
        self.built.load(Ordering::Acquire)
    }

    /// Wait until the next normal event has been handled.
    ///
    /// # Panics
    ///
    /// Unless instance number `instance` handled it.
    pub async fn handled_by(&self, instance: u64) {
        self.handled.notified().await;
        let by = self.handled_by.load(Ordering::Acquire);
        assert_eq!(by, instance, "the event was handled by another instance");
    }
}

/// The state of one instance of the restart workload's actor: its number.
#[derive(Debug)]
pub struct Fragile {
    instance: u64,
    restarts: Arc<Restarts>,
}

impl Fragile {
    /// A new instance, numbered after the ones built before it.
    pub fn new(restarts: &Arc<Restarts>) -> Self {
        Self {
            instance: restarts.built.fetch_add(1, Ordering::AcqRel),
            restarts: Arc::clone(restarts),
        }
    }

    /// Handle `event`: fail on the poison, otherwise signal that this
    /// instance handled it.
    ///
    /// # Errors
    ///
    /// [`Poisoned`] on the poison event.
    #[inline]
    pub fn handle(&self, event: &Payload<32>) -> Result<(), Poisoned> {
        if event.is_poison() {
            return Err(Poisoned);
        }
        self.restarts
            .handled_by
            .store(self.instance, Ordering::Release);
        self.restarts.handled.notify_one();
        Ok(())
    }
}

/// How a backlog is handled in the drain workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DrainMode {
    /// The system keeps running; measured until the last event is handled.
    Running,
    /// `stop()` is called with the backlog pending; measured until it
    /// returns, every event handled.
    Stop,
}

/// A current-thread tokio runtime (the tightest figures).
pub fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("current-thread runtime")
}

/// A multi-thread tokio runtime with 2 workers.
pub fn two_workers() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("2-worker runtime")
}

/// The worker count of [`all_cores`]: the machine's available parallelism,
/// at least 2.
pub fn all_cores_workers() -> usize {
    std::thread::available_parallelism()
        .map_or(2, std::num::NonZeroUsize::get)
        .max(2)
}

/// A multi-thread tokio runtime with [`all_cores_workers`] workers: a
/// worker per core, at least 2.
pub fn all_cores() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(all_cores_workers())
        .enable_all()
        .build()
        .expect("all-cores runtime")
}

/// Let freshly spawned tasks run (their `on_start`, their first poll)
/// before a measurement starts. Not measured.
pub async fn settle() {
    for _ in 0..8 {
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(1)).await;
}

/// Median of `samples` (sorted in place).
pub fn median(samples: &mut [Duration]) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}
