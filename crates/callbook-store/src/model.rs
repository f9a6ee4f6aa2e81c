//! What the store holds.

use crate::delivery::{DeliveryId, PreClaim};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Declares a UUIDv7 identifier newtype: time-ordered, displayed hyphenated, transparent serde.
macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(uuid::Uuid);

        impl $name {
            /// A new time-ordered ID.
            pub fn new() -> Self {
                Self::at(chrono::Utc::now())
            }

            /// A new ID whose time part (UUIDv7, millisecond precision) is `time`, so that
            /// IDs sort by it; IDs made for the same millisecond sort in the order they were
            /// made. The random part comes from a thread-local generator: no system call per
            /// ID.
            pub fn at(time: chrono::DateTime<chrono::Utc>) -> Self {
                let millis = u64::try_from(time.timestamp_millis()).unwrap_or(0);
                Self($crate::model::uuid_v7(millis))
            }

            /// The time part of the ID.
            pub fn time(&self) -> Option<chrono::DateTime<chrono::Utc>> {
                let (secs, nanos) = self.0.get_timestamp()?.to_unix();
                chrono::DateTime::from_timestamp(i64::try_from(secs).ok()?, nanos)
            }

            /// The UUID.
            pub fn as_uuid(&self) -> uuid::Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self)
            }
        }

        impl From<uuid::Uuid> for $name {
            fn from(u: uuid::Uuid) -> Self {
                Self(u)
            }
        }
    };
}

pub(crate) use uuid_id;

/// The millisecond the last UUIDv7 was asked for, and what it got as `unix_millis << 12 |
/// sequence`: IDs made for one millisecond, on any thread, take increasing sequence numbers in
/// the 12 bits after the time (RFC 9562, method 1), so they sort in the order they were made.
static LAST_V7: std::sync::Mutex<(u64, u64)> = std::sync::Mutex::new((0, 0));

/// A UUIDv7 for `millis`. A time earlier than the last one asked for (a clock step back, or an
/// explicit past time) keeps its own time rather than joining the sequence.
pub(crate) fn uuid_v7(millis: u64) -> uuid::Uuid {
    let mut random: [u8; 10] = rand::random();
    let millis = millis & 0xffff_ffff_ffff;
    // A random start in the lower eighth leaves room for thousands of IDs per millisecond.
    let start = millis << 12 | u64::from(random[0] & 0x01) << 8 | u64::from(random[1]);
    let stamp = {
        let mut last = LAST_V7
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if millis >= last.0 {
            // Past 4,095 in one millisecond the carry moves into the next one: still in order.
            let stamp = start.max(last.1 + 1);
            *last = (millis, stamp);
            stamp
        } else {
            start
        }
    };
    random[0] = ((stamp >> 8) & 0x0f) as u8;
    random[1] = stamp as u8;
    uuid::Builder::from_unix_timestamp_millis(stamp >> 12, &random).into_uuid()
}

uuid_id!(
    /// An event's ID: a UUIDv7, so IDs sort by arrival time.
    EventId
);

/// Who sent an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Provider {
    /// Calendly.
    Calendly,
    /// Aircall.
    Aircall,
}

impl Provider {
    /// The lowercase name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Calendly => "calendly",
            Self::Aircall => "aircall",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Provider {
    type Err = UnknownProvider;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "calendly" => Ok(Self::Calendly),
            "aircall" => Ok(Self::Aircall),
            _ => Err(UnknownProvider(s.to_owned())),
        }
    }
}

/// A provider name this version does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider {0:?} (expected calendly or aircall)")]
pub struct UnknownProvider(pub String);

/// Whether the body parsed as its provider's model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "error", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ParseStatus {
    /// It did.
    Parsed,
    /// It did not; the raw body is kept anyway.
    Unparsed(String),
}

/// An event to store.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewEvent {
    /// Its ID (generate with [`EventId::new`]).
    pub id: EventId,
    /// The configured source it arrived on.
    pub source: String,
    /// The provider.
    pub provider: Provider,
    /// The event type, such as `invitee.created`, when known.
    pub event_type: Option<String>,
    /// De-duplication key. Two events are the same when their source, key and `occurred_at`
    /// are equal; providers' keys include their event time, so in practice the key decides.
    pub dedupe_key: String,
    /// Arrival time.
    pub received_at: DateTime<Utc>,
    /// The provider's own event time.
    pub occurred_at: Option<DateTime<Utc>>,
    /// The body exactly as received.
    pub body: Vec<u8>,
    /// Headers worth keeping (never credentials).
    pub headers: Vec<(String, String)>,
    /// Parse outcome.
    pub parse_status: ParseStatus,
    /// The e-mail addresses and phone numbers it names, for [`EventQuery::search`] (its
    /// de-duplication key is searchable without being listed here).
    pub subjects: Vec<crate::Subject>,
    /// Destinations to deliver it to: their deliveries are written in the same transaction
    /// (only when the event is new, not for a duplicate).
    pub destinations: Vec<String>,
    /// Deliveries (among `destinations`) written already claimed by the caller, who attempts
    /// them right after the insert instead of claiming them; see [`PreClaim`].
    pub pre_claim: Option<PreClaim>,
}

impl NewEvent {
    /// An event with the required fields; the rest default to "unknown".
    pub fn new(
        source: impl Into<String>,
        provider: Provider,
        dedupe_key: impl Into<String>,
        body: Vec<u8>,
    ) -> Self {
        let received_at = Utc::now();
        Self {
            id: EventId::at(received_at),
            source: source.into(),
            provider,
            event_type: None,
            dedupe_key: dedupe_key.into(),
            received_at,
            occurred_at: None,
            body,
            headers: Vec::new(),
            parse_status: ParseStatus::Parsed,
            subjects: Vec::new(),
            destinations: Vec::new(),
            pre_claim: None,
        }
    }

