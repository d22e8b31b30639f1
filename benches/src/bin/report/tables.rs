//! The workload tables: one per workload and size, a row per system.
//!
//! A table's key is `workload/size` and its title a function of the size,
//! both built from the same figures the workload runs with, so a size added
//! to [`SCALING_SIZES`], [`STOP_SIZES`] or [`PRODUCER_COUNTS`] is keyed and titled by itself.

use std::fmt::Display;

use maiko_benches::{
    BACKLOG, BROKER_COUNTS, LANES, PRODUCER_COUNTS, RESTARTS, actix_peer, kameo_peer, maiko_now,
    maiko_old, ractor_peer, tokio_base,
};

use crate::measure::{Bench, measure, measure_actix, measure_drain, print_ratios};

/// Events per throughput run.
pub const EVENTS: u64 = 20_000;
/// Events per scaling run (a multiple of the 100 topics).
pub const SCALING_EVENTS: u64 = 2_000;
const SCALING_SIZES: [usize; 4] = [10, 100, 1_000, 10_000];
const STOP_SIZES: [usize; 3] = [4, 100, 1_000];
/// Extra repeats for the microsecond-scale stops ...
pub const STOP_REPEAT_FACTOR: usize = 3;
/// ... those of fewer actors than this, and the drain.
const STOP_EXTRA_REPEATS_BELOW: usize = 1_000;

// Systems, as row names.
pub const MAIKO: &str = "maiko";
pub const MAIKO_RUNNING: &str = "maiko, running";
/// maiko with a no-op monitor registered (feature `monitoring`; rows of
/// `one_to_one/32B` and `fan_out/4`).
pub const MAIKO_MONITORED: &str = "maiko, no-op monitor registered";
pub const MAIKO_OLD: &str = "maiko 0.3.1";
/// `one_to_one/32B` with the subscriber registered by `add_restartable`.
pub const MAIKO_RESTARTABLE: &str = "maiko, restartable subscriber (never fails)";
pub const TOKIO_1: &str = "tokio mpsc, one hop";
pub const TOKIO_2: &str = "tokio mpsc, two hops (forwarder)";
/// `idle_stop`'s baseline.
pub const TOKIO_TASKS: &str = "tokio tasks, drop senders + join";
pub const TOKIO_RAW_4: &str = "tokio mpsc, 4 raw channels";
pub const KAMEO: &str = "kameo 0.22";
pub const RACTOR: &str = "ractor 0.16";
pub const ACTIX: &str = "actix 0.13";
const MAIKO_1_BROKER: &str = "maiko, 1 broker";
const MAIKO_BRIDGED: &str = "maiko, bridged (2 supervisors)";
const MAIKO_ONE_SUPERVISOR: &str = "maiko, one supervisor";
const TOKIO_PIPELINE_2: &str = "tokio mpsc, two hops";
const TOKIO_PIPELINE_4: &str = "tokio mpsc, four hops (forwarders)";

/// The row of the broker workload with `brokers` brokers.
fn maiko_brokers(brokers: u8) -> &'static str {
    match brokers {
        1 => MAIKO_1_BROKER,
        2 => "maiko, 2 brokers",
        4 => "maiko, 4 brokers",
        other => panic!("no row name for {other} brokers"),
    }
}

// Workloads, as the first part of a table key.
pub const ONE_TO_ONE: &str = "one_to_one";
pub const FAN_OUT: &str = "fan_out";
pub const FAN_IN: &str = "fan_in";
pub const PIPELINE: &str = "pipeline";
pub const IDLE_STOP: &str = "idle_stop";
pub const DRAIN: &str = "drain";
const SCALING: &str = "scaling";
const LANES_KEY: &str = "lanes";
const BRIDGED_PIPELINE: &str = "bridged_pipeline";
const RESTART: &str = "restart";
const PRODUCERS: &str = "producers";

/// A table's key: `workload/size`.
pub fn key(workload: &str, size: impl Display) -> String {
    format!("{workload}/{size}")
}

