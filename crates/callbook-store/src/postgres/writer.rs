//! Group commit for PostgreSQL. A few writer tasks each take whatever inserts are queued and
//! commit them as one statement: one WAL flush and one round trip for a batch, instead of one
//! per event. Several writers keep commits overlapping, so a batch
//! forms while the previous one is being flushed.

use super::rows;
use crate::Error;
use crate::delivery::{AttemptRecord, DeliveryId, DeliveryState, Lease, Outcome};
use crate::model::{EventId, InsertOutcome, NewEvent, ParseStatus};
use crate::rows::{dedupe_hash, dedupe_time, headers_json};
use sqlx::postgres::PgPool;
use sqlx::{Postgres, QueryBuilder, Row};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, oneshot};

pub(super) enum Job {
    Insert {
        event: NewEvent,
        reply: oneshot::Sender<Result<InsertOutcome, Error>>,
    },
    Complete {
        delivery: DeliveryId,
        lease: Lease,
        attempt: AttemptRecord,
        outcome: Outcome,
        reply: oneshot::Sender<Result<(), Error>>,
    },
}

/// One error per waiting caller (errors are not `Clone`).
fn fan_out(e: &Error) -> impl Fn() -> Error + '_ {
    let closed = matches!(e, Error::Closed);
    let message = e.to_string();
    move || {
        if closed {
            Error::Closed
        } else {
            Error::Database(sqlx::Error::Protocol(message.clone()))
        }
    }
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
        let mut inserts = Vec::new();
        let mut completions = Vec::new();
        for job in jobs {
            match job {
                Job::Insert { event, reply } => inserts.push((event, reply)),
                Job::Complete {
                    delivery,
                    lease,
                    attempt,
                    outcome,
                    reply,
                } => completions.push(((delivery, lease, attempt, outcome), reply)),
            }
        }
        if !inserts.is_empty() {
            let events: Vec<&NewEvent> = inserts.iter().map(|(e, _)| e).collect();
            match retrying(|| commit(&pool, &events)).await {
                Ok(outcomes) => {
                    for ((_, reply), outcome) in inserts.into_iter().zip(outcomes) {
                        let _ = reply.send(Ok(outcome));
                    }
                }
                Err(e) if inserts.len() > 1 && refuses_a_row(&e) => {
                    // One event the database refuses (a constraint, a value it cannot hold)
                    // must not fail the others with it, again on every retry: each goes alone.
                    tracing::warn!(error = %e, events = inserts.len(), "insert batch refused; committing its events one by one");
                    for (event, reply) in inserts {
                        let one = [&event];
                        let result = retrying(|| commit(&pool, &one)).await;
                        let _ = reply.send(result.and_then(|mut o| o.pop().ok_or(Error::Closed)));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, events = inserts.len(), "insert batch not committed");
                    let err = fan_out(&e);
                    for (_, reply) in inserts {
                        let _ = reply.send(Err(err()));
                    }
                }
            }
        }
        if !completions.is_empty() {
            let done: Vec<_> = completions.iter().map(|(c, _)| c).collect();
            let result = retrying(|| complete(&pool, &done)).await;
            if let Err(e) = &result {
                tracing::error!(error = %e, deliveries = done.len(), "completion batch not committed");
            }
            let err = result.as_ref().err().map(fan_out);
            for (_, reply) in completions {
                let _ = reply.send(match &err {
                    None => Ok(()),
                    Some(err) => Err(err()),
                });
            }
        }
    }
}

/// Whether the database refused the statement for what some row holds (SQLSTATE classes 22,
/// data exception, 23, integrity constraint, and 54, program limit), rather than for the
/// connection, a timeout or the server's state: then the rows of the batch are worth trying
/// one by one.
fn refuses_a_row(e: &Error) -> bool {
    match e {
        Error::Database(sqlx::Error::Database(db)) => db
            .code()
            .is_some_and(|c| c.starts_with("22") || c.starts_with("23") || c.starts_with("54")),
        _ => false,
    }
}

/// PostgreSQL's `text` cannot hold NUL, which a webhook may carry (an unknown event name is
/// kept as it came): it becomes U+FFFD, as an unreadable character would. The de-duplication
/// hash is taken from the key as received, so it is unchanged.
fn text(s: &str) -> String {
    if s.contains('\0') {
        s.replace('\0', "\u{FFFD}")
    } else {
        s.to_owned()
    }
}

