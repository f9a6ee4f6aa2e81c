//! The directory: people as Calendly and Aircall know them, projected from their events.
//!
//! Both providers deliver at least once and in no particular order, so every record here is
//! merged, not overwritten: [`Meeting::merge`] and [`CallRecord::merge`] are commutative,
//! associative and idempotent, and any order of any number of copies of the same changes ends
//! in the same record. The backends read the stored record, merge, and write it back in one
//! transaction.
//!
//! Phone numbers are stored as E.164 text (`+5511912345678`) and emails in lower case; making
//! them so is the caller's job (callbook-recipes does it with the `phonenumber` crate).

use crate::Error;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a Calendly meeting shows of itself, from the newest invitee payload seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MeetingDetails {
    /// The scheduled event's URI.
    pub event: String,
    /// The scheduled event's name ("Discovery call").
    pub event_name: Option<String>,
    /// The event type's URI.
    pub event_type: Option<String>,
    /// Start of the meeting.
    pub start: Option<DateTime<Utc>>,
    /// End of the meeting.
    pub end: Option<DateTime<Utc>>,
    /// The invitee's name.
    pub name: String,
    /// The invitee's first name, when the booking page asked for it apart.
    pub first_name: Option<String>,
    /// The invitee's email, in lower case.
    pub email: Option<String>,
    /// The invitee's phone in E.164, when one was given and parses.
    pub phone: Option<String>,
    /// The invitee's IANA time zone.
    pub timezone: Option<String>,
    /// Link to reschedule.
    pub reschedule_url: Option<String>,
    /// Link to cancel.
    pub cancel_url: Option<String>,
    /// Link to join, when the location has one.
    pub join_url: Option<String>,
    /// Answers to the booking page's questions, in their order.
    pub answers: Vec<Answer>,
    /// The invitee's `updated_at`: the newest payload wins.
    pub updated_at: DateTime<Utc>,
}

impl MeetingDetails {
    /// Details with the required fields; the rest empty.
    pub fn new(
        event: impl Into<String>,
        name: impl Into<String>,
        updated_at: DateTime<Utc>,
    ) -> Self {
        Self {
            event: event.into(),
            event_name: None,
            event_type: None,
            start: None,
            end: None,
            name: name.into(),
            first_name: None,
            email: None,
            phone: None,
            timezone: None,
            reschedule_url: None,
            cancel_url: None,
            join_url: None,
            answers: Vec::new(),
            updated_at,
        }
    }
}

/// One answer to a booking question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The question.
    pub question: String,
    /// The answer.
    pub answer: String,
}

/// What one Calendly invitee event says about a meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum MeetingChange {
    /// `invitee.created`.
    Booked,
    /// `invitee.canceled`; a reschedule names the invitee that replaces this one.
    Canceled {
        /// Whether it was canceled by a reschedule.
        rescheduled: bool,
        /// The invitee booked in its place.
        new_invitee: Option<String>,
    },
    /// `invitee_no_show.created` or `.deleted`, as of `at` (the webhook's time): the latest wins.
    NoShow {
        /// Marked (`true`) or unmarked.
        marked: bool,
        /// When the provider sent it.
        at: DateTime<Utc>,
    },
}

/// The state of a meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MeetingStatus {
    /// Booked, not canceled.
    Active,
    /// Canceled (or rescheduled away: see [`Meeting::new_invitee`]).
    Canceled,
    /// Booked and marked as a no-show.
    NoShow,
}

impl MeetingStatus {
    /// `active`, `canceled`, `no_show`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Canceled => "canceled",
            Self::NoShow => "no_show",
        }
    }
}

/// A Calendly meeting as the directory holds it: one per invitee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Meeting {
    /// The invitee's URI (the key).
    pub invitee: String,
    /// The newest details seen; `None` while only a no-show mark has arrived.
    pub details: Option<MeetingDetails>,
    /// Whether a cancellation was seen. It is final: a late `invitee.created` does not undo it.
    pub canceled: bool,
    /// Whether the cancellation was a reschedule.
    pub rescheduled: bool,
    /// The invitee booked in its place, for a reschedule.
    pub new_invitee: Option<String>,
    /// The latest no-show mark or unmark: (when, marked).
    pub no_show: Option<(DateTime<Utc>, bool)>,
}

