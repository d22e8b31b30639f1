//! A `nats-server -js` of a test's own: on a free loopback port, with a
//! temporary store directory, stopped when dropped; it can be killed and
//! restarted on the same port and store.
//!
//! The tests that need one are `#[ignore]`d, so that a machine without
//! the server passes `cargo test`; run with `--include-ignored`, a test
//! that cannot find the server fails and says how to install it.

use std::{
    env,
    fs::File,
    io::{BufRead, BufReader, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// What to say when the server cannot be found.
pub const INSTALL_HINT: &str = "nats-server not found: install it with `apt-get install nats-server` \
     (or put it on PATH, or set MAIKO_NATS_SERVER to its path)";

/// How long a start may take before the test fails.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The server binary: `$MAIKO_NATS_SERVER`, else `nats-server` on `PATH`,
/// else where Debian installs it.
pub fn binary() -> Option<PathBuf> {
    if let Some(path) = env::var_os("MAIKO_NATS_SERVER") {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let on_path = env::var_os("PATH")
        .map(|paths| env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(["/usr/sbin", "/usr/bin", "/usr/local/bin"].map(PathBuf::from))
        .map(|dir| dir.join("nats-server"))
        .find(|path| path.is_file())
}

/// A running (or killed) `nats-server -js`.
#[derive(Debug)]
pub struct NatsServer {
    binary: PathBuf,
    port: u16,
    store: tempfile::TempDir,
    child: Option<Child>,
    starts: u32,
}

impl NatsServer {
    /// Start a server and wait until it answers JetStream requests.
    ///
    /// # Panics
    ///
    /// If the binary cannot be found (with [`INSTALL_HINT`]) or the server
    /// does not come up.
    pub fn start() -> Self {
        Self::start_from(binary())
    }

    /// [`start`](Self::start) with the binary given (as [`binary`] finds
    /// it).
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start); with [`INSTALL_HINT`] if `binary` is
    /// `None`.
    pub fn start_from(binary: Option<PathBuf>) -> Self {
        let binary = binary.unwrap_or_else(|| panic!("{INSTALL_HINT}"));
        let store = tempfile::Builder::new()
            .prefix("maiko-nats-js")
            .tempdir()
            .expect("a temporary store directory");
        let port = free_port();
        let mut server = Self {
            binary,
            port,
            store,
            child: None,
            starts: 0,
        };
        server.launch();
        server
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The server's store directory.
    pub fn store(&self) -> &Path {
        self.store.path()
    }

    /// Kill the server (SIGKILL) and wait for it to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kill the server and start it again on the same port with the same
    /// store, waiting until it answers again.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// Stop the server gracefully (SIGTERM: it writes its stores out and
    /// exits) and wait for it to be gone. [`start_again`](Self::start_again)
    /// brings it back.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM nats-server failed");
        let _ = child.wait();
    }

    /// Start the server again, on the same port with the same store, and
    /// wait until it answers; it must have been stopped or killed.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the server is still running");
        self.launch();
    }

    fn log_path(&self) -> PathBuf {
        self.store
            .path()
            .join(format!("server-{}.log", self.starts))
    }

    fn launch(&mut self) {
        self.starts += 1;
        let log = File::create(self.log_path()).expect("a server log file");
        let jetstream_dir = self.store.path().join("jetstream");
        let child = Command::new(&self.binary)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(&jetstream_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("the log file")))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.binary.display()));
        self.child = Some(child);
        self.wait_ready();
    }

    /// Retry on the connection until the server answers a JetStream API
    /// request (so that JetStream, not only the listener, is up).
    fn wait_ready(&mut self) {
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
                panic!("nats-server exited with {status} while starting:\n{log}");
            }
            match jetstream_answers(self.port) {
                Ok(()) => return,
                Err(_) if started.elapsed() < START_TIMEOUT => {
                    // Retrying the connection, not waiting for a guessed
                    // amount of time: the next attempt is the check.
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(error) => {
                    let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
                    panic!(
                        "nats-server on port {} not ready after {START_TIMEOUT:?}: {error}\n{log}",
                        self.port
                    );
                }
            }
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A free loopback port: bind port 0, take the port, let it go.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("its address").port()
}

/// One exchange in the client protocol: connect, subscribe to an inbox,
/// ask `$JS.API.INFO`, and wait for the answer.
fn jetstream_answers(port: u16) -> std::io::Result<()> {
    let stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    if !line.starts_with("INFO") {
        return Err(std::io::Error::other(format!(
            "unexpected greeting {line:?}"
        )));
    }
    writer.write_all(
        b"CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB _INBOX.ready 1\r\nPUB $JS.API.INFO _INBOX.ready 0\r\n\r\nPING\r\n",
    )?;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::Error::other("connection closed"));
        }
        if line.starts_with("MSG") {
            let mut payload = String::new();
            reader.read_line(&mut payload)?;
            return if payload
                .contains("\"type\":\"io.nats.jetstream.api.v1.account_info_response\"")
                && !payload.contains("\"error\"")
            {
                Ok(())
            } else {
                Err(std::io::Error::other(format!(
                    "JetStream not ready: {payload}"
                )))
            };
        }
        if line.starts_with("-ERR") {
            return Err(std::io::Error::other(line.clone()));
        }
    }
}
