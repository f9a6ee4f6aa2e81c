//! Aircall REST resources (also the `data` of webhooks).
//!
//! REST sends timestamps as UNIX seconds and webhooks sometimes as ISO strings: both are read.
//! Nested objects that arrive as `{}` read as `None`.

use super::helpers::{empty_as_none, id_string};
use super::ids::{CallId, ContactId, NumberId, TagId, TeamId, UserId};
use super::webhook::EventName;
use crate::Timestamp;
use crate::num::Amount;
use crate::open_enum::open_enum;
use crate::time::unix_or_rfc3339;
use serde::{Deserialize, Serialize};

open_enum! {
    /// Call direction.
    pub enum Direction {
        Inbound => "inbound",
        Outbound => "outbound",
    }
}

open_enum! {
    /// Call status.
    pub enum CallStatus {
        Initial => "initial",
        Answered => "answered",
        Done => "done",
    }
}

open_enum! {
    /// Why an inbound call was missed.
    pub enum MissedCallReason {
        OutOfOpeningHours => "out_of_opening_hours",
        ShortAbandoned => "short_abandoned",
        AbandonedInIvr => "abandoned_in_ivr",
        AbandonedInClassic => "abandoned_in_classic",
        NoAvailableAgent => "no_available_agent",
        AgentsDidNotAnswer => "agents_did_not_answer",
        Abandoned => "abandoned",
    }
}

open_enum! {
    /// Kind of call participant.
    pub enum ParticipantType {
        User => "user",
        Contact => "contact",
        External => "external",
    }
}

/// A call: `GET /v1/calls/{id}` and the `data` of `call.*` webhooks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Call {
    /// Call ID (int64).
    pub id: CallId,
    /// API link.
    pub direct_link: Option<String>,
    /// Provider call ID (webhooks).
    pub call_uuid: Option<String>,
    /// Provider call ID (REST).
    pub sid: Option<String>,
    /// Inbound or outbound.
    pub direction: Option<Direction>,
    /// Initial, answered or done.
    pub status: Option<CallStatus>,
    /// Why it was missed.
    pub missed_call_reason: Option<MissedCallReason>,
    /// Start.
    #[serde(default, with = "unix_or_rfc3339::option")]
    pub started_at: Option<Timestamp>,
    /// Answer time.
    #[serde(default, with = "unix_or_rfc3339::option")]
    pub answered_at: Option<Timestamp>,
    /// End.
    #[serde(default, with = "unix_or_rfc3339::option")]
    pub ended_at: Option<Timestamp>,
    /// Seconds from start to end, ringing included.
    pub duration: Option<u64>,
    /// The other party in international format, or `anonymous`.
    pub raw_digits: Option<String>,
    /// Voicemail MP3 (valid one hour).
    pub voicemail: Option<String>,
    /// Recording MP3 (valid one hour).
    pub recording: Option<String>,
    /// Short voicemail link.
    pub voicemail_short_url: Option<String>,
    /// Short recording link.
    pub recording_short_url: Option<String>,
    /// Secured asset page.
    pub asset: Option<String>,
    /// Needs follow-up.
    pub archived: Option<bool>,
    /// Legacy cost field.
    pub cost: Option<Amount>,
    /// Hang-up cause.
    pub hangup_cause: Option<String>,
    /// The Aircall number used.
    #[serde(default, with = "empty_as_none")]
    pub number: Option<Number>,
    /// The agent.
    #[serde(default, with = "empty_as_none")]
    pub user: Option<User>,
    /// The contact.
    #[serde(default, with = "empty_as_none")]
    pub contact: Option<Contact>,
    /// Assignee.
    #[serde(default, with = "empty_as_none")]
    pub assigned_to: Option<User>,
    /// Who transferred it (Aircall also spells it `transfered_by`).
    #[serde(default, alias = "transfered_by", with = "empty_as_none")]
    pub transferred_by: Option<User>,
    /// Who it was transferred to.
    #[serde(default, alias = "transfered_to", with = "empty_as_none")]
    pub transferred_to: Option<User>,
    /// External number it was transferred to.
    #[serde(alias = "external_transfered_to")]
    pub external_transferred_to: Option<String>,
    /// Teams that received it (inbound).
    #[serde(default)]
    pub teams: Vec<Team>,
    /// Comments (notes).
    #[serde(default)]
    pub comments: Vec<Comment>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Participants (`conference_participants` in REST).
    #[serde(default, alias = "conference_participants")]
    pub participants: Vec<Participant>,
    /// IVR branches taken (REST with `fetch_call_timeline=true`).
    #[serde(default)]
    pub ivr_options_selected: Vec<serde_json::Value>,
}

