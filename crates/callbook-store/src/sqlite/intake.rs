//! The intake: small batches of writes are recorded in a log file and acknowledged, then moved
//! into SQLite together a few milliseconds later.
//!
//! A commit rewrites the last page of every B-tree it touches (about a dozen 16 KiB pages),
//! however few rows it holds. Under a steady stream of deliveries the writer's batches hold two
//! or three events plus the finished attempts of earlier ones, and those pages were most of its
//! work. Appending such a batch to the log costs one `write`, which survives a `kill -9` as a
//! commit does in the default durability mode; the records then reach SQLite in one
//! transaction every [`APPLY_AFTER`] or so. That transaction also stores the sequence number
//! of the last record it applied, so at open the records after it are applied again.
//!
//! Until a record is applied, the writer answers for it: duplicates are found among the
//! records as well as in the database, and claims, admin tasks and reads first apply
//! everything, so nothing acknowledged is ever invisible to them. A large batch commits
//! directly (its commit is already cheap per event) and takes the pending records with it.
//! In power-loss mode every write waits for an fsync of the database anyway, and the log is
//! not used (a log left by an earlier run is still applied at open).

use super::intake_log::{Finished, IntakeLog, Item, Recovered};
use super::recent::Recent;
use super::writer::{
    Completion, Reply, SELECT_ORIGINAL, complete_one, in_transaction, insert_with,
};
use crate::Error;
use crate::delivery::DeliveryId;
use crate::model::{EventId, InsertOutcome, NewEvent};
use crate::rows::{dedupe_hash, dedupe_time};
use crate::store::IntakeStats;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Whether a batch commits directly instead of going through the log: with this many events
/// (or writes in all), its commit costs little per event, and the log's duplicate lookups and
/// copies would cost more. A steady stream of deliveries gives batches of a few events and as
/// many finished attempts; closed-loop ingestion gives batches of about 30 events, and through
/// the log those measured up to 10% slower.
pub(super) fn commits_directly(inserts: usize, writes: usize) -> bool {
    inserts >= 16 || writes >= 64
}

/// How long records wait in the log before they are applied.
pub(super) const APPLY_AFTER: Duration = Duration::from_millis(10);
/// Most records applied in one transaction: an apply holds the writer, and every request
/// that arrives meanwhile waits for it.
const APPLY_CHUNK: usize = 256;
/// The log is emptied when it is this long and everything in it is applied.
const TRUNCATE_AT: u64 = 8 << 20;
/// Past this length everything pending is applied at once, so that the log can be emptied.
const FORCE_AT: u64 = 64 << 20;
/// How often a record the database refused is tried again.
const STUCK_RETRY: Duration = Duration::from_secs(1);

const SET_APPLIED: &str = "UPDATE intake_state SET applied_seq = ?1 WHERE id = 1";

/// The newest event time of a source: one seek in the events' unique index.
const NEWEST_TIME: &str = "SELECT MAX(dedupe_time) FROM events WHERE source = ?1";

/// The part of an event that decides whether it is a duplicate (the events table's unique key).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct DedupeKey {
    source: String,
    time: i64,
    hash: [u8; 16],
}

impl DedupeKey {
    fn of(e: &NewEvent) -> Self {
        Self {
            source: e.source.clone(),
            time: dedupe_time(e),
            hash: dedupe_hash(&e.dedupe_key),
        }
    }
}

/// A record acknowledged but not yet in the database.
struct Pending {
    seq: u64,
    since: Instant,
    key: Option<DedupeKey>,
    item: Item,
}

/// A record the database refused, holding up the ones behind it.
struct Stuck {
    error: String,
    retry_at: Instant,
}

/// What the writer last published about the intake, for [`crate::Store::intake_stats`].
#[derive(Debug, Default)]
pub(super) struct Gauges {
    pending: AtomicU64,
    log_bytes: AtomicU64,
    refused: AtomicBool,
}

impl Gauges {
    pub(super) fn read(&self) -> IntakeStats {
        IntakeStats {
            pending_records: self.pending.load(Ordering::Relaxed),
            log_bytes: self.log_bytes.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
        }
    }
}

