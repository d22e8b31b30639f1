use crate::{Error, Result, SupervisorConfig};

/// Settings of one actor: its mailbox capacity and how many events it
/// handles between two calls of [`Actor::step`](crate::Actor::step).
///
/// # Examples
///
/// ```
/// use maiko_core::{ActorConfig, SupervisorConfig};
///
/// let config = ActorConfig::new(&SupervisorConfig::default())
///     .with_channel_capacity(512)
///     .with_max_events_per_tick(1);
/// assert_eq!(config.channel_capacity(), 512);
/// assert_eq!(config.max_events_per_tick(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ActorConfig {
    channel_capacity: usize,
    max_events_per_tick: usize,
}

impl ActorConfig {
    /// The supervisor's defaults.
    #[must_use]
    pub fn new(global: &SupervisorConfig) -> Self {
        Self {
            channel_capacity: global.default_actor_channel_capacity(),
            max_events_per_tick: global.default_max_events_per_tick(),
        }
    }

    /// Mailbox capacity: how many events may wait for this actor before the
    /// topic's [`OverflowPolicy`](crate::OverflowPolicy) applies.
    #[must_use]
    pub fn with_channel_capacity(mut self, capacity: usize) -> Self {
        self.channel_capacity = capacity;
        self
    }

    /// See [`with_channel_capacity`](Self::with_channel_capacity).
    pub fn channel_capacity(&self) -> usize {
        self.channel_capacity
    }

    /// Events handled between two calls of `step()`. Every value from 1 up
    /// is honoured; 1 alternates strictly between one event and one step.
    #[must_use]
    pub fn with_max_events_per_tick(mut self, max_events: usize) -> Self {
        self.max_events_per_tick = max_events;
        self
    }

    /// See [`with_max_events_per_tick`](Self::with_max_events_per_tick).
    pub fn max_events_per_tick(&self) -> usize {
        self.max_events_per_tick
    }

    pub(crate) fn validate(&self) -> Result {
        if self.channel_capacity == 0 {
            return Err(Error::ZeroCapacity("channel_capacity"));
        }
        if self.max_events_per_tick == 0 {
            return Err(Error::InvalidConfig(
                "max_events_per_tick must be at least 1",
            ));
        }
        Ok(())
    }
}

impl Default for ActorConfig {
    fn default() -> Self {
        Self::new(&SupervisorConfig::default())
    }
}
