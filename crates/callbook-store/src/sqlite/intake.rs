//! The intake: small writes are recorded in a log file and acknowledged, then moved into
//! SQLite together a few milliseconds later.
//!
//! A commit rewrites the last page of every B-tree it touches (about a dozen 16 KiB pages),
//! however few rows it holds. Under a steady stream of deliveries a commit per request batch
//! holds two or three events plus the finished attempts of earlier ones, and those pages were
//! most of the writer's work. Appending the same records to the log costs one `write`, which
//! survives a `kill -9` as a commit does in the default durability mode; the records then
//! reach SQLite in one transaction every [`APPLY_AFTER`] or so. That transaction also stores
//! the sequence number of the last record it applied, so at open the records after it are
//! applied again.
//!
//! Records are made where the request is, on the runtime's thread: the event's key is checked
//! against the records not yet applied and the newest keys (see [`super::recent`]), the record
//! goes into the log's buffer, and the flusher task writes everything buffered with one
//! `write` once the requests that are ready have run, then acknowledges them all. So no
//! hand-over to another thread lies on an acknowledgement's path: the writer thread, which on
//! a small machine shares a core with the runtime, only applies records in the background.
//! (Through the writer, each acknowledgement waited for that thread to be scheduled and then
//! for the runtime to come back to the answer: most of the time from a webhook's arrival to
//! its delivery.) What cannot be decided without a lookup (the first event of a source, a
//! late redelivery, an event without a time) goes to the writer, which records it the same
//! way after looking it up.
//!
//! Until a record is applied, the intake answers for it: duplicates are found among the
//! records as well as in the database, and claims, admin tasks and reads first apply
//! everything, so nothing acknowledged is ever invisible to them. A large batch that reaches
//! the writer commits directly (its commit is already cheap per event) and takes the pending
//! records with it. In power-loss mode every write waits for an fsync of the database anyway,
//! and the log is not used (a log left by an earlier run is still applied at open).

use super::intake_log::{Finished, IntakeLog, Item, Recovered, SWITCH_AT, SealedCut};
use super::recent::Recent;
use super::writer::{
    Completion, Job, Reply, SELECT_ORIGINAL, complete_one, in_transaction, insert_with,
};
use super::yielding::Yielder;
use crate::Error;
use crate::delivery::DeliveryId;
use crate::model::{EventId, InsertOutcome, NewEvent};
use crate::rows::{dedupe_hash, dedupe_time};
use crate::store::IntakeStats;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc, oneshot};

/// Whether a batch that reaches the writer commits directly instead of going through the log:
/// with this many events (or writes in all), its commit costs little per event, and the log's
/// duplicate lookups and copies would cost more.
pub(super) fn commits_directly(inserts: usize, writes: usize) -> bool {
    inserts >= 16 || writes >= 64
}

/// How long records wait in the log before they are applied.
pub(super) const APPLY_AFTER: Duration = Duration::from_millis(10);
/// Most records applied in one transaction: an apply holds the writer, and every write that
/// reaches it meanwhile waits for it.
const APPLY_CHUNK: usize = 256;
/// Past this length of the log file being written (which happens only if the other one held
/// unapplied records for as long as this took to write, the writer being far behind), the
/// writer applies everything and empties both files; callers hand their writes to the writer
/// meanwhile, so that the files hold nothing unapplied when they are cut.
const DRAIN_AT: u64 = 4 * SWITCH_AT;
/// Bytes of records waiting for the database past which the writer is behind, and stops
/// yielding the core until it catches up: about 30 ms of a saturated stream on one core,
/// three times what waits when it keeps up. (A/Bs at saturation: 2 and 4 MiB cost more CPU
/// and a longer p90, in the larger backlog they keep; 256 KiB, where the writer seldom
/// yields, a p90 and p99 a fifth longer.)
const BEHIND_AT: u64 = 1 << 20;
/// Most rounds of applying in a row, so that other jobs wait for at most a few chunks.
const MAX_ROUNDS: usize = 4;
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

fn duplicate_of(id: EventId) -> InsertOutcome {
    InsertOutcome {
        id,
        duplicate: true,
    }
}

/// A record written to the log, not yet in the database. The writer applies it without
/// holding the lock, from its own reference.
struct Pending {
    seq: u64,
    /// The record's size in the log, counted in [`Intake::pending_bytes`].
    bytes: u64,
    since: Instant,
    key: Option<DedupeKey>,
    item: Arc<Item>,
}

/// A record the writer applies: its sequence number and what it holds.
pub(super) type Record = (u64, Arc<Item>);

/// A write waiting for the log's next `write`.
enum Unwritten {
    Event {
        seq: u64,
        bytes: u64,
        key: DedupeKey,
        event: NewEvent,
        reply: Reply,
    },
    /// A duplicate of an event whose record is not written yet: it is answered once that
    /// record is, or handed to the writer with it.
    Duplicate {
        event: NewEvent,
        original: EventId,
        reply: Reply,
    },
    Finished {
        seq: u64,
        bytes: u64,
        finished: Finished,
        reply: oneshot::Sender<Result<(), Error>>,
    },
}

/// Answers to send once the intake's lock is released.
#[derive(Default)]
#[must_use]
pub(super) struct Acks(Vec<Ack>);

enum Ack {
    Insert(Reply, InsertOutcome),
    Done(oneshot::Sender<Result<(), Error>>),
}

impl Acks {
    pub(super) fn send(self) {
        for ack in self.0 {
            match ack {
                Ack::Insert(reply, outcome) => {
                    let _ = reply.send(Ok(outcome));
                }
                Ack::Done(reply) => {
                    let _ = reply.send(Ok(()));
                }
            }
        }
    }
}

/// A record the database refused, holding up the ones behind it.
struct Stuck {
    error: String,
    retry_at: Instant,
}

/// What the intake last published, for [`crate::Store::intake_stats`].
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

