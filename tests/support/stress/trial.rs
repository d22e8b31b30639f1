//! Running one trial: the participants, the supervisor and its actors, the
//! sources, and the stop the parameters ask for.

use std::{
    future::Future,
    sync::{Arc, atomic::Ordering},
    task::Poll,
};

use maiko::*;
use tokio::task::JoinSet;

use super::{
    DriverStop, Lane, Msg, Params, Script, StopPlan,
    actors::{Reactor, Refused, Relay, Shared, Side, Sink, Stepper},
    all_lanes,
    check::check,
    tally::TrialOutcome,
};
use crate::support::poll_once;

/// Run one trial and check it. Call inside a timeout: a trial that does not
/// return has hung.
pub async fn run_trial(params: Arc<Params>) -> TrialOutcome {
    let mut rng = fastrand::Rng::with_seed(params.seed ^ 0x9e37_79b9_7f4a_7c15);
    let cast = Cast::of(&params);
    let shared = Arc::new(Shared::new(&params, cast.parts.len()));
    let mut sup = build_supervisor(&params, &cast, &shared, &mut rng);
    sup.start().await.expect("start");
    let handle = sup.handle();

    let mut externals = spawn_externals(&params, &cast, &handle, &shared, &mut rng);
    let yields = run_driver(&params, &sup, &shared, &mut rng).await;
    let (report, note) = stop_as_planned(&params, sup, &handle, &shared, yields, &mut rng).await;
    while let Some(joined) = externals.join_next().await {
        joined.expect("an external producer panicked");
    }

    check(&cast.parts, &shared, &report, note)
}

/// One participant of a trial: a publisher, a subscriber or both.
pub(super) struct Participant {
    pub(super) name: String,
    /// The lanes it handles, if it is a subscriber.
    pub(super) lanes: Option<Vec<Lane>>,
    /// Whether it is an actor (and so has an entry in the report).
    pub(super) actor: bool,
}

/// The participants of a trial, in id order (driver, externals, steppers,
/// reactors, relays, sinks), and the ids of each kind. The driver is 0.
struct Cast {
    parts: Vec<Participant>,
    externals: Vec<u16>,
    steppers: Vec<u16>,
    reactors: Vec<u16>,
    /// Per pipeline stage.
    relays: Vec<Vec<u16>>,
    sinks: Vec<u16>,
}

impl Cast {
    fn of(params: &Params) -> Self {
        let all = all_lanes(params.depth, params.reactors.len());
        let mut parts = vec![Participant {
            name: "driver".into(),
            lanes: None,
            actor: false,
        }];
        let mut add = |name: String, lanes: Option<Vec<Lane>>, actor: bool| {
            parts.push(Participant { name, lanes, actor });
            u16::try_from(parts.len() - 1).expect("few participants")
        };
        let externals: Vec<u16> = (0..params.external.len())
            .map(|i| add(format!("ext{i}"), None, false))
            .collect();
        let steppers: Vec<u16> = (0..params.steppers.len())
            .map(|i| add(format!("stepper{i}"), None, true))
            .collect();
        let reactors: Vec<u16> = (0..params.reactors.len())
            .map(|i| {
                let lane = Lane::Trigger(u8::try_from(i).expect("few reactors"));
                add(format!("reactor{i}"), Some(vec![lane]), true)
            })
            .collect();
        let relays: Vec<Vec<u16>> = (0u8..)
            .zip(&params.relays)
            .map(|(level, stage)| {
                (0..stage.len())
                    .map(|j| {
                        add(
                            format!("relay{level}.{j}"),
                            Some(vec![Lane::Data(level)]),
                            true,
                        )
                    })
                    .collect()
            })
            .collect();
        let sinks: Vec<u16> = params
            .sinks
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let lanes = if s.all { all.clone() } else { s.lanes.clone() };
                add(format!("sink{i}"), Some(lanes), true)
            })
            .collect();
        Self {
            parts,
            externals,
            steppers,
            reactors,
            relays,
            sinks,
        }
    }

    fn name(&self, id: u16) -> String {
        self.parts[usize::from(id)].name.clone()
    }
}

/// A supervisor with every actor of the trial registered, not started.
/// Each actor gets its own seed from `rng`, in registration order.
fn build_supervisor(
    params: &Params,
    cast: &Cast,
    shared: &Arc<Shared>,
    rng: &mut fastrand::Rng,
) -> Supervisor<Msg, Lane> {
    let config = SupervisorConfig::default()
        .with_broker_channel_capacity(params.broker_capacity)
        .with_strict_shutdown(params.strict);
    let mut sup = Supervisor::<Msg, Lane>::new(config);
    add_steppers(&mut sup, params, cast, shared, rng);
    add_reactors(&mut sup, params, cast, shared, rng);
    add_relays(&mut sup, params, cast, shared, rng);
    add_sinks(&mut sup, params, cast, shared, rng);
    sup
}

