//! The webhook envelope and its typed payloads.
//!
//! Every delivery is `{event, created_at, created_by, payload}`. The payload's shape depends on
//! `event`, so [`Webhook`] reads `event` first and parses `payload` straight into the matching
//! type. Calendly writes `event` before `payload`; when a sender does not, the payload is
//! buffered once and then converted, so key order never changes the result.

use super::contact::{ContactDeletedPayload, ContactPayload};
use super::event_type::EventType;
use super::invitee::Invitee;
use super::meeting_recap::{MeetingRecapDeletedPayload, MeetingRecapPayload};
use super::routing_form::RoutingFormSubmission;
use super::uri::UserUri;
use crate::Timestamp;
use crate::open_enum::open_enum;
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

open_enum! {
    /// A Calendly webhook event name.
    pub enum EventName {
        InviteeCreated => "invitee.created",
        InviteeCanceled => "invitee.canceled",
        InviteeNoShowCreated => "invitee_no_show.created",
        InviteeNoShowDeleted => "invitee_no_show.deleted",
        EventTypeCreated => "event_type.created",
        EventTypeUpdated => "event_type.updated",
        EventTypeDeleted => "event_type.deleted",
        RoutingFormSubmissionCreated => "routing_form_submission.created",
        ContactCreated => "contact.created",
        ContactUpdated => "contact.updated",
        ContactDeleted => "contact.deleted",
        MeetingRecapCreated => "meeting_recap.created",
        MeetingRecapUpdated => "meeting_recap.updated",
        MeetingRecapDeleted => "meeting_recap.deleted",
    }
}

impl EventName {
    /// Whether a subscription to this event must have organization scope.
    pub fn requires_organization_scope(&self) -> bool {
        matches!(self, Self::RoutingFormSubmissionCreated)
    }
}

/// A Calendly webhook delivery.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Webhook {
    /// When Calendly created the delivery.
    pub created_at: Timestamp,
    /// The user who created the subscription.
    pub created_by: UserUri,
    /// The event and its payload.
    pub payload: Payload,
}

impl Webhook {
    /// An envelope around a payload.
    pub fn new(created_at: Timestamp, created_by: UserUri, payload: Payload) -> Self {
        Self {
            created_at,
            created_by,
            payload,
        }
    }

    /// The event name.
    pub fn event(&self) -> EventName {
        self.payload.event()
    }
}

/// A webhook's payload, keyed on the event name.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Payload {
    /// `invitee.created`: a booking (after a reschedule, `old_invitee` is set).
    InviteeCreated(Box<Invitee>),
    /// `invitee.canceled`: a cancellation (a reschedule sets `rescheduled` and `new_invitee`).
    InviteeCanceled(Box<Invitee>),
    /// `invitee_no_show.created`
    InviteeNoShowCreated(Box<Invitee>),
    /// `invitee_no_show.deleted`
    InviteeNoShowDeleted(Box<Invitee>),
    /// `event_type.created`
    EventTypeCreated(Box<EventType>),
    /// `event_type.updated`
    EventTypeUpdated(Box<EventType>),
    /// `event_type.deleted`
    EventTypeDeleted(Box<EventType>),
    /// `routing_form_submission.created`
    RoutingFormSubmissionCreated(Box<RoutingFormSubmission>),
    /// `contact.created`
    ContactCreated(Box<ContactPayload>),
    /// `contact.updated`
    ContactUpdated(Box<ContactPayload>),
    /// `contact.deleted`
    ContactDeleted(Box<ContactDeletedPayload>),
    /// `meeting_recap.created`
    MeetingRecapCreated(Box<MeetingRecapPayload>),
    /// `meeting_recap.updated`
    MeetingRecapUpdated(Box<MeetingRecapPayload>),
    /// `meeting_recap.deleted`
    MeetingRecapDeleted(Box<MeetingRecapDeletedPayload>),
    /// An event this version does not know, with its payload verbatim.
    Unknown {
        /// The event name as sent.
        event: String,
        /// The payload as sent.
        payload: serde_json::Value,
    },
}

