//! PostgreSQL backend: several callbook instances share one database.
//!
//! - De-duplication is global: every insert meets the one unique constraint on
//!   `(source, dedupe_time, dedupe_hash)`, whichever instance receives the redelivery.
//! - Claims use `FOR UPDATE SKIP LOCKED` with leases: a due delivery is attempted by one
//!   instance at a time, and an instance that dies loses its claims when their lease expires.
//! - Every commit is durable by the server's own settings (`synchronous_commit`), so both
//!   [`Durability`](crate::Durability) levels hold without anything from this side.

mod directory;
mod rows;
mod writer;

use crate::Error;
use crate::delivery::DestinationCounts;
use crate::delivery::{
    AttemptRecord, Claimed, Delivery, DeliveryId, DeliveryPage, DeliveryQuery, DestinationState,
    Lease, Outcome, PurgeReport, QueueStats, Replay,
};
use crate::model::{
    DEFAULT_PAGE, EventId, EventPage, EventQuery, InsertOutcome, MAX_PAGE, NewEvent, StoredEvent,
};
use crate::store::Store;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

/// The database's clock in ms: leases are compared with it, so that instances whose clocks
/// disagree still agree on when a lease has expired.
const DB_NOW: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";
use sqlx::Row;
use sqlx::{ConnectOptions, Postgres, QueryBuilder};
use std::str::FromStr;
use std::time::Duration;

/// Options of the PostgreSQL store.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PostgresOptions {
    /// `postgres://user:password@host:port/database?...`
    pub url: String,
    /// Connections in the pool.
    pub max_connections: u32,
    /// Longest a statement may run before the server cancels it.
    pub statement_timeout: Duration,
    /// Longest to wait for a connection: past it, a request fails (503) instead of hanging
    /// while the database is unreachable.
    pub acquire_timeout: Duration,
}

impl PostgresOptions {
    /// Options for a URL, with defaults: 16 connections, 10 s statements, 3 s to connect.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: crate::defaults::PG_MAX_CONNECTIONS,
            statement_timeout: crate::defaults::PG_STATEMENT_TIMEOUT,
            acquire_timeout: crate::defaults::PG_ACQUIRE_TIMEOUT,
        }
    }

    /// Sets the pool size.
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Sets the statement timeout.
    pub fn statement_timeout(mut self, t: Duration) -> Self {
        self.statement_timeout = t;
        self
    }

    /// Sets how long to wait for a connection.
    pub fn acquire_timeout(mut self, t: Duration) -> Self {
        self.acquire_timeout = t;
        self
    }
}

fn migrator() -> sqlx::migrate::Migrator {
    crate::rows::migrator(&[
        (
            1,
            "events",
            include_str!("../../migrations/postgres/0001_events.sql"),
        ),
        (
            2,
            "deliveries",
            include_str!("../../migrations/postgres/0002_deliveries.sql"),
        ),
        (
            3,
            "directory",
            include_str!("../../migrations/postgres/0003_directory.sql"),
        ),
        (
            4,
            "events by type",
            include_str!("../../migrations/postgres/0004_events_by_type.sql"),
        ),
        (
            5,
            "event search",
            include_str!("../../migrations/postgres/0005_event_search.sql"),
        ),
    ])
}

/// The PostgreSQL store.
#[derive(Debug)]
pub struct PostgresStore {
    pool: PgPool,
    writer: std::sync::Mutex<Option<tokio::sync::mpsc::Sender<writer::Job>>>,
}

/// Writer tasks committing insert batches side by side. One measured best (bench/postgres.sh):
/// while its statement is in flight the next batch forms, and fewer, larger statements cost
/// the database less CPU per event than several smaller ones in parallel.
const WRITERS: usize = 1;
/// Most events in one insert batch (a few hundred KiB of SQL parameters).
const MAX_BATCH: usize = 256;

