//! Child processes for the end-to-end tests: the `e2e_producer` and
//! `e2e_consumer` examples, built once, spawned with their output read by
//! threads, signalled, killed and waited for.

use std::{
    collections::{HashMap, HashSet},
    fs,
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, Once, mpsc},
    thread,
    time::{Duration, Instant},
};

/// The safety net for each wait on a child process.
pub const CHILD_TIMEOUT: Duration = Duration::from_secs(90);

/// The path of an example of this package, (re)built once per test binary:
/// `cargo test --test …` alone does not build examples.
pub fn example(name: &str) -> PathBuf {
    static BUILD: Once = Once::new();
    BUILD.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--quiet",
                "-p",
                "maiko-nats",
                "--example",
                "e2e_producer",
                "--example",
                "e2e_consumer",
            ])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the e2e examples failed");
    });
    let mut dir = std::env::current_exe().expect("the test binary's path");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("examples").join(name)
}

/// A line a child printed, with the child's label.
#[derive(Debug, Clone)]
pub struct Line {
    pub from: String,
    pub text: String,
}

/// A running example.
#[derive(Debug)]
pub struct Proc {
    pub label: String,
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
    stderr_reader: thread::JoinHandle<()>,
}

impl Proc {
    /// Start `binary` with `args`. Lines of its stdout that start with one
    /// of `forward`'s prefixes go to `forward`'s channel (shared by several
    /// children), the others to this child's own channel.
    pub fn spawn(
        label: &str,
        binary: &PathBuf,
        args: &[String],
        forward: Option<(&'static [&'static str], mpsc::Sender<Line>)>,
    ) -> Self {
        let mut child = Command::new(binary)
            .args(args)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let (own_tx, lines) = mpsc::channel();
        let from = label.to_owned();
        thread::spawn(move || {
            for text in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                match &forward {
                    Some((prefixes, shared)) if prefixes.iter().any(|p| text.starts_with(p)) => {
                        let _ = shared.send(Line {
                            from: from.clone(),
                            text,
                        });
                    }
                    _ => {
                        let _ = own_tx.send(text);
                    }
                }
            }
        });
        let mut stderr_pipe = child.stderr.take().expect("piped stderr");
        let stderr = Arc::new(Mutex::new(String::new()));
        let collected = Arc::clone(&stderr);
        let stderr_reader = thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = stderr_pipe.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                collected
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        Self {
            label: label.to_owned(),
            child,
            lines,
            stderr,
            stderr_reader,
        }
    }

    /// Wait for a line of this child's own output that contains `needle`.
    pub fn wait_for(&self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(CHILD_TIMEOUT) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!(
                    "{}: no line containing {needle:?}; stderr:\n{}",
                    self.label,
                    self.stderr()
                ),
            }
        }
    }

    /// What the child wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Send SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "{}: kill -TERM failed", self.label);
    }

    /// Send SIGKILL and reap the child.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Wait for the child to exit: its exit code (None if a signal ended
    /// it), the rest of its own output, and its stderr.
    pub fn finish(self) -> (Option<i32>, Vec<String>, String) {
        let (done_tx, done) = mpsc::channel();
        let mut child = self.child;
        let waiter = thread::spawn(move || {
            let status = child.wait();
            let _ = done_tx.send(());
            status
        });
        if done.recv_timeout(CHILD_TIMEOUT).is_err() {
            panic!(
                "{} did not exit within {CHILD_TIMEOUT:?}; stderr:\n{}",
                self.label,
                self.stderr.lock().unwrap()
            );
        }
        let status = waiter.join().expect("the waiter").expect("exit status");
        // The reader threads end with the pipes; what they read is in the
        // channel by the time the child has exited and its pipe is closed.
        let mut rest = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(CHILD_TIMEOUT) {
            rest.push(line);
        }
        let _ = self.stderr_reader.join();
        let stderr = self.stderr.lock().unwrap().clone();
        (status.code(), rest, stderr)
    }
}

/// Count lines per text, for finding duplicates.
pub fn tally<'a>(items: impl IntoIterator<Item = &'a str>) -> HashMap<&'a str, usize> {
    let mut counts = HashMap::new();
    for item in items {
        *counts.entry(item).or_insert(0) += 1;
    }
    counts
}

/// The `recorded KEY` lines that consumers print after each fsync of their
/// journal, gathered from every consumer through one channel.
#[derive(Debug)]
pub struct Recorded {
    tx: mpsc::Sender<Line>,
    rx: mpsc::Receiver<Line>,
    keys: HashSet<String>,
}

impl Recorded {
    pub fn new() -> Self {
        let (tx, rx) = mpsc::channel();
        Self {
            tx,
            rx,
            keys: HashSet::new(),
        }
    }

    /// What [`Proc::spawn`] needs to forward a consumer's `recorded` lines
    /// here.
    pub fn forward(&self) -> Option<(&'static [&'static str], mpsc::Sender<Line>)> {
        Some((&["recorded "], self.tx.clone()))
    }

    /// The distinct keys recorded so far.
    pub fn keys(&self) -> &HashSet<String> {
        &self.keys
    }

    /// Read recorded lines until `done` holds for the keys recorded so
    /// far; fail the test, with `stderr()` (the consumers' output), if
    /// [`CHILD_TIMEOUT`] passes first.
    pub fn wait_until(
        &mut self,
        mut done: impl FnMut(&HashSet<String>) -> bool,
        stderr: impl Fn() -> String,
    ) {
        let deadline = Instant::now() + CHILD_TIMEOUT;
        while !done(&self.keys) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    let key = line.text.trim_start_matches("recorded ").to_owned();
                    self.keys.insert(key);
                }
                Err(_) => panic!(
                    "{} keys recorded, and no more within {CHILD_TIMEOUT:?}; consumers' stderr:\n{}",
                    self.keys.len(),
                    stderr()
                ),
            }
        }
    }
}

/// Start an `e2e_consumer` on the durable consumer `consumer` of
/// `stream`, journaling into `journal`, with `extra` arguments, its
/// `recorded` lines going to `recorded`; wait until it pulls.
pub fn start_consumer(
    label: &str,
    url: &str,
    stream: &str,
    consumer: &str,
    journal: &Path,
    extra: &[(&str, String)],
    recorded: &Recorded,
) -> Proc {
    let args: Vec<String> = [
        ("url", url.to_owned()),
        ("stream", stream.to_owned()),
        ("consumer", consumer.to_owned()),
        ("journal", journal.display().to_string()),
    ]
    .iter()
    .chain(extra)
    .flat_map(|(name, value)| [format!("--{name}"), value.clone()])
    .collect();
    let proc = Proc::spawn(label, &example("e2e_consumer"), &args, recorded.forward());
    proc.wait_for("ready");
    proc
}

/// SIGTERM `proc` and wait for it to exit with status 0 (clean reports);
/// its stderr, where the reports are.
pub fn stop_cleanly(proc: Proc) -> String {
    proc.terminate();
    let label = proc.label.clone();
    let (code, out, err) = proc.finish();
    assert_eq!(
        code,
        Some(0),
        "{label} did not stop cleanly:\n{out:?}\n{err}"
    );
    err
}

/// Every line of every journal in `paths` (a journal never written is
/// empty).
pub fn journaled(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .filter_map(|path| fs::read_to_string(path).ok())
        .flat_map(|text| text.lines().map(str::to_owned).collect::<Vec<_>>())
        .collect()
}
