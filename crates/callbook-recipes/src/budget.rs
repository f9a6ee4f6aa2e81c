//! Aircall's request budget, shared by every recipe: a token bucket in which insight cards
//! come first.
//!
//! Aircall limits requests per company and minute (60 by default). A contact-sync backlog
//! would spend all of it, and a card is only worth showing while the call rings, so the bulk
//! work leaves a reserve that only urgent requests may take.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How urgent a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Must go now (an insight card while the call rings).
    Urgent,
    /// Can wait (contact sync, follow-ups).
    Bulk,
}

/// The shared budget.
#[derive(Debug)]
pub struct Budget {
    per_second: f64,
    capacity: f64,
    reserve: f64,
    state: Mutex<(f64, Instant)>,
}

impl Budget {
    /// A budget of `per_minute` requests, a fifth of it (at least one) kept for urgent ones.
    pub fn per_minute(per_minute: u32) -> Self {
        let capacity = f64::from(per_minute.max(1));
        Self {
            per_second: capacity / 60.0,
            capacity,
            reserve: (capacity / 5.0).max(1.0),
            state: Mutex::new((capacity, Instant::now())),
        }
    }

    /// Waits until a request of this priority may be sent, and counts it.
    pub async fn acquire(&self, priority: Priority) {
        loop {
            let wait = self.try_take(priority, Instant::now());
            match wait {
                None => return,
                Some(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Like [`Budget::acquire`], but gives up when the wait would be longer than `max_wait`,
    /// saying how long it would have been.
    pub async fn acquire_within(
        &self,
        priority: Priority,
        max_wait: Duration,
    ) -> Result<(), Duration> {
        let deadline = Instant::now() + max_wait;
        loop {
            match self.try_take(priority, Instant::now()) {
                None => return Ok(()),
                Some(wait) if Instant::now() + wait > deadline => return Err(wait),
                Some(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Takes a token, or says how long until one of this priority could be there.
    fn try_take(&self, priority: Priority, now: Instant) -> Option<Duration> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, last) = &mut *state;
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.per_second)
            .min(self.capacity);
        *last = now;
        let floor = match priority {
            Priority::Urgent => 0.0,
            Priority::Bulk => self.reserve,
        };
        if *tokens >= floor + 1.0 {
            *tokens -= 1.0;
            None
        } else {
            let missing = floor + 1.0 - *tokens;
            Some(Duration::from_secs_f64(missing / self.per_second).max(Duration::from_millis(5)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_work_leaves_a_reserve_that_urgent_requests_take_at_once() {
        let budget = Budget::per_minute(60);
        let now = Instant::now();
        let mut bulk = 0;
        while budget.try_take(Priority::Bulk, now).is_none() {
            bulk += 1;
        }
        assert_eq!(bulk, 48, "bulk stops at the reserve of 12");
        for _ in 0..12 {
            assert_eq!(budget.try_take(Priority::Urgent, now), None);
        }
        let wait = budget.try_take(Priority::Urgent, now).expect("empty");
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        assert!(budget.try_take(Priority::Bulk, now).unwrap() > Duration::from_secs(12));
    }
}
