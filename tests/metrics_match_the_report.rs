//! With the feature `metrics`, every counter maiko records equals the
//! shutdown report's figure of the same run: the six counts of each actor
//! (`maiko_events_{routed,handled,dropped,lost,abandoned,interrupted}_total`,
//! labelled `supervisor` and `actor`), its restarts
//! (`maiko_actor_restarts_total`) and dead letters by `reason`
//! (`maiko_dead_letters_total`), and the refused publishes
//! (`maiko_publishes_refused_total`, labelled `supervisor`). The accepted
//! publishes (`maiko_events_published_total`, labelled `actor` and
//! `broker`) are the five jobs the supervisor sent. After the stop, every mailbox gauge
//! (`maiko_mailbox_depth`) and the in-flight gauge (`maiko_events_in_flight`)
//! read 0, `maiko_actors` counts every actor as `ended` and none in another
//! state, and `maiko_shutdown_phase_seconds` holds one sample per phase,
//! the report's. The two timings per actor
//! (`maiko_handle_duration_seconds`, `maiko_event_latency_seconds`) hold as
//! many samples as each other, at least one and at most one per handled
//! event, for the actors none of whose events became dead letters.
//!
//! The run has a drop, a failure and a refused publish:
//!
//! - `slow` has a one-slot mailbox on a `Drop` topic and holds `Job(0)` in
//!   its handler while `Job(1)` to `Job(4)` arrive: `Job(1)` fills the slot,
//!   the other three are dropped;
//! - `fragile` fails at `Job(2)`, and the supervisor keeps running
//!   (`with_stop_on_failure(false)`): the later jobs are lost;
//! - `slow` publishes from `on_shutdown`, after the gate has closed: refused.
//!
//! Run by the README's test command (`--all-features`); without the
//! feature the file is empty.

#![cfg(feature = "metrics")]

mod support;

use std::collections::HashMap;

use maiko::*;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use support::{
    Door, Log,
    overflow::{JOBS, Job, Lossy, Witness},
    within,
};
use tokio::sync::mpsc;

const SUPERVISOR: &str = "metered";

struct Slow {
    ctx: Context<Job>,
    door: Door,
    log: Log,
}

impl Actor for Slow {
    type Event = Job;

    async fn handle_event(&mut self, envelope: &Envelope<Job>) -> Result {
        if envelope.event().0 == 0 {
            self.door.pass().await;
        }
        Ok(())
    }

    async fn on_shutdown(&mut self) -> Result {
        let refused = self.ctx.send(Job(99)).await.is_err();
        self.log
            .push(format!("on_shutdown publish refused: {refused}"));
        Ok(())
    }
}

struct Fragile;

impl Actor for Fragile {
    type Event = Job;

    async fn handle_event(&mut self, envelope: &Envelope<Job>) -> Result {
        match envelope.event().0 {
            2 => Err(Error::external(std::io::Error::other(
                "fragile breaks on job 2",
            ))),
            _ => Ok(()),
        }
    }
}

/// A metric's name with its `actor` and `reason` (or `phase`, or `state`)
/// labels ("" if it has none).
type Name = (String, String, String);

/// Every metric of the snapshot, by name and labels.
#[derive(Default, Debug)]
struct Found {
    counters: HashMap<Name, u64>,
    gauges: HashMap<Name, f64>,
    histograms: HashMap<Name, Vec<f64>>,
}

