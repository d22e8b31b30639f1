//! Model check of the stop-gate protocol and of the routing board with loom.
//!
//! Run with
//!
//! ```text
//! RUSTFLAGS="--cfg maiko_loom" CARGO_TARGET_DIR=target/loom \
//!     cargo test -p maiko-core --lib --release loom_model -- --test-threads=1
//! ```
//!
//! # What is modelled
//!
//! The shutdown contract rests on two pieces working together (see "The
//! gate" and "The drain" in the [`shutdown`](crate::shutdown) guide; the
//! guarantees it names G1 to G7 are numbered there, and this model checks
//! the protocol behind G1, G2 and G3):
//!
//! - the publish path of [`super::publish`]: precheck, `reserve`, admit (the
//!   re-check that also counts the event), send with the permit;
//! - the routing loop of [`super::broker::routing_loop`]: when the gate
//!   closes it closes its stage-1 receiver and receives until `None`,
//!   releasing the unit of every event it handles.
//!
//! The model runs that protocol on loom threads, in every interleaving loom
//! can produce (scenario 2 within a preemption bound, see
//! [`BLOCKED_BOUND`]), and checks in each one that an event whose publish returned
//! `Ok` is handled exactly once, that an event whose publish returned `Err`
//! is never handled, that exactly one caller observes the gate closing, that
//! a close by count finds the system quiescent, that the gate ends `CLOSED`
//! with nothing in flight, and that the broker ends (a broker blocked for
//! ever is a loom deadlock, which fails the test).
//!
//! The gate is the real [`Gate`], not a copy: under `--cfg maiko_loom` its
//! atomic comes from `loom::sync::atomic` (see [`super::sync`]), so loom
//! explores the shipped compare-and-swap loops and their orderings.
//!
//! ## The routing board
//!
//! Scenarios 5 and 6 check the [`Board`] the routing loops read their table
//! from, the real one (its atomic and its mutex are loom's here too).
//!
//! Scenario 5 runs four threads: an adder, which registers an actor the way
//! [`Intake::admit`](super::coordinator::Intake::admit) does (under the
//! intake's lock, if no stop was requested, publish a table with the new
//! actor and send its spawn) and, once that returned `Ok`, publishes an
//! event; a publisher whose event races the add; a closer, which requests
//! the stop, closes the intake and collects the spawns sent before; and a
//! routing loop, which refreshes its table after each event it receives. In
//! every interleaving within a preemption bound (see [`BOARD_BOUND`]) it
//! checks that:
//!
//! - the event published after the add returned `Ok` is routed with a
//!   table that holds the new actor;
//! - an add that returned `Ok` is among the spawns the closer collects, and
//!   an add that was refused published no table and sent no spawn;
//! - the racing event is routed exactly once, with either table;
//! - the routing loop never goes back to an older table, and every thread
//!   ends.
//!
//! The intake is a copy of the coordinator's (same lock, same checks, same
//! order), since the real one takes a supervisor's `Shared`; the stop flag
//! is the real gate's state. The spawns travel on tokio's unbounded channel,
//! as in the runtime: every send happens under the intake's lock and every
//! receive after the close took it, so loom sees their order through that
//! lock. The routing loop's stage-1 channel is a small unbounded one on
//! loom's `Mutex` and `Condvar`, for the reason given below.
//!
//! Scenario 6 publishes two tables (an actor added, then removed) while a
//! reader refreshes twice, and checks that the reader never takes a table
//! older than one it already had and that a refresh after both publishes
//! gives the newest.
//!
//! # Why the channel is a model
//!
//! loom only sees the synchronisation that goes through its own types. The
//! stage-1 channel is tokio's bounded `mpsc`, whose atomics and wakers are
//! tokio's; making them loom's would take a global `--cfg loom`, which
//! changes tokio itself and everything built on it. So the model stands a
//! small bounded channel built on loom's `Mutex` and `Condvar` next to the
//! real gate, with the close semantics of tokio's channel that the drain
//! relies on:
//!
//! - `reserve` blocks while the channel is full and fails once the receiver
//!   closed it;
//! - a permit reserved before `close()` can still send;
//! - `recv` returns `None` only when the receiver closed the channel, no
//!   permit is outstanding and the queue is empty.
//!
//! The runtime's `closed` signal (a `CancellationToken`) lives under the same
//! lock, so that the broker can wait for "an event or the signal" with one
//! condition variable, as its biased `select!` does. Each operation still
//! touches one of the two, except the broker's wait, which looks at the queue
//! and then the signal in one step where tokio polls them one after the
//! other; an event that lands between those two polls is drained right after
//! the close, an outcome the model reaches through its other interleavings.
//! The gate word stays a separate atomic, outside that lock.
//!
//! Threads block instead of awaiting, which is what loom supports; an
//! `await` in the real code is a point where the thread may block here.
//!
//! # The in-band marker
//!
//! Scenario 4 runs a variant where the closer sends a "stop" marker down
//! the channel instead of closing it, and shows that loom finds an accepted
//! event landing after the marker. It needs a gate that closes with events
//! in flight (strict mode, or the deadline): a gate that closes by count can
//! only close once every admitted event was sent and handled.

