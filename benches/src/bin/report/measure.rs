//! Measurement: the two runtimes, repeated runs and their medians, and the
//! progress lines printed as each row is measured.

use std::{fmt::Write as _, future::Future, time::Duration};

use maiko_benches::{BACKLOG, DrainMode, actix_peer, current_thread, median, two_workers};
use tokio::runtime::Runtime;

use crate::{
    render::fmt_ratio,
    tables::{ACTIX, Row, Table},
};

/// The two runtimes, as table columns.
pub const FLAVORS: [&str; 2] = ["1 thread", "2 workers"];

pub struct Bench {
    pub repeats: usize,
    runtimes: [Runtime; 2],
    actix: actix_rt::SystemRunner,
}

impl Bench {
    pub fn new(repeats: usize) -> Self {
        Self {
            repeats,
            runtimes: [current_thread(), two_workers()],
            actix: actix_peer::system(),
        }
    }

    /// Median of `repeats` runs (after one discarded warm-up run).
    fn run<F, Fut>(&self, flavor: usize, repeats: usize, workload: F) -> Duration
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Duration>,
    {
        let runtime = &self.runtimes[flavor];
        median_of(repeats, || runtime.block_on(workload()))
    }

    /// Median of `repeats` runs on the actix system (after one discarded
    /// warm-up run).
    fn run_actix(
        &self,
        repeats: usize,
        workload: impl Fn(&actix_rt::SystemRunner) -> Duration,
    ) -> Duration {
        median_of(repeats, || workload(&self.actix))
    }
}

/// Median of `repeats` samples, after one discarded warm-up sample.
fn median_of(repeats: usize, mut sample: impl FnMut() -> Duration) -> Duration {
    sample();
    let mut samples: Vec<Duration> = (0..repeats).map(|_| sample()).collect();
    median(&mut samples)
}

fn ns(d: Duration, per: u64) -> f64 {
    d.as_nanos() as f64 / per as f64
}

/// Print one progress line: workload, system, the two runtimes' cells and,
/// for a measured row, the unit.
fn progress(key: &str, system: &str, cells: [String; 2], unit: Option<&str>) {
    let mut line = format!("  {key:<28} {system:<36} {:>12} {:>12}", cells[0], cells[1]);
    if let Some(unit) = unit {
        let _ = write!(line, "  {unit}");
    }
    println!("{line}");
}

/// The header of the progress lines.
pub fn progress_header() {
    progress("workload", "system", FLAVORS.map(String::from), None);
}

/// Add a measured row to its table and print its progress line.
fn record(table: &mut Table, row: Row) {
    let cells = row
        .ns
        .map(|v| v.map_or_else(|| "n/a".into(), |v| format!("{v:.1}")));
    progress(&table.key, row.system, cells, Some(table.unit));
    table.rows.push(row);
}

/// Print the ratio column of `table` (as its `ratios` say) for each row but
/// the reference, one progress line each.
pub fn print_ratios(table: &Table) {
    let header = table.ratios.header();
    for row in &table.rows {
        if row.system == table.ratios.reference() {
            continue;
        }
        let cells = [0, 1].map(|flavor| fmt_ratio(table.shown_ratio(row.system, flavor)));
        progress(&table.key, &format!("{header} {}", row.system), cells, None);
    }
}

/// Measure one workload on both runtimes, add a row.
pub fn measure<F, Fut>(
    bench: &Bench,
    table: &mut Table,
    system: &'static str,
    per: u64,
    repeats: usize,
    workload: F,
) where
    F: Fn() -> Fut,
    Fut: Future<Output = Duration>,
{
    let figures = [0, 1].map(|flavor| Some(ns(bench.run(flavor, repeats, &workload), per)));
    record(
        table,
        Row {
            system,
            ns: figures,
        },
    );
}

/// Measure a drain stopping and running, alternating the two runs so that
/// both see the same drift of the machine and allocator state; a row each.
pub fn measure_drain<F, Fut>(
    bench: &Bench,
    table: &mut Table,
    names: [&'static str; 2],
    repeats: usize,
    workload: F,
) where
    F: Fn(DrainMode) -> Fut,
    Fut: Future<Output = Duration>,
{
    let mut rows = names.map(|system| Row {
        system,
        ns: [None, None],
    });
    for (flavor, runtime) in bench.runtimes.iter().enumerate() {
        runtime.block_on(workload(DrainMode::Stop));
        runtime.block_on(workload(DrainMode::Running));
        let mut samples = [Vec::new(), Vec::new()];
        for _ in 0..repeats {
            samples[0].push(runtime.block_on(workload(DrainMode::Stop)));
            samples[1].push(runtime.block_on(workload(DrainMode::Running)));
        }
        for (row, samples) in rows.iter_mut().zip(&mut samples) {
            row.ns[flavor] = Some(ns(median(samples), BACKLOG));
        }
    }
    for row in rows {
        record(table, row);
    }
}

/// Measure an actix workload on its own single-thread system, add a row
/// (with no 2-worker figure).
pub fn measure_actix(
    bench: &Bench,
    table: &mut Table,
    per: u64,
    repeats: usize,
    workload: impl Fn(&actix_rt::SystemRunner) -> Duration,
) {
    let figure = ns(bench.run_actix(repeats, workload), per);
    record(
        table,
        Row {
            system: ACTIX,
            ns: [Some(figure), None],
        },
    );
}
