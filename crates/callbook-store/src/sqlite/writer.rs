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

/// Inserts a batch in one transaction: one multi-row `INSERT ... ON CONFLICT DO NOTHING`, then
/// one `SELECT` that tells, for each (source, key), which ID is stored: ours (new) or an
/// earlier one (duplicate, including duplicates within the batch).
async fn insert_batch(
    conn: &mut SqliteConnection,
    events: &[&NewEvent],
) -> Result<Vec<InsertOutcome>, Error> {
    let mut tx = conn.begin().await?;

    let mut insert: QueryBuilder<'_, Sqlite> = QueryBuilder::new(
        "INSERT INTO events (id, source, provider, event_type, dedupe_key, received_at, \
         occurred_at, body, headers, parse_status, parse_error) ",
    );
    insert.push_values(events.iter(), |mut b, e| {
        let (status, error) = match &e.parse_status {
            ParseStatus::Parsed => ("parsed", None),
            ParseStatus::Unparsed(err) => ("unparsed", Some(err.as_str())),
        };
        b.push_bind(e.id.to_string())
            .push_bind(e.source.as_str())
            .push_bind(e.provider.as_str())
            .push_bind(e.event_type.as_deref())
            .push_bind(e.dedupe_key.as_str())
            .push_bind(e.received_at.timestamp_millis())
            .push_bind(e.occurred_at.map(|t| t.timestamp_millis()))
            .push_bind(e.body.as_slice())
            .push_bind(headers_json(&e.headers))
            .push_bind(status)
            .push_bind(error);
    });
    insert.push(" ON CONFLICT (source, dedupe_key) DO NOTHING");
    insert.build().execute(&mut *tx).await?;

    let mut select: QueryBuilder<'_, Sqlite> = QueryBuilder::new(
        "SELECT id, source, dedupe_key FROM events WHERE (source, dedupe_key) IN (",
    );
    let mut sep = select.separated(", ");
    for e in events {
        sep.push("(")
            .push_bind_unseparated(e.source.as_str())
            .push_unseparated(", ")
            .push_bind_unseparated(e.dedupe_key.as_str())
            .push_unseparated(")");
    }
    select.push(")");
    let rows = select.build().fetch_all(&mut *tx).await?;
    tx.commit().await?;

    let mut stored: HashMap<(String, String), String> = HashMap::with_capacity(rows.len());
    for row in rows {
        stored.insert(
            (row.try_get("source")?, row.try_get("dedupe_key")?),
            row.try_get("id")?,
        );
    }
    events
        .iter()
        .map(|e| {
            let id = stored
                .get(&(e.source.clone(), e.dedupe_key.clone()))
                .ok_or_else(|| Error::Corrupt(format!("event {} missing after insert", e.id)))?;
            let id: EventId = id
                .parse()
                .map_err(|err| Error::Corrupt(format!("event id {id:?}: {err}")))?;
            Ok(InsertOutcome {
                id,
                duplicate: id != e.id,
            })
        })
        .collect()
}
