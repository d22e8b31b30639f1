//! Stopping a `ShutdownGroup` at a random moment loses nothing that any
//! member accepted or that handlers forwarded between members, accepts
//! nothing from outside after the stop, keeps each publisher's order within
//! a broker, and never hangs (G1, G2, G3 and G4 of the `maiko::shutdown`
//! guide, across members and brokers).
//!
//! Each trial draws from one seed: two or three members, each of its own
//! event type (`Note<0>`, `Note<1>`, `Note<2>`), whose lanes spread over
//! one to three brokers; recording sinks; bridges that forward what they
//! handle into another member (in both directions, so feedback loops
//! occur, each chain bounded by the event's time to live); outside
//! publishers sending through member handles, some before the start; and a
//! stop at a random point through the group, its handle, a member's handle
//! or an actor's `stop_runtime`. After the shutdown, for every recording
//! actor and every publisher, what it handled on its lanes must be exactly
//! what was accepted on them, once each, in the order of each broker, and
//! every report must balance and be clean.
//!
//! `MAIKO_GROUP_TRIALS` sets the number of trials (default 2,000),
//! `MAIKO_STRESS_SEED` replays a run and `MAIKO_GROUP_TRIAL_SEED` one trial.

mod support;

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use maiko::*;
use support::{count_from_env, finish_within, seed_from_env, trial_runtime};
use tokio::{sync::Notify, task::JoinSet};

const TRIALS: usize = 2_000;
const TRIAL_TIMEOUT: Duration = Duration::from_secs(10);
/// The group's deadline: a drain that does not end within it is reported
/// (with what each actor was doing) rather than counted as a hang.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// Lanes 0-3 use the default broker, 4-7 broker "b1", 8-11 broker "b2".
const LANES: u8 = 12;
const BROKERS: [&str; 3] = ["default", "b1", "b2"];
/// Room for every event a trial can produce (drivers, then every bridge
/// forwarding what it handles, up to the time to live).
const ROOMY: usize = 1 << 14;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Note<const M: u8> {
    lane: u8,
    /// The logical publisher: an outside driver or a bridge.
    origin: u16,
    /// The publisher's sequence number (over all its publishes).
    seq: u32,
    /// How many more times bridges forward it.
    ttl: u8,
}

impl<const M: u8> Event for Note<M> {}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
struct Lane<const M: u8>(u8);

impl<const M: u8> Topic<Note<M>> for Lane<M> {
    fn from_event(event: &Note<M>) -> Self {
        Lane(event.lane)
    }

    fn broker(&self) -> &'static str {
        BROKERS[usize::from(self.0 / 4)]
    }
}

fn broker_of(lane: u8) -> u8 {
    lane / 4
}

/// One publish or handling, as recorded: member, lane, origin, seq.
type Entry = (u8, u8, u16, u32);

/// What a trial records.
#[derive(Default)]
struct Record {
    accepted: Mutex<Vec<Entry>>,
    /// Per recording actor (by its index in `Plan::recorders`).
    handled: Vec<Mutex<Vec<Entry>>>,
    stop_requested: AtomicBool,
    late_accepts: AtomicU64,
    handler_refusals: AtomicU64,
    bad_refusals: AtomicU64,
    accepted_outside: AtomicU64,
    milestone: u64,
    milestone_reached: Notify,
}

impl Record {
    fn accepted(&self, entry: Entry, outside: Option<bool>) {
        self.accepted.lock().unwrap().push(entry);
        if let Some(late) = outside {
            if late {
                self.late_accepts.fetch_add(1, Ordering::SeqCst);
            }
            if self.accepted_outside.fetch_add(1, Ordering::SeqCst) + 1 == self.milestone {
                self.milestone_reached.notify_one();
            }
        }
    }
}

/// A recording actor: a sink, or a bridge that also forwards.
#[derive(Clone, Debug)]
struct Recorder {
    member: u8,
    lanes: Vec<u8>,
    /// Forward into this member, on this lane.
    bridge_to: Option<(u8, u8)>,
    mailbox: usize,
    /// Sink 0 of member 0 may stop the runtime after this many events.
    stop_after: Option<u32>,
}

#[derive(Clone, Copy, Debug)]
enum Stop {
    GroupShutdown,
    GroupHandle,
    MemberHandle(u8),
    FromHandler,
}

