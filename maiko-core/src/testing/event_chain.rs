//! [`EventChain`]: the tree of events caused by one event, followed
//! through parent ids, with views by actor ([`ActorTrace`]) and by event
//! ([`EventTrace`]) and two pictures (a text tree, a Mermaid diagram).

use std::{
    collections::{HashMap, HashSet, hash_map::Entry},
    fmt::{self, Write as _},
};

use crate::{ActorId, Event, EventId, Label, Topic};

use super::{
    ActorTrace, EventEntry, EventMatcher, EventRecords, EventTrace, event_query::distinct,
    flow::mermaid_text,
};

/// One event of a chain.
#[derive(Debug, Clone)]
pub(super) struct Node {
    pub(super) id: EventId,
    /// Indices of the event's entries in the record, in record order (at
    /// least one).
    pub(super) deliveries: Vec<usize>,
    /// Indices of the child events in the chain's node list, in the order
    /// they first appear in the record.
    pub(super) children: Vec<usize>,
}

/// The events that descend from one root event, as a tree.
///
/// Each event an actor publishes while handling another carries that
/// event's id as its parent; following those links down from the root
/// gives a tree (one event may have several children, and each event is
/// delivered to one or more actors). The chain indexes the record once
/// when it is made, so every question asked of it afterwards walks only
/// the chain, not the whole record.
///
/// Ask about it
///
/// - by actor with [`actors`](Self::actors): which actors the flow passed
///   through, and in which order along each branch;
/// - by event with [`events`](Self::events): which events happened, and in
///   which order along each branch;
/// - about its shape with [`branches_after`](Self::branches_after),
///   [`diverges_after`](Self::diverges_after) and
///   [`path_to`](Self::path_to).
///
/// When a test fails, print it: `Display` (and
/// [`to_string_tree`](Self::to_string_tree)) draws the tree, and
/// [`to_mermaid`](Self::to_mermaid) a sequence diagram.
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
/// let chain = test.chain(id);
/// assert_eq!(chain.len(), 3);
/// assert!(chain.actors().exact(&[&scanner, &pipeline, &writer, &telemetry]));
/// assert!(chain.actors().passes_through(&[&scanner, &writer]));
/// assert!(chain.events().segment(&["KeyPress", "HidReport"]));
/// assert!(!chain.diverges_after("KeyPress"));
/// assert_eq!(chain.branches_after("HidReport"), 1); // `audit` only listens
/// assert_eq!(chain.path_to(&audit).len(), 2); // KeyPress, HidReport
/// assert!(chain.to_string().ends_with(
///     "KeyPress (scanner -> pipeline)\n\
///      HidReport (pipeline -> audit, writer)\n\
///      Written (writer -> telemetry)\n"
/// ));
/// # sup.stop().await
/// # }
/// ```
///
/// If the root event is not in the record (never delivered, or handled
/// before recording started), the chain is empty: no actors, no events,
/// no paths.
pub struct EventChain<E: Event, T: Topic<E>> {
    root: EventId,
    records: EventRecords<E, T>,
    /// The chain's events breadth-first from the root (`nodes[0]`); a
    /// parent always comes before its children.
    nodes: Vec<Node>,
}

impl<E: Event, T: Topic<E>> fmt::Debug for EventChain<E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventChain")
            .field("root", &self.root)
            .field("events", &self.nodes.len())
            .field(
                "deliveries",
                &self.nodes.iter().map(|n| n.deliveries.len()).sum::<usize>(),
            )
            .finish()
    }
}

