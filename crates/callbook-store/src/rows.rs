//! Row decoding shared by the backends. The decoders are generated per row type by a macro:
//! both backends store the same columns with the same types (integers as 64-bit, IDs as 16
//! bytes, times as UNIX milliseconds), but `sqlx` rows are distinct types.

use crate::Error;
use chrono::{DateTime, Utc};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use std::borrow::Cow;

pub(crate) fn millis(ms: i64) -> Result<DateTime<Utc>, Error> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| Error::Corrupt(format!("timestamp {ms}")))
}

pub(crate) fn uuid(bytes: &[u8]) -> Result<uuid::Uuid, Error> {
    uuid::Uuid::from_slice(bytes).map_err(|e| Error::Corrupt(format!("id: {e}")))
}

/// The stored headers as a JSON object: keys sorted, the last of a repeated name winning (what
/// a `serde_json::Map` gives), written straight out instead of through a map of `Value`s,
/// which cost a few percent of the writer per event.
pub(crate) fn headers_json(headers: &[(String, String)]) -> String {
    struct Object<'a>(Vec<&'a (String, String)>);
    impl serde::Serialize for Object<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let last_of_each = self
                .0
                .iter()
                .enumerate()
                .filter(|(i, (k, _))| self.0.get(i + 1).is_none_or(|(next, _)| next != k))
                .map(|(_, (k, v))| (k, v));
            s.collect_map(last_of_each)
        }
    }
    let mut sorted: Vec<&(String, String)> = headers.iter().collect();
    // Stable: repeated names keep their order, so the last one stays last.
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    serde_json::to_string(&Object(sorted)).unwrap_or_else(|_| "{}".to_owned())
}

/// Leads the unique key: the provider's event time, so that the index grows at its end like
/// the table instead of taking random writes all over (random keys made every event dirty its
/// own index page). Events are the same when source, event time and key are all equal.
pub(crate) fn dedupe_time(e: &crate::NewEvent) -> i64 {
    e.occurred_at.map_or(0, |t| t.timestamp_millis())
}

