//! The one-command benchmark report:
//!
//! ```text
//! cargo run --release -p maiko-benches --bin report
//! ```
//!
//! Runs every workload of `maiko_benches` on maiko, its plain-tokio
//! baselines and the peers, on a current-thread runtime and on a 2-worker
//! multi-thread runtime, repeats each measurement and takes the median, probes
//! memory with a counting global allocator, and writes `benches/RESULTS.md`
//! with the figures and the budget targets marked met or not met.
//!
//! Options: `--repeats N` (default 11), `--out PATH`, and `--memory-only`
//! (run only the memory probes and print their sections of the markdown;
//! nothing is written).
//!
//! Modules: [`alloc`] (the counting allocator), [`memory`] (the memory
//! probes), [`measure`] (runtimes, medians, progress lines), [`tables`] (the
//! workload tables), [`targets`] (the budget targets), [`instructions`]
//! (instructions per event under callgrind), [`machine`](mod@machine) and
//! [`render`](mod@render) (RESULTS.md).

mod alloc;
mod instructions;
mod machine;
mod measure;
mod memory;
mod render;
mod tables;
mod targets;

use std::{path::PathBuf, time::Instant};

use crate::{
    machine::{loadavg, machine},
    measure::{Bench, progress_header},
    render::{Run, render},
};

fn main() {
    let mut repeats = 11;
    let mut out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("RESULTS.md");
    let mut memory_only = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--repeats" => {
                repeats = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n > 0)
                    .expect("--repeats N, N > 0");
            }
            "--out" => out = PathBuf::from(args.next().expect("--out PATH")),
            "--memory-only" => memory_only = true,
            other => {
                panic!("unknown argument {other}; options: --repeats N, --out PATH, --memory-only")
            }
        }
    }
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; run with --release for meaningful figures");
    }

    let began = Instant::now();
    let load_start = loadavg();
    println!("memory probes (counting allocator on)");
    let memory = memory::memory();
    let churn = memory::churn();
    alloc::stop_counting();
    if memory_only {
        println!("\n{}", render::memory_sections(&memory, &churn));
        return;
    }

    let bench = Bench::new(repeats);
    progress_header();
    let tables = tables::all(&bench);
    println!("instructions per event (callgrind)");
    let instructions = instructions::counts();
    let mut targets = targets::targets(&tables);
    targets.push(targets::idle_memory(&memory));
    targets.extend(targets::second_round(&tables, &instructions));
    let load_end = loadavg();
    let wall = began.elapsed();

    let text = render(&Run {
        machine: &machine(),
        load: (&load_start, &load_end),
        wall,
        repeats,
        targets: &targets,
        tables: &tables,
        memory: &memory,
        churn: &churn,
        instructions: &instructions,
    });
    std::fs::write(&out, &text).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
    println!("\nTargets:");
    for t in &targets {
        println!("  [{}] {}: {}", t.mark("NOT MET"), t.name, t.figures);
    }
    println!("\nwrote {} in {:.0} s", out.display(), wall.as_secs_f64());
}
