//! [`TopicSpy`]: what travelled on one topic, and who handled it.

use std::fmt;

use crate::{ActorId, Event, Topic};

use super::{EventEntry, EventQuery, EventRecords, event_query::distinct};

/// Answers about one topic: whether anything was delivered on it, how
/// often, and to whom.
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
/// test.send_as(&scanner, Input::KeyPress('a')).await?;
/// test.settle().await;
///
/// let reports = test.topic(Channel::Reports);
/// assert!(reports.was_published());
/// assert_eq!(reports.event_count(), 2); // one report, handled by two actors
/// assert_eq!(reports.receivers(), vec![audit.clone(), writer.clone()]);
/// assert_eq!(reports.events().sent_by(&pipeline).count(), 2);
/// assert_eq!(test.topic(Channel::Stats).receivers(), vec![telemetry.clone()]);
/// # sup.stop().await
/// # }
/// ```
pub struct TopicSpy<E: Event, T: Topic<E>> {
    topic: T,
    records: EventRecords<E, T>,
}

impl<E: Event, T: Topic<E>> fmt::Debug for TopicSpy<E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TopicSpy")
            .field("topic", &self.topic.name())
            .field("deliveries", &self.event_count())
            .finish()
    }
}

impl<E: Event, T: Topic<E>> TopicSpy<E, T> {
    /// A spy on `topic` in `records`.
    pub(crate) fn new(records: EventRecords<E, T>, topic: T) -> Self {
        Self { topic, records }
    }

    fn entries(&self) -> impl Iterator<Item = &EventEntry<E, T>> {
        self.records
            .iter()
            .filter(|entry| entry.topic() == &self.topic)
    }

    /// Whether some event was delivered on this topic.
    pub fn was_published(&self) -> bool {
        self.entries().next().is_some()
    }

    /// The number of deliveries on this topic (an event handled by two
    /// actors counts twice).
    pub fn event_count(&self) -> usize {
        self.entries().count()
    }

    /// The actors that handled events of this topic, each once, in the
    /// order they first appear.
    pub fn receivers(&self) -> Vec<ActorId> {
        distinct(self.entries().map(|entry| entry.receiver().clone()))
    }

    /// The number of distinct actors that handled events of this topic.
    pub fn receiver_count(&self) -> usize {
        self.receivers().len()
    }

    /// A query over the entries of this topic, ready for further filters.
    pub fn events(&self) -> EventQuery<E, T> {
        EventQuery::new(EventRecords::clone(&self.records)).with_topic(self.topic.clone())
    }
}

#[cfg(all(test, not(maiko_loom)))]
mod tests {
    use super::*;
    use crate::testing::event_query::test_support::{Ev, Script, Tp, actor, fan_out};

    #[test]
    fn a_busy_topic() {
        let f = fan_out();
        let control = TopicSpy::new(f.records.clone(), Tp::Control);
        assert!(control.was_published());
        assert_eq!(control.event_count(), 6);
        assert_eq!(
            control.receivers(),
            vec![
                actor("bob"),
                actor("charlie"),
                actor("dave"),
                actor("alice")
            ]
        );
        assert_eq!(control.receiver_count(), 4);
        assert_eq!(control.events().sent_by(&actor("charlie")).count(), 2);
        assert!(format!("{control:?}").contains("\"Control\""));
    }

    #[test]
    fn a_quiet_topic() {
        let mut script = Script::new();
        let e = script.publish(Ev::Start, &actor("a"), None);
        script.deliver(&e, Tp::Control, &actor("b"));
        let data = TopicSpy::new(script.finish(), Tp::Data);
        assert!(!data.was_published());
        assert_eq!(data.event_count(), 0);
        assert_eq!(data.receiver_count(), 0);
        assert!(data.receivers().is_empty());
        assert!(data.events().is_empty());
    }
}
