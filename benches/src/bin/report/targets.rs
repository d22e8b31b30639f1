//! The budget targets, each checked on both runtimes, met or not met.

use maiko_benches::BACKLOG;

use crate::{
    instructions::Count,
    measure::FLAVORS,
    memory::{Memory, TOKIO_TASK},
    render::{fmt_ns, fmt_ratio},
    tables::{
        ACTIX, DRAIN, FAN_IN, FAN_OUT, IDLE_STOP, KAMEO, MAIKO, MAIKO_OLD, MAIKO_RUNNING,
        ONE_TO_ONE, PIPELINE, RACTOR, TOKIO_1, TOKIO_2, TOKIO_RAW_4, TOKIO_TASKS, Table,
        event_size_key, key,
    },
};

pub struct Target {
    pub name: String,
    pub figures: String,
    pub met: Option<bool>,
}

impl Target {
    /// "met", `not_met`, or "n/a" when a figure is missing.
    pub fn mark<'a>(&self, not_met: &'a str) -> &'a str {
        match self.met {
            Some(true) => "met",
            Some(false) => not_met,
            None => "n/a",
        }
    }
}

fn find<'a>(tables: &'a [Table], key: &str) -> &'a Table {
    tables
        .iter()
        .find(|t| t.key == key)
        .unwrap_or_else(|| panic!("no table {key}"))
}

/// One target per runtime, `name (1 thread)` and `name (2 workers)`;
/// `check` gives a runtime's figures and verdict.
fn per_runtime(out: &mut Vec<Target>, name: &str, check: impl Fn(usize) -> (String, Option<bool>)) {
    for (flavor, label) in FLAVORS.iter().enumerate() {
        let (figures, met) = check(flavor);
        out.push(Target {
            name: format!("{name} ({label})"),
            figures,
            met,
        });
    }
}

/// maiko's figure in `table` at most `limit` times `other`'s; the figures
/// read `{names[0]} … vs {names[1]} …{per}: ratio`.
fn ratio_at_most<'a>(
    table: &'a Table,
    other: &'a str,
    limit: f64,
    names: [&'a str; 2],
    per: &'a str,
) -> impl Fn(usize) -> (String, Option<bool>) + 'a {
    move |flavor| {
        let ratio = table.ratio(other, flavor);
        let figures = format!(
            "{} {} vs {} {}{per}: {}",
            names[0],
            fmt_ns(table.get(MAIKO, flavor)),
            names[1],
            fmt_ns(table.get(other, flavor)),
            fmt_ratio(ratio)
        );
        (figures, ratio.map(|r| r <= limit))
    }
}

/// maiko's figure in `table` below kameo's and ractor's.
fn ahead_of_peers(table: &Table) -> impl Fn(usize) -> (String, Option<bool>) + '_ {
    move |flavor| {
        let k = table.ratio(KAMEO, flavor);
        let r = table.ratio(RACTOR, flavor);
        let figures = format!(
            "maiko {}, kameo {} ({}), ractor {} ({})",
            fmt_ns(table.get(MAIKO, flavor)),
            fmt_ns(table.get(KAMEO, flavor)),
            fmt_ratio(k),
            fmt_ns(table.get(RACTOR, flavor)),
            fmt_ratio(r)
        );
        (figures, k.zip(r).map(|(k, r)| k < 1.0 && r < 1.0))
    }
}

/// How far above the plain build's instructions per event a variant that
/// should cost nothing may be.
const SAME: f64 = 1.01;

pub fn targets(tables: &[Table]) -> Vec<Target> {
    let mut out = Vec::new();
    let one = find(tables, &key(ONE_TO_ONE, event_size_key(32)));
    let fan = find(tables, &key(FAN_OUT, 4));
    let stop = find(tables, &key(IDLE_STOP, 4));
    let drain = find(tables, &key(DRAIN, BACKLOG));

    per_runtime(
        &mut out,
        "One to one (32 B) at most 1.5x the two-hop tokio baseline",
        ratio_at_most(one, TOKIO_2, 1.5, ["maiko", "two hops"], ""),
    );
    per_runtime(
        &mut out,
        "One to one (32 B) faster than kameo and ractor",
        ahead_of_peers(one),
    );
    per_runtime(
        &mut out,
        "Fan-out to 4 at most 1.5x sending to 4 raw channels",
        ratio_at_most(fan, TOKIO_RAW_4, 1.5, ["maiko", "raw"], ""),
    );
    per_runtime(
        &mut out,
        "At least 4x faster than maiko 0.3.1 on every shared workload",
        |flavor| {
            let mut worst: Option<(f64, &str)> = None;
            let mut all = Vec::new();
            for table in tables {
                if let (Some(new), Some(old)) =
                    (table.get(MAIKO, flavor), table.get(MAIKO_OLD, flavor))
                {
                    let speedup = old / new;
                    all.push(format!("{} {speedup:.1}x", table.key));
                    if worst.is_none_or(|(w, _)| speedup < w) {
                        worst = Some((speedup, &table.key));
                    }
                }
            }
            let figures = match worst {
                Some((w, key)) => format!("slowest gain {w:.1}x ({key}); {}", all.join(", ")),
                None => "n/a".into(),
            };
            (figures, worst.map(|(w, _)| w >= 4.0))
        },
    );
    per_runtime(
        &mut out,
        "Idle stop of 4 actors no slower than kameo stop_gracefully + wait_for_shutdown",
        ratio_at_most(stop, KAMEO, 1.0, ["maiko", "kameo"], ""),
    );
    per_runtime(
        &mut out,
        &format!("Drain of {BACKLOG} pending events within 1.1x of handling them while running"),
        ratio_at_most(drain, MAIKO_RUNNING, 1.1, ["stop", "running"], " per event"),
    );
    out
}

