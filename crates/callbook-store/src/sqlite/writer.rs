//! The single writer: one thread that owns the only writing connection. SQLite allows one
//! writer at a time; funnelling every write through one thread avoids lock contention, and
//! draining the queue into one transaction commits concurrent requests together, so
//! durability costs one commit (and in power-loss mode one fsync) per batch rather than per
//! event.
//!
//! The thread drives SQLite synchronously with prepared, cached statements: a batch is one
//! hand-over in and one reply per job out, however many statements it runs. (Through an async
//! driver every statement was a round trip between the runtime and the driver's thread, and
//! under load each of those waited behind every ready request.)

use super::intake::{Shared, apply_records, commits_directly};
use super::intake_log::Finished;
use super::rows::headers_json;
use super::yielding::Yielder;
use crate::Error;
use crate::delivery::{AttemptRecord, Claimed, DeliveryId, DeliveryState, Lease, Outcome};
use crate::model::{EventId, InsertOutcome, NewEvent, ParseStatus};
use crate::rows::{dedupe_hash, dedupe_time};
use rusqlite::{Connection, params};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// A write other than an insert or a completion, run alone in the writer.
pub(super) type Task = Box<dyn FnOnce(&mut Connection) + Send>;

pub(super) struct Completion {
    pub(super) finished: Finished,
    pub(super) reply: oneshot::Sender<Result<(), Error>>,
}

/// Claims due deliveries of one destination, leasing them to `owner` until `until` (UNIX ms).
pub(super) struct Claim {
    pub(super) destination: String,
    pub(super) owner: String,
    pub(super) now: i64,
    pub(super) until: i64,
    pub(super) limit: u32,
    pub(super) reply: oneshot::Sender<Result<Vec<Claimed>, Error>>,
}

pub(super) enum Job {
    Insert {
        event: NewEvent,
        reply: oneshot::Sender<Result<InsertOutcome, Error>>,
    },
    Complete(Completion),
    /// Runs in the group's transaction: a claim of its own cost a commit of its own.
    Claim(Claim),
    Run(Task),
    /// Applies what the intake log holds, so that a read after it sees every acknowledged
    /// write.
    Flush(oneshot::Sender<Result<(), Error>>),
    /// The intake log's records may be due for applying.
    Tick,
    Shutdown,
}

pub(super) type Reply = oneshot::Sender<Result<InsertOutcome, Error>>;

/// How the writer batches.
pub(super) struct Batching {
    /// Most jobs in one transaction.
    pub(super) max: usize,
    /// Longest a batch keeps gathering jobs before it commits (zero: commit what is queued).
    pub(super) gather: Duration,
}

/// Starts the writer thread. `done` fires once it has stopped and closed the connection.
pub(super) fn spawn(
    conn: Connection,
    rx: mpsc::Receiver<Job>,
    batching: Batching,
    intake: Arc<Shared>,
    done: oneshot::Sender<()>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("callbook-sqlite-writer".into())
        .spawn(move || {
            run(conn, rx, &batching, &intake);
            let _ = done.send(());
        })
        .map(drop)
}

