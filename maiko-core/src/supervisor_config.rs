use std::time::Duration;

use crate::{CyclePolicy, Error, Result};

/// Settings of a [`Supervisor`](crate::Supervisor) and defaults for its
/// actors, set builder-style.
///
/// Setters never fail; [`validate`](Self::validate) (called by
/// [`Supervisor::try_new`](crate::Supervisor::try_new), `add_actor` and
/// `start`) reports a value the runtime cannot use, such as a zero capacity.
///
/// | setting | default |
/// |---|---|
/// | broker channel capacity (stage 1, per publisher) | 256 |
/// | actor mailbox capacity (stage 2) | 128 |
/// | max events per tick | 10 |
/// | shutdown timeout | 30 s |
/// | abort grace after the timeout | 1 s |
/// | drain hop limit | 32 |
/// | strict shutdown | off |
/// | monitoring channel capacity (records queued for monitors) | 1024 |
/// | name (the `supervisor` label of its metrics) | `"maiko"` |
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use maiko_core::SupervisorConfig;
///
/// let config = SupervisorConfig::default()
///     .with_broker_channel_capacity(512)
///     .with_default_actor_channel_capacity(256)
///     .with_default_max_events_per_tick(32)
///     .with_shutdown_timeout(Duration::from_secs(10));
/// assert!(config.validate().is_ok());
/// assert!(SupervisorConfig::default().with_broker_channel_capacity(0).validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct SupervisorConfig {
    broker_channel_capacity: usize,
    default_actor_channel_capacity: usize,
    default_max_events_per_tick: usize,
    shutdown_timeout: Duration,
    shutdown_grace: Duration,
    drain_hop_limit: u32,
    strict_shutdown: bool,
    stop_on_failure: bool,
    monitoring_channel_capacity: usize,
    cycle_policy: CyclePolicy,
    name: String,
}

/// The name of a supervisor whose settings do not give one.
const DEFAULT_SUPERVISOR_NAME: &str = "maiko";

impl Default for SupervisorConfig {
    fn default() -> Self {
        Self {
            broker_channel_capacity: 256,
            default_actor_channel_capacity: 128,
            default_max_events_per_tick: 10,
            shutdown_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(1),
            drain_hop_limit: 32,
            strict_shutdown: false,
            stop_on_failure: true,
            monitoring_channel_capacity: 1024,
            cycle_policy: CyclePolicy::Exceed,
            name: DEFAULT_SUPERVISOR_NAME.to_owned(),
        }
    }
}

impl SupervisorConfig {
    /// What a publish does when it closes a cycle of actors waiting for
    /// each other under `OverflowPolicy::Block` (default
    /// [`CyclePolicy::Exceed`]: it goes over capacity, so nothing is lost
    /// and the cycle unwinds). See [`CyclePolicy`] for the trade-offs.
    #[must_use]
    pub fn with_cycle_policy(mut self, policy: CyclePolicy) -> Self {
        self.cycle_policy = policy;
        self
    }

    /// See [`with_cycle_policy`](Self::with_cycle_policy).
    pub fn cycle_policy(&self) -> CyclePolicy {
        self.cycle_policy
    }

    /// Capacity of each publisher's channel to the broker (stage 1). Every
    /// actor and the supervisor (with its handles) has one; a full channel
    /// makes its publisher wait.
    #[must_use]
    pub fn with_broker_channel_capacity(mut self, capacity: usize) -> Self {
        self.broker_channel_capacity = capacity;
        self
    }

    /// See [`with_broker_channel_capacity`](Self::with_broker_channel_capacity).
    pub fn broker_channel_capacity(&self) -> usize {
        self.broker_channel_capacity
    }

    /// Default mailbox capacity of new actors (stage 2).
    #[must_use]
    pub fn with_default_actor_channel_capacity(mut self, capacity: usize) -> Self {
        self.default_actor_channel_capacity = capacity;
        self
    }

    /// See [`with_default_actor_channel_capacity`](Self::with_default_actor_channel_capacity).
    pub fn default_actor_channel_capacity(&self) -> usize {
        self.default_actor_channel_capacity
    }

    /// Default number of events an actor handles between two calls of
    /// [`Actor::step`](crate::Actor::step). Any value from 1 up works.
    #[must_use]
    pub fn with_default_max_events_per_tick(mut self, limit: usize) -> Self {
        self.default_max_events_per_tick = limit;
        self
    }

    /// See [`with_default_max_events_per_tick`](Self::with_default_max_events_per_tick).
    pub fn default_max_events_per_tick(&self) -> usize {
        self.default_max_events_per_tick
    }

    /// How long a shutdown may drain before it escalates: after this the
    /// gate closes for everyone, actors still busy get the
    /// [grace](Self::with_shutdown_grace) to return, and then they are
    /// aborted and reported as such. Default 30 s; keep it below your HTTP
    /// server's graceful timeout, itself below the orchestrator's kill
    /// timeout.
    #[must_use]
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// See [`with_shutdown_timeout`](Self::with_shutdown_timeout).
    pub fn shutdown_timeout(&self) -> Duration {
        self.shutdown_timeout
    }

