//! The one publish path every sender goes through: check, reserve, check
//! again, send.

use std::{pin::pin, sync::Arc};

use super::{
    cell::{ActorCell, Waiting},
    gate::Origin,
    guard::guarded,
    outbox::Outbox,
    shared::Shared,
    tracker::Tracker,
};
use crate::{ActorId, Delivery, Envelope, EventId, SendError};

/// Names the topic of an event, for the activity shown in the report.
pub(crate) type TopicName<E> = fn(&E) -> std::borrow::Cow<'static, str>;

/// Who is publishing.
pub(crate) struct Publisher<'a, E> {
    pub(crate) shared: &'a Shared,
    pub(crate) outbox: &'a Outbox<E>,
    pub(crate) id: &'a ActorId,
    pub(crate) origin: Origin,
    /// The publishing actor, to record a wait for capacity in its activity.
    pub(crate) cell: Option<(&'a ActorCell, TopicName<E>)>,
}

impl<'a, E> Publisher<'a, E> {
    /// The supervisor or one of its handles: outside any actor.
    pub(crate) fn outside(shared: &'a Shared, outbox: &'a Outbox<E>, id: &'a ActorId) -> Self {
        Self {
            shared,
            outbox,
            id,
            origin: Origin::Outside,
            cell: None,
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

        let mut waited = false;
        let channel = self.outbox.channel_for(&event);
        let reserved = guarded(pin!(channel.reserve()), || {
            if let Some((cell, topic_name)) = self.cell {
                waited = true;
                cell.set_sending(Some(Waiting {
                    topic: topic_name(&event),
                    broker: self.outbox.broker_of(&event),
                }));
            }
        })
        .await;
        if let (true, Some((cell, _))) = (waited, self.cell) {
            cell.set_sending(None);
        }
        let Ok(Ok(permit)) = reserved else {
            // The broker closed this channel: the gate is closed.
            shared.count_rejected();
            return Err(SendError::stopping(event));
        };

        let Some(depth) = shared.admit(self.origin) else {
            return Err(SendError::stopping(event));
        };
        #[cfg(feature = "monitoring")]
        let clock = match self.cell {
            Some((cell, _)) => cell.tick(),
            None => shared.outside_tick(),
        };
        #[cfg(not(feature = "monitoring"))]
        let clock = 0;
        let mut envelope = Envelope::stamped(event, self.id.clone(), parent, depth, clock, None);
        let id = envelope.id();
        let tracker = tracked.then(|| Arc::new(Tracker::new(id)));
        envelope.tracker.clone_from(&tracker);
        permit.send(Arc::new(envelope));
        Ok((id, tracker))
    }
}
