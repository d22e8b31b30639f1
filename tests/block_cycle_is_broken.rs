//! Actors that publish to each other from their handlers under
//! `OverflowPolicy::Block` can wait for each other in a circle. The runtime
//! finds such a cycle, names it, and by default lets one publish go over
//! capacity so that everything accepted is still handled; `CyclePolicy`
//! offers waiting (reported) or refusing (with the event back) instead. A
//! slow consumer that is not itself waiting is never taken for a cycle.
//!
//! The randomised test is the shape every maiko example uses: four actors on
//! the default topic, three answering each event with a child event for the
//! others, mailboxes and broker channels of 8, a burst of 100 events. Set
//! `MAIKO_CYCLE_SEED` to replay a run, `MAIKO_CYCLE_TRIALS` for more trials.
//!
//! The deterministic tests wait for their own actors through a `Tally` and a
//! `Door`. Two states only the runtime knows, a cycle standing and an actor
//! blocked publishing, it shows in the snapshot and signals to no one, so
//! those two waits poll the snapshot (`support::until`, bounded like every
//! other wait).

mod support;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use maiko::*;
use support::{
    Door, Tally, count_from_env, finish_within, seed_from_env, trial_runtime, until, within,
};
use tokio::sync::mpsc;

// --- The ping-pong with children --------------------------------------------

#[derive(Event, Clone, Debug)]
struct Ball {
    /// How many more generations of answers this event starts.
    hops: u8,
}

/// Answers every event with hops left by one child with one hop less,
/// yielding a random number of times first (the seed shapes the run).
struct Player {
    ctx: Context<Ball>,
    handled: Arc<AtomicU64>,
    rng: fastrand::Rng,
}

impl Actor for Player {
    type Event = Ball;

    async fn handle_event(&mut self, envelope: &Envelope<Ball>) -> Result {
        self.handled.fetch_add(1, Ordering::Relaxed);
        for _ in 0..self.rng.u8(..3) {
            tokio::task::yield_now().await;
        }
        let hops = envelope.event().hops;
        if hops > 0 {
            self.ctx
                .send_child_event(Ball { hops: hops - 1 }, envelope.id())
                .await?;
        }
        Ok(())
    }
}

/// Counts what it sees.
struct Watcher {
    handled: Arc<AtomicU64>,
}

impl Actor for Watcher {
    type Event = Ball;

