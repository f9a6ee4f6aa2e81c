//! SQLite backend: one file in WAL mode, every write through one writer thread that commits
//! concurrent inserts together (group commit), reads from a small pool. In process durability
//! small batches go through the intake log first (see `intake`).

mod directory;
mod intake;
mod intake_log;
#[cfg(feature = "fuzzing")]
pub(crate) mod fuzzing {
    //! The intake log's reader, for `crate::fuzzing`.
    pub(crate) use super::intake_log::{fuzz_read as read_intake_log, sample as sample_intake_log};
}
mod recent;
mod rows;
mod writer;
mod yielding;

pub use crate::Durability;
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
use rusqlite::params;
use sqlx::Connection;
use sqlx::Row;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, QueryBuilder, Sqlite};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

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
    /// Whether writes are acknowledged once appended to the intake log (`<database>-intake`)
    /// and applied to the database together a few milliseconds later, instead of each batch
    /// paying a commit (see the crate's README). Only in
    /// [`Durability::Process`], where both survive `kill -9` alike; on by default. A log left
    /// by a crash is applied at open either way.
    pub intake_log: bool,
    /// Most bytes of acknowledged writes that may wait in the intake log (and in memory) for
    /// the database; beyond, new events fail with [`Error::Backlog`] until the writer catches
    /// up (a stalled disk, say). Default 32 MiB.
    pub intake_max_pending_bytes: u64,
}

impl SqliteOptions {
    /// Options for a file, with defaults.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            durability: Durability::Process,
            read_connections: 4,
            max_batch: 256,
            intake_log: true,
            intake_max_pending_bytes: crate::defaults::INTAKE_MAX_PENDING_BYTES,
        }
    }

    /// Sets [`Self::intake_max_pending_bytes`].
    pub fn intake_max_pending_bytes(mut self, bytes: u64) -> Self {
        self.intake_max_pending_bytes = bytes.max(1);
        self
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

    /// Turns the intake log on or off (it is on by default, in process durability only).
    pub fn intake_log(mut self, on: bool) -> Self {
        self.intake_log = on;
        self
    }
}

/// The schema's migrations, in order. A database records the ones it ran, and a build that
/// finds one it does not know refuses the database: what keeps an older build from opening
/// a database whose intake log it would misread (migration 8).
const MIGRATIONS: [(i64, &str, &str); 8] = [
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
    (
        3,
        "deliveries by id",
        include_str!("../../migrations/sqlite/0003_deliveries_by_id.sql"),
    ),
    (
        4,
        "intake",
        include_str!("../../migrations/sqlite/0004_intake.sql"),
    ),
    (
        5,
        "directory",
        include_str!("../../migrations/sqlite/0005_directory.sql"),
    ),
    (
        6,
        "events by type",
        include_str!("../../migrations/sqlite/0006_events_by_type.sql"),
    ),
    (
        7,
        "event search",
        include_str!("../../migrations/sqlite/0007_event_search.sql"),
    ),
    (
        8,
        "intake log in two files",
        include_str!("../../migrations/sqlite/0008_intake_two_files.sql"),
    ),
];

fn migrator() -> Migrator {
    crate::rows::migrator(&MIGRATIONS)
}

/// The SQLite store.
#[derive(Debug)]
pub struct SqliteStore {
    readers: SqlitePool,
    writer: mpsc::Sender<writer::Job>,
    writer_done: tokio::sync::Mutex<Option<oneshot::Receiver<()>>>,
    /// Whether acknowledged writes may wait in the intake log (reads apply them first).
    intake_log: bool,
    intake_gauges: std::sync::Arc<intake::Gauges>,
    /// Where callers record their writes when the intake log is on.
    intake: Option<std::sync::Arc<intake::Shared>>,
    checkpoints: tokio::sync::Mutex<Option<Checkpointer>>,
    path: PathBuf,
    /// The database file, locked (`flock`) for as long as the store is open: one process at
    /// a time writes its intake log.
    lock: std::sync::Mutex<Option<std::fs::File>>,
}

