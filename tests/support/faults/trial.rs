//! Running one fault trial: the supervisor and its first subscribers, the
//! producers, the task that adds and stops subscribers while they run, the
//! task that requests the stop, and the dead letters' taker.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    task::Poll,
    time::Duration,
};

use maiko::*;
use tokio::task::JoinHandle;

use super::{Clock, Ev, Flaky, LANES, Lane, Params, Record, SubSpec, check::check, tally::Tally};
use crate::support::{finish_within, poll_once};

/// The shutdown, and then each task of the trial, must end within this.
/// Far beyond the longest shutdown timeout plus the grace.
const TRIAL_LIMIT: Duration = Duration::from_secs(10);

/// One accepted send: the event's seq and lane, and the clock's ticks just
/// before the call and just after it returned `Ok`.
#[derive(Clone, Copy, Debug)]
pub struct Sent {
    pub seq: u32,
    pub lane: u8,
    pub start: u64,
    pub end: u64,
}

/// How a subscriber came to be.
#[derive(Debug)]
pub enum Presence {
    /// Registered before the start.
    Initial,
    /// Added through a handle; the tick taken once `add_*` returned `Ok`.
    Added { tick: u64 },
    /// Its `add_*` returned this error (the stop had been requested).
    Refused(Error),
}

/// A `stop_actor` call.
#[derive(Debug)]
pub struct StopCall {
    /// The tick taken once the call had begun (its first poll returned).
    pub tick: u64,
    pub result: Result<ActorReport>,
}

/// Everything a trial observed, for the checks.
pub struct Observed {
    /// Per producer, its accepted sends in order.
    pub sent: Vec<Vec<Sent>>,
    /// Per subscriber.
    pub presence: Vec<Presence>,
    /// Per subscriber, its `stop_actor` call if it had one.
    pub stops: Vec<Option<StopCall>>,
    /// The tick taken once the test's `request_stop` returned (a failure
    /// may have stopped the supervisor before; the request is made anyway).
    pub stop_tick: u64,
    pub report: ShutdownReport,
    pub letters: Vec<DeadLetter<Ev>>,
    pub records: Vec<Arc<Record>>,
    /// What went wrong while running (a refusal of the wrong kind, ...).
    pub notes: Vec<String>,
}

/// The verdict of one trial, and what it exercised.
pub struct TrialOutcome {
    /// The problems found; none if it passed.
    pub problems: Vec<String>,
    pub tally: Tally,
}

impl TrialOutcome {
    fn hung(problem: String) -> Self {
        Self {
            problems: vec![problem],
            tally: Tally {
                trials: 1,
                failed_trials: 1,
                ..Tally::default()
            },
        }
    }
}

/// What the tasks of a trial share.
struct Stage {
    params: Arc<Params>,
    specs: Vec<Arc<SubSpec>>,
    records: Vec<Arc<Record>>,
    clock: Clock,
    accepted: AtomicU64,
    producers_done: AtomicUsize,
    notes: Mutex<Vec<String>>,
}

impl Stage {
    fn note(&self, note: String) {
        self.notes.lock().unwrap().push(note);
    }

    /// Wait, yielding, until the producers have had `threshold` sends
    /// accepted, or are all done, or the supervisor is stopping.
    async fn until_accepted(&self, threshold: u64, handle: &SupervisorHandle<Ev>) {
        while self.accepted.load(Ordering::SeqCst) < threshold
            && self.producers_done.load(Ordering::SeqCst) < self.params.producers.len()
            && !handle.is_stopping()
        {
            tokio::task::yield_now().await;
        }
    }
}

fn subscription(spec: &SubSpec) -> Subscribe<Ev, Lane> {
    match &spec.lanes {
        None => Subscribe::all(),
        Some(lanes) => Subscribe::to(lanes.iter().map(|&l| Lane(l))),
    }
}

fn policy(spec: &SubSpec) -> Option<RestartPolicy> {
    spec.restart.map(|r| {
        let policy = RestartPolicy::on_failure()
            .max_restarts(r.max_restarts)
            .within(Duration::from_secs(600))
            .retry_event(r.retries);
        match r.backoff {
            Some((first, max)) => policy.backoff(first, max),
            None => policy,
        }
    })
}