use std::{
    collections::{BTreeSet, VecDeque},
    panic::{self, AssertUnwindSafe},
    sync::{Arc, Mutex as StdMutex},
};

use loom::{
    sync::{Condvar, Mutex, MutexGuard},
    thread,
};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender, error::TryRecvError};

use super::{
    board::Board,
    gate::{CLOSED, Gate, OPEN, Origin},
    sync::Mutex as SyncMutex,
};

/// The drain hop limit of the modelled gate (the default's order).
const HOP_LIMIT: u32 = 32;

/// An accepted event, as the broker sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mail {
    id: u32,
    depth: u32,
}

/// What travels on the stage-1 channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Mail(Mail),
    /// Only in the in-band marker variant.
    StopMarker,
}

/// Where a publish was refused with `Error::Stopping`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refused {
    /// Step 1: the gate refused before waiting for capacity.
    Precheck,
    /// Step 2: the broker closed the channel (the gate is closed).
    Reserve,
    /// Step 3: the gate changed while the publisher waited for capacity.
    Admit,
}

/// How the stopper ends the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Default mode: `DRAINING`, closed by the last release.
    Graceful,
    /// Strict mode: `CLOSED` at the stop request, whatever is in flight.
    Strict,
    /// A stop request, then the drain deadline (`force_close`).
    Deadline,
}

/// How the closer tells the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drain {
    /// The shipped protocol: fire the `closed` signal; the broker closes its
    /// receiver and receives until `None`.
    CloseThenDrain,
    /// The rejected protocol: send a stop marker down the channel; the broker
    /// receives until the marker.
    InBandMarker,
}

/// The bounded stage-1 channel with tokio's close semantics.
struct Stage1 {
    capacity: usize,
    state: Mutex<State>,
    changed: Condvar,
}

/// Everything under the channel's lock.
#[derive(Default)]
struct State {
    queue: VecDeque<Item>,
    /// Reserved, not yet sent or dropped.
    permits: usize,
    /// `Receiver::close` was called.
    rx_closed: bool,
    /// `Shared::closed` fired.
    closed_signal: bool,
    /// Threads waiting on `changed`; notifying nobody is skipped, which
    /// keeps loom from exploring branches that cannot matter.
    waiting: usize,
    ledger: Ledger,
}

/// What happened, for the assertions. Kept under the channel's lock and
/// updated by the channel operations themselves, so recording adds no
/// interleavings of its own.
#[derive(Default)]
struct Ledger {
    /// Ids handled, in order. The broker's subscriber handles an event as it
    /// receives it, before its unit is released.
    handled: Vec<u32>,
    /// Mail received after the receiver was closed.
    drained_after_close: usize,
    /// How many callers observed the gate closing.
    closes: usize,
    /// The close was by count (a release, or a stop with nothing in flight).
    closed_by_count: bool,
}

