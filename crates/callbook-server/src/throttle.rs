//! At most one log line a second for something an outsider can make happen at will.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Lets one event a second through and counts the rest, so a flood of bad requests costs a
/// line a second, not a line each.
#[derive(Debug)]
pub(crate) struct LogThrottle {
    started: Instant,
    /// The second (since `started`) of the last line let through, plus one; 0 before any.
    last: AtomicU64,
    suppressed: AtomicU64,
}

impl LogThrottle {
    pub(crate) fn new() -> Self {
        Self {
            started: Instant::now(),
            last: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(n)` when this one may be logged, `n` being how many were held back since the
    /// last; `None` when it is to be counted only.
    pub(crate) fn admit(&self) -> Option<u64> {
        let now = self.started.elapsed().as_secs() + 1;
        let last = self.last.load(Ordering::Relaxed);
        if last != now
            && self
                .last
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::Relaxed));
        }
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_a_second_and_the_rest_counted() {
        let t = LogThrottle::new();
        assert_eq!(t.admit(), Some(0));
        for _ in 0..99 {
            assert_eq!(t.admit(), None);
        }
        // Pretend a second passed.
        t.last.store(0, Ordering::Relaxed);
        assert_eq!(t.admit(), Some(99));
    }
}
