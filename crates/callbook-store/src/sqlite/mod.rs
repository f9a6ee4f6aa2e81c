//! SQLite backend: one file in WAL mode, every write through one writer task that commits
//! concurrent inserts together (group commit), reads from a small pool.

mod rows;
mod writer;

use crate::Error;
use crate::delivery::{
    AttemptRecord, Claimed, Delivery, DeliveryId, DeliveryPage, DeliveryQuery, DestinationState,
    Outcome, PurgeReport, QueueStats, Replay,
};
use crate::model::{
    DEFAULT_PAGE, EventId, EventPage, EventQuery, InsertOutcome, MAX_PAGE, NewEvent, StoredEvent,
};
use crate::store::Store;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, QueryBuilder, Sqlite};
use sqlx::{Connection, Row};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How much a committed write survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// Survives a crash or `kill -9` of the process (WAL, `synchronous=NORMAL`): the commit
    /// is in the operating system before the insert returns. The default.
    #[default]
    Process,
    /// Also survives power loss (`synchronous=FULL`): every commit is fsynced. Group commit
    /// keeps this to one fsync per batch, not per event.
    PowerLoss,
}

/// Options of the SQLite store.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// The database file.
    pub path: PathBuf,
    /// Durability level.
    pub durability: Durability,
    /// Reader connections.
    pub read_connections: u32,
    /// Most inserts committed in one transaction.
    pub max_batch: usize,
}

impl SqliteOptions {
    /// Options for a file, with defaults.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            durability: Durability::Process,
            read_connections: 4,
            max_batch: 256,
        }
    }

    /// Parses `sqlite://PATH` or `sqlite:PATH` (query parameters are ignored).
    pub fn from_url(url: &str) -> Result<Self, Error> {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| Error::UnsupportedUrl(url.to_owned()))?;
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() || path == ":memory:" {
            // An in-memory database would lose every acknowledged event on restart.
            return Err(Error::UnsupportedUrl(url.to_owned()));
        }
        Ok(Self::new(path))
    }

    /// Sets the durability level.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }
}

fn migrator() -> Migrator {
    crate::rows::migrator(&[
        (
            1,
            "events",
            include_str!("../../migrations/sqlite/0001_events.sql"),
        ),
        (
            2,
            "deliveries",
            include_str!("../../migrations/sqlite/0002_deliveries.sql"),
        ),
    ])
}

/// The SQLite store.
#[derive(Debug)]
pub struct SqliteStore {
    readers: SqlitePool,
    writer: mpsc::Sender<writer::Job>,
    writer_done: tokio::sync::Mutex<Option<oneshot::Receiver<()>>>,
    stop_checkpoints: Arc<tokio::sync::Notify>,
    checkpoints: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    path: PathBuf,
}

