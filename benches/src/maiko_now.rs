//! The workloads on this workspace's `maiko`.

maiko_workloads!(maiko);

use maiko::{ActorOutcome, RestartPolicy, ShutdownGroup, SupervisorHandle};

use crate::{DrainMode, Fragile, LANES, RESTART_WINDOW, Restarts};

/// Broker names, by index: lane `i` of [`Lane<B>`] is routed by broker
/// `i % B`, so with one broker every lane is on `"default"`.
const BROKER_NAMES: [&str; 4] = ["default", "b1", "b2", "b3"];

/// The topic of the broker workload: a lane (the topic byte of a
/// [`Payload`]), routed by one of `BROKERS` brokers.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
struct Lane<const BROKERS: u8>(u8);

impl<const BROKERS: u8> Topic<Payload<32>> for Lane<BROKERS> {
    fn from_event(event: &Payload<32>) -> Self {
        Lane(event.topic())
    }

    fn broker(&self) -> &'static str {
        BROKER_NAMES[usize::from(self.0 % BROKERS)]
    }
}

/// One producer actor publishing `n` events of 32 bytes from `step()`,
/// cycling over [`LANES`] lanes, to one subscriber per lane; the lanes are
/// spread over `brokers` brokers of the one supervisor (1, 2 or 4): lane
/// `i` is routed by broker `i % brokers`. `n` must be a multiple of
/// [`LANES`].
///
/// # Panics
///
/// On another broker count, an `n` that is not a multiple of the lanes, or
/// if the stop is not clean, a subscriber did not handle exactly the
/// events of its lane, or the supervisor did not run `brokers` brokers.
pub async fn lanes(n: u64, brokers: u8) -> Duration {
    match brokers {
        1 => lanes_over::<1>(n).await,
        2 => lanes_over::<2>(n).await,
        4 => lanes_over::<4>(n).await,
        other => panic!("{other} brokers; the broker workload has 1, 2 or 4"),
    }
}

async fn lanes_over<const BROKERS: u8>(n: u64) -> Duration {
    let lanes = u64::from(LANES);
    assert_eq!(n % lanes, 0, "n must be a multiple of the lanes");
    let mut setup = Setup::<32, Lane<BROKERS>>::new(usize::from(LANES));
    setup.producer("producer", n, LANES);
    let subscribers: Vec<(String, u64)> = (0..LANES)
        .map(|lane| (format!("lane-{lane}"), n / lanes))
        .collect();
    for (lane, (name, expect)) in (0..LANES).zip(&subscribers) {
        setup.subscriber(name, Lane(lane), *expect);
    }
    let (elapsed, report) = setup.run_exact(&subscribers).await;
    let brokers: Vec<&str> = report.brokers.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(brokers.len(), usize::from(BROKERS), "brokers {brokers:?}");
    elapsed
}

impl<const N: usize, T: Topic<Payload<N>>> Setup<N, T> {
    /// As `run`, and then check from the shutdown report (not measured)
    /// that the stop was clean and each actor `(name, n)` of `handled`
    /// handled exactly `n` events: none lost, none misrouted. Returns the
    /// measured span and the report.
    async fn run_exact(self, handled: &[(String, u64)]) -> (Duration, maiko::ShutdownReport) {
        let Self {
            mut sup,
            start,
            go,
            all_started,
            end,
            ..
        } = self;
        sup.start().await.expect("start");
        finished(all_started).await;
        go.fire().await;
        let end = finished(end).await;
        let report = sup.shutdown().await;
        assert_handled(&report, handled);
        (end - start.get(), report)
    }
}

/// Panics unless `report` is clean and each actor `(name, n)` of `handled`
/// handled exactly `n` events.
fn assert_handled(report: &maiko::ShutdownReport, handled: &[(String, u64)]) {
    assert!(report.is_clean(), "{report}");
    for (name, n) in handled {
        let actor = report
            .actor(name)
            .unwrap_or_else(|| panic!("no actor {name} in the report"));
        assert_eq!(actor.handled, *n, "events handled by {name}");
    }
}

/// The transform of the bridged pipeline: forwards every event, moved to
/// topic `to`, into another supervisor of its group.
struct Bridge {
    ctx: Context<Payload<32>>,
    into: SupervisorHandle<Payload<32>>,
    to: u8,
    started: Arc<Done>,
}

impl Actor for Bridge {
    type Event = Payload<32>;

    async fn on_start(&mut self) -> maiko::Result {
        self.started.finished();
        Ok(())
    }

    async fn handle_event(&mut self, envelope: &Envelope<Payload<32>>) -> maiko::Result {
        let event = envelope.event().with_topic(self.to);
        self.ctx.forward(&self.into, event).await?;
        Ok(())
    }
}