/// A reserved slot; dropping it unsent gives the capacity back.
struct Permit<'a> {
    channel: Option<&'a Stage1>,
}

/// What the broker's biased `select!` returned.
enum Select {
    Mail(Item),
    ClosedSignal,
}

impl State {
    fn wake(&self, changed: &Condvar) {
        if self.waiting > 0 {
            changed.notify_all();
        }
    }

    /// Take the next item, recording a handled event.
    fn pop(&mut self, changed: &Condvar) -> Option<Item> {
        let item = self.queue.pop_front()?;
        if let Item::Mail(mail) = item {
            self.ledger.handled.push(mail.id);
            if self.rx_closed {
                self.ledger.drained_after_close += 1;
            }
        }
        self.wake(changed);
        Some(item)
    }
}

impl Stage1 {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    fn wait<'a>(&self, mut state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        state.waiting += 1;
        let mut state = self.changed.wait(state).unwrap();
        state.waiting -= 1;
        state
    }

    /// `Sender::reserve`: wait for capacity; fail once the receiver closed.
    /// Also says whether it had to wait.
    fn reserve(&self) -> (Option<Permit<'_>>, bool) {
        let mut state = self.lock();
        let mut waited = false;
        loop {
            if state.rx_closed {
                return (None, waited);
            }
            if state.queue.len() + state.permits < self.capacity {
                state.permits += 1;
                let permit = Permit {
                    channel: Some(self),
                };
                return (Some(permit), waited);
            }
            waited = true;
            state = self.wait(state);
        }
    }

    /// `Receiver::close`: no new permit; permits already out still send.
    fn close(&self) {
        let mut state = self.lock();
        state.rx_closed = true;
        state.wake(&self.changed);
    }

    /// `Receiver::recv`: `None` only when closed, no permit is out and the
    /// queue is empty.
    fn recv(&self) -> Option<Item> {
        let mut state = self.lock();
        loop {
            if let Some(item) = state.pop(&self.changed) {
                return Some(item);
            }
            if state.rx_closed && state.permits == 0 {
                return None;
            }
            state = self.wait(state);
        }
    }

    /// The broker's `select! { biased; recv, closed signal }` while running.
    /// (No sender is ever dropped in the model, so `recv` cannot end here.)
    fn recv_or_closed_signal(&self) -> Select {
        let mut state = self.lock();
        loop {
            if let Some(item) = state.pop(&self.changed) {
                return Select::Mail(item);
            }
            if state.closed_signal {
                return Select::ClosedSignal;
            }
            state = self.wait(state);
        }
    }
}

impl Permit<'_> {
    /// `Permit::send`: cannot fail, even after the receiver closed.
    fn send(mut self, item: Item) {
        let channel = self.channel.take().expect("a permit sends once");
        let mut state = channel.lock();
        state.permits -= 1;
        state.queue.push_back(item);
        state.wake(&channel.changed);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let Some(channel) = self.channel.take() {
            let mut state = channel.lock();
            state.permits -= 1;
            state.wake(&channel.changed);
        }
    }
}

/// Everything the threads of one execution share.
struct World {
    gate: Gate,
    stage1: Stage1,
    drain: Drain,
}

impl World {
    fn new(stop: Stop, capacity: usize, drain: Drain) -> Arc<Self> {
        Arc::new(Self {
            gate: Gate::new(HOP_LIMIT, stop == Stop::Strict),
            stage1: Stage1::new(capacity),
            drain,
        })
    }

    /// The four-step publish of [`super::publish`]; also says whether it
    /// waited for capacity.
    fn publish(&self, origin: Origin, id: u32) -> (Result<u32, Refused>, bool) {
        if !self.gate.precheck(origin) {
            return (Err(Refused::Precheck), false);
        }
        let (permit, waited) = self.stage1.reserve();
        let Some(permit) = permit else {
            return (Err(Refused::Reserve), waited);
        };
        // The permit is dropped, unsent, if the re-check refuses.
        let Some(depth) = self.gate.admit(origin) else {
            return (Err(Refused::Admit), waited);
        };
        permit.send(Item::Mail(Mail { id, depth }));
        (Ok(depth), waited)
    }

