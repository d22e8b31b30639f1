use std::{fmt, sync::Arc, time::Duration};

use parking_lot::Mutex;
use tokio::sync::Notify;

use super::{
    ActorSpy, EventChain, EventEntry, EventMatcher, EventQuery, EventRecords, EventSpy,
    Expectation, Flow, TopicSpy,
};
use crate::{
    ActorId, Event, EventId, IntoEnvelope, Result, Supervisor, SupervisorHandle, Topic,
    internal::{
        monitor_hub::{MonitorHub, Record, Watcher},
        shared::Shared,
    },
    monitoring::MonitorId,
};

/// Drives a supervisor in a test: inject events, wait until the system has
/// settled, then ask who sent and received what (feature `test-harness`).
///
/// The harness records one [`EventEntry`] per event and actor that handled
/// it. A *recording phase* runs from [`new`](Self::new) (or
/// [`record`](Self::record)) to [`settle`](Self::settle) (or a successful
/// [`settle_on`](Self::settle_on)); the queries ([`events`](Self::events),
/// [`actor`](Self::actor), [`chain`](Self::chain), ...) then answer about
/// that phase, until the next one.
///
/// # Settling
///
/// [`settle`](Self::settle) returns exactly when nothing accepted is still
/// unhandled (the stop-gate counts every accepted event until each of its
/// subscribers has handled it) and every record of that work has reached
/// the harness. There is no settle window and no timer: a handler that
/// takes 20 ms is waited for, and the events it publishes, and the ones
/// those cause, are in the record. [`settle_on`](Self::settle_on) waits for
/// a condition on the record instead, checked each time new records
/// arrive; its time limit only bounds a failure.
///
/// # Determinism
///
/// Records are ordered by a logical clock that follows causality (an
/// event's handling after its publisher's handling of the event it answers)
/// and each actor's own order, not by which task happened to run first: a
/// program whose actors each see their events in a fixed order gives the
/// same record on every run, on a current-thread or a multi-thread runtime.
///
/// # Examples
///
/// ```
/// use maiko_core::{Actor, ActorId, Context, DefaultTopic, Envelope, Event, Result, Supervisor, testing::Harness};
///
/// #[derive(Clone, Debug)]
/// enum Msg { Ping, Pong }
/// impl Event for Msg {}
///
/// struct Echo { ctx: Context<Msg> }
/// impl Actor for Echo {
///     type Event = Msg;
///     async fn handle_event(&mut self, envelope: &Envelope<Msg>) -> Result {
///         if let Msg::Ping = envelope.event() {
///             self.ctx.send_child_event(Msg::Pong, envelope.id()).await?;
///         }
///         Ok(())
///     }
/// }
/// struct Sink;
/// impl Actor for Sink { type Event = Msg; }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result {
/// let mut sup = Supervisor::<Msg>::default();
/// let echo = sup.add_actor("echo", |ctx| Echo { ctx }, [DefaultTopic])?;
/// let sink = sup.add_actor("sink", |_| Sink, [DefaultTopic])?;
/// let mut test = Harness::new(&mut sup).await;
/// sup.start().await?;
///
/// let ping = test.send_as(&ActorId::new("tester"), Msg::Ping).await?;
/// test.settle().await;
///
/// assert!(test.event(ping).was_delivered_to(&echo));
/// assert_eq!(test.event(ping).children().count(), 1); // the Pong, to sink
/// assert!(test.chain(ping).actors().passes_through(&[&echo, &sink]));
/// sup.stop().await
/// # }
/// ```
pub struct Harness<E: Event, T: Topic<E>> {
    hub: Arc<MonitorHub<E, T>>,
    shared: Arc<Shared>,
    sender: SupervisorHandle<E>,
    collector: Arc<Collector<E, T>>,
    collector_id: Option<MonitorId>,
    /// The record of the last phase, frozen by `settle`.
    records: EventRecords<E, T>,
}

impl<E: Event, T: Topic<E>> Harness<E, T> {
    /// How long [`settle`](Self::settle) waits, at most, for a system that
    /// never becomes quiet (say, an actor stepping without end) before it
    /// panics, failing the test: use [`settle_on`](Self::settle_on) for
    /// such systems.
    pub const SETTLE_LIMIT: Duration = Duration::from_secs(10);

