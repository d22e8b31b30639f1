//! [`ActorSpy`]: one actor's view of the record — what it handled, what it
//! published, whom it talked with — and whether it is still running.

use std::fmt;

use crate::{ActorId, Event, Topic};

use super::{EventEntry, EventQuery, EventRecords, event_query::distinct};

/// Answers about one actor: the events it handled (inbound), the events it
/// published (outbound), its peers, and its state when the spy was made.
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
/// for key in ['h', 'i'] {
///     test.send_as(&scanner, Input::KeyPress(key)).await?;
/// }
/// test.settle().await;
///
/// let spy = test.actor(&writer);
/// assert!(spy.is_running());
/// assert_eq!(spy.events_received(), 2);
/// assert_eq!(spy.received_from(), vec![pipeline.clone()]);
/// assert!(spy.outbound().has_event("Written"));
/// assert_eq!(spy.sent_to(), vec![telemetry.clone()]);
/// assert_eq!(test.actor(&pipeline).sent_to(), vec![audit.clone(), writer.clone()]);
///
/// sup.stop().await?;
/// assert!(test.actor(&writer).is_stopped());
/// # Ok(())
/// # }
/// ```
pub struct ActorSpy<E: Event, T: Topic<E>> {
    actor: ActorId,
    records: EventRecords<E, T>,
    running: bool,
    stopped: bool,
}

impl<E: Event, T: Topic<E>> fmt::Debug for ActorSpy<E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.running {
            "running"
        } else if self.stopped {
            "stopped"
        } else {
            "unknown"
        };
        f.debug_struct("ActorSpy")
            .field("actor", &self.actor.as_str())
            .field("state", &state)
            .field("received", &self.events_received())
            .field("sent", &self.events_sent())
            .finish()
    }
}

impl<E: Event, T: Topic<E>> ActorSpy<E, T> {
    /// A spy on `actor` in `records`; `running` and `stopped` are its state
    /// as the harness saw it when making the spy.
    pub(crate) fn new(
        records: EventRecords<E, T>,
        actor: ActorId,
        running: bool,
        stopped: bool,
    ) -> Self {
        Self {
            actor,
            records,
            running,
            stopped,
        }
    }

    fn received(&self) -> impl DoubleEndedIterator<Item = &EventEntry<E, T>> {
        self.records
            .iter()
            .filter(|entry| entry.receiver() == &self.actor)
    }

    fn sent(&self) -> impl DoubleEndedIterator<Item = &EventEntry<E, T>> {
        self.records
            .iter()
            .filter(|entry| entry.sender() == &self.actor)
    }

    // -------------------------------------------------------------- lifecycle

    /// Whether the actor was registered and had not stopped when the spy
    /// was made.
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Whether the actor had been registered and had stopped when the spy
    /// was made (`false` for an actor never registered).
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    // ---------------------------------------------------------------- inbound

    /// A query over the entries this actor handled.
    pub fn inbound(&self) -> EventQuery<E, T> {
        EventQuery::new(EventRecords::clone(&self.records)).received_by(&self.actor)
    }

    /// The number of events this actor handled.
    pub fn events_received(&self) -> usize {
        self.received().count()
    }

    /// The last event this actor handled, in record order.
    pub fn last_received(&self) -> Option<EventEntry<E, T>> {
        self.received().next_back().cloned()
    }

    /// The actors whose events this actor handled, each once, in the order
    /// they first appear.
    pub fn received_from(&self) -> Vec<ActorId> {
        distinct(self.received().map(|entry| entry.sender().clone()))
    }

    /// The number of distinct actors whose events this actor handled.
    pub fn sender_count(&self) -> usize {
        self.received_from().len()
    }

    // --------------------------------------------------------------- outbound

    /// A query over the deliveries of the events this actor published.
    pub fn outbound(&self) -> EventQuery<E, T> {
        EventQuery::new(EventRecords::clone(&self.records)).sent_by(&self.actor)
    }

    /// The number of distinct events this actor published that were
    /// delivered (an event handled by three actors counts once).
    pub fn events_sent(&self) -> usize {
        distinct(self.sent().map(|entry| entry.id())).len()
    }

    /// The last delivery of an event this actor published, in record order.
    pub fn last_sent(&self) -> Option<EventEntry<E, T>> {
        self.sent().next_back().cloned()
    }

    /// The actors that handled this actor's events, each once, in the order
    /// they first appear.
    pub fn sent_to(&self) -> Vec<ActorId> {
        distinct(self.sent().map(|entry| entry.receiver().clone()))
    }

    /// The number of distinct actors that handled this actor's events.
    pub fn receiver_count(&self) -> usize {
        self.sent_to().len()
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
    fn inbound_side() {
        let f = fan_out();
        let spy = ActorSpy::new(f.records.clone(), actor("alice"), true, false);
        assert_eq!(spy.events_received(), 2);
        assert_eq!(spy.inbound().count(), 2);
        assert_eq!(spy.last_received().unwrap().id(), f.complete);
        assert_eq!(names(&spy.received_from()), ["charlie", "dave"]);
        assert_eq!(spy.sender_count(), 2);

        let bob = ActorSpy::new(f.records.clone(), actor("bob"), true, false);
        assert_eq!(names(&bob.received_from()), ["alice", "eve"]);
        assert_eq!(bob.inbound().with_topic(Tp::Data).count(), 1);
    }

    #[test]
    fn outbound_side_counts_events_not_deliveries() {
        let f = fan_out();
        let alice = ActorSpy::new(f.records.clone(), actor("alice"), true, false);
        assert_eq!(alice.outbound().count(), 2, "Start went to two actors");
        assert_eq!(alice.events_sent(), 1);
        assert_eq!(names(&alice.sent_to()), ["bob", "charlie"]);
        assert_eq!(alice.receiver_count(), 2);
        assert_eq!(alice.last_sent().unwrap().receiver().as_str(), "charlie");

        let charlie = ActorSpy::new(f.records.clone(), actor("charlie"), true, false);
        assert_eq!(charlie.events_sent(), 1);
        assert_eq!(names(&charlie.sent_to()), ["dave", "alice"]);
        assert_eq!(
            charlie.last_sent().map(|e| e.payload().clone()),
            Some(Ev::Branch)
        );
    }

    #[test]
    fn lifecycle_flags_and_an_idle_actor() {
        let f = fan_out();
        let idle = ActorSpy::new(f.records.clone(), actor("nobody"), false, false);
        assert!(!idle.is_running() && !idle.is_stopped());
        assert_eq!(idle.events_received(), 0);
        assert_eq!(idle.events_sent(), 0);
        assert_eq!(idle.sender_count(), 0);
        assert_eq!(idle.receiver_count(), 0);
        assert!(idle.last_received().is_none() && idle.last_sent().is_none());
        assert!(format!("{idle:?}").contains("unknown"));

        let stopped = ActorSpy::new(f.records.clone(), actor("dave"), false, true);
        assert!(stopped.is_stopped() && !stopped.is_running());
        assert!(format!("{stopped:?}").contains("stopped"));
        let running = ActorSpy::new(f.records.clone(), actor("dave"), true, false);
        assert!(format!("{running:?}").contains("running"));
    }
}
