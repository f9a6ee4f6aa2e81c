//! The storage boundary. The server talks to this trait only, so the SQLite and PostgreSQL
//! backends are interchangeable.

use crate::Error;
use crate::model::{EventId, EventPage, EventQuery, InsertOutcome, NewEvent, StoredEvent};
use async_trait::async_trait;

/// A durable event store.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores an event, or finds the one already stored under the same source and
    /// de-duplication key. When this returns `Ok`, the event is durable at the configured level.
    async fn insert_event(&self, event: NewEvent) -> Result<InsertOutcome, Error>;

    /// One event with its body.
    async fn get_event(&self, id: EventId) -> Result<Option<StoredEvent>, Error>;

    /// Events, newest first.
    async fn list_events(&self, query: &EventQuery) -> Result<EventPage, Error>;

    /// Whether the database answers.
    async fn ping(&self) -> Result<(), Error>;

    /// Flushes pending writes and closes connections.
    async fn close(&self);
}