/// Copies committed WAL frames into the database file in the background, on a thread of its
/// own. `PASSIVE` never blocks the writer or readers, but under continuous writes it never
/// catches up with the end of the WAL, so the WAL would grow without bound; once it is large,
/// a `RESTART` checkpoint lets the next commit start the WAL from its beginning. `RESTART`
/// holds the writer while it copies what is left and syncs both files, so everything that can
/// be done without holding it is done first.
fn checkpoint_loop(
    conn: &rusqlite::Connection,
    files: &DatabaseFiles,
    interval: Duration,
    restart_after_frames: i64,
    stop: &std::sync::mpsc::Receiver<()>,
) {
    /// Frames a `RESTART` may be left to copy.
    const RESTART_BACKLOG: i64 = 64;
    let catch_up = |mut round: Option<(i64, i64)>| {
        for _ in 0..8 {
            match round {
                Some((log, copied)) if log - copied > RESTART_BACKLOG => {
                    round = passive_checkpoint(conn);
                }
                _ => break,
            }
        }
    };
    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(interval) {
        let round = passive_checkpoint(conn);
        if matches!(round, Some((log, _)) if log > restart_after_frames) {
            catch_up(round);
            // `PASSIVE` rounds that never reach the end of the WAL never sync the database
            // file, so the `RESTART` would flush every page copied since the last one while
            // holding the writer: tens of milliseconds of stalled commits on this disk.
            // Flushing them here first leaves it a few pages.
            sync(&files.database, "database");
            // That sync takes long enough for new commits to need copying; a second, short
            // round leaves the `RESTART` only what arrives during it.
            catch_up(passive_checkpoint(conn));
            sync(&files.database, "database");
            catch_up(passive_checkpoint(conn));
            // Likewise the WAL, which the `RESTART` syncs before copying.
            sync(&files.wal, "WAL");
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(())) {
                tracing::warn!(error = %e, "WAL restart checkpoint failed");
            }
        }
    }
    // A last full checkpoint leaves a compact database file behind.
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
}

/// The database file and its WAL, which the checkpoint thread syncs ahead of SQLite.
struct DatabaseFiles {
    database: PathBuf,
    wal: PathBuf,
}

fn sync(path: &Path, what: &str) {
    if let Err(e) = std::fs::File::open(path).and_then(|f| f.sync_data()) {
        tracing::warn!(error = %e, file = what, "syncing ahead of a WAL restart failed");
    }
}

/// One `PASSIVE` checkpoint: frames in the WAL and frames copied, or `None` if it failed.
fn passive_checkpoint(conn: &rusqlite::Connection) -> Option<(i64, i64)> {
    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get(1)?, row.get(2)?))
    }) {
        Ok(frames) => Some(frames),
        Err(e) => {
            tracing::warn!(error = %e, "WAL checkpoint failed");
            None
        }
    }
}

/// The checkpointer thread, and how to stop it.
#[derive(Debug)]
struct Checkpointer {
    stop: std::sync::mpsc::Sender<()>,
    done: oneshot::Receiver<()>,
}