/// One outside publish: into `member`, on `lane`, with this time to live.
#[derive(Clone, Copy, Debug)]
struct Publish {
    member: u8,
    lane: u8,
    ttl: u8,
}

/// An outside publisher: what it sends, the first `early` of it before the
/// start.
#[derive(Clone, Debug)]
struct Driver {
    sends: Vec<Publish>,
    early: usize,
}

/// Everything random about one trial.
#[derive(Clone, Debug)]
struct Plan {
    multi_thread: bool,
    members: u8,
    broker_capacity: usize,
    /// Per member, the lanes in use.
    lanes: Vec<Vec<u8>>,
    recorders: Vec<Recorder>,
    drivers: Vec<Driver>,
    /// Stop after this many outside publishes were accepted.
    milestone: u64,
    stop: Stop,
}

fn capacity(rng: &mut fastrand::Rng) -> usize {
    let high = 1usize << rng.u32(0..=7);
    rng.usize((high / 2).max(1)..=high)
}

impl Plan {
    fn draw(seed: u64) -> Self {
        let mut rng = fastrand::Rng::with_seed(seed);
        let members = rng.u8(2..=3);
        // Feedback between members forms a cycle of `Block` deliveries,
        // which waits for ever once every channel on it is full, while
        // running; such trials give every channel room for all their
        // events, so that what is under test is the shutdown. Without
        // feedback, bridges only forward to later members and capacities
        // stay small.
        let feedback = rng.bool();
        let lanes: Vec<Vec<u8>> = (0..members)
            .map(|_| {
                let mut chosen: Vec<u8> = (0..rng.u8(1..=4)).map(|_| rng.u8(0..LANES)).collect();
                chosen.sort_unstable();
                chosen.dedup();
                chosen
            })
            .collect();
        let mut recorders = Vec::new();
        for member in 0..members {
            let own = &lanes[usize::from(member)];
            for _ in 0..rng.u8(1..=3) {
                let targets: Vec<u8> = (0..members)
                    .filter(|&to| to != member && (feedback || to > member))
                    .collect();
                let bridge_to = (rng.bool() && !targets.is_empty()).then(|| {
                    let to = targets[rng.usize(..targets.len())];
                    let to_lanes = &lanes[usize::from(to)];
                    (to, to_lanes[rng.usize(..to_lanes.len())])
                });
                let mut subscribed: Vec<u8> = own.iter().copied().filter(|_| rng.bool()).collect();
                if subscribed.is_empty() {
                    subscribed.push(own[rng.usize(..own.len())]);
                }
                recorders.push(Recorder {
                    member,
                    lanes: subscribed,
                    bridge_to,
                    mailbox: if feedback { ROOMY } else { capacity(&mut rng) },
                    stop_after: None,
                });
            }
        }
        let broker_capacity = if feedback { ROOMY } else { capacity(&mut rng) };
        // Before the start nothing drains the channels: all the early
        // publishes together fit in one channel.
        let mut early_room = broker_capacity;
        let drivers: Vec<Driver> = (0..rng.u8(1..=4))
            .map(|_| {
                let sends: Vec<Publish> = (0..rng.u32(0..=60))
                    .map(|_| {
                        let member = rng.u8(0..members);
                        let lanes = &lanes[usize::from(member)];
                        let lane = lanes[rng.usize(..lanes.len())];
                        let ttl = rng.u8(0..=3);
                        Publish { member, lane, ttl }
                    })
                    .collect();
                let early = rng.usize(0..=sends.len().min(8).min(early_room));
                early_room -= early;
                Driver { sends, early }
            })
            .collect();
        let total: u64 = drivers.iter().map(|d| d.sends.len() as u64).sum();
        let stop = match rng.u8(0..4) {
            0 => Stop::GroupShutdown,
            1 => Stop::GroupHandle,
            2 => Stop::MemberHandle(rng.u8(0..members)),
            _ => Stop::FromHandler,
        };
        if let Stop::FromHandler = stop {
            recorders[0].stop_after = Some(rng.u32(1..=8));
        }
        Plan {
            multi_thread: rng.u8(0..4) != 0,
            members,
            broker_capacity,
            lanes,
            recorders,
            drivers,
            milestone: rng.u64(0..=total),
            stop,
        }
    }
}

