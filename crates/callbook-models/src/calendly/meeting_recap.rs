//! Meeting recaps (notetaker): `GET /meeting_recaps`, and `meeting_recap.*` webhooks.

use super::scheduled_event::Location;
use super::uri::{MeetingRecapUri, ScheduledEventUri};
use crate::Timestamp;
use serde::{Deserialize, Serialize};

/// A recap of a recorded meeting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MeetingRecap {
    /// The recap's URI.
    pub uri: MeetingRecapUri,
    /// The transcript (or a link to it).
    pub transcript: Option<serde_json::Value>,
    /// Summary, Markdown.
    pub summary_md: Option<String>,
    /// Action items, Markdown.
    pub action_items_md: Option<String>,
    /// Discussion points, Markdown.
    pub discussion_md: Option<String>,
    /// Share link.
    pub share_link: Option<String>,
    /// `available`, `processing`, `unavailable` (list API).
    pub status: Option<String>,
    /// Creation time.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub created_at: Option<Timestamp>,
    /// Last update.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub updated_at: Option<Timestamp>,
}

/// The meeting a recap belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RecapEvent {
    /// The scheduled event, when it was booked through Calendly.
    pub uri: Option<ScheduledEventUri>,
    /// Meeting name.
    pub name: Option<String>,
    /// Start.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub start_time: Option<Timestamp>,
    /// End.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub end_time: Option<Timestamp>,
    /// Location.
    pub location: Option<Location>,
    /// Attendees.
    #[serde(default)]
    pub attendees: Vec<RecapAttendee>,
}

/// An attendee of a recapped meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RecapAttendee {
    /// Whether the attendee hosted.
    #[serde(default)]
    pub host: bool,
    /// E-mail.
    pub user_email: Option<String>,
    /// Name.
    pub user_name: Option<String>,
}

/// Payload of `meeting_recap.created` and `meeting_recap.updated`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MeetingRecapPayload {
    /// When the recap was created (absent on `updated`).
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub created_at: Option<Timestamp>,
    /// The meeting.
    pub event: Option<RecapEvent>,
    /// The recap.
    pub recap: MeetingRecap,
}

/// Payload of `meeting_recap.deleted`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MeetingRecapDeletedPayload {
    /// The meeting.
    pub event: Option<RecapEvent>,
    /// What is left of the recap.
    pub recap: DeletedRecap,
}

/// A deleted recap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeletedRecap {
    /// The recap's URI.
    pub uri: MeetingRecapUri,
    /// When it was deleted.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub deleted_at: Option<Timestamp>,
}