/// An event size in a table key: `32B`, `1KiB`.
pub fn event_size_key(bytes: usize) -> String {
    if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{}KiB", bytes / 1024)
    } else {
        format!("{bytes}B")
    }
}

/// An event size in a title: `32-byte`, `1 KiB`.
fn event_size_title(bytes: usize) -> String {
    if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes}-byte")
    }
}

fn idle_stop_title(actors: usize) -> String {
    format!("Stop latency of an idle system of {actors} actors")
}

fn scaling_title(subscribers: usize) -> String {
    format!("Scaling: {subscribers} subscribers over 100 topics")
}

fn producers_title(producers: usize) -> String {
    let tasks = if producers == 1 { "task" } else { "tasks" };
    format!(
        "Producers: {producers} producer {tasks} publishing through handles to one subscriber, 32 B"
    )
}

/// Whether the stop of `actors` idle actors is measured
/// [`STOP_REPEAT_FACTOR`] times as often.
fn stop_has_extra_repeats(actors: usize) -> bool {
    actors < STOP_EXTRA_REPEATS_BELOW
}

/// The stop sizes measured [`STOP_REPEAT_FACTOR`] times as often.
pub fn stop_sizes_with_extra_repeats() -> impl Iterator<Item = usize> {
    STOP_SIZES
        .into_iter()
        .filter(|&actors| stop_has_extra_repeats(actors))
}

/// One system's figures in one workload: nanoseconds per unit, per runtime.
pub struct Row {
    pub system: &'static str,
    pub ns: [Option<f64>; 2],
}

/// What the ratio columns of a table show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ratios {
    /// Row `row`'s figure divided by each other row's, under `header`: the
    /// "maiko ÷" column of most tables.
    Of {
        row: &'static str,
        header: &'static str,
    },
    /// Each other row's figure divided by row `base`'s, under `header`.
    Over {
        base: &'static str,
        header: &'static str,
    },
}

impl Ratios {
    /// maiko's figure divided by each other row's.
    pub const MAIKO: Self = Self::Of {
        row: MAIKO,
        header: "maiko ÷",
    };

    /// The header of the ratio columns.
    pub fn header(self) -> &'static str {
        match self {
            Self::Of { header, .. } | Self::Over { header, .. } => header,
        }
    }

    /// The row the others are compared with (its ratio cells are empty).
    pub fn reference(self) -> &'static str {
        match self {
            Self::Of { row, .. } => row,
            Self::Over { base, .. } => base,
        }
    }
}

/// One workload: its rows, the first of which is maiko (or, for the
/// workloads only this maiko expresses, one of its shapes).
pub struct Table {
    pub key: String,
    pub title: String,
    pub unit: &'static str,
    pub note: &'static str,
    pub ratios: Ratios,
    pub rows: Vec<Row>,
}

impl Table {
    fn new(key: String, title: String, unit: &'static str, note: &'static str) -> Self {
        Self {
            key,
            title,
            unit,
            note,
            ratios: Ratios::MAIKO,
            rows: Vec::new(),
        }
    }

    /// The same table with other ratio columns.
    fn with_ratios(mut self, ratios: Ratios) -> Self {
        self.ratios = ratios;
        self
    }

    pub fn get(&self, system: &str, flavor: usize) -> Option<f64> {
        self.rows
            .iter()
            .find(|row| row.system == system)
            .and_then(|row| row.ns[flavor])
    }

    /// maiko's figure divided by `system`'s.
    pub fn ratio(&self, system: &str, flavor: usize) -> Option<f64> {
        Some(self.get(MAIKO, flavor)? / self.get(system, flavor)?)
    }

    /// What registering a no-op monitor costs on `flavor`: the
    /// [`MAIKO_MONITORED`] figure minus maiko's, and divided by it; `None`
    /// in a table without that row.
    pub fn monitor_cost(&self, flavor: usize) -> Option<(f64, f64)> {
        let (with, without) = (self.get(MAIKO_MONITORED, flavor)?, self.get(MAIKO, flavor)?);
        Some((with - without, with / without))
    }