impl Meeting {
    /// The meeting one change makes of nothing.
    pub fn from_change(
        invitee: impl Into<String>,
        change: &MeetingChange,
        details: Option<MeetingDetails>,
    ) -> Self {
        let mut meeting = Self {
            invitee: invitee.into(),
            details,
            canceled: false,
            rescheduled: false,
            new_invitee: None,
            no_show: None,
        };
        match change {
            MeetingChange::Booked => {}
            MeetingChange::Canceled {
                rescheduled,
                new_invitee,
            } => {
                meeting.canceled = true;
                meeting.rescheduled = *rescheduled;
                meeting.new_invitee.clone_from(new_invitee);
            }
            MeetingChange::NoShow { marked, at } => meeting.no_show = Some((*at, *marked)),
        }
        meeting
    }

    /// Joins two views of the same meeting. Order-free: `a.merge(b) == b.merge(a)`, and
    /// merging a view twice changes nothing.
    pub fn merge(mut self, other: Meeting) -> Meeting {
        self.details = match (self.details.take(), other.details) {
            (Some(a), Some(b)) => Some(newest(a, b)),
            (a, b) => a.or(b),
        };
        self.canceled |= other.canceled;
        self.rescheduled |= other.rescheduled;
        self.new_invitee = self.new_invitee.max(other.new_invitee);
        self.no_show = self.no_show.max(other.no_show);
        self
    }

    /// Active, canceled or no-show.
    pub fn status(&self) -> MeetingStatus {
        if self.canceled {
            MeetingStatus::Canceled
        } else if matches!(self.no_show, Some((_, true))) {
            MeetingStatus::NoShow
        } else {
            MeetingStatus::Active
        }
    }
}

/// The details with the later `updated_at`; equal times fall back to comparing the content, so
/// the choice never depends on arrival order.
fn newest(a: MeetingDetails, b: MeetingDetails) -> MeetingDetails {
    match a.updated_at.cmp(&b.updated_at) {
        std::cmp::Ordering::Greater => a,
        std::cmp::Ordering::Less => b,
        std::cmp::Ordering::Equal => {
            let (ja, jb) = (
                serde_json::to_string(&a).unwrap_or_default(),
                serde_json::to_string(&b).unwrap_or_default(),
            );
            if ja >= jb { a } else { b }
        }
    }
}

/// An Aircall call as the directory holds it.
///
/// Every field merges to its greatest value (`None` is least): a call only moves forward
/// (initial, answered, done), its times are the same in every event that has them, and the
/// agent and number are taken from the most advanced event that names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CallRecord {
    /// The call's ID.
    pub id: i64,
    /// `inbound` or `outbound`.
    pub direction: Option<String>,
    /// 0 initial, 1 answered, 2 done.
    pub stage: u8,
    /// Start.
    pub started_at: Option<DateTime<Utc>>,
    /// When it was answered.
    pub answered_at: Option<DateTime<Utc>>,
    /// End.
    pub ended_at: Option<DateTime<Utc>>,
    /// Seconds, ringing included.
    pub duration: Option<u64>,
    /// Why it was missed.
    pub missed_call_reason: Option<String>,
    /// The other party in E.164; `None` when withheld or unreadable.
    pub external_phone: Option<String>,
    /// The other party as Aircall sent it (`anonymous` for withheld numbers).
    pub raw_digits: Option<String>,
    /// The agent, as of the most advanced event naming one.
    pub user: Option<Stamped<Agent>>,
    /// The Aircall number, likewise.
    pub number: Option<Stamped<Line>>,
}

/// A value with the (stage, webhook time) of the event it came from: the greater wins a merge.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Stamped<T> {
    /// Stage (0 initial, 1 answered, 2 done) and webhook time (UNIX seconds).
    pub at: (u8, i64),
    /// The value.
    pub value: T,
}