/// A batch the flusher writes without the intake's lock, with the writes it answers.
pub(super) struct Flush {
    batch: super::intake_log::BatchWrite,
    taken: Vec<Unwritten>,
}

impl Flush {
    /// The `write` (blocking: run it off the async runtime).
    fn write(&self) -> std::io::Result<()> {
        self.batch.write()
    }
}

/// What the flusher is to do next.
pub(super) enum FlushStep {
    Idle,
    Done(Acks),
    Write(Flush),
}

/// What a caller's write became.
pub(super) enum Offer<T, W> {
    /// Answered at once: a duplicate of a written record.
    Answered(T),
    /// Recorded: the answer comes once the record is written (or from the writer, if the
    /// `write` failed).
    Recorded(oneshot::Receiver<Result<T, Error>>),
    /// Not decided here: it goes to the writer.
    Declined(W),
    /// Refused: this many bytes of records wait for the database already.
    Full(u64),
}

/// The intake, shared by the callers (who record), the flusher task (which writes the log)
/// and the writer thread (which applies the log). Nobody holds the lock across a transaction.
pub(super) struct Shared {
    state: Mutex<Intake>,
    /// Wakes the flusher.
    flush: Notify,
    /// Signalled when the flusher's write in flight is accounted for.
    settled: Condvar,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Intake").finish_non_exhaustive()
    }
}

impl Shared {
    pub(super) fn new(intake: Intake) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(intake),
            flush: Notify::new(),
            settled: Condvar::new(),
        })
    }

    /// The intake's state. Nothing panics while holding it, and a poisoned lock would still
    /// hold consistent records, so poisoning is ignored rather than spread.
    pub(super) fn lock(&self) -> MutexGuard<'_, Intake> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The intake's state once no write of the flusher is in flight, for the writer thread
    /// (never the runtime): what it does next writes or empties the log, or takes records
    /// that must be on disk first.
    pub(super) fn lock_settled(&self) -> MutexGuard<'_, Intake> {
        let guard = self.lock();
        self.settled
            .wait_while(guard, |intake| intake.flushing)
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Records an event on the caller's side, if that can be decided without a lookup.
    pub(super) fn offer_event(&self, event: NewEvent) -> Offer<InsertOutcome, NewEvent> {
        let key = DedupeKey::of(&event);
        let mut intake = self.lock();
        if !intake.takes_here() {
            return Offer::Declined(event);
        }
        let (reply, answer) = oneshot::channel();
        match intake.known(&key) {
            Some((id, true)) => return Offer::Answered(duplicate_of(id)),
            None if intake.full() => return Offer::Full(intake.pending_bytes),
            Some((original, false)) => intake.unwritten.push(Unwritten::Duplicate {
                event,
                original,
                reply,
            }),
            None if intake.recent.proves_new(&key.source, key.time, &key.hash) => {
                intake.add_event(event, key, reply);
            }
            None => return Offer::Declined(event),
        }
        drop(intake);
        self.flush.notify_one();
        Offer::Recorded(answer)
    }

    /// Records a finished attempt on the caller's side.
    pub(super) fn offer_finished(&self, finished: Finished) -> Offer<(), Finished> {
        let mut intake = self.lock();
        if !intake.takes_here() {
            return Offer::Declined(finished);
        }
        let (reply, answer) = oneshot::channel();
        intake.add_finished(finished, reply);
        drop(intake);
        self.flush.notify_one();
        Offer::Recorded(answer)
    }

    /// Applies the oldest records once they have waited long enough (or are many), and
    /// empties the log file no longer written once the database holds its records.
    pub(super) fn apply_due(&self, conn: &mut Connection) {
        // Callers keep recording while the writer applies: if a full chunk waits after a
        // round, it goes in now rather than after the next tick, so that applying keeps up.
        for _ in 0..MAX_ROUNDS {
            if !self.apply_round(conn) {
                break;
            }
        }
        // Cutting a long file takes milliseconds (2-15 ms for 16 MiB on ext4), which callers
        // recording would wait out if it held the lock.
        let cut = self.lock().sealed_cut();
        if let Some(cut) = cut {
            let result = cut.run();
            self.lock().sealed_emptied(cut, result);
        }
    }

    /// One round of [`Self::apply_due`]: whether it applied anything.
    fn apply_round(&self, conn: &mut Connection) -> bool {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let (batch, acks, yields) = {
            let mut intake = self.lock_settled();
            let Some(front) = intake.pending.front() else {
                return false;
            };
            if let Some(stuck) = &intake.stuck {
                if Instant::now() >= stuck.retry_at {
                    drop(intake);
                    self.apply_one_by_one(conn, now_ms, usize::MAX);
                }
                return false;
            }
            let emptying = intake.log.active_len() >= DRAIN_AT;
            if !emptying
                && intake.pending.len() < APPLY_CHUNK
                && front.since.elapsed() < APPLY_AFTER
            {
                return false;
            }
            let yields = intake.yields();
            if emptying {
                intake.draining = true;
                intake.drains += 1;
                let acks = intake.write_out();
                (intake.front(intake.pending.len()), acks, yields)
            } else {
                let n = intake.pending.len().min(APPLY_CHUNK);
                (intake.front(n), Acks::default(), yields)
            }
        };
        acks.send();
        match in_transaction(conn, |tx| apply_records(tx, &batch, now_ms, yields)) {
            Ok(()) => {
                self.lock().applied(batch.len());
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "applying intake log records together failed; applying them one by one");
                self.apply_one_by_one(conn, now_ms, batch.len());
                false
            }
        }
    }

    /// Applies up to `limit` pending records one transaction each, stopping at one the
    /// database refuses.
    pub(super) fn apply_one_by_one(&self, conn: &mut Connection, now_ms: i64, limit: usize) {
        for _ in 0..limit {
            let batch = {
                let intake = self.lock();
                if intake.pending.is_empty() {
                    break;
                }
                intake.front(1)
            };
            if let Err(e) = in_transaction(conn, |tx| apply_records(tx, &batch, now_ms, true)) {
                let mut intake = self.lock();
                if intake.stuck.is_none() {
                    let record = match batch.first().map(|(_, item)| &**item) {
                        Some(Item::Event(e)) => format!("event {}", e.id),
                        Some(Item::Finished(f)) => format!("attempt of delivery {}", f.delivery),
                        None => String::new(),
                    };
                    tracing::error!(error = %e, record, waiting = intake.pending.len(), "the database refuses an acknowledged write from the intake log: it stays there and is retried every second; until then new writes commit directly and reads fail");
                }
                intake.stuck = Some(Stuck {
                    error: e.to_string(),
                    retry_at: Instant::now() + STUCK_RETRY,
                });
                intake.publish();
                return;
            }
            self.lock().applied(1);
        }
        let mut intake = self.lock();
        if intake.stuck.take().is_some() {
            tracing::info!("the intake log's refused writes are applied");
        }
        intake.publish();
    }

    /// Tries the records the database refused again now (a read wants them).
    pub(super) fn retry_stuck(&self, conn: &mut Connection) {
        if self.lock().stuck.is_some() {
            self.apply_one_by_one(conn, chrono::Utc::now().timestamp_millis(), usize::MAX);
        }
    }

    /// Stops recording on the callers' side (the store is closing) and writes what is
    /// buffered; what cannot be written joins the writer's last group.
    pub(super) fn stop_taking(
        &self,
        inserts: &mut Vec<(NewEvent, Reply)>,
        completions: &mut Vec<Completion>,
    ) {
        let acks = {
            let mut intake = self.lock_settled();
            intake.closed = true;
            let acks = intake.write_out();
            intake.take_requeued(inserts, completions);
            acks
        };
        acks.send();
        self.flush.notify_one();
    }

    /// At shutdown, after the last group commit: empties the log if everything is applied,
    /// and lets the flusher and the ticker find the store closed.
    pub(super) fn close(&self) {
        self.lock_settled().close();
        self.flush.notify_one();
    }
}