impl<E: Event, T: Topic<E>> EventChain<E, T> {
    /// The chain of `root` in `records`.
    pub(crate) fn new(records: EventRecords<E, T>, root: EventId) -> Self {
        // One pass over the record: the entries of each event, and the
        // children of each parent in order of first appearance.
        let mut deliveries: HashMap<EventId, Vec<usize>> = HashMap::new();
        let mut children: HashMap<EventId, Vec<EventId>> = HashMap::new();
        for (index, entry) in records.iter().enumerate() {
            match deliveries.entry(entry.id()) {
                Entry::Occupied(mut seen) => seen.get_mut().push(index),
                Entry::Vacant(new) => {
                    new.insert(vec![index]);
                    if let Some(parent) = entry.meta().parent_id() {
                        children.entry(parent).or_default().push(entry.id());
                    }
                }
            }
        }

        // Breadth-first from the root. Taking each event's entries out of
        // the map means no event is visited twice, even in malformed data.
        let mut nodes = Vec::new();
        if let Some(root_deliveries) = deliveries.remove(&root) {
            nodes.push(Node {
                id: root,
                deliveries: root_deliveries,
                children: Vec::new(),
            });
            let mut next = 0;
            while next < nodes.len() {
                for child in children.remove(&nodes[next].id).unwrap_or_default() {
                    if let Some(child_deliveries) = deliveries.remove(&child) {
                        let index = nodes.len();
                        nodes.push(Node {
                            id: child,
                            deliveries: child_deliveries,
                            children: Vec::new(),
                        });
                        nodes[next].children.push(index);
                    }
                }
                next += 1;
            }
        }
        Self {
            root,
            records,
            nodes,
        }
    }

    /// The id of the root event.
    pub fn root(&self) -> EventId {
        self.root
    }

    /// The number of distinct events in the chain, the root included.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the chain is empty: the root event is not in the record.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The chain seen as actors: who published and who handled, along
    /// each branch.
    pub fn actors(&self) -> ActorTrace<'_, E, T> {
        ActorTrace::new(self)
    }

    /// The chain seen as events: what was published, along each branch.
    pub fn events(&self) -> EventTrace<'_, E, T> {
        EventTrace::new(self)
    }

    /// The number of events published while handling the event `matcher`
    /// names (0 when nothing in the chain matches).
    ///
    /// An event matches when one of its deliveries does. When several
    /// events match, the one nearest the root counts (the first
    /// breadth-first).
    pub fn branches_after(&self, matcher: impl Into<EventMatcher<E, T>>) -> usize {
        let matcher = matcher.into();
        self.nodes
            .iter()
            .find(|node| self.node_matches(node, &matcher))
            .map_or(0, |node| node.children.len())
    }

    /// Whether the event `matcher` names caused more than one event: the
    /// chain forks there. The event is chosen as in
    /// [`branches_after`](Self::branches_after).
    pub fn diverges_after(&self, matcher: impl Into<EventMatcher<E, T>>) -> bool {
        self.branches_after(matcher) > 1
    }

    /// The part of the chain that leads to `actor`: the events `actor`
    /// handled and every event between them and the root (with all of
    /// their deliveries). Empty when `actor` handled no event of the chain.
    pub fn path_to(&self, actor: &ActorId) -> EventChain<E, T> {
        let mut parent = vec![usize::MAX; self.nodes.len()];
        for (index, node) in self.nodes.iter().enumerate() {
            for &child in &node.children {
                parent[child] = index;
            }
        }
        let mut keep: Vec<bool> = self
            .nodes
            .iter()
            .map(|node| self.node_entries(node).any(|e| e.receiver() == actor))
            .collect();
        // Children come after their parents, so one backward sweep marks
        // every ancestor of a kept event.
        for index in (1..self.nodes.len()).rev() {
            if keep[index] {
                keep[parent[index]] = true;
            }
        }
        let mut renumber = vec![usize::MAX; self.nodes.len()];
        let mut kept = 0;
        for (index, keep) in keep.iter().enumerate() {
            if *keep {
                renumber[index] = kept;
                kept += 1;
            }
        }
        let nodes = self
            .nodes
            .iter()
            .zip(&keep)
            .filter(|(_, keep)| **keep)
            .map(|(node, _)| Node {
                id: node.id,
                deliveries: node.deliveries.clone(),
                children: node
                    .children
                    .iter()
                    .filter(|&&child| keep[child])
                    .map(|&child| renumber[child])
                    .collect(),
            })
            .collect();
        EventChain {
            root: self.root,
            records: EventRecords::clone(&self.records),
            nodes,
        }
    }

    // ------------------------------------------- for the traces and pictures

    /// The chain's events, breadth-first from the root.
    pub(super) fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The entries of `node`, in record order.
    pub(super) fn node_entries<'a>(
        &'a self,
        node: &'a Node,
    ) -> impl Iterator<Item = &'a EventEntry<E, T>> + 'a {
        node.deliveries.iter().map(|&index| &self.records[index])
    }

    /// The first entry of `node`: its event, topic and sender.
    pub(super) fn first_entry(&self, node: &Node) -> &EventEntry<E, T> {
        &self.records[node.deliveries[0]]
    }

    /// Whether some entry of `node` satisfies `matcher`.
    pub(super) fn node_matches(&self, node: &Node, matcher: &EventMatcher<E, T>) -> bool {
        self.node_entries(node).any(|entry| matcher.matches(entry))
    }

    /// The actor that published the root event.
    pub(super) fn root_sender(&self) -> Option<&ActorId> {
        self.nodes
            .first()
            .map(|root| self.first_entry(root).sender())
    }

    /// Every root-to-leaf path, as node indices, depth-first with children
    /// in order.
    pub(super) fn event_paths(&self) -> Vec<Vec<usize>> {
        let mut paths = Vec::new();
        if self.nodes.is_empty() {
            return paths;
        }
        // The current path, with the next child to visit at each level.
        let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
        while let Some((node, next)) = stack.last_mut() {
            let children = &self.nodes[*node].children;
            if children.is_empty() {
                paths.push(stack.iter().map(|(node, _)| *node).collect());
                stack.pop();
            } else if let Some(&child) = children.get(*next) {
                *next += 1;
                stack.push((child, 0));
            } else {
                stack.pop();
            }
        }
        paths
    }
}

