//! Giving the core back between records.
//!
//! On a small machine the SQLite threads share a core with the request runtime. The kernel
//! switches between runnable threads at its tick (4 ms at `HZ=250`), so a writer applying a
//! few hundred records in one go holds the core for a whole tick while requests wait for it
//! (the runtime thread's waits of 3-10 ms at saturation were the writer's and the checkpoint
//! thread's ticks). Yielding every fraction of a millisecond bounds the writer's part. When
//! nothing else is runnable, `sched_yield` returns at once. When the runtime is, a yield
//! costs the writer the rest of the tick: a writer that always yielded would get too little
//! of the core to keep up with a saturated runtime, so it stops while it is behind.

use std::time::{Duration, Instant};

/// Longest a SQLite thread works before it offers the core to the runtime.
const SLICE: Duration = Duration::from_micros(250);

/// Tracks how long the current thread has worked since it last yielded.
pub(super) struct Yielder {
    since: Instant,
    /// Off while the writer is behind (see [`Yielder::new`]).
    on: bool,
}

impl Yielder {
    /// A yielder that yields only if `on`. A thread that keeps yielding gets less than its
    /// share of the core (each yield puts it behind the runtime for a tick), so a writer that
    /// is behind stops yielding until it has caught up: otherwise the runtime records events
    /// faster than they are applied, until the backlog's cap refuses them.
    pub(super) fn new(on: bool) -> Self {
        Self {
            since: Instant::now(),
            on,
        }
    }

    /// Yields if this thread has worked for a slice since it last did.
    pub(super) fn tick(&mut self) {
        if self.on && self.since.elapsed() >= SLICE {
            std::thread::yield_now();
            self.since = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_yields_once_it_has_worked_a_slice() {
        // Instants chosen so that the outcome does not depend on how fast the test runs.
        let later = Instant::now() + Duration::from_secs(3600);
        let mut fresh = Yielder {
            since: later,
            on: true,
        };
        fresh.tick();
        assert_eq!(fresh.since, later, "no slice has passed: no yield");

        let earlier = Instant::now()
            .checked_sub(SLICE * 2)
            .expect("the clock is past two slices");
        let mut worked = Yielder {
            since: earlier,
            on: true,
        };
        worked.tick();
        assert!(
            worked.since > earlier,
            "the slice starts again after a yield"
        );

        let mut behind = Yielder {
            since: earlier,
            on: false,
        };
        behind.tick();
        assert_eq!(
            behind.since, earlier,
            "a writer that is behind does not yield"
        );
    }
}
