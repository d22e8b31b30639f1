//! [`EventMatcher`]: a reusable test of one record entry, used by chain
//! traces and by [`EventQuery::has_event`](super::EventQuery::has_event).

use std::{borrow::Cow, fmt, sync::Arc};

use crate::{Event, EventId, Label, Topic};

use super::EventEntry;

/// A predicate over record entries, shared between clones of a matcher.
type Predicate<E, T> = Arc<dyn Fn(&EventEntry<E, T>) -> bool>;

/// What a matcher looks for. The id and label forms are kept apart from the
/// general predicate so that `Debug` can say what is being matched.
enum Rule<E: Event, T: Topic<E>> {
    Id(EventId),
    /// The label looked for, and the test itself (which needs `E: Label`,
    /// so it is captured where that bound is known).
    Label(Cow<'static, str>, Predicate<E, T>),
    Custom(Predicate<E, T>),
}

/// Decides whether a recorded entry is "the event you mean" in a chain or
/// query assertion.
///
/// A matcher looks at one [`EventEntry`]: an event together with the topic
/// it travelled on and the actor that handled it. Build one from
///
/// - an id: [`EventMatcher::by_id`], or an [`EventId`] through `From`;
/// - a label: [`EventMatcher::by_label`], or a `&'static str` / `String`
///   through `From` (needs `E:` [`Label`]);
/// - a test of the payload: [`EventMatcher::by_event`];
/// - a test of the whole entry (sender, receiver, topic, metadata):
///   [`EventMatcher::by_entry`].
///
/// Methods that take `impl Into<EventMatcher<E, T>>` accept all of these
/// forms, so `chain.events().segment(&["Order", "Fill"])` reads as it should.
///
/// Matchers are cheap to clone (the predicate is shared), so one matcher
/// can be used in several places:
///
/// ```
/// use maiko_core::testing::EventMatcher;
///
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
/// let key = test.send_as(&scanner, Input::KeyPress('a')).await?;
/// test.settle().await;
///
/// let report = EventMatcher::by_event(|e| matches!(e, Input::HidReport(_)));
/// let written = EventMatcher::by_label("Written");
/// assert!(test.chain(key).events().exact(&[key.into(), report.clone(), written]));
/// assert!(test.events().sent_by(&pipeline).has_event(report.clone()));
/// assert!(!test.events().sent_by(&writer).has_event(report));
/// # sup.stop().await
/// # }
/// ```
///
/// # Threads
///
/// As in maiko 0.3, the predicates need not be `Send` or `Sync`, so a
/// matcher is neither: build it where it is used, not before an `.await`
/// in a future that must be `Send`.
pub struct EventMatcher<E: Event, T: Topic<E>> {
    rule: Rule<E, T>,
}

impl<E: Event, T: Topic<E>> EventMatcher<E, T> {
    /// Matches the event with this id (every delivery of it).
    pub fn by_id(id: EventId) -> Self {
        Self { rule: Rule::Id(id) }
    }

    /// Matches the entries for which `predicate` returns `true`. The
    /// predicate sees the whole entry: payload, topic, sender, receiver and
    /// metadata.
    pub fn by_entry<F>(predicate: F) -> Self
    where
        F: Fn(&EventEntry<E, T>) -> bool + 'static,
    {
        Self {
            rule: Rule::Custom(Arc::new(predicate)),
        }
    }

    /// Matches the entries whose event satisfies `predicate`.
    pub fn by_event<F>(predicate: F) -> Self
    where
        F: Fn(&E) -> bool + 'static,
    {
        Self::by_entry(move |entry| predicate(entry.payload()))
    }

    /// Whether `entry` is one this matcher looks for.
    pub(crate) fn matches(&self, entry: &EventEntry<E, T>) -> bool {
        match &self.rule {
            Rule::Id(id) => entry.id() == *id,
            Rule::Label(_, test) | Rule::Custom(test) => test(entry),
        }
    }
}

impl<E: Event + Label, T: Topic<E>> EventMatcher<E, T> {
    /// Matches the events whose [`Label::label`] equals `label` (for an
    /// enum with `#[derive(Label)]`, the variant's name).
    pub fn by_label(label: impl Into<Cow<'static, str>>) -> Self {
        let label = label.into();
        let wanted = label.clone();
        Self {
            rule: Rule::Label(
                label,
                Arc::new(move |entry: &EventEntry<E, T>| entry.payload().label() == wanted),
            ),
        }
    }
}

impl<E: Event, T: Topic<E>> Clone for EventMatcher<E, T> {
    fn clone(&self) -> Self {
        let rule = match &self.rule {
            Rule::Id(id) => Rule::Id(*id),
            Rule::Label(label, test) => Rule::Label(label.clone(), Arc::clone(test)),
            Rule::Custom(test) => Rule::Custom(Arc::clone(test)),
        };
        Self { rule }
    }
}

impl<E: Event, T: Topic<E>> fmt::Debug for EventMatcher<E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule {
            Rule::Id(id) => f.debug_tuple("EventMatcher::Id").field(id).finish(),
            Rule::Label(label, _) => f.debug_tuple("EventMatcher::Label").field(label).finish(),
            Rule::Custom(_) => f.write_str("EventMatcher::Custom(..)"),
        }
    }
}