    /// The silence maiko 0.3's `settle` waited for. Never read: settling
    /// here needs no window. Kept so that maiko 0.3 code naming it
    /// compiles.
    #[deprecated(
        since = "0.4.0",
        note = "never read: settle waits for the work to be done, not for a quiet window"
    )]
    pub const DEFAULT_SETTLE_WINDOW: Duration = Duration::from_millis(1);

    /// How long maiko 0.3's `settle` waited before giving up. Never read:
    /// settling here waits for the work to be done, up to
    /// [`SETTLE_LIMIT`](Self::SETTLE_LIMIT). Kept so that maiko 0.3 code
    /// naming it compiles.
    #[deprecated(
        since = "0.4.0",
        note = "never read: settle waits for the work to be done, up to Harness::SETTLE_LIMIT"
    )]
    pub const DEFAULT_MAX_SETTLE: Duration = Duration::from_millis(10);

    /// A harness recording `supervisor`'s event flow, from now on. Call it
    /// before `start`, so that nothing escapes the record; it keeps no
    /// borrow of the supervisor.
    ///
    /// Must be called from within a tokio runtime.
    pub async fn new(supervisor: &mut Supervisor<E, T>) -> Self {
        let hub = Arc::clone(supervisor.monitors().hub());
        let collector = Arc::new(Collector::default());
        let collector_id = hub.add(Box::new(CollectorWatcher(Arc::clone(&collector))));
        if collector_id.is_none() {
            tracing::error!("the harness cannot record: the supervisor has stopped");
        }
        let sender = supervisor.handle();
        Self {
            shared: Arc::clone(&sender.shared),
            hub,
            sender,
            collector,
            collector_id,
            records: Arc::new(Vec::new()),
        }
    }

    /// Start a new recording phase (after a [`settle`](Self::settle)).
    pub async fn record(&self) {
        self.hub.resume(self.collector_id);
    }

    /// Wait until the system is quiet, then end the recording phase and
    /// freeze its record for the queries (see [Settling](Self#settling)).
    ///
    /// # Panics
    ///
    /// If the system does not become quiet within
    /// [`SETTLE_LIMIT`](Self::SETTLE_LIMIT): that fails the test instead of
    /// hanging it.
    pub async fn settle(&mut self) {
        let quiet = async {
            loop {
                self.shared.protocol().quiescent().await;
                // Every record of the work done so far is queued (records
                // are made before the work's units are released): let the
                // monitoring task deliver them.
                self.hub.barrier().await;
                if self.shared.protocol().in_flight() == 0 {
                    return;
                }
            }
        };
        if tokio::time::timeout(Self::SETTLE_LIMIT, quiet)
            .await
            .is_err()
        {
            panic!(
                "Harness::settle: the system was not quiet within {:?}; \
                 for a system that never goes quiet, use settle_on",
                Self::SETTLE_LIMIT
            );
        }
        self.freeze();
    }

    /// Wait until `condition` holds for the record of this phase, then end
    /// the phase and freeze its record. The condition is checked now and
    /// each time new records arrive, against an [`EventQuery`] over the
    /// phase's record so far. Await the returned [`Expectation`], which
    /// fails with [`Error::SettleTimeout`](crate::Error::SettleTimeout) if
    /// the condition does not hold within a second (change it with
    /// [`Expectation::within`]).
    pub fn settle_on<F>(&mut self, condition: F) -> Expectation<'_, E, T, F>
    where
        F: Fn(EventQuery<E, T>) -> bool,
    {
        Expectation::new(self, condition)
    }

    /// [`settle_on`](Self::settle_on) an event matching `matcher` (an id,
    /// a label, or an [`EventMatcher`]).
    pub fn settle_on_event<M>(
        &mut self,
        matcher: M,
    ) -> Expectation<'_, E, T, impl Fn(EventQuery<E, T>) -> bool>
    where
        M: Into<EventMatcher<E, T>>,
    {
        let matcher = matcher.into();
        self.settle_on(move |events| events.has_event(matcher.clone()))
    }

    /// Forget the record: the frozen one and what the current phase has
    /// gathered so far.
    pub fn reset(&mut self) {
        self.records = Arc::new(Vec::new());
        self.collector.take();
    }

    /// Publish `event` (or an envelope, keeping its parent id) as if actor
    /// `actor_id` had published it, through the supervisor's gate; returns
    /// its id, for [`event`](Self::event) and [`chain`](Self::chain).
    ///
    /// # Errors
    ///
    /// [`Error::Stopping`](crate::Error::Stopping) once the supervisor is
    /// stopping.
    pub async fn send_as<IE: Into<IntoEnvelope<E>>>(
        &self,
        actor_id: &ActorId,
        into_envelope: IE,
    ) -> Result<EventId> {
        let (event, parent) = into_envelope.into().into_parts();
        Ok(self.sender.publish_as(actor_id, event, parent).await?)
    }

    /// Every recorded entry, to filter and count.
    pub fn events(&self) -> EventQuery<E, T> {
        EventQuery::new(Arc::clone(&self.records))
    }

    /// What became of the event `id`.
    pub fn event(&self, id: EventId) -> EventSpy<E, T> {
        EventSpy::new(Arc::clone(&self.records), id)
    }

    /// What `actor` received and sent, and whether it is running.
    pub fn actor(&self, actor: &ActorId) -> ActorSpy<E, T> {
        let (running, stopped) = self.shared.liveness(actor);
        ActorSpy::new(Arc::clone(&self.records), actor.clone(), running, stopped)
    }

    /// What was published on `topic`.
    pub fn topic(&self, topic: T) -> TopicSpy<E, T> {
        TopicSpy::new(Arc::clone(&self.records), topic)
    }

    /// The tree of events that descend from `id` through their parent ids.
    pub fn chain(&self, id: EventId) -> EventChain<E, T> {
        EventChain::new(Arc::clone(&self.records), id)
    }

    /// Print the record to standard output, one line per entry.
    pub fn dump(&self) {
        if self.records.is_empty() {
            println!("(no events recorded)");
            return;
        }
        println!("{} entries:", self.records.len());
        for (i, entry) in self.records.iter().enumerate() {
            println!(
                "  {i:>4}: {} -> {} on '{}' ({})",
                entry.sender(),
                entry.receiver(),
                entry.topic().name(),
                entry.id()
            );
        }
    }

    /// The whole flow of the frozen record, as a picture (see [`Flow`]).
    pub fn flow(&self) -> Flow {
        self.events().flow()
    }

    /// The number of entries recorded (one per event and receiver).
    pub fn event_count(&self) -> usize {
        self.records.len()
    }

    /// End the phase: stop recording and freeze what it gathered.
    pub(super) fn freeze(&mut self) {
        self.hub.pause(self.collector_id);
        self.records = self.collector.take();
    }

    pub(super) fn collector(&self) -> &Arc<Collector<E, T>> {
        &self.collector
    }
}