fn metrics(snapshotter: &Snapshotter) -> Found {
    let mut found = Found::default();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        let label = |name: &str| {
            key.labels()
                .find(|label| label.key() == name)
                .map(|label| label.value().to_owned())
        };
        assert_eq!(
            label("supervisor").as_deref(),
            Some(SUPERVISOR),
            "every metric names its supervisor: {key:?}"
        );
        if key.name() == "maiko_events_published_total" {
            assert_eq!(
                label("broker").as_deref(),
                Some("default"),
                "the publishes name their broker: {key:?}"
            );
        }
        let actor = label("actor").unwrap_or_default();
        let detail = label("reason")
            .or_else(|| label("phase"))
            .or_else(|| label("state"))
            .unwrap_or_default();
        let name = (key.name().to_owned(), actor, detail);
        match value {
            DebugValue::Counter(n) => {
                found.counters.insert(name, n);
            }
            DebugValue::Gauge(v) => {
                found.gauges.insert(name, v.0);
            }
            DebugValue::Histogram(samples) => {
                found
                    .histograms
                    .insert(name, samples.iter().map(|s| s.0).collect());
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_counter_equals_the_report() -> Result {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder of this test binary");

    let (door, log) = (Door::new(), Log::new());
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let mut sup = Supervisor::<Job, Lossy>::new(
        SupervisorConfig::default()
            .with_name(SUPERVISOR)
            .with_stop_on_failure(false),
    );
    let (slow_door, slow_log) = (door.clone(), log.clone());
    sup.build_actor("slow", move |ctx| Slow {
        ctx,
        door: slow_door,
        log: slow_log,
    })
    .topics([Lossy])
    .channel_capacity(1)
    .build()?;
    sup.add_actor("fragile", |_| Fragile, [Lossy])?;
    // A registration refused after its factory ran is no actor: no gauge
    // of `maiko_actors` counts it.
    let (unused_tx, _unused) = mpsc::unbounded_channel();
    let refused = sup
        .build_actor("refused", move |_| Witness { seen: unused_tx })
        .topics([Lossy])
        .channel_capacity(0)
        .build();
    assert!(refused.is_err(), "a zero capacity is refused");
    sup.add_actor("witness", move |_| Witness { seen: seen_tx }, [Lossy])?;
    sup.start().await?;
    let handle = sup.handle();

    sup.send(Job(0)).await?;
    door.arrivals(1).await; // Job(0) is in slow's handler
    for n in 1..JOBS {
        sup.send(Job(n)).await?;
    }
    for n in 0..JOBS {
        assert_eq!(within("the witness", seen.recv()).await, Some(n));
    }
    door.open();
    let _ = sup.stop().await; // not Ok: fragile failed
    let report = handle.stopped().await;

    // The run did what it is for.
    let (slow, fragile) = (
        report.actor("slow").expect("slow"),
        report.actor("fragile").expect("fragile"),
    );
    assert_eq!(slow.dropped, 3, "{report}");
    assert!(
        matches!(fragile.outcome, ActorOutcome::Failed(_)) && fragile.lost > 0,
        "{report}"
    );
    assert_eq!(report.rejected, 1, "{report}");
    assert_eq!(log.entries(), ["on_shutdown publish refused: true"]);

    let found = metrics(&snapshotter);
    let key = |name: &str, actor: &str, detail: &str| {
        (name.to_owned(), actor.to_owned(), detail.to_owned())
    };
    let labelled = |name: &str, actor: &str, reason: &str| {
        found
            .counters
            .get(&key(name, actor, reason))
            .copied()
            .unwrap_or_else(|| {
                panic!("no counter {name}{{actor={actor:?}, reason={reason:?}}}: {found:?}")
            })
    };
    let gauge = |name: &str, actor: &str| {
        found
            .gauges
            .get(&key(name, actor, ""))
            .copied()
            .unwrap_or_else(|| panic!("no gauge {name}{{actor={actor:?}}}: {found:?}"))
    };
    let count = |name: &str, actor: &str| labelled(name, actor, "");
    let dead = |actor: &str, reason: &str| labelled("maiko_dead_letters_total", actor, reason);
    for actor in &report.actors {
        let name = actor.actor.as_str();
        let figures = [
            ("maiko_events_routed_total", actor.routed),
            ("maiko_events_handled_total", actor.handled),
            ("maiko_events_dropped_total", actor.dropped),
            ("maiko_events_lost_total", actor.lost),
            ("maiko_events_abandoned_total", actor.abandoned),
            ("maiko_events_interrupted_total", actor.interrupted),
        ];
        for (metric, figure) in figures {
            assert_eq!(count(metric, name), figure, "{metric} of {name}\n{report}");
        }
        assert_eq!(
            count("maiko_actor_restarts_total", name),
            u64::from(actor.restarts),
            "{report}"
        );
        // Every copy dropped, lost or abandoned is a dead letter.
        assert_eq!(dead(name, "dropped"), actor.dropped, "{name}\n{report}");
        assert_eq!(
            dead(name, "failed") + dead(name, "actor_failed"),
            actor.lost,
            "{name}\n{report}"
        );
        assert_eq!(dead(name, "abandoned"), actor.abandoned, "{name}\n{report}");
        // No actor here publishes an event that is accepted.
        assert_eq!(count("maiko_events_published_total", name), 0, "{name}");
        assert_eq!(gauge("maiko_mailbox_depth", name), 0.0, "{name}");
    }
    assert_eq!(gauge("maiko_events_in_flight", ""), 0.0);
    let actors = |state: &str| {
        found
            .gauges
            .get(&key("maiko_actors", "", state))
            .copied()
            .unwrap_or_else(|| panic!("no gauge maiko_actors{{state={state:?}}}: {found:?}"))
    };
    assert_eq!(actors("ended"), report.actors.len() as f64, "{found:?}");
    for state in ["starting", "running", "stopping", "failing"] {
        assert_eq!(actors(state), 0.0, "{state}: {found:?}");
    }
    let samples = |name: &str, actor: &str| {
        found
            .histograms
            .get(&key(name, actor, ""))
            .map_or(0, Vec::len) as u64
    };
    // The timings are sampled (the first batch, then one in eight): each
    // actor that handled an event has samples, never more than events, and
    // as many of one timing as of the other.
    for actor in ["slow", "witness"] {
        let handled = report.actor(actor).expect(actor).handled;
        let latencies = samples("maiko_event_latency_seconds", actor);
        assert!((1..=handled).contains(&latencies), "{latencies} of {actor}");
        assert_eq!(
            samples("maiko_handle_duration_seconds", actor),
            latencies,
            "{actor}"
        );
    }
    assert!(samples("maiko_event_latency_seconds", "fragile") <= fragile.handled);
    let phases = [
        ("draining", report.phases.draining),
        ("closing", report.phases.closing),
        ("on_shutdown", report.phases.on_shutdown),
    ];
    for (phase, time) in phases {
        let samples = found
            .histograms
            .get(&key("maiko_shutdown_phase_seconds", "", phase))
            .unwrap_or_else(|| panic!("no histogram of the phase {phase}: {found:?}"));
        assert_eq!(samples, &[time.as_secs_f64()], "{phase}\n{report}");
    }
    assert_eq!(
        count("maiko_events_published_total", "supervisor"),
        u64::from(JOBS)
    );
    assert_eq!(count("maiko_cycles_broken_total", ""), 0);
    assert_eq!(
        count("maiko_publishes_refused_total", ""),
        report.rejected,
        "{report}"
    );
    Ok(())
}
