//! Events stored per minute over the last day, per source, for the console's overview: one
//! atomic add per stored event, no query. Counted by this process since it started.

use std::sync::atomic::{AtomicU64, Ordering};

const MINUTES: usize = 24 * 60;

/// A ring of 1,440 one-minute buckets; each holds its minute (high 32 bits) and its count (low
/// 32 bits), so a bucket left from a day ago reads as empty.
pub(crate) struct Activity {
    buckets: Box<[AtomicU64]>,
}

impl std::fmt::Debug for Activity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Activity").finish_non_exhaustive()
    }
}

impl Default for Activity {
    fn default() -> Self {
        Self {
            buckets: (0..MINUTES).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

pub(crate) fn minute_now() -> u32 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    u32::try_from(secs / 60).unwrap_or(u32::MAX)
}

impl Activity {
    /// Counts one event in `minute` (UNIX minutes).
    pub(crate) fn record(&self, minute: u32) {
        let bucket = &self.buckets[minute as usize % MINUTES];
        let fresh = (u64::from(minute) << 32) | 1;
        let mut current = bucket.load(Ordering::Relaxed);
        loop {
            let held = (current >> 32) as u32;
            let next = if held == minute {
                current.saturating_add(1)
            } else if held > minute {
                // The bucket already counts a later minute (a clock stepped back a day, say):
                // the older count has no place left.
                return;
            } else {
                fresh
            };
            match bucket.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(seen) => current = seen,
            }
        }
    }

    /// The counts of the 1,440 minutes ending with `now` (UNIX minutes), oldest first.
    pub(crate) fn last_day(&self, now: u32) -> Vec<u32> {
        (0..MINUTES as u32)
            .rev()
            .map(|back| {
                let minute = now.wrapping_sub(back);
                let v = self.buckets[minute as usize % MINUTES].load(Ordering::Relaxed);
                if (v >> 32) as u32 == minute {
                    v as u32
                } else {
                    0
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_land_in_their_minute_and_a_day_old_bucket_reads_empty() {
        let a = Activity::default();
        let now = 29_000_000;
        a.record(now);
        a.record(now);
        a.record(now - 5);
        a.record(now - MINUTES as u32); // a day older than a counted minute: dropped
        let day = a.last_day(now);
        assert_eq!(day.len(), MINUTES);
        assert_eq!(day[MINUTES - 1], 2);
        assert_eq!(day[MINUTES - 6], 1);
        assert_eq!(day.iter().sum::<u32>(), 3);
        // The bucket reused a day later starts again from one.
        a.record(now + MINUTES as u32);
        assert_eq!(a.last_day(now + MINUTES as u32)[MINUTES - 1], 1);
    }
}
