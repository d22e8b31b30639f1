//! [`Flow`]: the whole-system picture of a set of records — who published
//! to whom, on which topic, how often — as data, Mermaid or Graphviz.

use std::{
    borrow::Cow,
    collections::{BTreeMap, BTreeSet},
    fmt::{self, Write as _},
};

use crate::{ActorId, Event, Topic};

use super::EventEntry;

/// One arrow of a [`Flow`]: `sender` published events on `topic` that
/// `receiver` handled, `count` times in all.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowEdge {
    /// The publishing actor.
    pub sender: ActorId,
    /// The handling actor.
    pub receiver: ActorId,
    /// The topic's [`Topic::name`].
    pub topic: String,
    /// The number of deliveries along this edge.
    pub count: usize,
}

/// The event flow of a set of records, summarised as a graph: actors are
/// the nodes, and each (sender, receiver, topic) triple seen is one
/// [`FlowEdge`] carrying its number of deliveries.
///
/// Get one from any query with
/// [`EventQuery::flow`](super::EventQuery::flow), so the picture can be of
/// the whole run or of a filtered part of it. Edges are kept sorted by
/// sender, receiver and topic name, so every rendering is the same on every
/// run. Topics are told apart by name: two topic values with the same
/// [`Topic::name`] share an edge.
///
/// A flow can also be assembled from edges (repeated edges add up):
///
/// ```
/// use maiko_core::{ActorId, testing::{Flow, FlowEdge}};
///
/// let edge = |from: &str, to: &str, topic: &str, count| FlowEdge {
///     sender: ActorId::new(from),
///     receiver: ActorId::new(to),
///     topic: topic.to_string(),
///     count,
/// };
/// let flow: Flow = [
///     edge("ingest", "parser", "Raw", 2),
///     edge("parser", "store", "Parsed", 2),
///     edge("ingest", "parser", "Raw", 1),
/// ]
/// .into_iter()
/// .collect();
///
/// assert_eq!(flow.edges()[0].count, 3);
/// assert_eq!(
///     flow.to_mermaid(),
///     "flowchart LR\n\
///      \x20   a0[\"ingest\"]\n\
///      \x20   a1[\"parser\"]\n\
///      \x20   a2[\"store\"]\n\
///      \x20   a0 -->|\"Raw: 3\"| a1\n\
///      \x20   a1 -->|\"Parsed: 2\"| a2\n"
/// );
/// assert!(flow.to_dot().contains("\"ingest\" -> \"parser\" [label=\"Raw: 3\"];"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flow {
    /// Sorted by (sender, receiver, topic), one per triple.
    edges: Vec<FlowEdge>,
}

