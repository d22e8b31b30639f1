//! The machine the report ran on, for its header.

use std::process::Command;

fn command(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The machine table: date, CPUs, compiler, commit, maiko's features,
/// profile.
pub fn machine() -> Vec<(String, String)> {
    let manifest = env!("CARGO_MANIFEST_DIR");
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let commit = command("git", &["-C", manifest, "rev-parse", "--short", "HEAD"]);
    let dirty = command(
        "git",
        &[
            "-C",
            manifest,
            "status",
            "--porcelain",
            "--",
            ":(top)",
            // The report's own output is not a change to what it measures.
            ":(top,exclude)benches/RESULTS.md",
        ],
    )
    .is_some_and(|s| !s.is_empty());
    vec![
        (
            "date".into(),
            command("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_else(|| "unknown".into()),
        ),
        (
            "nproc".into(),
            std::thread::available_parallelism()
                .map_or_else(|_| "unknown".into(), |n| n.to_string()),
        ),
        ("cpu".into(), cpu),
        (
            "rustc".into(),
            command(&rustc, &["--version"]).unwrap_or_else(|| "unknown".into()),
        ),
        (
            "maiko commit".into(),
            match commit {
                Some(c) if dirty => format!("{c} (with uncommitted changes)"),
                Some(c) => c,
                None => "unknown".into(),
            },
        ),
        (
            "maiko features".into(),
            if cfg!(feature = "monitoring") {
                "default + monitoring (a monitor is registered only in the rows that say so)"
            } else {
                "default"
            }
            .into(),
        ),
        (
            "profile".into(),
            if cfg!(debug_assertions) {
                "debug (figures not meaningful)"
            } else {
                "release"
            }
            .into(),
        ),
    ]
}

/// The 1, 5 and 15 minute load averages.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
