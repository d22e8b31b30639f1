//! The one publish path every sender goes through: check, reserve, check
//! again, send.

use std::{pin::pin, sync::Arc};

use tokio::sync::mpsc::{Permit, error::TrySendError};

use super::{
    cell::{ActorCell, Waiting},
    cycle::{Edge, Standing},
    gate::Origin,
    lane::Lane,
    mail::Mail,
    outbox::Outbox,
    shared::Shared,
    spans,
    tracker::Tracker,
};
use crate::{ActorId, CyclePolicy, Delivery, Envelope, Error, EventId, SendError, envelope::Rare};

/// Names the topic of an event, for the activity shown in the report.
pub(crate) type TopicName<E> = fn(&E) -> std::borrow::Cow<'static, str>;

/// Who is publishing.
pub(crate) struct Publisher<'a, E> {
    pub(crate) shared: &'a Shared,
    pub(crate) outbox: &'a Outbox<E>,
    pub(crate) id: &'a ActorId,
    pub(crate) origin: Origin,
    /// The publishing actor, to record a wait for capacity in its activity.
    pub(crate) cell: Option<&'a ActorCell>,
    /// The name of an event's topic (for that activity, and the span).
    pub(crate) topic_name: TopicName<E>,
}

impl<'a, E> Publisher<'a, E> {
    /// The supervisor or one of its handles: outside any actor.
    pub(crate) fn outside(
        shared: &'a Shared,
        outbox: &'a Outbox<E>,
        id: &'a ActorId,
        topic_name: TopicName<E>,
    ) -> Self {
        Self {
            shared,
            outbox,
            id,
            origin: Origin::Outside,
            cell: None,
            topic_name,
        }
    }

    /// Publish through the gate.
    ///
    /// 1. check the gate;
    /// 2. reserve stage-1 capacity, waiting under backpressure;
    /// 3. re-check the gate and count the event, atomically;
    /// 4. send with the permit.
    ///
    /// There is no await between 3 and 4, so an admitted event is in the
    /// channel before anyone can observe the count drop back; and a permit
    /// reserved before the broker closes the channel still delivers, so an
    /// `Ok` is never lost.
    ///
    /// Cancel safety: dropping the future before step 3 publishes nothing;
    /// steps 3 and 4 run without yielding, so it is never half done.
    pub(crate) async fn publish(
        self,
        event: E,
        parent: Option<EventId>,
    ) -> Result<EventId, SendError<E>> {
        self.publish_envelope(event, parent, false)
            .await
            .map(|(id, _)| id)
    }

    /// As [`publish`](Self::publish), with a [`Delivery`] that resolves
    /// once every copy is settled.
    pub(crate) async fn publish_tracked(
        self,
        event: E,
        parent: Option<EventId>,
    ) -> Result<Delivery, SendError<E>> {
        let (_, tracker) = self.publish_envelope(event, parent, true).await?;
        Ok(Delivery::new(
            tracker.expect("a tracked publish has a tracker"),
        ))
    }

    async fn publish_envelope(
        self,
        event: E,
        parent: Option<EventId>,
        tracked: bool,
    ) -> Result<(EventId, Option<Arc<Tracker>>), SendError<E>> {
        let shared = self.shared;
        if !shared.precheck(self.origin) {
            return Err(SendError::stopping(event));
        }

        let lane = self.outbox.channel_for(&event);
        // An actor uses the channel only while its lane's spill is empty, so
        // that none of its own events can be waiting there (order).
        let fast = if self.cell.is_none() || lane.spill.len() == 0 {
            match lane.sender.try_reserve() {
                Ok(permit) => Some(permit),
                Err(TrySendError::Full(())) => None,
                Err(TrySendError::Closed(())) => {
                    shared.books().count_rejected();
                    return Err(SendError::stopping(event));
                }
            }
        } else {
            None
        };
        let permit = match fast {
            Some(permit) => permit,
            // Boxed: the wait's state would otherwise make every publish's
            // future larger, and so every move of it dearer.
            None => match Box::pin(self.wait_for_room(&lane, &event)).await {
                Room::Permit(permit) => permit,
                Room::Closed => {
                    // The broker closed this channel: the gate is closed.
                    shared.books().count_rejected();
                    return Err(SendError::stopping(event));
                }
                Room::Cycle(standing, edge) => {
                    return self.break_cycle(&lane, standing, edge, event, parent, tracked);
                }
            },
        };

        // The id and the span before the gate's count: between the count
        // and the send runs nothing that could panic or call out (a
        // subscriber, `Topic::name`), which would leave a unit counted and
        // never sent.
        let (id, extra) = self.name(&event);
        let Some(depth) = shared.admit(self.origin) else {
            return Err(SendError::stopping(event));
        };
        let (mail, sealed) = self.seal(id, extra, event, parent, tracked, depth);
        permit.send(mail);
        Ok(sealed)
    }