fn run(mut conn: Connection, mut rx: mpsc::Receiver<Job>, batching: &Batching, intake: &Shared) {
    let max = batching.max.max(1);
    let mut inserts: Vec<(NewEvent, Reply)> = Vec::with_capacity(max);
    let mut completions: Vec<Completion> = Vec::with_capacity(max);
    let mut claims: Vec<Claim> = Vec::new();
    let mut flushes: Vec<oneshot::Sender<Result<(), Error>>> = Vec::new();
    let mut shutting_down = false;
    while !shutting_down {
        {
            let mut state = intake.lock();
            state.arm_ticker();
            // Writes the log could not take (its `write` failed) commit directly.
            state.take_requeued(&mut inserts, &mut completions);
        }
        let mut next = if inserts.is_empty() && completions.is_empty() {
            let Some(first) = rx.blocking_recv() else {
                break;
            };
            Some(first)
        } else {
            rx.try_recv().ok()
        };
        let gathering_since = Instant::now();
        // Drain what is queued into one group commit; a task runs after the writes queued
        // before it, in order.
        let mut task: Option<Task> = None;
        loop {
            while let Some(job) = next.take() {
                match job {
                    Job::Insert { event, reply } => inserts.push((event, reply)),
                    Job::Complete(c) => completions.push(c),
                    Job::Claim(c) => claims.push(c),
                    Job::Flush(reply) => flushes.push(reply),
                    Job::Tick => intake.lock().tick_armed = false,
                    Job::Run(t) => {
                        task = Some(t);
                        break;
                    }
                    Job::Shutdown => {
                        shutting_down = true;
                        rx.close();
                    }
                }
                if inserts.len() + completions.len() < max {
                    next = rx.try_recv().ok();
                }
            }
            if task.is_some()
                || shutting_down
                || inserts.len() + completions.len() >= max
                || gathering_since.elapsed() >= batching.gather
            {
                break;
            }
            // Before committing, let requests that are ready run (they add their events to
            // this batch). Every commit rewrites whole pages (the last table page, one per
            // index), so a batch of 3 writes several times the bytes per event that a batch
            // of 30 does. Stop as soon as a pass brings nothing new.
            std::thread::yield_now();
            match rx.try_recv() {
                Ok(job) => next = Some(job),
                Err(_) => break,
            }
        }
        if shutting_down {
            intake.stop_taking(&mut inserts, &mut completions);
        }
        // Claims, tasks and reads must see everything acknowledged before them.
        let apply_all =
            !claims.is_empty() || task.is_some() || !flushes.is_empty() || shutting_down;
        let writes = inserts.len() + completions.len();
        if !apply_all && writes > 0 && !commits_directly(inserts.len(), writes) {
            let acks = {
                let mut state = intake.lock();
                if state.takes_writes() {
                    state.record(&conn, &mut inserts, &mut completions)
                } else {
                    Default::default()
                }
            };
            acks.send();
        }
        if !inserts.is_empty()
            || !completions.is_empty()
            || !claims.is_empty()
            || (apply_all && intake.lock().appliable() > 0)
        {
            commit_group(
                &mut conn,
                intake,
                &mut inserts,
                &mut completions,
                &mut claims,
            );
        }
        if !flushes.is_empty() {
            intake.retry_stuck(&mut conn);
            let state = intake.lock();
            state.publish();
            for reply in flushes.drain(..) {
                let _ = reply.send(state.health());
            }
        }
        if let Some(task) = task {
            intake.lock().forget_recent();
            task(&mut conn);
        }
        intake.apply_due(&mut conn);
    }
    // The store was dropped without closing it: what the log holds goes in now (it would be
    // applied at the next open otherwise).
    intake.stop_taking(&mut inserts, &mut completions);
    if intake.lock().appliable() > 0 || !inserts.is_empty() || !completions.is_empty() {
        commit_group(
            &mut conn,
            intake,
            &mut inserts,
            &mut completions,
            &mut claims,
        );
    }
    // Anything still queued after a shutdown request is refused, not silently dropped.
    while let Ok(job) = rx.try_recv() {
        match job {
            Job::Insert { reply, .. } => {
                let _ = reply.send(Err(Error::Closed));
            }
            Job::Complete(c) => {
                let _ = c.reply.send(Err(Error::Closed));
            }
            Job::Claim(c) => {
                let _ = c.reply.send(Err(Error::Closed));
            }
            Job::Flush(reply) => {
                let _ = reply.send(Err(Error::Closed));
            }
            Job::Run(_) | Job::Tick | Job::Shutdown => {}
        }
    }
    intake.close();
    if let Err((_, e)) = conn.close() {
        tracing::warn!(error = %e, "closing the SQLite writer connection");
    }
}

/// The writer's busy handler: the lock it waits for (a checkpoint finishing with the WAL)
/// is held for well under a millisecond, so it retries every 50 µs, for up to 10 s in all.
/// SQLite's default handler sleeps 1, 2, 5, 10, 15 ms and so on, and every request of the
/// batch would wait those sleeps out.
pub(super) fn retry_when_busy(attempt: i32) -> bool {
    const PAUSE: Duration = Duration::from_micros(50);
    const ATTEMPTS: i32 = 200_000; // 10 s of pauses
    if attempt >= ATTEMPTS {
        return false;
    }
    std::thread::sleep(PAUSE);
    true
}