impl PostgresStore {
    /// Connects and migrates (under the migrator's advisory lock, so instances starting
    /// together migrate once).
    pub async fn open(options: PostgresOptions) -> Result<Self, Error> {
        let timeout_ms = options.statement_timeout.as_millis().to_string();
        let connect = PgConnectOptions::from_str(&options.url)?
            .options([("statement_timeout", timeout_ms.as_str())])
            .log_statements(tracing::log::LevelFilter::Trace);
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            // No ping before each use (a round trip per batch): a connection broken by a
            // database restart fails its next statement (a 503, which the sender retries) and
            // is then replaced.
            .test_before_acquire(false)
            .connect_with(connect)
            .await?;
        migrator().run(&pool).await?;
        let writers = WRITERS.min(options.max_connections.max(1) as usize);
        let writer = writer::spawn(pool.clone(), writers, MAX_BATCH);
        Ok(Self {
            pool,
            writer: std::sync::Mutex::new(Some(writer)),
        })
    }

    /// The writer queue, unless the store is closed.
    fn queue(&self) -> Result<tokio::sync::mpsc::Sender<writer::Job>, Error> {
        self.writer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or(Error::Closed)
    }

    /// The connection pool (for tests and tools).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn insert_event(&self, event: NewEvent) -> Result<InsertOutcome, Error> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.queue()?
            .send(writer::Job::Insert { event, reply })
            .await
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    async fn get_event(&self, id: EventId) -> Result<Option<StoredEvent>, Error> {
        let row = sqlx::query(rows::SELECT_FULL)
            .bind(id.as_uuid().as_bytes().as_slice())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| rows::stored_event(&r)).transpose()
    }

    async fn list_events(&self, query: &EventQuery) -> Result<EventPage, Error> {
        let limit = query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let mut qb: QueryBuilder<'_, Postgres> = QueryBuilder::new(rows::SELECT_SUMMARY);
        crate::rows::push_event_filters!(
            qb,
            query,
            " AND id < ",
            "",
            " AND (search_keys && CAST(",
            crate::search::key_array,
            " AS text[])"
        );
        qb.push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(limit) + 1);
        let rows = qb.build().fetch_all(&self.pool).await?;
        let events = rows
            .iter()
            .map(rows::summary)
            .collect::<Result<Vec<_>, _>>()?;
        let (events, next_cursor) = crate::rows::split_page(events, limit, |e| e.id);
        Ok(EventPage {
            events,
            next_cursor,
        })
    }

    async fn ping(&self) -> Result<(), Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn claim(
        &self,
        destination: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Claimed>, Error> {
        // Leases are set and compared with the database's clock, not this instance's:
        // instances whose clocks disagree must still agree on when a lease has expired. Due
        // times were written by callers' clocks, so `now` decides what is due.
        let now_ms = now.timestamp_millis();
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2);
        let token = Lease::new(owner);
        // SKIP LOCKED: instances claiming at the same moment take disjoint rows instead of
        // queueing on each other's locks.
        let rows = sqlx::query(
            "WITH t AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now), \
             due AS ( \
               SELECT id FROM deliveries, t \
               WHERE destination = $1 AND state = 'pending' AND next_attempt_at <= $5 \
                 AND (lease_until IS NULL OR lease_until <= t.now) \
               ORDER BY next_attempt_at LIMIT $2 FOR UPDATE OF deliveries SKIP LOCKED), \
             claimed AS ( \
               UPDATE deliveries d SET lease_owner = $3, lease_until = t.now + $4 \
               FROM due, t WHERE d.id = due.id \
               RETURNING d.id, d.event_id, d.attempts, d.next_attempt_at) \
             SELECT c.id, c.event_id, c.attempts, e.source, e.provider, e.event_type, e.body \
             FROM claimed c JOIN events e ON e.id = c.event_id ORDER BY c.next_attempt_at",
        )
        .bind(destination)
        .bind(i64::from(limit))
        .bind(token.as_str())
        .bind(lease_ms)
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| rows::claimed(row, destination, &token))
            .collect()
    }

    async fn complete(
        &self,
        delivery: DeliveryId,
        lease: &Lease,
        attempt: AttemptRecord,
        outcome: Outcome,
    ) -> Result<(), Error> {
        // Through the writer: concurrent completions commit together, like inserts.
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.queue()?
            .send(writer::Job::Complete {
                delivery,
                lease: lease.clone(),
                attempt,
                outcome,
                reply,
            })
            .await
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    async fn postpone(
        &self,
        delivery: DeliveryId,
        lease: &Lease,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE deliveries SET next_attempt_at = $1, lease_owner = NULL, lease_until = NULL \
             WHERE id = $2 AND lease_owner = $3",
        )
        .bind(at.timestamp_millis())
        .bind(delivery.as_uuid().as_bytes().as_slice())
        .bind(lease.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_deliveries(&self, query: &DeliveryQuery) -> Result<DeliveryPage, Error> {
        let limit = query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let mut qb: QueryBuilder<'_, Postgres> = QueryBuilder::new(crate::rows::SELECT_DELIVERY);
        crate::rows::push_delivery_filters!(qb, query, " AND id < ", "");
        qb.push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(limit) + 1);
        let rows = qb.build().fetch_all(&self.pool).await?;
        let deliveries = rows
            .iter()
            .map(rows::delivery)
            .collect::<Result<Vec<_>, _>>()?;
        let (deliveries, next_cursor) = crate::rows::split_page(deliveries, limit, |d| d.id);
        Ok(DeliveryPage {
            deliveries,
            next_cursor,
        })
    }

    async fn get_delivery(
        &self,
        id: DeliveryId,
    ) -> Result<Option<(Delivery, Vec<AttemptRecord>)>, Error> {
        let key = id.as_uuid().into_bytes();
        let Some(row) = sqlx::query(&format!("{} WHERE id = $1", crate::rows::SELECT_DELIVERY))
            .bind(key.as_slice())
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let attempts = sqlx::query(
            "SELECT attempted_at, status_code, latency_ms, error, response_excerpt FROM attempts \
             WHERE delivery_id = $1 ORDER BY seq",
        )
        .bind(key.as_slice())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(rows::attempt)
        .collect::<Result<Vec<_>, _>>()?;
        Ok(Some((rows::delivery(&row)?, attempts)))
    }

    async fn retry_delivery(&self, id: DeliveryId, now: DateTime<Utc>) -> Result<bool, Error> {
        let done = sqlx::query(&format!(
            "UPDATE deliveries SET {}, state = 'pending', next_attempt_at = $1, updated_at = $1 \
             WHERE id = $2",
            crate::delivery::take_over_leases(DB_NOW)
        ))
        .bind(now.timestamp_millis())
        .bind(id.as_uuid().as_bytes().as_slice())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn replay(
        &self,
        destination: &str,
        what: Replay,
        now: DateTime<Utc>,
    ) -> Result<u64, Error> {
        let now = now.timestamp_millis();
        let mut tx = self.pool.begin().await?;
        let count = match what {
            Replay::Dead => sqlx::query(
                "UPDATE deliveries SET state = 'pending', next_attempt_at = $1, \
                 lease_owner = NULL, lease_until = NULL, updated_at = $1 \
                 WHERE destination = $2 AND state = 'dead'",
            )
            .bind(now)
            .bind(destination)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
            Replay::Range {
                since,
                until,
                filter,
            } => {
                let (since, until) = (since.timestamp_millis(), until.timestamp_millis());
                // Filtered here with the engine's own matcher: event-type globs do not
                // translate to SQL patterns exactly.
                let existing: Vec<(Vec<u8>, String, Option<String>)> = sqlx::query_as(
                    "SELECT d.id, e.source, e.event_type FROM deliveries d \
                     JOIN events e ON e.id = d.event_id WHERE d.destination = $1 \
                     AND e.received_at >= $2 AND e.received_at < $3",
                )
                .bind(destination)
                .bind(since)
                .bind(until)
                .fetch_all(&mut *tx)
                .await?;
                let ids: Vec<Vec<u8>> = existing
                    .into_iter()
                    .filter(|(_, source, event_type)| filter.matches(source, event_type.as_deref()))
                    .map(|(id, _, _)| id)
                    .collect();
                let rescheduled = sqlx::query(&format!(
                    "UPDATE deliveries SET {}, state = 'pending', next_attempt_at = $1, \
                     updated_at = $1 WHERE id = ANY($2)",
                    crate::delivery::take_over_leases(DB_NOW)
                ))
                .bind(now)
                .bind(&ids)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                // Events received before the destination existed get a delivery now.
                let missing: Vec<(Vec<u8>, String, Option<String>)> = sqlx::query_as(
                    "SELECT id, source, event_type FROM events WHERE received_at >= $1 \
                     AND received_at < $2 AND NOT EXISTS (SELECT 1 FROM deliveries d \
                       WHERE d.event_id = events.id AND d.destination = $3)",
                )
                .bind(since)
                .bind(until)
                .bind(destination)
                .fetch_all(&mut *tx)
                .await?;
                let missing: Vec<Vec<u8>> = missing
                    .into_iter()
                    .filter(|(_, source, event_type)| filter.matches(source, event_type.as_deref()))
                    .map(|(id, _, _)| id)
                    .collect();
                let mut created = 0;
                for chunk in missing.chunks(1000) {
                    let mut insert: QueryBuilder<'_, Postgres> = QueryBuilder::new(
                        "INSERT INTO deliveries (id, event_id, destination, state, attempts, \
                         next_attempt_at, created_at, updated_at) ",
                    );
                    insert.push_values(chunk, |mut b, event| {
                        b.push_bind(DeliveryId::new().as_uuid().as_bytes().to_vec())
                            .push_bind(event.as_slice())
                            .push_bind(destination)
                            .push_bind("pending")
                            .push_bind(0i64)
                            .push_bind(now)
                            .push_bind(now)
                            .push_bind(now);
                    });
                    insert.push(" ON CONFLICT (event_id, destination) DO NOTHING");
                    created += insert.build().execute(&mut *tx).await?.rows_affected();
                }
                rescheduled + created
            }
        };
        tx.commit().await?;
        Ok(count)
    }

    async fn set_destination_disabled(
        &self,
        name: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO destination_state (name, disabled_at, reason) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET disabled_at = excluded.disabled_at, \
             reason = excluded.reason",
        )
        .bind(name)
        .bind(reason.is_some().then(|| now.timestamp_millis()))
        .bind(reason)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn destination_states(&self) -> Result<Vec<DestinationState>, Error> {
        sqlx::query("SELECT name, disabled_at, reason FROM destination_state ORDER BY name")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(rows::destination_state)
            .collect()
    }

    async fn destination_counts(&self, destination: &str) -> Result<DestinationCounts, Error> {
        let row = sqlx::query(crate::delivery::DESTINATION_COUNTS)
            .bind(destination)
            .fetch_one(&self.pool)
            .await?;
        let n = |c: &str| -> Result<u64, Error> {
            Ok(u64::try_from(row.try_get::<i64, _>(c)?).unwrap_or(0))
        };
        Ok(DestinationCounts {
            succeeded: n("succeeded")?,
            pending: n("pending")?,
            retrying: n("retrying")?,
            dead: n("dead")?,
        })
    }

    async fn queue_stats(&self, now: DateTime<Utc>) -> Result<Vec<QueueStats>, Error> {
        sqlx::query(
            "SELECT destination, \
               COUNT(*) FILTER (WHERE state = 'pending') AS pending, \
               COUNT(*) FILTER (WHERE state = 'pending' AND next_attempt_at <= $1) AS due, \
               MIN(next_attempt_at) FILTER (WHERE state = 'pending' AND next_attempt_at <= $1) \
                 AS oldest_due, \
               COUNT(*) FILTER (WHERE state = 'dead') AS dead \
             FROM deliveries WHERE state <> 'succeeded' GROUP BY destination ORDER BY destination",
        )
        .bind(now.timestamp_millis())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(rows::queue_stats)
        .collect()
    }

    async fn purge(&self, cutoff: DateTime<Utc>) -> Result<PurgeReport, Error> {
        let cutoff = cutoff.timestamp_millis();
        let mut tx = self.pool.begin().await?;
        let attempts = sqlx::query(
            "DELETE FROM attempts WHERE delivery_id IN (SELECT d.id FROM deliveries d \
             JOIN events e ON e.id = d.event_id WHERE e.received_at < $1)",
        )
        .bind(cutoff)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let deliveries = sqlx::query(
            "DELETE FROM deliveries WHERE event_id IN \
             (SELECT id FROM events WHERE received_at < $1)",
        )
        .bind(cutoff)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let events = sqlx::query("DELETE FROM events WHERE received_at < $1")
            .bind(cutoff)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(crate::directory::PURGE_EVENT_MARKS)
            .bind(cutoff)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        // Autovacuum returns the space; nothing to do here.
        Ok(PurgeReport {
            events,
            deliveries,
            attempts,
        })
    }

    async fn close(&self) {
        // Writers finish what is queued, then stop when the queue closes.
        self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        self.pool.close().await;
    }
}