    /// The id of the event about to be admitted, and its span if a
    /// subscriber records it (boxed, as the envelope keeps it: a word to
    /// pass while no subscriber does).
    #[inline]
    fn name(&self, event: &E) -> (EventId, Rare) {
        let id = EventId::new();
        if !spans::enabled() {
            return (id, Rare::default());
        }
        let span = spans::publish(|| (self.topic_name)(event), id);
        (id, span.map_or_else(Rare::default, Rare::traced))
    }

    /// Steps 3 and 4 need the envelope: stamp it.
    fn seal(
        &self,
        id: EventId,
        extra: Rare,
        event: E,
        parent: Option<EventId>,
        tracked: bool,
        depth: u32,
    ) -> (Mail<E>, (EventId, Option<Arc<Tracker>>)) {
        let clock = match self.cell {
            Some(cell) => cell.clock.tick(),
            None => self.outbox.clock.tick(),
        };
        let mut envelope =
            Envelope::stamped(id, event, self.id.clone(), parent, depth, clock, extra);
        let tracker = tracked.then(|| Arc::new(Tracker::new(id)));
        if let Some(tracker) = &tracker {
            envelope.set_tracker(Arc::clone(tracker));
        }
        (Arc::new(envelope), (id, tracker))
    }

    /// Wait for room in `lane` (step 2 when the channel is full). An actor
    /// takes part in cycle detection meanwhile, and comes back with the
    /// cycle if it is the one to break it. Its activity says it is blocked
    /// publishing until the wait ends (and still does if the deadline
    /// aborts it meanwhile, for the report).
    async fn wait_for_room<'l>(&self, lane: &'l Lane<E>, event: &E) -> Room<'l, 'a, E> {
        let Some(cell) = self.cell else {
            return match lane.sender.reserve().await {
                Ok(permit) => Room::Permit(permit),
                Err(_) => Room::Closed,
            };
        };
        cell.set_sending(Some(Waiting {
            topic: (self.topic_name)(event),
            broker: self.outbox.broker_of(event),
        }));
        let room = self.wait_in_graph(lane, cell).await;
        cell.set_sending(None);
        room
    }

    async fn wait_in_graph<'l>(&self, lane: &'l Lane<E>, cell: &ActorCell) -> Room<'l, 'a, E> {
        let shared = self.shared;
        let policy = shared.protocol().cycle_policy();
        let graph = shared.protocol().waits();
        let key = lane.spill.key();
        let (edge, mine) = graph.publisher_waits(cell, cell.cycle_break(), key, policy);
        let mut check = mine.is_some();
        let mut reserve = pin!(lane.sender.reserve());
        loop {
            if check
                && policy != CyclePolicy::Wait
                && let Some(standing) = graph.standing_for(cell, key)
            {
                return Room::Cycle(standing, edge);
            }
            if lane.spill.len() > 0 {
                // Some of this actor's own events may wait there.
                tokio::select! {
                    () = lane.spill.drained() => check = false,
                    () = cell.cycle_break().notified() => check = true,
                }
            } else {
                tokio::select! {
                    reserved = &mut reserve => {
                        return match reserved {
                            Ok(permit) => Room::Permit(permit),
                            Err(_) => Room::Closed,
                        };
                    }
                    () = cell.cycle_break().notified() => check = true,
                }
            }
        }
    }

    /// This publish closes a cycle (see `internal::cycle`): go over
    /// capacity, or refuse, as the policy says.
    fn break_cycle(
        &self,
        lane: &Lane<E>,
        standing: Standing<'_>,
        edge: Edge<'_>,
        event: E,
        parent: Option<EventId>,
        tracked: bool,
    ) -> Result<(EventId, Option<Arc<Tracker>>), SendError<E>> {
        let Some(cell) = self.cell else {
            unreachable!("only an actor waits in the graph")
        };
        self.shared.books().meters().cycle_broken();
        if self.shared.protocol().cycle_policy() == CyclePolicy::Refuse {
            let cycle = standing.text.clone();
            standing.broken(edge);
            return Err(SendError::new(Error::Cycle(cycle), event));
        }
        let (id, extra) = self.name(&event);
        let mut extra = Some(extra);
        let mut event = Some(event);
        let mut sealed = None;
        let pushed = lane.spill.push(|| {
            let depth = self.shared.admit(self.origin)?;
            let event = event.take()?;
            let extra = extra.take().unwrap_or_default();
            let (mail, ids) = self.seal(id, extra, event, parent, tracked, depth);
            sealed = Some(ids);
            Some(mail)
        });
        standing.broken(edge);
        match (pushed, sealed, event) {
            (Ok(()), Some(sealed), _) => {
                cell.counters.over_capacity();
                Ok(sealed)
            }
            (_, _, Some(event)) => Err(SendError::stopping(event)),
            _ => unreachable!("an event is either pushed or handed back"),
        }
    }
}

/// What a wait for room ended with.
enum Room<'l, 'g, E> {
    Permit(Permit<'l, Mail<E>>),
    /// The channel closed: the gate is closed.
    Closed,
    /// This publish closes a cycle, which stands (the graph is locked).
    Cycle(Standing<'g>, Edge<'g>),
}
