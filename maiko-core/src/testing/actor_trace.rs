//! [`ActorTrace`]: an [`EventChain`] read as the actors it passed through.

use std::{
    collections::{HashMap, HashSet, hash_map::Entry},
    fmt,
};

use crate::{ActorId, Event, Topic};

use super::{EventChain, event_query::distinct};

/// The actors of an [`EventChain`], and the routes the chain took through
/// them. Made by [`EventChain::actors`].
///
/// A *path* follows one branch of the chain from the actor that published
/// the root event, through each actor that handled an event of the branch
/// and published its next event, to an actor that handled a last event
/// (one that caused nothing). An actor appearing twice in a row (one that
/// handled its own event) is listed once.
///
/// For a chain where `scanner` publishes a key press that `pipeline`
/// handles, `pipeline` publishes a report that `writer` and `audit` both
/// handle, and only `writer` reacts (with an event `telemetry` handles),
/// the paths are
///
/// ```text
/// scanner, pipeline, writer, telemetry
/// scanner, pipeline, audit
/// ```
///
/// and so:
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
/// let scanner = ActorId::new("scanner");
/// let key = test.send_as(&scanner, Input::KeyPress('a')).await?;
/// test.settle().await;
/// let chain = test.chain(key);
///
/// let actors = chain.actors();
/// assert!(actors.exact(&[&scanner, &pipeline, &writer, &telemetry]));
/// assert!(actors.exact(&[&scanner, &pipeline, &audit]));
/// assert!(!actors.exact(&[&scanner, &pipeline, &writer])); // not to the end
/// assert!(actors.segment(&[&pipeline, &writer]));
/// assert!(!actors.segment(&[&scanner, &writer]));          // a gap
/// assert!(actors.passes_through(&[&scanner, &telemetry])); // gaps allowed
/// assert!(!actors.passes_through(&[&audit, &telemetry]));  // different branches
/// assert_eq!(actors.path_count(), 2);
/// # sup.stop().await
/// # }
/// ```
///
/// Every check given an empty list of actors holds.
pub struct ActorTrace<'a, E: Event, T: Topic<E>> {
    chain: &'a EventChain<E, T>,
}

impl<E: Event, T: Topic<E>> fmt::Debug for ActorTrace<'_, E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorTrace")
            .field("chain", self.chain)
            .finish()
    }
}

