use std::{fmt, hash, sync::Arc};

use crate::{ActorId, Envelope, Event, EventId, Meta, Topic};

/// One record of the event flow: an event, the topic it was routed on, and
/// one actor that handled it. An event handled by three actors gives three
/// entries with the same id.
///
/// Entries are recorded when the receiver has handled the event (its
/// `handle_event` returned), and listed in the order of a logical clock:
/// an entry comes after every entry it causally depends on (the handling of
/// the event's parent, the publisher's earlier handlings), and entries of
/// one actor come in the order it handled them. For a program whose actors
/// each see their events in a deterministic order, the record is the same
/// on every run, on any runtime flavour.
pub struct EventEntry<E: Event, T: Topic<E>> {
    pub(crate) envelope: Arc<Envelope<E>>,
    pub(crate) topic: T,
    pub(crate) receiver: ActorId,
    /// Place in the record the entry was taken from (0 for the first).
    pub(crate) position: usize,
}

impl<E: Event, T: Topic<E>> EventEntry<E, T> {
    pub(crate) fn new(
        envelope: Arc<Envelope<E>>,
        topic: T,
        receiver: ActorId,
        position: usize,
    ) -> Self {
        Self {
            envelope,
            topic,
            receiver,
            position,
        }
    }

    /// The event's id.
    pub fn id(&self) -> EventId {
        self.envelope.id()
    }

    /// The event.
    pub fn payload(&self) -> &E {
        self.envelope.event()
    }

    /// The event's metadata: id, publisher, parent, time.
    pub fn meta(&self) -> &Meta {
        self.envelope.meta()
    }

    /// The topic the event was routed on.
    pub fn topic(&self) -> &T {
        &self.topic
    }

    /// The actor that published the event.
    pub fn sender(&self) -> &ActorId {
        self.envelope.meta().actor_id()
    }

    /// The actor that handled it.
    pub fn receiver(&self) -> &ActorId {
        &self.receiver
    }
}

impl<E: Event, T: Topic<E>> Clone for EventEntry<E, T> {
    fn clone(&self) -> Self {
        Self {
            envelope: Arc::clone(&self.envelope),
            topic: self.topic.clone(),
            receiver: self.receiver.clone(),
            position: self.position,
        }
    }
}

impl<E: Event + fmt::Debug, T: Topic<E> + fmt::Debug> fmt::Debug for EventEntry<E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventEntry")
            .field("id", &self.id())
            .field("payload", self.payload())
            .field("topic", &self.topic)
            .field("sender", self.sender())
            .field("receiver", &self.receiver)
            .finish()
    }
}

/// Two entries are equal when they record the same event (id and payload)
/// handled by the same receiver on the same topic.
impl<E: Event + PartialEq, T: Topic<E>> PartialEq for EventEntry<E, T> {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
            && self.receiver == other.receiver
            && self.topic == other.topic
            && self.payload() == other.payload()
    }
}

impl<E: Event + Eq, T: Topic<E>> Eq for EventEntry<E, T> {}

impl<E: Event + hash::Hash, T: Topic<E>> hash::Hash for EventEntry<E, T> {
    fn hash<H: hash::Hasher>(&self, state: &mut H) {
        self.id().hash(state);
        self.receiver.hash(state);
        self.topic.hash(state);
        self.payload().hash(state);
    }
}