/// The log and the records it holds that the database does not.
pub(super) struct Intake {
    log: IntakeLog,
    /// Whether writes go through the log (not in power-loss mode, nor after a failed `write`).
    enabled: bool,
    /// Records written to the log and not yet applied, in sequence order.
    pending: VecDeque<Pending>,
    /// Writes in the log's buffer, waiting for its next `write`, in sequence order.
    unwritten: Vec<Unwritten>,
    /// Every record up to this sequence number is written.
    written_through: u64,
    /// The keys of the events recorded and not yet applied, with the sequence number of
    /// their record.
    keys: HashMap<DedupeKey, (EventId, u64)>,
    /// The newest keys per source, which prove most live events new without a lookup.
    recent: Recent,
    /// Wakes the task that sends [`Job::Tick`] after [`APPLY_AFTER`].
    ticker: Arc<Notify>,
    /// Whether a tick is on its way.
    pub(super) tick_armed: bool,
    stuck: Option<Stuck>,
    /// Set while the writer applies everything to empty the log.
    draining: bool,
    /// How many times the log was drained ([`DRAIN_AT`]).
    drains: u64,
    /// Set once the store is closing: callers' writes go to the writer, which refuses them.
    closed: bool,
    /// Writes whose record could not be written: the writer commits them directly.
    requeued: Vec<Job>,
    gauges: Arc<Gauges>,
    /// Bytes of the records written or buffered and not yet applied: what waits in memory
    /// (and in the file) for the database.
    pending_bytes: u64,
    /// Past this many, new events are refused ([`Error::Backlog`]); finished attempts are
    /// still taken (they are small, and refusing them would repeat deliveries).
    max_pending_bytes: u64,
    /// Set while the flusher writes a batch without the lock: nobody else writes or empties
    /// the file meanwhile, and the writer waits for it ([`Shared::lock_settled`]).
    flushing: bool,
}

impl Intake {
    /// The intake over `log`, holding the records recovered at open.
    pub(super) fn new(
        log: IntakeLog,
        recovered: Recovered,
        enabled: bool,
        ticker: Arc<Notify>,
        gauges: Arc<Gauges>,
        max_pending_bytes: u64,
    ) -> Self {
        let written_through = log.next_seq().saturating_sub(1);
        let mut intake = Self {
            log,
            enabled,
            pending: VecDeque::new(),
            unwritten: Vec::new(),
            written_through,
            keys: HashMap::new(),
            recent: Recent::default(),
            ticker,
            tick_armed: false,
            stuck: None,
            draining: false,
            drains: 0,
            closed: false,
            requeued: Vec::new(),
            gauges,
            pending_bytes: 0,
            max_pending_bytes,
            flushing: false,
        };
        let now = Instant::now();
        for (seq, item) in recovered.items {
            let key = match &item {
                Item::Event(e) => {
                    let key = DedupeKey::of(e);
                    intake.keys.insert(key.clone(), (e.id, seq));
                    Some(key)
                }
                Item::Finished(_) => None,
            };
            intake.pending.push_back(Pending {
                seq,
                // Recovered records are applied at once; they do not count against new ones.
                bytes: 0,
                since: now,
                key,
                item: Arc::new(item),
            });
        }
        // A file left with records the database already holds (its truncation was lost).
        if let Some(cut) = intake.sealed_cut() {
            let result = cut.run();
            intake.sealed_emptied(cut, result);
        }
        intake
    }

    /// Whether callers may record here now.
    fn takes_here(&self) -> bool {
        self.takes_writes() && !self.draining
    }

    /// Whether small batches that reach the writer may go to the log now.
    pub(super) fn takes_writes(&self) -> bool {
        self.enabled && self.stuck.is_none() && !self.closed
    }