/// Run the trial of `params` and check it.
pub async fn run_trial(params: Arc<Params>) -> TrialOutcome {
    let specs: Vec<Arc<SubSpec>> = params.subs.iter().cloned().map(Arc::new).collect();
    let records: Vec<Arc<Record>> = specs.iter().map(|_| Arc::default()).collect();
    let stage = Arc::new(Stage {
        params: Arc::clone(&params),
        specs,
        records,
        clock: Clock::default(),
        accepted: AtomicU64::new(0),
        producers_done: AtomicUsize::new(0),
        notes: Mutex::new(Vec::new()),
    });
    let config = SupervisorConfig::default()
        .with_broker_channel_capacity(params.broker_capacity)
        .with_default_actor_channel_capacity(params.mailbox)
        .with_default_max_events_per_tick(params.per_tick)
        .with_stop_on_failure(params.stop_on_failure)
        .with_shutdown_timeout(params.shutdown_timeout);
    let mut sup = Supervisor::<Ev, Lane>::new(config);
    let mut ids: Vec<Option<ActorId>> = vec![None; stage.specs.len()];
    for (i, spec) in stage.specs.iter().enumerate() {
        if spec.added_after.is_some() {
            continue;
        }
        let factory = Flaky::factory(params.seed, i, spec, &stage.records[i]);
        let id = match policy(spec) {
            Some(policy) => sup.add_restartable(&spec.name, factory, subscription(spec), policy),
            None => sup.add_actor(&spec.name, factory, subscription(spec)),
        };
        ids[i] = Some(id.expect("register a subscriber"));
    }
    let mut letters = sup.dead_letters().expect("take the dead letters");
    let taker = tokio::spawn(async move {
        let mut taken = Vec::new();
        while let Some(letter) = letters.recv().await {
            taken.push(letter);
        }
        taken
    });
    sup.start().await.expect("start");
    let handle = sup.handle();

    let mut rng = fastrand::Rng::with_seed(params.seed ^ 0x5eed_f00d);
    let producers: Vec<JoinHandle<Vec<Sent>>> = (0..params.producers.len())
        .map(|p| {
            let (stage, handle, seed) = (Arc::clone(&stage), handle.clone(), rng.u64(..));
            tokio::spawn(produce(stage, handle, p, seed))
        })
        .collect();
    let chaos = tokio::spawn(add_and_stop(Arc::clone(&stage), handle.clone(), ids));
    let stopper = {
        let (stage, handle) = (Arc::clone(&stage), handle.clone());
        tokio::spawn(async move {
            stage.until_accepted(stage.params.stop_after, &handle).await;
            handle.request_stop();
            stage.clock.tick()
        })
    };

    let Some(report) = finish_within(TRIAL_LIMIT, handle.stopped()).await else {
        for task in &producers {
            task.abort();
        }
        chaos.abort();
        stopper.abort();
        taker.abort();
        return TrialOutcome::hung(format!(
            "the shutdown did not return within {TRIAL_LIMIT:?}"
        ));
    };
    let joined = finish_within(TRIAL_LIMIT, async {
        let mut sent = Vec::new();
        for task in producers {
            sent.push(task.await.expect("a producer panicked"));
        }
        let (presence, stops) = chaos.await.expect("the add-and-stop task panicked");
        let stop_tick = stopper.await.expect("the stopper panicked");
        let letters = taker.await.expect("the dead letters' taker panicked");
        (sent, presence, stops, stop_tick, letters)
    })
    .await;
    let Some((sent, presence, stops, stop_tick, letters)) = joined else {
        return TrialOutcome::hung(format!(
            "a task of the trial (a producer, add/stop, or the dead letters' recv) \
             did not end within {TRIAL_LIMIT:?} after the shutdown"
        ));
    };
    drop(sup);
    let notes = std::mem::take(&mut *stage.notes.lock().unwrap());
    let observed = Observed {
        sent,
        presence,
        stops,
        stop_tick,
        report,
        letters,
        records: stage.records.clone(),
        notes,
    };
    let problems = check(&params, &observed);
    let mut tally = Tally::of(&observed);
    tally.failed_trials = u64::from(!problems.is_empty());
    TrialOutcome { problems, tally }
}