impl Checkpointer {
    fn spawn(
        conn: rusqlite::Connection,
        database: &Path,
        interval: Duration,
        restart_after_frames: i64,
    ) -> std::io::Result<Self> {
        let mut wal = database.as_os_str().to_owned();
        wal.push("-wal");
        let files = DatabaseFiles {
            database: database.to_owned(),
            wal: PathBuf::from(wal),
        };
        let (stop, stopped) = std::sync::mpsc::channel();
        let (done_tx, done) = oneshot::channel();
        std::thread::Builder::new()
            .name("callbook-sqlite-checkpoints".into())
            .spawn(move || {
                checkpoint_loop(&conn, &files, interval, restart_after_frames, &stopped);
                drop(conn);
                let _ = done_tx.send(());
            })?;
        Ok(Self { stop, done })
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.done.await;
    }
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database, and starts the writer.
    pub async fn open(options: SqliteOptions) -> Result<Self, Error> {
        private_files(&options.path)?;
        let lock = lock_database(&options.path)?;
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
            .page_size(PAGE_SIZE as u32)
            // Frees pages on delete a little at a time (retention purges really shrink the file).
            .auto_vacuum(sqlx::sqlite::SqliteAutoVacuum::Incremental)
            .log_statements(tracing::log::LevelFilter::Trace);

        // Creates the file (page size, WAL, incremental vacuum) and migrates it.
        let mut conn = connect.clone().connect().await?;
        migrator().run_direct(&mut conn).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(options.read_connections.max(1))
            .connect_with(connect.clone().pragma("query_only", "true"))
            .await?;

        // Migrations ran on this connection; the writer thread opens its own.
        let _ = conn.close().await;
        let writer_conn = open_connection(&options, true)?;

        let (tx, rx) = mpsc::channel(options.max_batch.max(1) * 16);
        let (done_tx, done_rx) = oneshot::channel();
        // With commits that cost CPU rather than waiting (no fsync), gathering a fuller batch
        // first writes far fewer bytes per event. With an fsync per commit, the batch fills
        // during the fsync anyway, and waiting longer only adds latency.
        let gather = match options.durability {
            Durability::Process => Duration::from_millis(2),
            Durability::PowerLoss => Duration::ZERO,
        };
        // Small checkpoint rounds, often, disturb requests least when commits do not sync;
        // when every commit already syncs the WAL, fewer rounds compete less with those syncs.
        let checkpoint_interval = match options.durability {
            Durability::Process => Duration::from_millis(50),
            Durability::PowerLoss => Duration::from_millis(200),
        };
        let batching = writer::Batching {
            max: options.max_batch.max(1),
            gather,
        };
        // Writes acknowledged from the intake log by an earlier run go in before anything else.
        let (log, recovered) = intake::open_log(&writer_conn, &options.path)?;
        let recovering = !recovered.items.is_empty();
        let intake_log = options.intake_log && options.durability == Durability::Process;
        let ticker = std::sync::Arc::new(tokio::sync::Notify::new());
        let intake_gauges = std::sync::Arc::new(intake::Gauges::default());
        let intake = intake::Shared::new(intake::Intake::new(
            log,
            recovered,
            intake_log,
            ticker.clone(),
            intake_gauges.clone(),
            options.intake_max_pending_bytes,
        ));
        writer::spawn(writer_conn, rx, batching, intake.clone(), done_tx).map_err(Error::Thread)?;
        intake::spawn_ticker(tx.downgrade(), ticker);
        intake::spawn_flusher(intake.clone(), tx.downgrade());
        let checkpoints = Checkpointer::spawn(
            open_connection(&options, false)?,
            &options.path,
            checkpoint_interval,
            wal_restart_frames(options.durability),
        )
        .map_err(Error::Thread)?;
        let store = Self {
            readers,
            writer: tx,
            writer_done: tokio::sync::Mutex::new(Some(done_rx)),
            intake_log,
            intake_gauges,
            intake: intake_log.then_some(intake),
            checkpoints: tokio::sync::Mutex::new(Some(checkpoints)),
            path: options.path,
            lock: std::sync::Mutex::new(Some(lock)),
        };
        if recovering {
            // A record the database refuses is kept and retried; the store still opens, so
            // that new events are received meanwhile.
            if let Err(e) = store.ask(writer::Job::Flush).await {
                tracing::error!(error = %e, "applying the intake log at open failed");
            }
        }
        Ok(store)
    }