/// The log and the records it holds that the database does not.
pub(super) struct Intake {
    log: IntakeLog,
    /// Whether small batches go through the log.
    enabled: bool,
    pending: VecDeque<Pending>,
    /// The pending events' keys.
    keys: HashMap<DedupeKey, EventId>,
    /// The newest keys per source, which prove most live events new without a lookup.
    recent: Recent,
    /// Wakes the task that sends [`super::writer::Job::Tick`] after [`APPLY_AFTER`].
    ticker: Arc<Notify>,
    /// Whether a tick is on its way.
    pub(super) tick_armed: bool,
    stuck: Option<Stuck>,
    gauges: Arc<Gauges>,
}

impl Intake {
    /// The intake over `log`, holding the records recovered at open.
    pub(super) fn new(
        log: IntakeLog,
        recovered: Recovered,
        enabled: bool,
        ticker: Arc<Notify>,
        gauges: Arc<Gauges>,
    ) -> Self {
        let mut intake = Self {
            log,
            enabled,
            pending: VecDeque::new(),
            keys: HashMap::new(),
            recent: Recent::default(),
            ticker,
            tick_armed: false,
            stuck: None,
            gauges,
        };
        let now = Instant::now();
        for (seq, item) in recovered.items {
            intake.push(seq, now, item);
        }
        intake
    }

    fn push(&mut self, seq: u64, since: Instant, item: Item) {
        let key = match &item {
            Item::Event(e) => {
                let key = DedupeKey::of(e);
                self.keys.insert(key.clone(), e.id);
                Some(key)
            }
            Item::Finished(_) => None,
        };
        self.pending.push_back(Pending {
            seq,
            since,
            key,
            item,
        });
    }

    /// Whether small batches may go to the log now.
    pub(super) fn takes_writes(&self) -> bool {
        self.enabled && self.stuck.is_none()
    }

    /// `Ok` unless an acknowledged record cannot be applied (reads would miss it).
    pub(super) fn health(&self) -> Result<(), Error> {
        match &self.stuck {
            None => Ok(()),
            Some(s) => Err(Error::Unapplied(s.error.clone())),
        }
    }

    /// Updates what [`crate::Store::intake_stats`] reads.
    pub(super) fn publish(&self) {
        let g = &self.gauges;
        g.pending
            .store(self.pending.len() as u64, Ordering::Relaxed);
        g.log_bytes.store(self.log.len(), Ordering::Relaxed);
        g.refused.store(self.stuck.is_some(), Ordering::Relaxed);
    }

    /// Publishes the gauges, and asks for a tick while records wait, so that they are
    /// applied even if no other job comes.
    pub(super) fn arm_ticker(&mut self) {
        self.publish();
        if !self.pending.is_empty() && !self.tick_armed {
            self.ticker.notify_one();
            self.tick_armed = true;
        }
    }

