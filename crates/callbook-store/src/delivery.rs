//! The outbox: deliveries of events to destinations, their attempts, and replay.

use crate::model::{EventId, Provider};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

crate::model::uuid_id!(
    /// A delivery's ID (UUIDv7).
    DeliveryId
);

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeliveryState {
    /// Waiting for its next attempt (or being attempted, under a lease).
    Pending,
    /// The destination answered 2xx.
    Succeeded,
    /// Every attempt failed, or the destination is gone (410): kept for replay.
    Dead,
}

impl DeliveryState {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Dead => "dead",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "succeeded" => Some(Self::Succeeded),
            "dead" => Some(Self::Dead),
            _ => None,
        }
    }
}

/// The token of one claim of a delivery: who holds it (the worker's name) and a part unique to
/// that claim. A completion carries it, and changes the delivery only while that claim holds:
/// one whose lease expired and was claimed again, or that a replay or retry took over,
/// records its attempt and leaves the delivery to the newer claim.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lease(String);

impl Lease {
    /// A new claim by `owner`.
    pub fn new(owner: &str) -> Self {
        Self(format!("{owner}/{}", uuid::Uuid::now_v7().simple()))
    }

    /// A stored token.
    pub fn from_stored(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token as stored in `lease_owner`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The `SET` of a retry or replay, for a delivery whose attempt may be in flight: the lease
/// of an attempt in flight becomes `retry:<lease>`, so no other worker takes the delivery
/// meanwhile and its completion leaves it due at once, whatever the attempt's outcome (the
/// completion's `WHERE` accepts either form, see [`finish_sql`]); a lease that has expired is
/// cleared. `now` is the placeholder (or SQL expression) of the current time in ms.
pub(crate) fn take_over_leases(now: &str) -> String {
    format!(
        "lease_owner = CASE WHEN lease_owner IS NOT NULL AND lease_until > {now} \
           AND state = 'pending' THEN CASE WHEN substr(lease_owner, 1, 6) = 'retry:' \
           THEN lease_owner ELSE 'retry:' || lease_owner END ELSE NULL END, \
         lease_until = CASE WHEN lease_owner IS NOT NULL AND lease_until > {now} \
           AND state = 'pending' THEN lease_until ELSE NULL END"
    )
}

/// The `SET ... WHERE` that moves a delivery on after an attempt made under the lease `lease`
/// (placeholders and expressions given by the caller): the outcome's `state` and `next`
/// while the lease holds; due at `now` if a retry took it over meanwhile; nothing if
/// another claim holds the delivery now.
pub(crate) fn finish_sql(p: &FinishParams<'_>) -> String {
    let FinishParams {
        table: t,
        from,
        id,
        lease,
        state,
        next,
        status,
        error,
        now,
    } = p;
    format!(
        "state = CASE WHEN {t}lease_owner = {lease} THEN {state} ELSE 'pending' END, \
         next_attempt_at = CASE WHEN {t}lease_owner = {lease} THEN {next} ELSE {now} END, \
         attempts = {t}attempts + 1, last_status = {status}, last_error = {error}, \
         lease_owner = NULL, lease_until = NULL, updated_at = {now}{from} \
         WHERE {t}id = {id} AND ({t}lease_owner = {lease} OR {t}lease_owner = 'retry:' || {lease})"
    )
}

/// The placeholders of [`finish_sql`].
pub(crate) struct FinishParams<'a> {
    /// The updated table's alias with its dot (`"d."`), or `""`.
    pub(crate) table: &'a str,
    /// A `FROM` clause (`" FROM v"`), or `""`.
    pub(crate) from: &'a str,
    pub(crate) id: &'a str,
    pub(crate) lease: &'a str,
    pub(crate) state: &'a str,
    pub(crate) next: &'a str,
    pub(crate) status: &'a str,
    pub(crate) error: &'a str,
    pub(crate) now: &'a str,
}

/// Deliveries that an insert writes already claimed, for a caller that attempts them itself
/// as soon as the insert returns: no claim round trip, no wait for a dispatcher. They are
/// durable with the event like any other delivery; should the caller die before completing
/// them, the lease expires and any worker claims them as usual. Nothing is written for a
/// duplicate event, so the caller attempts them only when the insert says the event is new.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PreClaim {
    /// The lease of these deliveries (the caller's name and a part of its own).
    pub owner: Lease,
    /// When the lease expires.
    pub until: DateTime<Utc>,
    /// Destination and delivery ID of each pre-claimed delivery.
    pub deliveries: Vec<(String, DeliveryId)>,
}

impl PreClaim {
    /// An empty pre-claim for `owner`, leased until `until`.
    pub fn new(owner: impl AsRef<str>, until: DateTime<Utc>) -> Self {
        Self {
            owner: Lease::new(owner.as_ref()),
            until,
            deliveries: Vec::new(),
        }
    }

    /// Pre-claims the delivery to `destination` (which must also be among the event's
    /// destinations) and returns the ID it will have.
    pub fn add(&mut self, destination: impl Into<String>) -> DeliveryId {
        let id = DeliveryId::new();
        self.deliveries.push((destination.into(), id));
        id
    }
}

