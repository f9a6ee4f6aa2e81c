//! Invitees: `GET /scheduled_events/{uuid}/invitees`, and the payload of `invitee.*` and
//! `invitee_no_show.*` webhooks.

use super::common::{QuestionAndAnswer, Tracking};
use super::scheduled_event::{Cancellation, ScheduledEvent, Status};
use super::uri::{InviteeUri, NoShowUri, RoutingFormSubmissionUri, ScheduledEventUri, UserUri};
use crate::Timestamp;
use crate::num::Amount;
use crate::open_enum::open_enum;
use serde::{Deserialize, Serialize};

open_enum! {
    /// Payment processor.
    pub enum PaymentProvider {
        Stripe => "stripe",
        Paypal => "paypal",
    }
}

open_enum! {
    /// How the invitee was booked.
    pub enum SchedulingMethod {
        InstantBook => "instant_book",
        Api => "api",
    }
}

/// An invitee of a scheduled event.
///
/// Calendly's examples omit many fields its schema calls required, so everything beyond the
/// identity of the invitee is optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Invitee {
    /// The invitee's URI.
    pub uri: InviteeUri,
    /// E-mail.
    pub email: String,
    /// First name (null when the event type asks for a single name field).
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Full name.
    #[serde(default)]
    pub name: String,
    /// `active` or `canceled`.
    pub status: Status,
    /// Answers to the booking questions.
    #[serde(default)]
    pub questions_and_answers: Vec<QuestionAndAnswer>,
    /// The invitee's IANA time zone.
    pub timezone: Option<String>,
    /// The scheduled event.
    pub event: ScheduledEventUri,
    /// Creation time.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub created_at: Timestamp,
    /// Last update.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub updated_at: Timestamp,
    /// UTM parameters of the booking.
    #[serde(default)]
    pub tracking: Tracking,
    /// Phone number for SMS reminders.
    pub text_reminder_number: Option<String>,
    /// Whether this booking was rescheduled (on `invitee.canceled`, with `new_invitee`).
    #[serde(default)]
    pub rescheduled: bool,
    /// The invitee this one replaces (on `invitee.created` after a reschedule).
    pub old_invitee: Option<InviteeUri>,
    /// The invitee that replaces this one.
    pub new_invitee: Option<InviteeUri>,
    /// Link to cancel.
    pub cancel_url: Option<String>,
    /// Link to reschedule.
    pub reschedule_url: Option<String>,
    /// The routing form submission that led here.
    pub routing_form_submission: Option<RoutingFormSubmissionUri>,
    /// Set when canceled.
    pub cancellation: Option<Cancellation>,
    /// Payment, for paid event types.
    pub payment: Option<Payment>,
    /// Set when marked as a no-show.
    pub no_show: Option<NoShow>,
    /// Reconfirmation request state.
    pub reconfirmation: Option<Reconfirmation>,
    /// How the booking was made.
    pub scheduling_method: Option<SchedulingMethod>,
    /// The user who booked on the invitee's behalf.
    pub invitee_scheduled_by: Option<UserUri>,
    /// The scheduled event, embedded in webhook payloads.
    pub scheduled_event: Option<ScheduledEvent>,
}

impl Invitee {
    /// The name to show: `first_name last_name` when given, else `name`.
    pub fn display_name(&self) -> String {
        match (&self.first_name, &self.last_name) {
            (Some(first), Some(last)) => format!("{first} {last}"),
            (Some(first), None) => first.clone(),
            _ => self.name.clone(),
        }
    }
}

/// A payment for a paid booking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Payment {
    /// The processor's charge ID.
    pub external_id: String,
    /// Stripe or PayPal.
    pub provider: PaymentProvider,
    /// Amount, sent as a number or a string.
    pub amount: Amount,
    /// ISO 4217 currency code.
    pub currency: String,
    /// Payment terms.
    pub terms: Option<String>,
    /// Whether the payment went through.
    #[serde(default)]
    pub successful: bool,
}

/// A no-show mark, as embedded in an invitee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NoShow {
    /// The no-show's URI.
    pub uri: NoShowUri,
    /// When it was marked.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub created_at: Timestamp,
}

/// A no-show resource: `GET /invitee_no_shows/{uuid}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InviteeNoShow {
    /// The no-show's URI.
    pub uri: NoShowUri,
    /// The invitee marked.
    pub invitee: InviteeUri,
    /// When it was marked.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub created_at: Timestamp,
}

/// Reconfirmation request state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Reconfirmation {
    /// When reconfirmation was requested.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub created_at: Timestamp,
    /// When the invitee confirmed.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub confirmed_at: Option<Timestamp>,
}