/// The actors publishing from `step()`; stepper 0 may stop the runtime.
fn add_steppers(
    sup: &mut Supervisor<Msg, Lane>,
    params: &Params,
    cast: &Cast,
    shared: &Arc<Shared>,
    rng: &mut fastrand::Rng,
) {
    for (i, (&id, spec)) in cast.steppers.iter().zip(&params.steppers).enumerate() {
        let stop_after_steps = match params.stop {
            StopPlan::FromStep { after_steps } if i == 0 => Some(after_steps),
            _ => None,
        };
        let (shared, seed) = (Arc::clone(shared), rng.u64(..));
        sup.build_actor(&cast.name(id), move |ctx| {
            Stepper::new(id, ctx, shared, seed, spec, stop_after_steps)
        })
        .channel_capacity(spec.actor.mailbox)
        .with_config(|c| c.with_max_events_per_tick(spec.actor.per_tick))
        .build()
        .expect("register a stepper");
    }
}

/// The actors answering reactor `i`'s `Trigger(i)` with a burst.
fn add_reactors(
    sup: &mut Supervisor<Msg, Lane>,
    params: &Params,
    cast: &Cast,
    shared: &Arc<Shared>,
    rng: &mut fastrand::Rng,
) {
    for (i, (&id, spec)) in cast.reactors.iter().zip(&params.reactors).enumerate() {
        let (shared, seed) = (Arc::clone(shared), rng.u64(..));
        sup.build_actor(&cast.name(id), move |ctx| {
            Reactor::new(id, ctx, shared, seed, spec)
        })
        .topics([Lane::Trigger(u8::try_from(i).expect("few reactors"))])
        .channel_capacity(spec.mailbox)
        .with_config(|c| c.with_max_events_per_tick(spec.per_tick))
        .build()
        .expect("register a reactor");
    }
}

/// The pipeline: the relays of stage `k` take `Data(k)`.
fn add_relays(
    sup: &mut Supervisor<Msg, Lane>,
    params: &Params,
    cast: &Cast,
    shared: &Arc<Shared>,
    rng: &mut fastrand::Rng,
) {
    for ((level, ids), specs) in (0u8..).zip(&cast.relays).zip(&params.relays) {
        for (&id, spec) in ids.iter().zip(specs) {
            let (shared, seed) = (Arc::clone(shared), rng.u64(..));
            sup.build_actor(&cast.name(id), move |ctx| {
                Relay::new(id, level, ctx, shared, seed, spec)
            })
            .topics([Lane::Data(level)])
            .channel_capacity(spec.mailbox)
            .with_config(|c| c.with_max_events_per_tick(spec.per_tick))
            .build()
            .expect("register a relay");
        }
    }
}

/// The recording subscribers; sink 0 may stop the runtime.
fn add_sinks(
    sup: &mut Supervisor<Msg, Lane>,
    params: &Params,
    cast: &Cast,
    shared: &Arc<Shared>,
    rng: &mut fastrand::Rng,
) {
    for (i, (&id, spec)) in cast.sinks.iter().zip(&params.sinks).enumerate() {
        let stop_after = match params.stop {
            StopPlan::FromHandler { after_handled } if i == 0 => Some(after_handled),
            _ => None,
        };
        let (shared, seed) = (Arc::clone(shared), rng.u64(..));
        let topics: Subscribe<Msg, Lane> = if spec.all {
            Subscribe::all()
        } else {
            Subscribe::to(spec.lanes.iter().copied())
        };
        sup.build_actor(&cast.name(id), move |ctx| {
            Sink::new(id, ctx, shared, seed, spec, stop_after)
        })
        .topics(topics)
        .channel_capacity(spec.actor.mailbox)
        .with_config(|c| c.with_max_events_per_tick(spec.actor.per_tick))
        .build()
        .expect("register a sink");
    }
}

/// Each external script from its own task, through a `SupervisorHandle`,
/// to its end or its first refusal.
fn spawn_externals(
    params: &Params,
    cast: &Cast,
    handle: &SupervisorHandle<Msg>,
    shared: &Arc<Shared>,
    rng: &mut fastrand::Rng,
) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    for (&id, script) in cast.externals.iter().zip(&params.external) {
        let (handle, shared, script, seed) = (
            handle.clone(),
            Arc::clone(shared),
            script.clone(),
            rng.u64(..),
        );
        tasks.spawn(async move {
            let mut rng = fastrand::Rng::with_seed(seed);
            run_script(
                id,
                &script,
                &shared,
                &mut rng,
                |_| false,
                |msg, _| {
                    let handle = handle.clone();
                    async move { handle.send(msg).await.map_err(Refused::from) }
                },
            )
            .await;
        });
    }
    tasks
}