/// Publish `entry` through `handle`, recording the outcome; the event is
/// handed back if refused.
fn outcome<const M: u8>(
    record: &Record,
    entry: Entry,
    result: std::result::Result<(), SendError<Note<M>>>,
    outside: Option<bool>,
    sent: &Note<M>,
) -> bool {
    match result {
        Ok(()) => {
            record.accepted(entry, outside);
            true
        }
        Err(refused) => {
            if !refused.is_stopping() || refused.event() != sent {
                record.bad_refusals.fetch_add(1, Ordering::SeqCst);
            }
            if outside.is_none() {
                record.handler_refusals.fetch_add(1, Ordering::SeqCst);
            }
            false
        }
    }
}

/// The handles of every member, by type.
#[derive(Clone)]
struct Handles {
    h0: SupervisorHandle<Note<0>>,
    h1: SupervisorHandle<Note<1>>,
    h2: SupervisorHandle<Note<2>>,
}

impl Handles {
    /// Publish into member `member` from outside, or forward from `ctx`.
    async fn publish<const FROM: u8>(
        &self,
        ctx: Option<&Context<Note<FROM>>>,
        member: u8,
        note: (u8, u16, u32, u8),
        record: &Record,
        outside: Option<bool>,
    ) -> bool {
        let (lane, origin, seq, ttl) = note;
        let entry = (member, lane, origin, seq);
        macro_rules! into {
            ($handle:expr, $m:literal) => {{
                let sent = Note::<$m> {
                    lane,
                    origin,
                    seq,
                    ttl,
                };
                let result = match ctx {
                    Some(ctx) => ctx.forward(&$handle, sent.clone()).await,
                    None => $handle.send(sent.clone()).await,
                };
                outcome(record, entry, result, outside, &sent)
            }};
        }
        match member {
            0 => into!(self.h0, 0),
            1 => into!(self.h1, 1),
            _ => into!(self.h2, 2),
        }
    }
}

/// A recording actor of member `M`.
struct Recording<const M: u8> {
    index: usize,
    origin: u16,
    spec: Recorder,
    ctx: Context<Note<M>>,
    handles: Handles,
    record: Arc<Record>,
    next_seq: u32,
    handled: u32,
}

impl<const M: u8> Actor for Recording<M> {
    type Event = Note<M>;

    async fn handle_event(&mut self, envelope: &Envelope<Note<M>>) -> Result {
        let note = envelope.event();
        self.record.handled[self.index]
            .lock()
            .unwrap()
            .push((M, note.lane, note.origin, note.seq));
        if let Some((to, lane)) = self.spec.bridge_to
            && note.ttl > 0
        {
            let seq = self.next_seq;
            self.next_seq += 1;
            let forward = (lane, self.origin, seq, note.ttl - 1);
            self.handles
                .publish(Some(&self.ctx), to, forward, &self.record, None)
                .await;
        }
        self.handled += 1;
        if Some(self.handled) == self.spec.stop_after {
            self.ctx.stop_runtime()?;
            self.record.stop_requested.store(true, Ordering::SeqCst);
        }
        Ok(())
    }
}

/// Build member `M`'s supervisor with its recording actors.
fn member<const M: u8>(
    plan: &Plan,
    handles: &Handles,
    record: &Arc<Record>,
    first_bridge_origin: u16,
    mut sup: Supervisor<Note<M>, Lane<M>>,
) -> Supervisor<Note<M>, Lane<M>> {
    for (index, spec) in plan.recorders.iter().enumerate() {
        if spec.member != M {
            continue;
        }
        let (spec, handles, record) = (spec.clone(), handles.clone(), Arc::clone(record));
        let topics: Vec<Lane<M>> = spec.lanes.iter().map(|&l| Lane(l)).collect();
        let mailbox = spec.mailbox;
        let origin = first_bridge_origin + index as u16;
        sup.build_actor(&format!("recorder{index}"), move |ctx| Recording {
            index,
            origin,
            spec,
            ctx,
            handles,
            record,
            next_seq: 0,
            handled: 0,
        })
        .topics(topics)
        .channel_capacity(mailbox)
        .build()
        .expect("register a recorder");
    }
    sup
}