/// Producer `p`: its events one by one, each after a few yields, until one
/// is refused; returns the accepted ones.
async fn produce(
    stage: Arc<Stage>,
    handle: SupervisorHandle<Ev>,
    p: usize,
    seed: u64,
) -> Vec<Sent> {
    let spec = stage.params.producers[p].clone();
    let producer = u16::try_from(p).expect("few producers");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut sent = Vec::new();
    for seq in 0..spec.events {
        for _ in 0..rng.u8(0..=spec.max_yields) {
            tokio::task::yield_now().await;
        }
        let lane = rng.u8(0..LANES);
        let start = stage.clock.tick();
        let result = handle
            .send(Ev {
                lane,
                producer,
                seq,
            })
            .await;
        let end = stage.clock.tick();
        match result {
            Ok(()) => {
                sent.push(Sent {
                    seq,
                    lane,
                    start,
                    end,
                });
                stage.accepted.fetch_add(1, Ordering::SeqCst);
            }
            Err(refused) => {
                if !refused.is_stopping() {
                    stage.note(format!(
                        "producer{p}: send of {seq} refused with {:?}, not Stopping",
                        refused.error()
                    ));
                }
                break;
            }
        }
    }
    stage.producers_done.fetch_add(1, Ordering::SeqCst);
    sent
}

/// What [`add_and_stop`] does, at its threshold of accepted sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    Add(usize),
    Stop(usize),
}

/// Add and stop subscribers as their specs say, in the order of their
/// thresholds. The stops run in their own tasks once begun, so that a
/// subscriber draining its mailbox holds up nothing else.
async fn add_and_stop(
    stage: Arc<Stage>,
    handle: SupervisorHandle<Ev>,
    mut ids: Vec<Option<ActorId>>,
) -> (Vec<Presence>, Vec<Option<StopCall>>) {
    let n = stage.specs.len();
    let mut actions: Vec<(u64, Action)> = Vec::new();
    for (i, spec) in stage.specs.iter().enumerate() {
        if let Some(at) = spec.added_after {
            actions.push((at, Action::Add(i)));
        }
        if let Some(at) = spec.stopped_after {
            actions.push((at, Action::Stop(i)));
        }
    }
    actions.sort();
    let mut presence: Vec<Presence> = (0..n).map(|_| Presence::Initial).collect();
    let mut stopping: Vec<Option<(u64, JoinHandle<Result<ActorReport>>)>> =
        (0..n).map(|_| None).collect();
    for (threshold, action) in actions {
        stage.until_accepted(threshold, &handle).await;
        match action {
            Action::Add(i) => {
                let spec = &stage.specs[i];
                let was_stopping = handle.is_stopping();
                let factory = Flaky::factory(stage.params.seed, i, spec, &stage.records[i]);
                let added = match policy(spec) {
                    Some(policy) => {
                        handle
                            .add_restartable(&spec.name, factory, subscription(spec), policy)
                            .await
                    }
                    None => {
                        handle
                            .add_actor(&spec.name, factory, subscription(spec))
                            .await
                    }
                };
                let tick = stage.clock.tick();
                presence[i] = match added {
                    Ok(id) => {
                        if was_stopping {
                            stage.note(format!(
                                "{}: added with Ok although the stop had been requested",
                                spec.name
                            ));
                        }
                        ids[i] = Some(id);
                        Presence::Added { tick }
                    }
                    Err(error) => {
                        if !matches!(error, Error::Stopping) {
                            stage.note(format!("{}: add refused with {error:?}", spec.name));
                        }
                        Presence::Refused(error)
                    }
                };
            }
            Action::Stop(i) => {
                let Some(id) = ids[i].clone() else { continue };
                let handle = handle.clone();
                let mut call = Box::pin(async move { handle.stop_actor(&id).await });
                // The first poll takes the actor out of the routing table
                // (or refuses): only then has the call begun.
                let first = poll_once(&mut call).await;
                let tick = stage.clock.tick();
                let rest = tokio::spawn(async move {
                    match first {
                        Poll::Ready(result) => result,
                        Poll::Pending => call.await,
                    }
                });
                stopping[i] = Some((tick, rest));
            }
        }
    }
    let mut stops = Vec::with_capacity(n);
    for call in stopping {
        stops.push(match call {
            Some((tick, rest)) => Some(StopCall {
                tick,
                result: rest.await.expect("a stop_actor task panicked"),
            }),
            None => None,
        });
    }
    (presence, stops)
}
