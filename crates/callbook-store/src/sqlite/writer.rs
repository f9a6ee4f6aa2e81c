//! The single writer. SQLite allows one writer at a time; funnelling every write through one
//! task avoids lock contention, and draining the queue into one transaction commits concurrent
//! requests together, so durability costs one commit (and in power-loss mode one fsync) per
//! batch rather than per event.

use super::rows::headers_json;
use crate::Error;
use crate::delivery::{AttemptRecord, DeliveryId, DeliveryState, Outcome};
use crate::model::{EventId, InsertOutcome, NewEvent, ParseStatus};
use crate::rows::{dedupe_hash, dedupe_time};
use sqlx::sqlite::SqliteConnection;
use sqlx::{Connection, QueryBuilder, Row, Sqlite};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// A write other than an insert or a completion, run alone in the writer.
pub(super) type Task = Box<
    dyn for<'c> FnOnce(&'c mut SqliteConnection) -> futures_util::future::BoxFuture<'c, ()> + Send,
>;

pub(super) struct Completion {
    pub(super) delivery: DeliveryId,
    pub(super) attempt: AttemptRecord,
    pub(super) outcome: Outcome,
    pub(super) reply: oneshot::Sender<Result<(), Error>>,
}

pub(super) enum Job {
    Insert {
        event: NewEvent,
        reply: oneshot::Sender<Result<InsertOutcome, Error>>,
    },
    Complete(Completion),
    Run(Task),
    Shutdown,
}

type Reply = oneshot::Sender<Result<InsertOutcome, Error>>;

pub(super) async fn run(
    mut conn: SqliteConnection,
    mut rx: mpsc::Receiver<Job>,
    max_batch: usize,
    gather: Duration,
    done: oneshot::Sender<()>,
) {
    let mut inserts: Vec<(NewEvent, Reply)> = Vec::with_capacity(max_batch);
    let mut completions: Vec<Completion> = Vec::with_capacity(max_batch);
    let mut shutting_down = false;
    while !shutting_down {
        let Some(first) = rx.recv().await else { break };
        let mut next = Some(first);
        let gathering_since = Instant::now();
        // Drain what is queued into one group commit; a task runs after the writes queued
        // before it, in order.
        let mut task: Option<Task> = None;
        loop {
            while let Some(job) = next.take() {
                match job {
                    Job::Insert { event, reply } => inserts.push((event, reply)),
                    Job::Complete(c) => completions.push(c),
                    Job::Run(t) => {
                        task = Some(t);
                        break;
                    }
                    Job::Shutdown => {
                        shutting_down = true;
                        rx.close();
                    }
                }
                if inserts.len() + completions.len() < max_batch {
                    next = rx.try_recv().ok();
                }
            }
            if task.is_some()
                || shutting_down
                || inserts.len() + completions.len() >= max_batch
                || gathering_since.elapsed() >= gather
            {
                break;
            }
            // Before committing, let the requests that are ready run: they add their events
            // to this batch. Every commit rewrites whole pages (the last table page, one per
            // index), so a batch of 3 writes several times the bytes per event that a batch
            // of 30 does. Stop as soon as a pass brings nothing new.
            tokio::task::yield_now().await;
            match rx.try_recv() {
                Ok(job) => next = Some(job),
                Err(_) => break,
            }
        }
        if !inserts.is_empty() || !completions.is_empty() {
            commit_group(&mut conn, &mut inserts, &mut completions).await;
        }
        if let Some(task) = task {
            task(&mut conn).await;
        }
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
            Job::Run(_) | Job::Shutdown => {}
        }
    }
    let _ = conn.close().await;
    let _ = done.send(());
}