    /// The ratio shown in `system`'s row, as [`Self::ratios`] says; `None`
    /// in the reference row or when a figure is missing.
    pub fn shown_ratio(&self, system: &str, flavor: usize) -> Option<f64> {
        if system == self.ratios.reference() {
            return None;
        }
        let figure = self.get(system, flavor)?;
        match self.ratios {
            Ratios::Of { row, .. } => Some(self.get(row, flavor)? / figure),
            Ratios::Over { base, .. } => Some(figure / self.get(base, flavor)?),
        }
    }
}

/// Every table, in the order of the report.
pub fn all(bench: &Bench) -> Vec<Table> {
    let mut tables = throughput(bench);
    tables.extend(topology(bench));
    tables.extend(stops(bench));
    tables.push(restart(bench));
    tables.extend(scaling(bench));
    tables.extend(producers(bench));
    tables
}

fn one_to_one<const N: usize>(bench: &Bench) -> Table {
    let r = bench.repeats;
    let mut t = Table::new(
        key(ONE_TO_ONE, event_size_key(N)),
        format!(
            "One producer to one subscriber, {} events",
            event_size_title(N)
        ),
        "ns/event",
        "",
    );
    measure(bench, &mut t, MAIKO, EVENTS, r, || {
        maiko_now::one_to_one::<N>(EVENTS)
    });
    if N == 32 {
        measure(bench, &mut t, MAIKO_RESTARTABLE, EVENTS, r, || {
            maiko_now::one_to_one_restartable(EVENTS)
        });
    }
    #[cfg(feature = "monitoring")]
    if N == 32 {
        measure(bench, &mut t, MAIKO_MONITORED, EVENTS, r, || {
            maiko_now::one_to_one_monitored(EVENTS)
        });
    }
    measure(bench, &mut t, TOKIO_1, EVENTS, r, || {
        tokio_base::one_hop::<N>(EVENTS)
    });
    measure(bench, &mut t, TOKIO_2, EVENTS, r, || {
        tokio_base::two_hops::<N>(EVENTS)
    });
    measure(bench, &mut t, MAIKO_OLD, EVENTS, r, || {
        maiko_old::one_to_one::<N>(EVENTS)
    });
    measure(bench, &mut t, KAMEO, EVENTS, r, || {
        kameo_peer::one_to_one::<N>(EVENTS)
    });
    measure(bench, &mut t, RACTOR, EVENTS, r, || {
        ractor_peer::one_to_one::<N>(EVENTS)
    });
    measure_actix(bench, &mut t, EVENTS, r, |s| {
        actix_peer::one_to_one::<N>(s, EVENTS)
    });
    t
}

