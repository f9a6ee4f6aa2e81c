//! Group commit for PostgreSQL. A few writer tasks each take whatever inserts are queued and
//! commit them as one multi-row `INSERT` in one transaction: one WAL flush and one round trip
//! for a batch, instead of one per event. Several writers keep commits overlapping, so a batch
//! forms while the previous one is being flushed.

use super::rows;
use crate::Error;
use crate::delivery::DeliveryId;
use crate::model::{EventId, InsertOutcome, NewEvent, ParseStatus};
use crate::rows::{dedupe_hash, dedupe_time, headers_json};
use sqlx::postgres::PgPool;
use sqlx::{Postgres, QueryBuilder, Row};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, oneshot};

pub(super) struct Job {
    pub(super) event: NewEvent,
    pub(super) reply: oneshot::Sender<Result<InsertOutcome, Error>>,
}

/// Starts `writers` tasks draining one queue in batches of at most `max_batch`.
pub(super) fn spawn(pool: PgPool, writers: usize, max_batch: usize) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel(max_batch * 16);
    let rx = Arc::new(Mutex::new(rx));
    for _ in 0..writers.max(1) {
        tokio::spawn(run(pool.clone(), rx.clone(), max_batch.max(1)));
    }
    tx
}

async fn run(pool: PgPool, rx: Arc<Mutex<mpsc::Receiver<Job>>>, max_batch: usize) {
    loop {
        let mut jobs = Vec::with_capacity(max_batch);
        {
            let mut rx = rx.lock().await;
            let Some(first) = rx.recv().await else { return };
            jobs.push(first);
            while jobs.len() < max_batch {
                match rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
        }
        let events: Vec<&NewEvent> = jobs.iter().map(|j| &j.event).collect();
        match commit(&pool, &events).await {
            Ok(outcomes) => {
                for (job, outcome) in jobs.into_iter().zip(outcomes) {
                    let _ = job.reply.send(Ok(outcome));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, events = jobs.len(), "insert batch not committed");
                let closed = matches!(e, Error::Closed);
                let message = e.to_string();
                for job in jobs {
                    let err = if closed {
                        Error::Closed
                    } else {
                        Error::Database(sqlx::Error::Protocol(message.clone()))
                    };
                    let _ = job.reply.send(Err(err));
                }
            }
        }
    }
}

/// One transaction: the events (`ON CONFLICT DO NOTHING RETURNING id`), a lookup of the
/// originals of those that were not inserted, and the deliveries of the new ones.
async fn commit(pool: &PgPool, events: &[&NewEvent]) -> Result<Vec<InsertOutcome>, Error> {
    // Dropped without commit on any error: rolled back, nothing half-written.
    let mut tx = pool.begin().await?;
    let conn = &mut *tx;
    let outcomes = {
        let hashes: Vec<[u8; 16]> = events.iter().map(|e| dedupe_hash(&e.dedupe_key)).collect();
        let mut insert: QueryBuilder<'_, Postgres> = QueryBuilder::new(
            "INSERT INTO events (id, source, dedupe_time, dedupe_hash, provider, event_type, \
             dedupe_key, received_at, occurred_at, headers, parse_status, parse_error, body) ",
        );
        insert.push_values(events.iter().zip(&hashes), |mut b, (e, hash)| {
            let (status, error) = match &e.parse_status {
                ParseStatus::Parsed => ("parsed", None),
                ParseStatus::Unparsed(err) => ("unparsed", Some(err.clone())),
            };
            b.push_bind(e.id.as_uuid().as_bytes().to_vec())
                .push_bind(e.source.clone())
                .push_bind(dedupe_time(e))
                .push_bind(hash.to_vec())
                .push_bind(e.provider.as_str())
                .push_bind(e.event_type.clone())
                .push_bind(e.dedupe_key.clone())
                .push_bind(e.received_at.timestamp_millis())
                .push_bind(e.occurred_at.map(|t| t.timestamp_millis()))
                .push_bind(headers_json(&e.headers))
                .push_bind(status)
                .push_bind(error)
                .push_bind(e.body.clone());
        });
        insert.push(" ON CONFLICT (source, dedupe_time, dedupe_hash) DO NOTHING RETURNING id");
        let inserted: HashSet<Vec<u8>> = insert
            .build()
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.try_get::<Vec<u8>, _>("id"))
            .collect::<Result<_, _>>()?;

        let mut outcomes: Vec<Option<InsertOutcome>> = events
            .iter()
            .map(|e| {
                inserted
                    .contains(e.id.as_uuid().as_bytes().as_slice())
                    .then_some(InsertOutcome {
                        id: e.id,
                        duplicate: false,
                    })
            })
            .collect();
        if outcomes.iter().any(Option::is_none) {
            // Duplicates: of events stored before (by any instance: this new statement sees
            // what they committed), or of each other within the batch.
            let mut select: QueryBuilder<'_, Postgres> = QueryBuilder::new(
                "SELECT id, source, dedupe_time, dedupe_hash FROM events \
                 WHERE (source, dedupe_time, dedupe_hash) IN (",
            );
            let mut sep = select.separated(", ");
            for ((e, hash), o) in events.iter().zip(&hashes).zip(&outcomes) {
                if o.is_none() {
                    sep.push("(")
                        .push_bind_unseparated(e.source.clone())
                        .push_unseparated(", ")
                        .push_bind_unseparated(dedupe_time(e))
                        .push_unseparated(", ")
                        .push_bind_unseparated(hash.to_vec())
                        .push_unseparated(")");
                }
            }
            select.push(")");
            let mut stored: HashMap<(String, i64, Vec<u8>), EventId> = HashMap::new();
            for row in select.build().fetch_all(&mut *conn).await? {
                stored.insert(
                    (
                        row.try_get("source")?,
                        row.try_get("dedupe_time")?,
                        row.try_get("dedupe_hash")?,
                    ),
                    rows::event_id(&row)?,
                );
            }
            for ((e, hash), o) in events.iter().zip(&hashes).zip(outcomes.iter_mut()) {
                if o.is_none() {
                    let id = stored
                        .get(&(e.source.clone(), dedupe_time(e), hash.to_vec()))
                        .ok_or_else(|| {
                            Error::Corrupt(format!("event {} conflicted but is not stored", e.id))
                        })?;
                    *o = Some(InsertOutcome {
                        id: *id,
                        duplicate: true,
                    });
                }
            }
        }
        let outcomes: Vec<InsertOutcome> = outcomes.into_iter().flatten().collect();

        let deliveries: Vec<(&NewEvent, &String)> = events
            .iter()
            .zip(&outcomes)
            .filter(|(_, o)| !o.duplicate)
            .flat_map(|(e, _)| e.destinations.iter().map(move |d| (*e, d)))
            .collect();
        if !deliveries.is_empty() {
            let mut insert: QueryBuilder<'_, Postgres> = QueryBuilder::new(
                "INSERT INTO deliveries (id, event_id, destination, state, attempts, \
                 next_attempt_at, created_at, updated_at) ",
            );
            insert.push_values(&deliveries, |mut b, (e, destination)| {
                let at = e.received_at.timestamp_millis();
                b.push_bind(DeliveryId::new().as_uuid().as_bytes().to_vec())
                    .push_bind(e.id.as_uuid().as_bytes().to_vec())
                    .push_bind((*destination).clone())
                    .push_bind("pending")
                    .push_bind(0i64)
                    .push_bind(at)
                    .push_bind(at)
                    .push_bind(at);
            });
            insert.push(" ON CONFLICT (event_id, destination) DO NOTHING");
            insert.build().execute(&mut *conn).await?;
        }
        outcomes
    };
    tx.commit().await?;
    Ok(outcomes)
}
