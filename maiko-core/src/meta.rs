use std::{fmt, time::SystemTime};

use crate::{ActorId, EventId};

/// What the runtime records about an event: its id, who published it, the
/// event it answers (if any) and when it was published.
///
/// The runtime fills every field when the event is accepted; in particular
/// [`actor_id`](Self::actor_id) is always the real publisher.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Meta {
    id: EventId,
    timestamp: u64,
    actor_id: ActorId,
    parent_id: Option<EventId>,
}

impl Meta {
    /// Metadata with a fresh id and the current time.
    pub fn new(actor_id: ActorId, parent_id: Option<EventId>) -> Self {
        Self {
            id: EventId::new(),
            timestamp: now_nanos(),
            actor_id,
            parent_id,
        }
    }

    /// The event's id.
    pub fn id(&self) -> EventId {
        self.id
    }

    /// When the broker took the event from its publisher's channel, in
    /// nanoseconds since the Unix epoch: right after the publish, unless the
    /// publisher's channel was backed up. The clock is read once per batch
    /// of events the broker takes, not once per event. For an envelope built
    /// with [`Envelope::new`](crate::Envelope::new), the time it was built.
    /// 0 if the system clock is set before the epoch.
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// The publisher's name.
    pub fn actor_name(&self) -> &str {
        self.actor_id.as_str()
    }

    /// The publisher. The supervisor and its handles publish as
    /// `"supervisor"`.
    pub fn actor_id(&self) -> &ActorId {
        &self.actor_id
    }

    /// The event this one answers, if it was published with
    /// [`Context::send_child_event`](crate::Context::send_child_event).
    pub fn parent_id(&self) -> Option<EventId> {
        self.parent_id
    }

    /// Metadata of the event `id`, whose timestamp the broker fills in when
    /// it routes the event.
    pub(crate) fn unstamped(id: EventId, actor_id: ActorId, parent_id: Option<EventId>) -> Self {
        Self {
            id,
            timestamp: 0,
            actor_id,
            parent_id,
        }
    }

    pub(crate) fn set_timestamp(&mut self, timestamp: u64) {
        self.timestamp = timestamp;
    }

    pub(crate) fn set_parent(&mut self, parent_id: Option<EventId>) {
        self.parent_id = parent_id;
    }
}

pub(crate) fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64)
}

impl fmt::Display for Meta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "id: {}, timestamp: {}, sender: {}",
            self.id, self.timestamp, self.actor_id
        )?;
        if let Some(parent) = self.parent_id {
            write!(f, ", parent: {parent}")?;
        }
        Ok(())
    }
}
