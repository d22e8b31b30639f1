//! No accept after close (G2 in the `maiko::shutdown` guide).
//!
//! - A publish that finds the gate rejecting returns `Error::Stopping`,
//!   reaches no one, and, where the API allows, hands its event back.
//! - A publish blocked on a full stage-1 channel when the stop comes either
//!   is accepted (and then handled) or returns `Stopping` (and is never
//!   handled): never `Ok` and lost, never `Err` and delivered.
//! - From the stop request on, publishes from outside the actors and from
//!   `step()` are refused, while publishes from `handle_event` are still
//!   admitted, so the drain can finish the work accepted before the stop.
//!
//! Every wait is on a signal (oneshot, `Notify`, a barrier); the timeouts
//! are only a safety net that turns a hang into a failure.

mod support;

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use maiko::*;
use support::{count_from_env, poll_once, seed_from_env, trial_runtime, within};
use tokio::{
    sync::{Barrier, Notify, oneshot},
    task::JoinHandle,
};

/// Iterations of the blocked-sender race unless `MAIKO_GATE_ITERATIONS`
/// says otherwise.
const ITERATIONS: usize = 500;

#[derive(Event, Clone, Debug, PartialEq, Eq)]
struct Job(u32);

/// Records the jobs it handles. It holds the first one until `release` is
/// notified, after telling `entered`.
struct Gatekeeper {
    handled: Arc<Mutex<Vec<u32>>>,
    entered: Option<oneshot::Sender<()>>,
    release: Arc<Notify>,
}

impl Actor for Gatekeeper {
    type Event = Job;

    async fn handle_event(&mut self, envelope: &Envelope<Job>) -> Result {
        if let Some(entered) = self.entered.take() {
            let _ = entered.send(());
            self.release.notified().await;
        }
        self.handled.lock().unwrap().push(envelope.event().0);
        Ok(())
    }
}

/// Holds a context for the test to publish through; handles nothing.
struct Idle;

impl Actor for Idle {
    type Event = Job;
}

/// The order of the stop and of the release of the blocked handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Interleaving {
    /// Stop, then release: the blocked senders must all be refused.
    StopThenRelease,
    /// Release, let every blocked sender finish, then stop: they must all
    /// be accepted.
    ReleaseThenStop,
    /// Stop and release from two tasks at once, after random yields:
    /// either outcome, but never a mixed-up one.
    Race,
}

impl Interleaving {
    fn draw(rng: &mut fastrand::Rng) -> Self {
        match rng.u8(0..4) {
            0 => Self::StopThenRelease,
            1 => Self::ReleaseThenStop,
            _ => Self::Race,
        }
    }
}

/// What one iteration saw of its blocked senders.
#[derive(Debug, Default)]
struct Seen {
    accepted: usize,
    refused: usize,
}

/// What a blocked sender's `send` returned.
type Sent = std::result::Result<(), SendError<Job>>;

/// A sender waiting for room in the full pipe: its job, and its task.
type Blocked = (u32, JoinHandle<Sent>);

/// One iteration: fill a pipe of capacity 1 everywhere, block more senders
/// on it, stop and release in some interleaving, and check every sender's
/// fate against what was handled.
async fn blocked_senders_meet_a_stop(rng: &mut fastrand::Rng) -> Seen {
    let interleaving = Interleaving::draw(rng);
    let strict = rng.u8(0..4) == 0;
    let context = format!("{interleaving:?}, strict {strict}");
    let FullPipe {
        sup,
        handle,
        handled,
        release,
    } = fill_the_pipe(strict).await;
    let blocked = block_senders(&handle, rng).await;

    let (report, fates) = match interleaving {
        Interleaving::StopThenRelease => {
            stop_then_release(sup, &handle, &release, blocked, rng).await
        }
        Interleaving::ReleaseThenStop => release_then_stop(sup, &handle, &release, blocked).await,
        // The stop comes through the handle; `sup` lives on to the end.
        Interleaving::Race => race_stop_and_release(&handle, &release, blocked, rng).await,
    };

    let handled = handled.lock().unwrap().clone();
    verify_fates(interleaving, &context, &handled, fates, &report)
}