    /// The delivery rows this event writes when it is new: one per destination, with the
    /// pre-claimed ID and lease where there is one.
    pub(crate) fn delivery_rows(&self) -> impl Iterator<Item = DeliveryRow<'_>> {
        self.destinations.iter().map(move |destination| {
            let claimed = self.pre_claim.as_ref().and_then(|c| {
                c.deliveries
                    .iter()
                    .find(|(d, _)| d == destination)
                    .map(|(_, id)| (c, *id))
            });
            DeliveryRow {
                id: claimed.map_or_else(DeliveryId::new, |(_, id)| id),
                destination,
                lease_owner: claimed.map(|(c, _)| c.owner.as_str()),
                lease_until: claimed.map(|(c, _)| c.until.timestamp_millis()),
            }
        })
    }
}

/// A delivery row as an insert writes it.
pub(crate) struct DeliveryRow<'a> {
    pub(crate) id: DeliveryId,
    pub(crate) destination: &'a str,
    pub(crate) lease_owner: Option<&'a str>,
    pub(crate) lease_until: Option<i64>,
}

/// The result of an insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InsertOutcome {
    /// The stored event's ID: the new one, or the original's for a duplicate.
    pub id: EventId,
    /// Whether an event with the same de-duplication key was already stored.
    pub duplicate: bool,
}

/// A stored event without its body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EventSummary {
    /// ID.
    pub id: EventId,
    /// Source.
    pub source: String,
    /// Provider.
    pub provider: Provider,
    /// Event type.
    pub event_type: Option<String>,
    /// De-duplication key.
    pub dedupe_key: String,
    /// Arrival time.
    pub received_at: DateTime<Utc>,
    /// The provider's event time.
    pub occurred_at: Option<DateTime<Utc>>,
    /// Parse outcome.
    pub parse_status: ParseStatus,
    /// Body size in bytes.
    pub body_len: u64,
}

/// A stored event with its body and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredEvent {
    /// Everything but the body.
    pub summary: EventSummary,
    /// The body exactly as received.
    pub body: Vec<u8>,
    /// Stored headers.
    pub headers: Vec<(String, String)>,
}

/// Filters and cursor for listing events, newest first. Build with struct update syntax
/// (`EventQuery { source: Some(..), ..Default::default() }`).
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// Only this source.
    pub source: Option<String>,
    /// Only this provider.
    pub provider: Option<Provider>,
    /// Only this event type.
    pub event_type: Option<String>,
    /// Only parsed (`true`) or only unparsed (`false`) events.
    pub parsed: Option<bool>,
    /// Received at or after.
    pub since: Option<DateTime<Utc>>,
    /// Received before.
    pub until: Option<DateTime<Utc>>,
    /// Only events found by this text: their de-duplication key exactly, or an e-mail address
    /// or phone number they name (see [`crate::Subject`]).
    pub search: Option<String>,
    /// Continue after this ID (the `next_cursor` of the previous page).
    pub before: Option<EventId>,
    /// Page size (1 to 1000; default 100).
    pub limit: Option<u32>,
}

/// One page of events.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventPage {
    /// Newest first.
    pub events: Vec<EventSummary>,
    /// Pass as [`EventQuery::before`] for the next page; `None` on the last page.
    pub next_cursor: Option<EventId>,
}

/// Page size bounds.
pub const DEFAULT_PAGE: u32 = 100;
/// The largest page.
pub const MAX_PAGE: u32 = 1000;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DurationRound, TimeZone};

    #[test]
    fn an_event_id_carries_its_time_and_sorts_by_it() {
        let early = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
        let later = early + chrono::Duration::milliseconds(1);
        let a = EventId::at(early);
        let b = EventId::at(later);
        assert_eq!(a.time(), Some(early));
        assert_eq!(b.time(), Some(later));
        assert!(a < b);
        assert_ne!(
            EventId::at(early),
            EventId::at(early),
            "random part differs"
        );
        assert_eq!(a.as_uuid().get_version_num(), 7);
    }

    #[test]
    fn ids_made_in_the_same_millisecond_sort_in_the_order_they_were_made() {
        // Later than any ID the other tests make meanwhile: an ID for an earlier time than
        // the last one keeps its time and does not join the sequence.
        let later = Utc::now() + chrono::Duration::days(1);
        let ids: Vec<EventId> = (0..5_000).map(|_| EventId::at(later)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        let threads: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| (0..2_000).map(|_| EventId::new()).collect::<Vec<_>>()))
            .collect();
        let mut all: Vec<EventId> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        let made = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), made, "no ID made twice");
    }

    #[test]
    fn an_id_for_an_earlier_time_keeps_that_time() {
        let now = Utc::now();
        let _ = EventId::at(now);
        let past = now - chrono::Duration::days(3);
        let id = EventId::at(past);
        assert_eq!(
            id.time(),
            past.duration_trunc(chrono::Duration::milliseconds(1)).ok()
        );
    }

    #[test]
    fn a_new_event_id_is_its_arrival_time() {
        let e = NewEvent::new("s", Provider::Calendly, "k", Vec::new());
        assert_eq!(
            e.id.time(),
            e.received_at
                .duration_trunc(chrono::Duration::milliseconds(1))
                .ok()
        );
    }
}