    /// Waits until everything acknowledged is in the database, so that a read sees it.
    async fn applied(&self) -> Result<(), Error> {
        if self.intake_log {
            self.ask(writer::Job::Flush).await
        } else {
            Ok(())
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs a write in the writer thread (SQLite has one writer; queuing keeps order and
    /// avoids lock contention).
    async fn write<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut rusqlite::Connection) -> Result<T, Error> + Send + 'static,
    {
        self.ask(|reply| {
            writer::Job::Run(Box::new(move |conn| {
                let _ = reply.send(f(conn));
            }))
        })
        .await
    }

    /// Hands a job to the writer thread and waits for its answer.
    async fn ask<T>(
        &self,
        job: impl FnOnce(oneshot::Sender<Result<T, Error>>) -> writer::Job,
    ) -> Result<T, Error> {
        let (reply, rx) = oneshot::channel();
        self.writer
            .send(job(reply))
            .await
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }
}

/// The database page size; also the size of a WAL frame's page.
const PAGE_SIZE: i64 = 16384;

/// How many frames the WAL holds before the checkpoint thread restarts it: 32 MiB, or 128 MiB
/// when every commit syncs. A restart holds the writer for a sync of each file, and with a
/// sync per commit already, every request of those moments waits for three or four: in
/// power-loss mode, restarting a quarter as often took p99 from 15-17 ms to 8.5-12.5 ms (four
/// interleaved rounds each). In process mode it made no difference, and a smaller WAL is
/// faster to recover after a crash.
fn wal_restart_frames(durability: Durability) -> i64 {
    match durability {
        Durability::Process => 2048,
        Durability::PowerLoss => 8192,
    }
}

/// Takes an exclusive lock on the database file for this store's life. Two processes on one
/// SQLite file would each append to the intake log and apply it as theirs; SQLite's own locks
/// do not cover that file. The lock (`flock`) is independent of SQLite's (`fcntl`) and goes
/// with the process, so a crash never leaves it behind.
fn lock_database(database: &Path) -> Result<std::fs::File, Error> {
    let file = std::fs::File::open(database).map_err(|source| Error::File {
        path: database.to_path_buf(),
        source,
    })?;
    #[cfg(unix)]
    {
        use rustix::fs::{FlockOperation, flock};
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => {
                return Err(Error::InUse(database.to_path_buf()));
            }
            Err(e) => {
                return Err(Error::File {
                    path: database.to_path_buf(),
                    source: e.into(),
                });
            }
        }
    }
    Ok(file)
}

/// Makes the database and its companion files readable by their owner only: they hold
/// personal data (invitees' names, emails, phone numbers). A missing database is created
/// empty with that mode, and SQLite gives its `-wal` and `-shm` files the database's mode;
/// files made by an older version are narrowed here.
fn private_files(database: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::File { path, source }
        };
        if !database.exists() {
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(database)
                .map_err(io(database))?;
        }
        for suffix in ["", "-wal", "-shm", "-intake", "-intake2"] {
            let mut path = database.as_os_str().to_owned();
            path.push(suffix);
            let path = PathBuf::from(path);
            match std::fs::metadata(&path) {
                Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                        .map_err(io(&path))?;
                }
                _ => {}
            }
        }
    }
    #[cfg(not(unix))]
    let _ = database;
    Ok(())
}