fn throughput(bench: &Bench) -> Vec<Table> {
    let r = bench.repeats;
    let mut tables = vec![one_to_one::<32>(bench), one_to_one::<1024>(bench)];

    let mut t = Table::new(
        key(FAN_OUT, 4),
        "Fan-out: one producer to 4 subscribers of one topic, 32 B".into(),
        "ns/event",
        "Per published event (each is handled 4 times). Peers send each event to the 4 actors.",
    );
    measure(bench, &mut t, MAIKO, EVENTS, r, || {
        maiko_now::fan_out(EVENTS, 4)
    });
    #[cfg(feature = "monitoring")]
    measure(bench, &mut t, MAIKO_MONITORED, EVENTS, r, || {
        maiko_now::fan_out_monitored(EVENTS, 4)
    });
    measure(bench, &mut t, TOKIO_RAW_4, EVENTS, r, || {
        tokio_base::fan_out(EVENTS, 4)
    });
    measure(bench, &mut t, MAIKO_OLD, EVENTS, r, || {
        maiko_old::fan_out(EVENTS, 4)
    });
    measure(bench, &mut t, KAMEO, EVENTS, r, || {
        kameo_peer::fan_out(EVENTS, 4)
    });
    measure(bench, &mut t, RACTOR, EVENTS, r, || {
        ractor_peer::fan_out(EVENTS, 4)
    });
    measure_actix(bench, &mut t, EVENTS, r, |s| {
        actix_peer::fan_out(s, EVENTS, 4)
    });
    tables.push(t);

    let mut t = Table::new(
        key(FAN_IN, 4),
        "Fan-in: 4 producers to one subscriber, 32 B".into(),
        "ns/event",
        "",
    );
    measure(bench, &mut t, MAIKO, EVENTS, r, || {
        maiko_now::fan_in(EVENTS, 4)
    });
    measure(bench, &mut t, TOKIO_1, EVENTS, r, || {
        tokio_base::fan_in(EVENTS, 4, false)
    });
    measure(bench, &mut t, TOKIO_2, EVENTS, r, || {
        tokio_base::fan_in(EVENTS, 4, true)
    });
    measure(bench, &mut t, MAIKO_OLD, EVENTS, r, || {
        maiko_old::fan_in(EVENTS, 4)
    });
    measure(bench, &mut t, KAMEO, EVENTS, r, || {
        kameo_peer::fan_in(EVENTS, 4)
    });
    measure(bench, &mut t, RACTOR, EVENTS, r, || {
        ractor_peer::fan_in(EVENTS, 4)
    });
    tables.push(t);

    let mut t = Table::new(
        key(PIPELINE, 3),
        "Pipeline: source -> transform -> sink, 32 B".into(),
        "ns/event",
        "The transform republishes every event from its handler. tokio: two hops \
         (task to task), or four (a forwarder task between stages, the brokered shape).",
    );
    measure(bench, &mut t, MAIKO, EVENTS, r, || {
        maiko_now::pipeline(EVENTS)
    });
    measure(bench, &mut t, TOKIO_PIPELINE_2, EVENTS, r, || {
        tokio_base::pipeline(EVENTS, false)
    });
    measure(bench, &mut t, TOKIO_PIPELINE_4, EVENTS, r, || {
        tokio_base::pipeline(EVENTS, true)
    });
    measure(bench, &mut t, MAIKO_OLD, EVENTS, r, || {
        maiko_old::pipeline(EVENTS)
    });
    measure(bench, &mut t, KAMEO, EVENTS, r, || {
        kameo_peer::pipeline(EVENTS)
    });
    measure(bench, &mut t, RACTOR, EVENTS, r, || {
        ractor_peer::pipeline(EVENTS)
    });
    tables.push(t);
    tables
}

