//! Contacts (2026 API): `GET /contacts`, and the payload of `contact.*` webhooks.

use super::uri::ContactUri;
use crate::Timestamp;
use serde::{Deserialize, Serialize};

/// A contact in a user's Calendly address book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Contact {
    /// The contact's URI.
    pub uri: ContactUri,
    /// How the contact was created.
    pub creation_source: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// E-mail addresses.
    #[serde(default)]
    pub emails: Vec<String>,
    /// Phone numbers.
    #[serde(default)]
    pub phone_numbers: Vec<String>,
    /// IANA time zone.
    pub timezone: Option<String>,
    /// Job title.
    pub job_title: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// State or region.
    pub state: Option<String>,
    /// City.
    pub city: Option<String>,
    /// LinkedIn profile.
    pub linkedin: Option<String>,
    /// Custom fields, as sent.
    #[serde(default)]
    pub custom_fields: Vec<serde_json::Value>,
    /// Creation time.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub created_at: Option<Timestamp>,
    /// Last update.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub updated_at: Option<Timestamp>,
    /// Next meeting.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub next_meeting_date: Option<Timestamp>,
    /// Last meeting.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub last_meeting_date: Option<Timestamp>,
    /// Last interaction.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub last_interaction_date: Option<Timestamp>,
    /// First e-mail.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub first_email_date: Option<Timestamp>,
    /// Last e-mail.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub last_email_date: Option<Timestamp>,
}

/// Payload of `contact.created` and `contact.updated`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContactPayload {
    /// The UUID of the user whose contact this is.
    pub user_uuid: String,
    /// The contact.
    pub contact: Contact,
}

/// Payload of `contact.deleted`: a tombstone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContactDeletedPayload {
    /// The UUID of the user whose contact this was.
    pub user_uuid: String,
    /// What is left of the contact.
    pub contact: DeletedContact,
}

/// A deleted contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeletedContact {
    /// The contact's URI.
    pub uri: ContactUri,
    /// When it was deleted.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub deleted_at: Option<Timestamp>,
}