/// Runs a batch again when PostgreSQL picked it as a deadlock victim or could not serialize it:
/// the statement was rolled back as a whole, so running it again is safe.
async fn retrying<T, F, Fut>(mut batch: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>>,
{
    let mut tries = 0;
    loop {
        match batch().await {
            Err(Error::Database(sqlx::Error::Database(e)))
                if tries < 3 && matches!(e.code().as_deref(), Some("40P01" | "40001")) =>
            {
                tries += 1;
                tracing::debug!(error = %e, tries, "batch rolled back by the database; again");
            }
            other => return other,
        }
    }
}

/// Records attempts and moves their deliveries on, for a whole batch, in one statement.
async fn complete(
    pool: &PgPool,
    done: &[&(DeliveryId, Lease, AttemptRecord, Outcome)],
) -> Result<(), Error> {
    // In key order, like inserts: no lock cycle with another batch touching the same rows.
    let mut done = done.to_vec();
    done.sort_by_key(|d| d.0.as_uuid());
    let now = chrono::Utc::now().timestamp_millis();
    let n = done.len();
    let (mut ids, mut states, mut nexts, mut statuses, mut errors) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut attempted, mut latencies, mut excerpts, mut leases) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for (delivery, lease, attempt, outcome) in &done {
        leases.push(lease.as_str().to_owned());
        let (state, next) = match outcome {
            Outcome::Succeeded => (DeliveryState::Succeeded, now),
            Outcome::Retry(at) => (DeliveryState::Pending, at.timestamp_millis()),
            Outcome::Dead => (DeliveryState::Dead, now),
        };
        ids.push(delivery.as_uuid().as_bytes().to_vec());
        states.push(state.as_str().to_owned());
        nexts.push(next);
        statuses.push(attempt.status_code.map(i64::from));
        errors.push(attempt.error.clone());
        attempted.push(attempt.attempted_at.timestamp_millis());
        latencies.push(i64::try_from(attempt.latency_ms).unwrap_or(i64::MAX));
        excerpts.push(attempt.response_excerpt.clone());
    }
    sqlx::query(&COMPLETE)
        .bind(ids)
        .bind(states)
        .bind(nexts)
        .bind(statuses)
        .bind(errors)
        .bind(attempted)
        .bind(latencies)
        .bind(excerpts)
        .bind(now)
        .bind(leases)
        .execute(pool)
        .await?;
    Ok(())
}

/// Every attempt is recorded; a delivery moves on only under the lease its attempt was made
/// with (see [`crate::delivery::finish_sql`]).
static COMPLETE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let set = crate::delivery::finish_sql(&crate::delivery::FinishParams {
        from: " FROM v",
        table: "d.",
        id: "v.id",
        lease: "v.lease",
        state: "v.state",
        next: "v.next_at",
        status: "v.status",
        error: "v.error",
        now: "$9",
    });
    format!(
        "WITH v AS ( \
          SELECT * FROM UNNEST($1::bytea[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], \
            $6::bigint[], $7::bigint[], $8::text[], $10::text[]) \
            AS v(id, state, next_at, status, error, attempted_at, latency_ms, excerpt, lease)), \
        a AS ( \
          INSERT INTO attempts (delivery_id, attempted_at, status_code, latency_ms, error, \
            response_excerpt) \
          SELECT id, attempted_at, status, latency_ms, error, excerpt FROM v) \
        UPDATE deliveries d SET {set}"
    )
});

/// Columns go as arrays through `UNNEST`: the same statement text for every batch size, so it
/// is prepared once per connection. A pre-claim's lease ends as long after the database's
/// clock as the caller asked after its own (leases are compared with the database's clock). The deliveries CTE inserts only for events `ins` returned
/// (new ones), in the same statement, hence the same transaction.
const INSERT_EVENTS: &str = "WITH ins AS ( \
      INSERT INTO events (id, source, dedupe_time, dedupe_hash, provider, event_type, \
        dedupe_key, received_at, occurred_at, headers, parse_status, parse_error, body, \
        search_keys) \
      SELECT v.id, v.source, v.dedupe_time, v.dedupe_hash, v.provider, v.event_type, \
        v.dedupe_key, v.received_at, v.occurred_at, v.headers, v.parse_status, v.parse_error, \
        v.body, string_to_array(v.search_keys, ' ') \
      FROM UNNEST($1::bytea[], $2::text[], $3::bigint[], $4::bytea[], $5::text[], \
        $6::text[], $7::text[], $8::bigint[], $9::bigint[], $10::text[], $11::text[], \
        $12::text[], $13::bytea[], $20::text[]) AS v(id, source, dedupe_time, dedupe_hash, \
        provider, event_type, dedupe_key, received_at, occurred_at, headers, parse_status, \
        parse_error, body, search_keys) \
      ON CONFLICT (source, dedupe_time, dedupe_hash) DO NOTHING RETURNING id), \
    dl AS ( \
      INSERT INTO deliveries (id, event_id, destination, state, attempts, next_attempt_at, \
        created_at, updated_at, lease_owner, lease_until) \
      SELECT d.id, d.event_id, d.destination, 'pending', 0, d.at, d.at, d.at, d.owner, \
        d.until - d.at + (extract(epoch FROM clock_timestamp()) * 1000)::bigint \
      FROM UNNEST($14::bytea[], $15::bytea[], $16::text[], $17::bigint[], $18::text[], \
        $19::bigint[]) AS d(id, event_id, destination, at, owner, until) \
      WHERE d.event_id IN (SELECT id FROM ins) \
      ON CONFLICT (event_id, destination) DO NOTHING) \
    SELECT id FROM ins";