/// A call participant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Participant {
    /// User, contact or external.
    #[serde(rename = "type")]
    pub type_: ParticipantType,
    /// User or contact ID.
    pub id: Option<serde_json::Value>,
    /// Name.
    pub name: Option<String>,
    /// Phone number.
    pub phone_number: Option<String>,
}

/// A comment (note) on a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Comment {
    /// Comment ID.
    pub id: Option<i64>,
    /// Text.
    pub content: String,
    /// When posted.
    #[serde(default, with = "unix_or_rfc3339::option")]
    pub posted_at: Option<Timestamp>,
    /// Author (null when posted through the API).
    #[serde(default, with = "empty_as_none")]
    pub posted_by: Option<User>,
}

/// A tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Tag {
    /// Tag ID.
    pub id: TagId,
    /// Name.
    pub name: Option<String>,
    /// Colour.
    pub color: Option<String>,
    /// Description (reserved by Aircall).
    pub description: Option<String>,
    /// Who tagged (webhooks).
    pub tagged_by: Option<serde_json::Value>,
    /// When tagged (webhooks).
    #[serde(default, with = "unix_or_rfc3339::option")]
    pub tagged_at: Option<Timestamp>,
}

/// A user (agent), v1 or v2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// User ID.
    pub id: UserId,
    /// API link.
    pub direct_link: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Creation time.
    #[serde(default, with = "unix_or_rfc3339::option")]
    pub created_at: Option<Timestamp>,
    /// Available for calls.
    pub available: Option<bool>,
    /// `available`, `custom`, `unavailable`.
    pub availability_status: Option<String>,
    /// Sub-status.
    pub substatus: Option<String>,
    /// Numbers (v1 only).
    #[serde(default)]
    pub numbers: Vec<Number>,
    /// IANA time zone.
    pub time_zone: Option<String>,
    /// IETF language tag.
    pub language: Option<String>,
    /// Wrap-up time in seconds.
    pub wrap_up_time: Option<u32>,
    /// State (v2).
    pub state: Option<String>,
    /// Extension (v2).
    pub extension: Option<String>,
    /// Default number (v2).
    pub default_number_id: Option<NumberId>,
}

/// A team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Team {
    /// Team ID.
    pub id: TeamId,
    /// Name.
    pub name: Option<String>,
    /// API link.
    pub direct_link: Option<String>,
    /// Creation time.
    #[serde(default, with = "unix_or_rfc3339::option")]
    pub created_at: Option<Timestamp>,
    /// Members.
    #[serde(default)]
    pub users: Vec<User>,
}

/// An Aircall phone number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Number {
    /// Number ID.
    pub id: NumberId,
    /// API link.
    pub direct_link: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// International format with spaces.
    pub digits: Option<String>,
    /// E.164 (webhooks only).
    pub e164_digits: Option<String>,
    /// Creation time.
    #[serde(default, with = "unix_or_rfc3339::option")]
    pub created_at: Option<Timestamp>,
    /// ISO 3166 alpha-2 country.
    pub country: Option<String>,
    /// IANA time zone.
    pub time_zone: Option<String>,
    /// Open (deprecated).
    pub open: Option<bool>,
    /// `open`, `custom`, `closed`.
    pub availability_status: Option<String>,
    /// IVR (deprecated).
    pub is_ivr: Option<bool>,
    /// Live recording on.
    pub live_recording_activated: Option<bool>,
    /// Users on the number.
    #[serde(default)]
    pub users: Vec<User>,
    /// Priority (null, 0 or 1).
    pub priority: Option<i64>,
    /// Music and messages.
    pub messages: Option<serde_json::Value>,
}

/// A contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Contact {
    /// Contact ID.
    pub id: ContactId,
    /// API link.
    pub direct_link: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Company.
    pub company_name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Free-form information.
    pub information: Option<String>,
    /// Shared in the company (always true through the API).
    pub is_shared: Option<bool>,
    /// Phone numbers.
    #[serde(default)]
    pub phone_numbers: Vec<ContactDetail>,
    /// E-mails.
    #[serde(default)]
    pub emails: Vec<ContactDetail>,
    /// Creation time (UNIX in REST, ISO in webhooks).
    #[serde(default, with = "unix_or_rfc3339::option")]
    pub created_at: Option<Timestamp>,
    /// Last update.
    #[serde(default, with = "unix_or_rfc3339::option")]
    pub updated_at: Option<Timestamp>,
}

