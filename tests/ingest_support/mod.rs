//! Helpers of the `ingest_service` tests: the example as a child process,
//! and a small HTTP/1.1 client that says exactly what became of a request
//! (answered with a status, refused at connect, or sent and never
//! answered).
//!
//! No helper sleeps to wait for something: readiness is the child's
//! `listening on` line, progress is read from its log lines, and every wait
//! is bounded by [`CHILD_TIMEOUT`] only so that a broken service fails the
//! test instead of hanging it.

// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
    process::{Child, Command},
    sync::watch,
};

/// The safety net for each wait on the child process and on one request.
pub const CHILD_TIMEOUT: Duration = Duration::from_secs(60);

/// The features of this package the test binary was compiled with.
fn features() -> String {
    [
        ("macros", cfg!(feature = "macros")),
        ("monitoring", cfg!(feature = "monitoring")),
        ("test-harness", cfg!(feature = "test-harness")),
        ("recorder", cfg!(feature = "recorder")),
        ("serde", cfg!(feature = "serde")),
        ("metrics", cfg!(feature = "metrics")),
    ]
    .iter()
    .filter(|(_, on)| *on)
    .map(|(name, _)| *name)
    .collect::<Vec<_>>()
    .join(",")
}

/// The `ingest_service` example's binary, (re)built next to this test's
/// binary: `cargo test --test …` alone does not build examples.
///
/// It is built with the features this test binary has (so with `/metrics`
/// under `--features metrics` or `--all-features`): every test binary of
/// one `cargo test` run asks for the same build, and the first one's is
/// reused by the others.
pub fn service_binary() -> PathBuf {
    static BUILD: std::sync::Once = std::sync::Once::new();
    BUILD.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let features = features();
        let status = std::process::Command::new(cargo)
            .args(["build", "--quiet", "--example", "ingest_service"])
            .args(["--no-default-features", "--features", &features])
            .status()
            .expect("cargo runs");
        assert!(
            status.success(),
            "building the ingest_service example failed"
        );
    });
    let mut dir = std::env::current_exe().expect("test binary path");
    dir.pop(); // the test binary
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("examples").join("ingest_service")
}

/// A running `ingest_service` child process.
pub struct Service {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its standard error so far, line by line (logs, then the report).
    stderr: watch::Receiver<Vec<String>>,
    /// The task reading its standard error, until it is closed.
    stderr_reader: Option<tokio::task::JoinHandle<()>>,
}

impl Service {
    /// Start the service on a free loopback port with its database at `db`,
    /// the extra `args` and `env`, and wait for its `listening on` line.
    pub async fn start(db: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(service_binary());
        command
            .args(["--listen", "127.0.0.1:0", "--db"])
            .arg(db)
            .args(args)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("the service starts");

        let (lines_tx, stderr) = watch::channel(Vec::new());
        let mut err_lines = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
        let stderr_reader = tokio::spawn(async move {
            while let Ok(Some(line)) = err_lines.next_line().await {
                lines_tx.send_modify(|lines| lines.push(line));
            }
        });

        let mut out_lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let first = tokio::time::timeout(CHILD_TIMEOUT, out_lines.next_line())
            .await
            .expect("the service says where it listens in time")
            .expect("stdout readable");
        let Some(first) = first else {
            let text = stderr.borrow().join("\n");
            panic!("the service exited before listening; stderr:\n{text}");
        };
        let addr = first
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .parse()
            .expect("an address");
        // Nothing else is expected on stdout; keep reading so the child
        // never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = out_lines.next_line().await {} });
        Self {
            child,
            addr,
            stderr,
            stderr_reader: Some(stderr_reader),
        }
    }

    /// Send SIGTERM (or SIGINT with `interrupt`).
    pub fn signal(&self, interrupt: bool) {
        let pid = self.child.id().expect("the child is running").to_string();
        let name = if interrupt { "-INT" } else { "-TERM" };
        let status = std::process::Command::new("kill")
            .args([name, &pid])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {name} {pid}");
    }

    /// Close the reading end of its standard error, as when whatever showed
    /// its logs has gone (the `tee` in a terminal, killed by the same
    /// ctrl-c): from now on every write to it fails.
    pub async fn close_stderr(&mut self) {
        if let Some(reader) = self.stderr_reader.take() {
            reader.abort();
            // Once the reader task has ended, the pipe's end is dropped.
            let _ = reader.await;
        }
    }

    /// Wait until a line of its standard error contains `wanted`.
    pub async fn wait_for_log(&mut self, wanted: &str) {
        let found = tokio::time::timeout(
            CHILD_TIMEOUT,
            self.stderr
                .wait_for(|lines| lines.iter().any(|l| l.contains(wanted))),
        )
        .await
        .is_ok_and(|seen| seen.is_ok());
        if !found {
            panic!(
                "no log line containing {wanted:?}; stderr:\n{}",
                self.stderr.borrow().join("\n")
            );
        }
    }

