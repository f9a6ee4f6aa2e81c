//! Row decoding.

use crate::Error;
use crate::model::{EventId, EventSummary, ParseStatus, Provider, StoredEvent};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

pub(super) const SELECT_SUMMARY: &str = "SELECT id, source, provider, event_type, dedupe_key, \
    received_at, occurred_at, parse_status, parse_error, length(body) AS body_len FROM events";

pub(super) const SELECT_FULL: &str = "SELECT id, source, provider, event_type, dedupe_key, \
    received_at, occurred_at, parse_status, parse_error, length(body) AS body_len, headers, body \
    FROM events WHERE id = ?";

pub(super) fn event_id(row: &SqliteRow) -> Result<EventId, Error> {
    let bytes: Vec<u8> = row.try_get("id")?;
    uuid::Uuid::from_slice(&bytes)
        .map(EventId::from)
        .map_err(|e| Error::Corrupt(format!("event id: {e}")))
}

fn millis(ms: i64) -> Result<DateTime<Utc>, Error> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| Error::Corrupt(format!("timestamp {ms}")))
}

pub(super) fn summary(row: &SqliteRow) -> Result<EventSummary, Error> {
    let provider: String = row.try_get("provider")?;
    let status: String = row.try_get("parse_status")?;
    let parse_status = match status.as_str() {
        "parsed" => ParseStatus::Parsed,
        _ => ParseStatus::Unparsed(
            row.try_get::<Option<String>, _>("parse_error")?
                .unwrap_or_default(),
        ),
    };
    Ok(EventSummary {
        id: event_id(row)?,
        source: row.try_get("source")?,
        provider: provider
            .parse::<Provider>()
            .map_err(|e| Error::Corrupt(e.to_string()))?,
        event_type: row.try_get("event_type")?,
        dedupe_key: row.try_get("dedupe_key")?,
        received_at: millis(row.try_get("received_at")?)?,
        occurred_at: row
            .try_get::<Option<i64>, _>("occurred_at")?
            .map(millis)
            .transpose()?,
        parse_status,
        body_len: u64::try_from(row.try_get::<i64, _>("body_len")?).unwrap_or(0),
    })
}

pub(super) fn stored_event(row: &SqliteRow) -> Result<StoredEvent, Error> {
    let headers: String = row.try_get("headers")?;
    let headers: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&headers).map_err(|e| Error::Corrupt(format!("headers: {e}")))?;
    Ok(StoredEvent {
        summary: summary(row)?,
        body: row.try_get("body")?,
        headers: headers
            .into_iter()
            .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned()))
            .collect(),
    })
}

pub(super) fn headers_json(headers: &[(String, String)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    serde_json::Value::Object(map).to_string()
}

pub(super) const SELECT_DELIVERY: &str = "SELECT id, event_id, destination, state, attempts, \
    next_attempt_at, last_status, last_error, created_at, updated_at FROM deliveries";

pub(super) fn uuid(bytes: &[u8]) -> Result<uuid::Uuid, Error> {
    uuid::Uuid::from_slice(bytes).map_err(|e| Error::Corrupt(format!("id: {e}")))
}

pub(super) fn delivery(row: &SqliteRow) -> Result<crate::Delivery, Error> {
    let state: String = row.try_get("state")?;
    let state = crate::DeliveryState::parse(&state)
        .ok_or_else(|| Error::Corrupt(format!("delivery state {state:?}")))?;
    Ok(crate::Delivery {
        id: uuid(&row.try_get::<Vec<u8>, _>("id")?)?.into(),
        event_id: uuid(&row.try_get::<Vec<u8>, _>("event_id")?)?.into(),
        destination: row.try_get("destination")?,
        state,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(0),
        next_attempt_at: (state == crate::DeliveryState::Pending)
            .then(|| row.try_get::<i64, _>("next_attempt_at"))
            .transpose()?
            .and_then(DateTime::from_timestamp_millis),
        last_status: row
            .try_get::<Option<i64>, _>("last_status")?
            .and_then(|s| u16::try_from(s).ok()),
        last_error: row.try_get("last_error")?,
        created_at: millis(row.try_get("created_at")?)?,
        updated_at: millis(row.try_get("updated_at")?)?,
    })
}

pub(super) fn attempt(row: &SqliteRow) -> Result<crate::AttemptRecord, Error> {
    Ok(crate::AttemptRecord {
        attempted_at: millis(row.try_get("attempted_at")?)?,
        status_code: row
            .try_get::<Option<i64>, _>("status_code")?
            .and_then(|s| u16::try_from(s).ok()),
        latency_ms: u64::try_from(row.try_get::<i64, _>("latency_ms")?).unwrap_or(0),
        error: row.try_get("error")?,
        response_excerpt: row.try_get("response_excerpt")?,
    })
}
