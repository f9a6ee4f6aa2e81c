//! Row decoding and the SELECTs that feed it.

pub(super) use crate::rows::headers_json;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

pub(super) const SELECT_SUMMARY: &str = "SELECT id, source, provider, event_type, dedupe_key, \
    received_at, occurred_at, parse_status, parse_error, length(body) AS body_len FROM events";

pub(super) const SELECT_FULL: &str = "SELECT id, source, provider, event_type, dedupe_key, \
    received_at, occurred_at, parse_status, parse_error, length(body) AS body_len, headers, body \
    FROM events WHERE id = ?";

pub(super) use crate::rows::SELECT_DELIVERY;

crate::rows::row_decoders!(SqliteRow);
