//! Row decoding and the SELECTs that feed it.

use sqlx::Row;
use sqlx::postgres::PgRow;

pub(super) const SELECT_SUMMARY: &str = "SELECT id, source, provider, event_type, dedupe_key, \
    received_at, occurred_at, parse_status, parse_error, octet_length(body)::BIGINT AS body_len \
    FROM events";

pub(super) const SELECT_FULL: &str = "SELECT id, source, provider, event_type, dedupe_key, \
    received_at, occurred_at, parse_status, parse_error, octet_length(body)::BIGINT AS body_len, \
    headers, body FROM events WHERE id = $1";

crate::rows::row_decoders!(PgRow);
