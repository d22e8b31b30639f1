//! [`EventQuery`]: filters over a snapshot of the record, and the answers
//! (counts, entries, actors) drawn from what passes them.

use std::{
    borrow::Cow,
    collections::{HashMap, HashSet},
    fmt,
    hash::Hash,
};

use crate::{ActorId, Event, EventId, Label, Topic};

use super::{EventEntry, EventMatcher, EventRecords, Flow};

/// One condition of a query. The common ones are plain data (cheap to test,
/// readable in `Debug`); anything else is an [`EventMatcher`].
enum Filter<E: Event, T: Topic<E>> {
    SentBy(ActorId),
    ReceivedBy(ActorId),
    Topic(T),
    Id(EventId),
    ChildOf(EventId),
    /// Later in the record than this position, and not this event.
    After(usize, EventId),
    /// Earlier in the record than this position, and not this event.
    Before(usize, EventId),
    Matches(EventMatcher<E, T>),
}

impl<E: Event, T: Topic<E>> Filter<E, T> {
    fn accepts(&self, entry: &EventEntry<E, T>) -> bool {
        match self {
            Filter::SentBy(actor) => entry.sender() == actor,
            Filter::ReceivedBy(actor) => entry.receiver() == actor,
            Filter::Topic(topic) => entry.topic() == topic,
            Filter::Id(id) => entry.id() == *id,
            Filter::ChildOf(parent) => entry.meta().parent_id() == Some(*parent),
            Filter::After(position, id) => entry.position > *position && entry.id() != *id,
            Filter::Before(position, id) => entry.position < *position && entry.id() != *id,
            Filter::Matches(matcher) => matcher.matches(entry),
        }
    }
}

impl<E: Event, T: Topic<E>> Clone for Filter<E, T> {
    fn clone(&self) -> Self {
        match self {
            Filter::SentBy(actor) => Filter::SentBy(actor.clone()),
            Filter::ReceivedBy(actor) => Filter::ReceivedBy(actor.clone()),
            Filter::Topic(topic) => Filter::Topic(topic.clone()),
            Filter::Id(id) => Filter::Id(*id),
            Filter::ChildOf(id) => Filter::ChildOf(*id),
            Filter::After(position, id) => Filter::After(*position, *id),
            Filter::Before(position, id) => Filter::Before(*position, *id),
            Filter::Matches(matcher) => Filter::Matches(matcher.clone()),
        }
    }
}

impl<E: Event, T: Topic<E>> fmt::Debug for Filter<E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::SentBy(actor) => f.debug_tuple("SentBy").field(&actor.as_str()).finish(),
            Filter::ReceivedBy(actor) => {
                f.debug_tuple("ReceivedBy").field(&actor.as_str()).finish()
            }
            Filter::Topic(topic) => f.debug_tuple("Topic").field(&topic.name()).finish(),
            Filter::Id(id) => f.debug_tuple("Id").field(id).finish(),
            Filter::ChildOf(id) => f.debug_tuple("ChildOf").field(id).finish(),
            Filter::After(position, _) => f.debug_tuple("After").field(position).finish(),
            Filter::Before(position, _) => f.debug_tuple("Before").field(position).finish(),
            Filter::Matches(matcher) => matcher.fmt(f),
        }
    }
}

/// A question about the recorded event flow, refined step by step.
///
/// A query starts from every entry of a snapshot of the record (one entry
/// per delivery: an event handled by three actors is three entries) and
/// keeps the entries that pass all of its filters. Filters take the query
/// by value and return it, so they chain; the terminal methods (`count`,
/// `first`, `senders`, …) borrow it, so one query can answer several
/// questions. Nothing is copied: the query shares the snapshot and only
/// walks it when a terminal method asks.
///
/// Entries are listed in record order, which is causal (an event's
/// handling comes after its parent's) and the same on every run of a
/// deterministic program.
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
/// for key in ['h', 'i', '!'] {
///     test.send_as(&scanner, Input::KeyPress(key)).await?;
/// }
/// test.settle().await;
///
/// let letters = test
///     .events()
///     .sent_by(&pipeline)
///     .with_topic(Channel::Reports)
///     .matching_event(|e| matches!(e, Input::HidReport(code) if code.is_ascii_alphabetic()));
/// assert_eq!(letters.count(), 4); // two reports, each handled by `audit` and `writer`
/// assert_eq!(letters.collect().len(), 2); // one entry per event
/// assert_eq!(letters.receivers(), vec![audit.clone(), writer.clone()]);
/// assert_eq!(test.events().received_by(&telemetry).count(), 3);
/// assert_eq!(test.events().with_label("KeyPress").senders(), vec![scanner]);
/// assert_eq!(test.events().flow().edges().len(), 4); // per sender, receiver, topic
/// # sup.stop().await
/// # }
/// ```
///
/// # Threads
///
/// As in maiko 0.3, the predicates given to [`matching`](Self::matching)
/// and friends need not be `Send`, so a query is not `Send` either: make it
/// after the last `.await` it has to survive.
pub struct EventQuery<E: Event, T: Topic<E>> {
    records: EventRecords<E, T>,
    filters: Vec<Filter<E, T>>,
}