async fn commit_group(
    conn: &mut SqliteConnection,
    inserts: &mut Vec<(NewEvent, Reply)>,
    completions: &mut Vec<Completion>,
) {
    let events: Vec<&NewEvent> = inserts.iter().map(|(e, _)| e).collect();
    let result = async {
        // Events without deliveries and nothing else to record: the multi-row INSERT is atomic
        // on its own, and skipping BEGIN/COMMIT saves two round trips to the driver's thread.
        // (A follow-up SELECT for duplicates reads what that INSERT committed; this task is the
        // only writer.)
        if completions.is_empty() && events.iter().all(|e| e.destinations.is_empty()) {
            return insert_batch(&mut *conn, &events).await;
        }
        let mut tx = conn.begin().await?;
        let outcomes = if events.is_empty() {
            Vec::new()
        } else {
            insert_batch(&mut tx, &events).await?
        };
        if !completions.is_empty() {
            complete_batch(&mut tx, completions).await?;
        }
        tx.commit().await?;
        Ok::<_, Error>(outcomes)
    }
    .await;
    match result {
        Ok(outcomes) => {
            for ((_, reply), outcome) in inserts.drain(..).zip(outcomes) {
                let _ = reply.send(Ok(outcome));
            }
            for c in completions.drain(..) {
                let _ = c.reply.send(Ok(()));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, events = inserts.len(), "write group not committed");
            let message = e.to_string();
            let failed = || Error::Database(sqlx::Error::Protocol(message.clone()));
            for (_, reply) in inserts.drain(..) {
                let _ = reply.send(Err(failed()));
            }
            for c in completions.drain(..) {
                let _ = c.reply.send(Err(failed()));
            }
        }
    }
}

/// Records attempts and moves deliveries on: one multi-row `INSERT` and one `UPDATE ... FROM`.
async fn complete_batch(
    tx: &mut SqliteConnection,
    completions: &[Completion],
) -> Result<(), Error> {
    let ids: Vec<[u8; 16]> = completions
        .iter()
        .map(|c| c.delivery.as_uuid().into_bytes())
        .collect();
    let mut attempts: QueryBuilder<'_, Sqlite> = QueryBuilder::new(
        "INSERT INTO attempts (delivery_id, attempted_at, status_code, latency_ms, error, \
         response_excerpt) ",
    );
    attempts.push_values(completions.iter().zip(&ids), |mut b, (c, id)| {
        b.push_bind(id.as_slice())
            .push_bind(c.attempt.attempted_at.timestamp_millis())
            .push_bind(c.attempt.status_code.map(i64::from))
            .push_bind(i64::try_from(c.attempt.latency_ms).unwrap_or(i64::MAX))
            .push_bind(c.attempt.error.as_deref())
            .push_bind(c.attempt.response_excerpt.as_deref());
    });
    attempts.build().execute(&mut *tx).await?;

    let now = chrono::Utc::now().timestamp_millis();
    let mut update: QueryBuilder<'_, Sqlite> = QueryBuilder::new(
        "UPDATE deliveries SET state = v.column2, next_attempt_at = v.column3, \
         attempts = attempts + 1, last_status = v.column4, last_error = v.column5, \
         lease_owner = NULL, lease_until = NULL, updated_at = v.column6 FROM (",
    );
    update.push_values(completions.iter().zip(&ids), |mut b, (c, id)| {
        let (state, next) = match c.outcome {
            Outcome::Succeeded => (DeliveryState::Succeeded, now),
            Outcome::Retry(at) => (DeliveryState::Pending, at.timestamp_millis()),
            Outcome::Dead => (DeliveryState::Dead, now),
        };
        b.push_bind(id.as_slice())
            .push_bind(state.as_str())
            .push_bind(next)
            .push_bind(c.attempt.status_code.map(i64::from))
            .push_bind(c.attempt.error.as_deref())
            .push_bind(now);
    });
    update.push(") AS v WHERE deliveries.id = v.column1");
    update.build().execute(&mut *tx).await?;
    Ok(())
}

