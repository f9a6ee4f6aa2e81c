//! The single writer. SQLite allows one writer at a time; funnelling every write through one
//! task avoids lock contention, and draining the queue into one transaction commits concurrent
//! requests together, so durability costs one commit (and in power-loss mode one fsync) per
//! batch rather than per event.

use super::rows::headers_json;
use crate::Error;
use crate::model::{EventId, InsertOutcome, NewEvent, ParseStatus};
use sqlx::sqlite::SqliteConnection;
use sqlx::{Connection, QueryBuilder, Row, Sqlite};
use std::collections::HashMap;
use tokio::sync::{mpsc, oneshot};

pub(super) enum Job {
    Insert {
        event: NewEvent,
        reply: oneshot::Sender<Result<InsertOutcome, Error>>,
    },
    Shutdown,
}

pub(super) async fn run(
    mut conn: SqliteConnection,
    mut rx: mpsc::Receiver<Job>,
    max_batch: usize,
    done: oneshot::Sender<()>,
) {
    let mut batch: Vec<(NewEvent, oneshot::Sender<Result<InsertOutcome, Error>>)> =
        Vec::with_capacity(max_batch);
    let mut shutting_down = false;
    while !shutting_down {
        let Some(first) = rx.recv().await else { break };
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Insert { event, reply } => batch.push((event, reply)),
                Job::Shutdown => {
                    shutting_down = true;
                    // Take what is already queued, then stop.
                    rx.close();
                }
            }
            if batch.len() < max_batch {
                next = rx.try_recv().ok();
            }
        }
        if batch.is_empty() {
            continue;
        }
        let events: Vec<&NewEvent> = batch.iter().map(|(e, _)| e).collect();
        match insert_batch(&mut conn, &events).await {
            Ok(outcomes) => {
                for ((_, reply), outcome) in batch.drain(..).zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, events = batch.len(), "event batch not stored");
                let message = e.to_string();
                for (_, reply) in batch.drain(..) {
                    let _ =
                        reply.send(Err(Error::Database(sqlx::Error::Protocol(message.clone()))));
                }
            }
        }
    }
    // Anything still queued after a shutdown request is refused, not silently dropped.
    while let Ok(job) = rx.try_recv() {
        if let Job::Insert { reply, .. } = job {
            let _ = reply.send(Err(Error::Closed));
        }
    }
    let _ = conn.close().await;
    let _ = done.send(());
}

/// Leads the unique key: the provider's event time, so that the index grows at its end like
/// the table instead of taking random writes all over (random keys made every event dirty its
/// own index page). Events are the same when source, event time and key are all equal.
fn dedupe_time(e: &NewEvent) -> i64 {
    e.occurred_at.map_or(0, |t| t.timestamp_millis())
}

/// The unique key column: SHA-256 of the de-duplication key, first 16 bytes. Indexing 16
/// bytes instead of a long readable key keeps the index small; the readable key is stored too.
pub(super) fn dedupe_hash(key: &str) -> [u8; 16] {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(key.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// Inserts a batch in one transaction: one multi-row `INSERT ... ON CONFLICT DO NOTHING`. When
/// it inserted every row (the common case) that is all; otherwise one `SELECT` tells which
/// events were duplicates (of stored events, or of each other within the batch) and their
/// originals' IDs. No `RETURNING`: the driver would hand rows back one message at a time.
async fn insert_batch(
    conn: &mut SqliteConnection,
    events: &[&NewEvent],
) -> Result<Vec<InsertOutcome>, Error> {
    let hashes: Vec<[u8; 16]> = events.iter().map(|e| dedupe_hash(&e.dedupe_key)).collect();
    let ids: Vec<[u8; 16]> = events.iter().map(|e| e.id.as_uuid().into_bytes()).collect();
    let mut tx = conn.begin().await?;

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
        tx.commit().await?;
        return Ok(events
            .iter()
            .map(|e| InsertOutcome {
                id: e.id,
                duplicate: false,
            })
            .collect());
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
    tx.commit().await?;

    events
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
        .collect()
}