/// Run one trial; returns its failures, described.
async fn trial(plan: Arc<Plan>) -> Vec<String> {
    let mut record = Record {
        milestone: plan.milestone,
        ..Record::default()
    };
    record.handled = plan.recorders.iter().map(|_| Mutex::default()).collect();
    let record = Arc::new(record);
    let config = SupervisorConfig::default().with_broker_channel_capacity(plan.broker_capacity);
    let (s0, s1, s2) = (
        Supervisor::<Note<0>, Lane<0>>::new(config.clone()),
        Supervisor::<Note<1>, Lane<1>>::new(config.clone()),
        Supervisor::<Note<2>, Lane<2>>::new(config),
    );
    let handles = Handles {
        h0: s0.handle(),
        h1: s1.handle(),
        h2: s2.handle(),
    };
    // Origins: drivers first, then one per recorder.
    let bridges_from = plan.drivers.len() as u16;
    let mut group = ShutdownGroup::new().with_shutdown_timeout(SHUTDOWN_TIMEOUT);
    group.add("m0", member(&plan, &handles, &record, bridges_from, s0));
    group.add("m1", member(&plan, &handles, &record, bridges_from, s1));
    if plan.members == 3 {
        group.add("m2", member(&plan, &handles, &record, bridges_from, s2));
    }

    // Early publishes, then the start, then the rest from spawned drivers.
    let mut next_seq = vec![0u32; plan.drivers.len()];
    for (origin, driver) in plan.drivers.iter().enumerate() {
        for publish in &driver.sends[..driver.early] {
            let seq = next_seq[origin];
            next_seq[origin] += 1;
            let note = (publish.lane, origin as u16, seq, publish.ttl);
            let member = publish.member;
            handles
                .publish::<0>(None, member, note, &record, Some(false))
                .await;
        }
    }
    group.start().await.expect("start the group");
    let mut drivers = JoinSet::new();
    for (origin, driver) in plan.drivers.iter().enumerate() {
        let sends = driver.sends[driver.early..].to_vec();
        let (handles, record) = (handles.clone(), Arc::clone(&record));
        let first_seq = next_seq[origin];
        drivers.spawn(async move {
            for (seq, publish) in (first_seq..).zip(sends) {
                let late = record.stop_requested.load(Ordering::SeqCst);
                let note = (publish.lane, origin as u16, seq, publish.ttl);
                let (member, outside) = (publish.member, Some(late));
                if !handles
                    .publish::<0>(None, member, note, &record, outside)
                    .await
                {
                    break;
                }
                tokio::task::yield_now().await;
            }
        });
    }

    if record.accepted_outside.load(Ordering::SeqCst) < plan.milestone {
        tokio::select! {
            () = record.milestone_reached.notified() => {}
            () = async { while drivers.join_next().await.is_some() {} } => {}
        }
    }
    let report = match plan.stop {
        Stop::GroupShutdown | Stop::FromHandler => {
            let handle = group.handle();
            let stopping = group.shutdown();
            if matches!(plan.stop, Stop::GroupShutdown) {
                handle.request_stop();
                record.stop_requested.store(true, Ordering::SeqCst);
            }
            stopping.await
        }
        Stop::GroupHandle => {
            group.handle().request_stop();
            record.stop_requested.store(true, Ordering::SeqCst);
            group.shutdown().await
        }
        Stop::MemberHandle(m) => {
            match m {
                0 => handles.h0.request_stop(),
                1 => handles.h1.request_stop(),
                _ => handles.h2.request_stop(),
            }
            record.stop_requested.store(true, Ordering::SeqCst);
            group.handle().stopped().await
        }
    };
    while drivers.join_next().await.is_some() {}
    check(&plan, &record, &report)
}