/// Commits a group in one transaction, after the intake's pending records; claims run last in
/// it, so they see the deliveries this group inserted and return nothing that is not
/// committed. If the group fails, each job runs again in a transaction of its own, so one bad
/// event fails alone instead of taking its batch with it.
fn commit_group(
    conn: &mut Connection,
    intake: &Shared,
    inserts: &mut Vec<(NewEvent, Reply)>,
    completions: &mut Vec<Completion>,
    claims: &mut Vec<Claim>,
) {
    let now = chrono::Utc::now().timestamp_millis();
    // Under one hold of the lock: every recorded event's record is written (so that a
    // duplicate answered from it is on disk), callers stop proving this group's sources' events
    // new (they could not see this group's keys), and the records to apply are taken.
    let mut state = intake.lock_settled();
    let acks = state.write_out();
    state.take_requeued(inserts, completions);
    let mut sources: Vec<&str> = inserts.iter().map(|(e, _)| e.source.as_str()).collect();
    sources.sort_unstable();
    sources.dedup();
    for source in &sources {
        state.committing_directly(source);
    }
    let batch = state.front(state.appliable());
    let yields = state.yields();
    let originals: Vec<Option<EventId>> =
        inserts.iter().map(|(e, _)| state.original_of(e)).collect();
    drop(state);
    acks.send();
    let insert = |tx: &Connection, original: Option<EventId>, event: &NewEvent| match original {
        Some(id) => Ok(InsertOutcome {
            id,
            duplicate: true,
        }),
        None => insert_one(tx, event),
    };
    let together = in_transaction(conn, |tx| {
        apply_records(tx, &batch, now, yields)?;
        let mut yielder = Yielder::new(yields);
        let outcomes = inserts
            .iter()
            .zip(&originals)
            .map(|((event, _), original)| {
                yielder.tick();
                insert(tx, *original, event)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        for c in completions.iter() {
            complete_one(tx, &c.finished, now)?;
        }
        let claimed = claims
            .iter()
            .map(|c| claim_one(tx, c))
            .collect::<Result<Vec<_>, Error>>()?;
        Ok((outcomes, claimed))
    });
    match together {
        Ok((outcomes, claimed)) => {
            {
                let mut state = intake.lock();
                state.applied(batch.len());
                for source in sources {
                    state.committed_directly(conn, source);
                }
            }
            for ((_, reply), outcome) in inserts.drain(..).zip(outcomes) {
                let _ = reply.send(Ok(outcome));
            }
            for c in completions.drain(..) {
                let _ = c.reply.send(Ok(()));
            }
            for (c, deliveries) in claims.drain(..).zip(claimed) {
                let _ = c.reply.send(Ok(deliveries));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, jobs = inserts.len() + completions.len() + claims.len(), pending = batch.len(), "write group failed; committing its jobs one by one");
            if !batch.is_empty() {
                intake.apply_one_by_one(conn, now, batch.len());
            }
            for ((event, reply), original) in inserts.drain(..).zip(originals) {
                let result = in_transaction(conn, |tx| insert(tx, original, &event));
                if let Err(e) = &result {
                    tracing::error!(error = %e, event_id = %event.id, "event not stored");
                }
                let _ = reply.send(result);
            }
            for c in completions.drain(..) {
                let result = in_transaction(conn, |tx| complete_one(tx, &c.finished, now));
                if let Err(e) = &result {
                    tracing::error!(error = %e, delivery = %c.finished.delivery, "attempt not recorded");
                }
                let _ = c.reply.send(result);
            }
            for c in claims.drain(..) {
                let result = in_transaction(conn, |tx| claim_one(tx, &c));
                let _ = c.reply.send(result);
            }
        }
    }
}

const SELECT_DUE: &str = "SELECT d.id, d.event_id, d.attempts, e.source, e.provider, \
    e.event_type, e.body FROM deliveries d JOIN events e ON e.id = d.event_id \
    WHERE d.destination = ?1 AND d.state = 'pending' AND d.next_attempt_at <= ?2 \
    AND (d.lease_until IS NULL OR d.lease_until <= ?2) \
    ORDER BY d.next_attempt_at LIMIT ?3";

const LEASE: &str = "UPDATE deliveries SET lease_owner = ?1, lease_until = ?2 WHERE id = ?3";

/// Leases up to `limit` due deliveries. The writer is the only one: nothing can claim between
/// the SELECT and the UPDATEs.
fn claim_one(tx: &Connection, c: &Claim) -> Result<Vec<Claimed>, Error> {
    let token = Lease::new(&c.owner);
    let mut select = tx.prepare_cached(SELECT_DUE)?;
    let mut rows = select.query(params![c.destination, c.now, i64::from(c.limit)])?;
    let mut claimed = Vec::new();
    while let Some(row) = rows.next()? {
        claimed.push(self::claimed(row, &c.destination, &token)?);
    }
    let mut lease = tx.prepare_cached(LEASE)?;
    for d in &claimed {
        lease.execute(params![
            token.as_str(),
            c.until,
            d.id.as_uuid().as_bytes().as_slice()
        ])?;
    }
    Ok(claimed)
}

/// Runs `f` in an immediate transaction, committing on success and rolling back otherwise.
/// `BEGIN` and `COMMIT` go through the statement cache: rusqlite's `Transaction` prepares them
/// anew for every batch.
pub(super) fn in_transaction<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Connection) -> Result<T, Error>,
) -> Result<T, Error> {
    conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    let result = f(conn).and_then(|value| {
        conn.prepare_cached("COMMIT")?.execute([])?;
        Ok(value)
    });
    if result.is_err() && !conn.is_autocommit() {
        if let Err(e) = conn.execute_batch("ROLLBACK") {
            tracing::warn!(error = %e, "rolling back a failed write");
        }
    }
    result
}