impl<E: Event + Label, T: Topic<E>> EventChain<E, T> {
    /// The chain drawn as a tree, one line per event: its label, its
    /// publisher and the actors that handled it (sorted by name).
    ///
    /// Only forks indent: an event that caused a single event is followed
    /// by it on the next line, in the same column, so a long run of
    /// one-to-one reactions stays a readable list instead of drifting to
    /// the right.
    ///
    /// ```text
    /// EventChain from 1f0c…
    /// Start (alice -> bob, charlie)
    /// ├─ Process (bob -> dave)
    /// │  Complete (dave -> alice)
    /// └─ Branch (charlie -> alice, dave)
    /// ```
    pub fn to_string_tree(&self) -> String {
        let mut out = format!("EventChain from {}", self.root);
        if self.nodes.is_empty() {
            out.push_str(": (empty)\n");
            return out;
        }
        out.push('\n');
        // (node, indentation of its line, its connector: none for the root
        // and for an only child, else whether it is the last of a fork).
        let mut stack: Vec<(usize, String, Option<bool>)> = vec![(0, String::new(), None)];
        while let Some((index, indent, last)) = stack.pop() {
            let node = &self.nodes[index];
            let first = self.first_entry(node);
            let mut receivers: Vec<&str> = distinct(
                self.node_entries(node)
                    .map(|entry| entry.receiver().as_str()),
            );
            receivers.sort_unstable();
            let connector = match last {
                None => "",
                Some(true) => "└─ ",
                Some(false) => "├─ ",
            };
            let _ = writeln!(
                out,
                "{indent}{connector}{} ({} -> {})",
                first.payload().label(),
                first.sender(),
                receivers.join(", "),
            );
            let below = match last {
                None => indent,
                Some(true) => format!("{indent}   "),
                Some(false) => format!("{indent}│  "),
            };
            match node.children.as_slice() {
                [] => {}
                [only] => stack.push((*only, below, None)),
                children => {
                    for (position, &child) in children.iter().enumerate().rev() {
                        let last = position + 1 == children.len();
                        stack.push((child, below.clone(), Some(last)));
                    }
                }
            }
        }
        out
    }

    /// The chain as a Mermaid `sequenceDiagram`: one arrow
    /// `sender->>receiver:Label` per delivery, events breadth-first from
    /// the root and each event's deliveries in record order.
    ///
    /// Actor names are used as participant ids when they are plain
    /// (letters, digits, `_`); otherwise every participant is declared,
    /// with a sanitised id and the real name as its alias.
    ///
    /// ```text
    /// sequenceDiagram
    ///     alice->>bob:Start
    ///     bob->>charlie:Process
    /// ```
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("sequenceDiagram\n");
        let deliveries: Vec<&EventEntry<E, T>> = self
            .nodes
            .iter()
            .flat_map(|node| self.node_entries(node))
            .collect();