    /// Release the unit of a handled event, which may close the gate.
    fn release(&self) {
        if self.gate.release(1).closed {
            self.on_closed(true);
        }
    }

    /// The caller moved the gate to `CLOSED` (`Shared::on_closed`).
    /// `by_count`: the gate closed because nothing was in flight.
    fn on_closed(&self, by_count: bool) {
        let mut state = self.stage1.lock();
        state.ledger.closes += 1;
        if by_count {
            // Checked again at the end: nothing admitted may reach the drain.
            state.ledger.closed_by_count = true;
            assert!(
                state.queue.is_empty(),
                "the gate closed by count with mail queued"
            );
        }
        match self.drain {
            Drain::CloseThenDrain => state.closed_signal = true,
            // Sent in band, ignoring capacity so the closer never waits.
            Drain::InBandMarker => state.queue.push_back(Item::StopMarker),
        }
        state.wake(&self.stage1.changed);
    }

    /// A stop request, then the deadline if `stop` says so.
    fn stop(&self, stop: Stop) {
        let outcome = self.gate.request_stop();
        assert!(outcome.first, "the only stop request must be the first");
        if outcome.closed_now {
            self.on_closed(stop != Stop::Strict);
        }
        if stop == Stop::Deadline && self.gate.force_close() {
            self.on_closed(false);
        }
    }

    /// The routing loop of [`super::broker::routing_loop`], with one subscriber
    /// that handles each event as it is routed.
    fn broker(&self) {
        match self.drain {
            Drain::CloseThenDrain => self.close_then_drain(),
            Drain::InBandMarker => self.until_marker(),
        }
    }

    fn close_then_drain(&self) {
        let mut closing = false;
        loop {
            let item = if closing {
                self.stage1.recv()
            } else {
                match self.stage1.recv_or_closed_signal() {
                    Select::Mail(item) => Some(item),
                    Select::ClosedSignal => {
                        self.stage1.close();
                        closing = true;
                        continue;
                    }
                }
            };
            match item {
                None => break,
                Some(Item::Mail(_)) => self.release(),
                Some(Item::StopMarker) => panic!("close-then-drain sends no marker"),
            }
            if !closing && self.gate.state() == CLOSED {
                self.stage1.close();
                closing = true;
            }
        }
    }

    fn until_marker(&self) {
        while let Some(Item::Mail(_)) = self.stage1.recv() {
            self.release();
        }
    }

    /// The checks every execution must pass once all threads have ended.
    fn check_end(&self, published: &[(u32, Result<u32, Refused>)]) {
        let state = self.stage1.lock();
        let ledger = &state.ledger;
        for &(id, result) in published {
            let times = ledger.handled.iter().filter(|&&h| h == id).count();
            match result {
                Ok(_) => assert_eq!(
                    times, 1,
                    "accepted event lost or duplicated: event {id} returned Ok and was handled {times} times"
                ),
                Err(refused) => assert_eq!(
                    times, 0,
                    "refused event delivered: event {id} returned Err({refused:?}) and was handled"
                ),
            }
        }
        assert_eq!(ledger.closes, 1, "exactly one caller observes the close");
        if ledger.closed_by_count {
            assert_eq!(
                ledger.drained_after_close, 0,
                "the gate closed by count while an admitted event was not yet handled"
            );
        }
        assert_eq!(self.gate.state(), CLOSED, "the gate ends CLOSED");
        assert_eq!(self.gate.in_flight(), 0, "nothing is left in flight");
        assert_eq!(state.permits, 0, "every permit was sent or dropped");
    }

    fn drained_after_close(&self) -> usize {
        self.stage1.lock().ledger.drained_after_close
    }
}

/// Run `model` in every interleaving loom can produce with at most
/// `preemptions` preemptions, or in all of them when `None`.
/// `LOOM_MAX_PREEMPTIONS` overrides the bound of every test.
fn explore(preemptions: Option<usize>, model: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = preemptions;
    }
    builder.check(model);
}