    /// Records a small batch in the log and acknowledges it. Duplicates are answered at once.
    /// What cannot be recorded (the log's write failed) is left in `inserts` and
    /// `completions`, to be committed directly.
    pub(super) fn record(
        &mut self,
        conn: &Connection,
        inserts: &mut Vec<(NewEvent, Reply)>,
        completions: &mut Vec<Completion>,
    ) {
        let mut fresh: Vec<(NewEvent, Reply, DedupeKey)> = Vec::with_capacity(inserts.len());
        for (event, reply) in inserts.drain(..) {
            let key = DedupeKey::of(&event);
            let known = self.keys.get(&key).copied().or_else(|| {
                fresh
                    .iter()
                    .find(|(_, _, k)| *k == key)
                    .map(|(e, _, _)| e.id)
            });
            let original = match known {
                Some(id) => Ok(Some(id)),
                None => self.stored_original(conn, &key),
            };
            match original {
                Ok(Some(id)) => {
                    let _ = reply.send(Ok(InsertOutcome {
                        id,
                        duplicate: true,
                    }));
                }
                Ok(None) => {
                    self.recent.add(&key.source, key.time, key.hash);
                    fresh.push((event, reply, key));
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            }
        }
        let event_seqs: Vec<u64> = fresh
            .iter()
            .map(|(e, _, _)| self.log.push_event(e))
            .collect();
        let finished_seqs: Vec<u64> = completions
            .iter()
            .map(|c| self.log.push_finished(&c.finished))
            .collect();
        if let Err(e) = self.log.write_batch() {
            // The file's state is uncertain: stop using it, and commit this batch directly.
            tracing::error!(error = %e, "writing the intake log failed; committing directly from now on");
            self.enabled = false;
            inserts.extend(fresh.into_iter().map(|(e, r, _)| (e, r)));
            return;
        }
        let now = Instant::now();
        let mut acknowledged = Vec::with_capacity(fresh.len());
        for ((event, reply, key), seq) in fresh.into_iter().zip(event_seqs) {
            acknowledged.push((reply, event.id));
            self.keys.insert(key.clone(), event.id);
            self.pending.push_back(Pending {
                seq,
                since: now,
                key: Some(key),
                item: Item::Event(event),
            });
        }
        let mut recorded = Vec::with_capacity(completions.len());
        for (c, seq) in completions.drain(..).zip(finished_seqs) {
            recorded.push(c.reply);
            self.pending.push_back(Pending {
                seq,
                since: now,
                key: None,
                item: Item::Finished(c.finished),
            });
        }
        // Before anyone hears back, so that a scrape after an acknowledgement sees the records.
        self.publish();
        for (reply, id) in acknowledged {
            let _ = reply.send(Ok(InsertOutcome {
                id,
                duplicate: false,
            }));
        }
        for reply in recorded {
            let _ = reply.send(Ok(()));
        }
    }

    /// The stored event with this key, if any: looked up, unless the newest keys prove
    /// there is none.
    fn stored_original(
        &mut self,
        conn: &Connection,
        key: &DedupeKey,
    ) -> Result<Option<EventId>, Error> {
        if !self.recent.knows(&key.source) {
            let stored: Option<i64> = conn
                .prepare_cached(NEWEST_TIME)?
                .query_row(params![key.source], |row| row.get(0))?;
            let waiting = self
                .pending
                .iter()
                .filter_map(|p| p.key.as_ref())
                .filter(|k| k.source == key.source)
                .map(|k| k.time)
                .max();
            self.recent.start(&key.source, stored.max(waiting));
        }
        if self.recent.proves_new(&key.source, key.time, &key.hash) {
            return Ok(None);
        }
        find_original(conn, key)
    }

    /// Forgets the newest keys of a source whose events the writer commits directly: they are
    /// set up again from the database when next needed. (Adding each event's key instead cost
    /// a hash and a tree insert per event on the path that closed-loop ingestion takes, about
    /// 4% of its throughput.)
    pub(super) fn committing_directly(&mut self, e: &NewEvent) {
        self.recent.forget(&e.source);
    }

    /// Forgets the newest keys before a write the writer cannot follow (a task).
    pub(super) fn forget_recent(&mut self) {
        self.recent.clear();
    }

    /// The pending event that `e` duplicates, if any.
    pub(super) fn original_of(&self, e: &NewEvent) -> Option<EventId> {
        if self.keys.is_empty() {
            return None;
        }
        self.keys.get(&DedupeKey::of(e)).copied()
    }

    /// How many pending records a group commit should take along: all of them, unless one is
    /// stuck (it is retried on its own schedule).
    pub(super) fn appliable(&self) -> usize {
        if self.stuck.is_some() {
            0
        } else {
            self.pending.len()
        }
    }

    /// Applies the first `n` pending records in the transaction `tx` and stores the last one's
    /// sequence number. Call [`Self::applied`] once `tx` has committed.
    pub(super) fn apply_in(&self, tx: &Connection, n: usize, now_ms: i64) -> Result<(), Error> {
        let chunk = || self.pending.iter().take(n);
        // A delivery attempted right after its event was acknowledged usually comes back
        // before the event reaches the database. Its first attempt is then written with the
        // delivery row, in the state it left it, instead of an insert and an update (which
        // also moved it into and out of the index of due deliveries).
        let mut fresh = HashSet::new();
        let mut first: HashMap<DeliveryId, &Finished> = HashMap::new();
        for p in chunk() {
            match &p.item {
                Item::Event(e) => {
                    fresh.extend(
                        e.pre_claim
                            .iter()
                            .flat_map(|c| c.deliveries.iter().map(|d| d.1)),
                    );
                }
                Item::Finished(f) => {
                    if fresh.remove(&f.delivery) {
                        first.insert(f.delivery, f);
                    }
                }
            }
        }
        let mut last = None;
        for p in chunk() {
            match &p.item {
                Item::Event(e) => {
                    let outcome = insert_with(tx, e, |id| first.get(&id).copied(), now_ms)?;
                    if outcome.duplicate {
                        // Cannot happen: duplicates were answered before recording.
                        tracing::warn!(event_id = %e.id, original = %outcome.id, "an acknowledged event from the intake log duplicates a stored one");
                        for (_, id) in e.pre_claim.iter().flat_map(|c| c.deliveries.iter()) {
                            if let Some(f) = first.get(id) {
                                complete_one(tx, f, now_ms)?;
                            }
                        }
                    }
                }
                Item::Finished(f) => {
                    let written = first
                        .get(&f.delivery)
                        .is_some_and(|merged| std::ptr::eq(*merged, f));
                    if !written {
                        complete_one(tx, f, now_ms)?;
                    }
                }
            }
            last = Some(p.seq);
        }
        if let Some(seq) = last {
            tx.prepare_cached(SET_APPLIED)?
                .execute(params![i64::try_from(seq).unwrap_or(i64::MAX)])?;
        }
        Ok(())
    }

    /// Forgets the first `n` pending records: their transaction committed.
    pub(super) fn applied(&mut self, n: usize) {
        for p in self.pending.drain(..n.min(self.pending.len())) {
            if let Some(key) = p.key {
                self.keys.remove(&key);
            }
        }
        if self.pending.is_empty() && self.log.len() >= TRUNCATE_AT {
            self.truncate();
        }
    }

    fn truncate(&mut self) {
        if let Err(e) = self.log.truncate() {
            tracing::error!(error = %e, "emptying the intake log failed; committing directly from now on");
            self.enabled = false;
        }
    }

    /// Applies pending records one transaction each, stopping at one the database refuses.
    pub(super) fn apply_one_by_one(&mut self, conn: &mut Connection, now_ms: i64) {
        while !self.pending.is_empty() {
            if let Err(e) = in_transaction(conn, |tx| self.apply_in(tx, 1, now_ms)) {
                if self.stuck.is_none() {
                    let record = match self.pending.front().map(|p| &p.item) {
                        Some(Item::Event(e)) => format!("event {}", e.id),
                        Some(Item::Finished(f)) => format!("attempt of delivery {}", f.delivery),
                        None => String::new(),
                    };
                    tracing::error!(error = %e, record, waiting = self.pending.len(), "the database refuses an acknowledged write from the intake log: it stays there and is retried every second; until then new writes commit directly and reads fail");
                }
                self.stuck = Some(Stuck {
                    error: e.to_string(),
                    retry_at: Instant::now() + STUCK_RETRY,
                });
                return;
            }
            self.applied(1);
        }
        if self.stuck.take().is_some() {
            tracing::info!("the intake log's refused writes are applied");
        }
    }

    /// Tries the records the database refused again now (a read wants them).
    pub(super) fn retry_stuck(&mut self, conn: &mut Connection) {
        if self.stuck.is_some() {
            self.apply_one_by_one(conn, chrono::Utc::now().timestamp_millis());
        }
    }

    /// Applies the oldest records once they have waited long enough (or are many).
    pub(super) fn apply_due(&mut self, conn: &mut Connection) {
        let Some(front) = self.pending.front() else {
            return;
        };
        let now = Instant::now();
        let now_ms = chrono::Utc::now().timestamp_millis();
        if let Some(stuck) = &self.stuck {
            if now >= stuck.retry_at {
                self.apply_one_by_one(conn, now_ms);
            }
            return;
        }
        let forced = self.log.len() >= FORCE_AT;
        if !forced
            && self.pending.len() < APPLY_CHUNK
            && now.duration_since(front.since) < APPLY_AFTER
        {
            return;
        }
        let n = if forced {
            self.pending.len()
        } else {
            self.pending.len().min(APPLY_CHUNK)
        };
        match in_transaction(conn, |tx| self.apply_in(tx, n, now_ms)) {
            Ok(()) => self.applied(n),
            Err(e) => {
                tracing::warn!(error = %e, "applying intake log records together failed; applying them one by one");
                self.apply_one_by_one(conn, now_ms);
            }
        }
    }

    /// At shutdown, after the last group commit: empties the log if everything is applied.
    pub(super) fn close(&mut self) {
        if self.pending.is_empty() {
            if self.enabled {
                self.truncate();
            } else if let Err(e) = self.log.remove() {
                tracing::warn!(error = %e, "removing the unused intake log failed");
            }
        } else {
            tracing::error!(
                waiting = self.pending.len(),
                "acknowledged writes remain in the intake log; they are applied at the next open"
            );
        }
        // Lets the ticker find the writer gone.
        self.ticker.notify_one();
    }
}

/// The stored event with this key, if any.
fn find_original(conn: &Connection, key: &DedupeKey) -> Result<Option<EventId>, Error> {
    let id: Option<Vec<u8>> = conn
        .prepare_cached(SELECT_ORIGINAL)?
        .query_row(params![key.source, key.time, key.hash.as_slice()], |row| {
            row.get(0)
        })
        .optional()?;
    id.map(|id| crate::rows::uuid(&id).map(EventId::from))
        .transpose()
}

/// The task that turns [`Intake::arm_ticker`]'s wake-ups into ticks after [`APPLY_AFTER`]. It
/// holds the writer's queue weakly, so a dropped store still stops its writer.
pub(super) fn spawn_ticker(
    queue: tokio::sync::mpsc::WeakSender<super::writer::Job>,
    ticker: Arc<Notify>,
) {
    tokio::spawn(async move {
        loop {
            ticker.notified().await;
            tokio::time::sleep(APPLY_AFTER).await;
            let Some(queue) = queue.upgrade() else {
                break;
            };
            if queue.send(super::writer::Job::Tick).await.is_err() {
                break;
            }
        }
    });
}

/// Opens the log of `database` and reads what the database has not applied.
pub(super) fn open_log(
    conn: &Connection,
    database: &std::path::Path,
) -> Result<(IntakeLog, Recovered), Error> {
    let applied: i64 = conn.query_row(
        "SELECT applied_seq FROM intake_state WHERE id = 1",
        [],
        |row| row.get(0),
    )?;
    let (log, recovered) = IntakeLog::open(database, u64::try_from(applied).unwrap_or(0))?;
    if recovered.torn_bytes > 0 {
        tracing::warn!(
            bytes = recovered.torn_bytes,
            "the intake log ended in a record cut short by a crash; it was never acknowledged and is dropped"
        );
    }
    if !recovered.items.is_empty() {
        tracing::info!(
            records = recovered.items.len(),
            "applying acknowledged writes from the intake log"
        );
    }
    Ok((log, recovered))
}

#[cfg(test)]
mod tests {
    use super::super::{SqliteOptions, SqliteStore};
    use super::*;
    use crate::Store;
    use crate::delivery::{AttemptRecord, DeliveryId, DeliveryState, Outcome, PreClaim};
    use crate::model::Provider;
    use chrono::Utc;
    use std::io::Write;