const INSERT_EVENT: &str = "INSERT INTO events (id, source, dedupe_time, dedupe_hash, provider, \
    event_type, dedupe_key, received_at, occurred_at, headers, parse_status, parse_error, body, \
    search_keys) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
    ON CONFLICT (source, dedupe_time, dedupe_hash) DO NOTHING";

pub(super) const SELECT_ORIGINAL: &str =
    "SELECT id FROM events WHERE source = ?1 AND dedupe_time = ?2 AND dedupe_hash = ?3";

const INSERT_SEARCH: &str = "INSERT INTO event_search (rowid, keys) VALUES (?1, ?2)";

const INSERT_DELIVERY: &str = "INSERT INTO deliveries (id, event_id, destination, state, \
    attempts, next_attempt_at, created_at, updated_at, lease_owner, lease_until) \
    VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?4, ?4, ?5, ?6) \
    ON CONFLICT (event_id, destination) DO NOTHING";

/// Inserts one event, or finds the original it duplicates (stored before, or earlier in the
/// same batch); the outbox rows of a new event go in the same transaction.
pub(super) fn insert_one(tx: &Connection, e: &NewEvent) -> Result<InsertOutcome, Error> {
    insert_with(tx, e, |_| None, 0)
}

/// [`insert_one`], writing a delivery whose first attempt `finished` knows (the attempt came
/// back before the event reached the database) directly in the state that attempt left it.
pub(super) fn insert_with<'f>(
    tx: &Connection,
    e: &NewEvent,
    finished: impl Fn(DeliveryId) -> Option<&'f Finished>,
    now: i64,
) -> Result<InsertOutcome, Error> {
    let hash = dedupe_hash(&e.dedupe_key);
    let id = e.id.as_uuid().into_bytes();
    let (status, error) = match &e.parse_status {
        ParseStatus::Parsed => ("parsed", None),
        ParseStatus::Unparsed(err) => ("unparsed", Some(err.as_str())),
    };
    let search_keys = crate::search::hex_keys(&crate::search::event_keys(&hash, &e.subjects), " ");
    let inserted = tx.prepare_cached(INSERT_EVENT)?.execute(params![
        id.as_slice(),
        e.source,
        dedupe_time(e),
        hash.as_slice(),
        e.provider.as_str(),
        e.event_type,
        e.dedupe_key,
        e.received_at.timestamp_millis(),
        e.occurred_at.map(|t| t.timestamp_millis()),
        headers_json(&e.headers),
        status,
        error,
        e.body,
        search_keys,
    ])?;
    if inserted == 0 {
        let original: Vec<u8> = tx
            .prepare_cached(SELECT_ORIGINAL)?
            .query_row(params![e.source, dedupe_time(e), hash.as_slice()], |row| {
                row.get(0)
            })?;
        return Ok(InsertOutcome {
            id: EventId::from(crate::rows::uuid(&original)?),
            duplicate: true,
        });
    }
    tx.prepare_cached(INSERT_SEARCH)?
        .execute(params![tx.last_insert_rowid(), search_keys])?;
    let at = e.received_at.timestamp_millis();
    let mut delivery = tx.prepare_cached(INSERT_DELIVERY)?;
    for row in e.delivery_rows() {
        let key = row.id.as_uuid().into_bytes();
        let Some(f) = finished(row.id) else {
            delivery.execute(params![
                key.as_slice(),
                id.as_slice(),
                row.destination,
                at,
                row.lease_owner,
                row.lease_until,
            ])?;
            continue;
        };
        let (state, next) = after(f.outcome, now);
        let a = &f.attempt;
        tx.prepare_cached(INSERT_ATTEMPTED)?.execute(params![
            key.as_slice(),
            id.as_slice(),
            row.destination,
            state.as_str(),
            next,
            at,
            now,
            a.status_code,
            a.error,
        ])?;
        record_attempt(tx, &key, a)?;
    }
    Ok(InsertOutcome {
        id: e.id,
        duplicate: false,
    })
}