    /// Wait for the process to exit; its exit code and whole standard error.
    pub async fn finish(mut self) -> (i32, String) {
        let status = tokio::time::timeout(CHILD_TIMEOUT, self.child.wait())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "the service did not exit within {CHILD_TIMEOUT:?}; stderr:\n{}",
                    self.stderr.borrow().join("\n")
                )
            })
            .expect("exit status");
        if let Some(reader) = self.stderr_reader.take() {
            let _ = tokio::time::timeout(CHILD_TIMEOUT, reader).await;
        }
        let text = self.stderr.borrow().join("\n");
        let code = status
            .code()
            .unwrap_or_else(|| panic!("killed by a signal ({status}); stderr:\n{text}"));
        (code, text)
    }
}

/// A response, as far as the tests care.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What became of one request.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The server answered.
    Answered(Response),
    /// No connection could be made: nothing was sent.
    ConnectFailed,
    /// The request was sent (in part or whole) and the connection ended
    /// without an answer.
    NoAnswer,
}

/// One request, as bytes.
pub fn request(method: &str, path: &str, extra_headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: test\r\n");
    for (name, value) in extra_headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" || method == "PUT" {
        head.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A connection with a `GET path` whose head is not finished: the service
/// has taken the connection and waits for the rest of the request.
pub async fn unfinished_get(addr: SocketAddr, path: &str) -> BufReader<TcpStream> {
    let mut conn = TcpStream::connect(addr).await.expect("connect");
    conn.write_all(format!("GET {path} HTTP/1.1\r\nhost: test\r\n").as_bytes())
        .await
        .expect("write");
    BufReader::new(conn)
}

/// A connection with a `POST /events` of `body` whose head was answered
/// `100 Continue` and whose body the service is waiting for.
pub async fn post_waiting_for_its_body(addr: SocketAddr, body: &str) -> BufReader<TcpStream> {
    let mut conn = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /events HTTP/1.1\r\nhost: test\r\ncontent-length: {}\r\nexpect: 100-continue\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.expect("write");
    let mut conn = BufReader::new(conn);
    let interim = read_response(&mut conn).await.expect("an interim answer");
    assert_eq!(interim.status, 100, "{interim:?}");
    conn
}

/// Read one response from `conn`; `None` if the connection ended (or
/// failed) before a whole response arrived. An interim `100 Continue` is
/// returned as a response of its own.
pub async fn read_response<R: tokio::io::AsyncBufRead + Unpin>(conn: &mut R) -> Option<Response> {
    let mut status_line = String::new();
    if conn.read_line(&mut status_line).await.ok()? == 0 {
        return None;
    }
    let status: u16 = status_line.split_whitespace().nth(1)?.parse().ok()?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if conn.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(Some(0), |(_, v)| v.parse().ok())?;
    let mut body = vec![0; length];
    conn.read_exact(&mut body).await.ok()?;
    Some(Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// A keep-alive HTTP/1.1 client on one connection at a time: it connects
/// when it has none, and drops the connection when the server closes it or
/// asks to.
pub struct Client {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr, conn: None }
    }

    /// Send one request and read its answer.
    pub async fn send(&mut self, bytes: &[u8]) -> Outcome {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => match TcpStream::connect(self.addr).await {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    self.conn.insert(BufReader::new(stream))
                }
                Err(_) => return Outcome::ConnectFailed,
            },
        };
        if conn.get_mut().write_all(bytes).await.is_err() {
            self.conn = None;
            return Outcome::NoAnswer;
        }
        match read_response(conn).await {
            Some(response) => {
                if response.header("connection") == Some("close") {
                    self.conn = None;
                }
                Outcome::Answered(response)
            }
            None => {
                self.conn = None;
                Outcome::NoAnswer
            }
        }
    }

    /// `POST /events` with `{"id": id, "payload": payload}`.
    pub async fn post_event(&mut self, id: &str, payload: &str) -> Outcome {
        let body = format!(r#"{{"id":"{id}","payload":{payload}}}"#);
        self.send(&request("POST", "/events", &[], body.as_bytes()))
            .await
    }

    /// A request on a fresh connection of its own, closed afterwards.
    pub async fn once(addr: SocketAddr, bytes: &[u8]) -> Outcome {
        let mut client = Self::new(addr);
        let outcome = client.send(bytes).await;
        client.conn = None;
        outcome
    }
}

/// The rows of the `events` table, by id, with how many rows each id has.
pub fn stored_ids(db: &Path) -> std::collections::HashMap<String, u64> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the database");
    let mut select = conn
        .prepare("SELECT id, COUNT(*) FROM events GROUP BY id")
        .expect("the events table");
    select
        .query_map([], |row| Ok((row.get(0)?, row.get::<_, i64>(1)? as u64)))
        .expect("query")
        .map(|row| row.expect("a row"))
        .collect()
}

/// The sum of `inserted` over the audit table: what the audit trail says
/// was stored.
pub fn audited_inserts(db: &Path) -> u64 {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the database");
    conn.query_row("SELECT COALESCE(SUM(inserted), 0) FROM audit", [], |row| {
        row.get::<_, i64>(0)
    })
    .expect("the audit table") as u64
}
