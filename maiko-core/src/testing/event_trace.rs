//! [`EventTrace`]: an [`EventChain`] read as the events it is made of.

use std::fmt;

use crate::{Event, Topic};

use super::{EventChain, EventEntry, EventMatcher, event_chain::Node};

/// The events of an [`EventChain`], and their order along each branch.
/// Made by [`EventChain::events`].
///
/// A *path* follows one branch from the root event to an event that
/// caused nothing, one step per event (an event handled by several actors
/// is still one step). A step matches a matcher when one of the event's
/// deliveries does, so a matcher on the receiver works too.
///
/// Matchers are anything that converts into an [`EventMatcher`]: labels
/// (`"Order"`, needs `E:` [`Label`](crate::Label)), ids, or matchers built
/// by hand (which are `Clone`, so a slice of them works as well):
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
/// let chain = test.chain(key);
///
/// let events = chain.events();
/// assert!(events.exact(&["KeyPress", "HidReport", "Written"]));
/// assert!(events.segment(&["HidReport", "Written"]));
/// assert!(events.passes_through(&["KeyPress", "Written"]));
/// assert!(!events.segment(&["KeyPress", "Written"])); // HidReport between
/// let report = EventMatcher::by_event(|e| matches!(e, Input::HidReport(_)));
/// assert!(events.segment(&[report.clone(), EventMatcher::by_label("Written")]));
/// assert!(events.passes_through(&[EventMatcher::from("KeyPress"), report]));
/// // A step matches when one of its deliveries does: the report reached `audit`.
/// let to_audit = EventMatcher::by_entry(|e| e.receiver().as_str() == "audit");
/// assert!(events.segment(&[to_audit, "Written".into()]));
/// # sup.stop().await
/// # }
/// ```
///
/// Every check given an empty list of matchers holds.
pub struct EventTrace<'a, E: Event, T: Topic<E>> {
    chain: &'a EventChain<E, T>,
}

impl<E: Event, T: Topic<E>> fmt::Debug for EventTrace<'_, E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventTrace")
            .field("chain", self.chain)
            .finish()
    }
}

impl<'a, E: Event, T: Topic<E>> EventTrace<'a, E, T> {
    pub(super) fn new(chain: &'a EventChain<E, T>) -> Self {
        Self { chain }
    }

    /// The events of the chain, one entry each (its first delivery), in
    /// record order.
    pub fn all(&self) -> Vec<&'a EventEntry<E, T>> {
        let chain = self.chain;
        let mut nodes: Vec<&Node> = chain.nodes().iter().collect();
        nodes.sort_by_key(|node| node.deliveries[0]);
        nodes
            .into_iter()
            .map(|node| chain.first_entry(node))
            .collect()
    }

    /// The events of the chain, one entry each (its first delivery),
    /// breadth-first from the root: the root, its children, their
    /// children, and so on.
    pub fn ordered(&self) -> Vec<&'a EventEntry<E, T>> {
        let chain = self.chain;
        chain
            .nodes()
            .iter()
            .map(|node| chain.first_entry(node))
            .collect()
    }

    /// Whether some delivery of the chain matches `matcher`.
    pub fn contains(&self, matcher: impl Into<EventMatcher<E, T>>) -> bool {
        let matcher = matcher.into();
        self.chain
            .nodes()
            .iter()
            .any(|node| self.chain.node_matches(node, &matcher))
    }

    /// Whether some path matches `matchers` step for step, from the root
    /// to the end of its branch.
    pub fn exact<M>(&self, matchers: &[M]) -> bool
    where
        M: Into<EventMatcher<E, T>> + Clone,
    {
        let matchers = convert(matchers);
        matchers.is_empty()
            || self.match_paths(|path| {
                path.len() == matchers.len()
                    && path
                        .iter()
                        .zip(&matchers)
                        .all(|(&node, m)| self.step(node, m))
            })
    }

    /// Whether some path has steps matching `matchers` one right after
    /// another.
    pub fn segment<M>(&self, matchers: &[M]) -> bool
    where
        M: Into<EventMatcher<E, T>> + Clone,
    {
        let matchers = convert(matchers);
        matchers.is_empty()
            || self.match_paths(|path| {
                path.windows(matchers.len()).any(|window| {
                    window
                        .iter()
                        .zip(&matchers)
                        .all(|(&node, m)| self.step(node, m))
                })
            })
    }

    /// Whether some path has steps matching `matchers` in this order,
    /// other events allowed between them.
    pub fn passes_through<M>(&self, matchers: &[M]) -> bool
    where
        M: Into<EventMatcher<E, T>> + Clone,
    {
        let matchers = convert(matchers);
        matchers.is_empty()
            || self.match_paths(|path| {
                let mut wanted = matchers.iter().peekable();
                for &node in path {
                    if wanted.peek().is_some_and(|m| self.step(node, m)) {
                        wanted.next();
                    }
                }
                wanted.peek().is_none()
            })
    }

    /// The number of paths: the events of the chain that caused nothing.
    pub fn path_count(&self) -> usize {
        self.chain
            .nodes()
            .iter()
            .filter(|n| n.children.is_empty())
            .count()
    }

    /// Every path, one entry per event (its first delivery), depth-first
    /// with children in record order.
    pub fn paths(&self) -> Vec<Vec<&'a EventEntry<E, T>>> {
        let chain = self.chain;
        chain
            .event_paths()
            .into_iter()
            .map(|path| {
                path.into_iter()
                    .map(|node| chain.first_entry(&chain.nodes()[node]))
                    .collect()
            })
            .collect()
    }

    fn step(&self, node: usize, matcher: &EventMatcher<E, T>) -> bool {
        self.chain.node_matches(&self.chain.nodes()[node], matcher)
    }

    fn match_paths(&self, test: impl Fn(&[usize]) -> bool) -> bool {
        self.chain.event_paths().iter().any(|path| test(path))
    }
}