impl Flow {
    /// Counts the deliveries of `entries` per (sender, receiver, topic).
    pub(crate) fn from_entries<'a, E, T>(
        entries: impl Iterator<Item = &'a EventEntry<E, T>>,
    ) -> Self
    where
        E: Event,
        T: Topic<E>,
    {
        let mut counts: BTreeMap<(ActorId, ActorId, Cow<'static, str>), usize> = BTreeMap::new();
        for entry in entries {
            let key = (
                entry.sender().clone(),
                entry.receiver().clone(),
                entry.topic().name(),
            );
            *counts.entry(key).or_insert(0) += 1;
        }
        let edges = counts
            .into_iter()
            .map(|((sender, receiver, topic), count)| FlowEdge {
                sender,
                receiver,
                topic: topic.into_owned(),
                count,
            })
            .collect();
        Self { edges }
    }

    /// The edges, sorted by sender, receiver and topic.
    pub fn edges(&self) -> Vec<FlowEdge> {
        self.edges.clone()
    }

    /// The actors that appear on some edge, sorted by name.
    pub fn actors(&self) -> Vec<ActorId> {
        self.actor_set().into_iter().cloned().collect()
    }

    /// Whether the flow has no edge (nothing was delivered).
    pub fn is_empty(&self) -> bool {
        self.edges.is_empty()
    }

    /// The number of deliveries over all edges.
    pub fn deliveries(&self) -> usize {
        self.edges.iter().map(|edge| edge.count).sum()
    }

    fn actor_set(&self) -> BTreeSet<&ActorId> {
        self.edges
            .iter()
            .flat_map(|edge| [&edge.sender, &edge.receiver])
            .collect()
    }

    /// A Mermaid `flowchart LR`: one node per actor (named `a0`, `a1`, …
    /// and labelled with the actor's name), one arrow per edge labelled
    /// `topic: count`. Characters Mermaid would interpret in a label are
    /// written as entity codes.
    pub fn to_mermaid(&self) -> String {
        let actors: Vec<&ActorId> = self.actor_set().into_iter().collect();
        let node = |actor: &ActorId| {
            // `actors` is sorted, and holds every actor of every edge.
            actors.binary_search(&actor).unwrap_or_default()
        };
        let mut out = String::from("flowchart LR\n");
        for (index, actor) in actors.iter().enumerate() {
            let _ = writeln!(out, "    a{index}[\"{}\"]", mermaid_text(actor.as_str()));
        }
        for edge in &self.edges {
            let _ = writeln!(
                out,
                "    a{} -->|\"{}: {}\"| a{}",
                node(&edge.sender),
                mermaid_text(&edge.topic),
                edge.count,
                node(&edge.receiver),
            );
        }
        out
    }

    /// A Graphviz `digraph` (left to right): one node per actor, one edge
    /// per flow edge labelled `topic: count`. Names are quoted and escaped,
    /// so any actor or topic name is valid DOT.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph flow {\n    rankdir=LR;\n");
        for actor in self.actor_set() {
            let _ = writeln!(out, "    \"{}\";", dot_text(actor.as_str()));
        }
        for edge in &self.edges {
            let _ = writeln!(
                out,
                "    \"{}\" -> \"{}\" [label=\"{}: {}\"];",
                dot_text(edge.sender.as_str()),
                dot_text(edge.receiver.as_str()),
                dot_text(&edge.topic),
                edge.count,
            );
        }
        out.push_str("}\n");
        out
    }
}

/// Edges in any order; the same (sender, receiver, topic) seen more than
/// once adds up into one edge.
impl FromIterator<FlowEdge> for Flow {
    fn from_iter<I: IntoIterator<Item = FlowEdge>>(edges: I) -> Self {
        let mut counts: BTreeMap<(ActorId, ActorId, String), usize> = BTreeMap::new();
        for edge in edges {
            *counts
                .entry((edge.sender, edge.receiver, edge.topic))
                .or_insert(0) += edge.count;
        }
        let edges = counts
            .into_iter()
            .map(|((sender, receiver, topic), count)| FlowEdge {
                sender,
                receiver,
                topic,
                count,
            })
            .collect();
        Self { edges }
    }
}

/// One line per edge: `sender -> receiver [topic] xcount`.
impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for edge in &self.edges {
            writeln!(
                f,
                "{} -> {} [{}] x{}",
                edge.sender, edge.receiver, edge.topic, edge.count
            )?;
        }
        Ok(())
    }
}

/// Text for inside a double-quoted Mermaid label: `#` (which starts an
/// entity code), quotes, angle brackets and bars become entity codes, and
/// line breaks become spaces.
pub(crate) fn mermaid_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '#' => out.push_str("#35;"),
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '|' => out.push_str("#124;"),
            ';' => out.push_str("#59;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Text for inside a double-quoted DOT string.
fn dot_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(all(test, not(maiko_loom)))]
mod tests {
    use super::*;
    use crate::testing::event_query::test_support::{Ev, Script, Tp, actor, fan_out};

    fn edge(from: &str, to: &str, topic: &str, count: usize) -> FlowEdge {
        FlowEdge {
            sender: actor(from),
            receiver: actor(to),
            topic: topic.to_string(),
            count,
        }
    }

