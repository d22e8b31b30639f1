use std::fmt;

use tracing::{debug, info, trace, warn};

use crate::{ActorId, Envelope, Event, OverflowPolicy, StepAction, Topic, monitoring::Monitor};

/// Logs every monitoring record through `tracing`: dispatches, deliveries,
/// registrations, overflows and steps at `trace`, handlings at `debug`,
/// errors at `warn`, actor stops at `info`. Events and topics are shown
/// with their `Debug` form.
///
/// # Examples
///
/// ```
/// use maiko_core::{Actor, DefaultTopic, Event, Supervisor, monitors::Tracer};
///
/// #[derive(Clone, Debug)]
/// struct Ping;
/// impl Event for Ping {}
/// struct Quiet;
/// impl Actor for Quiet { type Event = Ping; }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> maiko_core::Result {
/// let mut sup = Supervisor::<Ping>::default();
/// sup.add_actor("quiet", |_| Quiet, [DefaultTopic])?;
/// sup.monitors().add(Tracer).await;
/// sup.start().await?;
/// sup.send(Ping).await?;
/// sup.stop().await
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Tracer;

impl<E, T> Monitor<E, T> for Tracer
where
    E: Event + fmt::Debug,
    T: Topic<E> + fmt::Debug,
{
    fn on_event_dispatched(&self, envelope: &Envelope<E>, topic: &T, receiver: &ActorId) {
        trace!(id = %envelope.id(), sender = %envelope.meta().actor_id(), %receiver, ?topic, event = ?envelope.event(), "dispatched");
    }

    fn on_event_delivered(&self, envelope: &Envelope<E>, topic: &T, receiver: &ActorId) {
        trace!(id = %envelope.id(), %receiver, ?topic, "delivered");
    }

    fn on_event_handled(&self, envelope: &Envelope<E>, topic: &T, receiver: &ActorId) {
        debug!(id = %envelope.id(), sender = %envelope.meta().actor_id(), %receiver, ?topic, event = ?envelope.event(), "handled");
    }

    fn on_actor_registered(&self, actor_id: &ActorId) {
        trace!(actor = %actor_id, "registered");
    }

    fn on_error(&self, err: &str, actor_id: &ActorId) {
        warn!(actor = %actor_id, error = err, "error");
    }

    fn on_step_enter(&self, actor_id: &ActorId) {
        trace!(actor = %actor_id, "step");
    }

    fn on_step_exit(&self, step_action: &StepAction, actor_id: &ActorId) {
        trace!(actor = %actor_id, action = %step_action, "step returned");
    }

    fn on_overflow(
        &self,
        envelope: &Envelope<E>,
        topic: &T,
        receiver: &ActorId,
        policy: OverflowPolicy,
    ) {
        trace!(id = %envelope.id(), %receiver, ?topic, %policy, "mailbox full");
    }

    fn on_actor_stop(&self, actor_id: &ActorId) {
        info!(actor = %actor_id, "stopped");
    }
}
