//! Wait-for cycles among blocked publishers.
//!
//! Under [`OverflowPolicy::Block`](crate::OverflowPolicy::Block) two kinds
//! of waits can chain: an actor inside a handler waits for room in its
//! stage-1 channel (a *lane*), and the lane's routing loop waits for room
//! in a subscriber's mailbox. If that subscriber is itself inside a handler
//! waiting for room in its own lane, and so on back to the first actor,
//! nobody can move: a cycle.
//!
//! # Detection
//!
//! Only waits take part, and only once they are real: a publisher whose
//! `try_reserve` found its lane full, a routing loop whose `try_send` found
//! a mailbox full under `Block`. Each adds its edge to the [`WaitGraph`] (of
//! the gate's root, so a cycle through several supervisors of a group is
//! seen), and removes it when the wait ends; nothing else touches the graph.
//! Every node has at most one outgoing edge, so the walk from the lane just
//! waited on is a path: it either ends (someone on it is not waiting, for
//! example a slow consumer inside its handler: no cycle) or comes back to
//! the lane. Edges are added and walks made under one lock, so the edge that
//! closes a cycle always sees the others.
//!
//! # Breaking
//!
//! The actor on the cycle whose publish waits on the lane walked from is
//! its *breaker*: the detector notifies it (or is it). Under the default
//! [`CyclePolicy::Exceed`](crate::CyclePolicy::Exceed) the breaker puts its
//! event into its lane's [`Spill`](super::lane::Spill), beyond the channel's capacity, returns
//! from its publish and goes on: its mailbox drains, which frees the wait
//! before it, and the cycle unwinds. The push happens under the graph's lock
//! while the lane's routing loop still has its wait edge, so the loop
//! removes that edge (under the same lock) after the push and sees the
//! spill before it next waits for its channel: no wake-up is needed.
//!
//! Order per publisher is kept: an actor puts an event into its lane's
//! channel only while the spill is empty (else it waits for the spill to
//! drain, or breaks a cycle again), and the routing loop takes the spill's
//! events only after the channel events that were there before them.

use std::{
    borrow::Cow,
    collections::{HashMap, HashSet},
    sync::Arc,
};

use parking_lot::{Mutex, MutexGuard};
use tokio::sync::Notify;
use tracing::warn;

use super::cell::ActorCell;
use crate::{ActorId, CyclePolicy, topic::DEFAULT_BROKER};

/// A wait of a publishing actor for room in a lane.
struct PublisherWait {
    lane: usize,
    actor: ActorId,
    breaker: Arc<Notify>,
}

/// A wait of a lane's routing loop for room in a mailbox.
struct LaneWait {
    actor: usize,
    name: ActorId,
    topic: Cow<'static, str>,
    broker: &'static str,
}

/// A cycle found by a walk.
struct Found {
    /// Every node on it, lanes and actors.
    nodes: Vec<usize>,
    text: String,
    /// The actor whose publish waits on the lane walked from.
    breaker: usize,
}

#[derive(Default)]
struct Graph {
    publishers: HashMap<usize, PublisherWait>,
    lanes: HashMap<usize, LaneWait>,
    /// Cycles found and not yet broken.
    standing: Vec<(Vec<usize>, String)>,
    /// Cycles already named in a warning.
    warned: HashSet<String>,
    /// Cycles that stood at the stop request or were found after it.
    at_stop: Vec<String>,
    stopping: bool,
}

/// The wait-for graph of one gate (see the module docs).
#[derive(Default)]
pub(crate) struct WaitGraph {
    graph: Mutex<Graph>,
}

impl std::fmt::Debug for WaitGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitGraph").finish_non_exhaustive()
    }
}

/// The key of an actor in the graph.
pub(crate) fn actor_key(cell: &ActorCell) -> usize {
    std::ptr::from_ref(cell) as usize
}

impl Graph {
    /// Walk from `lane`: the cycle through it, if there is one.
    fn cycle_through(&self, lane: usize) -> Option<Found> {
        let mut nodes = vec![lane];
        let mut hops: Vec<(&LaneWait, &ActorId)> = Vec::new();
        let mut current = lane;
        for _ in 0..=self.lanes.len() {
            let wait = self.lanes.get(&current)?;
            let publisher = self.publishers.get(&wait.actor)?;
            hops.push((wait, &publisher.actor));
            nodes.push(wait.actor);
            if publisher.lane == lane {
                // `hops` runs X1 .. Xk, the breaker last; the text starts at
                // the breaker, whose lane waits for X1.
                let breaker = &hops[hops.len() - 1].1;
                let mut text = breaker.as_str().to_owned();
                for (wait, _) in &hops {
                    text.push_str(" -> ");
                    push_topic(&mut text, wait);
                    text.push_str(" -> ");
                    text.push_str(wait.name.as_str());
                }
                return Some(Found {
                    nodes,
                    text,
                    breaker: wait.actor,
                });
            }
            current = publisher.lane;
            nodes.push(current);
        }
        None
    }

