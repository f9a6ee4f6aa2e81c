//! The storage boundary. The server talks to this trait only, so the SQLite and PostgreSQL
//! backends are interchangeable.

use crate::Error;
use crate::delivery::{
    AttemptRecord, Claimed, Delivery, DeliveryId, DeliveryPage, DeliveryQuery, DestinationCounts,
    DestinationState, Lease, Outcome, PurgeReport, QueueStats, Replay,
};
use crate::directory::Directory;
use crate::model::{EventId, EventPage, EventQuery, InsertOutcome, NewEvent, StoredEvent};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// A durable event store.
/// The directory's methods ([`Directory`]) come with every store.
#[async_trait]
pub trait Store: Directory + Send + Sync + 'static {
    /// Stores an event, or finds the one already stored under the same source and
    /// de-duplication key. When this returns `Ok`, the event is durable at the configured level.
    async fn insert_event(&self, event: NewEvent) -> Result<InsertOutcome, Error>;

    /// One event with its body.
    async fn get_event(&self, id: EventId) -> Result<Option<StoredEvent>, Error>;

    /// Events, newest first.
    async fn list_events(&self, query: &EventQuery) -> Result<EventPage, Error>;

    /// Whether the database answers.
    async fn ping(&self) -> Result<(), Error>;

    /// Claims up to `limit` due deliveries of one destination for `lease`: until it expires,
    /// no other worker (or instance) claims them; a crashed worker's claims come back then.
    async fn claim(
        &self,
        destination: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Claimed>, Error>;

    /// Records an attempt and, if `lease` still holds the delivery, its outcome, and releases
    /// the claim. A claim that lost the delivery (its lease expired and another worker claimed
    /// it, say) only adds the attempt to the history. A retry or replay asked for while the
    /// attempt was in flight leaves the delivery due at once instead of taking the outcome.
    async fn complete(
        &self,
        delivery: DeliveryId,
        lease: &Lease,
        attempt: AttemptRecord,
        outcome: Outcome,
    ) -> Result<(), Error>;

    /// Releases a claim without an attempt, to be retried at `at` (an open circuit breaker),
    /// if `lease` still holds it.
    async fn postpone(
        &self,
        delivery: DeliveryId,
        lease: &Lease,
        at: DateTime<Utc>,
    ) -> Result<(), Error>;

    /// Deliveries, newest first.
    async fn list_deliveries(&self, query: &DeliveryQuery) -> Result<DeliveryPage, Error>;

    /// One delivery with its attempts, oldest first.
    async fn get_delivery(
        &self,
        id: DeliveryId,
    ) -> Result<Option<(Delivery, Vec<AttemptRecord>)>, Error>;

    /// Makes a delivery due now (whatever its state). Returns whether it exists.
    async fn retry_delivery(&self, id: DeliveryId, now: DateTime<Utc>) -> Result<bool, Error>;

    /// Reschedules deliveries to a destination; returns how many were scheduled.
    async fn replay(
        &self,
        destination: &str,
        what: Replay,
        now: DateTime<Utc>,
    ) -> Result<u64, Error>;

    /// Marks a destination disabled (with a reason) or enabled (`None`).
    async fn set_destination_disabled(
        &self,
        name: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), Error>;

    /// Stored destination states.
    async fn destination_states(&self) -> Result<Vec<DestinationState>, Error>;

    /// One destination's deliveries by state.
    async fn destination_counts(&self, destination: &str) -> Result<DestinationCounts, Error>;

    /// Queue depth per destination.
    async fn queue_stats(&self, now: DateTime<Utc>) -> Result<Vec<QueueStats>, Error>;

    /// Deletes events received before `cutoff`, with their deliveries and attempts, and frees
    /// the space.
    async fn purge(&self, cutoff: DateTime<Utc>) -> Result<PurgeReport, Error>;

    /// Flushes pending writes and closes connections.
    async fn close(&self);

    /// Writes acknowledged but not yet in the database (SQLite's intake log); `None` for a
    /// backend without one.
    fn intake_stats(&self) -> Option<IntakeStats> {
        None
    }
}

/// What an intake log holds (see [`crate::SqliteOptions::intake_log`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IntakeStats {
    /// Acknowledged records not yet applied to the database.
    pub pending_records: u64,
    /// Size of the log file.
    pub log_bytes: u64,
    /// Whether the database refuses one of them (reads fail until it is applied).
    pub refused: bool,
}
