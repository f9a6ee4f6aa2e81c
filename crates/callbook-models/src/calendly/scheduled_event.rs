//! Scheduled events (meetings) and their locations.

use super::uri::{EventTypeUri, ScheduledEventUri, UserUri};
use crate::Timestamp;
use crate::open_enum::open_enum;
use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

open_enum! {
    /// Whether a meeting or an invitee is still on.
    pub enum Status {
        Active => "active",
        Canceled => "canceled",
    }
}

open_enum! {
    /// Who canceled.
    pub enum CancelerType {
        Host => "host",
        Invitee => "invitee",
    }
}

open_enum! {
    /// Progress of creating a conference link.
    pub enum ConferenceStatus {
        Initiated => "initiated",
        Processing => "processing",
        Pushed => "pushed",
        Failed => "failed",
    }
}

open_enum! {
    /// The calendar a legacy calendar event lives in.
    pub enum CalendarKind {
        Exchange => "exchange",
        Google => "google",
        Icloud => "icloud",
        Outlook => "outlook",
        OutlookDesktop => "outlook_desktop",
    }
}

/// A scheduled event: `GET /scheduled_events/{uuid}`, and `scheduled_event` in invitee webhooks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScheduledEvent {
    /// The event's URI.
    pub uri: ScheduledEventUri,
    /// The event type's name at booking time.
    pub name: Option<String>,
    /// Host's internal notes, plain text.
    pub meeting_notes_plain: Option<String>,
    /// Host's internal notes, HTML.
    pub meeting_notes_html: Option<String>,
    /// `active` or `canceled`. Calendly's own `invitee.canceled` example keeps `active` here.
    pub status: Status,
    /// Start.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub start_time: Timestamp,
    /// End.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub end_time: Timestamp,
    /// The event type booked.
    pub event_type: EventTypeUri,
    /// Where the meeting happens; absent for some round-robin bookings.
    pub location: Option<Location>,
    /// How many invitees are booked.
    pub invitees_counter: Option<InviteesCounter>,
    /// Creation time.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub created_at: Timestamp,
    /// Last update.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub updated_at: Timestamp,
    /// Hosts.
    #[serde(default)]
    pub event_memberships: Vec<EventMembership>,
    /// Additional guests.
    #[serde(default)]
    pub event_guests: Vec<EventGuest>,
    /// Set when the event was canceled.
    pub cancellation: Option<Cancellation>,
    /// The calendar entry (legacy field of the 2023 API).
    pub calendar_event: Option<CalendarEvent>,
}

/// Invitee counts of a scheduled event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InviteesCounter {
    /// All invitees, canceled ones included.
    #[serde(with = "crate::num::count")]
    pub total: u32,
    /// Active invitees.
    #[serde(with = "crate::num::count")]
    pub active: u32,
    /// Maximum invitees (group events).
    #[serde(with = "crate::num::count")]
    pub limit: u32,
}

/// A host of a scheduled event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EventMembership {
    /// The host.
    pub user: UserUri,
    /// The host's e-mail.
    pub user_email: Option<String>,
    /// The host's name.
    pub user_name: Option<String>,
}

/// A guest added by an invitee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EventGuest {
    /// The guest's e-mail.
    pub email: String,
    /// When the guest was added.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub created_at: Option<Timestamp>,
    /// Last update.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub updated_at: Option<Timestamp>,
}

/// Details of a cancellation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Cancellation {
    /// Name of whoever canceled.
    #[serde(default)]
    pub canceled_by: String,
    /// The reason given.
    pub reason: Option<String>,
    /// Host or invitee (absent in the 2023 spec's examples).
    pub canceler_type: Option<CancelerType>,
    /// When (absent in the 2023 spec).
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub created_at: Option<Timestamp>,
}

/// The external calendar entry of a scheduled event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CalendarEvent {
    /// Which calendar.
    pub kind: CalendarKind,
    /// The entry's ID in that calendar.
    pub external_id: Option<String>,
}

/// A free-text location (in person, phone, custom, or asked of the invitee).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TextLocation {
    /// The address, phone number or text.
    pub location: Option<String>,
    /// Extra details for the invitee.
    pub additional_info: Option<String>,
}

/// A conference link.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConferenceLocation {
    /// Whether the link is ready.
    pub status: Option<ConferenceStatus>,
    /// The join URL once pushed.
    pub join_url: Option<String>,
    /// Provider-specific data.
    pub data: Option<serde_json::Value>,
}

/// Where a meeting happens, polymorphic on `type`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Location {
    /// `physical`
    Physical(TextLocation),
    /// `outbound_call`: the host calls the invitee.
    OutboundCall(TextLocation),
    /// `inbound_call`: the invitee calls the host.
    InboundCall(TextLocation),
    /// `custom`
    Custom(TextLocation),
    /// `ask_invitee`
    AskInvitee(TextLocation),
    /// `google_conference`
    GoogleConference(ConferenceLocation),
    /// `zoom_conference` (the 2023 spec's example says `zoom`; both are read).
    ZoomConference(ConferenceLocation),
    /// `gotomeeting`
    GoToMeeting(ConferenceLocation),
    /// `microsoft_teams_conference`
    MicrosoftTeamsConference(ConferenceLocation),
    /// `webex_conference`
    WebexConference(ConferenceLocation),
    /// Any other `type`: the whole object, verbatim.
    Other(serde_json::Value),
}

