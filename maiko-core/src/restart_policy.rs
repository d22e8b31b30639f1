//! When and how an actor that failed is rebuilt.

use std::time::Duration;

/// When and how an actor registered with
/// [`Supervisor::add_restartable`](crate::Supervisor::add_restartable) is
/// rebuilt after a failure.
///
/// A failure is an error that `on_error` propagates (a panic reaches
/// `on_error` as [`Error::Panicked`](crate::Error::Panicked)) in
/// `handle_event` or `step`, or an error or panic in `on_start`. The failed
/// instance's `on_shutdown` runs, it is dropped, and after the backoff the
/// factory builds a new instance with the same [`ActorId`](crate::ActorId),
/// subscriptions and mailbox: nothing queued is lost, and the order per
/// publisher holds. Once its `on_start` has succeeded, the event whose
/// handling failed is handed to it first (up to
/// [`retry_event`](Self::retry_event) times), then the mailbox continues.
///
/// More than [`max_restarts`](Self::max_restarts) failures within
/// [`within`](Self::within) exhaust the budget: the actor then fails for
/// good, as an actor that is not restartable does (see
/// [`SupervisorConfig::with_stop_on_failure`](crate::SupervisorConfig::with_stop_on_failure)).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use maiko_core::RestartPolicy;
///
/// let policy = RestartPolicy::on_failure()
///     .max_restarts(5)
///     .within(Duration::from_secs(60))
///     .backoff(Duration::from_millis(10), Duration::from_secs(1))
///     .retry_event(2);
/// assert_eq!(policy.max_restarts_allowed(), 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPolicy {
    restart: bool,
    max_restarts: u32,
    within: Duration,
    backoff_first: Duration,
    backoff_max: Duration,
    retry_event: u32,
}

impl RestartPolicy {
    /// Never restart: the first failure is for good.
    pub fn never() -> Self {
        Self {
            restart: false,
            ..Self::on_failure()
        }
    }

    /// Restart after a failure: at most 3 restarts within 10 seconds, at
    /// once (no backoff), the failed event handed once more to the new
    /// instance.
    pub fn on_failure() -> Self {
        Self {
            restart: true,
            max_restarts: 3,
            within: Duration::from_secs(10),
            backoff_first: Duration::ZERO,
            backoff_max: Duration::ZERO,
            retry_event: 1,
        }
    }

    /// How many restarts the budget allows within [`within`](Self::within).
    #[must_use]
    pub fn max_restarts(mut self, restarts: u32) -> Self {
        self.max_restarts = restarts;
        self
    }

    /// The window of the budget: more than `max_restarts` failures within
    /// it exhaust the budget.
    #[must_use]
    pub fn within(mut self, window: Duration) -> Self {
        self.within = window;
        self
    }

    /// Wait `first` before the first restart, doubling up to `max` for each
    /// further restart while the failures stay within the budget's window.
    #[must_use]
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.backoff_first = first;
        self.backoff_max = max.max(first);
        self
    }

    /// How many more times the event whose handling failed is handed to the
    /// next instance (default 1). After that it counts as lost.
    #[must_use]
    pub fn retry_event(mut self, times: u32) -> Self {
        self.retry_event = times;
        self
    }

    /// Whether the actor is restarted at all.
    pub fn restarts(&self) -> bool {
        self.restart
    }

    /// See [`max_restarts`](Self::max_restarts).
    pub fn max_restarts_allowed(&self) -> u32 {
        self.max_restarts
    }

    /// See [`within`](Self::within).
    pub fn window(&self) -> Duration {
        self.within
    }

    /// See [`retry_event`](Self::retry_event).
    pub fn event_retries(&self) -> u32 {
        self.retry_event
    }

    /// The wait before restart number `n` (0 for the first) of a run of
    /// failures.
    pub(crate) fn backoff_before(&self, n: u32) -> Duration {
        let doubled = self
            .backoff_first
            .checked_mul(1u32.checked_shl(n.min(31)).unwrap_or(u32::MAX))
            .unwrap_or(self.backoff_max);
        doubled.min(self.backoff_max)
    }
}

impl Default for RestartPolicy {
    /// [`RestartPolicy::on_failure`].
    fn default() -> Self {
        Self::on_failure()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_first_up_to_max() {
        let ms = Duration::from_millis;
        let policy = RestartPolicy::on_failure().backoff(ms(10), ms(70));
        let waits: Vec<Duration> = (0..6).map(|n| policy.backoff_before(n)).collect();
        assert_eq!(waits, [ms(10), ms(20), ms(40), ms(70), ms(70), ms(70)]);
        assert_eq!(policy.backoff_before(u32::MAX), ms(70));
    }

    #[test]
    fn no_backoff_by_default_and_never_restarts_nothing() {
        assert_eq!(RestartPolicy::default().backoff_before(5), Duration::ZERO);
        assert!(RestartPolicy::default().restarts());
        assert!(!RestartPolicy::never().restarts());
    }
}
