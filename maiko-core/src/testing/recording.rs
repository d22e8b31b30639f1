use std::{
    fmt,
    io::{self, BufRead, BufReader},
    path::Path,
    sync::Arc,
};

use serde::de::DeserializeOwned;

use super::{ActorSpy, EventChain, EventEntry, EventQuery, EventRecords, EventSpy, Flow, TopicSpy};
use crate::{ActorId, Envelope, Event, EventId, Meta, Topic};

/// A recording made by the [`Recorder`](crate::monitors::Recorder) monitor,
/// loaded back for the harness's queries (features `test-harness` and
/// `serde`): inspect a recorded production run with the same
/// [`EventQuery`], [`EventSpy`] and [`EventChain`] calls a test uses.
///
/// Each line gives one entry: the event, its sender, parent and time, and
/// the actor it was dispatched to; the topic is computed again from the
/// event with [`Topic::from_event`]. Lines written by maiko 0.3 (which name
/// no receiver) are read too, with an empty receiver name.
pub struct Recording<E: Event, T: Topic<E>> {
    records: EventRecords<E, T>,
}

#[derive(serde::Deserialize)]
struct Line<E> {
    meta: Meta,
    event: E,
    #[serde(default)]
    receiver: Option<ActorId>,
}

impl<E: Event + DeserializeOwned, T: Topic<E>> Recording<E, T> {
    /// Load the recording at `path`.
    ///
    /// # Errors
    ///
    /// If the file cannot be read, or a line is not a record of an `E`
    /// (the error says which line).
    pub fn load<P: AsRef<Path>>(path: P) -> io::Result<Self> {
        Self::read(BufReader::new(std::fs::File::open(path)?))
    }

    /// Read a recording from any buffered reader.
    ///
    /// # Errors
    ///
    /// As [`load`](Self::load).
    pub fn read<R: BufRead>(reader: R) -> io::Result<Self> {
        let mut records = Vec::new();
        for (number, line) in reader.lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let Line {
                meta,
                event,
                receiver,
            }: Line<E> = serde_json::from_str(&line).map_err(|error| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("line {}: {error}", number + 1),
                )
            })?;
            let topic = T::from_event(&event);
            let envelope = Arc::new(Envelope::from_parts(meta, event));
            let receiver = receiver.unwrap_or_else(|| ActorId::new(""));
            records.push(EventEntry::new(envelope, topic, receiver, records.len()));
        }
        Ok(Self {
            records: Arc::new(records),
        })
    }
}

impl<E: Event, T: Topic<E>> Recording<E, T> {
    /// Every entry, to filter and count.
    pub fn events(&self) -> EventQuery<E, T> {
        EventQuery::new(Arc::clone(&self.records))
    }

    /// What became of the event `id`.
    pub fn event(&self, id: EventId) -> EventSpy<E, T> {
        EventSpy::new(Arc::clone(&self.records), id)
    }

    /// What `actor` received and sent. A recording knows nothing of
    /// liveness: the spy reports the actor as neither running nor stopped.
    pub fn actor(&self, actor: &ActorId) -> ActorSpy<E, T> {
        ActorSpy::new(Arc::clone(&self.records), actor.clone(), false, false)
    }

    /// What was published on `topic`.
    pub fn topic(&self, topic: T) -> TopicSpy<E, T> {
        TopicSpy::new(Arc::clone(&self.records), topic)
    }

    /// The tree of events that descend from `id`.
    pub fn chain(&self, id: EventId) -> EventChain<E, T> {
        EventChain::new(Arc::clone(&self.records), id)
    }

    /// The whole flow, as a picture (see [`Flow`]).
    pub fn flow(&self) -> Flow {
        self.events().flow()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the recording has no entry.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

impl<E: Event, T: Topic<E>> fmt::Debug for Recording<E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recording")
            .field("entries", &self.records.len())
            .finish()
    }
}
