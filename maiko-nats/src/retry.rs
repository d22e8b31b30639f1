//! How the outbound bridge retries a publish that failed for a transient
//! reason.

use std::{future::Future, time::Duration};

use crate::Error;

/// How often and how patiently a publish is retried after a transient
/// failure (the acknowledgement timed out, the connection broke, the
/// server is restarting, the client's own bound on acknowledgements in
/// flight was reached).
///
/// Every retry sends the same `Nats-Msg-Id`, so a publish that was stored
/// although its acknowledgement was lost is not stored twice (within the
/// stream's duplicate window). The wait between attempts doubles from
/// `initial_backoff` up to `max_backoff`.
///
/// By default a publish is retried until it is confirmed or the shutdown
/// deadline passes (then it is reported as unconfirmed): a server that is
/// away for a while holds the events back instead of losing them. With
/// [`with_max_attempts`](Self::with_max_attempts) a publish gives up after
/// that many attempts and is reported as failed.
///
/// # Examples
///
/// ```
/// use std::{future::Future, time::Duration};
/// use maiko_nats::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .with_backoff(Duration::from_millis(20), Duration::from_secs(1))
///     .with_max_attempts(10);
/// assert_eq!(policy.max_attempts(), Some(10));
/// assert!(policy.validate().is_ok());
/// assert!(RetryPolicy::default().with_max_attempts(0).validate().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    initial_backoff: Duration,
    max_backoff: Duration,
    max_attempts: Option<u32>,
}

impl Default for RetryPolicy {
    /// 100 ms doubling up to 5 s, no limit on attempts.
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            max_attempts: None,
        }
    }
}

impl RetryPolicy {
    /// Wait `initial` before the first retry, doubling up to `max`.
    #[must_use]
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    /// Give up after this many attempts (the first publish included).
    #[must_use]
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    /// The limit on attempts, if any.
    pub fn max_attempts(&self) -> Option<u32> {
        self.max_attempts
    }

    /// Check the settings.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for zero attempts, a zero cap on the
    /// backoff, or an initial backoff above the cap.
    pub fn validate(&self) -> Result<(), Error> {
        if self.max_attempts == Some(0) {
            return Err(Error::InvalidConfig(
                "RetryPolicy::with_max_attempts(0): at least one attempt is needed",
            ));
        }
        if self.max_backoff.is_zero() {
            return Err(Error::InvalidConfig(
                "RetryPolicy::with_backoff: the cap must be above zero",
            ));
        }
        if self.initial_backoff > self.max_backoff {
            return Err(Error::InvalidConfig(
                "RetryPolicy::with_backoff: the initial backoff exceeds the cap",
            ));
        }
        Ok(())
    }

    /// Whether attempt number `attempt` (1 for the first publish) may be
    /// followed by another.
    pub(crate) fn allows_another(&self, attempt: u32) -> bool {
        self.max_attempts.is_none_or(|max| attempt < max)
    }

    /// The wait after attempt number `attempt` failed.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(16);
        self.initial_backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff)
    }

    /// Run `attempt` (given its number, the first being 1) until it
    /// succeeds or the policy allows no other, waiting the backoff between
    /// two attempts; the last error if it never succeeded.
    pub(crate) async fn until_ok<T, E, F, Fut>(&self, mut attempt: F) -> Result<T, E>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut number = 1;
        loop {
            match attempt(number).await {
                Ok(value) => return Ok(value),
                Err(error) if !self.allows_another(number) => return Err(error),
                Err(_) => tokio::time::sleep(self.backoff(number)).await,
            }
            number += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy::default()
            .with_backoff(Duration::from_millis(10), Duration::from_millis(50));
        let waits: Vec<u128> = (1..=5).map(|a| policy.backoff(a).as_millis()).collect();
        assert_eq!(waits, [10, 20, 40, 50, 50]);
        assert_eq!(policy.backoff(u32::MAX), Duration::from_millis(50));
    }

    #[test]
    fn attempts_are_counted_from_the_first_publish() {
        let policy = RetryPolicy::default().with_max_attempts(2);
        assert!(policy.allows_another(1));
        assert!(!policy.allows_another(2));
        assert!(RetryPolicy::default().allows_another(u32::MAX - 1));
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn until_ok_retries_after_the_backoff_and_stops_at_the_limit() {
        let policy = RetryPolicy::default()
            .with_backoff(Duration::from_millis(10), Duration::from_millis(15))
            .with_max_attempts(4);
        let started = tokio::time::Instant::now();
        let third = policy
            .until_ok(|n| async move { if n == 3 { Ok(n) } else { Err(n) } })
            .await;
        assert_eq!(third, Ok(3));
        assert_eq!(started.elapsed(), Duration::from_millis(10 + 15));
        let never: Result<(), u32> = policy.until_ok(|n| async move { Err(n) }).await;
        assert_eq!(never, Err(4), "the last attempt's error, after four");
    }

    #[test]
    fn unusable_settings_are_errors() {
        let zero_cap = RetryPolicy::default().with_backoff(Duration::ZERO, Duration::ZERO);
        assert!(zero_cap.validate().is_err());
        let inverted =
            RetryPolicy::default().with_backoff(Duration::from_secs(2), Duration::from_secs(1));
        assert!(inverted.validate().is_err());
    }
}