/// A label: `"Order".into()` is `EventMatcher::by_label("Order")`.
impl<E: Event + Label, T: Topic<E>> From<&'static str> for EventMatcher<E, T> {
    fn from(label: &'static str) -> Self {
        Self::by_label(label)
    }
}

/// A label computed at run time.
impl<E: Event + Label, T: Topic<E>> From<String> for EventMatcher<E, T> {
    fn from(label: String) -> Self {
        Self::by_label(label)
    }
}

/// An id: `id.into()` is `EventMatcher::by_id(id)`.
impl<E: Event, T: Topic<E>> From<EventId> for EventMatcher<E, T> {
    fn from(id: EventId) -> Self {
        Self::by_id(id)
    }
}

#[cfg(all(test, not(maiko_loom)))]
mod tests {
    use super::*;
    use crate::testing::event_query::test_support::{Ev, Script, Tp, actor};

    #[test]
    fn each_form_matches_what_it_names() {
        let (alice, bob) = (actor("alice"), actor("bob"));
        let mut script = Script::new();
        let start = script.publish(Ev::Start, &alice, None);
        script.deliver(&start, Tp::Control, &bob);
        let data = script.publish(Ev::Data(7), &alice, None);
        script.deliver(&data, Tp::Data, &bob);
        let records = script.finish();
        let (start_entry, data_entry) = (&records[0], &records[1]);

        let by_id: EventMatcher<Ev, Tp> = EventMatcher::by_id(start.id());
        assert!(by_id.matches(start_entry) && !by_id.matches(data_entry));

        let by_label: EventMatcher<Ev, Tp> = EventMatcher::by_label("Data");
        assert!(!by_label.matches(start_entry) && by_label.matches(data_entry));

        let by_event: EventMatcher<Ev, Tp> =
            EventMatcher::by_event(|e| matches!(e, Ev::Data(n) if *n > 5));
        assert!(by_event.matches(data_entry) && !by_event.matches(start_entry));

        let on_data_topic: EventMatcher<Ev, Tp> =
            EventMatcher::by_entry(|e| *e.topic() == Tp::Data && e.receiver().as_str() == "bob");
        assert!(on_data_topic.matches(data_entry) && !on_data_topic.matches(start_entry));
    }

    #[test]
    fn conversions_build_the_matching_form() {
        let alice = actor("alice");
        let mut script = Script::new();
        let start = script.publish(Ev::Start, &alice, None);
        script.deliver(&start, Tp::Control, &alice);
        let records = script.finish();

        let from_str: EventMatcher<Ev, Tp> = "Start".into();
        let from_string: EventMatcher<Ev, Tp> = String::from("Start").into();
        let from_id: EventMatcher<Ev, Tp> = start.id().into();
        let other_id: EventMatcher<Ev, Tp> = EventId::from(1).into();
        assert!(from_str.matches(&records[0]));
        assert!(from_string.matches(&records[0]));
        assert!(from_id.matches(&records[0]));
        assert!(!other_id.matches(&records[0]));
    }

    #[test]
    fn clones_share_the_predicate_and_debug_names_the_rule() {
        let alice = actor("alice");
        let mut script = Script::new();
        let start = script.publish(Ev::Start, &alice, None);
        script.deliver(&start, Tp::Control, &alice);
        let records = script.finish();

        let original: EventMatcher<Ev, Tp> = EventMatcher::by_event(|e| matches!(e, Ev::Start));
        let copy = original.clone();
        assert!(original.matches(&records[0]) && copy.matches(&records[0]));

        let label: EventMatcher<Ev, Tp> = "Start".into();
        assert_eq!(format!("{label:?}"), "EventMatcher::Label(\"Start\")");
        assert_eq!(format!("{copy:?}"), "EventMatcher::Custom(..)");
        let id: EventMatcher<Ev, Tp> = EventId::from(5).into();
        assert!(format!("{id:?}").starts_with("EventMatcher::Id("));
    }
}
