//! A SIGTERM sent to a process running the `service` example drains the
//! runtime: the process exits with status 0 when nothing was abandoned, and
//! with status 1 (naming the stuck actor) when a second signal had to abort
//! a drain that could not finish.

#![cfg(unix)]

use std::{
    io::{BufRead, BufReader, Read},
    path::PathBuf,
    process::{Child, ChildStdout, Command, Stdio},
    sync::mpsc,
    thread,
    time::Duration,
};

/// The safety net for each wait on the child process. Longer than the
/// in-process `support::TIMEOUT`: the child is a separate process that has
/// to start up, and the waits here block a thread rather than a task.
const CHILD_TIMEOUT: Duration = Duration::from_secs(60);

/// The `service` example's binary, (re)built next to this test's binary:
/// `cargo test --test …` alone does not build examples.
fn service_binary() -> PathBuf {
    static BUILD: std::sync::Once = std::sync::Once::new();
    BUILD.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "--example", "service"])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the service example failed");
    });
    let mut dir = std::env::current_exe().expect("test binary path");
    dir.pop(); // the test binary
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("examples").join("service")
}

fn start(args: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(service_binary())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the service starts");
    let stdout: ChildStdout = child.stdout.take().expect("piped stdout");
    let (lines_tx, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(|line| line.ok()) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, lines)
}

fn wait_for_line(lines: &mpsc::Receiver<String>, wanted: &str) {
    loop {
        let line = lines
            .recv_timeout(CHILD_TIMEOUT)
            .unwrap_or_else(|_| panic!("no line containing {wanted:?}"));
        if line.contains(wanted) {
            return;
        }
    }
}

fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// Wait for the child to exit (with a safety-net timeout) and return its
/// exit code and stderr.
fn finish(mut child: Child) -> (i32, String) {
    let mut stderr = child.stderr.take().expect("piped stderr");
    let (done_tx, done) = mpsc::channel();
    thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        let _ = done_tx.send(text);
    });
    let text = done.recv_timeout(CHILD_TIMEOUT).expect("the service exits");
    let status = child.wait().expect("exit status");
    (status.code().expect("exited, not killed by a signal"), text)
}

#[test]
fn sigterm_drains_and_exits_zero() {
    let (child, lines) = start(&[]);
    wait_for_line(&lines, "ready");
    terminate(&child);
    let (code, report) = finish(child);
    assert_eq!(code, 0, "report:\n{report}");
    assert!(report.contains("shutdown clean"), "report:\n{report}");
    let booked: Vec<String> = lines.try_iter().collect();
    let booked_line = booked
        .iter()
        .find(|l| l.starts_with("ledger booked"))
        .expect("the ledger reported");
    let accepted_line = booked
        .iter()
        .find(|l| l.starts_with("server had"))
        .expect("the server reported");
    let count = |line: &str| -> u64 {
        line.split_whitespace()
            .find_map(|w| w.parse().ok())
            .expect("a number")
    };
    assert_eq!(
        count(booked_line),
        count(accepted_line),
        "every accepted request is booked"
    );
}

#[test]
fn a_second_sigterm_aborts_a_stuck_drain_and_exits_nonzero() {
    let (child, lines) = start(&["--stuck"]);
    wait_for_line(&lines, "auditor: holding a request");
    terminate(&child);
    // The auditor saw the first signal: the drain is under way and stuck.
    wait_for_line(&lines, "auditor: ignoring the shutdown signal");
    terminate(&child);
    let (code, report) = finish(child);
    assert_eq!(code, 1, "report:\n{report}");
    assert!(
        report.contains("aborted by a second signal"),
        "report:\n{report}"
    );
    assert!(
        report.contains("auditor: aborted") && report.contains("stuck handling an event"),
        "report:\n{report}"
    );
    assert_every_actor_line_balances(&report);
}

/// Each actor line of the printed report (`name: outcome — routed R,
/// handled H, dropped D, lost L, abandoned A, interrupted I`) balances,
/// also after the abort: R = H + D + L + A + I.
fn assert_every_actor_line_balances(report: &str) {
    let mut actor_lines = 0;
    for line in report.lines().filter(|l| l.contains("— routed ")) {
        let figure = |name: &str| -> u64 {
            let after = line
                .split(&format!("{name} "))
                .nth(1)
                .unwrap_or_else(|| panic!("no '{name}' in {line:?}"));
            let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().expect("a count")
        };
        let settled = figure("handled")
            + figure("dropped")
            + figure("lost")
            + figure("abandoned")
            + figure("interrupted");
        assert_eq!(
            figure("routed"),
            settled,
            "unbalanced: {line}\nreport:\n{report}"
        );
        actor_lines += 1;
    }
    assert_eq!(actor_lines, 2, "one line per actor, report:\n{report}");
}
