//! The subscriber of the fault trials, and the record its instances share
//! with the test.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, Ordering},
    },
};

use maiko::*;

use super::{Ev, Fate, Key, SubSpec, failure_text, fate, panics, yields};

/// What every instance of one subscriber did, kept across restarts.
#[derive(Debug, Default)]
pub struct Record {
    /// The events whose handler returned `Ok`, in order.
    pub handled: Mutex<Vec<Key>>,
    /// Per event, how many attempts failed.
    pub failed_attempts: Mutex<HashMap<Key, u32>>,
    /// Failed attempts in all.
    pub failures: AtomicU32,
    /// Instances whose `on_start` ran.
    pub starts: AtomicU32,
    /// Of these, the ones started after the stop request: restarts during
    /// the drain.
    pub starts_while_stopping: AtomicU32,
    /// Instances whose `on_shutdown` ran.
    pub shutdowns: AtomicU32,
}

impl Record {
    pub fn failed_attempts_of(&self, key: Key) -> u32 {
        self.failed_attempts
            .lock()
            .unwrap()
            .get(&key)
            .copied()
            .unwrap_or(0)
    }
}

/// One instance of subscriber `index` of the trial of `seed`: fails as
/// [`fate`] says, with an error or a panic as [`panics`] says, and records
/// the rest as handled.
pub struct Flaky {
    pub ctx: Context<Ev>,
    pub seed: u64,
    pub index: usize,
    pub spec: Arc<SubSpec>,
    pub record: Arc<Record>,
}

impl Flaky {
    /// A factory of instances, for `add_restartable` or `add_actor`.
    pub fn factory(
        seed: u64,
        index: usize,
        spec: &Arc<SubSpec>,
        record: &Arc<Record>,
    ) -> impl FnMut(Context<Ev>) -> Flaky + Send + 'static {
        let (spec, record) = (Arc::clone(spec), Arc::clone(record));
        move |ctx| Flaky {
            ctx,
            seed,
            index,
            spec: Arc::clone(&spec),
            record: Arc::clone(&record),
        }
    }
}

impl Actor for Flaky {
    type Event = Ev;

    async fn on_start(&mut self) -> Result {
        self.record.starts.fetch_add(1, Ordering::SeqCst);
        if self.ctx.is_stopping() {
            self.record
                .starts_while_stopping
                .fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }

    async fn handle_event(&mut self, envelope: &Envelope<Ev>) -> Result {
        let event = envelope.event();
        let key = (event.producer, event.seq);
        for _ in 0..yields(self.seed, self.index, &self.spec, key) {
            tokio::task::yield_now().await;
        }
        let attempt = self.record.failed_attempts_of(key);
        let fails = match fate(self.seed, self.index, &self.spec, key) {
            Fate::Fine => false,
            Fate::FailOnce => attempt == 0,
            Fate::AlwaysFail => true,
        };
        if fails {
            self.record
                .failed_attempts
                .lock()
                .unwrap()
                .insert(key, attempt + 1);
            self.record.failures.fetch_add(1, Ordering::SeqCst);
            let panicked = panics(self.seed, self.index, key, attempt);
            let text = failure_text(&self.spec.name, key, attempt, panicked);
            if panicked {
                panic!("{text}");
            }
            return Err(Error::external(std::io::Error::other(text)));
        }
        self.record.handled.lock().unwrap().push(key);
        Ok(())
    }

    async fn on_shutdown(&mut self) -> Result {
        self.record.shutdowns.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}
