//! The rate-limit headers seen on the last response.

use reqwest::header::HeaderMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The provider's rate-limit state as of the last response that carried the headers.
///
/// Calendly sends `X-RateLimit-Limit`, `-Remaining` and `-Reset` (seconds until reset) on every
/// response; Aircall sends `X-AircallApi-Limit`, `-Remaining` and `-Reset` mostly when limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Requests allowed per window.
    pub limit: Option<u64>,
    /// Requests left in this window.
    pub remaining: Option<u64>,
    /// Time until the window resets, as of `observed_at`.
    pub reset_after: Option<Duration>,
    /// When the response was received.
    pub observed_at: SystemTime,
}

impl RateLimit {
    /// Reads the headers with the given prefix (`x-ratelimit` or `x-aircallapi`). `None` when
    /// none of the three is present.
    pub(crate) fn from_headers(prefix: &str, headers: &HeaderMap) -> Option<Self> {
        let num = |suffix: &str| {
            headers
                .get(format!("{prefix}-{suffix}"))
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let (limit, remaining, reset) = (num("limit"), num("remaining"), num("reset"));
        if limit.is_none() && remaining.is_none() && reset.is_none() {
            return None;
        }
        let now = SystemTime::now();
        Some(Self {
            limit,
            remaining,
            reset_after: reset.map(|r| reset_to_duration(r, now)),
            observed_at: now,
        })
    }
}

/// A reset value is seconds-until-reset, or (as some Aircall readings have it) a UNIX time.
fn reset_to_duration(value: u64, now: SystemTime) -> Duration {
    // Anything past 2001-09-09 is a timestamp, not a delay.
    if value >= 1_000_000_000 {
        let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        Duration::from_secs(value.saturating_sub(now))
    } else {
        Duration::from_secs(value)
    }
}

/// `Retry-After` as delay seconds (HTTP dates are rare from these providers and ignored).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_calendly_headers() {
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-limit", "500".parse().unwrap());
        h.insert("x-ratelimit-remaining", "0".parse().unwrap());
        h.insert("x-ratelimit-reset", "60".parse().unwrap());
        let rl = RateLimit::from_headers("x-ratelimit", &h).unwrap();
        assert_eq!(rl.limit, Some(500));
        assert_eq!(rl.remaining, Some(0));
        assert_eq!(rl.reset_after, Some(Duration::from_secs(60)));
        assert!(RateLimit::from_headers("x-aircallapi", &h).is_none());
    }

    #[test]
    fn unix_time_reset_becomes_a_delay() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert_eq!(
            reset_to_duration(1_800_000_030, now),
            Duration::from_secs(30)
        );
        assert_eq!(reset_to_duration(1_700_000_000, now), Duration::ZERO);
        assert_eq!(reset_to_duration(45, now), Duration::from_secs(45));
    }

    #[test]
    fn garbage_headers_are_ignored() {
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-reset", "soon".parse().unwrap());
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert!(RateLimit::from_headers("x-ratelimit", &h).is_none());
        assert_eq!(retry_after(&h), None);
    }
}