/// Labels of what some execution did, collected across all executions of
/// one model so a test can insist that the interesting cases were reached.
#[derive(Clone, Default)]
struct Seen(Arc<StdMutex<BTreeSet<String>>>);

impl Seen {
    fn saw(&self, label: impl Into<String>) {
        self.0.lock().unwrap().insert(label.into());
    }

    fn assert_saw(&self, labels: &[&str]) {
        let seen = self.0.lock().unwrap();
        for label in labels {
            assert!(
                seen.contains(*label),
                "no execution reached {label:?}; seen: {seen:?}"
            );
        }
    }
}

fn outcome_label(result: Result<u32, Refused>) -> String {
    match result {
        Ok(depth) => format!("ok at depth {depth}"),
        Err(refused) => format!("refused at {refused:?}"),
    }
}

/// Scenario 1: one publisher, one stop request, one broker.
fn publisher_races_stop(stop: Stop, drain: Drain) -> Seen {
    let seen = Seen::default();
    let record = seen.clone();
    explore(None, move || {
        let world = World::new(stop, 1, drain);

        let sender = {
            let world = Arc::clone(&world);
            thread::spawn(move || world.publish(Origin::Outside, 1).0)
        };
        let stopper = {
            let world = Arc::clone(&world);
            thread::spawn(move || world.stop(stop))
        };
        // The broker runs on the model's main thread: it must end by itself.
        world.broker();
        let result = sender.join().unwrap();
        stopper.join().unwrap();

        world.check_end(&[(1, result)]);
        record.saw(outcome_label(result));
        if world.drained_after_close() > 0 {
            record.saw("delivered by the drain");
        }
    });
    seen
}

#[test]
fn publish_racing_a_graceful_stop_is_delivered_once_or_refused() {
    let seen = publisher_races_stop(Stop::Graceful, Drain::CloseThenDrain);
    seen.assert_saw(&[
        "ok at depth 0",
        "refused at Precheck",
        "refused at Reserve",
        "refused at Admit",
    ]);
    // Closing by count means nothing admitted is left for the drain.
    assert!(!seen.0.lock().unwrap().contains("delivered by the drain"));
}

#[test]
fn publish_racing_a_strict_stop_is_delivered_by_the_drain_or_refused() {
    let seen = publisher_races_stop(Stop::Strict, Drain::CloseThenDrain);
    seen.assert_saw(&[
        "ok at depth 0",
        "refused at Precheck",
        "refused at Reserve",
        "refused at Admit",
        "delivered by the drain",
    ]);
}

#[test]
fn publish_racing_the_deadline_is_delivered_by_the_drain_or_refused() {
    let seen = publisher_races_stop(Stop::Deadline, Drain::CloseThenDrain);
    seen.assert_saw(&[
        "ok at depth 0",
        "refused at Precheck",
        "refused at Reserve",
        "refused at Admit",
        "delivered by the drain",
    ]);
}

/// Preemption bound of scenario 2. Its broker handles two events and the
/// publisher waits on a condition variable, so the full search takes more
/// than ten minutes; four preemptions take seconds and cover every outcome
/// (most concurrency bugs need two or three).
const BLOCKED_BOUND: Option<usize> = Some(4);

/// Scenario 2: capacity 1, already holding event 0; the publisher of event 1
/// may block in `reserve` while the stop comes.
fn blocked_publisher_races_stop(stop: Stop) -> Seen {
    let seen = Seen::default();
    let record = seen.clone();
    explore(BLOCKED_BOUND, move || {
        let world = World::new(stop, 1, Drain::CloseThenDrain);
        let (first, _) = world.publish(Origin::Outside, 0);
        assert_eq!(first, Ok(0));

        let sender = {
            let world = Arc::clone(&world);
            thread::spawn(move || world.publish(Origin::Outside, 1))
        };
        let stopper = {
            let world = Arc::clone(&world);
            thread::spawn(move || world.stop(stop))
        };
        world.broker();
        let (result, waited) = sender.join().unwrap();
        stopper.join().unwrap();

        world.check_end(&[(0, first), (1, result)]);
        if waited {
            record.saw(format!("blocked, then {}", outcome_label(result)));
        }
    });
    seen
}

