use std::{
    fmt,
    fs::File,
    io::{BufWriter, Write},
    path::Path,
};

use parking_lot::Mutex;
use serde::Serialize;

use crate::{ActorId, Envelope, Event, Meta, Topic, monitoring::Monitor};

/// Writes the event flow to a JSON Lines file: one line per copy of an
/// event dispatched to a subscriber (feature `recorder`).
///
/// Each line is an object with the event's `meta` (`id` as a number,
/// `timestamp` in nanoseconds, `actor_id` the publisher, `parent_id` a
/// number or `null`) and the `event` itself (through its `Serialize`), as
/// maiko 0.3 wrote it, followed by `receiver` (the subscriber) and `topic`
/// (the topic's name); readers that know only the first two ignore the
/// rest. [`Recording`](crate::testing::Recording) (feature `test-harness`)
/// loads a file back into the harness's queries.
///
/// Lines are written on the monitoring task, never on an actor's, through
/// a buffer that is written out whenever the queue of records runs empty,
/// on [`MonitorHandle::flush`](crate::monitoring::MonitorHandle::flush),
/// and when the supervisor has stopped.
pub struct Recorder {
    out: Mutex<BufWriter<File>>,
}

#[derive(Serialize)]
struct Line<'a, E> {
    meta: &'a Meta,
    event: &'a E,
    receiver: &'a ActorId,
    topic: &'a str,
}

impl Recorder {
    /// A recorder writing to `path` (created, or truncated if it exists).
    ///
    /// # Errors
    ///
    /// If the file cannot be created.
    pub fn new<P: AsRef<Path>>(path: P) -> std::io::Result<Self> {
        Ok(Self {
            out: Mutex::new(BufWriter::new(File::create(path)?)),
        })
    }
}

impl<E, T> Monitor<E, T> for Recorder
where
    E: Event + Serialize,
    T: Topic<E>,
{
    fn on_event_dispatched(&self, envelope: &Envelope<E>, topic: &T, receiver: &ActorId) {
        let line = Line {
            meta: envelope.meta(),
            event: envelope.event(),
            receiver,
            topic: &topic.name(),
        };
        let mut out = self.out.lock();
        let written = serde_json::to_writer(&mut *out, &line)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"));
        if let Err(error) = written {
            tracing::warn!(%error, "the recorder could not write a line");
        }
    }

    fn on_flush(&self) {
        if let Err(error) = self.out.lock().flush() {
            tracing::warn!(%error, "the recorder could not write to its file");
        }
    }
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder").finish_non_exhaustive()
    }
}