/// An Aircall user (agent).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Agent {
    /// User ID.
    pub id: i64,
    /// Name.
    pub name: Option<String>,
}

/// An Aircall number (line).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Line {
    /// Number ID.
    pub id: i64,
    /// Its name ("Sales line").
    pub name: Option<String>,
    /// Its digits in E.164.
    pub digits: Option<String>,
}

impl CallRecord {
    /// A call with only its ID.
    pub fn new(id: i64) -> Self {
        Self {
            id,
            direction: None,
            stage: 0,
            started_at: None,
            answered_at: None,
            ended_at: None,
            duration: None,
            missed_call_reason: None,
            external_phone: None,
            raw_digits: None,
            user: None,
            number: None,
        }
    }

    /// Joins two views of the same call, in any order.
    pub fn merge(self, other: CallRecord) -> CallRecord {
        CallRecord {
            id: self.id,
            direction: self.direction.max(other.direction),
            stage: self.stage.max(other.stage),
            started_at: self.started_at.max(other.started_at),
            answered_at: self.answered_at.max(other.answered_at),
            ended_at: self.ended_at.max(other.ended_at),
            duration: self.duration.max(other.duration),
            missed_call_reason: self.missed_call_reason.max(other.missed_call_reason),
            external_phone: self.external_phone.max(other.external_phone),
            raw_digits: self.raw_digits.max(other.raw_digits),
            user: self.user.max(other.user),
            number: self.number.max(other.number),
        }
    }

    /// Whether the call was answered.
    pub fn answered(&self) -> bool {
        self.answered_at.is_some()
    }

    /// The agent's name, if known.
    pub fn user_name(&self) -> Option<&str> {
        self.user.as_ref().and_then(|u| u.value.name.as_deref())
    }

    /// The Aircall number's name, if known.
    pub fn number_name(&self) -> Option<&str> {
        self.number.as_ref().and_then(|n| n.value.name.as_deref())
    }

    /// The Aircall number's ID, if known.
    pub fn number_id(&self) -> Option<i64> {
        self.number.as_ref().map(|n| n.value.id)
    }
}

/// Who to look up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PersonKey {
    /// An E.164 phone number.
    Phone(String),
    /// An email, in lower case.
    Email(String),
}

/// A mark a recipe keeps (a contact it created, a message it sent, a caller's cooldown).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Mark {
    /// What the recipe wrote.
    pub value: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// How many records the directory holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DirectoryStats {
    /// Meetings (invitees).
    pub meetings: u64,
    /// Calls.
    pub calls: u64,
}

/// The directory and recipe marks, as every [`Store`](crate::Store) keeps them.
#[async_trait::async_trait]
pub trait Directory: Send + Sync {
    /// Merges a view of a meeting into the directory (see [`Meeting::merge`]) and returns the
    /// merged meeting.
    async fn merge_meeting(&self, meeting: Meeting) -> Result<Meeting, Error>;

    /// Merges many views of meetings at once (a backfill): one transaction on SQLite; on
    /// PostgreSQL new meetings go in one statement and the rest merge one by one.
    async fn merge_meetings(&self, meetings: Vec<Meeting>) -> Result<(), Error>;

    /// Merges a view of a call into the directory and returns the merged call.
    async fn merge_call(&self, call: CallRecord) -> Result<CallRecord, Error>;

    /// A person's meetings with details, latest start first, at most `limit`.
    async fn meetings(&self, who: &PersonKey, limit: u32) -> Result<Vec<Meeting>, Error>;

    /// One meeting by its invitee URI.
    async fn meeting(&self, invitee: &str) -> Result<Option<Meeting>, Error>;

    /// Calls with an E.164 number, latest first, at most `limit`.
    async fn calls(&self, phone: &str, limit: u32) -> Result<Vec<CallRecord>, Error>;

    /// How many records the directory holds.
    async fn directory_stats(&self) -> Result<DirectoryStats, Error>;