#[test]
fn publisher_blocked_on_capacity_is_delivered_or_refused_never_lost_graceful() {
    blocked_publisher_races_stop(Stop::Graceful).assert_saw(&[
        "blocked, then ok at depth 0",
        "blocked, then refused at Admit",
    ]);
}

#[test]
fn publisher_blocked_on_capacity_is_delivered_or_refused_never_lost_strict() {
    blocked_publisher_races_stop(Stop::Strict).assert_saw(&[
        "blocked, then ok at depth 0",
        "blocked, then refused at Reserve",
    ]);
}

/// Scenario 3: an actor handling event 0 publishes event 1 from its handler
/// while a stop comes; event 0's unit is released only after that publish.
#[test]
fn handler_publish_during_draining_is_admitted_and_handled_before_the_close() {
    let seen = Seen::default();
    let record = seen.clone();
    explore(None, move || {
        let world = World::new(Stop::Graceful, 1, Drain::CloseThenDrain);
        // Event 0 was accepted and routed to the actor's mailbox.
        let parent_depth = world.gate.admit(Origin::Outside).expect("open gate admits");

        let handler = {
            let world = Arc::clone(&world);
            thread::spawn(move || {
                let (result, _) = world.publish(Origin::Handler { parent_depth }, 1);
                // Only now is event 0 handled (gate invariant 3).
                world.release();
                result
            })
        };
        let stopper = {
            let world = Arc::clone(&world);
            thread::spawn(move || world.stop(Stop::Graceful))
        };
        world.broker();
        let result = handler.join().unwrap();
        stopper.join().unwrap();

        assert!(
            matches!(result, Ok(0 | 1)),
            "a handler's publish is admitted while its event is in flight, got {result:?}"
        );
        world.check_end(&[(1, result)]);
        record.saw(outcome_label(result));
    });
    // Depth 1 is the publish admitted in DRAINING; depth 0 came before the stop.
    seen.assert_saw(&["ok at depth 0", "ok at depth 1"]);
}

/// Scenario 4: the in-band marker loses an accepted event, and loom finds
/// it; the same run with close-then-drain passed above
/// (`publish_racing_a_strict_stop_is_delivered_by_the_drain_or_refused`).
#[test]
fn an_in_band_stop_marker_can_overtake_an_accepted_event() {
    let found = panic::catch_unwind(AssertUnwindSafe(|| {
        publisher_races_stop(Stop::Strict, Drain::InBandMarker);
    }));
    let payload = found.expect_err("loom must find the event landing after the marker");
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    assert!(
        message.contains("accepted event lost"),
        "loom failed for another reason: {message}"
    );
}

/// The subscriber in the routing table from the start.
const FIRST: u32 = 1;
/// The subscriber the adder registers.
const NEW: u32 = 2;
/// The event the adder publishes once its add returned `Ok`.
const AFTER_ADD: u32 = 10;
/// The event of the publisher racing the add.
const RACING: u32 = 11;

/// A routing table: who is subscribed, and which table it is (the
/// generation counts the publishes that made it).
#[derive(Debug)]
struct Table {
    generation: u32,
    subscribers: Vec<u32>,
}

impl Table {
    fn new(generation: u32, subscribers: &[u32]) -> Self {
        Self {
            generation,
            subscribers: subscribers.to_vec(),
        }
    }

    fn has(&self, subscriber: u32) -> bool {
        self.subscribers.contains(&subscriber)
    }
}

/// Why an add was refused with `Error::Stopping`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AddRefused {
    /// The coordinator had closed the intake.
    IntakeClosed,
    /// A stop was requested; the intake was still open.
    StopRequested,
}