fn check(plan: &Plan, record: &Record, report: &GroupReport) -> Vec<String> {
    let mut failures = Vec::new();
    for (what, counter) in [
        (
            "outside publishes accepted after the stop",
            &record.late_accepts,
        ),
        (
            "handler forwards refused while draining",
            &record.handler_refusals,
        ),
        (
            "refusals that were not Stopping with the event",
            &record.bad_refusals,
        ),
    ] {
        let n = counter.load(Ordering::SeqCst);
        if n > 0 {
            failures.push(format!("{n} {what}"));
        }
    }
    let accepted = record.accepted.lock().unwrap().clone();
    for (index, spec) in plan.recorders.iter().enumerate() {
        let handled = record.handled[index].lock().unwrap().clone();
        let expected: HashSet<Entry> = accepted
            .iter()
            .copied()
            .filter(|&(m, lane, _, _)| m == spec.member && spec.lanes.contains(&lane))
            .collect();
        let mut seen = HashSet::new();
        // Per publisher and broker, the last seq handled.
        let mut last: HashMap<(u16, u8), u32> = HashMap::new();
        for &entry in &handled {
            let (_, lane, origin, seq) = entry;
            if !seen.insert(entry) {
                failures.push(format!("recorder{index} handled {entry:?} twice"));
            }
            if !expected.contains(&entry) {
                failures.push(format!(
                    "recorder{index} handled {entry:?}, never accepted for it"
                ));
            }
            let previous = last.insert((origin, broker_of(lane)), seq);
            if previous.is_some_and(|p| p >= seq) {
                failures.push(format!("recorder{index}: {entry:?} after seq {previous:?}"));
            }
        }
        let lost = expected.difference(&seen).count();
        if lost > 0 {
            failures.push(format!("recorder{index} lost {lost} accepted events"));
        }
        let member = report.member(&format!("m{}", spec.member));
        let reported = member.and_then(|r| r.actor(&format!("recorder{index}")));
        if reported.map(|a| a.handled) != Some(handled.len() as u64) {
            failures.push(format!(
                "recorder{index}: report {reported:?}, counted {}",
                handled.len()
            ));
        }
    }
    let unbalanced = report
        .members
        .iter()
        .flat_map(|(_, r)| &r.actors)
        .filter(|a| !a.is_balanced())
        .count();
    if unbalanced > 0 {
        failures.push(format!("{unbalanced} unbalanced actor reports"));
    }
    if !report.is_clean() {
        failures.push("the report is not clean".to_owned());
    }
    if !failures.is_empty() {
        failures.push(format!("report: {report}"));
    }
    failures
}

fn run(plan: Plan) -> (Plan, Option<Vec<String>>) {
    let runtime = trial_runtime(plan.multi_thread);
    let plan = Arc::new(plan);
    let outcome = runtime.block_on(finish_within(TRIAL_TIMEOUT, trial(Arc::clone(&plan))));
    runtime.shutdown_background();
    (Arc::unwrap_or_clone(plan), outcome)
}

#[test]
fn random_group_stops_lose_nothing_across_members_and_brokers() {
    let seeds: Vec<u64> = match std::env::var("MAIKO_GROUP_TRIAL_SEED") {
        Ok(_) => vec![seed_from_env("MAIKO_GROUP_TRIAL_SEED")],
        Err(_) => {
            let seed = seed_from_env("MAIKO_STRESS_SEED");
            let trials = count_from_env("MAIKO_GROUP_TRIALS", TRIALS);
            println!("MAIKO_STRESS_SEED={seed:#x} MAIKO_GROUP_TRIALS={trials}");
            let mut rng = fastrand::Rng::with_seed(seed);
            (0..trials).map(|_| rng.u64(..)).collect()
        }
    };
    let started = std::time::Instant::now();
    let (mut failed, mut hangs, mut brokers_used) = (Vec::new(), 0, [0usize; 3]);
    let trials = seeds.len();
    for seed in seeds {
        let (plan, outcome) = run(Plan::draw(seed));
        let brokers: HashSet<u8> = plan.lanes.iter().flatten().map(|&l| broker_of(l)).collect();
        brokers_used[brokers.len() - 1] += 1;
        let failures = outcome.unwrap_or_else(|| {
            hangs += 1;
            vec![format!("did not finish within {TRIAL_TIMEOUT:?}")]
        });
        if !failures.is_empty() {
            if failed.len() < 3 {
                println!("FAILED, replay with MAIKO_GROUP_TRIAL_SEED={seed:#x}\n{plan:#?}");
                for failure in &failures {
                    println!("  {failure}");
                }
            }
            failed.push(seed);
        }
    }
    let summary = format!(
        "group: {trials} trials, {} failed, {hangs} hangs (1/2/3 brokers: {:?}) in {:.1?}",
        failed.len(),
        brokers_used,
        started.elapsed()
    );
    println!("{summary}");
    assert!(failed.is_empty(), "failing trial seeds: {failed:#x?}");
    support::keep_summary("group_shutdown_random", &summary);
}
