//! The de-duplication keys of the newest events, so that a live event is known to be new
//! without a lookup.
//!
//! Before an event is recorded in the intake log it must be known not to be a duplicate.
//! Looking it up cost a read transaction per event (two `fcntl` calls and an index probe),
//! about 2% of the server's CPU under a steady stream of deliveries, and only the writer
//! thread can do it; callers record on their own thread. Providers stamp an event with its
//! creation time, which leads the de-duplication key, and a live delivery is newer than
//! anything stored. So, per source, [`Recent`] keeps a floor and every key at or above it that
//! has been recorded: a key at or above the floor that it does not hold is not stored, and the
//! caller records it. Keys below the floor (late redeliveries, events without a time) and keys
//! it holds go to the writer and are looked up.
//!
//! A key held but never stored costs only a lookup; a key stored but not held would let a
//! duplicate through. So every recorded key is added; a source's window is forgotten while the
//! writer commits that source's events directly (a large batch) and set up again from the
//! database after; and every window is forgotten before a task (an admin write or a purge)
//! that could change the events table behind its back.

use std::collections::{BTreeSet, HashMap};

/// Most keys kept per source: about 13 seconds of a 5,000 events/s stream, and 2-3 MiB.
const KEYS_PER_SOURCE: usize = 65_536;

/// What one source's window holds.
struct Window {
    /// Every key at or above this time that the database or the log holds is in `keys`.
    floor: i64,
    keys: BTreeSet<(i64, [u8; 16])>,
}

/// The newest keys per source.
#[derive(Default)]
pub(super) struct Recent {
    sources: HashMap<String, Window>,
}

impl Recent {
    /// Whether the window of `source` is set up (see [`Self::start`]).
    pub(super) fn knows(&self, source: &str) -> bool {
        self.sources.contains_key(source)
    }

    /// Sets up the window of `source`: `newest` is the newest time of its events stored or
    /// waiting in the log (`None`: it has none).
    pub(super) fn start(&mut self, source: &str, newest: Option<i64>) {
        let floor = newest.map_or(i64::MIN, |t| t.saturating_add(1));
        self.sources.insert(
            source.to_owned(),
            Window {
                floor,
                keys: BTreeSet::new(),
            },
        );
    }

    /// Whether the key is certainly not stored. `false` means only "look it up".
    pub(super) fn proves_new(&self, source: &str, time: i64, hash: &[u8; 16]) -> bool {
        self.sources
            .get(source)
            .is_some_and(|w| time >= w.floor && !w.keys.contains(&(time, *hash)))
    }

    /// Notes a key being recorded (or found stored). Below the floor it is not
    /// needed; past the cap the oldest time is dropped and the floor moves above it.
    pub(super) fn add(&mut self, source: &str, time: i64, hash: [u8; 16]) {
        let Some(w) = self.sources.get_mut(source) else {
            return;
        };
        if time < w.floor {
            return;
        }
        w.keys.insert((time, hash));
        if w.keys.len() > KEYS_PER_SOURCE {
            if let Some((oldest, _)) = w.keys.pop_first() {
                while w.keys.first().is_some_and(|(t, _)| *t == oldest) {
                    w.keys.pop_first();
                }
                w.floor = oldest.saturating_add(1);
            }
        }
    }

    /// Forgets the window of `source`: it is set up again from the database.
    pub(super) fn forget(&mut self, source: &str) {
        self.sources.remove(source);
    }

    /// Forgets every window: they are set up again from the database.
    pub(super) fn clear(&mut self) {
        self.sources.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_keys_newer_than_everything_stored_are_proved_new() {
        let mut recent = Recent::default();
        assert!(!recent.proves_new("cal", 100, &[1; 16]), "unknown source");
        recent.start("cal", Some(100));
        assert!(
            !recent.proves_new("cal", 100, &[1; 16]),
            "as old as the newest"
        );
        assert!(!recent.proves_new("cal", 0, &[1; 16]), "no time");
        assert!(recent.proves_new("cal", 101, &[1; 16]));
        recent.add("cal", 101, [1; 16]);
        assert!(!recent.proves_new("cal", 101, &[1; 16]), "seen");
        assert!(
            recent.proves_new("cal", 101, &[2; 16]),
            "same time, other key"
        );
        assert!(!recent.proves_new("other", 101, &[1; 16]));
    }

    #[test]
    fn a_source_with_no_events_proves_every_unseen_key_new() {
        let mut recent = Recent::default();
        recent.start("cal", None);
        assert!(recent.proves_new("cal", 0, &[1; 16]));
        recent.add("cal", 0, [1; 16]);
        assert!(!recent.proves_new("cal", 0, &[1; 16]));
    }

    #[test]
    fn past_the_cap_the_oldest_time_leaves_and_the_floor_rises_above_it() {
        let mut recent = Recent::default();
        recent.start("cal", None);
        // Two keys share the oldest time: both must go, or the one left would be unguarded.
        recent.add("cal", 1, [1; 16]);
        recent.add("cal", 1, [2; 16]);
        for i in 0..KEYS_PER_SOURCE as i64 - 1 {
            recent.add("cal", 10 + i, [0; 16]);
        }
        assert!(
            !recent.proves_new("cal", 1, &[3; 16]),
            "below the new floor"
        );
        assert!(!recent.proves_new("cal", 10, &[0; 16]), "kept");
        assert!(recent.proves_new("cal", 10, &[9; 16]));
        recent.start("other", None);
        recent.forget("cal");
        assert!(!recent.knows("cal"));
        assert!(!recent.proves_new("cal", 10, &[9; 16]), "forgotten");
        assert!(recent.knows("other"));
        recent.clear();
        assert!(!recent.knows("other"));
        assert!(!recent.proves_new("cal", 10, &[9; 16]));
    }
}