/// Inserts a batch in one transaction: one multi-row `INSERT ... ON CONFLICT DO NOTHING`. When
/// it inserted every row (the common case) that is all; otherwise one `SELECT` tells which
/// events were duplicates (of stored events, or of each other within the batch) and their
/// originals' IDs. No `RETURNING`: the driver would hand rows back one message at a time.
async fn insert_batch(
    tx: &mut SqliteConnection,
    events: &[&NewEvent],
) -> Result<Vec<InsertOutcome>, Error> {
    let hashes: Vec<[u8; 16]> = events.iter().map(|e| dedupe_hash(&e.dedupe_key)).collect();
    let ids: Vec<[u8; 16]> = events.iter().map(|e| e.id.as_uuid().into_bytes()).collect();

    let mut insert: QueryBuilder<'_, Sqlite> = QueryBuilder::new(
        "INSERT INTO events (id, source, dedupe_time, dedupe_hash, provider, event_type, dedupe_key, \
         received_at, occurred_at, headers, parse_status, parse_error, body) ",
    );
    insert.push_values(
        events.iter().zip(hashes.iter().zip(&ids)),
        |mut b, (e, (hash, id))| {
            let (status, error) = match &e.parse_status {
                ParseStatus::Parsed => ("parsed", None),
                ParseStatus::Unparsed(err) => ("unparsed", Some(err.as_str())),
            };
            b.push_bind(id.as_slice())
                .push_bind(e.source.as_str())
                .push_bind(dedupe_time(e))
                .push_bind(hash.as_slice())
                .push_bind(e.provider.as_str())
                .push_bind(e.event_type.as_deref())
                .push_bind(e.dedupe_key.as_str())
                .push_bind(e.received_at.timestamp_millis())
                .push_bind(e.occurred_at.map(|t| t.timestamp_millis()))
                .push_bind(headers_json(&e.headers))
                .push_bind(status)
                .push_bind(error)
                .push_bind(e.body.as_slice());
        },
    );
    insert.push(" ON CONFLICT (source, dedupe_time, dedupe_hash) DO NOTHING");
    let affected = insert.build().execute(&mut *tx).await?.rows_affected();

    if affected == events.len() as u64 {
        let outcomes: Vec<InsertOutcome> = events
            .iter()
            .map(|e| InsertOutcome {
                id: e.id,
                duplicate: false,
            })
            .collect();
        insert_deliveries(tx, events, &outcomes).await?;
        return Ok(outcomes);
    }
    let mut stored: HashMap<(String, i64, [u8; 16]), EventId> = HashMap::new();
    {
        let mut select: QueryBuilder<'_, Sqlite> = QueryBuilder::new(
            "SELECT id, source, dedupe_time, dedupe_hash FROM events \
             WHERE (source, dedupe_time, dedupe_hash) IN (",
        );
        let mut sep = select.separated(", ");
        for (e, hash) in events.iter().zip(&hashes) {
            sep.push("(")
                .push_bind_unseparated(e.source.as_str())
                .push_unseparated(", ")
                .push_bind_unseparated(dedupe_time(e))
                .push_unseparated(", ")
                .push_bind_unseparated(hash.as_slice())
                .push_unseparated(")");
        }
        select.push(")");
        for row in select.build().fetch_all(&mut *tx).await? {
            let hash: Vec<u8> = row.try_get("dedupe_hash")?;
            let hash: [u8; 16] = hash
                .try_into()
                .map_err(|_| Error::Corrupt("dedupe hash length".into()))?;
            stored.insert(
                (row.try_get("source")?, row.try_get("dedupe_time")?, hash),
                super::rows::event_id(&row)?,
            );
        }
    }
    let outcomes = events
        .iter()
        .zip(&hashes)
        .map(|(e, hash)| {
            let id = stored
                .get(&(e.source.clone(), dedupe_time(e), *hash))
                .ok_or_else(|| Error::Corrupt(format!("event {} missing after insert", e.id)))?;
            Ok(InsertOutcome {
                id: *id,
                duplicate: *id != e.id,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    insert_deliveries(tx, events, &outcomes).await?;
    Ok(outcomes)
}

/// The outbox rows of the events that are new, in the same transaction as the events.
async fn insert_deliveries(
    tx: &mut SqliteConnection,
    events: &[&NewEvent],
    outcomes: &[InsertOutcome],
) -> Result<(), Error> {
    let rows: Vec<([u8; 16], [u8; 16], i64, crate::model::DeliveryRow<'_>)> = events
        .iter()
        .zip(outcomes)
        .filter(|(_, o)| !o.duplicate)
        .flat_map(|(e, _)| {
            let at = e.received_at.timestamp_millis();
            let event = e.id.as_uuid().into_bytes();
            e.delivery_rows()
                .map(move |row| (row.id.as_uuid().into_bytes(), event, at, row))
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let mut insert: QueryBuilder<'_, Sqlite> = QueryBuilder::new(
        "INSERT INTO deliveries (id, event_id, destination, state, attempts, next_attempt_at, \
         created_at, updated_at, lease_owner, lease_until) ",
    );
    insert.push_values(&rows, |mut b, (id, event, at, row)| {
        b.push_bind(id.as_slice())
            .push_bind(event.as_slice())
            .push_bind(row.destination)
            .push_bind("pending")
            .push_bind(0i64)
            .push_bind(*at)
            .push_bind(*at)
            .push_bind(*at)
            .push_bind(row.lease_owner)
            .push_bind(row.lease_until);
    });
    insert.push(" ON CONFLICT (event_id, destination) DO NOTHING");
    insert.build().execute(&mut *tx).await?;
    Ok(())
}