    #[test]
    fn entries_become_sorted_counted_edges() {
        let f = fan_out();
        let flow = Flow::from_entries(f.records.iter());
        let edges: Vec<(String, String, String, usize)> = flow
            .edges()
            .into_iter()
            .map(|e| {
                (
                    e.sender.to_string(),
                    e.receiver.to_string(),
                    e.topic,
                    e.count,
                )
            })
            .collect();
        let expected = [
            ("alice", "bob", "Control", 1),
            ("alice", "charlie", "Control", 1),
            ("bob", "dave", "Control", 1),
            ("charlie", "alice", "Control", 1),
            ("charlie", "dave", "Control", 1),
            ("dave", "alice", "Control", 1),
            ("eve", "bob", "Data", 1),
        ]
        .map(|(s, r, t, c)| (s.to_string(), r.to_string(), t.to_string(), c));
        assert_eq!(edges, expected);
        assert_eq!(flow.deliveries(), 7);
        let actors: Vec<String> = flow.actors().iter().map(ToString::to_string).collect();
        assert_eq!(actors, ["alice", "bob", "charlie", "dave", "eve"]);
    }

    #[test]
    fn repeated_deliveries_add_up_and_topics_split_edges() {
        let (a, b) = (actor("a"), actor("b"));
        let mut script = Script::new();
        for n in 0..4 {
            let e = script.publish(Ev::Data(n), &a, None);
            script.deliver(&e, Tp::Data, &b);
        }
        let c = script.publish(Ev::Start, &a, None);
        script.deliver(&c, Tp::Control, &b);
        let records = script.finish();
        let flow = Flow::from_entries(records.iter());
        assert_eq!(
            flow.edges(),
            vec![edge("a", "b", "Control", 1), edge("a", "b", "Data", 4)]
        );
        assert_eq!(flow.to_string(), "a -> b [Control] x1\na -> b [Data] x4\n");
    }

    #[test]
    fn mermaid_is_a_labelled_flowchart() {
        let f = fan_out();
        let flow = Flow::from_entries(f.records.iter());
        let expected = "flowchart LR\n\
            \x20   a0[\"alice\"]\n\
            \x20   a1[\"bob\"]\n\
            \x20   a2[\"charlie\"]\n\
            \x20   a3[\"dave\"]\n\
            \x20   a4[\"eve\"]\n\
            \x20   a0 -->|\"Control: 1\"| a1\n\
            \x20   a0 -->|\"Control: 1\"| a2\n\
            \x20   a1 -->|\"Control: 1\"| a3\n\
            \x20   a2 -->|\"Control: 1\"| a0\n\
            \x20   a2 -->|\"Control: 1\"| a3\n\
            \x20   a3 -->|\"Control: 1\"| a0\n\
            \x20   a4 -->|\"Data: 1\"| a1\n";
        assert_eq!(flow.to_mermaid(), expected);
    }

    #[test]
    fn dot_is_a_digraph() {
        let flow: Flow = [edge("a", "b", "T", 2), edge("b", "a", "U", 1)]
            .into_iter()
            .collect();
        assert_eq!(
            flow.to_dot(),
            "digraph flow {\n    rankdir=LR;\n    \"a\";\n    \"b\";\n    \
             \"a\" -> \"b\" [label=\"T: 2\"];\n    \"b\" -> \"a\" [label=\"U: 1\"];\n}\n"
        );
    }

    #[test]
    fn awkward_names_are_escaped() {
        let flow: Flow = [edge("say \"hi\"", "a\\b", "x<y>|#;\nz", 1)]
            .into_iter()
            .collect();
        let mermaid = flow.to_mermaid();
        assert!(mermaid.contains("[\"say #quot;hi#quot;\"]"), "{mermaid}");
        assert!(
            mermaid.contains("-->|\"x#lt;y#gt;#124;#35;#59; z: 1\"|"),
            "{mermaid}"
        );
        let dot = flow.to_dot();
        assert!(dot.contains("\"say \\\"hi\\\"\" -> \"a\\\\b\""), "{dot}");
        assert!(dot.contains("label=\"x<y>|#;\\nz: 1\""), "{dot}");
    }

    #[test]
    fn an_empty_flow_still_renders() {
        let flow = Flow::default();
        assert!(flow.is_empty());
        assert_eq!(flow.to_mermaid(), "flowchart LR\n");
        assert_eq!(flow.to_dot(), "digraph flow {\n    rankdir=LR;\n}\n");
        assert_eq!(flow.deliveries(), 0);
    }
}