fn convert<E: Event, T: Topic<E>, M>(matchers: &[M]) -> Vec<EventMatcher<E, T>>
where
    M: Into<EventMatcher<E, T>> + Clone,
{
    matchers.iter().cloned().map(Into::into).collect()
}

#[cfg(all(test, not(maiko_loom)))]
mod tests {
    use super::*;
    use crate::{
        EventId, Label,
        testing::event_query::test_support::{Ev, Tp, fan_out},
    };

    fn labels(entries: &[&EventEntry<Ev, Tp>]) -> Vec<String> {
        entries
            .iter()
            .map(|e| e.payload().label().into_owned())
            .collect()
    }

    #[test]
    fn listing_the_events() {
        let f = fan_out();
        let chain = EventChain::new(f.records.clone(), f.start);
        let events = chain.events();
        assert_eq!(
            labels(&events.all()),
            ["Start", "Process", "Branch", "Complete"]
        );
        assert_eq!(
            labels(&events.ordered()),
            ["Start", "Process", "Branch", "Complete"]
        );
        let paths: Vec<Vec<String>> = events.paths().iter().map(|p| labels(p)).collect();
        assert_eq!(
            paths,
            [
                vec!["Start", "Process", "Complete"],
                vec!["Start", "Branch"]
            ]
        );
        assert_eq!(events.path_count(), 2);
        assert!(events.contains("Complete"));
        assert!(events.contains(f.branch));
        assert!(!events.contains("Data"));
        assert!(!events.contains(f.unrelated));
    }

    #[test]
    fn path_checks_by_label() {
        let f = fan_out();
        let chain = EventChain::new(f.records.clone(), f.start);
        let events = chain.events();

        assert!(events.exact(&["Start", "Process", "Complete"]));
        assert!(events.exact(&["Start", "Branch"]));
        assert!(!events.exact(&["Start", "Process"]), "stops short");
        assert!(
            !events.exact(&["Start", "Process", "Branch"]),
            "two branches"
        );

        assert!(events.segment(&["Process", "Complete"]));
        assert!(!events.segment(&["Start", "Complete"]), "a gap");
        assert!(!events.segment(&["Process", "Branch"]), "two branches");

        assert!(events.passes_through(&["Start", "Complete"]));
        assert!(
            !events.passes_through(&["Complete", "Start"]),
            "wrong order"
        );
        assert!(
            !events.passes_through(&["Branch", "Complete"]),
            "two branches"
        );

        let none: &[&str] = &[];
        assert!(events.exact(none) && events.segment(none) && events.passes_through(none));
    }

    #[test]
    fn cloned_matchers_and_ids() {
        let f = fan_out();
        let chain = EventChain::new(f.records.clone(), f.start);
        let events = chain.events();

        let start = EventMatcher::by_label("Start");
        let process = EventMatcher::by_event(|e| matches!(e, Ev::Process));
        let complete = EventMatcher::by_id(f.complete);
        assert!(events.exact(&[start.clone(), process.clone(), complete]));
        assert!(events.segment(&[start.clone(), process]));
        assert!(!events.segment(&[start.clone(), start]));

        let ids: [EventId; 2] = [f.start, f.branch];
        assert!(events.exact(&ids));

        // A step matches when any of its deliveries does: Branch reached
        // dave second, and still counts as "an event dave handled".
        let to_dave = EventMatcher::by_entry(|e| e.receiver().as_str() == "dave");
        assert!(events.exact(&[EventMatcher::by_label("Start"), to_dave.clone()]));
        assert!(events.passes_through(&[to_dave]));
    }
}