/// Copies committed WAL frames into the database file in the background. `PASSIVE` never
/// blocks the writer or readers, but under continuous writes it never catches up with the end
/// of the WAL, so the WAL would grow without bound; once it is large, a `RESTART` checkpoint
/// (which briefly waits for the writer, and is quick because most frames are already copied)
/// lets the next commit start the WAL from its beginning.
async fn checkpoint_loop(mut conn: sqlx::SqliteConnection, stop: Arc<tokio::sync::Notify>) {
    use sqlx::{Connection, Row};
    /// 4096 frames of 16 KiB: 64 MiB of WAL.
    const RESTART_AFTER_FRAMES: i64 = 4096;
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.notified() => break,
        }
        match sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&mut conn)
            .await
        {
            Ok(row) => {
                let log_frames: i64 = row.try_get(1).unwrap_or(0);
                if log_frames > RESTART_AFTER_FRAMES {
                    if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(RESTART)")
                        .execute(&mut conn)
                        .await
                    {
                        tracing::warn!(error = %e, "WAL restart checkpoint failed");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
        }
    }
    // A last full checkpoint leaves a compact database file behind.
    let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database, and starts the writer.
    pub async fn open(options: SqliteOptions) -> Result<Self, Error> {
        let connect = SqliteConnectOptions::from_str("sqlite://")?
            .filename(&options.path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match options.durability {
                Durability::Process => SqliteSynchronous::Normal,
                Durability::PowerLoss => SqliteSynchronous::Full,
            })
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // Event rows are about 2 KiB: 16 KiB pages hold several, so a batch dirties fewer
            // pages (applies when the file is created).
            .page_size(16384)
            // Frees pages on delete a little at a time (retention purges really shrink the file).
            .auto_vacuum(sqlx::sqlite::SqliteAutoVacuum::Incremental)
            .log_statements(tracing::log::LevelFilter::Trace);

        // The writer does not checkpoint on its own (only as a backstop far beyond normal):
        // a checkpoint copies the WAL into the database file and fsyncs it, which would stall
        // every request waiting on that commit. A background task checkpoints instead.
        let mut conn = connect
            .clone()
            .pragma("wal_autocheckpoint", "20000")
            .connect()
            .await?;
        migrator().run_direct(&mut conn).await?;
        let checkpointer = connect
            .clone()
            .pragma("wal_autocheckpoint", "0")
            .connect()
            .await?;

        let readers = SqlitePoolOptions::new()
            .max_connections(options.read_connections.max(1))
            .connect_with(connect.clone().pragma("query_only", "true"))
            .await?;

        let (tx, rx) = mpsc::channel(options.max_batch.max(1) * 16);
        let (done_tx, done_rx) = oneshot::channel();
        // With commits that cost CPU rather than waiting (no fsync), gathering a fuller batch
        // first writes far fewer bytes per event. With an fsync per commit, the batch fills
        // during the fsync anyway, and waiting longer only adds latency.
        let gather = match options.durability {
            Durability::Process => Duration::from_millis(2),
            Durability::PowerLoss => Duration::ZERO,
        };
        tokio::spawn(writer::run(
            conn,
            rx,
            options.max_batch.max(1),
            gather,
            done_tx,
        ));
        let stop = Arc::new(tokio::sync::Notify::new());
        let checkpoints = tokio::spawn(checkpoint_loop(checkpointer, stop.clone()));
        Ok(Self {
            readers,
            writer: tx,
            writer_done: tokio::sync::Mutex::new(Some(done_rx)),
            stop_checkpoints: stop,
            checkpoints: tokio::sync::Mutex::new(Some(checkpoints)),
            path: options.path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs a write in the writer task (SQLite has one writer; queuing keeps order and avoids
    /// lock contention).
    async fn write<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, Error>>
            + Send
            + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let task: writer::Task = Box::new(move |conn| {
            Box::pin(async move {
                let _ = reply.send(f(conn).await);
            })
        });
        self.writer
            .send(writer::Job::Run(task))
            .await
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert_event(&self, event: NewEvent) -> Result<InsertOutcome, Error> {
        let (reply, rx) = oneshot::channel();
        self.writer
            .send(writer::Job::Insert { event, reply })
            .await
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    async fn get_event(&self, id: EventId) -> Result<Option<StoredEvent>, Error> {
        let row = sqlx::query(rows::SELECT_FULL)
            .bind(id.as_uuid().as_bytes().as_slice())
            .fetch_optional(&self.readers)
            .await?;
        row.map(|r| rows::stored_event(&r)).transpose()
    }

    async fn list_events(&self, query: &EventQuery) -> Result<EventPage, Error> {
        let limit = query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let mut qb: QueryBuilder<'_, Sqlite> = QueryBuilder::new(rows::SELECT_SUMMARY);
        crate::rows::push_event_filters!(
            qb,
            query,
            " AND seq < (SELECT seq FROM events WHERE id = ",
            ")"
        );
        // One extra row tells whether another page exists.
        qb.push(" ORDER BY seq DESC LIMIT ")
            .push_bind(i64::from(limit) + 1);
        let rows = qb.build().fetch_all(&self.readers).await?;
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

    async fn claim(
        &self,
        destination: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Claimed>, Error> {
        let (destination, owner) = (destination.to_owned(), owner.to_owned());
        let now_ms = now.timestamp_millis();
        let until = now_ms + i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2);
        self.write(move |conn| {
            Box::pin(async move {
                // One writer: nothing can claim between this SELECT and the UPDATE below.
                let mut tx = conn.begin().await?;
                let rows = sqlx::query(
                    "SELECT d.id, d.event_id, d.attempts, e.source, e.provider, e.event_type, \
                     e.body FROM deliveries d JOIN events e ON e.id = d.event_id \
                     WHERE d.destination = ? AND d.state = 'pending' AND d.next_attempt_at <= ? \
                     AND (d.lease_until IS NULL OR d.lease_until <= ?) \
                     ORDER BY d.next_attempt_at LIMIT ?",
                )
                .bind(&destination)
                .bind(now_ms)
                .bind(now_ms)
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await?;
                if rows.is_empty() {
                    tx.commit().await?;
                    return Ok(Vec::new());
                }
                let mut claimed = Vec::with_capacity(rows.len());
                let mut lease: QueryBuilder<'_, Sqlite> =
                    QueryBuilder::new("UPDATE deliveries SET lease_owner = ");
                lease
                    .push_bind(&owner)
                    .push(", lease_until = ")
                    .push_bind(until);
                lease.push(" WHERE id IN (");
                let mut ids = lease.separated(", ");
                for row in &rows {
                    claimed.push(rows::claimed(row, &destination)?);
                    let id: Vec<u8> = row.try_get("id")?;
                    ids.push_bind(id);
                }
                lease.push(")");
                lease.build().execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(claimed)
            })
        })
        .await
    }

    async fn complete(
        &self,
        delivery: DeliveryId,
        attempt: AttemptRecord,
        outcome: Outcome,
    ) -> Result<(), Error> {
        let (reply, rx) = oneshot::channel();
        let job = writer::Completion {
            delivery,
            attempt,
            outcome,
            reply,
        };
        self.writer
            .send(writer::Job::Complete(job))
            .await
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    async fn postpone(&self, delivery: DeliveryId, at: DateTime<Utc>) -> Result<(), Error> {
        let id = delivery.as_uuid().into_bytes();
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE deliveries SET next_attempt_at = ?, lease_owner = NULL, \
                     lease_until = NULL WHERE id = ?",
                )
                .bind(at.timestamp_millis())
                .bind(id.as_slice())
                .execute(conn)
                .await?;
                Ok(())
            })
        })
        .await
    }

    async fn list_deliveries(&self, query: &DeliveryQuery) -> Result<DeliveryPage, Error> {
        let limit = query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let mut qb: QueryBuilder<'_, Sqlite> = QueryBuilder::new(rows::SELECT_DELIVERY);
        crate::rows::push_delivery_filters!(
            qb,
            query,
            " AND seq < (SELECT seq FROM deliveries WHERE id = ",
            ")"
        );
        qb.push(" ORDER BY seq DESC LIMIT ")
            .push_bind(i64::from(limit) + 1);
        let rows = qb.build().fetch_all(&self.readers).await?;
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
        let Some(row) = sqlx::query(&format!("{} WHERE id = ?", rows::SELECT_DELIVERY))
            .bind(key.as_slice())
            .fetch_optional(&self.readers)
            .await?
        else {
            return Ok(None);
        };
        let attempts = sqlx::query(
            "SELECT attempted_at, status_code, latency_ms, error, response_excerpt FROM attempts \
             WHERE delivery_id = ? ORDER BY seq",
        )
        .bind(key.as_slice())
        .fetch_all(&self.readers)
        .await?
        .iter()
        .map(rows::attempt)
        .collect::<Result<Vec<_>, _>>()?;
        Ok(Some((rows::delivery(&row)?, attempts)))
    }

    async fn retry_delivery(&self, id: DeliveryId, now: DateTime<Utc>) -> Result<bool, Error> {
        let key = id.as_uuid().into_bytes();
        self.write(move |conn| {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE deliveries SET state = 'pending', next_attempt_at = ?, \
                     lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ?",
                )
                .bind(now.timestamp_millis())
                .bind(now.timestamp_millis())
                .bind(key.as_slice())
                .execute(conn)
                .await?;
                Ok(done.rows_affected() > 0)
            })
        })
        .await
    }

    async fn replay(
        &self,
        destination: &str,
        what: Replay,
        now: DateTime<Utc>,
    ) -> Result<u64, Error> {
        let destination = destination.to_owned();
        let now = now.timestamp_millis();
        self.write(move |conn| {
            Box::pin(async move {
                let mut tx = conn.begin().await?;
                let count = match what {
                    Replay::Dead => sqlx::query(
                        "UPDATE deliveries SET state = 'pending', next_attempt_at = ?, \
                             lease_owner = NULL, lease_until = NULL, updated_at = ? \
                             WHERE destination = ? AND state = 'dead'",
                    )
                    .bind(now)
                    .bind(now)
                    .bind(&destination)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected(),
                    Replay::Range { since, until } => {
                        let (since, until) = (since.timestamp_millis(), until.timestamp_millis());
                        let rescheduled = sqlx::query(
                            "UPDATE deliveries SET state = 'pending', next_attempt_at = ?, \
                             lease_owner = NULL, lease_until = NULL, updated_at = ? \
                             WHERE destination = ? AND event_id IN \
                             (SELECT id FROM events WHERE received_at >= ? AND received_at < ?)",
                        )
                        .bind(now)
                        .bind(now)
                        .bind(&destination)
                        .bind(since)
                        .bind(until)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                        // Events received before the destination existed get a delivery now.
                        let mut created = 0;
                        let missing = sqlx::query(
                            "SELECT id FROM events WHERE received_at >= ? AND received_at < ? \
                             AND NOT EXISTS (SELECT 1 FROM deliveries d \
                               WHERE d.event_id = events.id AND d.destination = ?)",
                        )
                        .bind(since)
                        .bind(until)
                        .bind(&destination)
                        .fetch_all(&mut *tx)
                        .await?;
                        for row in missing {
                            let event: Vec<u8> = row.try_get("id")?;
                            sqlx::query(
                                "INSERT INTO deliveries (id, event_id, destination, state, \
                                 attempts, next_attempt_at, created_at, updated_at) \
                                 VALUES (?, ?, ?, 'pending', 0, ?, ?, ?)",
                            )
                            .bind(DeliveryId::new().as_uuid().as_bytes().to_vec())
                            .bind(event)
                            .bind(&destination)
                            .bind(now)
                            .bind(now)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                            created += 1;
                        }
                        rescheduled + created
                    }
                };
                tx.commit().await?;
                Ok(count)
            })
        })
        .await
    }

    async fn set_destination_disabled(
        &self,
        name: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let (name, reason) = (name.to_owned(), reason.map(str::to_owned));
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO destination_state (name, disabled_at, reason) VALUES (?, ?, ?) \
                     ON CONFLICT (name) DO UPDATE SET disabled_at = excluded.disabled_at, \
                     reason = excluded.reason",
                )
                .bind(&name)
                .bind(reason.is_some().then(|| now.timestamp_millis()))
                .bind(&reason)
                .execute(conn)
                .await?;
                Ok(())
            })
        })
        .await
    }

    async fn destination_states(&self) -> Result<Vec<DestinationState>, Error> {
        sqlx::query("SELECT name, disabled_at, reason FROM destination_state ORDER BY name")
            .fetch_all(&self.readers)
            .await?
            .iter()
            .map(rows::destination_state)
            .collect()
    }

    async fn queue_stats(&self, now: DateTime<Utc>) -> Result<Vec<QueueStats>, Error> {
        let now = now.timestamp_millis();
        sqlx::query(
            "SELECT destination, \
               SUM(state = 'pending') AS pending, \
               SUM(state = 'pending' AND next_attempt_at <= ?) AS due, \
               MIN(CASE WHEN state = 'pending' AND next_attempt_at <= ? \
                   THEN next_attempt_at END) AS oldest_due, \
               SUM(state = 'dead') AS dead \
             FROM deliveries WHERE state != 'succeeded' GROUP BY destination ORDER BY destination",
        )
        .bind(now)
        .bind(now)
        .fetch_all(&self.readers)
        .await?
        .iter()
        .map(rows::queue_stats)
        .collect()
    }

    async fn purge(&self, cutoff: DateTime<Utc>) -> Result<PurgeReport, Error> {
        let cutoff = cutoff.timestamp_millis();
        self.write(move |conn| {
            Box::pin(async move {
                let mut tx = conn.begin().await?;
                let attempts = sqlx::query(
                    "DELETE FROM attempts WHERE delivery_id IN (SELECT d.id FROM deliveries d \
                     JOIN events e ON e.id = d.event_id WHERE e.received_at < ?)",
                )
                .bind(cutoff)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let deliveries = sqlx::query(
                    "DELETE FROM deliveries WHERE event_id IN \
                     (SELECT id FROM events WHERE received_at < ?)",
                )
                .bind(cutoff)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let events = sqlx::query("DELETE FROM events WHERE received_at < ?")
                    .bind(cutoff)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                // Return the freed pages to the file system (auto_vacuum = incremental).
                sqlx::query("PRAGMA incremental_vacuum")
                    .execute(&mut *conn)
                    .await?;
                Ok(PurgeReport {
                    events,
                    deliveries,
                    attempts,
                })
            })
        })
        .await
    }

    async fn ping(&self) -> Result<(), Error> {
        sqlx::query("SELECT 1").execute(&self.readers).await?;
        Ok(())
    }

    async fn close(&self) {
        // Closing the channel lets the writer finish the jobs already queued, then stop.
        let _ = self.writer.send(writer::Job::Shutdown).await;
        if let Some(done) = self.writer_done.lock().await.take() {
            let _ = done.await;
        }
        self.readers.close().await;
        // The last checkpoint folds the WAL into the database file before close returns.
        self.stop_checkpoints.notify_one();
        if let Some(task) = self.checkpoints.lock().await.take() {
            let _ = task.await;
        }
    }
}