impl<E: Event, T: Topic<E>> fmt::Debug for Harness<E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Harness")
            .field("records", &self.records.len())
            .field("collecting", &self.collector.len())
            .finish_non_exhaustive()
    }
}

/// The record of the current phase, as the monitoring task delivers it:
/// kept sorted by (logical clock, receiver), with positions, so that a
/// check of `settle_on` reads it without copying.
pub(crate) struct Collector<E: Event, T: Topic<E>> {
    state: Mutex<Gathered<E, T>>,
    /// Told when new entries arrive.
    pub(super) news: Arc<Notify>,
}

struct Gathered<E: Event, T: Topic<E>> {
    entries: EventRecords<E, T>,
    keys: Vec<(u64, ActorId)>,
}

impl<E: Event, T: Topic<E>> Default for Collector<E, T> {
    fn default() -> Self {
        Self {
            state: Mutex::new(Gathered {
                entries: Arc::new(Vec::new()),
                keys: Vec::new(),
            }),
            news: Arc::new(Notify::new()),
        }
    }
}

impl<E: Event, T: Topic<E>> Collector<E, T> {
    /// The entries so far (shared, not copied).
    pub(super) fn current(&self) -> EventRecords<E, T> {
        Arc::clone(&self.state.lock().entries)
    }

    pub(super) fn len(&self) -> usize {
        self.state.lock().keys.len()
    }

    /// Take the entries gathered so far, leaving none.
    fn take(&self) -> EventRecords<E, T> {
        let mut state = self.state.lock();
        state.keys.clear();
        std::mem::replace(&mut state.entries, Arc::new(Vec::new()))
    }

    fn insert(&self, clock: u64, entry: EventEntry<E, T>) {
        let mut state = self.state.lock();
        let key = (clock, entry.receiver().clone());
        // Entries arrive nearly in order: look for the place from the end.
        let at = state.keys.partition_point(|k| *k <= key);
        state.keys.insert(at, key);
        let entries = Arc::make_mut(&mut state.entries);
        entries.insert(at, entry);
        for (position, entry) in entries.iter_mut().enumerate().skip(at) {
            entry.position = position;
        }
        drop(state);
        self.news.notify_waiters();
    }
}

/// The collector as the monitoring task sees it.
struct CollectorWatcher<E: Event, T: Topic<E>>(Arc<Collector<E, T>>);

impl<E: Event, T: Topic<E>> Watcher<E, T> for CollectorWatcher<E, T> {
    fn see(&mut self, record: &Record<E, T>) {
        if let Record::Handled {
            mail,
            topic,
            receiver,
            clock,
        } = record
        {
            let entry = EventEntry::new(Arc::clone(mail), topic.clone(), receiver.clone(), 0);
            self.0.insert(*clock, entry);
        }
    }
}
