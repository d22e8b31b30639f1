//! Instructions per event, counted by callgrind: repeatable where times are
//! not. Runs the `profile` binary of this package (built beside `report`:
//! `cargo build --release -p maiko-benches --bin profile`) under
//! `valgrind --tool=callgrind` for two event counts and takes the
//! difference, so the set-up cancels out. Skipped, and said so, where
//! valgrind or the binary is missing.

use std::{path::PathBuf, process::Command};

/// The workloads counted, as the `profile` binary names them.
const WORKLOADS: [&str; 4] = [
    "one_to_one",
    "one_to_one_restartable",
    "fan_out",
    "tokio_one_hop",
];
const FEW: u64 = 20_000;
const MANY: u64 = 60_000;

/// One workload's count: instructions per event, or why there is none.
pub struct Count {
    pub workload: &'static str,
    pub per_event: Result<u64, String>,
}

/// Count every workload.
pub fn counts() -> Vec<Count> {
    let profile = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("profile")))
        .filter(|path| path.exists());
    WORKLOADS
        .iter()
        .map(|&workload| Count {
            workload,
            per_event: match &profile {
                Some(profile) => per_event(profile, workload),
                None => Err(
                    "build the profile binary first: cargo build --release -p maiko-benches --bin profile"
                        .to_owned(),
                ),
            },
        })
        .collect()
}

fn per_event(profile: &PathBuf, workload: &str) -> Result<u64, String> {
    let few = total(profile, workload, FEW)?;
    let many = total(profile, workload, MANY)?;
    Ok(many.saturating_sub(few) / (MANY - FEW))
}

/// The instructions callgrind counted for one run of `events` events.
fn total(profile: &PathBuf, workload: &str, events: u64) -> Result<u64, String> {
    let output = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(profile)
        .arg(workload)
        .env("PROFILE_RUNS", "1")
        .env("PROFILE_EVENTS", events.to_string())
        .output()
        .map_err(|error| format!("valgrind: {error}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr
        .lines()
        .find_map(|line| line.split("Collected :").nth(1))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| "callgrind printed no total".to_owned())
}
