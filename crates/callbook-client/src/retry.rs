//! How requests are retried: 429 waits, and backoff for 5xx and connection errors.

use std::time::Duration;

/// Retry behaviour shared by both clients.
///
/// - A `429` is always retried (the request was not processed), after the wait the provider
///   names (`Retry-After`, or the rate-limit reset header), at most `max_rate_limit_waits` times,
///   and never waiting longer than `max_rate_limit_wait` at once.
/// - `5xx` answers and connection errors are retried only for idempotent methods (GET, PUT,
///   DELETE), at most `max_retries` times, with exponential backoff and full jitter between
///   `base_delay` and `max_delay`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries of an idempotent request after a 5xx or a connection error.
    pub max_retries: u32,
    /// First backoff step.
    pub base_delay: Duration,
    /// Longest backoff step.
    pub max_delay: Duration,
    /// Waits after a 429 before giving up with [`Error::RateLimited`](crate::Error::RateLimited).
    pub max_rate_limit_waits: u32,
    /// Longest single wait after a 429; a longer requested wait gives up at once.
    pub max_rate_limit_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_rate_limit_waits: 3,
            max_rate_limit_wait: Duration::from_secs(65),
        }
    }
}

impl RetryPolicy {
    /// No retries at all: every failure is returned at once.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            max_rate_limit_waits: 0,
            ..Self::default()
        }
    }

    /// Sets the retry count for 5xx and connection errors.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// Sets the backoff bounds.
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_delay = base;
        self.max_delay = max.max(base);
        self
    }

    /// Sets how many 429 waits are allowed, and the longest single wait.
    pub fn rate_limit_waits(mut self, n: u32, longest: Duration) -> Self {
        self.max_rate_limit_waits = n;
        self.max_rate_limit_wait = longest;
        self
    }

    /// The delay before retry number `attempt` (from 0): full jitter over an exponential cap.
    pub(crate) fn backoff_delay(&self, attempt: u32) -> Duration {
        let cap = self
            .base_delay
            .saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX))
            .min(self.max_delay);
        let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        // Half fixed, half random: never zero, never in lockstep with other clients.
        let half = nanos / 2;
        Duration::from_nanos(half + rand::Rng::gen_range(&mut rand::thread_rng(), 0..=half))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default().backoff(Duration::from_millis(100), Duration::from_secs(1));
        for attempt in 0..30 {
            let d = p.backoff_delay(attempt);
            let cap =
                Duration::from_millis(100 * (1u64 << attempt.min(10))).min(Duration::from_secs(1));
            assert!(
                d <= cap && d >= cap / 2,
                "attempt {attempt}: {d:?} vs cap {cap:?}"
            );
        }
    }
}