    /// What a process killed after acknowledging leaves behind: records in the log that the
    /// database does not have, the last one cut short.
    #[tokio::test]
    async fn records_left_by_a_crash_are_applied_at_open_exactly_once() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = dir.path().join("events.db");
        SqliteStore::open(SqliteOptions::new(&db))
            .await
            .expect("create")
            .close()
            .await;

        let delivery = DeliveryId::new();
        let mut event = NewEvent::new("cal", Provider::Calendly, "k1", b"{}".to_vec());
        event.destinations = vec!["crm".into()];
        let mut claim = PreClaim::new("worker", Utc::now());
        claim.deliveries.push(("crm".into(), delivery));
        event.pre_claim = Some(claim);
        let finished = super::super::intake_log::Finished {
            delivery,
            attempt: AttemptRecord {
                attempted_at: Utc::now(),
                status_code: Some(200),
                latency_ms: 3,
                error: None,
                response_excerpt: None,
            },
            outcome: Outcome::Succeeded,
        };
        let (mut log, _) = IntakeLog::open(&db, 0).expect("log");
        log.push_event(&event);
        log.push_finished(&finished);
        log.write_batch().expect("write");
        drop(log);
        let path = IntakeLog::path_for(&db);
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("append");
        file.write_all(&[200, 0, 0, 0, 1, 2, 3]).expect("torn");
        drop(file);

        let check = |store: SqliteStore| async move {
            assert!(store.get_event(event.id).await.expect("get").is_some());
            let (d, attempts) = store
                .get_delivery(delivery)
                .await
                .expect("get")
                .expect("the delivery");
            assert_eq!(d.state, DeliveryState::Succeeded);
            assert_eq!((d.attempts, attempts.len()), (1, 1), "applied once");
            store.close().await;
        };
        let left = std::fs::read(&path).expect("log");
        check(
            SqliteStore::open(SqliteOptions::new(&db))
                .await
                .expect("open"),
        )
        .await;
        assert_eq!(std::fs::metadata(&path).expect("log").len(), 0);
        // Records the database holds are skipped, as after a crash between an apply and the
        // log's truncation (which waits for the log to grow).
        std::fs::write(&path, left).expect("restore");
        check(
            SqliteStore::open(SqliteOptions::new(&db))
                .await
                .expect("open"),
        )
        .await;
    }
}
