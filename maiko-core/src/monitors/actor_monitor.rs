use std::{
    collections::{BTreeSet, HashMap},
    fmt,
    sync::Arc,
};

use parking_lot::Mutex;

use crate::{ActorId, Envelope, Event, OverflowPolicy, Topic, monitoring::Monitor};

/// Tracks which actors are alive and how often each one's mailbox
/// overflowed. Clones share their state: keep one to query, add another
/// to the supervisor.
///
/// An actor is *alive* from its registration (which a monitor added later
/// is told of too) until its task ends, and *stopped* after that.
///
/// # Examples
///
/// ```
/// use maiko_core::{Actor, ActorId, DefaultTopic, Event, Supervisor, monitors::ActorMonitor};
///
/// #[derive(Clone)]
/// struct Ping;
/// impl Event for Ping {}
/// struct Quiet;
/// impl Actor for Quiet { type Event = Ping; }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> maiko_core::Result {
/// let mut sup = Supervisor::<Ping>::default();
/// let quiet = sup.add_actor("quiet", |_| Quiet, [DefaultTopic])?;
/// let actors = ActorMonitor::new();
/// let watching = sup.monitors().add(actors.clone()).await;
/// sup.start().await?;
/// watching.flush(std::time::Duration::ZERO).await;
/// assert!(actors.is_alive(&quiet));
/// sup.stop().await?;
/// assert!(actors.is_stopped(&quiet));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct ActorMonitor {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    alive: BTreeSet<ActorId>,
    stopped: BTreeSet<ActorId>,
    overflows: HashMap<ActorId, usize>,
}

impl ActorMonitor {
    /// A monitor that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The actors alive now, sorted by name.
    pub fn actors(&self) -> Vec<ActorId> {
        self.state.lock().alive.iter().cloned().collect()
    }

    /// The actors that have stopped, sorted by name.
    pub fn stopped_actors(&self) -> Vec<ActorId> {
        self.state.lock().stopped.iter().cloned().collect()
    }

    /// Whether `actor` was registered and has not stopped.
    pub fn is_alive(&self, actor: &ActorId) -> bool {
        self.state.lock().alive.contains(actor)
    }

    /// Whether `actor` was registered and has stopped.
    pub fn is_stopped(&self, actor: &ActorId) -> bool {
        self.state.lock().stopped.contains(actor)
    }

    /// How many times `actor`'s mailbox was full when an event was routed
    /// to it.
    pub fn overflow_count(&self, actor: &ActorId) -> usize {
        self.state.lock().overflows.get(actor).copied().unwrap_or(0)
    }
}

impl<E: Event, T: Topic<E>> Monitor<E, T> for ActorMonitor {
    fn on_actor_registered(&self, actor_id: &ActorId) {
        let mut state = self.state.lock();
        state.stopped.remove(actor_id);
        state.alive.insert(actor_id.clone());
    }

    fn on_actor_stop(&self, actor_id: &ActorId) {
        let mut state = self.state.lock();
        state.alive.remove(actor_id);
        state.stopped.insert(actor_id.clone());
    }

    fn on_overflow(&self, _: &Envelope<E>, _: &T, receiver: &ActorId, _: OverflowPolicy) {
        *self
            .state
            .lock()
            .overflows
            .entry(receiver.clone())
            .or_default() += 1;
    }
}

impl fmt::Debug for ActorMonitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("ActorMonitor")
            .field("alive", &state.alive)
            .field("stopped", &state.stopped)
            .field("overflows", &state.overflows)
            .finish()
    }
}