/// Work left while listing paths depth-first.
enum Step<'a> {
    /// Continue through the event at this node, with the path so far.
    Walk(usize, Vec<&'a ActorId>),
    /// A finished path.
    Done(Vec<&'a ActorId>),
}

/// `path` followed by `actor`, unless the path already ends with it. The
/// path is moved out on its `last` use and copied before that, so a chain
/// without forks is walked without copying.
fn branch<'a>(path: &mut Vec<&'a ActorId>, last: bool, actor: &'a ActorId) -> Vec<&'a ActorId> {
    let mut next = if last {
        std::mem::take(path)
    } else {
        path.clone()
    };
    if next.last() != Some(&actor) {
        next.push(actor);
    }
    next
}

impl<'a, E: Event, T: Topic<E>> ActorTrace<'a, E, T> {
    pub(super) fn new(chain: &'a EventChain<E, T>) -> Self {
        Self { chain }
    }

    /// Every actor of the chain: the root's publisher, then each actor
    /// that handled an event of the chain, each once, in chain order.
    pub fn all(&self) -> Vec<&'a ActorId> {
        let chain = self.chain;
        let handlers = chain
            .nodes()
            .iter()
            .flat_map(|node| chain.node_entries(node).map(|entry| entry.receiver()));
        distinct(chain.root_sender().into_iter().chain(handlers))
    }

    /// Whether every one of `actors` took part in the chain (on any
    /// branch, in any order).
    pub fn visited(&self, actors: &[&ActorId]) -> bool {
        let all: HashSet<&ActorId> = self.all().into_iter().collect();
        actors.iter().all(|actor| all.contains(actor))
    }

    /// Whether some path is exactly `actors`, from the root's publisher to
    /// the end of a branch.
    pub fn exact(&self, actors: &[&ActorId]) -> bool {
        actors.is_empty() || self.paths().iter().any(|path| path.as_slice() == actors)
    }

    /// Whether `actors` appear one right after another on some path.
    pub fn segment(&self, actors: &[&ActorId]) -> bool {
        actors.is_empty()
            || self
                .paths()
                .iter()
                .any(|path| path.windows(actors.len()).any(|window| window == actors))
    }

    /// Whether `actors` appear in this order on some path, other actors
    /// allowed between them.
    pub fn passes_through(&self, actors: &[&ActorId]) -> bool {
        actors.is_empty()
            || self.paths().iter().any(|path| {
                let mut wanted = actors.iter().peekable();
                for actor in path {
                    if wanted.peek().is_some_and(|next| *next == actor) {
                        wanted.next();
                    }
                }
                wanted.peek().is_none()
            })
    }

    /// The number of paths (see [`paths`](Self::paths)).
    pub fn path_count(&self) -> usize {
        self.paths().len()
    }

    /// Every path, depth-first: for each event, its handlers in record
    /// order, and for a handler that published several events, each of
    /// them in order.
    pub fn paths(&self) -> Vec<Vec<&'a ActorId>> {
        let chain = self.chain;
        let nodes = chain.nodes();
        let mut paths = Vec::new();
        let Some(root_sender) = chain.root_sender() else {
            return paths;
        };
        let mut stack = vec![Step::Walk(0, vec![root_sender])];
        while let Some(step) = stack.pop() {
            let (index, mut path) = match step {
                Step::Done(path) => {
                    paths.push(path);
                    continue;
                }
                Step::Walk(index, path) => (index, path),
            };
            let node = &nodes[index];

            // The handlers of this event in record order, each with the
            // events it published in reaction, in order.
            let mut groups: Vec<(&'a ActorId, Vec<usize>)> = Vec::new();
            let mut group_of: HashMap<&'a ActorId, usize> = HashMap::new();
            for entry in chain.node_entries(node) {
                if let Entry::Vacant(slot) = group_of.entry(entry.receiver()) {
                    slot.insert(groups.len());
                    groups.push((entry.receiver(), Vec::new()));
                }
            }
            // A child whose publisher did not handle this event (possible
            // only in hand-made records) continues from its publisher.
            let mut orphans: Vec<(&'a ActorId, usize)> = Vec::new();
            for &child in &node.children {
                let publisher = chain.first_entry(&nodes[child]).sender();
                match group_of.get(publisher) {
                    Some(&group) => groups[group].1.push(child),
                    None => orphans.push((publisher, child)),
                }
            }

            // The continuations in the order they should be listed; pushed
            // reversed below so that they come off the stack in order.
            let mut uses_left = groups.len() + orphans.len();
            let mut next = Vec::with_capacity(uses_left);
            for (handler, children) in groups {
                uses_left -= 1;
                let last = uses_left == 0;
                let mut through = branch(&mut path, last, handler);
                let count = children.len();
                if count == 0 {
                    next.push(Step::Done(through));
                    continue;
                }
                for (position, child) in children.into_iter().enumerate() {
                    let path = if position + 1 == count {
                        std::mem::take(&mut through)
                    } else {
                        through.clone()
                    };
                    next.push(Step::Walk(child, path));
                }
            }
            for (publisher, child) in orphans {
                uses_left -= 1;
                let last = uses_left == 0;
                next.push(Step::Walk(child, branch(&mut path, last, publisher)));
            }
            stack.extend(next.into_iter().rev());
        }
        paths
    }
}

#[cfg(all(test, not(maiko_loom)))]
mod tests {
    use super::*;
    use crate::testing::event_query::test_support::{Ev, Script, Tp, actor, fan_out};

    fn names(path: &[&ActorId]) -> Vec<String> {
        path.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn paths_of_a_branching_chain() {
        let f = fan_out();
        let chain = EventChain::new(f.records.clone(), f.start);
        let paths: Vec<Vec<String>> = chain.actors().paths().iter().map(|p| names(p)).collect();
        assert_eq!(
            paths,
            [
                vec!["alice", "bob", "dave", "alice"],
                vec!["alice", "charlie", "dave"],
                vec!["alice", "charlie", "alice"],
            ]
        );
        assert_eq!(chain.actors().path_count(), 3);
        let all: Vec<String> = names(&chain.actors().all());
        assert_eq!(all, ["alice", "bob", "charlie", "dave"]);
    }

    #[test]
    fn exact_segment_and_passes_through() {
        let f = fan_out();
        let chain = EventChain::new(f.records.clone(), f.start);
        let actors = chain.actors();
        let (alice, bob, charlie, dave, eve) = (
            actor("alice"),
            actor("bob"),
            actor("charlie"),
            actor("dave"),
            actor("eve"),
        );

        assert!(actors.exact(&[&alice, &bob, &dave, &alice]));
        assert!(actors.exact(&[&alice, &charlie, &dave]));
        assert!(!actors.exact(&[&alice, &bob, &dave]), "stops short");
        assert!(!actors.exact(&[&bob, &dave, &alice]), "starts late");

        assert!(actors.segment(&[&bob, &dave]));
        assert!(actors.segment(&[&charlie, &alice]));
        assert!(!actors.segment(&[&alice, &dave]), "bob or charlie between");
        assert!(!actors.segment(&[&bob, &charlie]), "two branches");

        assert!(actors.passes_through(&[&alice, &dave]));
        assert!(actors.passes_through(&[&alice, &bob, &alice]));
        assert!(!actors.passes_through(&[&bob, &charlie]), "two branches");
        assert!(!actors.passes_through(&[&dave, &bob]), "wrong order");

        assert!(actors.visited(&[&alice, &bob, &charlie, &dave]));
        assert!(!actors.visited(&[&alice, &eve]));

        for check in [
            actors.exact(&[]),
            actors.segment(&[]),
            actors.passes_through(&[]),
            actors.visited(&[]),
        ] {
            assert!(check, "an empty list always holds");
        }
    }

    #[test]
    fn a_linear_chain_and_self_delivery() {
        // a publishes Start to itself and b; a reacts with Process to c.
        let (a, b, c) = (actor("a"), actor("b"), actor("c"));
        let mut script = Script::new();
        let start = script.publish(Ev::Start, &a, None);
        script.deliver(&start, Tp::Control, &a);
        script.deliver(&start, Tp::Control, &b);
        let process = script.publish(Ev::Process, &a, Some(start.id()));
        script.deliver(&process, Tp::Control, &c);
        let chain = EventChain::new(script.finish(), start.id());
        let paths: Vec<Vec<String>> = chain.actors().paths().iter().map(|p| names(p)).collect();
        assert_eq!(paths, [vec!["a", "c"], vec!["a", "b"]]);
        assert!(chain.actors().exact(&[&a, &c]));
    }

    #[test]
    fn a_child_from_an_actor_that_did_not_handle_the_parent() {
        // Only possible in hand-made records: x publishes a child of Start
        // without having handled Start.
        let (a, b, x, y) = (actor("a"), actor("b"), actor("x"), actor("y"));
        let mut script = Script::new();
        let start = script.publish(Ev::Start, &a, None);
        script.deliver(&start, Tp::Control, &b);
        let stray = script.publish(Ev::Process, &x, Some(start.id()));
        script.deliver(&stray, Tp::Control, &y);
        let chain = EventChain::new(script.finish(), start.id());
        let paths: Vec<Vec<String>> = chain.actors().paths().iter().map(|p| names(p)).collect();
        assert_eq!(paths, [vec!["a", "b"], vec!["a", "x", "y"]]);
    }

    #[test]
    fn a_handler_with_two_children_gives_two_paths() {
        let (a, b, c, d) = (actor("a"), actor("b"), actor("c"), actor("d"));
        let mut script = Script::new();
        let start = script.publish(Ev::Start, &a, None);
        script.deliver(&start, Tp::Control, &b);
        let one = script.publish(Ev::Process, &b, Some(start.id()));
        let two = script.publish(Ev::Branch, &b, Some(start.id()));
        script.deliver(&one, Tp::Control, &c);
        script.deliver(&two, Tp::Control, &d);
        let chain = EventChain::new(script.finish(), start.id());
        let paths: Vec<Vec<String>> = chain.actors().paths().iter().map(|p| names(p)).collect();
        assert_eq!(paths, [vec!["a", "b", "c"], vec!["a", "b", "d"]]);
    }
}
