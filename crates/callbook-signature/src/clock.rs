//! Time, injectable so that tests are deterministic.

use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current UNIX time in seconds.
pub trait Clock: Send + Sync {
    /// Now, in UNIX seconds.
    fn now(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            // A clock before 1970 is broken; any signed timestamp will then look too new.
            Err(_) => 0,
        }
    }
}

/// A clock stopped at a given time, for tests.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0
    }
}

/// The latest UNIX time accepted in a signature: 9999-12-31T23:59:59Z.
pub(crate) const MAX_TIMESTAMP: i64 = 253_402_300_799;

/// Parses a signed UNIX timestamp: ASCII digits only, positive, before year 10000.
pub(crate) fn parse_timestamp(raw: &[u8]) -> Result<i64, crate::Error> {
    let invalid = |reason| crate::Error::InvalidTimestamp { reason };
    if raw.is_empty() {
        return Err(invalid("empty"));
    }
    // At most 12 digits, so the accumulation below cannot overflow.
    if raw.len() > 12 {
        return Err(if raw.iter().all(u8::is_ascii_digit) {
            invalid("out of range")
        } else {
            invalid("not a whole number of seconds")
        });
    }
    let mut t: i64 = 0;
    for &d in raw {
        if !d.is_ascii_digit() {
            return Err(invalid("not a whole number of seconds"));
        }
        t = t * 10 + i64::from(d - b'0');
    }
    if t == 0 || t > MAX_TIMESTAMP {
        return Err(invalid("out of range"));
    }
    Ok(t)
}

/// Checks `t` against `now` in both directions.
pub(crate) fn check_window(t: i64, now: i64, tolerance_secs: u64) -> Result<(), crate::Error> {
    let diff = i128::from(now) - i128::from(t);
    let tol = i128::from(tolerance_secs);
    if diff > tol {
        return Err(crate::Error::TimestampTooOld {
            age_secs: u64::try_from(diff).unwrap_or(u64::MAX),
            tolerance_secs,
        });
    }
    if -diff > tol {
        return Err(crate::Error::TimestampTooNew {
            ahead_secs: u64::try_from(-diff).unwrap_or(u64::MAX),
            tolerance_secs,
        });
    }
    Ok(())
}