impl<E: Event, T: Topic<E>> Clone for EventQuery<E, T> {
    fn clone(&self) -> Self {
        Self {
            records: EventRecords::clone(&self.records),
            filters: self.filters.clone(),
        }
    }
}

impl<E: Event, T: Topic<E>> fmt::Debug for EventQuery<E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventQuery")
            .field("records", &self.records.len())
            .field("filters", &self.filters)
            .finish()
    }
}

impl<E: Event, T: Topic<E>> EventQuery<E, T> {
    /// A query over all of `records`, with no filter yet.
    pub(crate) fn new(records: EventRecords<E, T>) -> Self {
        Self {
            records,
            filters: Vec::new(),
        }
    }

    /// The entries that pass every filter, in record order, borrowed from
    /// the snapshot.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = &EventEntry<E, T>> + '_ {
        self.records
            .iter()
            .filter(move |entry| self.filters.iter().all(|filter| filter.accepts(entry)))
    }

    fn with(mut self, filter: Filter<E, T>) -> Self {
        self.filters.push(filter);
        self
    }

    // ---------------------------------------------------------------- filters

    /// Keeps the entries of events published by `actor`.
    pub fn sent_by(self, actor: &ActorId) -> Self {
        self.with(Filter::SentBy(actor.clone()))
    }

    /// Keeps the entries handled by `actor`.
    pub fn received_by(self, actor: &ActorId) -> Self {
        self.with(Filter::ReceivedBy(actor.clone()))
    }

    /// Keeps the entries routed on `topic`.
    pub fn with_topic(self, topic: T) -> Self {
        self.with(Filter::Topic(topic))
    }

    /// Keeps the entries of one event (all of its deliveries).
    pub fn with_id(self, id: impl Into<EventId>) -> Self {
        self.with(Filter::Id(id.into()))
    }

    /// Keeps the entries for which `predicate` returns `true`.
    pub fn matching<F>(self, predicate: F) -> Self
    where
        F: Fn(&EventEntry<E, T>) -> bool + 'static,
    {
        self.with(Filter::Matches(EventMatcher::by_entry(predicate)))
    }

    /// Keeps the entries whose event satisfies `predicate`.
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
    /// // The set-up (hidden) is the one of the `EventQuery` example.
    /// let scanner = ActorId::new("scanner");
    /// for key in ['a', 'B', 'c'] {
    ///     test.send_as(&scanner, Input::KeyPress(key)).await?;
    /// }
    /// test.settle().await;
    /// let capitals = test
    ///     .events()
    ///     .matching_event(|e| matches!(e, Input::KeyPress(key) if key.is_uppercase()));
    /// assert_eq!(capitals.count(), 1);
    /// assert_eq!(capitals.receivers(), vec![pipeline.clone()]);
    /// # sup.stop().await
    /// # }
    /// ```
    pub fn matching_event<F>(self, predicate: F) -> Self
    where
        F: Fn(&E) -> bool + 'static,
    {
        self.with(Filter::Matches(EventMatcher::by_event(predicate)))
    }

    /// Keeps the entries that come later in the record than `entry`.
    ///
    /// The comparison is by place in the record, not by clock: it is exact
    /// even for events published in the same instant, and the same on every
    /// run. The other deliveries of `entry`'s own event are left out, so
    /// "after" means "after that event". `entry` should come from the same
    /// harness (a query or spy of it).
    pub fn after(self, entry: &EventEntry<E, T>) -> Self {
        self.with(Filter::After(entry.position, entry.id()))
    }

    /// Keeps the entries that come earlier in the record than `entry`; the
    /// counterpart of [`after`](Self::after), with the same rules.
    pub fn before(self, entry: &EventEntry<E, T>) -> Self {
        self.with(Filter::Before(entry.position, entry.id()))
    }

    /// Keeps the entries of events published while handling the event
    /// `parent` (its direct children, not grandchildren).
    pub fn children_of(self, parent: impl Into<EventId>) -> Self {
        self.with(Filter::ChildOf(parent.into()))
    }

    /// Keeps the entries whose event has this [`Label`].
    pub fn with_label(self, label: impl Into<Cow<'static, str>>) -> Self
    where
        E: Label,
    {
        self.with(Filter::Matches(EventMatcher::by_label(label)))
    }

    // -------------------------------------------------------------- terminals

    /// The number of matching deliveries (an event handled by two actors
    /// counts twice; see [`collect`](Self::collect) for distinct events).
    pub fn count(&self) -> usize {
        self.iter().count()
    }

    /// Whether nothing matches.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// Whether something matches.
    pub fn exists(&self) -> bool {
        !self.is_empty()
    }

    /// The first matching entry in record order.
    pub fn first(&self) -> Option<EventEntry<E, T>> {
        self.iter().next().cloned()
    }

    /// The last matching entry in record order.
    pub fn last(&self) -> Option<EventEntry<E, T>> {
        self.iter().next_back().cloned()
    }

    /// The matching entry at `index` (from 0) in record order.
    pub fn nth(&self, index: usize) -> Option<EventEntry<E, T>> {
        self.iter().nth(index).cloned()
    }

    /// One entry per matching event: the first delivery of each, in the
    /// order the events first appear.
    pub fn collect(&self) -> Vec<EventEntry<E, T>> {
        let mut seen = HashSet::new();
        self.iter()
            .filter(|entry| seen.insert(entry.id()))
            .cloned()
            .collect()
    }

    /// Every matching entry, one per delivery.
    pub fn all_deliveries(&self) -> Vec<EventEntry<E, T>> {
        self.iter().cloned().collect()
    }

    /// The actors that published matching events, each once, in the order
    /// they first appear.
    pub fn senders(&self) -> Vec<ActorId> {
        distinct(self.iter().map(|entry| entry.sender().clone()))
    }

    /// The actors that handled matching events, each once, in the order
    /// they first appear.
    pub fn receivers(&self) -> Vec<ActorId> {
        distinct(self.iter().map(|entry| entry.receiver().clone()))
    }

    /// The number of distinct actors that published matching events.
    pub fn sender_count(&self) -> usize {
        self.senders().len()
    }

    /// The number of distinct actors that handled matching events.
    pub fn receiver_count(&self) -> usize {
        self.receivers().len()
    }

    /// The number of matching deliveries for each label.
    pub fn count_by_label(&self) -> HashMap<String, usize>
    where
        E: Label,
    {
        let mut counts = HashMap::new();
        for entry in self.iter() {
            *counts
                .entry(entry.payload().label().into_owned())
                .or_insert(0) += 1;
        }
        counts
    }

    /// Whether every matching entry satisfies `predicate` (`true` when
    /// nothing matches).
    pub fn all(&self, predicate: impl Fn(&EventEntry<E, T>) -> bool) -> bool {
        self.iter().all(predicate)
    }

    /// Whether some matching entry satisfies `predicate`.
    pub fn any(&self, predicate: impl Fn(&EventEntry<E, T>) -> bool) -> bool {
        self.iter().any(predicate)
    }

    /// Whether some matching entry satisfies `matcher`: a label (`"Order"`,
    /// needs `E: Label`), an [`EventId`], or any [`EventMatcher`].
    pub fn has_event(&self, matcher: impl Into<EventMatcher<E, T>>) -> bool {
        let matcher = matcher.into();
        self.iter().any(|entry| matcher.matches(entry))
    }

    /// Whether some matching event was published by `actor`.
    pub fn has_sender(&self, actor: &ActorId) -> bool {
        self.iter().any(|entry| entry.sender() == actor)
    }

    /// Whether some matching entry was handled by `actor`.
    pub fn has_receiver(&self, actor: &ActorId) -> bool {
        self.iter().any(|entry| entry.receiver() == actor)
    }

    /// Whether some matching entry satisfies `predicate`; the same as
    /// [`any`](Self::any).
    pub fn has(&self, predicate: impl Fn(&EventEntry<E, T>) -> bool) -> bool {
        self.any(predicate)
    }

    /// The picture of who talked to whom in the matching entries: one edge
    /// per sender, receiver and topic, with its number of deliveries.
    pub fn flow(&self) -> Flow {
        Flow::from_entries(self.iter())
    }
}