/// A phone or e-mail entry of a contact: `{phone_detail}` / `{email_detail}` responses too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContactDetail {
    /// Detail ID (absent when creating).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Label, such as `Work`.
    pub label: Option<String>,
    /// The number or address.
    pub value: String,
}

impl ContactDetail {
    /// A new detail with a label.
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            id: None,
            label: Some(label.into()),
            value: value.into(),
        }
    }
}

/// An SMS, MMS or WhatsApp message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Message {
    /// Message ID (a string; some payloads send a number).
    #[serde(with = "id_string")]
    pub id: String,
    /// API link.
    pub direct_link: Option<String>,
    /// Inbound or outbound.
    pub direction: Option<Direction>,
    /// The other party.
    pub external_number: Option<String>,
    /// Text.
    pub body: Option<String>,
    /// Delivery status.
    pub status: Option<String>,
    /// The other party, raw.
    pub raw_digits: Option<String>,
    /// Creation time.
    #[serde(default, with = "unix_or_rfc3339::option")]
    pub created_at: Option<Timestamp>,
    /// Last update.
    #[serde(default, with = "unix_or_rfc3339::option")]
    pub updated_at: Option<Timestamp>,
    /// When sent.
    #[serde(default, with = "unix_or_rfc3339::option")]
    pub sent_at: Option<Timestamp>,
    /// Media links.
    #[serde(default)]
    pub media_url: Vec<String>,
    /// Media details.
    #[serde(default)]
    pub media_details: Vec<serde_json::Value>,
    /// Agent.
    #[serde(default, with = "empty_as_none")]
    pub user: Option<User>,
    /// Aircall number.
    #[serde(default, with = "empty_as_none")]
    pub number: Option<Number>,
    /// Contact.
    #[serde(default, with = "empty_as_none")]
    pub contact: Option<Contact>,
    /// Null for SMS/MMS, `whatsapp` for WhatsApp.
    pub channel: Option<String>,
}

/// `data` of `integration.deleted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IntegrationData {
    /// The uninstalled integration.
    pub integration_id: i64,
    /// The company.
    pub company_id: i64,
}

/// A webhook registration: `GET /v1/webhooks/{id}`. Its `token` is what deliveries carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WebhookRegistration {
    /// UUID.
    pub webhook_id: String,
    /// Legacy numeric ID.
    pub id: Option<i64>,
    /// API link.
    pub direct_link: Option<String>,
    /// Delivery URL.
    pub url: String,
    /// Enabled.
    #[serde(default)]
    pub active: bool,
    /// Subscribed events.
    #[serde(default)]
    pub events: Vec<EventName>,
    /// The shared token every delivery carries.
    pub token: super::WebhookToken,
    /// Display name.
    pub custom_name: Option<String>,
    /// Creation time.
    #[serde(default, with = "unix_or_rfc3339::option")]
    pub created_at: Option<Timestamp>,
}

/// Body of `POST /v1/webhooks`. Aircall subscribes to **all** events when `events` is empty,
/// so the constructor takes them explicitly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreateWebhook {
    /// HTTPS URL.
    pub url: String,
    /// Events to receive.
    pub events: Vec<EventName>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_name: Option<String>,
}

impl CreateWebhook {
    /// A webhook for `url` receiving `events`.
    pub fn new(url: impl Into<String>, events: Vec<EventName>) -> Self {
        Self {
            url: url.into(),
            events,
            custom_name: None,
        }
    }
}

/// Body of `PUT /v1/webhooks/{id}`. Omitting `events` would reset the webhook to all events,
/// so they are always sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UpdateWebhook {
    /// HTTPS URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Events to receive.
    pub events: Vec<EventName>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_name: Option<String>,
    /// Enabled (set `true` to re-enable an auto-disabled webhook).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

impl UpdateWebhook {
    /// An update that sets the event list.
    pub fn new(events: Vec<EventName>) -> Self {
        Self {
            url: None,
            events,
            custom_name: None,
            active: None,
        }
    }
}

/// Body of `POST /v1/calls/{id}/insight_cards`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InsightCard {
    /// Blocks, in order.
    pub contents: Vec<InsightCardContent>,
}

