//! The newest stored bodies, so that a redelivery is answered as soon as it is verified.
//!
//! Both providers retry with the very bytes they sent (Calendly signs them again with a new
//! timestamp; the body does not change), and a body decides its de-duplication key. So a
//! verified body whose 128-bit fingerprint matches one stored a moment ago is a duplicate of
//! that event, known without parsing it or asking the store. A miss costs nothing but the
//! fingerprint: the request goes the usual way, and the store still de-duplicates by key.
//!
//! Only what the store acknowledged is remembered, so an answer from here is as durable as
//! the store's. Entries are used for an hour at most: the retention purge removes events a day
//! old or older, so nothing remembered here can have been purged.

use callbook_store::EventId;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Bodies remembered: about 1 MiB, a few seconds of a peak or hours of a usual day.
const CAPACITY: usize = 16_384;
/// How long an entry is used.
const MAX_AGE: Duration = Duration::from_secs(3600);

/// A body's fingerprint, with its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Fingerprint(u128);

impl Fingerprint {
    pub(crate) fn of(source: &str, body: &[u8]) -> Self {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(&(source.len() as u64).to_le_bytes());
        h.update(source.as_bytes());
        h.update(body);
        Self(h.digest128())
    }
}

/// A fingerprint is a hash already: its low bits index the map as they are (SipHash over it
/// was 1.5% of the server's CPU under load).
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u128` is used (by `Fingerprint`'s derived `Hash`); fold anything else.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }
}

#[derive(Default)]
struct Entries {
    ids: HashMap<Fingerprint, (EventId, Instant), BuildHasherDefault<Identity>>,
    /// Oldest first, for eviction.
    order: VecDeque<Fingerprint>,
}

/// See the module documentation.
#[derive(Default)]
pub(crate) struct Redeliveries {
    entries: Mutex<Entries>,
}

impl Redeliveries {
    /// The stored event this body is a redelivery of, if it was stored within the hour.
    pub(crate) fn original(&self, fingerprint: Fingerprint) -> Option<EventId> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let (id, at) = entries.ids.get(&fingerprint)?;
        (at.elapsed() < MAX_AGE).then_some(*id)
    }

    /// Notes that the store holds this body as `id`.
    pub(crate) fn stored(&self, fingerprint: Fingerprint, id: EventId) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries
            .ids
            .insert(fingerprint, (id, Instant::now()))
            .is_some()
        {
            return;
        }
        entries.order.push_back(fingerprint);
        if entries.order.len() > CAPACITY
            && let Some(oldest) = entries.order.pop_front()
        {
            entries.ids.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_known_on_its_source_only_once_stored() {
        let r = Redeliveries::default();
        let fp = Fingerprint::of("cal", b"{\"a\":1}");
        assert_eq!(r.original(fp), None);
        let id = EventId::new();
        r.stored(fp, id);
        assert_eq!(r.original(fp), Some(id));
        assert_eq!(r.original(Fingerprint::of("other", b"{\"a\":1}")), None);
        assert_eq!(r.original(Fingerprint::of("cal", b"{\"a\":2}")), None);
        // The source and body are not simply run together.
        assert_ne!(Fingerprint::of("ca", b"l{"), Fingerprint::of("cal", b"{"));
    }

    #[test]
    fn the_oldest_leave_past_the_capacity() {
        let r = Redeliveries::default();
        let fps: Vec<Fingerprint> = (0..=CAPACITY)
            .map(|i| Fingerprint::of("cal", &i.to_le_bytes()))
            .collect();
        for fp in &fps {
            r.stored(*fp, EventId::new());
        }
        assert_eq!(r.original(fps[0]), None);
        assert!(r.original(fps[1]).is_some());
        assert!(r.original(fps[CAPACITY]).is_some());
        let entries = r.entries.lock().expect("lock");
        assert_eq!(entries.ids.len(), CAPACITY);
        assert_eq!(entries.order.len(), CAPACITY);
    }
}
