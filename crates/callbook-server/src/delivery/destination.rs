//! A destination as the engine sees it: filters, concurrency limit, circuit breaker, metrics.

use crate::delivery::EventHandler;
use callbook_signature::standard;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How events reach a destination.
pub(crate) enum Target {
    Http {
        uri: axum::http::Uri,
        /// Basic credentials from the URL's `user:password@`, sent as `Authorization`.
        authorization: Option<axum::http::HeaderValue>,
        /// Whether the environment's proxy settings send it through a proxy.
        proxied: bool,
        signer: standard::Webhook,
        timeout: Duration,
    },
    Handler {
        handler: Arc<dyn EventHandler>,
        timeout: Duration,
    },
}

/// Which events a destination takes (the store applies the same filter to replays).
pub(crate) use callbook_store::EventFilter as Filter;

/// Breaker states, as exported in metrics: 0 closed, 1 open, 2 half-open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug)]
pub(crate) struct Breaker {
    failures: u32,
    threshold: u32,
    cooldown: Duration,
    open_until: Option<Instant>,
    probing: bool,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            failures: 0,
            threshold: threshold.max(1),
            cooldown,
            open_until: None,
            probing: false,
        }
    }

    pub(crate) fn state(&self, now: Instant) -> BreakerState {
        match self.open_until {
            None => BreakerState::Closed,
            Some(t) if now < t => BreakerState::Open,
            Some(_) => BreakerState::HalfOpen,
        }
    }

    /// How many attempts may start now: all (closed), none (open, or a probe is out), or one
    /// probe (half-open).
    pub(crate) fn allowance(&mut self, now: Instant, capacity: usize) -> usize {
        match self.state(now) {
            BreakerState::Closed => capacity,
            BreakerState::Open => 0,
            BreakerState::HalfOpen if self.probing => 0,
            BreakerState::HalfOpen => {
                self.probing = true;
                capacity.min(1)
            }
        }
    }

    pub(crate) fn success(&mut self) {
        self.failures = 0;
        self.open_until = None;
        self.probing = false;
    }

    /// Returns true when this failure opened the breaker.
    pub(crate) fn failure(&mut self, now: Instant) -> bool {
        self.failures += 1;
        let was_open = self.open_until.is_some();
        if self.probing || self.failures >= self.threshold {
            self.open_until = Some(now + self.cooldown);
            self.probing = false;
            return !was_open;
        }
        false
    }
}

/// Whether deliveries of a destination may be waiting in the store unclaimed. While none
/// are, new events go straight from ingestion to an attempt (pre-claimed); once one had to
/// wait, new events queue behind it until a claim comes back short.
///
/// Two counters rather than a flag: a claim that started before a delivery was left waiting
/// cannot clear the mark that delivery made.
#[derive(Debug)]
pub(crate) struct Backlog {
    marked: AtomicU64,
    cleared: AtomicU64,
}

impl Default for Backlog {
    /// Marked: rows from before a restart may be waiting until the first claim says not.
    fn default() -> Self {
        Self {
            marked: AtomicU64::new(1),
            cleared: AtomicU64::new(0),
        }
    }
}

impl Backlog {
    /// A delivery was stored for the dispatcher to claim.
    pub(crate) fn mark(&self) {
        self.marked.fetch_add(1, Ordering::SeqCst);
    }

    /// Read before a claim; pass to [`Backlog::clear`] if the claim comes back short.
    pub(crate) fn generation(&self) -> u64 {
        self.marked.load(Ordering::SeqCst)
    }

    /// Nothing marked up to `generation` is left unclaimed.
    pub(crate) fn clear(&self, generation: u64) {
        self.cleared.fetch_max(generation, Ordering::SeqCst);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.cleared.load(Ordering::SeqCst) >= self.marked.load(Ordering::SeqCst)
    }
}

pub(crate) struct Destination {
    pub(crate) name: Arc<str>,
    pub(crate) target: Target,
    pub(crate) filter: Filter,
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) max_in_flight: usize,
    pub(crate) breaker: Mutex<Breaker>,
    pub(crate) disabled: AtomicBool,
    pub(crate) url: Option<String>,
    pub(crate) backlog: Backlog,
}

impl Destination {
    pub(crate) fn is_disabled(&self) -> bool {
        self.disabled.load(Ordering::Relaxed)
    }

    pub(crate) fn timeout(&self) -> Duration {
        match &self.target {
            Target::Http { timeout, .. } | Target::Handler { timeout, .. } => *timeout,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backlog_is_cleared_only_by_a_claim_that_saw_every_mark() {
        let b = Backlog::default();
        assert!(!b.is_empty(), "unknown after a start");
        let generation = b.generation();
        b.clear(generation);
        assert!(b.is_empty());
        let before = b.generation();
        b.mark(); // stored while a claim that read `before` was running
        b.clear(before);
        assert!(!b.is_empty());
        b.clear(b.generation());
        assert!(b.is_empty());
    }

    #[test]
    fn breaker_opens_probes_and_closes() {
        let now = Instant::now();
        let mut b = Breaker::new(2, Duration::from_secs(10));
        assert_eq!(b.allowance(now, 8), 8);
        assert!(!b.failure(now));
        assert!(b.failure(now), "second failure opens");
        assert_eq!(b.allowance(now, 8), 0);
        let later = now + Duration::from_secs(11);
        assert_eq!(b.state(later), BreakerState::HalfOpen);
        assert_eq!(b.allowance(later, 8), 1, "one probe");
        assert_eq!(b.allowance(later, 8), 0, "only one");
        b.failure(later);
        assert_eq!(b.state(later), BreakerState::Open, "a failed probe reopens");
        let much_later = later + Duration::from_secs(11);
        assert_eq!(b.allowance(much_later, 8), 1);
        b.success();
        assert_eq!(b.allowance(much_later, 8), 8);
    }
}