/// The workloads of this maiko's topology features, against its own
/// simpler shape and a plain-tokio baseline: several brokers in one
/// supervisor, and two supervisors bridged in a `ShutdownGroup`.
fn topology(bench: &Bench) -> Vec<Table> {
    let r = bench.repeats;
    // The broker workload's events are a multiple of its lanes.
    let lane_events = EVENTS - EVENTS % u64::from(LANES);

    let mut t = Table::new(
        key(LANES_KEY, LANES),
        format!(
            "Brokers: one producer to {LANES} subscribers on {LANES} lanes, the lanes over \
             {} brokers, 32 B",
            and_or(&BROKER_COUNTS)
        ),
        "ns/event",
        "Per published event (each is handled once, by the subscriber of its lane). One \
         supervisor whose topic names a broker per lane: lane i is routed by broker i mod \
         the broker count, so with 1 broker every lane is on the default broker (the shape \
         of every other table) and with 4 each lane has its own stage-1 channel from the \
         producer and its own routing loop. The column \"÷ 1 broker\" is that row's figure \
         divided by the 1-broker figure: above 1, what the extra brokers cost. On a machine \
         of few cores extra brokers mostly add routing tasks to schedule; what they buy is \
         isolation (a subscriber holding up one broker never delays another's topics), not \
         speed. tokio: one producer task sending each event into the channel of its lane's \
         consumer task (one hop, no broker).",
    )
    .with_ratios(Ratios::Over {
        base: MAIKO_1_BROKER,
        header: "÷ 1 broker",
    });
    for brokers in BROKER_COUNTS {
        measure(
            bench,
            &mut t,
            maiko_brokers(brokers),
            lane_events,
            r,
            || maiko_now::lanes(lane_events, brokers),
        );
    }
    measure(
        bench,
        &mut t,
        "tokio mpsc, routed by the producer",
        lane_events,
        r,
        || tokio_base::lanes(lane_events),
    );
    let mut tables = vec![t];

    let mut t = Table::new(
        key(BRIDGED_PIPELINE, 3),
        "Bridged pipeline: source -> transform -> sink across two supervisors, 32 B".into(),
        "ns/event",
        "The transform forwards every event with `ctx.forward` into a second supervisor, \
         which holds the sink; the two supervisors are one `ShutdownGroup`, started before \
         and stopped after the measured span. The column \"bridged ÷\" is the bridged \
         figure divided by that row's: against one supervisor (the `pipeline/3` workload), \
         what crossing into another supervisor costs. Both maiko shapes take four hops \
         (source, broker, transform, broker, sink); tokio as in `pipeline/3`: two hops, or \
         four (a forwarder task between stages).",
    )
    .with_ratios(Ratios::Of {
        row: MAIKO_BRIDGED,
        header: "bridged ÷",
    });
    measure(bench, &mut t, MAIKO_BRIDGED, EVENTS, r, || {
        maiko_now::bridged_pipeline(EVENTS)
    });
    measure(bench, &mut t, MAIKO_ONE_SUPERVISOR, EVENTS, r, || {
        maiko_now::pipeline(EVENTS)
    });
    measure(bench, &mut t, TOKIO_PIPELINE_2, EVENTS, r, || {
        tokio_base::pipeline(EVENTS, false)
    });
    measure(bench, &mut t, TOKIO_PIPELINE_4, EVENTS, r, || {
        tokio_base::pipeline(EVENTS, true)
    });
    tables.push(t);
    tables
}

/// `1`, `1 or 2`, `1, 2 or 4`.
fn and_or(counts: &[u8]) -> String {
    match counts {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(u8::to_string).collect();
            format!("{} or {last}", init.join(", "))
        }
    }
}

fn stops(bench: &Bench) -> Vec<Table> {
    let mut tables = Vec::new();
    for actors in STOP_SIZES {
        let repeats = if stop_has_extra_repeats(actors) {
            bench.repeats * STOP_REPEAT_FACTOR
        } else {
            bench.repeats
        };
        let mut t = Table::new(
            key(IDLE_STOP, actors),
            idle_stop_title(actors),
            "ns/stop",
            "From the stop call until every task has ended. tokio: drop the senders of \
             idle tasks and join them. kameo: `stop_gracefully` then `wait_for_shutdown` \
             on each actor. ractor: `stop(None)` on each, then join.",
        );
        measure(bench, &mut t, MAIKO, 1, repeats, || {
            maiko_now::idle_stop(actors)
        });
        measure(bench, &mut t, TOKIO_TASKS, 1, repeats, || {
            tokio_base::idle_stop(actors)
        });
        measure(bench, &mut t, MAIKO_OLD, 1, repeats, || {
            maiko_old::idle_stop(actors)
        });
        measure(bench, &mut t, KAMEO, 1, repeats, || {
            kameo_peer::idle_stop(actors)
        });
        measure(bench, &mut t, RACTOR, 1, repeats, || {
            ractor_peer::idle_stop(actors)
        });
        tables.push(t);
    }

    let mut t = Table::new(
        key(DRAIN, BACKLOG),
        format!("Drain: {BACKLOG} events pending behind a stuck subscriber"),
        "ns/event",
        "Running: released, measured until the last event is handled. Stop: released and \
         `stop()` called at once, measured until it returns (every event handled). \
         maiko 0.3.1 cannot express it: its `stop()` drops pending events.",
    );
    let r = bench.repeats * STOP_REPEAT_FACTOR;
    let names = [MAIKO, MAIKO_RUNNING];
    measure_drain(bench, &mut t, names, r, |mode| {
        maiko_now::drain(BACKLOG, mode)
    });
    let names = ["tokio, close + join", "tokio, running"];
    measure_drain(bench, &mut t, names, r, |mode| {
        tokio_base::drain(BACKLOG, mode)
    });
    let names = ["kameo 0.22, stop_gracefully", "kameo 0.22, running"];
    measure_drain(bench, &mut t, names, r, |mode| {
        kameo_peer::drain(BACKLOG, mode)
    });
    tables.push(t);
    tables
}