/// The driver's own sends from the test task, through the supervisor,
/// until its stop condition (if it stops). Returns the yields it made.
async fn run_driver(
    params: &Params,
    sup: &Supervisor<Msg, Lane>,
    shared: &Shared,
    rng: &mut fastrand::Rng,
) -> u32 {
    let until = |yields: u32| match params.stop {
        StopPlan::AfterAccepted { accepted, .. } => {
            shared.sources_accepted.load(Ordering::SeqCst) >= accepted
        }
        StopPlan::AfterYields { yields: limit, .. } => yields >= limit,
        StopPlan::FromStep { .. } | StopPlan::FromHandler { .. } => false,
    };
    run_script(
        0,
        &params.driver,
        shared,
        rng,
        until,
        |msg, via_publish| async move {
            if via_publish {
                sup.publish(msg).await.map_err(Refused::from)
            } else {
                sup.send(msg).await.map_err(Refused::from)
            }
        },
    )
    .await
}

/// Stop as the plan says, once the driver has sent what it sends: the test
/// task at its threshold (the driver has made `yields` yields so far), or
/// an actor from inside while the test task waits in `join()`. The report,
/// and a note if `stop()` or `join()` failed.
async fn stop_as_planned(
    params: &Params,
    sup: Supervisor<Msg, Lane>,
    handle: &SupervisorHandle<Msg>,
    shared: &Arc<Shared>,
    mut yields: u32,
    rng: &mut fastrand::Rng,
) -> (ShutdownReport, Option<String>) {
    match params.stop {
        StopPlan::AfterAccepted { accepted, how } => {
            if shared.sources_accepted.load(Ordering::SeqCst) < accepted {
                shared.milestone_reached.notified().await;
            }
            stop_by(how, sup, handle, shared, rng.bool()).await
        }
        StopPlan::AfterYields { yields: limit, how } => {
            while yields < limit {
                tokio::task::yield_now().await;
                yields += 1;
            }
            stop_by(how, sup, handle, shared, rng.bool()).await
        }
        StopPlan::FromStep { .. } | StopPlan::FromHandler { .. } => {
            let note = sup
                .join()
                .await
                .err()
                .map(|e| format!("join() failed: {e}"));
            (handle.stopped().await, note)
        }
    }
}

/// Send a source's script from outside the actors through `send` (whose
/// second argument picks a method at random), until `until(yields so far)`
/// holds or a publish is refused. Returns the number of yields made.
async fn run_script<F, Fut>(
    id: u16,
    script: &Script,
    shared: &Shared,
    rng: &mut fastrand::Rng,
    mut until: impl FnMut(u32) -> bool,
    mut send: F,
) -> u32
where
    F: FnMut(Msg, bool) -> Fut,
    Fut: Future<Output = std::result::Result<(), Refused>>,
{
    let mut yields = 0;
    for (seq, entry) in (0u32..).zip(&script.sends) {
        if until(yields) {
            break;
        }
        for _ in 0..rng.u8(0..=script.max_yields) {
            tokio::task::yield_now().await;
            yields += 1;
        }
        if until(yields) {
            break;
        }
        let msg = match *entry {
            None => Msg {
                lane: Lane::Data(0),
                publisher: id,
                seq,
                burst: 0,
            },
            Some((reactor, burst)) => Msg {
                lane: Lane::Trigger(reactor),
                publisher: id,
                seq,
                burst,
            },
        };
        let late = shared.stop_requested();
        let result = send(msg.clone(), rng.bool()).await;
        if !shared.outcome(&msg, result, Side::Outside { late }, true) {
            break;
        }
    }
    yields
}

/// Stop the supervisor from the test task as `how` says; the report, and a
/// note if `stop()` failed.
async fn stop_by(
    how: DriverStop,
    sup: Supervisor<Msg, Lane>,
    handle: &SupervisorHandle<Msg>,
    shared: &Arc<Shared>,
    coin: bool,
) -> (ShutdownReport, Option<String>) {
    match how {
        DriverStop::Shutdown => {
            // The first poll makes the stop request; then it is marked.
            let mut shutdown = Box::pin(sup.shutdown());
            let first = poll_once(&mut shutdown).await;
            shared.mark_stop_requested();
            let report = match first {
                Poll::Ready(report) => report,
                Poll::Pending => shutdown.await,
            };
            (report, None)
        }
        DriverStop::Stop => {
            let mut stop = Box::pin(sup.stop());
            let first = poll_once(&mut stop).await;
            shared.mark_stop_requested();
            let result = match first {
                Poll::Ready(result) => result,
                Poll::Pending => stop.await,
            };
            let note = result.err().map(|e| format!("stop() failed: {e}"));
            (handle.stopped().await, note)
        }
        DriverStop::HandleRequestStop => {
            handle.request_stop();
            shared.mark_stop_requested();
            if coin {
                (sup.shutdown().await, None)
            } else {
                let report = handle.stopped().await;
                drop(sup);
                (report, None)
            }
        }
        DriverStop::TaskRequestStop => {
            let (stopper, marks) = (handle.clone(), Arc::clone(shared));
            tokio::spawn(async move {
                stopper.request_stop();
                marks.mark_stop_requested();
            })
            .await
            .expect("the stopping task panicked");
            let report = handle.stopped().await;
            drop(sup);
            (report, None)
        }
    }
}