/// A running supervisor whose gatekeeper holds job 0, with jobs 1 to 3
/// queued behind it.
struct FullPipe {
    sup: Supervisor<Job>,
    handle: SupervisorHandle<Job>,
    /// What the gatekeeper handled, in order.
    handled: Arc<Mutex<Vec<u32>>>,
    /// Lets the gatekeeper go on from job 0.
    release: Arc<Notify>,
}

/// Fill the pipe: job 0 in the handler (which holds it), 1 in the mailbox,
/// 2 in the broker's hands waiting for the mailbox, 3 in the stage-1
/// channel. Each is sent only once the one before is in place, so this is
/// the exact state, whatever the scheduling.
async fn fill_the_pipe(strict: bool) -> FullPipe {
    let config = SupervisorConfig::default()
        .with_broker_channel_capacity(1)
        .with_default_actor_channel_capacity(1)
        .with_strict_shutdown(strict);
    let mut sup = Supervisor::<Job>::new(config);
    let handled = Arc::new(Mutex::new(Vec::new()));
    let release = Arc::new(Notify::new());
    let (entered, handler_entered) = oneshot::channel();
    let gatekeeper = Gatekeeper {
        handled: Arc::clone(&handled),
        entered: Some(entered),
        release: Arc::clone(&release),
    };
    sup.add_actor("gatekeeper", move |_| gatekeeper, [DefaultTopic])
        .unwrap();
    sup.start().await.unwrap();
    let handle = sup.handle();

    sup.send(Job(0)).await.unwrap();
    within("job 0 reaching the handler", handler_entered)
        .await
        .unwrap();
    for job in 1..=3 {
        within("filling the pipe", sup.send(Job(job)))
            .await
            .unwrap();
    }
    FullPipe {
        sup,
        handle,
        handled,
        release,
    }
}

/// Start 1 to 3 more senders (jobs 4 on), each of which must wait for room
/// in the stage-1 channel.
async fn block_senders(handle: &SupervisorHandle<Job>, rng: &mut fastrand::Rng) -> Vec<Blocked> {
    let mut blocked = Vec::new();
    for job in 4..4 + rng.u32(1..=3) {
        let sender = handle.clone();
        let mut send = Box::pin(async move { sender.send(Job(job)).await });
        assert!(
            poll_once(&mut send).await.is_pending(),
            "job {job} should wait for room in the full pipe"
        );
        blocked.push((job, tokio::spawn(send)));
    }
    blocked
}

/// What each blocked sender's `send` returned, in job order.
async fn join_senders(blocked: Vec<Blocked>) -> Vec<(u32, Sent)> {
    let mut fates = Vec::new();
    for (job, sender) in blocked {
        fates.push((job, within("a blocked sender", sender).await.unwrap()));
    }
    fates
}

/// Stop (one of three ways), then release the gatekeeper: the stop request
/// is made while every blocked sender still waits.
async fn stop_then_release(
    sup: Supervisor<Job>,
    handle: &SupervisorHandle<Job>,
    release: &Notify,
    blocked: Vec<Blocked>,
    rng: &mut fastrand::Rng,
) -> (ShutdownReport, Vec<(u32, Sent)>) {
    // `shutdown()` and `stop()` make their stop request in their first
    // poll.
    let mut stopping: Pin<Box<dyn Future<Output = ShutdownReport>>> = match rng.u8(0..3) {
        0 => Box::pin(sup.shutdown()),
        1 => {
            let handle = handle.clone();
            Box::pin(async move {
                sup.stop().await.expect("a clean stop");
                handle.stopped().await
            })
        }
        _ => {
            handle.request_stop();
            Box::pin(handle.stopped())
        }
    };
    let first = poll_once(&mut stopping).await;
    assert!(
        first.is_pending(),
        "the drain cannot end while job 0 is held"
    );
    assert!(handle.is_stopping());
    for _ in 0..rng.u8(0..8) {
        tokio::task::yield_now().await;
    }
    release.notify_one();
    let report = within("shutdown", stopping).await;
    (report, join_senders(blocked).await)
}

/// Release the gatekeeper and let every blocked sender finish; only then
/// stop.
async fn release_then_stop(
    sup: Supervisor<Job>,
    handle: &SupervisorHandle<Job>,
    release: &Notify,
    blocked: Vec<Blocked>,
) -> (ShutdownReport, Vec<(u32, Sent)>) {
    release.notify_one();
    let fates = join_senders(blocked).await;
    handle.request_stop();
    let report = within("shutdown", sup.shutdown()).await;
    (report, fates)
}