        // A Mermaid id for each actor, in order of first appearance.
        let mut ids: HashMap<&str, String> = HashMap::new();
        let mut taken: HashSet<String> = HashSet::new();
        let mut participants: Vec<(&str, bool)> = Vec::new();
        for entry in &deliveries {
            for name in [entry.sender().as_str(), entry.receiver().as_str()] {
                if ids.contains_key(name) {
                    continue;
                }
                let plain: String = name
                    .chars()
                    .map(|c| {
                        if c.is_alphanumeric() || c == '_' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                let plain = if plain.is_empty() || is_mermaid_keyword(&plain) {
                    format!("{plain}_")
                } else {
                    plain
                };
                let mut id = plain.clone();
                let mut suffix = 2;
                while taken.contains(&id) {
                    id = format!("{plain}_{suffix}");
                    suffix += 1;
                }
                participants.push((name, id != name));
                taken.insert(id.clone());
                ids.insert(name, id);
            }
        }
        if participants.iter().any(|(_, renamed)| *renamed) {
            for (name, renamed) in &participants {
                if *renamed {
                    let _ = writeln!(
                        out,
                        "    participant {} as {}",
                        ids[name],
                        mermaid_text(name)
                    );
                } else {
                    let _ = writeln!(out, "    participant {name}");
                }
            }
        }
        for entry in deliveries {
            let _ = writeln!(
                out,
                "    {}->>{}:{}",
                ids[entry.sender().as_str()],
                ids[entry.receiver().as_str()],
                mermaid_text(&entry.payload().label()),
            );
        }
        out
    }
}

/// Whether `word` is a keyword of Mermaid's sequence diagrams (which reads
/// them without regard to case), so cannot serve as a participant id.
fn is_mermaid_keyword(word: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "activate",
        "actor",
        "alt",
        "and",
        "autonumber",
        "box",
        "break",
        "create",
        "critical",
        "deactivate",
        "destroy",
        "else",
        "end",
        "left",
        "link",
        "links",
        "loop",
        "note",
        "of",
        "opt",
        "over",
        "par",
        "participant",
        "rect",
        "right",
        "title",
    ];
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// The tree of [`EventChain::to_string_tree`].
impl<E: Event + Label, T: Topic<E>> fmt::Display for EventChain<E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_tree())
    }
}