/// The coordinator's [`Intake`](super::coordinator::Intake): the same lock,
/// the same checks and the same order (a registration sends its spawn under
/// the lock after checking for a stop; `close` drops the sender under it).
/// The spawn is the id of the registered subscriber.
struct Intake {
    sender: SyncMutex<Option<UnboundedSender<u32>>>,
}

impl Intake {
    fn new() -> (Self, UnboundedReceiver<u32>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let intake = Self {
            sender: SyncMutex::new(Some(sender)),
        };
        (intake, receiver)
    }

    /// `Intake::admit`, with the gate's state for `is_stopping`.
    fn admit(&self, gate: &Gate, register: impl FnOnce() -> u32) -> Result<(), AddRefused> {
        let sender = self.sender.lock();
        let Some(sender) = sender.as_ref() else {
            return Err(AddRefused::IntakeClosed);
        };
        if gate.state() != OPEN {
            return Err(AddRefused::StopRequested);
        }
        let spawn = register();
        sender
            .send(spawn)
            .expect("the closer receives after the close");
        Ok(())
    }

    fn close(&self) {
        self.sender.lock().take();
    }
}

/// What reaches the routing loop of scenario 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Note {
    Event(u32),
    /// The adder was refused and publishes nothing; it says so, so that the
    /// routing loop knows when to end.
    AddRefused,
}

/// The stage-1 channel of scenario 5: unbounded, never closed.
struct Lane {
    state: Mutex<LaneState>,
    changed: Condvar,
}

#[derive(Default)]
struct LaneState {
    queue: VecDeque<Note>,
    waiting: usize,
}

impl Lane {
    fn new() -> Self {
        Self {
            state: Mutex::new(LaneState::default()),
            changed: Condvar::new(),
        }
    }

    fn send(&self, note: Note) {
        let mut state = self.state.lock().unwrap();
        state.queue.push_back(note);
        if state.waiting > 0 {
            self.changed.notify_one();
        }
    }

    fn recv(&self) -> Note {
        let mut state = self.state.lock().unwrap();
        loop {
            if let Some(note) = state.queue.pop_front() {
                return note;
            }
            state.waiting += 1;
            state = self.changed.wait(state).unwrap();
            state.waiting -= 1;
        }
    }
}

/// What the threads of scenario 5 share.
struct Routing {
    gate: Gate,
    intake: Intake,
    board: Board<Table>,
    lane: Lane,
}

/// Preemption bound of scenario 5. Its four threads take the intake's, the
/// board's and the lane's locks; the full search takes about four minutes,
/// four preemptions take about twenty seconds and reach every outcome.
const BOARD_BOUND: Option<usize> = Some(4);

