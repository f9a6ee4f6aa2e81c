//! The directory and recipe marks on SQLite: merges run on the writer thread, in a
//! transaction each; lookups on the readers.

use super::SqliteStore;
use super::writer::in_transaction;
use crate::Error;
use crate::directory::{
    CallRecord, Meeting, decode, encode, impl_directory, meeting_columns, replaces,
};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

impl_directory!(SqliteStore, readers, {
    async fn merge_meeting(&self, meeting: Meeting) -> Result<Meeting, Error> {
        self.write(move |conn| in_transaction(conn, |tx| merge_meeting(tx, meeting)))
            .await
    }

    async fn merge_meetings(&self, meetings: Vec<Meeting>) -> Result<(), Error> {
        self.write(move |conn| {
            in_transaction(conn, |tx| {
                for m in meetings {
                    merge_meeting(tx, m)?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn merge_call(&self, call: CallRecord) -> Result<CallRecord, Error> {
        self.write(move |conn| {
            in_transaction(conn, |tx| {
                let stored: Option<String> = tx
                    .prepare_cached("SELECT data FROM directory_calls WHERE id = ?1")?
                    .query_row([call.id], |r| r.get(0))
                    .optional()?;
                let merged = match stored {
                    Some(data) => decode::<CallRecord>(&data)?.merge(call),
                    None => call,
                };
                tx.prepare_cached(
                    "INSERT INTO directory_calls (id, phone, started_at, data) \
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO UPDATE SET \
                     phone = excluded.phone, started_at = excluded.started_at, \
                     data = excluded.data",
                )?
                .execute(params![
                    merged.id,
                    merged.external_phone,
                    merged.started_at.map(|t| t.timestamp_millis()),
                    encode(&merged)?
                ])?;
                Ok(merged)
            })
        })
        .await
    }

    async fn put_mark(
        &self,
        recipe: &str,
        key: &str,
        value: Option<&str>,
        now: DateTime<Utc>,
        replace_before: Option<DateTime<Utc>>,
    ) -> Result<bool, Error> {
        let (recipe, key, value) = (recipe.to_owned(), key.to_owned(), value.map(str::to_owned));
        self.write(move |conn| {
            in_transaction(conn, |tx| {
                let stored: Option<i64> = tx
                    .prepare_cached("SELECT at FROM recipe_marks WHERE recipe = ?1 AND key = ?2")?
                    .query_row(params![recipe, key], |r| r.get(0))
                    .optional()?;
                if stored.is_some_and(|at| !replaces(at, replace_before)) {
                    return Ok(false);
                }
                tx.prepare_cached(
                    "INSERT INTO recipe_marks (recipe, key, value, at) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (recipe, key) DO UPDATE SET value = excluded.value, at = excluded.at",
                )?
                .execute(params![recipe, key, value, now.timestamp_millis()])?;
                Ok(true)
            })
        })
        .await
    }

    async fn remove_mark(&self, recipe: &str, key: &str) -> Result<(), Error> {
        let (recipe, key) = (recipe.to_owned(), key.to_owned());
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM recipe_marks WHERE recipe = ?1 AND key = ?2")?
                .execute(params![recipe, key])?;
            Ok(())
        })
        .await
    }
});

/// Reads the stored meeting, merges, writes back (in the caller's transaction).
fn merge_meeting(tx: &rusqlite::Connection, meeting: Meeting) -> Result<Meeting, Error> {
    let stored: Option<String> = tx
        .prepare_cached("SELECT data FROM directory_meetings WHERE invitee = ?1")?
        .query_row([&meeting.invitee], |r| r.get(0))
        .optional()?;
    let merged = match stored {
        Some(data) => decode::<Meeting>(&data)?.merge(meeting),
        None => meeting,
    };
    let (phone, email, start) = meeting_columns(&merged);
    tx.prepare_cached(
        "INSERT INTO directory_meetings (invitee, phone, email, start_at, data) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (invitee) DO UPDATE SET \
         phone = excluded.phone, email = excluded.email, \
         start_at = excluded.start_at, data = excluded.data",
    )?
    .execute(params![
        merged.invitee,
        phone,
        email,
        start,
        encode(&merged)?
    ])?;
    Ok(merged)
}