    /// How long actors still running at the shutdown deadline get to return
    /// before their tasks are aborted. Default 1 s.
    #[must_use]
    pub fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// See [`with_shutdown_grace`](Self::with_shutdown_grace).
    pub fn shutdown_grace(&self) -> Duration {
        self.shutdown_grace
    }

    /// How many hops an event chain may take after the stop request. While
    /// draining, an event published by a handler carries the hop count of
    /// the event being handled plus one, and a publish past this limit is
    /// refused with [`Error::Stopping`]. Bounds cycles (two actors answering
    /// each other) so they end without waiting for the deadline. Default 32.
    #[must_use]
    pub fn with_drain_hop_limit(mut self, limit: u32) -> Self {
        self.drain_hop_limit = limit;
        self
    }

    /// See [`with_drain_hop_limit`](Self::with_drain_hop_limit).
    pub fn drain_hop_limit(&self) -> u32 {
        self.drain_hop_limit
    }

    /// Strict shutdown: the gate refuses every publish from the first stop
    /// request, including publishes from handlers. Events already accepted
    /// are still delivered and handled. Off by default, which lets work
    /// accepted before the stop flow to the end of the pipeline.
    #[must_use]
    pub fn with_strict_shutdown(mut self, strict: bool) -> Self {
        self.strict_shutdown = strict;
        self
    }

    /// See [`with_strict_shutdown`](Self::with_strict_shutdown).
    pub fn strict_shutdown(&self) -> bool {
        self.strict_shutdown
    }

    /// What an actor that fails for good does to the rest (default `true`).
    ///
    /// An actor fails for good when a handler's or a step's error is
    /// propagated by its `on_error` (a panic is passed to `on_error` as
    /// [`Error::Panicked`](crate::Error::Panicked) first), when its
    /// `on_start` fails, or when its mailbox overflows under
    /// [`OverflowPolicy::Fail`](crate::OverflowPolicy::Fail). With `true`,
    /// the supervisor then stops: it drains everything else as
    /// [`Supervisor::stop`](crate::Supervisor::stop) does, and its report
    /// names the failure. This holds under `join`, `run`,
    /// `run_until_signal` and in a [`ShutdownGroup`](crate::ShutdownGroup)
    /// (whose own setting decides for every member: the whole group stops).
    ///
    /// With `false`, the rest keeps running until it is stopped; the events
    /// routed to the failed actor from then on are counted as `lost` in its
    /// report.
    #[must_use]
    pub fn with_stop_on_failure(mut self, stop: bool) -> Self {
        self.stop_on_failure = stop;
        self
    }

    /// See [`with_stop_on_failure`](Self::with_stop_on_failure).
    pub fn stop_on_failure(&self) -> bool {
        self.stop_on_failure
    }

    /// How many monitoring records may wait for the monitors (feature
    /// `monitoring`). When the monitors fall that far behind, the actors
    /// that produce records wait for them: no record is dropped, and memory
    /// stays bounded. Default 1024.
    #[must_use]
    pub fn with_monitoring_channel_capacity(mut self, capacity: usize) -> Self {
        self.monitoring_channel_capacity = capacity;
        self
    }

    /// See [`with_monitoring_channel_capacity`](Self::with_monitoring_channel_capacity).
    pub fn monitoring_channel_capacity(&self) -> usize {
        self.monitoring_channel_capacity
    }

    /// The supervisor's name: the `supervisor` label of every metric it
    /// records (feature `metrics`), so that a service with several
    /// supervisors tells them apart on its dashboards. Default `"maiko"`;
    /// it must not be empty.
    ///
    /// ```
    /// use maiko_core::SupervisorConfig;
    ///
    /// let config = SupervisorConfig::default().with_name("ingest");
    /// assert_eq!(config.name(), "ingest");
    /// assert_eq!(SupervisorConfig::default().name(), "maiko");
    /// assert!(SupervisorConfig::default().with_name("").validate().is_err());
    /// ```
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// See [`with_name`](Self::with_name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Check that every setting is usable.
    ///
    /// # Errors
    ///
    /// [`Error::ZeroCapacity`] for a zero channel capacity and
    /// [`Error::InvalidConfig`] for a zero events-per-tick limit or an
    /// empty name.
    pub fn validate(&self) -> Result {
        if self.broker_channel_capacity == 0 {
            return Err(Error::ZeroCapacity("broker_channel_capacity"));
        }
        if self.default_actor_channel_capacity == 0 {
            return Err(Error::ZeroCapacity("default_actor_channel_capacity"));
        }
        if self.monitoring_channel_capacity == 0 {
            return Err(Error::ZeroCapacity("monitoring_channel_capacity"));
        }
        if self.default_max_events_per_tick == 0 {
            return Err(Error::InvalidConfig(
                "default_max_events_per_tick must be at least 1",
            ));
        }
        if self.name.trim().is_empty() {
            return Err(Error::InvalidConfig(
                "the supervisor's name must not be empty",
            ));
        }
        Ok(())
    }
}