/// Memory per idle actor at most 1.2x a tokio task with a bounded channel
/// (one figure: the probe runs on one runtime).
pub fn idle_memory(memory: &[Memory]) -> Target {
    let bytes = |system: &str| {
        memory
            .iter()
            .find(|m| m.system == system)
            .map(|m| m.idle_actor)
    };
    let (maiko, tokio) = (bytes(MAIKO), bytes(TOKIO_TASK));
    let ratio = maiko.zip(tokio).map(|(m, t)| m / t);
    let figures = match (maiko, tokio) {
        (Some(m), Some(t)) => format!(
            "maiko {m:.0} B vs tokio task {t:.0} B: {}",
            fmt_ratio(ratio)
        ),
        _ => "n/a".into(),
    };
    Target {
        name: "Memory per idle actor at most 1.2x a tokio task with a bounded channel".into(),
        figures,
        met: ratio.map(|r| r <= 1.2),
    }
}

/// The second performance round's targets: one channel hop, idle actors
/// and their stop as cheap as tokio tasks, features that cost nothing
/// unused. `instructions` are the callgrind counts of this run.
pub fn second_round(tables: &[Table], instructions: &[Count]) -> Vec<Target> {
    let mut out = Vec::new();
    let one = find(tables, &key(ONE_TO_ONE, event_size_key(32)));
    let fan = find(tables, &key(FAN_OUT, 4));
    per_runtime(
        &mut out,
        "One to one (32 B) at most 1.25x one raw tokio hop",
        ratio_at_most(one, TOKIO_1, 1.25, ["maiko", "one hop"], ""),
    );
    // actix runs on its own single-thread system only.
    let (figures, met) = ratio_at_most(one, ACTIX, 1.15, ["maiko", "actix"], "")(0);
    out.push(Target {
        name: format!("One to one (32 B) within 1.15x of actix ({})", FLAVORS[0]),
        figures,
        met,
    });
    per_runtime(
        &mut out,
        "Fan-out to 4 at most 1.1x sending to 4 raw channels",
        ratio_at_most(fan, TOKIO_RAW_4, 1.1, ["maiko", "raw"], ""),
    );
    per_runtime(
        &mut out,
        "Fan-out to 4 faster than kameo and ractor",
        ahead_of_peers(fan),
    );
    for (workload, size, title) in [(FAN_IN, 4, "Fan-in of 4"), (PIPELINE, 3, "Pipeline of 3")] {
        per_runtime(
            &mut out,
            &format!("{title} faster than kameo and ractor"),
            ahead_of_peers(find(tables, &key(workload, size))),
        );
    }
    for (workload, limit) in [("one_to_one", 700), ("fan_out", 1_600)] {
        let per_event = per_event(instructions, workload);
        out.push(Target {
            name: format!("Instructions per event, {workload}, at most {limit}"),
            figures: per_event.map_or_else(|| "n/a".into(), |n| format!("{n}")),
            met: per_event.map(|n| n <= limit),
        });
    }
    for actors in [4, 100, 1_000] {
        per_runtime(
            &mut out,
            &format!(
                "Idle stop of {actors} actors at most 2x dropping the senders of tokio tasks and joining them"
            ),
            ratio_at_most(
                find(tables, &key(IDLE_STOP, actors)),
                TOKIO_TASKS,
                2.0,
                ["maiko", "tokio"],
                "",
            ),
        );
    }
    // Deterministic where times are not: the same binary counts the same
    // instructions whatever else the machine does.
    let plain = per_event(instructions, "one_to_one");
    let restartable = per_event(instructions, "one_to_one_restartable");
    let ratio = restartable.zip(plain).map(|(r, p)| r as f64 / p as f64);
    out.push(Target {
        name: format!(
            "A restartable subscriber that never fails within {:.0}% of a plain one, \
             instructions per event, one to one (32 B)",
            (SAME - 1.0) * 100.0
        ),
        figures: match (restartable, plain) {
            (Some(r), Some(p)) => format!("restartable {r} vs plain {p}: {}", fmt_ratio(ratio)),
            _ => "n/a".into(),
        },
        met: ratio.map(|r| r <= SAME),
    });
    out
}

/// `workload`'s instructions per event, if callgrind counted them.
fn per_event(instructions: &[Count], workload: &str) -> Option<u64> {
    instructions
        .iter()
        .find(|c| c.workload == workload)
        .and_then(|c| c.per_event.as_ref().ok())
        .copied()
}