/// The events of a batch, column by column, for `UNNEST`.
#[derive(Default)]
struct EventColumns {
    id: Vec<Vec<u8>>,
    source: Vec<String>,
    dedupe_time: Vec<i64>,
    dedupe_hash: Vec<Vec<u8>>,
    provider: Vec<String>,
    event_type: Vec<Option<String>>,
    dedupe_key: Vec<String>,
    received_at: Vec<i64>,
    occurred_at: Vec<Option<i64>>,
    headers: Vec<String>,
    parse_status: Vec<String>,
    parse_error: Vec<Option<String>>,
    body: Vec<Vec<u8>>,
    search_keys: Vec<String>,
}

impl EventColumns {
    fn push(&mut self, e: &NewEvent, hash: &[u8; 16]) {
        let (status, error) = match &e.parse_status {
            ParseStatus::Parsed => ("parsed", None),
            ParseStatus::Unparsed(err) => ("unparsed", Some(err.as_str())),
        };
        self.id.push(e.id.as_uuid().as_bytes().to_vec());
        self.source.push(text(&e.source));
        self.dedupe_time.push(dedupe_time(e));
        self.dedupe_hash.push(hash.to_vec());
        self.provider.push(e.provider.as_str().to_owned());
        self.event_type.push(e.event_type.as_deref().map(text));
        self.dedupe_key.push(text(&e.dedupe_key));
        self.received_at.push(e.received_at.timestamp_millis());
        self.occurred_at
            .push(e.occurred_at.map(|t| t.timestamp_millis()));
        self.headers.push(text(&headers_json(&e.headers)));
        self.parse_status.push(status.to_owned());
        self.parse_error.push(error.map(text));
        self.body.push(e.body.clone());
        self.search_keys.push(crate::search::hex_keys(
            &crate::search::event_keys(hash, &e.subjects),
            " ",
        ));
    }
}

/// One statement, so one implicit transaction and one round trip: the events
/// (`ON CONFLICT DO NOTHING RETURNING id`) and, in a data-modifying CTE, the deliveries of
/// those that were inserted. Then, only if some were not, a lookup of their originals.
async fn commit(pool: &PgPool, events: &[&NewEvent]) -> Result<Vec<InsertOutcome>, Error> {
    let hashes: Vec<[u8; 16]> = events.iter().map(|e| dedupe_hash(&e.dedupe_key)).collect();
    // Rows go in unique-key order: concurrent batches (other writers, other instances) that
    // share keys then wait on each other in one order, never in a cycle (a deadlock).
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by(|&a, &b| {
        (&events[a].source, dedupe_time(events[a]), &hashes[a]).cmp(&(
            &events[b].source,
            dedupe_time(events[b]),
            &hashes[b],
        ))
    });
    let mut cols = EventColumns::default();
    for &i in &order {
        cols.push(events[i], &hashes[i]);
    }
    let (mut d_ids, mut d_events, mut d_names, mut d_ats) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut d_owners, mut d_untils) = (Vec::new(), Vec::new());
    for e in events {
        for row in e.delivery_rows() {
            d_ids.push(row.id.as_uuid().as_bytes().to_vec());
            d_events.push(e.id.as_uuid().as_bytes().to_vec());
            d_names.push(row.destination.to_owned());
            d_ats.push(e.received_at.timestamp_millis());
            d_owners.push(row.lease_owner.map(str::to_owned));
            d_untils.push(row.lease_until);
        }
    }
    let inserted: HashSet<Vec<u8>> = sqlx::query(INSERT_EVENTS)
        .bind(cols.id)
        .bind(cols.source)
        .bind(cols.dedupe_time)
        .bind(cols.dedupe_hash)
        .bind(cols.provider)
        .bind(cols.event_type)
        .bind(cols.dedupe_key)
        .bind(cols.received_at)
        .bind(cols.occurred_at)
        .bind(cols.headers)
        .bind(cols.parse_status)
        .bind(cols.parse_error)
        .bind(cols.body)
        .bind(d_ids)
        .bind(d_events)
        .bind(d_names)
        .bind(d_ats)
        .bind(d_owners)
        .bind(d_untils)
        .bind(cols.search_keys)
        .fetch_all(pool)
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
    if outcomes.iter().all(Option::is_some) {
        return Ok(outcomes.into_iter().flatten().collect());
    }
    // Duplicates: of events stored before (by any instance: this later statement sees what
    // they committed), or of each other within the batch.
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
    for row in select.build().fetch_all(pool).await? {
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
    Ok(outcomes.into_iter().flatten().collect())
}