    /// Sets a recipe's mark unless one exists that is newer than `replace_before` (`None`:
    /// never replace). Returns whether it was set; two callers racing for one absent mark
    /// cannot both win.
    async fn put_mark(
        &self,
        recipe: &str,
        key: &str,
        value: Option<&str>,
        now: DateTime<Utc>,
        replace_before: Option<DateTime<Utc>>,
    ) -> Result<bool, Error>;

    /// Removes a recipe's mark.
    async fn remove_mark(&self, recipe: &str, key: &str) -> Result<(), Error>;

    /// How many marks of a recipe have keys starting with `prefix`.
    async fn count_marks(&self, recipe: &str, prefix: &str) -> Result<u64, Error>;

    /// A recipe's mark. Marks whose key starts with `event:` are about one event and are
    /// purged with the events (`delivery.retention_days`); the others are kept.
    async fn mark(&self, recipe: &str, key: &str) -> Result<Option<Mark>, Error>;
}

/// Marks about one event (keys starting with `event:`) go with the events, at the retention
/// cutoff; the others (a person's contact, a caller's cooldown) stay.
pub(crate) const PURGE_EVENT_MARKS: &str =
    "DELETE FROM recipe_marks WHERE at < $1 AND substr(key, 1, 6) = 'event:'";

/// How many records a lookup reads at most.
pub(crate) const MAX_LOOKUP: u32 = 500;

/// A backend's `impl Directory`: its writes as given, and the reads, the same SQL on both
/// backends (`$n` parameters, which SQLite reads too), on its pool.
macro_rules! impl_directory {
    ($store:ty, $pool:ident, { $($writes:tt)* }) => {
        #[async_trait::async_trait]
        impl $crate::directory::Directory for $store {
        $($writes)*

        async fn meetings(
            &self,
            who: &$crate::directory::PersonKey,
            limit: u32,
        ) -> Result<Vec<$crate::directory::Meeting>, $crate::Error> {
            use $crate::directory::PersonKey;
            let (sql, value) = match who {
                PersonKey::Phone(p) => (
                    "SELECT data FROM directory_meetings WHERE phone = $1 \
                     ORDER BY start_at DESC NULLS LAST LIMIT $2",
                    p,
                ),
                PersonKey::Email(e) => (
                    "SELECT data FROM directory_meetings WHERE email = $1 \
                     ORDER BY start_at DESC NULLS LAST LIMIT $2",
                    e,
                ),
            };
            sqlx::query(sql)
                .bind(value)
                .bind(i64::from(limit.min($crate::directory::MAX_LOOKUP)))
                .fetch_all(&self.$pool)
                .await?
                .iter()
                .map(|row| $crate::directory::decode(sqlx::Row::try_get::<&str, _>(row, 0)?))
                .collect()
        }

        async fn meeting(
            &self,
            invitee: &str,
        ) -> Result<Option<$crate::directory::Meeting>, $crate::Error> {
            sqlx::query("SELECT data FROM directory_meetings WHERE invitee = $1")
                .bind(invitee)
                .fetch_optional(&self.$pool)
                .await?
                .map(|row| $crate::directory::decode(sqlx::Row::try_get::<&str, _>(&row, 0)?))
                .transpose()
        }

        async fn calls(
            &self,
            phone: &str,
            limit: u32,
        ) -> Result<Vec<$crate::directory::CallRecord>, $crate::Error> {
            sqlx::query(
                "SELECT data FROM directory_calls WHERE phone = $1 \
                 ORDER BY started_at DESC NULLS LAST LIMIT $2",
            )
            .bind(phone)
            .bind(i64::from(limit.min($crate::directory::MAX_LOOKUP)))
            .fetch_all(&self.$pool)
            .await?
            .iter()
            .map(|row| $crate::directory::decode(sqlx::Row::try_get::<&str, _>(row, 0)?))
            .collect()
        }

        async fn directory_stats(&self) -> Result<$crate::directory::DirectoryStats, $crate::Error> {
            let row = sqlx::query(
                "SELECT (SELECT count(*) FROM directory_meetings), \
                 (SELECT count(*) FROM directory_calls)",
            )
            .fetch_one(&self.$pool)
            .await?;
            Ok($crate::directory::DirectoryStats {
                meetings: sqlx::Row::try_get::<i64, _>(&row, 0)? as u64,
                calls: sqlx::Row::try_get::<i64, _>(&row, 1)? as u64,
            })
        }

        async fn mark(
            &self,
            recipe: &str,
            key: &str,
        ) -> Result<Option<$crate::directory::Mark>, $crate::Error> {
            let row = sqlx::query("SELECT value, at FROM recipe_marks WHERE recipe = $1 AND key = $2")
                .bind(recipe)
                .bind(key)
                .fetch_optional(&self.$pool)
                .await?;
            row.map(|r| {
                Ok($crate::directory::Mark {
                    value: sqlx::Row::try_get(&r, 0)?,
                    at: $crate::rows::millis(sqlx::Row::try_get(&r, 1)?)?,
                })
            })
            .transpose()
        }

        async fn count_marks(&self, recipe: &str, prefix: &str) -> Result<u64, $crate::Error> {
            let row = sqlx::query(
                "SELECT count(*) FROM recipe_marks \
                 WHERE recipe = $1 AND substr(key, 1, length($2)) = $2",
            )
            .bind(recipe)
            .bind(prefix)
            .fetch_one(&self.$pool)
            .await?;
            Ok(sqlx::Row::try_get::<i64, _>(&row, 0)? as u64)
        }
        }
    };
}
pub(crate) use impl_directory;

