//! Request bodies of Calendly's write operations.

use super::common::{QuestionAndAnswer, Tracking};
use super::uri::{EventTypeUri, InviteeUri, OrganizationUri, UserUri};
use crate::Timestamp;
use serde::{Deserialize, Serialize};

/// `POST /scheduled_events/{uuid}/cancellation`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CancelEvent {
    /// Reason shown to invitees (up to 10,000 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl CancelEvent {
    /// A cancellation with a reason.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: Some(reason.into()),
        }
    }
}

/// `POST /invitee_no_shows`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreateNoShow {
    /// The invitee to mark.
    pub invitee: InviteeUri,
}

impl CreateNoShow {
    /// Marks an invitee as a no-show.
    pub fn new(invitee: InviteeUri) -> Self {
        Self { invitee }
    }
}

/// `POST /scheduling_links`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreateSchedulingLink {
    /// How many bookings the link allows (Calendly accepts 1).
    pub max_event_count: u32,
    /// The event type to book.
    pub owner: EventTypeUri,
    /// `EventType`.
    pub owner_type: String,
}

impl CreateSchedulingLink {
    /// A single-use link for an event type.
    pub fn new(owner: EventTypeUri) -> Self {
        Self {
            max_event_count: 1,
            owner,
            owner_type: "EventType".into(),
        }
    }
}

/// `POST /organizations/{uuid}/invitations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreateInvitation {
    /// Who to invite.
    pub email: String,
}

impl CreateInvitation {
    /// An invitation to an e-mail address.
    pub fn new(email: impl Into<String>) -> Self {
        Self {
            email: email.into(),
        }
    }
}

/// `POST /data_compliance/deletion/invitees`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeleteInviteeData {
    /// E-mail addresses whose data to delete.
    pub emails: Vec<String>,
}

impl DeleteInviteeData {
    /// Deletion of the given invitees' data.
    pub fn new(emails: Vec<String>) -> Self {
        Self { emails }
    }
}

/// `POST /data_compliance/deletion/events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeleteEventData {
    /// Start of the range.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub start_time: Timestamp,
    /// End of the range.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub end_time: Timestamp,
}

impl DeleteEventData {
    /// Deletion of the events in a time range.
    pub fn new(start_time: Timestamp, end_time: Timestamp) -> Self {
        Self {
            start_time,
            end_time,
        }
    }
}

/// `POST /event_types` (2026 API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreateEventType {
    /// Name.
    pub name: String,
    /// Host.
    pub owner: UserUri,
    /// Length in minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<u32>,
    /// IANA time zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Days bookable into the future.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_setting: Option<serde_json::Value>,
    /// Location configurations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locations: Option<Vec<serde_json::Value>>,
    /// Description, plain text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl CreateEventType {
    /// An event type with a name and a host.
    pub fn new(name: impl Into<String>, owner: UserUri) -> Self {
        Self {
            name: name.into(),
            owner,
            duration: None,
            timezone: None,
            date_setting: None,
            locations: None,
            description: None,
        }
    }
}

/// `PATCH /event_types/{uuid}` (2026 API): only the fields set are changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UpdateEventType {
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Length in minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<u32>,
    /// Description, plain text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Location configurations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locations: Option<Vec<serde_json::Value>>,
}

/// `POST /invitees` (2026 API): books a meeting on an invitee's behalf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreateInvitee {
    /// The event type to book.
    pub event_type: EventTypeUri,
    /// Slot start.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub start_time: Timestamp,
    /// Who is booking.
    pub invitee: NewInvitee,
    /// Location choice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<serde_json::Value>,
    /// Answers to booking questions.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub questions_and_answers: Vec<QuestionAndAnswer>,
    /// UTM parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking: Option<Tracking>,
    /// Guests' e-mails (at most 10).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub event_guests: Vec<String>,
}

impl CreateInvitee {
    /// A booking of `event_type` at `start_time`.
    pub fn new(event_type: EventTypeUri, start_time: Timestamp, invitee: NewInvitee) -> Self {
        Self {
            event_type,
            start_time,
            invitee,
            location: None,
            questions_and_answers: Vec::new(),
            tracking: None,
            event_guests: Vec::new(),
        }
    }
}

/// The person in a [`CreateInvitee`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NewInvitee {
    /// E-mail.
    pub email: String,
    /// IANA time zone.
    pub timezone: String,
    /// Full name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// First name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Phone for SMS reminders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_reminder_number: Option<String>,
}

impl NewInvitee {
    /// An invitee with a name, an e-mail and a time zone.
    pub fn new(
        name: impl Into<String>,
        email: impl Into<String>,
        timezone: impl Into<String>,
    ) -> Self {
        Self {
            email: email.into(),
            timezone: timezone.into(),
            name: Some(name.into()),
            first_name: None,
            last_name: None,
            text_reminder_number: None,
        }
    }
}

/// `POST /contacts` and `PATCH /contacts/{uuid}` (2026 API).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContactFields {
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// E-mail addresses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emails: Option<Vec<String>>,
    /// Phone numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_numbers: Option<Vec<String>>,
    /// Company.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// Job title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    /// IANA time zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// The organization (on create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<OrganizationUri>,
}

crate::setters::option_setters!(CreateEventType {
    duration: u32,
    timezone: String,
    date_setting: serde_json::Value,
    locations: Vec<serde_json::Value>,
    description: String,
});

crate::setters::option_setters!(UpdateEventType {
    name: String,
    duration: u32,
    description: String,
    locations: Vec<serde_json::Value>,
});

crate::setters::option_setters!(CreateInvitee {
    location: serde_json::Value,
    tracking: Tracking,
});

impl CreateInvitee {
    /// Adds the answer to a booking question (positions follow the order of the calls).
    #[must_use]
    pub fn answer(mut self, question: impl Into<String>, answer: impl Into<String>) -> Self {
        let position = self.questions_and_answers.len() as u32;
        self.questions_and_answers
            .push(QuestionAndAnswer::new(question, answer, position));
        self
    }

    /// Adds a guest by e-mail.
    #[must_use]
    pub fn guest(mut self, email: impl Into<String>) -> Self {
        self.event_guests.push(email.into());
        self
    }
}

crate::setters::option_setters!(NewInvitee {
    first_name: String,
    last_name: String,
    text_reminder_number: String,
});

crate::setters::option_setters!(ContactFields {
    name: String,
    emails: Vec<String>,
    phone_numbers: Vec<String>,
    company: String,
    job_title: String,
    timezone: String,
    organization: OrganizationUri,
});