    /// The recorded event with this key, if any, and whether its record is written.
    fn known(&self, key: &DedupeKey) -> Option<(EventId, bool)> {
        if self.keys.is_empty() {
            return None;
        }
        self.keys
            .get(key)
            .map(|&(id, seq)| (id, seq <= self.written_through))
    }

    /// Whether new events are refused: too much waits for the database.
    fn full(&self) -> bool {
        self.pending_bytes >= self.max_pending_bytes
    }

    /// Whether the writer may give the core back while it applies (see [`Yielder::new`]): not
    /// once more than [`BEHIND_AT`] waits for the database.
    pub(super) fn yields(&self) -> bool {
        self.pending_bytes < BEHIND_AT
    }

    fn add_event(&mut self, event: NewEvent, key: DedupeKey, reply: Reply) {
        self.recent.add(&key.source, key.time, key.hash);
        let before = self.log.buffered();
        let seq = self.log.push_event(&event);
        let bytes = (self.log.buffered() - before) as u64;
        self.pending_bytes += bytes;
        self.keys.insert(key.clone(), (event.id, seq));
        self.unwritten.push(Unwritten::Event {
            seq,
            bytes,
            key,
            event,
            reply,
        });
    }

    fn add_finished(&mut self, finished: Finished, reply: oneshot::Sender<Result<(), Error>>) {
        let before = self.log.buffered();
        let seq = self.log.push_finished(&finished);
        let bytes = (self.log.buffered() - before) as u64;
        self.pending_bytes += bytes;
        self.unwritten.push(Unwritten::Finished {
            seq,
            bytes,
            finished,
            reply,
        });
    }

    /// Writes what is buffered with one `write`, and returns the answers to send once the
    /// lock is released. If the `write` fails, the log is no longer used and its writes go
    /// to the writer instead ([`Self::take_requeued`]). Not while the flusher has a write in
    /// flight (the writer waits for it: [`Shared::lock_settled`]).
    pub(super) fn write_out(&mut self) -> Acks {
        if self.unwritten.is_empty() || self.flushing {
            return Acks::default();
        }
        let taken = std::mem::take(&mut self.unwritten);
        let result = match self.log.take_batch() {
            None => Ok(()),
            Some(batch) => {
                let written = batch.write();
                self.log.finish_batch(batch, written)
            }
        };
        self.settle(taken, result)
    }

    /// The flusher's next step: nothing to do, answers to send (nothing needed writing), or a
    /// batch to write without the lock and give back to [`Self::finish_flush`].
    pub(super) fn take_flush(&mut self) -> FlushStep {
        if self.unwritten.is_empty() || self.flushing {
            return FlushStep::Idle;
        }
        let Some(batch) = self.log.take_batch() else {
            return FlushStep::Done(self.write_out());
        };
        self.flushing = true;
        FlushStep::Write(Flush {
            batch,
            taken: std::mem::take(&mut self.unwritten),
        })
    }

    /// Accounts for a batch the flusher wrote.
    pub(super) fn finish_flush(&mut self, flush: Flush, written: std::io::Result<()>) -> Acks {
        self.flushing = false;
        let result = self.log.finish_batch(flush.batch, written);
        self.settle(flush.taken, result)
    }

    /// After the `write` of `taken`'s records: they become pending and are answered, or, if
    /// it failed, go to the writer with everything recorded since.
    fn settle(&mut self, taken: Vec<Unwritten>, result: Result<(), Error>) -> Acks {
        if let Err(e) = result {
            // The file's state is uncertain: stop using it.
            tracing::error!(error = %e, "writing the intake log failed; committing directly from now on");
            self.enabled = false;
            self.log.discard_buffer();
            let later = std::mem::take(&mut self.unwritten);
            for u in taken.into_iter().chain(later) {
                self.requeued.push(match u {
                    Unwritten::Event {
                        key,
                        event,
                        reply,
                        bytes,
                        ..
                    } => {
                        self.pending_bytes -= bytes;
                        self.keys.remove(&key);
                        Job::Insert { event, reply }
                    }
                    Unwritten::Duplicate { event, reply, .. } => Job::Insert { event, reply },
                    Unwritten::Finished {
                        finished,
                        reply,
                        bytes,
                        ..
                    } => {
                        self.pending_bytes -= bytes;
                        Job::Complete(Completion { finished, reply })
                    }
                });
            }
            return Acks::default();
        }
        let mut acks = Vec::with_capacity(taken.len());
        let now = Instant::now();
        for u in taken {
            match u {
                Unwritten::Event {
                    seq,
                    bytes,
                    key,
                    event,
                    reply,
                } => {
                    self.written_through = self.written_through.max(seq);
                    acks.push(Ack::Insert(
                        reply,
                        InsertOutcome {
                            id: event.id,
                            duplicate: false,
                        },
                    ));
                    self.pending.push_back(Pending {
                        seq,
                        bytes,
                        since: now,
                        key: Some(key),
                        item: Arc::new(Item::Event(event)),
                    });
                }
                Unwritten::Duplicate {
                    original, reply, ..
                } => acks.push(Ack::Insert(reply, duplicate_of(original))),
                Unwritten::Finished {
                    seq,
                    bytes,
                    finished,
                    reply,
                } => {
                    self.written_through = self.written_through.max(seq);
                    acks.push(Ack::Done(reply));
                    self.pending.push_back(Pending {
                        seq,
                        bytes,
                        since: now,
                        key: None,
                        item: Arc::new(Item::Finished(finished)),
                    });
                }
            }
        }
        // Before anyone hears back, so that a scrape after an acknowledgement sees the records.
        self.publish();
        Acks(acks)
    }

