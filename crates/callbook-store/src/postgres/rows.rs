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

/// A claimed delivery from a claim's row.
pub(crate) fn claimed(
    row: &sqlx::postgres::PgRow,
    destination: &str,
    lease: &crate::Lease,
) -> Result<crate::Claimed, crate::Error> {
    Ok(crate::Claimed {
        id: crate::rows::uuid(&row.try_get::<Vec<u8>, _>("id")?)?.into(),
        lease: lease.clone(),
        destination: destination.to_owned(),
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(0),
        event_id: crate::rows::uuid(&row.try_get::<Vec<u8>, _>("event_id")?)?.into(),
        source: row.try_get("source")?,
        provider: row
            .try_get::<String, _>("provider")?
            .parse()
            .map_err(|e: crate::UnknownProvider| crate::Error::Corrupt(e.to_string()))?,
        event_type: row.try_get("event_type")?,
        body: row.try_get("body")?,
    })
}
