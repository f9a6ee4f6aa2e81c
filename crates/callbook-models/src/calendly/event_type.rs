//! Event types: `GET /event_types`, and the payload of `event_type.*` webhooks.

use super::uri::{EventTypeUri, ResourceUri, UserUri};
use crate::Timestamp;
use crate::open_enum::open_enum;
use serde::{Deserialize, Serialize};

open_enum! {
    /// One host or several invitees.
    pub enum EventTypeKind {
        Solo => "solo",
        Group => "group",
    }
}

open_enum! {
    /// How hosts of a team event are pooled.
    pub enum PoolingType {
        RoundRobin => "round_robin",
        Collective => "collective",
        MultiPool => "multi_pool",
    }
}

open_enum! {
    /// Standard or one-off event type.
    pub enum EventTypeType {
        Standard => "StandardEventType",
        Adhoc => "AdhocEventType",
    }
}

open_enum! {
    /// Instant booking or a poll.
    pub enum BookingMethod {
        Instant => "instant",
        Poll => "poll",
    }
}

open_enum! {
    /// Owner of an event type.
    pub enum ProfileType {
        User => "User",
        Team => "Team",
    }
}

open_enum! {
    /// Answer type of a booking question.
    pub enum QuestionType {
        String => "string",
        Text => "text",
        PhoneNumber => "phone_number",
        SingleSelect => "single_select",
        MultiSelect => "multi_select",
    }
}

/// An event type (a bookable kind of meeting).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EventType {
    /// The event type's URI.
    pub uri: EventTypeUri,
    /// Name (null for some one-off types).
    pub name: Option<String>,
    /// Whether it can be booked.
    #[serde(default)]
    pub active: bool,
    /// URL slug.
    pub slug: Option<String>,
    /// Booking page.
    pub scheduling_url: Option<String>,
    /// Length in minutes.
    #[serde(default, with = "crate::num::count")]
    pub duration: u32,
    /// Lengths the invitee may choose (null for one-off types).
    pub duration_options: Option<Vec<u32>>,
    /// Solo or group.
    pub kind: Option<EventTypeKind>,
    /// Team pooling.
    pub pooling_type: Option<PoolingType>,
    /// Standard or one-off.
    #[serde(rename = "type")]
    pub type_: Option<EventTypeType>,
    /// Colour, `#rrggbb`.
    pub color: Option<String>,
    /// Creation time.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub created_at: Timestamp,
    /// Last update.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub updated_at: Timestamp,
    /// Note for hosts.
    pub internal_note: Option<String>,
    /// Description, plain text.
    pub description_plain: Option<String>,
    /// Description, HTML.
    pub description_html: Option<String>,
    /// Owner.
    pub profile: Option<Profile>,
    /// Hidden from the landing page.
    #[serde(default)]
    pub secret: bool,
    /// Instant or poll.
    pub booking_method: Option<BookingMethod>,
    /// Booking questions.
    #[serde(default)]
    pub custom_questions: Vec<CustomQuestion>,
    /// When deleted.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub deleted_at: Option<Timestamp>,
    /// Managed by an admin.
    #[serde(default)]
    pub admin_managed: bool,
    /// Configured locations (null when none).
    pub locations: Option<Vec<LocationConfig>>,
    /// Position on the landing page.
    pub position: Option<i64>,
    /// Booking page language.
    pub locale: Option<String>,
    /// Whether a payment is taken.
    pub is_paid: Option<bool>,
    /// Human description of the kind (2023 API).
    pub kind_description: Option<String>,
}

/// The owner of an event type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Profile {
    /// User or Team.
    #[serde(rename = "type")]
    pub type_: ProfileType,
    /// Owner's name.
    pub name: String,
    /// Owner's URI (a user or a team).
    pub owner: ResourceUri,
}

/// A booking question of an event type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CustomQuestion {
    /// The question.
    pub name: String,
    /// Answer type.
    #[serde(rename = "type")]
    pub type_: QuestionType,
    /// Position on the form.
    #[serde(default, with = "crate::num::count")]
    pub position: u32,
    /// Shown to invitees.
    #[serde(default)]
    pub enabled: bool,
    /// Must be answered.
    #[serde(default)]
    pub required: bool,
    /// Choices for select questions.
    pub answer_choices: Option<Vec<String>>,
    /// Offers an "other" answer.
    #[serde(default)]
    pub include_other: bool,
}

/// A location configured on an event type. Unlike a booked [`super::Location`] it is keyed
/// on `kind`, and Calendly adds kinds freely, so it stays a flat, open record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LocationConfig {
    /// `physical`, `inbound_call`, `zoom_conference`, ...
    pub kind: String,
    /// Address or text.
    pub location: Option<String>,
    /// Extra details.
    pub additional_info: Option<String>,
    /// Phone number for call locations.
    pub phone_number: Option<String>,
}

/// A host of an event type: `GET /event_type_memberships`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EventTypeMembership {
    /// The event type.
    pub event_type: Option<EventType>,
    /// The host.
    pub member: Option<UserUri>,
}

/// A bookable slot: `GET /event_type_available_times`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AvailableTime {
    /// `available`.
    pub status: String,
    /// Seats left (group events).
    #[serde(default, with = "crate::num::count")]
    pub invitees_remaining: u32,
    /// Slot start.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub start_time: Timestamp,
    /// Link that books this slot.
    pub scheduling_url: Option<String>,
}
