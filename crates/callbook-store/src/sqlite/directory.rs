//! The directory and recipe marks on SQLite: merges run on the writer thread, in a
//! transaction each; lookups on the readers.

use super::SqliteStore;
use super::writer::in_transaction;
use crate::Error;
use crate::directory::{
    CallRecord, DirectoryStats, MAX_LOOKUP, Mark, Meeting, PersonKey, decode, encode,
    meeting_columns, replaces,
};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use sqlx::Row;

impl SqliteStore {
    pub(super) async fn dir_merge_meeting(&self, meeting: Meeting) -> Result<Meeting, Error> {
        self.write(move |conn| in_transaction(conn, |tx| merge_meeting(tx, meeting)))
            .await
    }

    pub(super) async fn dir_merge_meetings(&self, meetings: Vec<Meeting>) -> Result<(), Error> {
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

    pub(super) async fn dir_merge_call(&self, call: CallRecord) -> Result<CallRecord, Error> {
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

    pub(super) async fn dir_meetings(
        &self,
        who: &PersonKey,
        limit: u32,
    ) -> Result<Vec<Meeting>, Error> {
        let (sql, value) = match who {
            PersonKey::Phone(p) => (
                "SELECT data FROM directory_meetings WHERE phone = ?1 \
                 ORDER BY start_at DESC LIMIT ?2",
                p,
            ),
            PersonKey::Email(e) => (
                "SELECT data FROM directory_meetings WHERE email = ?1 \
                 ORDER BY start_at DESC LIMIT ?2",
                e,
            ),
        };
        sqlx::query(sql)
            .bind(value)
            .bind(limit.min(MAX_LOOKUP))
            .fetch_all(&self.readers)
            .await?
            .iter()
            .map(|row| decode(row.try_get::<&str, _>(0)?))
            .collect()
    }

    pub(super) async fn dir_meeting(&self, invitee: &str) -> Result<Option<Meeting>, Error> {
        sqlx::query("SELECT data FROM directory_meetings WHERE invitee = ?1")
            .bind(invitee)
            .fetch_optional(&self.readers)
            .await?
            .map(|row| decode(row.try_get::<&str, _>(0)?))
            .transpose()
    }

    pub(super) async fn dir_calls(
        &self,
        phone: &str,
        limit: u32,
    ) -> Result<Vec<CallRecord>, Error> {
        sqlx::query(
            "SELECT data FROM directory_calls WHERE phone = ?1 ORDER BY started_at DESC LIMIT ?2",
        )
        .bind(phone)
        .bind(limit.min(MAX_LOOKUP))
        .fetch_all(&self.readers)
        .await?
        .iter()
        .map(|row| decode(row.try_get::<&str, _>(0)?))
        .collect()
    }

    pub(super) async fn dir_stats(&self) -> Result<DirectoryStats, Error> {
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM directory_meetings), (SELECT count(*) FROM directory_calls)",
        )
        .fetch_one(&self.readers)
        .await?;
        Ok(DirectoryStats {
            meetings: row.try_get::<i64, _>(0)? as u64,
            calls: row.try_get::<i64, _>(1)? as u64,
        })
    }

    pub(super) async fn dir_put_mark(
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

    pub(super) async fn dir_mark(&self, recipe: &str, key: &str) -> Result<Option<Mark>, Error> {
        let row = sqlx::query("SELECT value, at FROM recipe_marks WHERE recipe = ?1 AND key = ?2")
            .bind(recipe)
            .bind(key)
            .fetch_optional(&self.readers)
            .await?;
        row.map(|r| {
            Ok(Mark {
                value: r.try_get(0)?,
                at: crate::rows::millis(r.try_get(1)?)?,
            })
        })
        .transpose()
    }

    pub(super) async fn dir_remove_mark(&self, recipe: &str, key: &str) -> Result<(), Error> {
        let (recipe, key) = (recipe.to_owned(), key.to_owned());
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM recipe_marks WHERE recipe = ?1 AND key = ?2")?
                .execute(params![recipe, key])?;
            Ok(())
        })
        .await
    }

    pub(super) async fn dir_count_marks(&self, recipe: &str, prefix: &str) -> Result<u64, Error> {
        let row = sqlx::query(
            "SELECT count(*) FROM recipe_marks WHERE recipe = ?1 AND substr(key, 1, length(?2)) = ?2",
        )
        .bind(recipe)
        .bind(prefix)
        .fetch_one(&self.readers)
        .await?;
        Ok(row.try_get::<i64, _>(0)? as u64)
    }
}

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