/// The cost of one restart: maiko's `add_restartable` against kameo's
/// supervised restart and a tokio task rebuilding its state in place.
fn restart(bench: &Bench) -> Table {
    let r = bench.repeats;
    let mut t = Table::new(
        key(RESTART, RESTARTS),
        format!("Restart: one actor failing and rebuilt, {RESTARTS} restarts"),
        "ns/restart",
        "Per restart: send a poison event, which makes the handler fail, then a normal \
         event, and wait until the new instance has handled the normal one (the failure, \
         the rebuild and the first event handled). maiko: `add_restartable` with \
         `RestartPolicy::on_failure().max_restarts(u32::MAX)`, no backoff, `retry_event(0)`; \
         the handler returns an error that the default `on_error` propagates. kameo: a \
         child spawned with `supervise` under a parent actor, `RestartPolicy::Transient`, \
         `restart_limit(u32::MAX, …)`, the handler's `Err` reply failing it through \
         `on_panic`. Both keep the mailbox across the restart. tokio: one task that drops \
         its state and builds a new one in place, on the same channel, the cheapest \
         restart there is.",
    );
    measure(bench, &mut t, MAIKO, RESTARTS, r, || {
        maiko_now::restart(RESTARTS)
    });
    measure(
        bench,
        &mut t,
        "tokio task, state rebuilt in place",
        RESTARTS,
        r,
        || tokio_base::restart(RESTARTS),
    );
    measure(bench, &mut t, "kameo 0.22, supervised", RESTARTS, r, || {
        kameo_peer::restart(RESTARTS)
    });
    print_ratios(&t);
    t
}

fn scaling(bench: &Bench) -> Vec<Table> {
    let mut tables = Vec::new();
    for subscribers in SCALING_SIZES {
        let repeats = bench.repeats;
        let mut t = Table::new(
            key(SCALING, subscribers),
            scaling_title(subscribers),
            "ns/event",
            "Per published event. Subscriber i subscribes to topic i mod 100 and the \
             producer cycles over the 100 topics, so an event reaches subscribers / 100 \
             subscribers (at 10 subscribers, one in ten events reaches one subscriber and \
             the rest reach nobody). tokio: one producer task routing each event to the \
             channels of its topic's consumer tasks. At 10,000 subscribers the spread \
             between runs is wide.",
        );
        measure(bench, &mut t, MAIKO, SCALING_EVENTS, repeats, || {
            maiko_now::scaling(subscribers, SCALING_EVENTS)
        });
        measure(
            bench,
            &mut t,
            "tokio mpsc, routed by the producer",
            SCALING_EVENTS,
            repeats,
            || tokio_base::scaling(subscribers, SCALING_EVENTS),
        );
        measure(bench, &mut t, MAIKO_OLD, SCALING_EVENTS, repeats, || {
            maiko_old::scaling(subscribers, SCALING_EVENTS)
        });
        tables.push(t);
    }
    tables
}

