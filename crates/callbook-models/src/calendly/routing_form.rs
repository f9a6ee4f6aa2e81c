//! Routing forms and their submissions (`routing_form_submission.created`).

use super::common::Tracking;
use super::uri::{
    EventTypeUri, InviteeUri, OrganizationUri, RoutingFormSubmissionUri, RoutingFormUri,
};
use crate::Timestamp;
use crate::open_enum::open_enum;
use serde::{Deserialize, Serialize};

open_enum! {
    /// Whether a routing form is live.
    pub enum RoutingFormStatus {
        Draft => "draft",
        Published => "published",
    }
}

/// A routing form: `GET /routing_forms/{uuid}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RoutingForm {
    /// The form's URI.
    pub uri: RoutingFormUri,
    /// Owning organization.
    pub organization: OrganizationUri,
    /// Name.
    pub name: String,
    /// Draft or published.
    pub status: RoutingFormStatus,
    /// Questions.
    #[serde(default)]
    pub questions: Vec<RoutingFormQuestion>,
    /// Creation time.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub created_at: Timestamp,
    /// Last update.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub updated_at: Timestamp,
}

/// A question of a routing form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RoutingFormQuestion {
    /// Question ID.
    pub uuid: String,
    /// The question.
    pub name: String,
    /// `name`, `text`, `email`, `phone`, `textarea`, `select`, `radios`, ...
    #[serde(rename = "type")]
    pub type_: String,
    /// Must be answered.
    #[serde(default)]
    pub required: bool,
    /// Choices (`null` in Calendly's examples for free-text questions).
    #[serde(default, deserialize_with = "crate::de::null_as_default")]
    pub answer_choices: Vec<String>,
}

/// A submission: `GET /routing_form_submissions/{uuid}` and the webhook payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RoutingFormSubmission {
    /// The submission's URI.
    pub uri: RoutingFormSubmissionUri,
    /// The form.
    pub routing_form: RoutingFormUri,
    /// Answers.
    #[serde(default)]
    pub questions_and_answers: Vec<SubmissionAnswer>,
    /// UTM parameters.
    #[serde(default)]
    pub tracking: Tracking,
    /// Where the submitter was routed.
    pub result: Option<RoutingResult>,
    /// The invitee who submitted, once booked.
    pub submitter: Option<InviteeUri>,
    /// `Invitee` or null.
    pub submitter_type: Option<String>,
    /// Creation time.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub created_at: Timestamp,
    /// Last update.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub updated_at: Timestamp,
}

/// An answer in a submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SubmissionAnswer {
    /// Question ID.
    pub question_uuid: String,
    /// The question.
    pub question: String,
    /// The answer.
    pub answer: Option<String>,
}

/// Where a routing form sent the submitter, polymorphic on `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RoutingResult {
    /// To an event type's booking page.
    EventType(EventTypeUri),
    /// To an external URL.
    ExternalUrl(String),
    /// A message shown in place.
    CustomMessage(CustomMessage),
    /// Any other result type, kept as received.
    #[serde(untagged)]
    Other(serde_json::Value),
}

/// The message of a custom-message routing result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CustomMessage {
    /// Headline.
    pub headline: String,
    /// Body.
    #[serde(default)]
    pub body: String,
}