    async fn handle_event(&mut self, _envelope: &Envelope<Ball>) -> Result {
        self.handled.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

const PLAYERS: usize = 3;
const BURST: u64 = 100;
const HOPS: u8 = 3;

/// What one player and the watcher must handle for a burst: a root event
/// reaches every player; an event a player publishes reaches the other two.
/// Level k (k = 0..=HOPS) has 3 * 2^(k-1) events for k >= 1, and a player
/// receives every event of a level except its own share (a third).
fn expected() -> (u64, u64) {
    let mut events_per_level = vec![1u64];
    for _ in 0..HOPS {
        let last = *events_per_level.last().unwrap();
        // Each event with hops left is answered by every player that got it.
        let receivers = if events_per_level.len() == 1 { 3 } else { 2 };
        events_per_level.push(last * receivers);
    }
    let player: u64 = events_per_level
        .iter()
        .enumerate()
        .map(|(level, &n)| if level == 0 { n } else { n - n / 3 })
        .sum();
    let watcher: u64 = events_per_level.iter().sum();
    (player * BURST, watcher * BURST)
}

struct Trial {
    report: ShutdownReport,
    players: Vec<u64>,
    watcher: u64,
}

async fn ping_pong(seed: u64, policy: CyclePolicy) -> Result<Trial> {
    let config = SupervisorConfig::default()
        .with_broker_channel_capacity(8)
        .with_default_actor_channel_capacity(8)
        .with_cycle_policy(policy);
    let mut sup = Supervisor::<Ball>::new(config);
    let counts: Vec<Arc<AtomicU64>> = (0..=PLAYERS).map(|_| Arc::default()).collect();
    for (i, handled) in counts.iter().take(PLAYERS).enumerate() {
        let handled = Arc::clone(handled);
        let rng = fastrand::Rng::with_seed(seed ^ (i as u64 + 1));
        sup.add_actor(
            &format!("s{i}"),
            move |ctx| Player { ctx, handled, rng },
            [DefaultTopic],
        )?;
    }
    let handled = Arc::clone(&counts[PLAYERS]);
    sup.add_actor("watcher", move |_| Watcher { handled }, [DefaultTopic])?;
    sup.start().await?;
    for _ in 0..BURST {
        sup.send(Ball { hops: HOPS }).await?;
    }
    let handle = sup.handle();
    // Stopped in the middle: the drain handles every answer (HOPS is
    // within the drain hop limit), cycles included.
    sup.stop().await?;
    let report = handle.stopped().await;
    Ok(Trial {
        report,
        players: counts[..PLAYERS]
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect(),
        watcher: counts[PLAYERS].load(Ordering::Relaxed),
    })
}

#[test]
fn ping_pong_with_children_never_hangs_and_loses_nothing() {
    let trials = count_from_env("MAIKO_CYCLE_TRIALS", 500);
    let seed = seed_from_env("MAIKO_CYCLE_SEED");
    println!("MAIKO_CYCLE_SEED={seed:#x} MAIKO_CYCLE_TRIALS={trials}");
    let (player_expected, watcher_expected) = expected();
    let mut broke = 0;
    let mut over = 0;
    for trial in 0..trials as u64 {
        let trial_seed = seed.wrapping_add(trial);
        let runtime = trial_runtime(trial % 2 == 0);
        let outcome = runtime.block_on(finish_within(
            Duration::from_secs(20),
            ping_pong(trial_seed, CyclePolicy::default()),
        ));
        let Some(outcome) = outcome else {
            panic!("trial {trial} (MAIKO_CYCLE_SEED={trial_seed:#x}, TRIALS=1) hung");
        };
        let Trial {
            report,
            players,
            watcher,
        } = outcome.unwrap_or_else(|e| panic!("trial {trial} (seed {trial_seed:#x}): {e}"));
        assert!(report.is_clean(), "seed {trial_seed:#x}: {report}");
        assert!(
            report.actors.iter().all(ActorReport::is_balanced),
            "{report}"
        );
        assert_eq!(watcher, watcher_expected, "seed {trial_seed:#x}: {report}");
        for (i, &n) in players.iter().enumerate() {
            assert_eq!(n, player_expected, "s{i}, seed {trial_seed:#x}: {report}");
        }
        let went_over: u64 = report.actors.iter().map(|a| a.over_capacity).sum();
        if went_over > 0 {
            broke += 1;
            over += went_over;
        }
    }
    let summary = format!(
        "cycles: {broke} of {trials} trials broke a cycle ({over} publishes over capacity), \
         none hung, every count exact"
    );
    println!("{summary}");
    support::keep_summary("block_cycle_is_broken", &summary);
}

// --- Deterministic cycles ------------------------------------------------------

/// Two lanes: `Ping` on broker "one", `Pong` on broker "two" (or both on the
/// default broker).
#[derive(Event, Clone, Debug)]
enum Shot {
    Ping { root: bool },
    Pong { root: bool },
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Side {
    Ping,
    Pong,
}

impl Topic<Shot> for Side {
    fn from_event(shot: &Shot) -> Self {
        match shot {
            Shot::Ping { .. } => Side::Ping,
            Shot::Pong { .. } => Side::Pong,
        }
    }

    fn broker(&self) -> &'static str {
        match self {
            Side::Ping => "one",
            Side::Pong => "two",
        }
    }

    fn name(&self) -> std::borrow::Cow<'static, str> {
        match self {
            Side::Ping => "Ping".into(),
            Side::Pong => "Pong".into(),
        }
    }
}

/// How many children a root event is answered with: enough to fill the
/// answering lane's routing loop, its channel of 1, and make the publisher
/// wait.
const CHILDREN: usize = 5;

/// Holds its first event at the door until the test has filled both
/// mailboxes, then answers each root event with `CHILDREN` events for the
/// other side (directly, or through another member of a group).
struct Side2 {
    ctx: Context<Shot>,
    door: Door,
    first: bool,
    answer: fn(bool) -> Shot,
    other: Option<SupervisorHandle<Shot>>,
    refused: mpsc::UnboundedSender<SendError<Shot>>,
    handled: Tally,
}

impl Actor for Side2 {
    type Event = Shot;