/// The 3-stage [`pipeline`] across two supervisors of one
/// [`ShutdownGroup`]: source (step) -> transform in the first, which
/// forwards every event with `ctx.forward` into the second, where the sink
/// subscribes. The group is started before and stopped after the measured
/// span, as one.
///
/// # Panics
///
/// If the group's stop is not clean, or the transform or the sink did not
/// handle exactly `n` events.
pub async fn bridged_pipeline(n: u64) -> Duration {
    // As in `pipeline`: the transform counts as a consumer for the start
    // signal and reports "done" at once, so the end is the sink's.
    let mut setup = Setup::<32>::new(2);
    setup.producer("source", n, 1);

    let mut downstream = Sup::<32>::new(config(CAPACITY));
    let tally = Tally::new(n, &setup.done);
    let started = Arc::clone(&setup.started);
    downstream
        .add_actor(
            "sink",
            move |_| Counter::<32> { tally, started },
            [ByteTopic(1)],
        )
        .expect("add sink");

    let into = downstream.handle();
    let started = Arc::clone(&setup.started);
    setup
        .sup
        .add_actor(
            "transform",
            move |ctx| Bridge {
                ctx,
                into,
                to: 1,
                started,
            },
            [ByteTopic(0)],
        )
        .expect("add transform");
    setup.done.finished();

    let Setup {
        sup,
        start,
        go,
        all_started,
        end,
        ..
    } = setup;
    // The sink's side is added last: it closes after the side that
    // forwards into it.
    let mut group = ShutdownGroup::new();
    group.add("upstream", sup);
    group.add("downstream", downstream);
    group.start().await.expect("start the group");
    finished(all_started).await;
    go.fire().await;
    let end = finished(end).await;
    let report = group.shutdown().await;
    assert!(report.is_clean(), "{report}");
    let member = |name| report.member(name).expect("member report");
    assert_handled(member("upstream"), &[("transform".into(), n)]);
    assert_handled(member("downstream"), &[("sink".into(), n)]);
    end - start.get()
}

/// `producers` producer tasks (spawned tasks, not actors) to one
/// subscriber, `n` events of 32 bytes in all: each task publishes its
/// [`share`](crate::share) with `send().await` through its own clone of
/// the supervisor's [`SupervisorHandle`], so every publish passes the one
/// gate word of the supervisor from one of `producers` concurrent tasks.
/// Measured from the first publish until the subscriber has handled the
/// `n`-th event; the tasks are joined and the supervisor shut down after
/// the span.
///
/// # Panics
///
/// If `producers` is 0, a publish is refused, or the stop is not clean or
/// the subscriber did not handle exactly `n` events.
pub async fn producers(n: u64, producers: usize) -> Duration {
    assert!(producers > 0, "at least one producer");
    let mut setup = Setup::<32>::new(1);
    setup.counter("subscriber", 0, n);
    let Setup {
        mut sup,
        start,
        go,
        ready,
        all_started,
        end,
        ..
    } = setup;
    sup.start().await.expect("start");
    finished(all_started).await;
    let handle = sup.handle();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..producers {
        let handle = handle.clone();
        let ready = ready.clone();
        let start = Arc::clone(&start);
        let share = crate::share(n, producers, i);
        tasks.spawn(async move {
            ready.wait().await;
            start.mark();
            for seq in 0..share {
                handle
                    .send(Payload::new(0, seq))
                    .await
                    .expect("accepted while running");
            }
        });
    }
    drop(handle);
    go.fire().await;
    let end = finished(end).await;
    while let Some(task) = tasks.join_next().await {
        task.expect("producer task");
    }
    let report = sup.shutdown().await;
    assert_handled(&report, &[("subscriber".into(), n)]);
    end - start.get()
}

/// `pending` events wait behind a subscriber stuck in its first handler;
/// then the subscriber is released and either the system keeps running
/// (measured until the last event is handled) or `stop()` is called at the
/// same instant (measured until it returns).
///
/// # Panics
///
/// If `stop()` returned before every pending event was handled.
pub async fn drain(pending: u64, mode: DrainMode) -> Duration {
    let (sup, gate, mut end) = stuck(pending).await;
    fill(&sup, pending).await;
    let t0 = Instant::now();
    gate.notify_one();
    match mode {
        DrainMode::Running => {
            let end = finished(end).await;
            sup.stop().await.expect("clean stop");
            end - t0
        }
        DrainMode::Stop => {
            sup.stop().await.expect("clean stop");
            let elapsed = t0.elapsed();
            end.try_recv()
                .expect("stop() returned before the backlog was handled");
            elapsed
        }
    }
}