impl Payload {
    /// The event name.
    pub fn event(&self) -> EventName {
        match self {
            Self::InviteeCreated(_) => EventName::InviteeCreated,
            Self::InviteeCanceled(_) => EventName::InviteeCanceled,
            Self::InviteeNoShowCreated(_) => EventName::InviteeNoShowCreated,
            Self::InviteeNoShowDeleted(_) => EventName::InviteeNoShowDeleted,
            Self::EventTypeCreated(_) => EventName::EventTypeCreated,
            Self::EventTypeUpdated(_) => EventName::EventTypeUpdated,
            Self::EventTypeDeleted(_) => EventName::EventTypeDeleted,
            Self::RoutingFormSubmissionCreated(_) => EventName::RoutingFormSubmissionCreated,
            Self::ContactCreated(_) => EventName::ContactCreated,
            Self::ContactUpdated(_) => EventName::ContactUpdated,
            Self::ContactDeleted(_) => EventName::ContactDeleted,
            Self::MeetingRecapCreated(_) => EventName::MeetingRecapCreated,
            Self::MeetingRecapUpdated(_) => EventName::MeetingRecapUpdated,
            Self::MeetingRecapDeleted(_) => EventName::MeetingRecapDeleted,
            Self::Unknown { event, .. } => EventName::Unknown(event.clone()),
        }
    }

    /// The invitee, for `invitee.*` and `invitee_no_show.*` events.
    pub fn invitee(&self) -> Option<&Invitee> {
        match self {
            Self::InviteeCreated(i)
            | Self::InviteeCanceled(i)
            | Self::InviteeNoShowCreated(i)
            | Self::InviteeNoShowDeleted(i) => Some(i),
            _ => None,
        }
    }

    /// The URI of the resource the event is about: the invitee, event type, submission,
    /// contact or recap; for an unknown event, the payload's top-level `uri` if any.
    pub fn resource_uri(&self) -> Option<&str> {
        match self {
            Self::InviteeCreated(i)
            | Self::InviteeCanceled(i)
            | Self::InviteeNoShowCreated(i)
            | Self::InviteeNoShowDeleted(i) => Some(i.uri.as_str()),
            Self::EventTypeCreated(e) | Self::EventTypeUpdated(e) | Self::EventTypeDeleted(e) => {
                Some(e.uri.as_str())
            }
            Self::RoutingFormSubmissionCreated(s) => Some(s.uri.as_str()),
            Self::ContactCreated(c) | Self::ContactUpdated(c) => Some(c.contact.uri.as_str()),
            Self::ContactDeleted(c) => Some(c.contact.uri.as_str()),
            Self::MeetingRecapCreated(r) | Self::MeetingRecapUpdated(r) => {
                Some(r.recap.uri.as_str())
            }
            Self::MeetingRecapDeleted(r) => Some(r.recap.uri.as_str()),
            Self::Unknown { payload, .. } => payload.get("uri").and_then(|u| u.as_str()),
        }
    }

    /// Parses a payload for a given event name from any serde deserializer.
    pub fn deserialize_for<'de, D: Deserializer<'de>>(
        event: &str,
        payload: D,
    ) -> Result<Self, D::Error> {
        PayloadSeed(event).deserialize(payload)
    }
}