/// A connection of the writer thread or of the checkpoint thread. The file exists and is
/// migrated by now; WAL mode is a property of the file.
fn open_connection(options: &SqliteOptions, writer: bool) -> Result<rusqlite::Connection, Error> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        &options.path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_handler(Some(writer::retry_when_busy))?;
    let synchronous = match options.durability {
        Durability::Process => "NORMAL",
        Durability::PowerLoss => "FULL",
    };
    // The writer does not checkpoint on its own (only as a backstop far beyond normal): a
    // checkpoint copies the WAL into the database file and fsyncs it, which would stall every
    // request waiting on that commit. The checkpoint thread does it instead.
    let autocheckpoint = if writer { 20_000 } else { 0 };
    // A burst of writes faster than checkpoints can follow grows the WAL; once it restarts,
    // the file is cut back to twice its usual size instead of keeping its high-water mark.
    let size_limit = 2 * wal_restart_frames(options.durability) * PAGE_SIZE;
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON; \
         PRAGMA wal_autocheckpoint = {autocheckpoint}; PRAGMA journal_size_limit = {size_limit};"
    ))?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert_event(&self, event: NewEvent) -> Result<InsertOutcome, Error> {
        let event = match &self.intake {
            Some(intake) => match intake.offer_event(event) {
                intake::Offer::Answered(outcome) => return Ok(outcome),
                intake::Offer::Recorded(answer) => {
                    return answer.await.map_err(|_| Error::Closed)?;
                }
                intake::Offer::Declined(event) => event,
                intake::Offer::Full(bytes) => return Err(Error::Backlog(bytes)),
            },
            None => event,
        };
        self.ask(|reply| writer::Job::Insert { event, reply }).await
    }

    async fn get_event(&self, id: EventId) -> Result<Option<StoredEvent>, Error> {
        self.applied().await?;
        let row = sqlx::query(rows::SELECT_FULL)
            .bind(id.as_uuid().as_bytes().as_slice())
            .fetch_optional(&self.readers)
            .await?;
        row.map(|r| rows::stored_event(&r)).transpose()
    }

    async fn list_events(&self, query: &EventQuery) -> Result<EventPage, Error> {
        self.applied().await?;
        let limit = query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let mut qb: QueryBuilder<'_, Sqlite> = QueryBuilder::new(rows::SELECT_SUMMARY);
        crate::rows::push_event_filters!(
            qb,
            query,
            " AND seq < (SELECT seq FROM events WHERE id = ",
            ")",
            " AND seq IN (SELECT rowid FROM event_search WHERE event_search MATCH ",
            crate::search::fts_match,
            ""
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
        let now_ms = now.timestamp_millis();
        self.ask(|reply| {
            writer::Job::Claim(writer::Claim {
                destination: destination.to_owned(),
                owner: owner.to_owned(),
                now: now_ms,
                until: now_ms + i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2),
                limit,
                reply,
            })
        })
        .await
    }

    async fn complete(
        &self,
        delivery: DeliveryId,
        lease: &Lease,
        attempt: AttemptRecord,
        outcome: Outcome,
    ) -> Result<(), Error> {
        let mut finished = intake_log::Finished {
            delivery,
            lease: Some(lease.clone()),
            attempt,
            outcome,
        };
        if let Some(intake) = &self.intake {
            match intake.offer_finished(finished) {
                intake::Offer::Answered(()) => return Ok(()),
                intake::Offer::Recorded(answer) => {
                    return answer.await.map_err(|_| Error::Closed)?;
                }
                intake::Offer::Declined(f) => finished = f,
                // Finished attempts are never refused (see `Intake::max_pending_bytes`).
                intake::Offer::Full(_) => unreachable!("finished attempts are not capped"),
            }
        }
        self.ask(|reply| writer::Job::Complete(writer::Completion { finished, reply }))
            .await
    }

    async fn postpone(
        &self,
        delivery: DeliveryId,
        lease: &Lease,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        let id = delivery.as_uuid().into_bytes();
        let lease = lease.clone();
        self.write(move |conn| {
            conn.prepare_cached(
                "UPDATE deliveries SET next_attempt_at = ?1, lease_owner = NULL, \
                 lease_until = NULL WHERE id = ?2 AND lease_owner = ?3",
            )?
            .execute(params![
                at.timestamp_millis(),
                id.as_slice(),
                lease.as_str()
            ])?;
            Ok(())
        })
        .await
    }

    async fn list_deliveries(&self, query: &DeliveryQuery) -> Result<DeliveryPage, Error> {
        self.applied().await?;
        let limit = query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let mut qb: QueryBuilder<'_, Sqlite> = QueryBuilder::new(rows::SELECT_DELIVERY);
        crate::rows::push_delivery_filters!(qb, query, " AND id < ", "");
        qb.push(" ORDER BY id DESC LIMIT ")
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
        self.applied().await?;
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
            let now = now.timestamp_millis();
            let done = conn
                .prepare_cached(&format!(
                    "UPDATE deliveries SET {}, state = 'pending', next_attempt_at = ?1, \
                     updated_at = ?1 WHERE id = ?2",
                    crate::delivery::take_over_leases("?1")
                ))?
                .execute(params![now, key.as_slice()])?;
            Ok(done > 0)
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
            writer::in_transaction(conn, |tx| {
                let count = match what {
                    Replay::Dead => tx.execute(
                        "UPDATE deliveries SET state = 'pending', next_attempt_at = ?1, \
                         lease_owner = NULL, lease_until = NULL, updated_at = ?1 \
                         WHERE destination = ?2 AND state = 'dead'",
                        params![now, destination],
                    )?,
                    Replay::Range {
                        since,
                        until,
                        filter,
                    } => {
                        let (since, until) = (since.timestamp_millis(), until.timestamp_millis());
                        // Filtered here with the engine's own matcher: event-type globs do not
                        // translate to SQL patterns exactly.
                        let existing: Vec<(Vec<u8>, String, Option<String>)> = tx
                            .prepare(
                                "SELECT d.id, e.source, e.event_type FROM deliveries d \
                                 JOIN events e ON e.id = d.event_id WHERE d.destination = ?1 \
                                 AND e.received_at >= ?2 AND e.received_at < ?3",
                            )?
                            .query_map(params![destination, since, until], |row| {
                                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                            })?
                            .collect::<Result<_, _>>()?;
                        let mut reschedule = tx.prepare(&format!(
                            "UPDATE deliveries SET {}, state = 'pending', \
                             next_attempt_at = ?1, updated_at = ?1 WHERE id = ?2",
                            crate::delivery::take_over_leases("?1")
                        ))?;
                        let mut rescheduled = 0;
                        for (id, source, event_type) in &existing {
                            if filter.matches(source, event_type.as_deref()) {
                                rescheduled += reschedule.execute(params![now, id])?;
                            }
                        }
                        // Events received before the destination existed get a delivery now.
                        let missing: Vec<(Vec<u8>, String, Option<String>)> = tx
                            .prepare(
                                "SELECT id, source, event_type FROM events WHERE received_at >= ?1 \
                                 AND received_at < ?2 AND NOT EXISTS (SELECT 1 FROM deliveries d \
                                 WHERE d.event_id = events.id AND d.destination = ?3)",
                            )?
                            .query_map(params![since, until, destination], |row| {
                                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                            })?
                            .collect::<Result<_, _>>()?;
                        let missing: Vec<Vec<u8>> = missing
                            .into_iter()
                            .filter(|(_, source, event_type)| {
                                filter.matches(source, event_type.as_deref())
                            })
                            .map(|(id, _, _)| id)
                            .collect();
                        let mut insert = tx.prepare(
                            "INSERT INTO deliveries (id, event_id, destination, state, \
                             attempts, next_attempt_at, created_at, updated_at) \
                             VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?4, ?4)",
                        )?;
                        for event in &missing {
                            insert.execute(params![
                                DeliveryId::new().as_uuid().as_bytes().as_slice(),
                                event,
                                destination,
                                now
                            ])?;
                        }
                        rescheduled + missing.len()
                    }
                };
                Ok(count as u64)
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
            conn.execute(
                "INSERT INTO destination_state (name, disabled_at, reason) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (name) DO UPDATE SET disabled_at = excluded.disabled_at, \
                 reason = excluded.reason",
                params![
                    name,
                    reason.is_some().then(|| now.timestamp_millis()),
                    reason
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn destination_states(&self) -> Result<Vec<DestinationState>, Error> {
        self.applied().await?;
        sqlx::query("SELECT name, disabled_at, reason FROM destination_state ORDER BY name")
            .fetch_all(&self.readers)
            .await?
            .iter()
            .map(rows::destination_state)
            .collect()
    }

    async fn destination_counts(&self, destination: &str) -> Result<DestinationCounts, Error> {
        self.applied().await?;
        let row = sqlx::query(crate::delivery::DESTINATION_COUNTS)
            .bind(destination)
            .fetch_one(&self.readers)
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
        self.applied().await?;
        let now = now.timestamp_millis();
        // Two partial-index scans (pending, dead): the cost follows the queue, not the history.
        sqlx::query(
            "SELECT destination, SUM(pending) AS pending, SUM(due) AS due, \
               MIN(oldest_due) AS oldest_due, SUM(dead) AS dead FROM ( \
               SELECT destination, 1 AS pending, next_attempt_at <= ?1 AS due, \
                 CASE WHEN next_attempt_at <= ?1 THEN next_attempt_at END AS oldest_due, \
                 0 AS dead FROM deliveries WHERE state = 'pending' \
               UNION ALL \
               SELECT destination, 0, 0, NULL, 1 FROM deliveries WHERE state = 'dead') \
             GROUP BY destination ORDER BY destination",
        )
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
            let report = writer::in_transaction(conn, |tx| {
                let attempts = tx.execute(
                    "DELETE FROM attempts WHERE delivery_id IN (SELECT d.id FROM deliveries d \
                     JOIN events e ON e.id = d.event_id WHERE e.received_at < ?1)",
                    params![cutoff],
                )?;
                let deliveries = tx.execute(
                    "DELETE FROM deliveries WHERE event_id IN \
                     (SELECT id FROM events WHERE received_at < ?1)",
                    params![cutoff],
                )?;
                // A contentless index forgets a row when told its tokens again.
                tx.execute(
                    "INSERT INTO event_search (event_search, rowid, keys) \
                     SELECT 'delete', seq, \
                       coalesce(search_keys, lower(hex(substr(dedupe_hash, 1, 8)))) \
                     FROM events WHERE received_at < ?1",
                    params![cutoff],
                )?;
                let events =
                    tx.execute("DELETE FROM events WHERE received_at < ?1", params![cutoff])?;
                tx.execute(crate::directory::PURGE_EVENT_MARKS, params![cutoff])?;
                Ok(PurgeReport {
                    events: events as u64,
                    deliveries: deliveries as u64,
                    attempts: attempts as u64,
                })
            })?;
            // Return the freed pages to the file system (auto_vacuum = incremental).
            conn.execute_batch("PRAGMA incremental_vacuum")?;
            Ok(report)
        })
        .await
    }

    /// The database answers, the writer runs, and no acknowledged write waits in the intake
    /// log for a database that refuses it (reads would miss it: see `Error::Unapplied`).
    async fn ping(&self) -> Result<(), Error> {
        if self.writer.is_closed() {
            return Err(Error::Closed);
        }
        if self.intake_gauges.read().refused {
            return Err(Error::Unapplied(
                "an intake log record is retried every second; the error log says why".into(),
            ));
        }
        sqlx::query("SELECT 1").execute(&self.readers).await?;
        Ok(())
    }

    fn intake_stats(&self) -> Option<crate::IntakeStats> {
        Some(self.intake_gauges.read())
    }

    async fn close(&self) {
        // Closing the channel lets the writer finish the jobs already queued, then stop.
        let _ = self.writer.send(writer::Job::Shutdown).await;
        if let Some(done) = self.writer_done.lock().await.take() {
            let _ = done.await;
        }
        self.readers.close().await;
        // The last checkpoint folds the WAL into the database file before close returns.
        if let Some(checkpoints) = self.checkpoints.lock().await.take() {
            checkpoints.stop().await;
        }
        // Another process may open the file now.
        drop(self.lock.lock().unwrap_or_else(|e| e.into_inner()).take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A build from before the intake log's second file (migrations 1-7) would not read that
    /// file: it refuses a database this build has migrated, rather than open it.
    #[tokio::test]
    async fn a_build_without_the_second_log_file_refuses_the_database() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = dir.path().join("events.db");
        SqliteStore::open(SqliteOptions::new(&db))
            .await
            .expect("open")
            .close()
            .await;
        let mut conn = SqliteConnectOptions::new()
            .filename(&db)
            .connect()
            .await
            .expect("connect");
        let older = crate::rows::migrator(&MIGRATIONS[..7]);
        let refused = older.run_direct(&mut conn).await;
        assert!(
            matches!(refused, Err(sqlx::migrate::MigrateError::VersionMissing(8))),
            "{refused:?}"
        );
        migrator()
            .run_direct(&mut conn)
            .await
            .expect("this build opens it");
    }
}
