use std::{fmt, hash, sync::Arc};

use crate::{ActorId, EventId, Meta, internal::tracker::Tracker};

/// An event together with its [`Meta`]: the unit that travels through the
/// runtime, shared by all subscribers behind one `Arc`.
///
/// Handlers receive `&Envelope<E>`. Publishing an envelope built by hand
/// (for example `ctx.send(Envelope::new(event, id))`) is allowed for
/// compatibility, but only its event and parent id are kept: the runtime
/// gives it a fresh id, the current time and the real publisher's id.
///
/// # Examples
///
/// ```
/// use maiko_core::{ActorId, Envelope, EventId};
///
/// let parent = EventId::new();
/// let envelope = Envelope::new("hello", ActorId::new("tester")).with_parent_id(parent);
/// assert_eq!(*envelope.event(), "hello");
/// assert_eq!(envelope.meta().actor_name(), "tester");
/// assert_eq!(envelope.meta().parent_id(), Some(parent));
/// ```
#[derive(Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(
        serialize = "E: serde::Serialize",
        deserialize = "E: serde::de::DeserializeOwned"
    ))
)]
pub struct Envelope<E> {
    meta: Meta,
    event: E,
    /// Hops since the stop request (0 for events published while open).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub(crate) depth: u32,
    /// The publisher's logical clock when it published (feature
    /// `monitoring`; 0 otherwise): orders the monitoring records causally.
    /// 32 bits, saturating, so that an envelope with a small event fits the
    /// allocator's cheapest size class (see `tests::small_events_fit`).
    #[cfg_attr(feature = "serde", serde(skip))]
    #[cfg_attr(not(feature = "monitoring"), allow(dead_code))]
    pub(crate) clock: u32,
    /// What few envelopes carry (a tracker, a span), boxed so that the
    /// others stay small.
    #[cfg_attr(feature = "serde", serde(skip))]
    extra: Rare,
}

/// The box of an envelope's [`Extra`], if it has one. Its drop checks for
/// the box in line and frees it out of line: an envelope without one (the
/// usual case) makes no call to drop it.
#[derive(Default)]
pub(crate) struct Rare(Option<Box<Extra>>);

impl Rare {
    /// The parts of an envelope whose publish has the span `span`.
    #[cold]
    pub(crate) fn traced(span: tracing::Span) -> Self {
        Self(Some(Box::new(Extra {
            tracker: None,
            span: Some(span),
        })))
    }
}

impl Clone for Rare {
    /// A clone keeps the tracker and leaves the span: a clone kept by the
    /// caller (or a harness) must not hold the publish's span open.
    fn clone(&self) -> Self {
        Self(self.0.as_ref().and_then(|extra| {
            let tracker = extra.tracker.clone()?;
            Some(Box::new(Extra {
                tracker: Some(tracker),
                span: None,
            }))
        }))
    }
}

impl Drop for Rare {
    #[inline]
    fn drop(&mut self) {
        if let Some(extra) = self.0.take() {
            free(extra);
        }
    }
}

#[cold]
#[inline(never)]
fn free(extra: Box<Extra>) {
    drop(extra);
}

/// The rarer parts of an [`Envelope`].
#[derive(Default)]
pub(crate) struct Extra {
    /// For a tracked publish: what became of each copy.
    tracker: Option<Arc<Tracker>>,
    /// The `maiko.publish` span, while a subscriber records it: the parent
    /// of each copy's `maiko.process` span (see `internal::spans`).
    span: Option<tracing::Span>,
}

impl<E> Envelope<E> {
    /// An envelope for `event` published by `actor_id`, with a fresh id.
    #[must_use]
    pub fn new(event: E, actor_id: ActorId) -> Self {
        Self {
            meta: Meta::new(actor_id, None),
            event,
            depth: 0,
            clock: 0,
            extra: Rare(None),
        }
    }