/// Scenario 5: an actor is added (its table published on the board under
/// the intake's lock) while another publisher publishes and a stop request
/// closes the intake; the routing loop refreshes its table after each
/// receive.
#[test]
fn a_table_swap_racing_a_publish_and_a_close_loses_nothing() {
    let seen = Seen::default();
    let record = seen.clone();
    explore(BOARD_BOUND, move || {
        let (intake, mut arrivals) = Intake::new();
        let world = Arc::new(Routing {
            gate: Gate::new(HOP_LIMIT, false),
            intake,
            board: Board::new(Table::new(0, &[FIRST])),
            lane: Lane::new(),
        });

        let adder = {
            let world = Arc::clone(&world);
            thread::spawn(move || {
                let added = world.intake.admit(&world.gate, || {
                    world.board.publish(Table::new(1, &[FIRST, NEW]));
                    NEW
                });
                // The adder's publish starts once the add returned.
                let note = match added {
                    Ok(()) => Note::Event(AFTER_ADD),
                    Err(_) => Note::AddRefused,
                };
                world.lane.send(note);
                added
            })
        };
        let publisher = {
            let world = Arc::clone(&world);
            thread::spawn(move || world.lane.send(Note::Event(RACING)))
        };
        let closer = {
            let world = Arc::clone(&world);
            thread::spawn(move || {
                world.gate.request_stop();
                world.intake.close();
                let mut collected = Vec::new();
                loop {
                    match arrivals.try_recv() {
                        Ok(spawn) => collected.push(spawn),
                        Err(TryRecvError::Disconnected) => break collected,
                        Err(TryRecvError::Empty) => panic!("the intake is closed"),
                    }
                }
            })
        };

        // The routing loop, on the model's main thread: a batch of one, the
        // table refreshed after it was received.
        let mut table = world.board.load();
        let mut routed = Vec::new();
        for _ in 0..2 {
            let note = world.lane.recv();
            let before = table.value.generation;
            world.board.refresh(&mut table);
            assert!(
                table.value.generation >= before,
                "the routing loop went back from table {before} to table {}",
                table.value.generation
            );
            if let Note::Event(id) = note {
                routed.push((id, table.value.has(NEW)));
            }
        }

        let added = adder.join().unwrap();
        publisher.join().unwrap();
        let collected = closer.join().unwrap();

        let routings = |event: u32| -> Vec<bool> {
            routed
                .iter()
                .filter(|&&(id, _)| id == event)
                .map(|&(_, with_new)| with_new)
                .collect()
        };
        let racing = routings(RACING);
        assert_eq!(
            racing.len(),
            1,
            "the racing event was routed {} times",
            racing.len()
        );
        let last = world.board.load();
        match added {
            Ok(()) => {
                assert_eq!(
                    routings(AFTER_ADD),
                    [true],
                    "the event published after the add returned Ok was not routed to the new actor"
                );
                assert_eq!(
                    collected,
                    [NEW],
                    "an actor added with Ok was lost at the close"
                );
                assert!(last.value.has(NEW), "the added actor left the table");
                record.saw(if racing[0] {
                    "added, racing event routed with it"
                } else {
                    "added, racing event routed without it"
                });
            }
            Err(refused) => {
                assert!(routings(AFTER_ADD).is_empty(), "a refused adder published");
                assert!(
                    collected.is_empty(),
                    "a refused add reached the coordinator"
                );
                assert_eq!(last.value.generation, 0, "a refused add published a table");
                assert!(
                    routed.iter().all(|&(_, with_new)| !with_new),
                    "an event was routed to an actor whose add was refused"
                );
                record.saw(format!("refused: {refused:?}"));
            }
        }
    });
    seen.assert_saw(&[
        "added, racing event routed with it",
        "added, racing event routed without it",
        "refused: IntakeClosed",
        "refused: StopRequested",
    ]);
}

/// Scenario 6: an actor is added and then removed (two publishes) while a
/// routing loop refreshes twice.
#[test]
fn a_reader_of_the_board_never_goes_back_and_ends_on_the_newest() {
    let seen = Seen::default();
    let record = seen.clone();
    explore(None, move || {
        let board = Arc::new(Board::new(Table::new(0, &[FIRST])));
        let writer = {
            let board = Arc::clone(&board);
            thread::spawn(move || {
                board.publish(Table::new(1, &[FIRST, NEW]));
                board.publish(Table::new(2, &[FIRST]));
            })
        };
        let reader = {
            let board = Arc::clone(&board);
            thread::spawn(move || {
                let mut table = board.load();
                let mut generations = vec![table.value.generation];
                for _ in 0..2 {
                    board.refresh(&mut table);
                    generations.push(table.value.generation);
                }
                (table, generations)
            })
        };
        writer.join().unwrap();
        let (mut table, generations) = reader.join().unwrap();

        assert!(
            generations.is_sorted(),
            "the reader went back to an older table: {generations:?}"
        );
        // The join orders this refresh after both publishes.
        board.refresh(&mut table);
        assert_eq!(
            table.value.generation, 2,
            "the final refresh missed the newest table"
        );
        assert!(
            !table.value.has(NEW),
            "the removed actor is still in the table"
        );
        record.saw(format!("{generations:?}"));
    });
    seen.assert_saw(&["[0, 0, 0]", "[0, 1, 2]", "[0, 2, 2]", "[2, 2, 2]"]);
}