    /// A cycle found: remember it, name it once, and notify its breaker
    /// unless that is `me`.
    fn found(&mut self, found: &Found, me: Option<usize>, policy: CyclePolicy) {
        if !self.standing.iter().any(|(_, text)| *text == found.text) {
            self.standing
                .push((found.nodes.clone(), found.text.clone()));
            if self.warned.insert(found.text.clone()) {
                let resolution = match policy {
                    CyclePolicy::Exceed => "breaking it: one publish goes over capacity",
                    CyclePolicy::Wait => "waiting (CyclePolicy::Wait)",
                    CyclePolicy::Refuse => "refusing the publish that closes it",
                };
                warn!(cycle = %found.text, "a cycle of actors blocked publishing under OverflowPolicy::Block; {resolution}");
            }
            if self.stopping && !self.at_stop.contains(&found.text) {
                self.at_stop.push(found.text.clone());
            }
        }
        if Some(found.breaker) != me
            && let Some(breaker) = self.publishers.get(&found.breaker)
        {
            breaker.breaker.notify_one();
        }
    }

    fn forget(&mut self, node: usize) {
        self.standing.retain(|(nodes, _)| !nodes.contains(&node));
    }
}

fn push_topic(text: &mut String, wait: &LaneWait) {
    use std::fmt::Write;
    if wait.broker == DEFAULT_BROKER {
        let _ = write!(text, "topic '{}'", wait.topic);
    } else {
        let _ = write!(text, "topic '{}' of broker '{}'", wait.topic, wait.broker);
    }
}

impl WaitGraph {
    /// An actor's publish waits for room in `lane`: add the edge, and walk.
    /// Returns a guard that removes the edge, and the cycle's text if this
    /// actor is the breaker of a cycle through its lane.
    pub(crate) fn publisher_waits<'a>(
        &'a self,
        cell: &ActorCell,
        breaker: &Arc<Notify>,
        lane: usize,
        policy: CyclePolicy,
    ) -> (Edge<'a>, Option<String>) {
        let key = actor_key(cell);
        let mut graph = self.graph.lock();
        graph.publishers.insert(
            key,
            PublisherWait {
                lane,
                actor: cell.id.clone(),
                breaker: Arc::clone(breaker),
            },
        );
        let mine = graph.cycle_through(lane).and_then(|found| {
            graph.found(&found, Some(key), policy);
            (found.breaker == key).then_some(found.text)
        });
        (
            Edge {
                graph: self,
                node: key,
                lane: false,
                removed: false,
            },
            mine,
        )
    }

    /// A routing loop waits for room in `target`'s mailbox: add the edge,
    /// and walk; the breaker of a cycle found is notified.
    pub(crate) fn lane_waits<'a>(
        &'a self,
        lane: usize,
        target: &ActorCell,
        topic: Cow<'static, str>,
        broker: &'static str,
        policy: CyclePolicy,
    ) -> Edge<'a> {
        let mut graph = self.graph.lock();
        graph.lanes.insert(
            lane,
            LaneWait {
                actor: actor_key(target),
                name: target.id.clone(),
                topic,
                broker,
            },
        );
        if let Some(found) = graph.cycle_through(lane) {
            graph.found(&found, None, policy);
        }
        Edge {
            graph: self,
            node: lane,
            lane: true,
            removed: false,
        }
    }

    /// For a breaker that was notified: the cycle through its lane, if it
    /// still stands and it is still the breaker, with the lock held so that
    /// it can spill before anything moves.
    pub(crate) fn standing_for(&self, cell: &ActorCell, lane: usize) -> Option<Standing<'_>> {
        let key = actor_key(cell);
        let graph = self.graph.lock();
        let found = graph.cycle_through(lane)?;
        (found.breaker == key).then(|| Standing {
            graph,
            text: found.text,
        })
    }

    /// The stop was requested: the cycles standing now go into the report,
    /// and so will any found from now on.
    pub(crate) fn on_stop(&self) {
        let mut graph = self.graph.lock();
        graph.stopping = true;
        let standing: Vec<String> = graph.standing.iter().map(|(_, t)| t.clone()).collect();
        for text in standing {
            if !graph.at_stop.contains(&text) {
                graph.at_stop.push(text);
            }
        }
    }

    /// Cycles standing now (for the live snapshot).
    pub(crate) fn standing(&self) -> Vec<String> {
        let graph = self.graph.lock();
        graph.standing.iter().map(|(_, t)| t.clone()).collect()
    }

    /// Cycles that stood at the stop or were found after it (for the
    /// report).
    pub(crate) fn at_stop(&self) -> Vec<String> {
        self.graph.lock().at_stop.clone()
    }
}

/// A cycle that stands, with the graph locked (see
/// [`WaitGraph::standing_for`]).
pub(crate) struct Standing<'a> {
    graph: MutexGuard<'a, Graph>,
    pub(crate) text: String,
}

impl Standing<'_> {
    /// The breaker went over capacity (or refused): its wait is over, and
    /// its edge goes now, under the lock already held.
    pub(crate) fn broken(mut self, mut edge: Edge<'_>) {
        self.graph.publishers.remove(&edge.node);
        self.graph.forget(edge.node);
        edge.removed = true;
    }
}

/// An edge of the graph, removed when dropped.
pub(crate) struct Edge<'a> {
    graph: &'a WaitGraph,
    node: usize,
    lane: bool,
    /// Removed already (by [`Standing::broken`]).
    removed: bool,
}

impl Drop for Edge<'_> {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        let mut graph = self.graph.graph.lock();
        if self.lane {
            graph.lanes.remove(&self.node);
        } else {
            graph.publishers.remove(&self.node);
        }
        graph.forget(self.node);
    }
}