const INSERT_ATTEMPT: &str = "INSERT INTO attempts (delivery_id, attempted_at, status_code, \
    latency_ms, error, response_excerpt) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

const FINISH_ATTEMPT: &str = "UPDATE deliveries SET state = ?2, next_attempt_at = ?3, \
    attempts = attempts + 1, last_status = ?4, last_error = ?5, lease_owner = NULL, \
    lease_until = NULL, updated_at = ?6 WHERE id = ?1";

/// A delivery written with its first attempt made: what [`INSERT_DELIVERY`] then
/// [`FINISH_ATTEMPT`] would leave.
const INSERT_ATTEMPTED: &str = "INSERT INTO deliveries (id, event_id, destination, state, \
    attempts, next_attempt_at, created_at, updated_at, lease_owner, lease_until, last_status, \
    last_error) VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7, NULL, NULL, ?8, ?9) \
    ON CONFLICT (event_id, destination) DO NOTHING";

/// [`FINISH_ATTEMPT`] for an attempt made under a lease: see [`crate::delivery::finish_sql`].
static FINISH_LEASED: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let set = crate::delivery::finish_sql(&crate::delivery::FinishParams {
        from: "",
        table: "",
        id: "?1",
        lease: "?7",
        state: "?2",
        next: "?3",
        status: "?4",
        error: "?5",
        now: "?6",
    });
    format!("UPDATE deliveries SET {set}")
});

/// Records an attempt and moves its delivery on, if the attempt's lease still holds it.
pub(super) fn complete_one(tx: &Connection, c: &Finished, now: i64) -> Result<(), Error> {
    let id = c.delivery.as_uuid().into_bytes();
    let a = &c.attempt;
    record_attempt(tx, &id, a)?;
    let (state, next) = after(c.outcome, now);
    match &c.lease {
        Some(lease) => tx.prepare_cached(&FINISH_LEASED)?.execute(params![
            id.as_slice(),
            state.as_str(),
            next,
            a.status_code,
            a.error,
            now,
            lease.as_str(),
        ])?,
        None => tx.prepare_cached(FINISH_ATTEMPT)?.execute(params![
            id.as_slice(),
            state.as_str(),
            next,
            a.status_code,
            a.error,
            now,
        ])?,
    };
    Ok(())
}

/// A delivery's state and next attempt time after an attempt with this outcome.
fn after(outcome: Outcome, now: i64) -> (DeliveryState, i64) {
    match outcome {
        Outcome::Succeeded => (DeliveryState::Succeeded, now),
        Outcome::Retry(at) => (DeliveryState::Pending, at.timestamp_millis()),
        Outcome::Dead => (DeliveryState::Dead, now),
    }
}

fn record_attempt(tx: &Connection, delivery: &[u8; 16], a: &AttemptRecord) -> Result<(), Error> {
    tx.prepare_cached(INSERT_ATTEMPT)?.execute(params![
        delivery.as_slice(),
        a.attempted_at.timestamp_millis(),
        a.status_code,
        i64::try_from(a.latency_ms).unwrap_or(i64::MAX),
        a.error,
        a.response_excerpt,
    ])?;
    Ok(())
}

/// A claimed delivery from a row of `d.id, d.event_id, d.attempts, e.source, e.provider,
/// e.event_type, e.body`.
pub(super) fn claimed(
    row: &rusqlite::Row<'_>,
    destination: &str,
    lease: &Lease,
) -> Result<Claimed, Error> {
    let id: Vec<u8> = row.get(0)?;
    let event: Vec<u8> = row.get(1)?;
    let provider: String = row.get(4)?;
    Ok(Claimed {
        id: crate::rows::uuid(&id)?.into(),
        lease: lease.clone(),
        destination: destination.to_owned(),
        attempts: u32::try_from(row.get::<_, i64>(2)?).unwrap_or(0),
        event_id: crate::rows::uuid(&event)?.into(),
        source: row.get(3)?,
        provider: provider
            .parse()
            .map_err(|e: crate::UnknownProvider| Error::Corrupt(e.to_string()))?,
        event_type: row.get(5)?,
        body: row.get(6)?,
    })
}
