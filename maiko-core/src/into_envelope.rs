use crate::{Envelope, Event, EventId};

/// What the publish methods accept: an event, or an [`Envelope`] built by
/// hand.
///
/// Any `E: Event` and any `Envelope<E>` convert into it, so
/// `ctx.send(MyEvent::Ping)` and `ctx.send(envelope)` both work. Of an
/// envelope only the event and the parent id are kept; the runtime stamps a
/// fresh id, the time and the real publisher.
#[derive(Debug, Clone)]
pub struct IntoEnvelope<E> {
    event: E,
    parent_id: Option<EventId>,
}

impl<E> IntoEnvelope<E> {
    pub(crate) fn into_parts(self) -> (E, Option<EventId>) {
        (self.event, self.parent_id)
    }
}

impl<E: Event> From<E> for IntoEnvelope<E> {
    fn from(event: E) -> Self {
        Self {
            event,
            parent_id: None,
        }
    }
}

impl<E> From<Envelope<E>> for IntoEnvelope<E> {
    fn from(envelope: Envelope<E>) -> Self {
        let (event, parent_id) = envelope.into_parts();
        Self { event, parent_id }
    }
}