/// The distinct values of `items`, in the order they first appear.
pub(crate) fn distinct<K: Hash + Eq + Clone>(items: impl Iterator<Item = K>) -> Vec<K> {
    let mut seen = HashSet::new();
    items.filter(|item| seen.insert(item.clone())).collect()
}

/// Hand-made records for the tests of the `testing` module.
#[cfg(all(test, not(maiko_loom)))]
pub(crate) mod test_support {
    use std::{borrow::Cow, sync::Arc};

    use crate::{
        ActorId, Envelope, Event, EventId, Label, Topic,
        testing::{EventEntry, EventRecords},
    };

    /// The events of the tests.
    #[derive(Clone, Debug, PartialEq)]
    pub(crate) enum Ev {
        Start,
        Process,
        Complete,
        Branch,
        Data(i32),
    }

    impl Event for Ev {}

    impl Label for Ev {
        fn label(&self) -> Cow<'static, str> {
            Cow::Borrowed(match self {
                Ev::Start => "Start",
                Ev::Process => "Process",
                Ev::Complete => "Complete",
                Ev::Branch => "Branch",
                Ev::Data(_) => "Data",
            })
        }
    }

    /// The topics of the tests.
    #[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
    pub(crate) enum Tp {
        Control,
        Data,
    }

    impl Topic<Ev> for Tp {
        fn from_event(event: &Ev) -> Self {
            match event {
                Ev::Data(_) => Tp::Data,
                _ => Tp::Control,
            }
        }

        fn name(&self) -> Cow<'static, str> {
            Cow::Borrowed(match self {
                Tp::Control => "Control",
                Tp::Data => "Data",
            })
        }
    }

    pub(crate) fn actor(name: &str) -> ActorId {
        ActorId::new(name)
    }

    /// Builds a record entry by entry, numbering the positions.
    pub(crate) struct Script {
        entries: Vec<EventEntry<Ev, Tp>>,
    }

    impl Script {
        pub(crate) fn new() -> Self {
            Self {
                entries: Vec::new(),
            }
        }

        /// An event published by `sender` (not yet delivered).
        pub(crate) fn publish(
            &self,
            event: Ev,
            sender: &ActorId,
            parent: Option<EventId>,
        ) -> Arc<Envelope<Ev>> {
            let envelope = Envelope::new(event, sender.clone());
            Arc::new(match parent {
                Some(parent) => envelope.with_parent_id(parent),
                None => envelope,
            })
        }

        /// Records that `receiver` handled `envelope`, routed on `topic`.
        pub(crate) fn deliver(
            &mut self,
            envelope: &Arc<Envelope<Ev>>,
            topic: Tp,
            receiver: &ActorId,
        ) {
            let position = self.entries.len();
            self.entries.push(EventEntry::new(
                Arc::clone(envelope),
                topic,
                receiver.clone(),
                position,
            ));
        }

        pub(crate) fn finish(self) -> EventRecords<Ev, Tp> {
            Arc::new(self.entries)
        }
    }

    /// A branching chain and an unrelated event:
    ///
    /// ```text
    /// Start    alice -> bob, charlie        (Control)
    /// ├─ Process  bob -> dave               (Control)
    /// │  └─ Complete  dave -> alice         (Control)
    /// └─ Branch   charlie -> dave, alice    (Control)
    /// Data(1)  eve -> bob                   (Data, unrelated)
    /// ```
    pub(crate) struct FanOut {
        pub(crate) records: EventRecords<Ev, Tp>,
        pub(crate) start: EventId,
        pub(crate) process: EventId,
        pub(crate) branch: EventId,
        pub(crate) complete: EventId,
        pub(crate) unrelated: EventId,
    }

    pub(crate) fn fan_out() -> FanOut {
        let (alice, bob, charlie, dave, eve) = (
            actor("alice"),
            actor("bob"),
            actor("charlie"),
            actor("dave"),
            actor("eve"),
        );
        let mut script = Script::new();
        let start = script.publish(Ev::Start, &alice, None);
        let process = script.publish(Ev::Process, &bob, Some(start.id()));
        let branch = script.publish(Ev::Branch, &charlie, Some(start.id()));
        let complete = script.publish(Ev::Complete, &dave, Some(process.id()));
        let unrelated = script.publish(Ev::Data(1), &eve, None);
        script.deliver(&start, Tp::Control, &bob); // 0
        script.deliver(&start, Tp::Control, &charlie); // 1
        script.deliver(&process, Tp::Control, &dave); // 2
        script.deliver(&unrelated, Tp::Data, &bob); // 3
        script.deliver(&branch, Tp::Control, &dave); // 4
        script.deliver(&branch, Tp::Control, &alice); // 5
        script.deliver(&complete, Tp::Control, &alice); // 6
        FanOut {
            records: script.finish(),
            start: start.id(),
            process: process.id(),
            branch: branch.id(),
            complete: complete.id(),
            unrelated: unrelated.id(),
        }
    }
}