/// A claimed delivery, with what is needed to attempt it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Claimed {
    /// The delivery.
    pub id: DeliveryId,
    /// This claim: give it back with [`crate::Store::complete`].
    pub lease: Lease,
    /// Its destination.
    pub destination: String,
    /// Attempts made before this one.
    pub attempts: u32,
    /// The event's ID.
    pub event_id: EventId,
    /// The event's source.
    pub source: String,
    /// The event's provider.
    pub provider: Provider,
    /// The event's type.
    pub event_type: Option<String>,
    /// The event's body, exactly as received.
    pub body: Vec<u8>,
}

impl Claimed {
    /// The delivery `id` to `destination` that `event` pre-claims (see [`PreClaim`]), to
    /// attempt once the insert reports the event new.
    /// `lease` is the pre-claim's ([`PreClaim::owner`]).
    pub fn pre_claimed(
        event: &crate::NewEvent,
        lease: &Lease,
        id: DeliveryId,
        destination: &str,
    ) -> Self {
        Self {
            id,
            lease: lease.clone(),
            destination: destination.to_owned(),
            attempts: 0,
            event_id: event.id,
            source: event.source.clone(),
            provider: event.provider,
            event_type: event.event_type.clone(),
            body: event.body.clone(),
        }
    }
}

/// What one attempt did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// When it was made.
    pub attempted_at: DateTime<Utc>,
    /// HTTP status, when there was an answer.
    pub status_code: Option<u16>,
    /// Time to the answer (or to the failure).
    pub latency_ms: u64,
    /// What went wrong, when something did.
    pub error: Option<String>,
    /// The start of the response body (bounded).
    pub response_excerpt: Option<String>,
}

/// What happens to a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Delivered.
    Succeeded,
    /// Try again at this time.
    Retry(DateTime<Utc>),
    /// Give up: kept as dead, visible and replayable.
    Dead,
}

/// A delivery as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Delivery {
    /// ID.
    pub id: DeliveryId,
    /// The event.
    pub event_id: EventId,
    /// The destination.
    pub destination: String,
    /// State.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Status of the last attempt.
    pub last_status: Option<u16>,
    /// Error of the last attempt.
    pub last_error: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Filters for listing deliveries, newest first.
#[derive(Debug, Clone, Default)]
pub struct DeliveryQuery {
    /// Only this destination.
    pub destination: Option<String>,
    /// Only this state.
    pub state: Option<DeliveryState>,
    /// Only deliveries of this event.
    pub event_id: Option<EventId>,
    /// Continue after this ID.
    pub before: Option<DeliveryId>,
    /// Page size (1 to 1000; default 100).
    pub limit: Option<u32>,
}

/// One page of deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryPage {
    /// Newest first.
    pub deliveries: Vec<Delivery>,
    /// Cursor of the next page.
    pub next_cursor: Option<DeliveryId>,
}

/// What to replay to a destination.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Replay {
    /// Its dead deliveries.
    Dead,
    /// Every event received in `[since, until)` that `filter` matches (pass the
    /// destination's own filter): its deliveries are rescheduled, and events it never had
    /// get one.
    Range {
        /// From (inclusive).
        since: DateTime<Utc>,
        /// To (exclusive).
        until: DateTime<Utc>,
        /// The events the destination takes.
        filter: crate::EventFilter,
    },
}

/// Queue depth of one destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QueueStats {
    /// The destination.
    pub destination: String,
    /// Pending deliveries.
    pub pending: u64,
    /// Pending deliveries already due.
    pub due: u64,
    /// When the oldest due delivery became due.
    pub oldest_due: Option<DateTime<Utc>>,
    /// Dead deliveries.
    pub dead: u64,
}

/// [`DestinationCounts`] of destination `$1`, the same SQL on both backends.
pub(crate) const DESTINATION_COUNTS: &str = "SELECT \
    COUNT(*) FILTER (WHERE state = 'succeeded') AS succeeded, \
    COUNT(*) FILTER (WHERE state = 'pending' AND attempts = 0) AS pending, \
    COUNT(*) FILTER (WHERE state = 'pending' AND attempts > 0) AS retrying, \
    COUNT(*) FILTER (WHERE state = 'dead') AS dead \
    FROM deliveries WHERE destination = $1";

/// Deliveries of one destination by state (its whole history still stored).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DestinationCounts {
    /// Delivered (or handled).
    pub succeeded: u64,
    /// Waiting for a first attempt.
    pub pending: u64,
    /// Failed at least once, waiting for a retry.
    pub retrying: u64,
    /// Failed for good.
    pub dead: u64,
}

/// A destination's stored state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DestinationState {
    /// The destination.
    pub name: String,
    /// When it was disabled, if it is.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Why.
    pub reason: Option<String>,
}

/// What a retention purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PurgeReport {
    /// Events removed.
    pub events: u64,
    /// Deliveries removed.
    pub deliveries: u64,
    /// Attempts removed.
    pub attempts: u64,
}
