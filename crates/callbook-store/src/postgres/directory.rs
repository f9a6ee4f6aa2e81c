//! The directory and recipe marks on PostgreSQL. A merge first tries to insert; when a row is
//! already there it locks it (`FOR UPDATE`), so merges of one record from several instances
//! queue instead of overwriting each other.

use super::PostgresStore;
use crate::Error;
use crate::directory::{
    CallRecord, Meeting, decode, encode, impl_directory, meeting_columns, replaces,
};
use chrono::{DateTime, Utc};
use sqlx::Row;

impl_directory!(PostgresStore, pool, {
    async fn merge_meeting(&self, meeting: Meeting) -> Result<Meeting, Error> {
        let mut tx = self.pool.begin().await?;
        let (phone, email, start) = meeting_columns(&meeting);
        let inserted = sqlx::query(
            "INSERT INTO directory_meetings (invitee, phone, email, start_at, data) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (invitee) DO NOTHING",
        )
        .bind(&meeting.invitee)
        .bind(phone)
        .bind(email)
        .bind(start)
        .bind(encode(&meeting)?)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            tx.commit().await?;
            return Ok(meeting);
        }
        let stored: String =
            sqlx::query("SELECT data FROM directory_meetings WHERE invitee = $1 FOR UPDATE")
                .bind(&meeting.invitee)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
        let merged = decode::<Meeting>(&stored)?.merge(meeting);
        let (phone, email, start) = meeting_columns(&merged);
        sqlx::query(
            "UPDATE directory_meetings SET phone = $2, email = $3, start_at = $4, data = $5 \
             WHERE invitee = $1",
        )
        .bind(&merged.invitee)
        .bind(phone)
        .bind(email)
        .bind(start)
        .bind(encode(&merged)?)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(merged)
    }

    async fn merge_meetings(&self, meetings: Vec<Meeting>) -> Result<(), Error> {
        // New invitees in one statement per chunk; those already stored merge one by one.
        for chunk in meetings.chunks(1000) {
            let mut rows = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for m in chunk {
                let (phone, email, start) = meeting_columns(m);
                rows.0.push(m.invitee.clone());
                rows.1.push(phone);
                rows.2.push(email);
                rows.3.push(start);
                rows.4.push(encode(m)?);
            }
            let inserted: Vec<String> = sqlx::query_scalar(
                "INSERT INTO directory_meetings (invitee, phone, email, start_at, data) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[]) \
                 ON CONFLICT (invitee) DO NOTHING RETURNING invitee",
            )
            .bind(&rows.0)
            .bind(&rows.1)
            .bind(&rows.2)
            .bind(&rows.3)
            .bind(&rows.4)
            .fetch_all(&self.pool)
            .await?;
            let inserted: std::collections::HashSet<String> = inserted.into_iter().collect();
            let mut seen = std::collections::HashSet::new();
            for m in chunk {
                // A meeting twice in one chunk: the second view merges into the first.
                if !inserted.contains(&m.invitee) || !seen.insert(m.invitee.clone()) {
                    self.merge_meeting(m.clone()).await?;
                }
            }
        }
        Ok(())
    }

    async fn merge_call(&self, call: CallRecord) -> Result<CallRecord, Error> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO directory_calls (id, phone, started_at, data) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(call.id)
        .bind(&call.external_phone)
        .bind(call.started_at.map(|t| t.timestamp_millis()))
        .bind(encode(&call)?)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            tx.commit().await?;
            return Ok(call);
        }
        let stored: String =
            sqlx::query("SELECT data FROM directory_calls WHERE id = $1 FOR UPDATE")
                .bind(call.id)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
        let merged = decode::<CallRecord>(&stored)?.merge(call);
        sqlx::query(
            "UPDATE directory_calls SET phone = $2, started_at = $3, data = $4 WHERE id = $1",
        )
        .bind(merged.id)
        .bind(&merged.external_phone)
        .bind(merged.started_at.map(|t| t.timestamp_millis()))
        .bind(encode(&merged)?)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(merged)
    }

    async fn put_mark(
        &self,
        recipe: &str,
        key: &str,
        value: Option<&str>,
        now: DateTime<Utc>,
        replace_before: Option<DateTime<Utc>>,
    ) -> Result<bool, Error> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO recipe_marks (recipe, key, value, at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (recipe, key) DO NOTHING",
        )
        .bind(recipe)
        .bind(key)
        .bind(value)
        .bind(now.timestamp_millis())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            tx.commit().await?;
            return Ok(true);
        }
        let stored: i64 =
            sqlx::query("SELECT at FROM recipe_marks WHERE recipe = $1 AND key = $2 FOR UPDATE")
                .bind(recipe)
                .bind(key)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
        if !replaces(stored, replace_before) {
            // At once: a transaction dropped open would hold the row lock until its
            // connection is next used, stalling every other caller of this mark.
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query("UPDATE recipe_marks SET value = $3, at = $4 WHERE recipe = $1 AND key = $2")
            .bind(recipe)
            .bind(key)
            .bind(value)
            .bind(now.timestamp_millis())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn remove_mark(&self, recipe: &str, key: &str) -> Result<(), Error> {
        sqlx::query("DELETE FROM recipe_marks WHERE recipe = $1 AND key = $2")
            .bind(recipe)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
});