/// [`drain`] in [`DrainMode::Stop`], stopped through a handle, for the
/// profile binary: how long the stop request took, how long until the
/// report, and the report's own total and phase times.
pub async fn drain_phases(pending: u64) -> (Duration, Duration, maiko::ShutdownReport) {
    let (sup, gate, _end) = stuck(pending).await;
    fill(&sup, pending).await;
    let handle = sup.handle();
    let t0 = Instant::now();
    gate.notify_one();
    handle.request_stop();
    let t1 = Instant::now();
    let report = handle.stopped().await;
    let t2 = Instant::now();
    drop(sup);
    (t1 - t0, t2 - t1, report)
}

/// The actor of the restart workload: its handler fails on the poison event
/// (the default `on_error` propagates the error, which fails the actor).
struct FragileActor(Fragile);

impl Actor for FragileActor {
    type Event = Payload<32>;

    async fn handle_event(&mut self, envelope: &Envelope<Payload<32>>) -> maiko::Result {
        self.0
            .handle(envelope.event())
            .map_err(maiko::Error::external)
    }
}

/// The cost of a restart: one actor registered with `add_restartable`
/// (a budget of `u32::MAX` restarts within [`RESTART_WINDOW`], so it never
/// runs out; no backoff; `retry_event(0)`, so the failed event is not
/// handed to the new instance). Measured over `restarts` restarts: send the
/// poison event, then a normal event, and wait until the instance built
/// after the failure has handled the normal one.
///
/// # Panics
///
/// If a normal event was handled by another instance than the one built
/// after the poison before it, or the shutdown report does not show the
/// actor completed after `restarts` restarts.
pub async fn restart(restarts: u64) -> Duration {
    let shared = Restarts::new();
    let mut sup = Sup::<32>::new(config(CAPACITY));
    let policy = RestartPolicy::on_failure()
        .max_restarts(u32::MAX)
        .within(RESTART_WINDOW)
        .retry_event(0);
    let for_factory = Arc::clone(&shared);
    sup.add_restartable(
        "fragile",
        move |_| FragileActor(Fragile::new(&for_factory)),
        [ByteTopic(0)],
        policy,
    )
    .expect("add the restartable actor");
    sup.start().await.expect("start");
    // The first instance is up once it has handled an event (not measured).
    sup.send(Payload::new(0, 0)).await.expect("send");
    shared.handled_by(0).await;
    let t0 = Instant::now();
    for instance in 1..=restarts {
        sup.send(Payload::poison()).await.expect("send");
        sup.send(Payload::new(0, instance)).await.expect("send");
        shared.handled_by(instance).await;
    }
    let elapsed = t0.elapsed();
    let report = sup.shutdown().await;
    let actor = report.actor("fragile").expect("the actor's report");
    assert_eq!(actor.outcome, ActorOutcome::Completed, "{report}");
    assert_eq!(u64::from(actor.restarts), restarts, "{report}");
    assert_eq!(shared.built(), restarts + 1, "instances built");
    elapsed
}

/// [`one_to_one`] with 32-byte events and the subscriber registered with
/// `add_restartable` (`RestartPolicy::on_failure()`): it never fails, so
/// this is what a restart policy costs an actor that does not use it.
pub async fn one_to_one_restartable(n: u64) -> Duration {
    let mut setup = Setup::<32>::new(1);
    setup.producer("producer", n, 1);
    let mut tally = Some(Tally::new(n, &setup.done));
    let started = Arc::clone(&setup.started);
    setup
        .sup
        .add_restartable(
            "subscriber",
            move |_| Counter::<32> {
                tally: tally
                    .take()
                    .expect("built once: the subscriber never fails"),
                started: Arc::clone(&started),
            },
            [ByteTopic(0)],
            RestartPolicy::on_failure(),
        )
        .expect("add the restartable subscriber");
    setup.run().await
}

/// A monitor that implements none of [`maiko::monitoring::Monitor`]'s
/// methods: registering it makes the runtime produce its records (and its
/// dispatcher task take them), which is the cost the monitored workloads
/// measure.
#[cfg(feature = "monitoring")]
#[derive(Debug)]
struct NoopMonitor;

#[cfg(feature = "monitoring")]
impl<const N: usize> maiko::monitoring::Monitor<Payload<N>, ByteTopic> for NoopMonitor {}

#[cfg(feature = "monitoring")]
impl<const N: usize> Setup<N> {
    /// Register a [`NoopMonitor`] (before the start, outside the measured
    /// span).
    async fn noop_monitor(&mut self) {
        self.sup.monitors().add(NoopMonitor).await;
    }
}

/// [`one_to_one`] with 32-byte events and a no-op monitor registered before
/// the start (feature `monitoring`).
#[cfg(feature = "monitoring")]
pub async fn one_to_one_monitored(n: u64) -> Duration {
    let mut setup = Setup::<32>::new(1);
    setup.producer("producer", n, 1);
    setup.counter("subscriber", 0, n);
    setup.noop_monitor().await;
    setup.run().await
}

