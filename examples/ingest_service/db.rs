//! The SQLite database, owned by one thread of its own.
//!
//! SQLite calls block, so none of them runs on a tokio worker: the
//! connection lives on a dedicated thread, and actors hand it work with
//! [`Db::call`], which waits (asynchronously) for the thread's answer. A
//! commit has happened when `call` returns.
//!
//! The thread runs until every [`Db`] handle is gone, then closes the
//! connection (checkpointing the write-ahead log) and says so through
//! [`Closed`]. The handles live in the actors that write, so the connection
//! closes only after the last of them has ended.

use std::{fmt, path::Path, sync::mpsc, thread};

use rusqlite::{Connection, params};
use tokio::sync::oneshot;

use crate::pipeline::{BatchSummary, Record};

/// The tables, created when missing. Times are milliseconds since the Unix
/// epoch.
const SCHEMA: &str = "
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    CREATE TABLE IF NOT EXISTS events (
        id          TEXT PRIMARY KEY NOT NULL,
        payload     TEXT NOT NULL,
        kind        TEXT NOT NULL,
        bytes       INTEGER NOT NULL,
        flag        TEXT,
        received_at INTEGER NOT NULL,
        stored_at   INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS audit (
        run          INTEGER NOT NULL,
        batch        INTEGER NOT NULL,
        events       INTEGER NOT NULL,
        inserted     INTEGER NOT NULL,
        duplicates   INTEGER NOT NULL,
        oldest_wait  INTEGER NOT NULL,
        committed_at INTEGER NOT NULL,
        PRIMARY KEY (run, batch)
    );
";

/// Work for the database thread.
type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// A handle on the database thread. Cloning it is cheap; the connection
/// closes when the last clone is dropped.
#[derive(Clone)]
pub struct Db {
    jobs: mpsc::Sender<Job>,
}

/// Resolves once the database thread has closed the connection.
pub struct Closed(oneshot::Receiver<Result<(), DbError>>);

/// What went wrong with the database.
#[derive(Debug)]
pub enum DbError {
    /// SQLite refused.
    Sqlite(rusqlite::Error),
    /// The database thread is gone (it panicked, or the connection closed).
    ThreadGone,
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(error) => write!(f, "sqlite: {error}"),
            Self::ThreadGone => f.write_str("the database thread is gone"),
        }
    }
}

impl std::error::Error for DbError {}

impl From<rusqlite::Error> for DbError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Sqlite(error)
    }
}

impl Db {
    /// Open (or create) the database at `path` on a new thread, with the
    /// schema in place. Returns once the database is usable, or with the
    /// reason it is not.
    pub fn open(path: &Path) -> Result<(Self, Closed), DbError> {
        let path = path.to_owned();
        let (jobs, queue) = mpsc::channel::<Job>();
        let (opened_tx, opened) = mpsc::sync_channel(1);
        let (closed_tx, closed) = oneshot::channel();
        thread::Builder::new()
            .name("sqlite".into())
            .spawn(move || {
                let mut conn = match Connection::open(&path)
                    .and_then(|conn| conn.execute_batch(SCHEMA).map(|()| conn))
                {
                    Ok(conn) => conn,
                    Err(error) => {
                        let _ = opened_tx.send(Err(DbError::Sqlite(error)));
                        return;
                    }
                };
                let _ = opened_tx.send(Ok(()));
                // Every job in the order it was sent, until the last handle
                // is dropped.
                for job in queue {
                    job(&mut conn);
                }
                let closing = conn.close().map_err(|(_, error)| DbError::Sqlite(error));
                let _ = closed_tx.send(closing);
            })
            .map_err(|_| DbError::ThreadGone)?;
        opened.recv().map_err(|_| DbError::ThreadGone)??;
        Ok((Self { jobs }, Closed(closed)))
    }

    /// Run `work` on the database thread and wait for its result, without
    /// blocking the caller's tokio worker.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future does not take the work back: it runs (or has
    /// run) on the database thread anyway; only its result is lost.
    pub async fn call<R, F>(&self, work: F) -> Result<R, DbError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<R> + Send + 'static,
    {
        let (answer_tx, answer) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let _ = answer_tx.send(work(conn));
        });
        self.jobs.send(job).map_err(|_| DbError::ThreadGone)?;
        Ok(answer.await.map_err(|_| DbError::ThreadGone)??)
    }
}

impl Closed {
    /// Wait until the connection is closed, and say whether it closed
    /// cleanly.
    pub async fn wait(self) -> Result<(), DbError> {
        self.0.await.map_err(|_| DbError::ThreadGone)?
    }
}

/// What a batch insert did.
#[derive(Debug, Clone, Copy)]
pub struct Inserted {
    /// Rows written.
    pub rows: u64,
    /// Records whose id was already stored (`INSERT OR IGNORE`).
    pub duplicates: u64,
}

/// Insert `records` in one transaction, stamped `stored_at`; an id that is
/// already stored is left as it is.
pub fn insert_events(
    conn: &mut Connection,
    records: &[Record],
    stored_at: u64,
) -> rusqlite::Result<Inserted> {
    let tx = conn.transaction()?;
    let mut rows = 0;
    {
        let mut insert = tx.prepare_cached(
            "INSERT OR IGNORE INTO events (id, payload, kind, bytes, flag, received_at, stored_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for r in records {
            rows += insert.execute(params![
                &*r.id,
                &*r.payload,
                r.kind,
                r.payload.len() as i64,
                r.flag,
                r.received_at as i64,
                stored_at as i64,
            ])? as u64;
        }
    }
    tx.commit()?;
    Ok(Inserted {
        rows,
        duplicates: records.len() as u64 - rows,
    })
}

/// Record one committed batch in the audit table.
pub fn insert_audit(conn: &mut Connection, s: &BatchSummary) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO audit
             (run, batch, events, inserted, duplicates, oldest_wait, committed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        s.run as i64,
        s.batch as i64,
        s.events as i64,
        s.inserted as i64,
        s.duplicates as i64,
        s.oldest_wait_ms as i64,
        s.committed_at as i64,
    ])?;
    Ok(())
}