pub(crate) fn encode<T: Serialize>(record: &T) -> Result<String, crate::Error> {
    serde_json::to_string(record).map_err(|e| crate::Error::Corrupt(e.to_string()))
}

pub(crate) fn decode<T: for<'de> Deserialize<'de>>(data: &str) -> Result<T, crate::Error> {
    serde_json::from_str(data).map_err(|e| crate::Error::Corrupt(format!("directory record: {e}")))
}

/// The indexed columns of a meeting: phone, email, start (UNIX ms).
pub(crate) fn meeting_columns(m: &Meeting) -> (Option<String>, Option<String>, Option<i64>) {
    match &m.details {
        Some(d) => (
            d.phone.clone(),
            d.email.clone(),
            d.start.map(|t| t.timestamp_millis()),
        ),
        None => (None, None, None),
    }
}

/// Whether a mark stored at `stored` (UNIX ms) gives way to a new one.
pub(crate) fn replaces(stored: i64, replace_before: Option<DateTime<Utc>>) -> bool {
    replace_before.is_some_and(|t| stored < t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(s, 0).unwrap()
    }

    #[test]
    fn a_cancel_before_its_create_still_ends_canceled() {
        let details = MeetingDetails::new("ev", "Ana", at(10));
        let cancel = Meeting::from_change("i", &cancel(false), Some(details.clone()));
        let create = Meeting::from_change("i", &MeetingChange::Booked, Some(details));
        let merged = cancel.clone().merge(create.clone());
        assert_eq!(merged.status(), MeetingStatus::Canceled);
        assert_eq!(merged, create.merge(cancel));
    }

    #[test]
    fn the_latest_no_show_mark_wins_in_any_order() {
        let mark = Meeting::from_change("i", &no_show(true, 5), None);
        let unmark = Meeting::from_change("i", &no_show(false, 9), None);
        assert_eq!(
            mark.clone().merge(unmark.clone()).status(),
            MeetingStatus::Active
        );
        assert_eq!(unmark.merge(mark).status(), MeetingStatus::Active);
    }

    fn cancel(rescheduled: bool) -> MeetingChange {
        MeetingChange::Canceled {
            rescheduled,
            new_invitee: None,
        }
    }

    fn no_show(marked: bool, s: i64) -> MeetingChange {
        MeetingChange::NoShow { marked, at: at(s) }
    }
}
