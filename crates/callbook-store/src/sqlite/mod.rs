//! SQLite backend: one file in WAL mode, every write through one writer task that commits
//! concurrent inserts together (group commit), reads from a small pool.

mod rows;
mod writer;

use crate::Error;
use crate::model::{
    DEFAULT_PAGE, EventId, EventPage, EventQuery, InsertOutcome, MAX_PAGE, NewEvent, StoredEvent,
};
use crate::store::Store;
use async_trait::async_trait;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, QueryBuilder, Sqlite};
use std::borrow::Cow;
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
    let migration = |version, description: &'static str, sql: &'static str| {
        Migration::new(
            version,
            Cow::Borrowed(description),
            MigrationType::Simple,
            Cow::Borrowed(sql),
            false,
        )
    };
    Migrator {
        migrations: Cow::Owned(vec![migration(
            1,
            "events",
            include_str!("../../migrations/sqlite/0001_events.sql"),
        )]),
        ..Migrator::DEFAULT
    }
}

/// The SQLite store.
#[derive(Debug)]
pub struct SqliteStore {
    readers: SqlitePool,
    writer: mpsc::Sender<writer::Job>,
    writer_done: tokio::sync::Mutex<Option<oneshot::Receiver<()>>>,
    stop_checkpoints: Arc<tokio::sync::Notify>,
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
        tokio::spawn(writer::run(conn, rx, options.max_batch.max(1), done_tx));
        let stop = Arc::new(tokio::sync::Notify::new());
        tokio::spawn(checkpoint_loop(checkpointer, stop.clone()));
        Ok(Self {
            readers,
            writer: tx,
            writer_done: tokio::sync::Mutex::new(Some(done_rx)),
            stop_checkpoints: stop,
            path: options.path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
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
        qb.push(" WHERE 1=1");
        if let Some(source) = &query.source {
            qb.push(" AND source = ").push_bind(source.clone());
        }
        if let Some(provider) = query.provider {
            qb.push(" AND provider = ").push_bind(provider.as_str());
        }
        if let Some(event_type) = &query.event_type {
            qb.push(" AND event_type = ").push_bind(event_type.clone());
        }
        if let Some(since) = query.since {
            qb.push(" AND received_at >= ")
                .push_bind(since.timestamp_millis());
        }
        if let Some(until) = query.until {
            qb.push(" AND received_at < ")
                .push_bind(until.timestamp_millis());
        }
        if let Some(before) = query.before {
            qb.push(" AND seq < (SELECT seq FROM events WHERE id = ")
                .push_bind(before.as_uuid().as_bytes().to_vec())
                .push(")");
        }
        // One extra row tells whether another page exists.
        qb.push(" ORDER BY seq DESC LIMIT ")
            .push_bind(i64::from(limit) + 1);
        let rows = qb.build().fetch_all(&self.readers).await?;
        let mut events = rows
            .iter()
            .map(rows::summary)
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if events.len() > limit as usize {
            events.truncate(limit as usize);
            events.last().map(|e| e.id)
        } else {
            None
        };
        Ok(EventPage {
            events,
            next_cursor,
        })
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
        self.stop_checkpoints.notify_one();
    }
}
