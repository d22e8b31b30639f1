//! [`EventSpy`]: where one event went, and what it caused.

use std::fmt;

use crate::{ActorId, Event, EventId, Topic};

use super::{EventEntry, EventQuery, EventRecords, event_query::distinct};

/// Answers about one event: who published it, which actors handled it,
/// and which events were published while handling it.
///
/// ```
/// # use std::borrow::Cow;
/// # use maiko_core::{Actor, ActorId, Context, Envelope, Event, Label, Result};
/// # use maiko_core::{Supervisor, Topic, testing::Harness};
/// # #[derive(Clone, Debug)]
/// # enum Input { KeyPress(char), HidReport(u8), Written }
/// # impl Event for Input {}
/// # impl Label for Input {
/// #     fn label(&self) -> Cow<'static, str> {
/// #         Cow::Borrowed(match self {
/// #             Input::KeyPress(_) => "KeyPress",
/// #             Input::HidReport(_) => "HidReport",
/// #             Input::Written => "Written",
/// #         })
/// #     }
/// # }
/// # #[derive(Clone, Debug, Hash, PartialEq, Eq)]
/// # enum Channel { Keys, Reports, Stats }
/// # impl Topic<Input> for Channel {
/// #     fn from_event(event: &Input) -> Self {
/// #         match event {
/// #             Input::KeyPress(_) => Channel::Keys,
/// #             Input::HidReport(_) => Channel::Reports,
/// #             Input::Written => Channel::Stats,
/// #         }
/// #     }
/// #     fn name(&self) -> Cow<'static, str> { Cow::Owned(format!("{self:?}")) }
/// # }
/// # // `pipeline` answers a KeyPress with a HidReport, `writer` a HidReport
/// # // with Written; the other actors only listen.
/// # struct Relay(Context<Input>);
/// # impl Actor for Relay {
/// #     type Event = Input;
/// #     async fn handle_event(&mut self, envelope: &Envelope<Input>) -> Result {
/// #         let next = match (self.0.actor_name(), envelope.event()) {
/// #             ("pipeline", Input::KeyPress(key)) => Input::HidReport(*key as u8),
/// #             ("writer", Input::HidReport(_)) => Input::Written,
/// #             _ => return Ok(()),
/// #         };
/// #         self.0.send_child_event(next, envelope.id()).await
/// #     }
/// # }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result {
/// # let mut sup = Supervisor::<Input, Channel>::default();
/// # let pipeline = sup.add_actor("pipeline", Relay, [Channel::Keys])?;
/// # let writer = sup.add_actor("writer", Relay, [Channel::Reports])?;
/// # let audit = sup.add_actor("audit", Relay, [Channel::Reports])?;
/// # let telemetry = sup.add_actor("telemetry", Relay, [Channel::Stats])?;
/// # let mut test = Harness::new(&mut sup).await;
/// # sup.start().await?;
/// // The hidden set-up: `pipeline` turns a KeyPress into a HidReport, which
/// // `writer` and `audit` handle; `writer` answers with Written, for `telemetry`.
/// let scanner = ActorId::new("scanner");
/// let id = test.send_as(&scanner, Input::KeyPress('a')).await?;
/// test.settle().await;
///
/// let key = test.event(id);
/// assert_eq!(key.sender(), Some(scanner));
/// assert!(key.was_delivered_to(&pipeline));
/// assert!(key.not_delivered_to(&writer));
/// assert_eq!(key.children().count(), 2); // one HidReport, handled twice
///
/// let report = test.event(key.children().first().unwrap().id());
/// assert!(report.was_delivered_to_all(&[&writer, &audit]));
/// assert_eq!(report.receivers(), vec![audit.clone(), writer.clone()]);
/// assert_eq!(report.delivery_ratio(&[&audit, &writer, &telemetry, &pipeline]), 0.5);
/// # sup.stop().await
/// # }
/// ```
pub struct EventSpy<E: Event, T: Topic<E>> {
    id: EventId,
    records: EventRecords<E, T>,
    /// Indices of the event's entries in `records`, found once.
    deliveries: Vec<usize>,
}

impl<E: Event, T: Topic<E>> fmt::Debug for EventSpy<E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSpy")
            .field("id", &self.id)
            .field("deliveries", &self.deliveries.len())
            .finish_non_exhaustive()
    }
}

impl<E: Event, T: Topic<E>> EventSpy<E, T> {
    /// A spy on the event `id` in `records`.
    pub(crate) fn new(records: EventRecords<E, T>, id: impl Into<EventId>) -> Self {
        let id = id.into();
        let deliveries = records
            .iter()
            .enumerate()
            .filter(|(_, entry)| entry.id() == id)
            .map(|(index, _)| index)
            .collect();
        Self {
            id,
            records,
            deliveries,
        }
    }