/// The unique key column: SHA-256 of the de-duplication key, first 16 bytes. Indexing 16
/// bytes instead of a long readable key keeps the index small; the readable key is stored too.
pub(crate) fn dedupe_hash(key: &str) -> [u8; 16] {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(key.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// Trims a listing fetched with one extra row to `limit`; the cursor is the last kept item's ID
/// when that extra row existed.
pub(crate) fn split_page<T, Id>(
    mut items: Vec<T>,
    limit: u32,
    id: impl Fn(&T) -> Id,
) -> (Vec<T>, Option<Id>) {
    if items.len() > limit as usize {
        items.truncate(limit as usize);
        let cursor = items.last().map(id);
        (items, cursor)
    } else {
        (items, None)
    }
}

/// A migrator over embedded SQL (no `sqlx` macros, so no database is needed at build time).
pub(crate) fn migrator(migrations: &[(i64, &'static str, &'static str)]) -> Migrator {
    Migrator {
        migrations: Cow::Owned(
            migrations
                .iter()
                .map(|&(version, description, sql)| {
                    Migration::new(
                        version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect(),
        ),
        ..Migrator::DEFAULT
    }
}

/// Appends the `WHERE` of an event listing (same SQL on every backend; binds are typed per
/// backend by the query builder).
/// `$newer_than` is the cursor condition up to the bound ID, `$close` what follows it;
/// `$found_by` opens the search condition up to the one value `$search_bind` makes of the
/// index keys, `$found_close` follows that value, and `)` closes the condition.
macro_rules! push_event_filters {
    (
        $qb:ident,
        $query:ident,
        $newer_than:literal,
        $close:literal,
        $found_by:literal,
        $search_bind:path,
        $found_close:literal
    ) => {
        $qb.push(" WHERE 1=1");
        if let Some(source) = &$query.source {
            $qb.push(" AND source = ").push_bind(source.clone());
        }
        if let Some(provider) = $query.provider {
            $qb.push(" AND provider = ").push_bind(provider.as_str());
        }
        if let Some(event_type) = &$query.event_type {
            $qb.push(" AND event_type = ").push_bind(event_type.clone());
        }
        match $query.parsed {
            Some(true) => {
                $qb.push(" AND parse_status = 'parsed'");
            }
            Some(false) => {
                $qb.push(" AND parse_status <> 'parsed'");
            }
            None => {}
        }
        if let Some(since) = $query.since {
            $qb.push(" AND received_at >= ")
                .push_bind(since.timestamp_millis());
        }
        if let Some(until) = $query.until {
            $qb.push(" AND received_at < ")
                .push_bind(until.timestamp_millis());
        }
        if let Some(before) = $query.before {
            $qb.push($newer_than)
                .push_bind(before.as_uuid().as_bytes().to_vec())
                .push($close);
        }
        let keys = $query
            .search
            .as_deref()
            .map(crate::search::query_keys)
            .unwrap_or_default();
        if !keys.is_empty() {
            $qb.push($found_by)
                .push_bind($search_bind(&keys))
                .push($found_close)
                .push(")");
        }
    };
}
pub(crate) use push_event_filters;

/// Appends the `WHERE` of a delivery listing.
macro_rules! push_delivery_filters {
    ($qb:ident, $query:ident, $newer_than:literal, $close:literal) => {
        $qb.push(" WHERE 1=1");
        if let Some(d) = &$query.destination {
            $qb.push(" AND destination = ").push_bind(d.clone());
        }
        if let Some(state) = $query.state {
            $qb.push(" AND state = ").push_bind(state.as_str());
        }
        if let Some(event) = $query.event_id {
            $qb.push(" AND event_id = ")
                .push_bind(event.as_uuid().as_bytes().to_vec());
        }
        if let Some(before) = $query.before {
            $qb.push($newer_than)
                .push_bind(before.as_uuid().as_bytes().to_vec())
                .push($close);
        }
    };
}
pub(crate) use push_delivery_filters;

/// A delivery as listed (the same SQL on every backend).
pub(crate) const SELECT_DELIVERY: &str = "SELECT id, event_id, destination, state, attempts, \
    next_attempt_at, last_status, last_error, created_at, updated_at FROM deliveries";

macro_rules! row_decoders {
    ($row:ty) => {
        pub(crate) fn event_id(row: &$row) -> Result<$crate::EventId, $crate::Error> {
            let bytes: Vec<u8> = row.try_get("id")?;
            ::uuid::Uuid::from_slice(&bytes)
                .map($crate::EventId::from)
                .map_err(|e| $crate::Error::Corrupt(format!("event id: {e}")))
        }

        pub(crate) fn summary(row: &$row) -> Result<$crate::EventSummary, $crate::Error> {
            let provider: String = row.try_get("provider")?;
            let status: String = row.try_get("parse_status")?;
            let parse_status = match status.as_str() {
                "parsed" => $crate::ParseStatus::Parsed,
                _ => $crate::ParseStatus::Unparsed(
                    row.try_get::<Option<String>, _>("parse_error")?
                        .unwrap_or_default(),
                ),
            };
            Ok($crate::EventSummary {
                id: event_id(row)?,
                source: row.try_get("source")?,
                provider: provider
                    .parse::<$crate::Provider>()
                    .map_err(|e| $crate::Error::Corrupt(e.to_string()))?,
                event_type: row.try_get("event_type")?,
                dedupe_key: row.try_get("dedupe_key")?,
                received_at: $crate::rows::millis(row.try_get("received_at")?)?,
                occurred_at: row
                    .try_get::<Option<i64>, _>("occurred_at")?
                    .map($crate::rows::millis)
                    .transpose()?,
                parse_status,
                body_len: u64::try_from(row.try_get::<i64, _>("body_len")?).unwrap_or(0),
            })
        }

        pub(crate) fn stored_event(row: &$row) -> Result<$crate::StoredEvent, $crate::Error> {
            let headers: String = row.try_get("headers")?;
            let headers: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&headers)
                    .map_err(|e| $crate::Error::Corrupt(format!("headers: {e}")))?;
            Ok($crate::StoredEvent {
                summary: summary(row)?,
                body: row.try_get("body")?,
                headers: headers
                    .into_iter()
                    .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned()))
                    .collect(),
            })
        }

        pub(crate) fn delivery(row: &$row) -> Result<$crate::Delivery, $crate::Error> {
            let state: String = row.try_get("state")?;
            let state = $crate::DeliveryState::parse(&state)
                .ok_or_else(|| $crate::Error::Corrupt(format!("delivery state {state:?}")))?;
            Ok($crate::Delivery {
                id: $crate::rows::uuid(&row.try_get::<Vec<u8>, _>("id")?)?.into(),
                event_id: $crate::rows::uuid(&row.try_get::<Vec<u8>, _>("event_id")?)?.into(),
                destination: row.try_get("destination")?,
                state,
                attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(0),
                next_attempt_at: (state == $crate::DeliveryState::Pending)
                    .then(|| row.try_get::<i64, _>("next_attempt_at"))
                    .transpose()?
                    .and_then(chrono::DateTime::from_timestamp_millis),
                last_status: row
                    .try_get::<Option<i64>, _>("last_status")?
                    .and_then(|s| u16::try_from(s).ok()),
                last_error: row.try_get("last_error")?,
                created_at: $crate::rows::millis(row.try_get("created_at")?)?,
                updated_at: $crate::rows::millis(row.try_get("updated_at")?)?,
            })
        }

        pub(crate) fn attempt(row: &$row) -> Result<$crate::AttemptRecord, $crate::Error> {
            Ok($crate::AttemptRecord {
                attempted_at: $crate::rows::millis(row.try_get("attempted_at")?)?,
                status_code: row
                    .try_get::<Option<i64>, _>("status_code")?
                    .and_then(|s| u16::try_from(s).ok()),
                latency_ms: u64::try_from(row.try_get::<i64, _>("latency_ms")?).unwrap_or(0),
                error: row.try_get("error")?,
                response_excerpt: row.try_get("response_excerpt")?,
            })
        }

        pub(crate) fn destination_state(
            row: &$row,
        ) -> Result<$crate::DestinationState, $crate::Error> {
            Ok($crate::DestinationState {
                name: row.try_get("name")?,
                disabled_at: row
                    .try_get::<Option<i64>, _>("disabled_at")?
                    .and_then(chrono::DateTime::from_timestamp_millis),
                reason: row.try_get("reason")?,
            })
        }

        pub(crate) fn queue_stats(row: &$row) -> Result<$crate::QueueStats, $crate::Error> {
            let n = |c: &str| -> Result<u64, $crate::Error> {
                Ok(u64::try_from(row.try_get::<Option<i64>, _>(c)?.unwrap_or(0)).unwrap_or(0))
            };
            Ok($crate::QueueStats {
                destination: row.try_get("destination")?,
                pending: n("pending")?,
                due: n("due")?,
                oldest_due: row
                    .try_get::<Option<i64>, _>("oldest_due")?
                    .and_then(chrono::DateTime::from_timestamp_millis),
                dead: n("dead")?,
            })
        }
    };
}
pub(crate) use row_decoders;

#[cfg(test)]
mod tests {
    use super::headers_json;

    /// What the stored column held when it was built through a `serde_json::Map`.
    fn through_a_map(headers: &[(String, String)]) -> String {
        let map: serde_json::Map<String, serde_json::Value> = headers
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        serde_json::Value::Object(map).to_string()
    }

    #[test]
    fn headers_are_stored_as_the_same_json_object_as_before() {
        let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        for headers in [
            pairs(&[]),
            pairs(&[("user-agent", "Calendly/1.0")]),
            pairs(&[
                ("x-request-id", "r1"),
                ("content-type", "application/json"),
                ("user-agent", "quote \" backslash \\ newline \n tab \t é"),
            ]),
            pairs(&[("via", "first"), ("accept", "*/*"), ("via", "second")]),
        ] {
            assert_eq!(headers_json(&headers), through_a_map(&headers));
        }
        assert_eq!(
            headers_json(&pairs(&[("via", "first"), ("via", "second")])),
            r#"{"via":"second"}"#
        );
    }
}
