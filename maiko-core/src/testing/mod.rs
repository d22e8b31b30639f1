//! Testing event flows (feature `test-harness`): a [`Harness`] injects
//! events, waits until the system has settled, and answers questions about
//! who sent and received what.
//!
//! # A test, step by step
//!
//! 1. Build the supervisor and its actors, then `Harness::new(&mut sup)`
//!    before `sup.start()`.
//! 2. Inject events with [`Harness::send_as`] (as any actor name you like)
//!    or through the supervisor.
//! 3. [`Harness::settle`]: wait until nothing accepted is left unhandled
//!    and every record has arrived; or [`Harness::settle_on`] a condition.
//! 4. Ask: [`Harness::events`] (an [`EventQuery`] to filter and count),
//!    [`Harness::event`] ([`EventSpy`]: where did this event go, what did
//!    it cause), [`Harness::actor`] ([`ActorSpy`]: what did this actor
//!    receive and send), [`Harness::topic`] ([`TopicSpy`]),
//!    [`Harness::chain`] ([`EventChain`]: the tree of events an event
//!    caused, with its actor and event paths).
//! 5. [`Harness::record`] starts the next phase; [`Harness::reset`] forgets.
//!
//! # What is recorded
//!
//! One [`EventEntry`] per event and actor that handled it, in a causal
//! order that does not depend on scheduling (see [`Harness`]): the same
//! program gives the same record on every run. Nothing is sampled or
//! dropped: the monitoring records the harness collects are never lost
//! (see [`monitoring`](crate::monitoring)).
//!
//! # Pictures
//!
//! [`EventChain::to_mermaid`] draws a sequence diagram of one chain;
//! [`EventQuery::flow`] gives a [`Flow`] of any set of records (actors as
//! nodes, topics and counts on the edges), as Mermaid or Graphviz DOT.
//!
//! # Recordings
//!
//! [`Recording`] (with the `serde` feature) loads a file written by the
//! [`Recorder`](crate::monitors::Recorder) monitor, so a recorded run can be
//! inspected with the same queries.
//!
//! # Threads
//!
//! [`EventMatcher`] and [`EventQuery`] hold their predicates as given,
//! which need not be `Send`, so they are not `Send` themselves; the spies,
//! chains and [`Flow`] are. A [`Harness::settle_on`] future is `Send`
//! whenever its condition is.

mod actor_spy;
mod actor_trace;
mod event_chain;
mod event_entry;
mod event_matcher;
mod event_query;
mod event_spy;
mod event_trace;
mod expectation;
mod flow;
mod harness;
#[cfg(feature = "serde")]
mod recording;
mod topic_spy;

pub use actor_spy::ActorSpy;
pub use actor_trace::ActorTrace;
pub use event_chain::EventChain;
pub use event_entry::EventEntry;
pub use event_matcher::EventMatcher;
pub use event_query::EventQuery;
pub use event_spy::EventSpy;
pub use event_trace::EventTrace;
pub use expectation::{DEFAULT_EXPECT_TIMEOUT, Expectation, Settling};
pub use flow::{Flow, FlowEdge};
pub use harness::Harness;
#[cfg(feature = "serde")]
pub use recording::Recording;
pub use topic_spy::TopicSpy;

/// The records a query works on, shared by every query and spy made from
/// one snapshot.
pub(crate) type EventRecords<E, T> = std::sync::Arc<Vec<EventEntry<E, T>>>;
