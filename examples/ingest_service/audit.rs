//! The audit supervisor: one `trail` actor recording every committed batch
//! in the `audit` table.
//!
//! It is added to the shutdown group after the ingest supervisor, so it
//! closes after it: its `on_shutdown` runs once the sink has committed its
//! last batch, and picks up the summaries that could not travel through
//! the runtime (those of commits made after the gate had closed).

use std::sync::{Arc, atomic::Ordering::Relaxed, mpsc};

use maiko::*;

use crate::{
    db::{self, Db},
    pipeline::{BatchSummary, Figures},
};

/// The audit supervisor's event type: one committed batch.
#[derive(Event, Clone, Copy, Debug)]
pub struct AuditEntry(pub BatchSummary);

/// Writes every audit entry to the database. Holds the last handle on the
/// database: when it ends, the connection closes.
pub struct Trail {
    pub db: Option<Db>,
    pub late: mpsc::Receiver<BatchSummary>,
    pub figures: Arc<Figures>,
}

impl Trail {
    async fn record(&mut self, summary: BatchSummary) -> Result {
        let Some(db) = &self.db else {
            return Ok(());
        };
        db.call(move |conn| db::insert_audit(conn, &summary))
            .await
            .map_err(Error::external)?;
        self.figures.audited.fetch_add(1, Relaxed);
        Ok(())
    }
}

impl Actor for Trail {
    type Event = AuditEntry;

    async fn handle_event(&mut self, envelope: &Envelope<AuditEntry>) -> Result {
        self.record(envelope.event().0).await
    }

    async fn on_shutdown(&mut self) -> Result {
        // Every member added before this one has ended: the sink's last
        // commit is done and its summary, if the gate refused it, is here.
        let late: Vec<BatchSummary> = self.late.try_iter().collect();
        for summary in &late {
            self.record(*summary).await?;
        }
        tracing::info!(
            "audit trail: closed after {} entries ({} handed over at the end)",
            self.figures.audited.load(Relaxed),
            late.len()
        );
        // The last handle on the database: the connection closes now.
        self.db = None;
        Ok(())
    }
}
