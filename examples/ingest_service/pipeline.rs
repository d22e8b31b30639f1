//! The ingest supervisor: `validate`, `enrich` and `sink`, and the `bridge`
//! that tells the audit trail about every committed batch.
//!
//! ```text
//! HTTP ─Received─▶ validate ─Validated─▶ enrich ─Enriched─▶ sink ─Committed─▶ bridge ─▶ audit
//!                                                             │
//!                                                             ▼
//!                                                      database thread
//! ```
//!
//! Nothing a client was told is accepted is dropped along the way:
//! `validate` flags records a person should look at but never discards
//! one, and the sink stores every record it receives.

use std::{
    borrow::Cow,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering::Relaxed},
        mpsc,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use maiko::*;

use crate::{
    audit::AuditEntry,
    db::{self, Db},
};

/// One event on its way to the database. Cloning it is cheap: the id and
/// the payload are shared.
#[derive(Clone, Debug)]
pub struct Record {
    /// The client's id: the primary key.
    pub id: Arc<str>,
    /// The payload, as the client sent it (JSON text).
    pub payload: Arc<str>,
    /// When the HTTP layer had it accepted, in ms since the Unix epoch.
    pub received_at: u64,
    /// Why `validate` flagged it, if it did.
    pub flag: Option<&'static str>,
    /// The payload's JSON type, from `enrich`.
    pub kind: &'static str,
}

impl Record {
    /// A record as the HTTP layer makes it, before the pipeline has seen it.
    pub fn received(id: String, payload: Arc<str>) -> Self {
        Self {
            id: id.into(),
            payload,
            received_at: now_ms(),
            flag: None,
            kind: "",
        }
    }
}

/// What the sink says about a committed batch.
#[derive(Clone, Copy, Debug)]
pub struct BatchSummary {
    /// This process's run: its start time in ms since the Unix epoch.
    pub run: u64,
    /// The batch's number in this run, from 1.
    pub batch: u64,
    /// Records in the batch.
    pub events: u64,
    /// Rows it added.
    pub inserted: u64,
    /// Records whose id was already stored.
    pub duplicates: u64,
    /// How long its oldest record waited from acceptance to commit, in ms.
    pub oldest_wait_ms: u64,
    /// When it was committed, in ms since the Unix epoch.
    pub committed_at: u64,
}

/// The ingest supervisor's event type.
#[derive(Event, Clone, Debug)]
pub enum Ingest {
    /// Accepted by the HTTP layer.
    Received(Record),
    /// Checked by `validate`.
    Validated(Record),
    /// Completed by `enrich`: ready to store.
    Enriched(Record),
    /// A batch the sink committed.
    Committed(BatchSummary),
}

/// The topics of the ingest supervisor: one per stage, all `Block` (a full
/// mailbox makes the publisher wait: nothing is dropped).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Stage {
    Received,
    Validated,
    Enriched,
    Committed,
}

impl Topic<Ingest> for Stage {
    fn from_event(event: &Ingest) -> Self {
        match event {
            Ingest::Received(_) => Self::Received,
            Ingest::Validated(_) => Self::Validated,
            Ingest::Enriched(_) => Self::Enriched,
            Ingest::Committed(_) => Self::Committed,
        }
    }

    fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            Self::Received => "received",
            Self::Validated => "validated",
            Self::Enriched => "enriched",
            Self::Committed => "committed",
        })
    }
}

/// Figures the actors keep for `/stats` and the final summary.
#[derive(Debug, Default)]
pub struct Figures {
    /// Records written to the database this run.
    pub stored: AtomicU64,
    /// Records whose id was already in the database.
    pub duplicates: AtomicU64,
    /// Batches committed.
    pub batches: AtomicU64,
    /// Records `validate` flagged.
    pub flagged: AtomicU64,
    /// Entries the audit trail wrote.
    pub audited: AtomicU64,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Flags records a person should look at. It never drops one: the client
/// was told the record is accepted, so it is stored, flag and all.
pub struct Validate {
    pub ctx: Context<Ingest>,
    pub figures: Arc<Figures>,
}

impl Validate {
    fn flag(record: &Record) -> Option<&'static str> {
        if record.id.chars().any(char::is_control) {
            Some("id has control characters")
        } else if record.id.trim() != &*record.id {
            Some("id has surrounding whitespace")
        } else if record.id.len() > 200 {
            Some("id longer than 200 bytes")
        } else if &*record.payload == "null" {
            Some("no payload")
        } else {
            None
        }
    }
}

impl Actor for Validate {
    type Event = Ingest;

    async fn handle_event(&mut self, envelope: &Envelope<Ingest>) -> Result {
        let Ingest::Received(record) = envelope.event() else {
            return Ok(());
        };
        let mut record = record.clone();
        record.flag = Self::flag(&record);
        if record.flag.is_some() {
            self.figures.flagged.fetch_add(1, Relaxed);
        }
        self.ctx
            .send_child_event(Ingest::Validated(record), envelope.id())
            .await
    }
}

/// Adds what the database wants to know about the payload.
pub struct Enrich {
    pub ctx: Context<Ingest>,
}

impl Enrich {
    /// The JSON type of `payload`, from its first character (the HTTP layer
    /// has already checked that it is JSON).
    fn kind(payload: &str) -> &'static str {
        match payload.trim_start().as_bytes().first() {
            Some(b'{') => "object",
            Some(b'[') => "array",
            Some(b'"') => "string",
            Some(b't' | b'f') => "boolean",
            Some(b'n') | None => "null",
            Some(_) => "number",
        }
    }
}

impl Actor for Enrich {
    type Event = Ingest;