#[cfg(all(test, not(maiko_loom)))]
mod tests {
    use std::sync::Arc;

    use super::test_support::{Ev, Script, Tp, actor, fan_out};
    use super::*;

    fn names(actors: &[ActorId]) -> Vec<&str> {
        actors.iter().map(ActorId::as_str).collect()
    }

    #[test]
    fn an_unfiltered_query_sees_every_delivery() {
        let f = fan_out();
        let query = EventQuery::new(f.records.clone());
        assert_eq!(query.count(), 7);
        assert!(query.exists() && !query.is_empty());
        assert_eq!(query.first().unwrap().id(), f.start);
        assert_eq!(query.last().unwrap().id(), f.complete);
        assert_eq!(query.nth(3).unwrap().id(), f.unrelated);
        assert!(query.nth(7).is_none());
        assert_eq!(query.all_deliveries().len(), 7);
        let distinct: Vec<EventId> = query.collect().iter().map(EventEntry::id).collect();
        assert_eq!(
            distinct,
            vec![f.start, f.process, f.unrelated, f.branch, f.complete]
        );

        let empty: EventQuery<Ev, Tp> = EventQuery::new(Arc::new(Vec::new()));
        assert!(empty.is_empty() && !empty.exists());
        assert!(empty.first().is_none() && empty.last().is_none());
        assert!(empty.all(|_| false));
    }