/// [`fan_out`] to `subscribers` subscribers with a no-op monitor registered
/// before the start (feature `monitoring`).
#[cfg(feature = "monitoring")]
pub async fn fan_out_monitored(n: u64, subscribers: usize) -> Duration {
    let mut setup = Setup::<32>::new(subscribers);
    setup.producer("producer", n, 1);
    for i in 0..subscribers {
        setup.counter(&format!("subscriber-{i}"), 0, n);
    }
    setup.noop_monitor().await;
    setup.run().await
}

/// The long-lived subscriber of the churn workload: counts what it
/// handles.
struct Steady(Arc<std::sync::atomic::AtomicU64>);

impl Actor for Steady {
    type Event = Payload<32>;

    async fn handle_event(&mut self, _envelope: &Envelope<Payload<32>>) -> maiko::Result {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

/// An actor of one churn cycle: says when it has handled its event.
struct Transient(Arc<tokio::sync::Notify>);

impl Actor for Transient {
    type Event = Payload<32>;

    async fn handle_event(&mut self, _envelope: &Envelope<Payload<32>>) -> maiko::Result {
        self.0.notify_one();
        Ok(())
    }
}

/// Adding and stopping actors while the supervisor runs, for memory: a
/// started supervisor with one long-lived subscriber of the default topic;
/// each cycle `i` adds a fresh actor `a{i}` (subscribed to the default
/// topic) through a handle, publishes one event through the handle, waits
/// until the fresh actor has handled it, and stops the actor with
/// `stop_actor`. After cycle `samples[k]` (ascending), once the long-lived
/// subscriber has handled every event so far, reads `live_bytes` (a
/// counting allocator's live total); runs `samples.last()` cycles in all
/// and returns the readings, one per sample.
///
/// # Panics
///
/// On an error of `add_actor`, `send` or `stop_actor`, a cycle's actor
/// whose report does not show its one event handled, or a final report
/// that is not clean and balanced: the long-lived subscriber handled every
/// event, and the entries of the stopped actors (the last
/// `KEEP_STOPPED` each, older ones folded into one) sum to one event per
/// cycle.
pub async fn churn_bytes(samples: &[u64], live_bytes: fn() -> usize) -> Vec<usize> {
    use std::sync::atomic::{AtomicU64, Ordering};

    assert!(
        samples.windows(2).all(|w| w[0] < w[1]),
        "samples must be ascending"
    );
    let cycles = samples.last().copied().unwrap_or(0);
    let handled = Arc::new(AtomicU64::new(0));
    let mut sup = Supervisor::<Payload<32>>::new(config(CAPACITY));
    let steady = Arc::clone(&handled);
    sup.add_actor("steady", move |_| Steady(steady), [maiko::DefaultTopic])
        .expect("add the long-lived subscriber");
    sup.start().await.expect("start");
    let handle = sup.handle();
    let notify = Arc::new(tokio::sync::Notify::new());
    let mut readings = Vec::with_capacity(samples.len());
    let mut next = samples.iter().copied().peekable();
    for i in 1..=cycles {
        let for_actor = Arc::clone(&notify);
        let id = handle
            .add_actor(
                &format!("a{i}"),
                move |_| Transient(for_actor),
                [maiko::DefaultTopic],
            )
            .await
            .expect("add_actor");
        handle.send(Payload::new(0, i)).await.expect("send");
        notify.notified().await;
        let report = handle.stop_actor(&id).await.expect("stop_actor");
        assert_eq!(report.handled, 1, "{report:?}");
        assert!(report.is_balanced(), "{report:?}");
        if next.next_if_eq(&i).is_some() {
            // The long-lived subscriber's mailbox is empty at each reading.
            while handled.load(Ordering::Relaxed) < i {
                tokio::task::yield_now().await;
            }
            readings.push(live_bytes());
        }
    }
    drop(handle);
    let report = sup.shutdown().await;
    assert!(report.is_clean(), "{report}");
    assert!(report.actors.iter().all(|a| a.is_balanced()), "{report}");
    let steady = report.actor("steady").expect("the subscriber's report");
    assert_eq!(steady.handled, cycles, "{report}");
    let stopped: Vec<_> = report
        .actors
        .iter()
        .filter(|a| a.actor.as_str() != "steady")
        .collect();
    let kept = usize::try_from(cycles).map_or(KEEP_STOPPED, |c| c.min(KEEP_STOPPED));
    let folded = usize::from(cycles > KEEP_STOPPED as u64);
    assert_eq!(stopped.len(), kept + folded, "entries of stopped actors");
    assert_eq!(
        stopped.iter().map(|a| a.handled).sum::<u64>(),
        cycles,
        "{report}"
    );
    readings
}

/// How many actors stopped from outside keep a report entry of their own
/// (maiko's `KEEP_STOPPED`, which is not public).
const KEEP_STOPPED: usize = 1024;