    async fn handle_event(&mut self, envelope: &Envelope<Ingest>) -> Result {
        let Ingest::Validated(record) = envelope.event() else {
            return Ok(());
        };
        let mut record = record.clone();
        record.kind = Self::kind(&record.payload);
        self.ctx
            .send_child_event(Ingest::Enriched(record), envelope.id())
            .await
    }
}

/// How the sink batches.
#[derive(Clone, Copy, Debug)]
pub struct Batching {
    /// Commit once this many records are waiting.
    pub max_events: usize,
    /// Commit once the oldest waiting record is this old.
    pub max_wait: Duration,
}

/// Writes records to the database in batches: a batch is committed when it
/// is full, when its oldest record has waited long enough, and when the
/// runtime stops (in `on_shutdown`, after the mailbox is drained: the last
/// batch is committed before the stop completes).
///
/// After each commit it publishes a [`BatchSummary`] for the bridge. A
/// summary the gate refuses (a commit made by `step` just as the stop came,
/// or the last one, made in `on_shutdown` when the gate is closed) goes to
/// the audit trail through `late` instead: the trail belongs to a member
/// that closes after this one, so it reads them after the last commit.
pub struct Sink {
    pub ctx: Context<Ingest>,
    pub db: Db,
    pub batching: Batching,
    pub run: u64,
    pub late: mpsc::Sender<BatchSummary>,
    pub figures: Arc<Figures>,
    pub batch: Vec<Record>,
    pub oldest: Option<Instant>,
    pub committed: u64,
}

impl Sink {
    pub fn new(
        ctx: Context<Ingest>,
        db: Db,
        batching: Batching,
        run: u64,
        late: mpsc::Sender<BatchSummary>,
        figures: Arc<Figures>,
    ) -> Self {
        Self {
            ctx,
            db,
            batching,
            run,
            late,
            figures,
            batch: Vec::with_capacity(batching.max_events),
            oldest: None,
            committed: 0,
        }
    }

    /// Commit what is waiting, and wait until the database thread has
    /// committed it.
    async fn commit(&mut self) -> Result {
        if self.batch.is_empty() {
            return Ok(());
        }
        let records = std::mem::replace(
            &mut self.batch,
            Vec::with_capacity(self.batching.max_events),
        );
        self.oldest = None;
        let oldest_received = records.iter().map(|r| r.received_at).min().unwrap_or(0);
        let events = records.len() as u64;
        let stored_at = now_ms();
        let inserted = match self
            .db
            .call(move |conn| db::insert_events(conn, &records, stored_at))
            .await
        {
            Ok(inserted) => inserted,
            Err(error) => {
                // Without its database the service can only refuse work:
                // stop it, and fail (the report will not be clean).
                tracing::error!(%error, events, "sink: commit failed; stopping the service");
                let _ = self.ctx.stop_runtime();
                return Err(Error::external(error));
            }
        };
        self.committed += 1;
        self.figures.stored.fetch_add(inserted.rows, Relaxed);
        self.figures
            .duplicates
            .fetch_add(inserted.duplicates, Relaxed);
        self.figures.batches.fetch_add(1, Relaxed);
        let summary = BatchSummary {
            run: self.run,
            batch: self.committed,
            events,
            inserted: inserted.rows,
            duplicates: inserted.duplicates,
            oldest_wait_ms: stored_at.saturating_sub(oldest_received),
            committed_at: stored_at,
        };
        tracing::debug!(?summary, "sink: batch committed");
        if let Err(refused) = self.ctx.publish(Ingest::Committed(summary)).await
            && let Ingest::Committed(summary) = refused.into_event()
        {
            let _ = self.late.send(summary);
        }
        Ok(())
    }
}

impl Actor for Sink {
    type Event = Ingest;

    async fn handle_event(&mut self, envelope: &Envelope<Ingest>) -> Result {
        let Ingest::Enriched(record) = envelope.event() else {
            return Ok(());
        };
        if self.batch.is_empty() {
            self.oldest = Some(Instant::now());
        }
        self.batch.push(record.clone());
        if self.batch.len() >= self.batching.max_events {
            self.commit().await?;
        }
        Ok(())
    }

    /// The timer of a batch that does not fill up: runs after an event
    /// arrives, and then when the oldest record has waited `max_wait`.
    async fn step(&mut self) -> Result<StepAction> {
        let Some(oldest) = self.oldest else {
            return Ok(StepAction::AwaitEvent);
        };
        let waited = oldest.elapsed();
        if waited < self.batching.max_wait {
            return Ok(StepAction::Backoff(self.batching.max_wait - waited));
        }
        self.commit().await?;
        Ok(StepAction::AwaitEvent)
    }

    async fn on_shutdown(&mut self) -> Result {
        let last = self.batch.len();
        self.commit().await?;
        tracing::info!(
            "sink: last batch committed ({last} events); {} batches this run",
            self.committed
        );
        Ok(())
    }
}

/// Tells the audit trail, a supervisor of its own, about every committed
/// batch.
pub struct Bridge {
    pub ctx: Context<Ingest>,
    pub audit: SupervisorHandle<AuditEntry>,
    pub late: mpsc::Sender<BatchSummary>,
}

impl Actor for Bridge {
    type Event = Ingest;

    async fn handle_event(&mut self, envelope: &Envelope<Ingest>) -> Result {
        let Ingest::Committed(summary) = envelope.event() else {
            return Ok(());
        };
        // From a handler, a forward is admitted while the group drains; one
        // refused at the deadline still reaches the trail, late.
        if let Err(refused) = self.ctx.forward(&self.audit, AuditEntry(*summary)).await {
            let _ = self.late.send(refused.into_event().0);
        }
        Ok(())
    }
}