impl Location {
    /// The wire `type`.
    pub fn kind(&self) -> &str {
        match self {
            Self::Physical(_) => "physical",
            Self::OutboundCall(_) => "outbound_call",
            Self::InboundCall(_) => "inbound_call",
            Self::Custom(_) => "custom",
            Self::AskInvitee(_) => "ask_invitee",
            Self::GoogleConference(_) => "google_conference",
            Self::ZoomConference(_) => "zoom_conference",
            Self::GoToMeeting(_) => "gotomeeting",
            Self::MicrosoftTeamsConference(_) => "microsoft_teams_conference",
            Self::WebexConference(_) => "webex_conference",
            Self::Other(v) => v.get("type").and_then(|t| t.as_str()).unwrap_or(""),
        }
    }

    /// The join URL of a conference, or the text of any other location.
    pub fn display_text(&self) -> Option<&str> {
        match self {
            Self::Physical(t)
            | Self::OutboundCall(t)
            | Self::InboundCall(t)
            | Self::Custom(t)
            | Self::AskInvitee(t) => t.location.as_deref(),
            Self::GoogleConference(c)
            | Self::ZoomConference(c)
            | Self::GoToMeeting(c)
            | Self::MicrosoftTeamsConference(c)
            | Self::WebexConference(c) => c.join_url.as_deref(),
            Self::Other(v) => v.get("location").and_then(|l| l.as_str()),
        }
    }
}

impl Serialize for Location {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = |s: S, t: &TextLocation| {
            let mut m = s.serialize_map(None)?;
            m.serialize_entry("type", self.kind())?;
            m.serialize_entry("location", &t.location)?;
            if let Some(info) = &t.additional_info {
                m.serialize_entry("additional_info", info)?;
            }
            m.end()
        };
        let conf = |s: S, c: &ConferenceLocation| {
            let mut m = s.serialize_map(None)?;
            m.serialize_entry("type", self.kind())?;
            m.serialize_entry("status", &c.status)?;
            m.serialize_entry("join_url", &c.join_url)?;
            if let Some(data) = &c.data {
                m.serialize_entry("data", data)?;
            }
            m.end()
        };
        match self {
            Self::Physical(t)
            | Self::OutboundCall(t)
            | Self::InboundCall(t)
            | Self::Custom(t)
            | Self::AskInvitee(t) => text(s, t),
            Self::GoogleConference(c)
            | Self::ZoomConference(c)
            | Self::GoToMeeting(c)
            | Self::MicrosoftTeamsConference(c)
            | Self::WebexConference(c) => conf(s, c),
            Self::Other(v) => v.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Location {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(LocationVisitor)
    }
}

struct LocationVisitor;

impl<'de> Visitor<'de> for LocationVisitor {
    type Value = Location;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a location object with a `type`")
    }

    // Reads the known fields straight into typed slots (no buffering on the hot path) and keeps
    // anything else, so an unknown `type` can still be handed back whole.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Location, A::Error> {
        let mut kind: Option<String> = None;
        let mut text = TextLocation::default();
        let mut conf = ConferenceLocation::default();
        let mut extra = serde_json::Map::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "type" => kind = Some(map.next_value()?),
                "location" => text.location = map.next_value()?,
                "additional_info" => text.additional_info = map.next_value()?,
                "status" => conf.status = map.next_value()?,
                "join_url" => conf.join_url = map.next_value()?,
                "data" => conf.data = map.next_value()?,
                other => {
                    let value: serde_json::Value = map.next_value()?;
                    extra.insert(other.to_owned(), value);
                }
            }
        }
        let kind = kind.ok_or_else(|| de::Error::missing_field("type"))?;
        Ok(match kind.as_str() {
            "physical" => Location::Physical(text),
            "outbound_call" => Location::OutboundCall(text),
            "inbound_call" => Location::InboundCall(text),
            "custom" => Location::Custom(text),
            "ask_invitee" => Location::AskInvitee(text),
            "google_conference" => Location::GoogleConference(conf),
            "zoom_conference" | "zoom" => Location::ZoomConference(conf),
            "gotomeeting" | "gotomeeting_conference" => Location::GoToMeeting(conf),
            "microsoft_teams_conference" => Location::MicrosoftTeamsConference(conf),
            "webex_conference" => Location::WebexConference(conf),
            _ => {
                extra.insert("type".into(), kind.into());
                let mut put = |k: &str, v: Option<serde_json::Value>| {
                    if let Some(v) = v {
                        extra.insert(k.into(), v);
                    }
                };
                put("location", text.location.map(Into::into));
                put("additional_info", text.additional_info.map(Into::into));
                put("status", conf.status.map(|s| s.as_str().into()));
                put("join_url", conf.join_url.map(Into::into));
                put("data", conf.data);
                Location::Other(serde_json::Value::Object(extra))
            }
        })
    }
}