    #[test]
    fn filters_combine() {
        let f = fan_out();
        let (alice, bob, dave) = (actor("alice"), actor("bob"), actor("dave"));
        let query = EventQuery::new(f.records.clone());

        assert_eq!(query.clone().sent_by(&alice).count(), 2);
        assert_eq!(query.clone().received_by(&dave).count(), 2);
        assert_eq!(query.clone().received_by(&alice).sent_by(&dave).count(), 1);
        assert_eq!(query.clone().with_topic(Tp::Data).count(), 1);
        assert_eq!(query.clone().with_id(f.branch).count(), 2);
        assert_eq!(query.clone().with_id(f.branch.as_u128()).count(), 2);
        assert_eq!(query.clone().children_of(f.start).count(), 3);
        assert_eq!(query.clone().with_label("Branch").count(), 2);
        assert_eq!(
            query
                .clone()
                .matching_event(|e| matches!(e, Ev::Data(_)))
                .count(),
            1
        );
        let to_bob = query.clone().matching(|e| e.receiver().as_str() == "bob");
        assert_eq!(to_bob.count(), 2);
        assert!(to_bob.all(|e| e.receiver() == &bob));
        assert!(to_bob.any(|e| e.topic() == &Tp::Data));
        assert!(!to_bob.has(|e| e.sender().as_str() == "dave"));
        // The original query is untouched by the filtered clones.
        assert_eq!(query.count(), 7);
    }