/// Request the stop and release the gatekeeper from two tasks started
/// together, each after its own random number of yields.
async fn race_stop_and_release(
    handle: &SupervisorHandle<Job>,
    release: &Arc<Notify>,
    blocked: Vec<Blocked>,
    rng: &mut fastrand::Rng,
) -> (ShutdownReport, Vec<(u32, Sent)>) {
    let start = Arc::new(Barrier::new(3));
    let (stop_yields, release_yields) = (rng.u8(0..16), rng.u8(0..16));
    let stopper = {
        let (start, handle) = (Arc::clone(&start), handle.clone());
        tokio::spawn(async move {
            start.wait().await;
            for _ in 0..stop_yields {
                tokio::task::yield_now().await;
            }
            handle.request_stop();
        })
    };
    let releaser = {
        let (start, release) = (Arc::clone(&start), Arc::clone(release));
        tokio::spawn(async move {
            start.wait().await;
            for _ in 0..release_yields {
                tokio::task::yield_now().await;
            }
            release.notify_one();
        })
    };
    start.wait().await;
    within("the stopper", stopper).await.unwrap();
    within("the releaser", releaser).await.unwrap();
    let report = within("shutdown", handle.stopped()).await;
    (report, join_senders(blocked).await)
}

/// Every sender's fate agrees with what was handled, and the report with
/// both: the jobs in the pipe were handled once each, every blocked sender
/// was either accepted and handled once or refused and never handled,
/// nothing else was handled, and all of it in order.
fn verify_fates(
    interleaving: Interleaving,
    context: &str,
    handled: &[u32],
    fates: Vec<(u32, Sent)>,
    report: &ShutdownReport,
) -> Seen {
    let times_handled = |job: u32| handled.iter().filter(|&&h| h == job).count();
    for job in 0..=3 {
        assert_eq!(
            times_handled(job),
            1,
            "accepted job {job}, {context}: {handled:?}"
        );
    }
    let seen = verify_blocked_senders(interleaving, context, times_handled, fates);
    assert_eq!(
        handled.len(),
        4 + seen.accepted,
        "handled something never accepted, {context}: {handled:?}"
    );
    assert!(handled.is_sorted(), "out of order, {context}: {handled:?}");

    let gatekeeper = report.actor("gatekeeper").unwrap();
    assert_eq!(gatekeeper.handled, handled.len() as u64, "{report}");
    assert_eq!(gatekeeper.routed, handled.len() as u64, "{report}");
    assert!(gatekeeper.is_balanced(), "{report}");
    assert!(report.is_clean(), "{report}");
    seen
}

/// Each blocked sender, in job order: accepted and handled once, or refused
/// with `Stopping`, its event back, and never handled; no acceptance after
/// an earlier sender's refusal; and only the fates the interleaving allows.
fn verify_blocked_senders(
    interleaving: Interleaving,
    context: &str,
    times_handled: impl Fn(u32) -> usize,
    fates: Vec<(u32, Sent)>,
) -> Seen {
    let mut seen = Seen::default();
    let mut refused_before = None;
    for (job, outcome) in fates {
        match outcome {
            Ok(()) => {
                assert_eq!(
                    times_handled(job),
                    1,
                    "job {job} was accepted but handled {} times, {context}",
                    times_handled(job)
                );
                assert_eq!(
                    refused_before, None,
                    "job {job} was accepted after an earlier blocked sender was refused, {context}"
                );
                assert!(
                    interleaving != Interleaving::StopThenRelease,
                    "job {job} was waiting for room when the stop came, and was still accepted, {context}"
                );
                seen.accepted += 1;
            }
            Err(refused) => {
                assert!(refused.is_stopping(), "job {job}: {refused}, {context}");
                assert_eq!(
                    times_handled(job),
                    0,
                    "job {job} was refused but handled, {context}"
                );
                assert_eq!(refused.into_event(), Job(job), "the event handed back");
                assert!(
                    interleaving != Interleaving::ReleaseThenStop,
                    "job {job} was refused before any stop, {context}"
                );
                refused_before.get_or_insert(job);
                seen.refused += 1;
            }
        }
    }
    seen
}