    fn entries(&self) -> impl Iterator<Item = &EventEntry<E, T>> {
        self.deliveries.iter().map(|&index| &self.records[index])
    }

    /// Whether some actor handled the event.
    pub fn was_delivered(&self) -> bool {
        !self.deliveries.is_empty()
    }

    /// Whether `actor` handled the event.
    pub fn was_delivered_to(&self, actor: &ActorId) -> bool {
        self.entries().any(|entry| entry.receiver() == actor)
    }

    /// Whether `actor` did not handle the event.
    pub fn not_delivered_to(&self, actor: &ActorId) -> bool {
        !self.was_delivered_to(actor)
    }

    /// Whether every one of `actors` handled the event (`true` for none).
    pub fn was_delivered_to_all(&self, actors: &[&ActorId]) -> bool {
        actors.iter().all(|actor| self.was_delivered_to(actor))
    }

    /// The share of `actors` that handled the event, from 0.0 to 1.0
    /// (1.0 when `actors` is empty).
    pub fn delivery_ratio(&self, actors: &[&ActorId]) -> f64 {
        if actors.is_empty() {
            return 1.0;
        }
        let reached = actors
            .iter()
            .filter(|actor| self.was_delivered_to(actor))
            .count();
        reached as f64 / actors.len() as f64
    }

    /// The actor that published the event, if it was delivered at all.
    pub fn sender(&self) -> Option<ActorId> {
        self.entries().next().map(|entry| entry.sender().clone())
    }

    /// The actors that handled the event, each once, in record order.
    pub fn receivers(&self) -> Vec<ActorId> {
        distinct(self.entries().map(|entry| entry.receiver().clone()))
    }

    /// The number of distinct actors that handled the event.
    pub fn receiver_count(&self) -> usize {
        self.receivers().len()
    }

    /// A query over the events published while handling this one (its
    /// direct children), ready for further filters.
    pub fn children(&self) -> EventQuery<E, T> {
        EventQuery::new(EventRecords::clone(&self.records)).children_of(self.id)
    }
}

#[cfg(all(test, not(maiko_loom)))]
mod tests {
    use super::*;
    use crate::testing::event_query::test_support::{Ev, Tp, actor, fan_out};

    fn names(actors: &[ActorId]) -> Vec<&str> {
        actors.iter().map(ActorId::as_str).collect()
    }

    #[test]
    fn delivery_questions() {
        let f = fan_out();
        let (alice, bob, charlie, dave) = (
            actor("alice"),
            actor("bob"),
            actor("charlie"),
            actor("dave"),
        );
        let spy = EventSpy::new(f.records.clone(), f.start);
        assert!(spy.was_delivered());
        assert!(spy.was_delivered_to(&bob) && spy.was_delivered_to(&charlie));
        assert!(spy.not_delivered_to(&dave) && !spy.not_delivered_to(&bob));
        assert!(spy.was_delivered_to_all(&[&bob, &charlie]));
        assert!(!spy.was_delivered_to_all(&[&bob, &dave]));
        assert!(spy.was_delivered_to_all(&[]));
        assert_eq!(spy.delivery_ratio(&[&bob, &charlie, &dave, &alice]), 0.5);
        assert_eq!(spy.delivery_ratio(&[]), 1.0);
        assert_eq!(spy.sender(), Some(alice));
        assert_eq!(names(&spy.receivers()), ["bob", "charlie"]);
        assert_eq!(spy.receiver_count(), 2);
    }

    #[test]
    fn children_are_the_direct_descendants() {
        let f = fan_out();
        let spy = EventSpy::new(f.records.clone(), f.start);
        let children = spy.children();
        assert_eq!(children.count(), 3, "Process once, Branch twice");
        let ids: Vec<EventId> = children.collect().iter().map(EventEntry::id).collect();
        assert_eq!(ids, vec![f.process, f.branch]);
        assert!(!children.has_event(f.complete));
        assert_eq!(
            EventSpy::new(f.records.clone(), f.process)
                .children()
                .first()
                .map(|e| e.payload().clone()),
            Some(Ev::Complete)
        );
    }

    #[test]
    fn an_unknown_event_was_not_delivered() {
        let f = fan_out();
        let spy: EventSpy<Ev, Tp> = EventSpy::new(f.records.clone(), 12345u128);
        assert!(!spy.was_delivered());
        assert!(spy.sender().is_none());
        assert!(spy.receivers().is_empty());
        assert_eq!(spy.delivery_ratio(&[&actor("bob")]), 0.0);
        assert!(spy.children().is_empty());
    }
}