    /// Moves the writes the log could not take into the writer's group.
    pub(super) fn take_requeued(
        &mut self,
        inserts: &mut Vec<(NewEvent, Reply)>,
        completions: &mut Vec<Completion>,
    ) {
        for job in self.requeued.drain(..) {
            match job {
                Job::Insert { event, reply } => inserts.push((event, reply)),
                Job::Complete(c) => completions.push(c),
                _ => {}
            }
        }
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

    /// Records a small batch that reached the writer, looking up what the newest keys cannot
    /// prove new, and writes the log. Duplicates of written records are answered at once;
    /// the answers to the rest are returned. What cannot be recorded (the log's `write`
    /// failed) is left in `inserts` and `completions`, to be committed directly.
    pub(super) fn record(
        &mut self,
        conn: &Connection,
        inserts: &mut Vec<(NewEvent, Reply)>,
        completions: &mut Vec<Completion>,
    ) -> Acks {
        for (event, reply) in inserts.drain(..) {
            let key = DedupeKey::of(&event);
            match self.known(&key) {
                Some((id, true)) => {
                    let _ = reply.send(Ok(duplicate_of(id)));
                }
                Some((original, false)) => self.unwritten.push(Unwritten::Duplicate {
                    event,
                    original,
                    reply,
                }),
                None => match self.stored_original(conn, &key) {
                    Ok(Some(id)) => {
                        let _ = reply.send(Ok(duplicate_of(id)));
                    }
                    Ok(None) if self.full() => {
                        let _ = reply.send(Err(Error::Backlog(self.pending_bytes)));
                    }
                    Ok(None) => self.add_event(event, key, reply),
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                },
            }
        }
        for c in completions.drain(..) {
            self.add_finished(c.finished, c.reply);
        }
        let acks = self.write_out();
        self.take_requeued(inserts, completions);
        acks
    }

    /// The stored event with this key, if any: looked up, unless the newest keys prove
    /// there is none.
    fn stored_original(
        &mut self,
        conn: &Connection,
        key: &DedupeKey,
    ) -> Result<Option<EventId>, Error> {
        if !self.recent.knows(&key.source) {
            self.start_recent(conn, &key.source)?;
        }
        if self.recent.proves_new(&key.source, key.time, &key.hash) {
            return Ok(None);
        }
        find_original(conn, key)
    }

    /// Sets up the newest keys of `source` from the newest event stored or recorded.
    fn start_recent(&mut self, conn: &Connection, source: &str) -> Result<(), Error> {
        let stored: Option<i64> = conn
            .prepare_cached(NEWEST_TIME)?
            .query_row(params![source], |row| row.get(0))?;
        let waiting = self
            .keys
            .keys()
            .filter(|k| k.source == source)
            .map(|k| k.time)
            .max();
        self.recent.start(source, stored.max(waiting));
        Ok(())
    }

    /// After a direct commit of `source`'s events: sets its newest keys up again, so that
    /// callers go on recording its events where they arrive. (Otherwise, with enough of them
    /// waiting, every batch would reach the writer large and commit directly too.)
    pub(super) fn committed_directly(&mut self, conn: &Connection, source: &str) {
        if !self.recent.knows(source) {
            if let Err(e) = self.start_recent(conn, source) {
                tracing::debug!(error = %e, "setting up the newest keys failed; the writer looks events up");
            }
        }
    }

    /// Forgets the newest keys of a source whose events the writer commits directly: they are
    /// set up again from the database when next needed, and until then that source's events
    /// go to the writer. (Adding each event's key instead cost a hash and a tree insert per
    /// event on the path that closed-loop ingestion took, about 4% of its throughput.)
    pub(super) fn committing_directly(&mut self, source: &str) {
        self.recent.forget(source);
    }

    /// Forgets the newest keys before a write the writer cannot follow (a task).
    pub(super) fn forget_recent(&mut self) {
        self.recent.clear();
    }

    /// The recorded event that `e` duplicates, if any.
    pub(super) fn original_of(&self, e: &NewEvent) -> Option<EventId> {
        if self.keys.is_empty() {
            return None;
        }
        self.keys.get(&DedupeKey::of(e)).map(|&(id, _)| id)
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

    /// The first `n` pending records, for the writer to apply without the lock.
    pub(super) fn front(&self, n: usize) -> Vec<Record> {
        self.pending
            .iter()
            .take(n)
            .map(|p| (p.seq, Arc::clone(&p.item)))
            .collect()
    }

    /// Forgets the first `n` pending records: their transaction committed. Empties the log
    /// file no longer written once the database holds its records, and both files if they
    /// are long and hold nothing else.
    pub(super) fn applied(&mut self, n: usize) {
        for p in self.pending.drain(..n.min(self.pending.len())) {
            self.pending_bytes -= p.bytes;
            if let Some(key) = p.key {
                self.keys.remove(&key);
            }
        }
        if self.pending.is_empty()
            && self.unwritten.is_empty()
            && !self.flushing
            && self.log.active_len() >= DRAIN_AT
        {
            self.truncate();
        }
        self.draining = false;
        self.publish();
    }

    /// The cut of the log file no longer written, if the database holds all its records: the
    /// pending records are in order, and every record of that file was written (so pending
    /// or applied) before the other file took a write. Not once the log is off: its files are removed at close, and a cut that failed is
    /// not tried (and reported) again.
    fn sealed_cut(&mut self) -> Option<SealedCut> {
        if !self.enabled {
            return None;
        }
        let through = self.log.sealed_through()?;
        if self.pending.front().is_some_and(|p| p.seq <= through) {
            return None;
        }
        self.log.take_sealed_cut()
    }

    /// Accounts for a cut of [`Self::sealed_cut`].
    fn sealed_emptied(&mut self, cut: SealedCut, result: std::io::Result<()>) {
        if let Err(e) = self.log.sealed_emptied(cut, result) {
            tracing::error!(error = %e, "emptying the intake log failed; committing directly from now on");
            self.enabled = false;
        }
        self.publish();
    }

    fn truncate(&mut self) {
        if let Err(e) = self.log.truncate() {
            tracing::error!(error = %e, "emptying the intake log failed; committing directly from now on");
            self.enabled = false;
        }
    }

    fn close(&mut self) {
        self.closed = true;
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

/// Applies `batch` (the oldest pending records) in the transaction `tx` and stores the last
/// one's sequence number. Call [`Intake::applied`] once `tx` has committed.
pub(super) fn apply_records(
    tx: &Connection,
    batch: &[Record],
    now_ms: i64,
    yields: bool,
) -> Result<(), Error> {
    // A delivery attempted right after its event was acknowledged usually comes back before
    // the event reaches the database. Its first attempt is then written with the delivery
    // row, in the state it left it, instead of an insert and an update (which also moved it
    // into and out of the index of due deliveries).
    let mut fresh = HashSet::new();
    let mut first: HashMap<DeliveryId, &Finished> = HashMap::new();
    for (_, item) in batch {
        match &**item {
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
    let mut yielder = Yielder::new(yields);
    for (_, item) in batch {
        yielder.tick();
        match &**item {
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
    }
    if let Some((seq, _)) = batch.last() {
        tx.prepare_cached(SET_APPLIED)?
            .execute(params![i64::try_from(*seq).unwrap_or(i64::MAX)])?;
    }
    Ok(())
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

/// Where the flusher's `write` runs. A `write` to the page cache takes microseconds, and
/// handing each one to a blocking thread cost about a fifth of the server's CPU per delivered
/// event (two hand-overs per event: its record and its attempt's), so it runs on the runtime
/// while writes are fast. One that takes longer than [`SLOW_WRITE`] (a disk that stalls,
/// writeback throttling) moves the writes to a blocking thread for [`OFFLOAD_FOR`], and longer
/// while they stay slow: from then on a stalled disk holds up neither the runtime (on one
/// CPU, `/healthz` and every other request with it) nor callers recording. The first slow
/// write of an episode is still made on the runtime.
#[derive(Default)]
struct Offload {
    until: Option<Instant>,
}

/// A `write` slower than this moves writes off the runtime: far beyond a copy into the page
/// cache, and beyond the time slice another thread on the same CPU can take from this one.
const SLOW_WRITE: Duration = Duration::from_millis(10);
/// For this long after the last slow `write`.
const OFFLOAD_FOR: Duration = Duration::from_secs(10);

impl Offload {
    /// Writes `flush`, on the runtime or on a blocking thread; `None` if the blocking pool is
    /// gone.
    async fn write(&mut self, flush: Flush) -> Option<(Flush, std::io::Result<()>)> {
        // Timed where it runs: the wait for a blocking thread is not the disk's.
        let timed = move || {
            let started = Instant::now();
            let written = flush.write();
            (flush, written, started.elapsed())
        };
        let offloaded = self.until.is_some_and(|until| Instant::now() < until);
        let (flush, written, took) = if offloaded {
            tokio::task::spawn_blocking(timed).await.ok()?
        } else {
            timed()
        };
        if took >= SLOW_WRITE {
            if !offloaded {
                tracing::warn!(
                    took_ms = took.as_millis() as u64,
                    "an intake log write was slow; writing it off the runtime for a while"
                );
            }
            self.until = Some(Instant::now() + OFFLOAD_FOR);
        }
        Some((flush, written))
    }
}

/// The task that writes what callers recorded: woken by each record, it runs after the
/// requests that are ready, so one `write` takes all of theirs. The `write` is made without
/// the intake's lock (callers go on recording meanwhile), and off the runtime once writes
/// have been slow ([`Offload`]). Records the log could not take are handed to the writer,
/// which it wakes.
pub(super) fn spawn_flusher(shared: Arc<Shared>, queue: mpsc::WeakSender<Job>) {
    tokio::spawn(async move {
        let mut offload = Offload::default();
        loop {
            shared.flush.notified().await;
            let closed = loop {
                let step = {
                    let mut intake = shared.lock();
                    let step = intake.take_flush();
                    if matches!(step, FlushStep::Idle) {
                        intake.arm_ticker();
                        break intake.closed;
                    }
                    step
                };
                let acks = match step {
                    FlushStep::Idle => Acks::default(),
                    FlushStep::Done(acks) => acks,
                    FlushStep::Write(flush) => {
                        let Some((flush, written)) = offload.write(flush).await else {
                            // The blocking pool is gone (the runtime is shutting down); the
                            // writer applies what it can at close, the rest at the next open.
                            return;
                        };
                        let acks = shared.lock().finish_flush(flush, written);
                        shared.settled.notify_all();
                        acks
                    }
                };
                acks.send();
                let requeued = !shared.lock().requeued.is_empty();
                if requeued {
                    if let Some(queue) = queue.upgrade() {
                        let _ = queue.send(Job::Tick).await;
                    }
                }
            };
            if closed {
                break;
            }
        }
    });
}

/// The task that turns [`Intake::arm_ticker`]'s wake-ups into ticks after [`APPLY_AFTER`]. It
/// holds the writer's queue weakly, so a dropped store still stops its writer.
pub(super) fn spawn_ticker(queue: mpsc::WeakSender<Job>, ticker: Arc<Notify>) {
    tokio::spawn(async move {
        loop {
            ticker.notified().await;
            tokio::time::sleep(APPLY_AFTER).await;
            let Some(queue) = queue.upgrade() else {
                break;
            };
            if queue.send(Job::Tick).await.is_err() {
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
    for damaged in &recovered.damaged {
        tracing::error!(
            at = ?damaged.at,
            lost_bytes = damaged.lost_bytes,
            copy = %damaged.aside.display(),
            "the intake log is damaged: whole records follow bytes that fail their checksum, \
             which a crash never leaves. The file was copied aside as it was, and every record \
             that verifies, before and after the damage, is applied; what the damaged bytes \
             held is lost (look for it in the copy)"
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

    /// An empty database, closed.
    async fn created(dir: &tempfile::TempDir) -> std::path::PathBuf {
        let db = dir.path().join("events.db");
        SqliteStore::open(SqliteOptions::new(&db))
            .await
            .expect("create")
            .close()
            .await;
        db
    }

    /// What a process killed after acknowledging leaves behind: records in the log that the
    /// database does not have, the last one cut short.
    #[tokio::test]
    async fn records_left_by_a_crash_are_applied_at_open_exactly_once() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = created(&dir).await;

        let delivery = DeliveryId::new();
        let mut event = NewEvent::new("cal", Provider::Calendly, "k1", b"{}".to_vec());
        event.destinations = vec!["crm".into()];
        let mut claim = PreClaim::new("worker", Utc::now());
        claim.deliveries.push(("crm".into(), delivery));
        event.pre_claim = Some(claim);
        let finished = super::super::intake_log::Finished {
            delivery,
            lease: event.pre_claim.as_ref().map(|c| c.owner.clone()),
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

    /// A crash after the log switched files leaves records in both: all are applied at
    /// open, in order, once.
    #[tokio::test]
    async fn records_left_in_both_files_are_applied_at_open() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = created(&dir).await;
        let (mut log, _) = IntakeLog::open(&db, 0).expect("log");
        let t0 = Utc::now();
        let mut written = 0;
        while log.active_index() == 0 || written % 10 != 0 {
            log.push_event(&at(t0, &format!("k{written}"), written, &[b'x'; 512]));
            written += 1;
            if written % 10 == 0 {
                log.write_batch().expect("write");
            }
        }
        assert!(log.sealed_through().is_some());
        drop(log);

        let store = SqliteStore::open(SqliteOptions::new(&db))
            .await
            .expect("open");
        for i in 0..written {
            let again = store
                .insert_event(at(t0, &format!("k{i}"), i, &[b'x'; 512]))
                .await
                .expect("insert");
            assert!(again.duplicate, "k{i} was applied");
        }
        store.close().await;
        let stored: i64 = Connection::open(&db)
            .expect("open")
            .query_row("SELECT COUNT(*) FROM events", [], |row| row.get(0))
            .expect("count");
        assert_eq!(stored, written);
        for path in IntakeLog::paths_for(&db) {
            assert_eq!(std::fs::metadata(path).expect("file").len(), 0);
        }
    }

    fn at(t0: chrono::DateTime<Utc>, key: &str, ms: i64, body: &[u8]) -> NewEvent {
        let mut e = NewEvent::new("cal", Provider::Calendly, key, body.to_vec());
        e.occurred_at = Some(t0 + chrono::Duration::milliseconds(ms));
        e
    }

    /// A store whose newest keys of source "cal" are set up (by one event alone, which the
    /// writer looks up), so that the events after it are recorded where they arrive; and the
    /// time that event occurred.
    async fn streaming(dir: &tempfile::TempDir) -> (Arc<SqliteStore>, chrono::DateTime<Utc>) {
        let store = Arc::new(
            SqliteStore::open(SqliteOptions::new(dir.path().join("events.db")))
                .await
                .expect("open"),
        );
        let t0 = Utc::now();
        store
            .insert_event(at(t0, "first", 0, b"{}"))
            .await
            .expect("insert");
        (store, t0)
    }

    /// While the writer drains the log, callers hand their events to it, and a burst of them
    /// commits directly, past the newest keys callers check. Those keys are set up again
    /// from the database, so redeliveries of the burst are looked up, not recorded as new.
    #[tokio::test]
    async fn redeliveries_of_events_committed_while_the_log_drains_are_found() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Arc::new(
            SqliteStore::open(SqliteOptions::new(dir.path().join("events.db")))
                .await
                .expect("open"),
        );
        let intake = store.intake.clone().expect("the log is on");
        let t0 = Utc::now();
        // The writer is held in a task while the burst queues up, so that it reaches the
        // writer as one batch; meanwhile the newest keys of the source are set up (as the
        // first event of a stream would) and the log is draining.
        let (inside, held) = oneshot::channel();
        let hold = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .write(move |_| {
                        let _ = inside.send(());
                        std::thread::sleep(Duration::from_millis(200));
                        Ok(())
                    })
                    .await
            })
        };
        held.await.expect("the writer runs the task");
        {
            let mut state = intake.lock();
            state.recent.start("cal", Some(t0.timestamp_millis()));
            state.draining = true;
        }
        let burst = (0..200).map(|i| {
            let store = store.clone();
            let e = at(t0, &format!("k{i}"), 1 + i, b"{}");
            tokio::spawn(async move { store.insert_event(e).await.expect("insert") })
        });
        for inserted in futures_util::future::join_all(burst).await {
            assert!(!inserted.expect("task").duplicate);
        }
        hold.await.expect("task").expect("held");
        assert!(!intake.lock().draining, "the direct commit applied the log");
        for i in 0..200 {
            let again = store
                .insert_event(at(t0, &format!("k{i}"), 1 + i, b"{}"))
                .await
                .expect("insert");
            assert!(again.duplicate, "k{i}");
        }
        store.close().await;
    }

    /// Callers record all the time, so the log never empties by itself; the writer drains it
    /// (here at 64 KiB) and keeps it short while writes go on.
    #[tokio::test]
    async fn the_log_is_emptied_while_writes_go_on() {
        let dir = tempfile::tempdir().expect("tmp");
        let (store, t0) = streaming(&dir).await;
        let writers = (0..16i64).map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let (mut last, mut emptied) = (0, 0);
                for i in 0..150 {
                    let e = at(t0, &format!("w{w}-{i}"), 1 + i * 16 + w, &[b'x'; 1024]);
                    assert!(!store.insert_event(e).await.expect("insert").duplicate);
                    let now = store.intake_stats().expect("stats").log_bytes;
                    if now < last {
                        emptied += 1;
                    }
                    last = now;
                }
                emptied
            })
        });
        let emptied: u32 = futures_util::future::join_all(writers)
            .await
            .into_iter()
            .map(|n| n.expect("task"))
            .sum();
        // 2,400 records of over 1 KiB went through the log: 40 times the length that empties
        // it. (How long it grows between drains depends on how fast this machine applies.)
        assert!(emptied >= 3, "the log was seen emptied {emptied} times");
        store.close().await;
        let db = Connection::open(dir.path().join("events.db")).expect("open");
        let stored: i64 = db
            .query_row("SELECT COUNT(*) FROM events", [], |row| row.get(0))
            .expect("count");
        assert_eq!(stored, 1 + 16 * 150);
    }

    /// The two files take writes in turn, each emptied once the database holds its records,
    /// so no write waits for the log to be emptied: it is never drained. (It would be if the
    /// writer fell far behind, as on a machine busy with other tests: the writes here wait
    /// for it when the file being written is twice the switching length.)
    #[tokio::test]
    async fn the_files_take_writes_in_turn_and_the_log_is_never_drained() {
        let dir = tempfile::tempdir().expect("tmp");
        let (store, t0) = streaming(&dir).await;
        let intake = store.intake.clone().expect("the log is on");
        let [first, second] = IntakeLog::paths_for(&dir.path().join("events.db"));
        let mut seen_writing = [false; 2];
        for i in 0..1000 {
            let e = at(t0, &format!("k{i}"), 1 + i, &[b'x'; 512]);
            assert!(!store.insert_event(e).await.expect("insert").duplicate);
            for _ in 0..1000 {
                let behind = {
                    let state = intake.lock();
                    state.log.sealed_through().is_some() && state.log.active_len() >= 2 * SWITCH_AT
                };
                if !behind {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let state = intake.lock();
            seen_writing[state.log.active_index()] = true;
            let lens = [&first, &second].map(|p| std::fs::metadata(p).expect("file").len());
            // One file is written; the other is empty, or waits to be.
            assert!(
                lens[1 - state.log.active_index()] == 0 || state.log.sealed_through().is_some(),
                "{lens:?}"
            );
        }
        assert_eq!(seen_writing, [true, true]);
        assert_eq!(intake.lock().drains, 0);
        store.close().await;
        let db = Connection::open(dir.path().join("events.db")).expect("open");
        let stored: i64 = db
            .query_row("SELECT COUNT(*) FROM events", [], |row| row.get(0))
            .expect("count");
        assert_eq!(stored, 1001);
        for path in [first, second] {
            assert_eq!(
                std::fs::metadata(path).expect("file").len(),
                0,
                "emptied at close"
            );
        }
    }

    /// A failed `write` of the log loses nothing: the writes it held are committed directly
    /// and answered as if it had worked, the log is not used again, and duplicates are still
    /// found.
    #[tokio::test]
    async fn writes_the_log_cannot_take_are_committed_directly() {
        let dir = tempfile::tempdir().expect("tmp");
        let (store, t0) = streaming(&dir).await;
        let intake = store.intake.clone().expect("the log is on");
        intake.lock().log.fail_writes();
        let burst = (0..50).map(|i| {
            let store = store.clone();
            let e = at(t0, &format!("k{i}"), 1 + i, b"{}");
            tokio::spawn(async move { store.insert_event(e).await.expect("insert") })
        });
        let ids: Vec<EventId> = futures_util::future::join_all(burst)
            .await
            .into_iter()
            .map(|r| {
                let outcome = r.expect("task");
                assert!(!outcome.duplicate);
                outcome.id
            })
            .collect();
        assert!(!intake.lock().takes_writes(), "the log is no longer used");
        for (i, id) in ids.iter().enumerate() {
            let stored = store.get_event(*id).await.expect("get");
            assert!(stored.is_some(), "k{i} is stored");
            let again = store
                .insert_event(at(t0, &format!("k{i}"), 1 + i as i64, b"{}"))
                .await
                .expect("insert");
            assert_eq!((again.id, again.duplicate), (*id, true), "k{i}");
        }
        store.close().await;
    }

    /// A slow disk holds up neither the runtime nor callers: once a `write` has been slow, the
    /// flusher's next ones run on a blocking thread, and none holds the intake's lock. (They
    /// used to run on the runtime, lock held, so on a one-thread runtime every request,
    /// `/healthz` included, waited for the disk.)
    #[tokio::test]
    async fn a_slow_log_write_does_not_stall_the_runtime() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = SqliteStore::open(SqliteOptions::new(dir.path().join("events.db")))
            .await
            .expect("open");
        let event = |key: &str| {
            let mut e = NewEvent::new("cal", Provider::Calendly, key, b"{}".to_vec());
            e.occurred_at = Some(Utc::now());
            e
        };
        // The source's first event is looked up by the writer; the next are recorded here.
        store.insert_event(event("first")).await.expect("insert");
        let intake = store.intake.clone().expect("intake log on");
        // A first slow write (made on the runtime) tells the flusher the disk is slow...
        intake.lock().log.write_delay = Duration::from_millis(30);
        store.insert_event(event("second")).await.expect("insert");
        // ...so that the next ones, slower still, are made off it.
        intake.lock().log.write_delay = Duration::from_millis(500);
        let store = Arc::new(store);
        let started = Instant::now();
        let slow = tokio::spawn({
            let store = store.clone();
            async move { store.insert_event(event("slow")).await }
        });
        // The flusher starts its write while this (one-thread) runtime goes on.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let took = started.elapsed();
        assert!(
            took < Duration::from_millis(300),
            "the runtime stalled for {took:?}"
        );
        // Callers can record meanwhile: the lock is free while the write is in flight.
        assert!(!slow.is_finished(), "the write is still in flight");
        assert!(
            intake.state.try_lock().is_ok(),
            "the intake's lock is held during the write"
        );
        let out = slow.await.expect("task").expect("insert");
        assert!(!out.duplicate);
        intake.lock().log.write_delay = Duration::ZERO;
        store.close().await;
    }
}