    async fn handle_event(&mut self, envelope: &Envelope<Shot>) -> Result {
        self.handled.add_one();
        if std::mem::take(&mut self.first) {
            self.door.pass().await;
        }
        let (Shot::Ping { root } | Shot::Pong { root }) = *envelope.event();
        if !root {
            return Ok(());
        }
        for _ in 0..CHILDREN {
            let child = (self.answer)(false);
            let sent = match &self.other {
                Some(other) => self.ctx.forward(other, child).await,
                None => self.ctx.publish(child).await.map(drop),
            };
            if let Err(refused) = sent {
                let cycle = matches!(refused.error(), Error::Cycle(_));
                let _ = self.refused.send(refused);
                if cycle {
                    // Give up on the rest: that unwinds the cycle.
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

struct Pair {
    doors: [Door; 2],
    refused: mpsc::UnboundedReceiver<SendError<Shot>>,
    handled: [Tally; 2],
}

fn side(
    ctx: Context<Shot>,
    door: &Door,
    answer: fn(bool) -> Shot,
    other: Option<SupervisorHandle<Shot>>,
    refused: &mpsc::UnboundedSender<SendError<Shot>>,
    handled: &Tally,
) -> Side2 {
    Side2 {
        ctx,
        door: door.clone(),
        first: true,
        answer,
        other,
        refused: refused.clone(),
        handled: handled.clone(),
    }
}

fn ping(root: bool) -> Shot {
    Shot::Ping { root }
}

fn pong(root: bool) -> Shot {
    Shot::Pong { root }
}

fn tight(policy: CyclePolicy) -> SupervisorConfig {
    SupervisorConfig::default()
        .with_broker_channel_capacity(1)
        .with_default_actor_channel_capacity(1)
        .with_cycle_policy(policy)
        .with_shutdown_timeout(Duration::from_secs(5))
}

/// One supervisor, `a` on `Ping` (broker "one") answering with `Pong`, `b`
/// on `Pong` (broker "two") answering with `Ping`.
async fn two_brokers(policy: CyclePolicy) -> Result<(Supervisor<Shot, Side>, Pair)> {
    let (refused_tx, refused) = mpsc::unbounded_channel();
    let doors = [Door::new(), Door::new()];
    let handled = [Tally::new(), Tally::new()];
    let mut sup = Supervisor::<Shot, Side>::new(tight(policy));
    let (door, tx, count) = (doors[0].clone(), refused_tx.clone(), handled[0].clone());
    sup.add_actor(
        "a",
        move |ctx| side(ctx, &door, pong, None, &tx, &count),
        [Side::Ping],
    )?;
    let (door, tx, count) = (doors[1].clone(), refused_tx, handled[1].clone());
    sup.add_actor(
        "b",
        move |ctx| side(ctx, &door, ping, None, &tx, &count),
        [Side::Pong],
    )?;
    sup.start().await?;
    // Each side holds its first root event in the handler and gets a second
    // one into its mailbox of 1.
    sup.send(ping(true)).await?;
    sup.send(pong(true)).await?;
    doors[0].arrivals(1).await;
    doors[1].arrivals(1).await;
    sup.send(ping(true)).await?;
    sup.send(pong(true)).await?;
    Ok((
        sup,
        Pair {
            doors,
            refused,
            handled,
        },
    ))
}

const TWO_BROKERS: [&str; 2] = [
    "a -> topic 'Pong' of broker 'two' -> b -> topic 'Ping' of broker 'one' -> a",
    "b -> topic 'Ping' of broker 'one' -> a -> topic 'Pong' of broker 'two' -> b",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cycle_through_two_brokers_is_broken_and_loses_nothing() -> Result {
    let (sup, pair) = two_brokers(CyclePolicy::Exceed).await?;
    for door in &pair.doors {
        door.open();
    }
    // Two root events per side, each answered with CHILDREN events.
    let each = 2 + 2 * CHILDREN as u64;
    let handle = sup.handle();
    for handled in &pair.handled {
        handled.reaches(each).await;
    }
    sup.stop().await?;
    let report = handle.stopped().await;
    assert!(report.is_clean(), "{report}");
    let over: u64 = report.actors.iter().map(|a| a.over_capacity).sum();
    assert!(
        over >= 1,
        "the cycle was not broken by going over capacity: {report}"
    );
    for actor in &report.actors {
        assert_eq!((actor.routed, actor.handled), (each, each), "{report}");
        assert!(actor.is_balanced(), "{report}");
    }
    assert!(
        report.cycles.is_empty(),
        "no cycle stood at the stop: {report}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_refuse_the_publish_closing_the_cycle_gets_its_event_back() -> Result {
    let (sup, mut pair) = two_brokers(CyclePolicy::Refuse).await?;
    for door in &pair.doors {
        door.open();
    }
    let refused = within("a refused publish", pair.refused.recv())
        .await
        .unwrap();
    let Error::Cycle(cycle) = refused.error().clone() else {
        panic!("refused for another reason: {}", refused.error());
    };
    assert!(TWO_BROKERS.contains(&cycle.as_str()), "{cycle}");
    assert!(matches!(
        refused.into_event(),
        Shot::Ping { root: false } | Shot::Pong { root: false }
    ));
    let report = sup.shutdown().await;
    assert!(report.is_clean(), "{report}");
    assert!(
        report.actors.iter().all(|a| a.over_capacity == 0),
        "{report}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_wait_the_cycle_is_shown_and_reported_until_the_deadline() -> Result {
    let (sup, pair) = two_brokers(CyclePolicy::Wait).await?;
    let handle = sup.handle();
    for door in &pair.doors {
        door.open();
    }
    // A standing cycle is signalled to no one: poll the snapshot.
    let cycles = until("the cycle in the snapshot", || {
        Some(handle.snapshot().cycles).filter(|cycles| !cycles.is_empty())
    })
    .await;
    assert!(TWO_BROKERS.contains(&cycles[0].as_str()), "{cycles:?}");

    let config_timeout = Duration::from_secs(5);
    let report = within_deadline(config_timeout, sup.shutdown()).await;
    assert!(report.deadline_hit, "{report}");
    assert_eq!(report.cycles, cycles, "{report}");
    assert!(report.to_string().contains("cycle of blocked publishers"));
    assert!(
        report.actors.iter().all(ActorReport::is_balanced),
        "{report}"
    );
    Ok(())
}

async fn within_deadline<F: std::future::Future>(timeout: Duration, future: F) -> F::Output {
    finish_within(timeout * 2 + support::TIMEOUT, future)
        .await
        .expect("the shutdown is bounded by its deadline")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cycle_through_two_members_of_a_group_is_broken() -> Result {
    let (refused_tx, mut refused) = mpsc::unbounded_channel();
    let doors = [Door::new(), Door::new()];
    let handled = [Tally::new(), Tally::new()];
    let mut left = Supervisor::<Shot>::new(tight(CyclePolicy::Exceed));
    let mut right = Supervisor::<Shot>::new(tight(CyclePolicy::Exceed));
    let (to_left, to_right) = (left.handle(), right.handle());
    let (door, tx, count) = (doors[0].clone(), refused_tx.clone(), handled[0].clone());
    left.add_actor(
        "a",
        move |ctx| side(ctx, &door, pong, Some(to_right), &tx, &count),
        [DefaultTopic],
    )?;
    let (door, tx, count) = (doors[1].clone(), refused_tx, handled[1].clone());
    right.add_actor(
        "b",
        move |ctx| side(ctx, &door, ping, Some(to_left), &tx, &count),
        [DefaultTopic],
    )?;
    let mut group = ShutdownGroup::new().with_shutdown_timeout(Duration::from_secs(5));
    let left = group.add("left", left);
    let right = group.add("right", right);
    group.start().await?;
    left.send(ping(true)).await?;
    right.send(pong(true)).await?;
    doors[0].arrivals(1).await;
    doors[1].arrivals(1).await;
    left.send(ping(true)).await?;
    right.send(pong(true)).await?;
    for door in &doors {
        door.open();
    }
    let each = 2 + 2 * CHILDREN as u64;
    for handled in &handled {
        handled.reaches(each).await;
    }
    let report = group.shutdown().await;
    assert!(refused.try_recv().is_err(), "nothing may be refused");
    for (_, member) in &report.members {
        assert!(member.is_clean(), "{report}");
        let actor = &member.actors[0];
        assert_eq!((actor.routed, actor.handled), (each, each), "{report}");
        assert!(actor.is_balanced(), "{report}");
    }
    let over: u64 = report
        .members
        .iter()
        .flat_map(|(_, m)| &m.actors)
        .map(|a| a.over_capacity)
        .sum();
    assert!(over >= 1, "the cycle was not broken: {report}");
    Ok(())
}

// --- Not a cycle ---------------------------------------------------------------

/// Publishes `n` events from its handler for every event it gets.
struct Producer {
    ctx: Context<Shot>,
}

impl Actor for Producer {
    type Event = Shot;

    async fn handle_event(&mut self, envelope: &Envelope<Shot>) -> Result {
        if let Shot::Ping { root: true } = envelope.event() {
            for _ in 0..20 {
                self.ctx
                    .publish(pong(false))
                    .await
                    .map_err(|e| e.into_error())?;
            }
        }
        Ok(())
    }
}

/// Holds its handler at the door: slow, but waiting on nothing of ours.
struct Slow {
    door: Door,
}

impl Actor for Slow {
    type Event = Shot;

    async fn handle_event(&mut self, _envelope: &Envelope<Shot>) -> Result {
        self.door.pass().await;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_is_not_a_cycle() -> Result {
    let door = Door::new();
    let mut sup = Supervisor::<Shot, Side>::new(tight(CyclePolicy::Refuse));
    sup.add_actor("producer", |ctx| Producer { ctx }, [Side::Ping])?;
    let slow_door = door.clone();
    sup.add_actor("slow", move |_| Slow { door: slow_door }, [Side::Pong])?;
    sup.start().await?;
    let handle = sup.handle();

    sup.send(ping(true)).await?;
    door.arrivals(1).await;
    // The producer is now blocked publishing behind the slow consumer. A
    // blocked publisher is signalled to no one: poll the snapshot.
    let snapshot = until("the producer to block", || {
        let snapshot = handle.snapshot();
        let producer = snapshot.actor("producer").unwrap();
        let blocked = producer.doing.starts_with("blocked publishing");
        blocked.then_some(snapshot)
    })
    .await;
    assert!(snapshot.cycles.is_empty(), "{snapshot:?}");
    door.open();
    let report = sup.shutdown().await;
    assert!(report.is_clean(), "{report}");
    assert!(report.cycles.is_empty(), "{report}");
    assert_eq!(report.actor("slow").unwrap().handled, 20, "{report}");
    assert!(
        report.actors.iter().all(|a| a.over_capacity == 0),
        "{report}"
    );
    Ok(())
}