#[cfg(all(test, not(maiko_loom)))]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::Envelope;
    use crate::testing::event_query::test_support::{Ev, Script, Tp, actor, fan_out};

    fn labels(chain: &EventChain<Ev, Tp>) -> Vec<String> {
        chain
            .events()
            .ordered()
            .iter()
            .map(|e| e.payload().label().into_owned())
            .collect()
    }

    #[test]
    fn the_index_holds_the_descendants_breadth_first() {
        let f = fan_out();
        let chain = EventChain::new(f.records.clone(), f.start);
        assert_eq!(chain.root(), f.start);
        assert_eq!(chain.len(), 4, "the unrelated event is left out");
        assert!(!chain.is_empty());
        let ids: Vec<EventId> = chain.nodes().iter().map(|n| n.id).collect();
        assert_eq!(ids, vec![f.start, f.process, f.branch, f.complete]);
        assert_eq!(chain.nodes()[0].children, vec![1, 2]);
        assert_eq!(chain.nodes()[0].deliveries, vec![0, 1]);
        assert_eq!(chain.nodes()[2].deliveries, vec![4, 5]);
        assert_eq!(chain.event_paths(), vec![vec![0, 1, 3], vec![0, 2]]);

        // A chain from the middle holds only that subtree.
        let sub = EventChain::new(f.records.clone(), f.process);
        assert_eq!(labels(&sub), ["Process", "Complete"]);
        assert_eq!(sub.root_sender().map(ActorId::as_str), Some("bob"));
    }

    #[test]
    fn branching() {
        let f = fan_out();
        let chain = EventChain::new(f.records.clone(), f.start);
        assert_eq!(chain.branches_after("Start"), 2);
        assert!(chain.diverges_after("Start"));
        assert_eq!(chain.branches_after("Process"), 1);
        assert!(!chain.diverges_after("Process"));
        assert_eq!(chain.branches_after(f.branch), 0);
        assert_eq!(chain.branches_after("Data"), 0, "not in this chain");
        // A matcher on one delivery names the whole event.
        let to_charlie = EventMatcher::by_entry(|e| e.receiver().as_str() == "charlie");
        assert!(chain.diverges_after(to_charlie));
    }

    #[test]
    fn path_to_keeps_the_way_to_an_actor() {
        let f = fan_out();
        let chain = EventChain::new(f.records.clone(), f.start);

        let to_dave = chain.path_to(&actor("dave"));
        assert_eq!(labels(&to_dave), ["Start", "Process", "Branch"]);
        assert!(!to_dave.events().contains("Complete"));
        assert_eq!(to_dave.events().path_count(), 2);

        let to_bob = chain.path_to(&actor("bob"));
        assert_eq!(labels(&to_bob), ["Start"]);
        assert_eq!(to_bob.branches_after("Start"), 0);

        // alice handled Branch and Complete, on both branches.
        let to_alice = chain.path_to(&actor("alice"));
        assert_eq!(
            labels(&to_alice),
            ["Start", "Process", "Branch", "Complete"]
        );

        let nowhere = chain.path_to(&actor("zoe"));
        assert!(nowhere.is_empty());
        assert!(!nowhere.events().contains("Start"));
        assert_eq!(nowhere.actors().path_count(), 0);
    }

    #[test]
    fn an_absent_root_gives_an_empty_chain() {
        let f = fan_out();
        let chain: EventChain<Ev, Tp> = EventChain::new(f.records.clone(), EventId::from(9));
        assert!(chain.is_empty());
        assert_eq!(chain.branches_after("Start"), 0);
        assert!(!chain.diverges_after("Start"));
        assert!(chain.actors().all().is_empty());
        assert!(chain.actors().visited(&[]));
        assert!(chain.events().passes_through(&[] as &[&str]));
        assert!(chain.event_paths().is_empty());
        assert!(chain.to_string_tree().ends_with(": (empty)\n"));
        assert_eq!(chain.to_mermaid(), "sequenceDiagram\n");
    }

    #[test]
    fn malformed_parent_links_do_not_loop() {
        // Two events naming each other as parent.
        let a = actor("a");
        let first = Envelope::new(Ev::Start, a.clone());
        let second = Envelope::new(Ev::Process, a.clone()).with_parent_id(first.id());
        let first = Arc::new(first.with_parent_id(second.id()));
        let second = Arc::new(second);
        let records = Arc::new(vec![
            EventEntry::new(first.clone(), Tp::Control, a.clone(), 0),
            EventEntry::new(second.clone(), Tp::Control, a.clone(), 1),
        ]);
        let chain = EventChain::new(records, first.id());
        assert_eq!(chain.len(), 2);
        assert_eq!(chain.event_paths(), vec![vec![0, 1]]);
    }

    #[test]
    fn tree_drawing() {
        let f = fan_out();
        let chain = EventChain::new(f.records.clone(), f.start);
        let expected = format!(
            "EventChain from {}\n\
             Start (alice -> bob, charlie)\n\
             ├─ Process (bob -> dave)\n\
             │  Complete (dave -> alice)\n\
             └─ Branch (charlie -> alice, dave)\n",
            f.start
        );
        assert_eq!(chain.to_string_tree(), expected);
        assert_eq!(chain.to_string(), expected);
        assert!(format!("{chain:?}").contains("events: 4"));
    }

    #[test]
    fn tree_drawing_indents_only_at_forks() {
        // a: Start -> b; b: Process -> c; c forks into Branch (-> d) and
        // Complete (-> e); d: Data(1) -> a.
        let (a, b, c, d, e) = (actor("a"), actor("b"), actor("c"), actor("d"), actor("e"));
        let mut script = Script::new();
        let start = script.publish(Ev::Start, &a, None);
        script.deliver(&start, Tp::Control, &b);
        let process = script.publish(Ev::Process, &b, Some(start.id()));
        script.deliver(&process, Tp::Control, &c);
        let branch = script.publish(Ev::Branch, &c, Some(process.id()));
        script.deliver(&branch, Tp::Control, &d);
        let complete = script.publish(Ev::Complete, &c, Some(process.id()));
        script.deliver(&complete, Tp::Control, &e);
        let data = script.publish(Ev::Data(1), &d, Some(branch.id()));
        script.deliver(&data, Tp::Data, &a);
        let chain = EventChain::new(script.finish(), start.id());
        assert_eq!(
            chain.to_string_tree(),
            format!(
                "EventChain from {}\n\
                 Start (a -> b)\n\
                 Process (b -> c)\n\
                 ├─ Branch (c -> d)\n\
                 │  Data (d -> a)\n\
                 └─ Complete (c -> e)\n",
                start.id()
            )
        );
    }

    #[test]
    fn a_long_chain_is_walked_without_recursion() {
        // A ping-pong of 20 000 hops between a and b.
        const HOPS: usize = 20_000;
        let players = [actor("a"), actor("b")];
        let mut script = Script::new();
        let mut parent = None;
        let mut root = None;
        for hop in 0..HOPS {
            let event = script.publish(Ev::Data(hop as i32), &players[hop % 2], parent);
            script.deliver(&event, Tp::Data, &players[(hop + 1) % 2]);
            parent = Some(event.id());
            root = root.or(parent);
        }
        let chain = EventChain::new(script.finish(), root.unwrap());
        assert_eq!(chain.len(), HOPS);
        assert_eq!(chain.events().path_count(), 1);
        let paths = chain.actors().paths();
        assert_eq!(paths.len(), 1);
        assert_eq!(paths[0].len(), HOPS + 1);
        let expected: Vec<&ActorId> = (0..=HOPS).map(|i| &players[i % 2]).collect();
        assert!(chain.actors().exact(&expected));
        assert!(chain.events().passes_through(&["Data", "Data"]));
        assert_eq!(chain.to_string_tree().lines().count(), HOPS + 1);
        assert!(chain.to_string_tree().lines().all(|line| line.len() < 80));
        assert_eq!(chain.to_mermaid().lines().count(), HOPS + 1);
        assert_eq!(chain.path_to(&players[0]).len(), HOPS);
    }

    #[test]
    fn mermaid_has_one_arrow_per_delivery_in_chain_order() {
        let f = fan_out();
        let chain = EventChain::new(f.records.clone(), f.start);
        assert_eq!(
            chain.to_mermaid(),
            "sequenceDiagram\n\
             \x20   alice->>bob:Start\n\
             \x20   alice->>charlie:Start\n\
             \x20   bob->>dave:Process\n\
             \x20   charlie->>dave:Branch\n\
             \x20   charlie->>alice:Branch\n\
             \x20   dave->>alice:Complete\n"
        );
    }

    #[test]
    fn mermaid_declares_awkward_names() {
        let (gate, gate_, book) = (actor("order-gate"), actor("order_gate"), actor("book"));
        let mut script = Script::new();
        let start = script.publish(Ev::Start, &gate, None);
        script.deliver(&start, Tp::Control, &gate_);
        let next = script.publish(Ev::Process, &gate_, Some(start.id()));
        script.deliver(&next, Tp::Control, &book);
        let chain = EventChain::new(script.finish(), start.id());
        assert_eq!(
            chain.to_mermaid(),
            "sequenceDiagram\n\
             \x20   participant order_gate as order-gate\n\
             \x20   participant order_gate_2 as order_gate\n\
             \x20   participant book\n\
             \x20   order_gate->>order_gate_2:Start\n\
             \x20   order_gate_2->>book:Process\n"
        );
    }

    #[test]
    fn mermaid_keywords_are_not_used_as_ids() {
        let (end, loop_) = (actor("End"), actor("loop"));
        let mut script = Script::new();
        let start = script.publish(Ev::Start, &end, None);
        script.deliver(&start, Tp::Control, &loop_);
        let chain = EventChain::new(script.finish(), start.id());
        assert_eq!(
            chain.to_mermaid(),
            "sequenceDiagram\n\
             \x20   participant End_ as End\n\
             \x20   participant loop_ as loop\n\
             \x20   End_->>loop_:Start\n"
        );
    }
}