struct PayloadSeed<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for PayloadSeed<'_> {
    type Value = Payload;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Payload, D::Error> {
        use Payload as P;
        let boxed = |d| Invitee::deserialize(d).map(Box::new);
        let event_type = |d| EventType::deserialize(d).map(Box::new);
        let contact = |d| ContactPayload::deserialize(d).map(Box::new);
        let recap = |d| MeetingRecapPayload::deserialize(d).map(Box::new);
        Ok(match EventName::from(self.0) {
            EventName::InviteeCreated => P::InviteeCreated(boxed(d)?),
            EventName::InviteeCanceled => P::InviteeCanceled(boxed(d)?),
            EventName::InviteeNoShowCreated => P::InviteeNoShowCreated(boxed(d)?),
            EventName::InviteeNoShowDeleted => P::InviteeNoShowDeleted(boxed(d)?),
            EventName::EventTypeCreated => P::EventTypeCreated(event_type(d)?),
            EventName::EventTypeUpdated => P::EventTypeUpdated(event_type(d)?),
            EventName::EventTypeDeleted => P::EventTypeDeleted(event_type(d)?),
            EventName::RoutingFormSubmissionCreated => {
                P::RoutingFormSubmissionCreated(Box::new(RoutingFormSubmission::deserialize(d)?))
            }
            EventName::ContactCreated => P::ContactCreated(contact(d)?),
            EventName::ContactUpdated => P::ContactUpdated(contact(d)?),
            EventName::ContactDeleted => {
                P::ContactDeleted(Box::new(ContactDeletedPayload::deserialize(d)?))
            }
            EventName::MeetingRecapCreated => P::MeetingRecapCreated(recap(d)?),
            EventName::MeetingRecapUpdated => P::MeetingRecapUpdated(recap(d)?),
            EventName::MeetingRecapDeleted => {
                P::MeetingRecapDeleted(Box::new(MeetingRecapDeletedPayload::deserialize(d)?))
            }
            EventName::Unknown(event) => P::Unknown {
                event,
                payload: serde_json::Value::deserialize(d)?,
            },
        })
    }
}

impl Serialize for Payload {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::InviteeCreated(p)
            | Self::InviteeCanceled(p)
            | Self::InviteeNoShowCreated(p)
            | Self::InviteeNoShowDeleted(p) => p.serialize(s),
            Self::EventTypeCreated(p) | Self::EventTypeUpdated(p) | Self::EventTypeDeleted(p) => {
                p.serialize(s)
            }
            Self::RoutingFormSubmissionCreated(p) => p.serialize(s),
            Self::ContactCreated(p) | Self::ContactUpdated(p) => p.serialize(s),
            Self::ContactDeleted(p) => p.serialize(s),
            Self::MeetingRecapCreated(p) | Self::MeetingRecapUpdated(p) => p.serialize(s),
            Self::MeetingRecapDeleted(p) => p.serialize(s),
            Self::Unknown { payload, .. } => payload.serialize(s),
        }
    }
}

impl Serialize for Webhook {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("event", self.event().as_str())?;
        m.serialize_entry("created_at", &self.created_at)?;
        m.serialize_entry("created_by", &self.created_by)?;
        m.serialize_entry("payload", &self.payload)?;
        m.end()
    }
}

impl<'de> Deserialize<'de> for Webhook {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(WebhookVisitor)
    }
}

struct WebhookVisitor;

impl<'de> Visitor<'de> for WebhookVisitor {
    type Value = Webhook;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Calendly webhook {event, created_at, created_by, payload}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Webhook, A::Error> {
        let mut event: Option<String> = None;
        let mut created_at = None;
        let mut created_by = None;
        let mut payload: Option<Payload> = None;
        // Only used when `payload` comes before `event`.
        let mut early_payload: Option<serde_json::Value> = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "event" => event = Some(map.next_value()?),
                "created_at" => {
                    created_at = Some(map.next_value::<crate::time::rfc3339::Rfc3339>()?.0);
                }
                "created_by" => created_by = Some(map.next_value()?),
                "payload" => match &event {
                    Some(name) => payload = Some(map.next_value_seed(PayloadSeed(name))?),
                    None => early_payload = Some(map.next_value()?),
                },
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        let event = event.ok_or_else(|| de::Error::missing_field("event"))?;
        let payload = match (payload, early_payload) {
            (Some(p), _) => p,
            (None, Some(value)) => PayloadSeed(&event)
                .deserialize(value)
                .map_err(de::Error::custom)?,
            (None, None) => return Err(de::Error::missing_field("payload")),
        };
        Ok(Webhook {
            created_at: created_at.ok_or_else(|| de::Error::missing_field("created_at"))?,
            created_by: created_by.ok_or_else(|| de::Error::missing_field("created_by"))?,
            payload,
        })
    }
}