#[test]
fn a_sender_blocked_on_a_full_pipe_is_either_accepted_and_handled_or_refused_and_unseen() {
    let seed = seed_from_env("MAIKO_STRESS_SEED");
    let iterations = count_from_env("MAIKO_GATE_ITERATIONS", ITERATIONS);
    println!("MAIKO_STRESS_SEED={seed:#x} MAIKO_GATE_ITERATIONS={iterations}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut total = Seen::default();
    for _ in 0..iterations {
        let runtime = trial_runtime(rng.u8(0..4) != 0);
        let seen = runtime.block_on(blocked_senders_meet_a_stop(&mut rng));
        total.accepted += seen.accepted;
        total.refused += seen.refused;
    }
    let summary = format!(
        "G2: {iterations} iterations, blocked senders accepted and handled: {}, \
         refused and unseen: {}, 0 accepted-and-lost, 0 refused-and-delivered",
        total.accepted, total.refused
    );
    println!("{summary}");
    // Both fates occurred, so both branches of the check were exercised.
    assert!(total.accepted > 0 && total.refused > 0, "{total:?}");
    support::keep_summary("gate_rejects_blocked_sender", &summary);
}

/// Builds a supervisor with a recorder (which holds its first job until
/// released) and an idle actor whose context the test publishes through.
struct Rig {
    sup: Supervisor<Job>,
    handled: Arc<Mutex<Vec<u32>>>,
    release: Arc<Notify>,
    entered: oneshot::Receiver<()>,
    ctx: Context<Job>,
}

fn rig(config: SupervisorConfig) -> Rig {
    let mut sup = Supervisor::<Job>::new(config);
    let handled = Arc::new(Mutex::new(Vec::new()));
    let release = Arc::new(Notify::new());
    let (entered, entered_rx) = oneshot::channel();
    let recorder = Gatekeeper {
        handled: Arc::clone(&handled),
        entered: Some(entered),
        release: Arc::clone(&release),
    };
    sup.add_actor("recorder", move |_| recorder, [DefaultTopic])
        .unwrap();
    let mut ctx = None;
    sup.add_actor(
        "publisher",
        |c| {
            ctx = Some(c);
            Idle
        },
        Subscribe::none(),
    )
    .unwrap();
    Rig {
        sup,
        handled,
        release,
        entered: entered_rx,
        ctx: ctx.unwrap(),
    }
}

/// Every way to publish, once the gate refuses: `Stopping`, and the event
/// back where the method returns it.
async fn every_publish_is_refused(
    sup: &Supervisor<Job>,
    handle: &SupervisorHandle<Job>,
    ctx: &Context<Job>,
) {
    assert_eq!(sup.send(Job(100)).await, Err(Error::Stopping));
    let refused = sup.publish(Job(101)).await.unwrap_err();
    assert!(refused.is_stopping());
    assert_eq!(refused.into_event(), Job(101));
    let refused = handle.send(Job(102)).await.unwrap_err();
    assert!(refused.is_stopping());
    assert_eq!(refused.into_event(), Job(102));
    assert_eq!(ctx.send(Job(103)).await, Err(Error::Stopping));
    assert_eq!(
        ctx.send_child_event(Job(104), EventId::new()).await,
        Err(Error::Stopping)
    );
    let refused = ctx.publish(Job(105)).await.unwrap_err();
    assert!(refused.is_stopping());
    assert_eq!(refused.into_event(), Job(105));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_shutdown_every_publish_is_refused_and_handed_back() {
    let Rig {
        mut sup,
        handled,
        release,
        entered,
        ctx,
    } = rig(SupervisorConfig::default());
    sup.start().await.unwrap();
    let handle = sup.handle();
    sup.send(Job(1)).await.unwrap();
    within("job 1 reaching the handler", entered).await.unwrap();
    release.notify_one();
    handle.request_stop();
    let report = within("the shutdown", handle.stopped()).await;

    every_publish_is_refused(&sup, &handle, &ctx).await;

    assert_eq!(*handled.lock().unwrap(), [1]);
    let recorder = report.actor("recorder").unwrap();
    assert_eq!((recorder.routed, recorder.handled), (1, 1), "{report}");
    assert!(report.is_clean(), "{report}");
    // A second stop changes nothing.
    let again = within("a second shutdown", sup.shutdown()).await;
    assert_eq!(again.actor("recorder").unwrap().handled, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strict_gate_refuses_at_once_while_the_backlog_still_drains() {
    let Rig {
        mut sup,
        handled,
        release,
        entered,
        ctx,
    } = rig(SupervisorConfig::default().with_strict_shutdown(true));
    sup.start().await.unwrap();
    let handle = sup.handle();
    sup.send(Job(1)).await.unwrap();
    within("job 1 reaching the handler", entered).await.unwrap();
    sup.send(Job(2)).await.unwrap();
    sup.send(Job(3)).await.unwrap();

    // The recorder still holds job 1, with 2 and 3 behind it: the refused
    // events below could still reach it if the gate let them through.
    handle.request_stop();
    every_publish_is_refused(&sup, &handle, &ctx).await;
    release.notify_one();
    let report = within("the shutdown", sup.shutdown()).await;

    assert_eq!(*handled.lock().unwrap(), [1, 2, 3]);
    let recorder = report.actor("recorder").unwrap();
    assert_eq!((recorder.routed, recorder.handled), (3, 3), "{report}");
    assert!(report.rejected >= 6, "{report}");
    assert!(report.is_clean(), "{report}");
}

#[derive(Event, Clone, Debug, PartialEq, Eq)]
enum Flow {
    /// Work for the holder.
    Work(u32),
    /// Published by the holder's handler while the runtime drains.
    FromHandler(u32),
    /// Published from the stepper's `step()` after the stop request.
    FromStep(u32),
    /// Published by the supervisor or a handle after the stop request.
    FromOutside(u32),
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
enum Lane {
    Work,
    Results,
}

impl Topic<Flow> for Lane {
    fn from_event(event: &Flow) -> Self {
        match event {
            Flow::Work(_) => Lane::Work,
            _ => Lane::Results,
        }
    }
}

/// What a publish returned: `Ok`, or the refusal with the event.
type Published = std::result::Result<(), SendError<Flow>>;

/// Holds its work until released, then publishes a result from the
/// handler and reports what that publish returned.
struct Holder {
    ctx: Context<Flow>,
    entered: Option<oneshot::Sender<()>>,
    release: Arc<Notify>,
    published: Option<oneshot::Sender<(bool, Published)>>,
}

impl Actor for Holder {
    type Event = Flow;

    async fn handle_event(&mut self, envelope: &Envelope<Flow>) -> Result {
        let Flow::Work(n) = *envelope.event() else {
            return Ok(());
        };
        if let Some(entered) = self.entered.take() {
            let _ = entered.send(());
        }
        self.release.notified().await;
        let stopping = self.ctx.is_stopping();
        let result = self.ctx.publish(Flow::FromHandler(n)).await;
        if let Some(published) = self.published.take() {
            let _ = published.send((stopping, result));
        }
        Ok(())
    }
}

/// Its first `step()` waits for `go`, then publishes and reports what that
/// publish returned. Counts its steps.
struct Stepper {
    ctx: Context<Flow>,
    stepping: Option<oneshot::Sender<()>>,
    go: Arc<Notify>,
    published: Option<oneshot::Sender<Published>>,
    steps: Arc<AtomicUsize>,
}

impl Actor for Stepper {
    type Event = Flow;

    async fn step(&mut self) -> Result<StepAction> {
        self.steps.fetch_add(1, Ordering::SeqCst);
        if let Some(stepping) = self.stepping.take() {
            let _ = stepping.send(());
            self.go.notified().await;
            let result = self.ctx.publish(Flow::FromStep(1)).await;
            if let Some(published) = self.published.take() {
                let _ = published.send(result);
            }
        }
        // Would run again at once, were steps still called.
        Ok(StepAction::Continue)
    }
}

/// Records what it handles.
struct Results {
    handled: Arc<Mutex<Vec<Flow>>>,
}

impl Actor for Results {
    type Event = Flow;

    async fn handle_event(&mut self, envelope: &Envelope<Flow>) -> Result {
        self.handled.lock().unwrap().push(envelope.event().clone());
        Ok(())
    }
}

/// A supervisor, not started, with a holder, a stepper and a results
/// actor, and the test's ends of their signals.
struct DrainRig {
    sup: Supervisor<Flow, Lane>,
    /// The holder is inside its handler.
    holder_entered: oneshot::Receiver<()>,
    /// Lets the holder go on and publish.
    release: Arc<Notify>,
    /// Whether the holder saw the stop, and what its publish returned.
    holder_published: oneshot::Receiver<(bool, Published)>,
    /// The stepper is inside its first `step()`.
    stepping: oneshot::Receiver<()>,
    /// Lets the stepper go on and publish.
    go: Arc<Notify>,
    /// What the stepper's publish returned.
    step_published: oneshot::Receiver<Published>,
    /// How many times `step()` ran.
    steps: Arc<AtomicUsize>,
    /// What the results actor handled.
    handled: Arc<Mutex<Vec<Flow>>>,
}

fn drain_rig() -> DrainRig {
    let mut sup = Supervisor::<Flow, Lane>::default();
    let (holder_entered, holder_entered_rx) = oneshot::channel();
    let (holder_published, holder_published_rx) = oneshot::channel();
    let release = Arc::new(Notify::new());
    let holder_release = Arc::clone(&release);
    sup.add_actor(
        "holder",
        move |ctx| Holder {
            ctx,
            entered: Some(holder_entered),
            release: holder_release,
            published: Some(holder_published),
        },
        [Lane::Work],
    )
    .unwrap();
    let (stepping, stepping_rx) = oneshot::channel();
    let (step_published, step_published_rx) = oneshot::channel();
    let go = Arc::new(Notify::new());
    let steps = Arc::new(AtomicUsize::new(0));
    let (step_go, step_count) = (Arc::clone(&go), Arc::clone(&steps));
    sup.add_actor(
        "stepper",
        move |ctx| Stepper {
            ctx,
            stepping: Some(stepping),
            go: step_go,
            published: Some(step_published),
            steps: step_count,
        },
        Subscribe::none(),
    )
    .unwrap();
    let handled = Arc::new(Mutex::new(Vec::new()));
    let results = Arc::clone(&handled);
    sup.add_actor(
        "results",
        move |_| Results { handled: results },
        [Lane::Results],
    )
    .unwrap();
    DrainRig {
        sup,
        holder_entered: holder_entered_rx,
        release,
        holder_published: holder_published_rx,
        stepping: stepping_rx,
        go,
        step_published: step_published_rx,
        steps,
        handled,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draining_refuses_outside_and_step_publishes_but_admits_handler_publishes() {
    let DrainRig {
        mut sup,
        holder_entered,
        release,
        holder_published,
        stepping,
        go,
        step_published,
        steps,
        handled,
    } = drain_rig();
    sup.start().await.unwrap();
    let handle = sup.handle();

    // The holder is inside a handler with accepted work, and the stepper
    // is inside `step()`, when the stop is requested.
    sup.send(Flow::Work(1)).await.unwrap();
    within("the holder's handler", holder_entered)
        .await
        .unwrap();
    within("the stepper's step", stepping).await.unwrap();
    handle.request_stop();
    assert!(handle.is_stopping());

    // From outside the actors: refused, the event handed back.
    assert_eq!(sup.send(Flow::FromOutside(1)).await, Err(Error::Stopping));
    let refused = handle.send(Flow::FromOutside(2)).await.unwrap_err();
    assert!(refused.is_stopping());
    assert_eq!(refused.into_event(), Flow::FromOutside(2));
    let refused = sup.publish(Flow::FromOutside(3)).await.unwrap_err();
    assert_eq!(refused.into_event(), Flow::FromOutside(3));

    // From a `step()` that was already running: refused too.
    go.notify_one();
    let refused = within("the step's publish", step_published)
        .await
        .unwrap()
        .unwrap_err();
    assert!(refused.is_stopping());
    assert_eq!(refused.into_event(), Flow::FromStep(1));

    // From `handle_event`, during the drain: admitted.
    release.notify_one();
    let (saw_stopping, result) = within("the handler's publish", holder_published)
        .await
        .unwrap();
    assert!(saw_stopping, "the handler ran after the stop request");
    assert!(
        result.is_ok(),
        "a handler's publish while draining was refused"
    );

    let report = within("the shutdown", sup.shutdown()).await;
    assert_eq!(*handled.lock().unwrap(), [Flow::FromHandler(1)]);
    assert_eq!(
        steps.load(Ordering::SeqCst),
        1,
        "step() ran after the stop request"
    );
    assert_eq!(report.actor("holder").unwrap().handled, 1, "{report}");
    assert_eq!(report.actor("results").unwrap().handled, 1, "{report}");
    assert_eq!(report.rejected, 4, "{report}");
    assert!(report.is_clean(), "{report}");
}