    pub(crate) fn stamped(
        id: EventId,
        event: E,
        actor_id: ActorId,
        parent_id: Option<EventId>,
        depth: u32,
        clock: u64,
        extra: Rare,
    ) -> Self {
        Self {
            meta: Meta::unstamped(id, actor_id, parent_id),
            event,
            depth,
            clock: u32::try_from(clock).unwrap_or(u32::MAX),
            extra,
        }
    }

    /// For a tracked publish: what becomes of each copy.
    #[inline]
    pub(crate) fn tracker(&self) -> Option<&Arc<Tracker>> {
        self.extra.0.as_ref()?.tracker.as_ref()
    }

    /// The span of the publish, if a subscriber records it.
    #[inline]
    pub(crate) fn span(&self) -> Option<&tracing::Span> {
        self.extra.0.as_ref()?.span.as_ref()
    }

    pub(crate) fn set_tracker(&mut self, tracker: Arc<Tracker>) {
        self.extra.0.get_or_insert_default().tracker = Some(tracker);
    }

    /// An envelope read back from a recording.
    #[cfg(all(feature = "test-harness", feature = "serde"))]
    pub(crate) fn from_parts(meta: Meta, event: E) -> Self {
        Self {
            meta,
            event,
            depth: 0,
            clock: 0,
            extra: Rare(None),
        }
    }

    pub(crate) fn stamp_time(&mut self, timestamp: u64) {
        self.meta.set_timestamp(timestamp);
    }

    /// The same envelope, marked as an answer to `parent_id`.
    #[must_use]
    pub fn with_parent_id(mut self, parent_id: EventId) -> Self {
        self.meta.set_parent(Some(parent_id));
        self
    }

    /// The event.
    #[inline]
    pub fn event(&self) -> &E {
        &self.event
    }

    /// The metadata.
    #[inline]
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// Shorthand for `self.meta().id()`.
    #[inline]
    pub fn id(&self) -> EventId {
        self.meta.id()
    }

    /// The event, dropping the metadata.
    pub fn into_event(self) -> E {
        self.event
    }

    pub(crate) fn into_parts(self) -> (E, Option<EventId>) {
        let parent = self.meta.parent_id();
        (self.event, parent)
    }
}

impl<E: PartialEq> PartialEq for Envelope<E> {
    fn eq(&self, other: &Self) -> bool {
        self.meta.id() == other.meta.id() && self.event == other.event
    }
}

impl<E: Eq> Eq for Envelope<E> {}

impl<E: hash::Hash> hash::Hash for Envelope<E> {
    fn hash<H: hash::Hasher>(&self, state: &mut H) {
        self.meta.id().hash(state);
        self.event.hash(state);
    }
}

impl<E: fmt::Debug> fmt::Debug for Envelope<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("id", &self.meta.id())
            .field("sender", &self.meta.actor_name())
            .field("event", &self.event)
            .field("timestamp", &self.meta.timestamp())
            .field("parent_id", &self.meta.parent_id())
            .finish()
    }
}

impl<E: fmt::Display> fmt::Display for Envelope<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Envelope {{ id: {}, sender: {}, event: {} }}",
            self.meta.id(),
            self.meta.actor_name(),
            self.event
        )
    }
}

#[cfg(all(test, not(maiko_loom)))]
mod tests {
    use super::*;

    /// An envelope with a 32-byte event, in its `Arc` (two counters more),
    /// is at most 120 bytes: the largest request glibc's allocator serves
    /// from its fast bins, which have no limit on how many chunks they keep.
    /// A burst of events freed by the subscriber after the publisher
    /// allocated them then costs a few instructions each way.
    #[test]
    fn small_events_fit() {
        let in_arc = size_of::<Envelope<[u8; 32]>>() + 2 * size_of::<usize>();
        assert!(
            in_arc <= 120,
            "an envelope of 32 bytes takes {in_arc} bytes"
        );
        assert_eq!(size_of::<Option<EventId>>(), 24);
        assert_eq!(size_of::<ActorId>(), size_of::<usize>());
    }
}