/// Publishing from 1, 2, 4 and 8 producer tasks at once into one
/// subscriber: maiko through a `SupervisorHandle` clone per task (every
/// publish passes the supervisor's one gate word) against tokio tasks
/// sharing one channel.
fn producers(bench: &Bench) -> Vec<Table> {
    let r = bench.repeats;
    let mut tables = Vec::new();
    for producers in PRODUCER_COUNTS {
        let mut t = Table::new(
            key(PRODUCERS, producers),
            producers_title(producers),
            "ns/event",
            "Per published event, the events shared among the producers. maiko: each \
             producer is a spawned task (not an actor) publishing its share with \
             `send().await` on its own clone of the supervisor's `SupervisorHandle`; every \
             publish passes the supervisor's gate, one atomic word. tokio: the producer \
             tasks send into one bounded channel drained by one consumer task (one hop). On \
             one thread the producers only interleave; the criterion groups `producers/P` \
             (`cargo bench -p maiko-benches --bench scaling -- producers`) run on a worker \
             per core, for machines with more than 2.",
        );
        measure(bench, &mut t, MAIKO, EVENTS, r, || {
            maiko_now::producers(EVENTS, producers)
        });
        measure(bench, &mut t, TOKIO_1, EVENTS, r, || {
            tokio_base::producers(EVENTS, producers)
        });
        print_ratios(&t);
        tables.push(t);
    }
    tables
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_size_has_its_own_key_and_title() {
        let stops = STOP_SIZES.map(|n| (n, key(IDLE_STOP, n), idle_stop_title(n)));
        let scaling = SCALING_SIZES.map(|n| (n, key(SCALING, n), scaling_title(n)));
        let producers = PRODUCER_COUNTS.map(|n| (n, key(PRODUCERS, n), producers_title(n)));
        for tables in [&stops[..], &scaling[..], &producers[..]] {
            for (i, (n, key, title)) in tables.iter().enumerate() {
                assert!(key.ends_with(&format!("/{n}")), "{key}");
                assert!(title.contains(&format!(" {n} ")), "{title}");
                assert!(tables[i + 1..].iter().all(|b| *key != b.1 && *title != b.2));
            }
        }
    }

    #[test]
    fn broker_counts_read_as_prose_and_name_their_rows() {
        assert_eq!(and_or(&BROKER_COUNTS), "1, 2 or 4");
        assert_eq!(and_or(&[1, 2]), "1 or 2");
        assert_eq!(and_or(&[4]), "4");
        let rows = BROKER_COUNTS.map(maiko_brokers);
        assert_eq!(rows[0], MAIKO_1_BROKER);
        for (i, row) in rows.iter().enumerate() {
            assert!(rows[i + 1..].iter().all(|other| other != row));
        }
    }

    #[test]
    fn ratios_of_a_row_and_over_a_base() {
        let table = |ratios| Table {
            key: "k".into(),
            title: "t".into(),
            unit: "ns/event",
            note: "",
            ratios,
            rows: vec![
                Row {
                    system: "a",
                    ns: [Some(100.0), None],
                },
                Row {
                    system: "b",
                    ns: [Some(50.0), Some(1.0)],
                },
            ],
        };
        let of = table(Ratios::Of {
            row: "a",
            header: "a ÷",
        });
        assert_eq!(of.shown_ratio("a", 0), None);
        assert_eq!(of.shown_ratio("b", 0), Some(2.0));
        assert_eq!(of.shown_ratio("b", 1), None);
        let over = table(Ratios::Over {
            base: "a",
            header: "÷ a",
        });
        assert_eq!(over.shown_ratio("a", 0), None);
        assert_eq!(over.shown_ratio("b", 0), Some(0.5));
        assert_eq!(over.ratios.header(), "÷ a");
    }

    #[test]
    fn monitor_cost_is_the_difference_and_the_ratio() {
        let mut table = Table::new("k".into(), "t".into(), "ns/event", "");
        table.rows.push(Row {
            system: MAIKO,
            ns: [Some(200.0), Some(100.0)],
        });
        assert_eq!(table.monitor_cost(0), None);
        table.rows.push(Row {
            system: MAIKO_MONITORED,
            ns: [Some(250.0), None],
        });
        assert_eq!(table.monitor_cost(0), Some((50.0, 1.25)));
        assert_eq!(table.monitor_cost(1), None);
    }

    #[test]
    fn event_sizes() {
        assert_eq!(key(ONE_TO_ONE, event_size_key(32)), "one_to_one/32B");
        assert_eq!(key(ONE_TO_ONE, event_size_key(1024)), "one_to_one/1KiB");
        assert_eq!(event_size_title(32), "32-byte");
        assert_eq!(event_size_title(1024), "1 KiB");
    }
}