    #[test]
    fn after_and_before_follow_record_positions() {
        let f = fan_out();
        let query = EventQuery::new(f.records.clone());
        // All entries share one clock reading here; positions still order them.
        let pivot = query.clone().with_id(f.unrelated).first().unwrap();
        assert_eq!(pivot.position, 3);

        let after: Vec<usize> = query
            .clone()
            .after(&pivot)
            .iter()
            .map(|e| e.position)
            .collect();
        assert_eq!(after, vec![4, 5, 6]);
        let before: Vec<usize> = query
            .clone()
            .before(&pivot)
            .iter()
            .map(|e| e.position)
            .collect();
        assert_eq!(before, vec![0, 1, 2]);

        // The pivot's own event is neither before nor after it.
        let first_start = query.first().unwrap();
        assert_eq!(
            query.clone().after(&first_start).count(),
            5,
            "the second delivery of Start is not 'after' Start"
        );
        let last_branch = query.clone().with_id(f.branch).last().unwrap();
        assert_eq!(
            query
                .clone()
                .before(&last_branch)
                .iter()
                .map(|e| e.position)
                .collect::<Vec<_>>(),
            vec![0, 1, 2, 3]
        );
        // A window between two entries.
        assert_eq!(query.after(&first_start).before(&last_branch).count(), 2);
    }

    #[test]
    fn actor_lists_are_distinct_and_in_order_of_appearance() {
        let f = fan_out();
        let query = EventQuery::new(f.records.clone());
        assert_eq!(
            names(&query.senders()),
            ["alice", "bob", "eve", "charlie", "dave"]
        );
        assert_eq!(
            names(&query.receivers()),
            ["bob", "charlie", "dave", "alice"]
        );
        assert_eq!(query.sender_count(), 5);
        assert_eq!(query.receiver_count(), 4);
        let to_alice = query.received_by(&actor("alice"));
        assert_eq!(names(&to_alice.senders()), ["charlie", "dave"]);
        assert!(to_alice.has_sender(&actor("dave")) && !to_alice.has_sender(&actor("bob")));
        assert!(to_alice.has_receiver(&actor("alice")) && !to_alice.has_receiver(&actor("bob")));
    }

    #[test]
    fn labels_and_matchers() {
        let f = fan_out();
        let query = EventQuery::new(f.records.clone());
        let counts = query.count_by_label();
        assert_eq!(counts["Start"], 2);
        assert_eq!(counts["Branch"], 2);
        assert_eq!(counts["Data"], 1);
        assert_eq!(counts.len(), 5);

        assert!(query.has_event("Complete"));
        assert!(query.has_event(String::from("Process")));
        assert!(query.has_event(f.unrelated));
        assert!(!query.has_event(EventId::from(42)));
        let data = EventMatcher::by_event(|e| matches!(e, Ev::Data(1)));
        assert!(query.has_event(data.clone()));
        assert!(!query.clone().sent_by(&actor("alice")).has_event(data));
        assert!(!query.sent_by(&actor("bob")).has_event("Start"));
    }

    #[test]
    fn debug_lists_the_filters() {
        let f = fan_out();
        let query = EventQuery::new(f.records.clone())
            .sent_by(&actor("alice"))
            .with_topic(Tp::Data)
            .with_label("Start");
        let text = format!("{query:?}");
        assert!(text.contains("records: 7"), "{text}");
        assert!(text.contains("SentBy(\"alice\")"), "{text}");
        assert!(text.contains("Topic(\"Data\")"), "{text}");
        assert!(text.contains("EventMatcher::Label(\"Start\")"), "{text}");
    }

    #[test]
    fn flow_counts_deliveries_per_edge_of_the_filtered_entries() {
        let (alice, bob) = (actor("alice"), actor("bob"));
        let mut script = Script::new();
        for n in 0..3 {
            let e = script.publish(Ev::Data(n), &alice, None);
            script.deliver(&e, Tp::Data, &bob);
        }
        let ping = script.publish(Ev::Start, &bob, None);
        script.deliver(&ping, Tp::Control, &alice);
        let query = EventQuery::new(script.finish());

        let edges = query.flow().edges();
        assert_eq!(edges.len(), 2);
        assert_eq!(
            (edges[0].sender.as_str(), edges[0].receiver.as_str()),
            ("alice", "bob")
        );
        assert_eq!((edges[0].topic.as_str(), edges[0].count), ("Data", 3));
        assert_eq!((edges[1].topic.as_str(), edges[1].count), ("Control", 1));

        let only_data = query.with_topic(Tp::Data).flow();
        assert_eq!(only_data.edges().len(), 1);
    }
}