impl InsightCard {
    /// A card with the given blocks.
    pub fn new(contents: Vec<InsightCardContent>) -> Self {
        Self { contents }
    }
}

/// A block of an insight card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
#[non_exhaustive]
pub enum InsightCardContent {
    /// A title line.
    #[serde(rename = "title")]
    Title {
        /// Text.
        text: String,
        /// Optional link.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        link: Option<String>,
    },
    /// A label with a short text.
    #[serde(rename = "shortText")]
    ShortText {
        /// Label.
        label: String,
        /// Text.
        text: String,
        /// Optional link.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        link: Option<String>,
    },
}

/// The company: `GET /v1/company`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Company {
    /// Name.
    pub name: String,
    /// Users.
    pub users_count: Option<u32>,
    /// Numbers.
    pub numbers_count: Option<u32>,
}

/// Pagination block of list responses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Meta {
    /// Items on this page.
    #[serde(default)]
    pub count: u32,
    /// Items in all pages.
    #[serde(default)]
    pub total: u64,
    /// This page (from 1).
    #[serde(default)]
    pub current_page: u32,
    /// Page size (at most 50).
    #[serde(default)]
    pub per_page: u32,
    /// Next page URL.
    pub next_page_link: Option<String>,
    /// Previous page URL.
    pub previous_page_link: Option<String>,
}

/// A user's availability: `GET /v1/users/{id}/availability` and list items of
/// `GET /v1/users/availabilities`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Availability {
    /// User ID (list form).
    pub id: Option<UserId>,
    /// `available`, `offline`, `do_not_disturb`, `in_call`, `after_call_work`, ...
    pub availability: String,
}

/// An error body; Aircall's shapes vary, so every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApiError {
    /// Message, such as `Forbidden`.
    pub message: Option<String>,
    /// Error, such as `Bad Request`.
    pub error: Option<String>,
    /// Hint.
    pub troubleshoot: Option<String>,
    /// Details (a string or a list).
    pub errors: Option<serde_json::Value>,
    /// Always false.
    pub success: Option<bool>,
}

macro_rules! wrappers {
    ($( $(#[$m:meta])* $name:ident { $field:ident : $ty:ty } )*) => {$(
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[non_exhaustive]
        pub struct $name {
            #[doc = concat!("The `", stringify!($field), "`.")]
            pub $field: $ty,
        }
    )*};
}

macro_rules! lists {
    ($( $(#[$m:meta])* $name:ident { $field:ident : $ty:ty } )*) => {$(
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[non_exhaustive]
        pub struct $name {
            #[doc = concat!("The `", stringify!($field), "` of this page.")]
            #[serde(default)]
            pub $field: Vec<$ty>,
            /// Pagination.
            #[serde(default)]
            pub meta: Meta,
        }
    )*};
}

wrappers! {
    /// `{"call": ...}`
    CallResponse { call: Call }
    /// `{"user": ...}`
    UserResponse { user: User }
    /// `{"team": ...}`
    TeamResponse { team: Team }
    /// `{"number": ...}`
    NumberResponse { number: Number }
    /// `{"contact": ...}`
    ContactResponse { contact: Contact }
    /// `{"tag": ...}`
    TagResponse { tag: Tag }
    /// `{"webhook": ...}`
    WebhookResponse { webhook: WebhookRegistration }
    /// `{"company": ...}`
    CompanyResponse { company: Company }
    /// `{"message": ...}`
    MessageResponse { message: Message }
    /// `{"phone_detail": ...}`
    PhoneDetailResponse { phone_detail: ContactDetail }
    /// `{"email_detail": ...}`
    EmailDetailResponse { email_detail: ContactDetail }
}

lists! {
    /// `GET /v1/calls`
    CallList { calls: Call }
    /// `GET /v1/users`
    UserList { users: User }
    /// `GET /v1/users/availabilities`
    AvailabilityList { users: Availability }
    /// `GET /v1/teams`
    TeamList { teams: Team }
    /// `GET /v1/numbers`
    NumberList { numbers: Number }
    /// `GET /v1/contacts`
    ContactList { contacts: Contact }
    /// `GET /v1/tags`
    TagList { tags: Tag }
    /// `GET /v1/webhooks`
    WebhookList { webhooks: WebhookRegistration }
}

crate::setters::option_setters!(CreateWebhook {
    custom_name: String,
});

crate::setters::option_setters!(UpdateWebhook { url: String });
