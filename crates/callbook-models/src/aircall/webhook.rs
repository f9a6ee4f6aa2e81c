//! The webhook envelope `{resource, event, timestamp, token, data}`.
//!
//! Aircall does not sign deliveries: each body carries the webhook's shared `token`, which
//! identifies the account and must be compared in constant time (see `callbook-signature`).
//! `data` is typed by the event's family (the prefix before the first dot), since `resource`
//! is not reliable for newer families.

use super::resources::{Call, Contact, IntegrationData, Message, Number, User};
use crate::Timestamp;
use crate::open_enum::open_enum;
use secrecy::{ExposeSecret, SecretString};
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

open_enum! {
    /// An Aircall webhook event name (all 67 of the reference).
    pub enum EventName {
        CallCreated => "call.created",
        CallRingingOnAgent => "call.ringing_on_agent",
        CallAgentDeclined => "call.agent_declined",
        CallAnswered => "call.answered",
        CallTransferred => "call.transferred",
        CallExternalTransferred => "call.external_transferred",
        CallUnsuccessfulTransfer => "call.unsuccessful_transfer",
        CallHungup => "call.hungup",
        CallEnded => "call.ended",
        CallHold => "call.hold",
        CallUnhold => "call.unhold",
        CallIvrOptionSelected => "call.ivr_option_selected",
        CallCommAssetsGenerated => "call.comm_assets_generated",
        CallVoicemailLeft => "call.voicemail_left",
        CallAssigned => "call.assigned",
        CallArchived => "call.archived",
        CallTagged => "call.tagged",
        CallUntagged => "call.untagged",
        CallCommented => "call.commented",
        UserCreatedV2 => "user.created.v2",
        UserDeletedV2 => "user.deleted.v2",
        UserConnectedV2 => "user.connected.v2",
        UserDisconnectedV2 => "user.disconnected.v2",
        UserOpenedV2 => "user.opened.v2",
        UserClosedV2 => "user.closed.v2",
        UserWutStartV2 => "user.wut_start.v2",
        UserWutEndV2 => "user.wut_end.v2",
        UserCreated => "user.created",
        UserDeleted => "user.deleted",
        UserConnected => "user.connected",
        UserDisconnected => "user.disconnected",
        UserOpened => "user.opened",
        UserClosed => "user.closed",
        UserWutStart => "user.wut_start",
        UserWutEnd => "user.wut_end",
        NumberCreated => "number.created",
        NumberOpened => "number.opened",
        NumberClosed => "number.closed",
        NumberDeleted => "number.deleted",
        ContactCreated => "contact.created",
        ContactUpdated => "contact.updated",
        ContactDeleted => "contact.deleted",
        MessageSent => "message.sent",
        MessageReceived => "message.received",
        MessageStatusUpdated => "message.status_updated",
        GroupMessageSent => "group_message.sent",
        GroupMessageReceived => "group_message.received",
        GroupMessageStatusUpdated => "group_message.status_updated",
        TranscriptionCreated => "transcription.created",
        SummaryCreated => "summary.created",
        TopicsCreated => "topics.created",
        SentimentCreated => "sentiment.created",
        ActionItemCreated => "action_item.created",
        PlaybookResultCreated => "playbook_result.created",
        PlaybookResultUpdated => "playbook_result.updated",
        RealtimeTranscriptionUtterancesReceived => "realtime_transcription.utterances_received",
        CustomSummaryResultCreated => "custom_summary.result_created",
        CustomSummaryResultUpdated => "custom_summary.result_updated",
        CallEvaluationCreated => "call_evaluation.created",
        CallEvaluationUpdated => "call_evaluation.updated",
        AiVoiceAgentStarted => "ai_voice_agent.started",
        AiVoiceAgentEnded => "ai_voice_agent.ended",
        AiVoiceAgentEscalated => "ai_voice_agent.escalated",
        AiVoiceAgentSummary => "ai_voice_agent.summary",
        AnalyticsReportCreated => "analytics.report_created",
        AnalyticsReportFailed => "analytics.report_failed",
        IntegrationDeleted => "integration.deleted",
    }
}

impl EventName {
    /// The family: the part before the first dot (`call`, `user`, `group_message`, ...).
    pub fn family(&self) -> &str {
        let s = self.as_str();
        s.split_once('.').map_or(s, |(family, _)| family)
    }
}

/// The shared token of a webhook. `Debug` never shows it and it is zeroed on drop: it is held
/// in a `secrecy::SecretString`, the type callbook-client and callbook-server hold secrets in,
/// and converts to and from one.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct WebhookToken(SecretString);

impl WebhookToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(SecretString::from(token.into()))
    }

    /// The token. Compare it in constant time, and never log it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// Compared in constant time (over the longer of the two lengths), so comparing a received
/// token with a known one does not tell how much of it matched.
impl PartialEq for WebhookToken {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.expose().as_bytes(), other.expose().as_bytes());
        let mut diff = u8::from(a.len() != b.len());
        for i in 0..a.len().max(b.len()) {
            diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
        }
        std::hint::black_box(diff) == 0
    }
}

impl Eq for WebhookToken {}

impl Serialize for WebhookToken {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

impl From<SecretString> for WebhookToken {
    fn from(token: SecretString) -> Self {
        Self(token)
    }
}

impl From<WebhookToken> for SecretString {
    fn from(token: WebhookToken) -> Self {
        token.0
    }
}

impl fmt::Debug for WebhookToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookToken([redacted])")
    }
}

/// An Aircall webhook delivery.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Webhook {
    /// `call`, `user`, `number`, `contact`, `message`, `integration`, ...; route on the event.
    pub resource: Option<String>,
    /// The event.
    pub event: EventName,
    /// When the payload was built, UNIX seconds as sent.
    pub timestamp: i64,
    /// The webhook's shared token.
    pub token: WebhookToken,
    /// The resource as it was at `timestamp`.
    pub data: Data,
}

impl Webhook {
    /// `timestamp` as a UTC instant, when in range.
    pub fn time(&self) -> Option<Timestamp> {
        chrono::DateTime::from_timestamp(self.timestamp, 0)
    }
}

/// The `data` of a webhook, typed by event family.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Data {
    /// `call.*`
    Call(Box<Call>),
    /// `user.*` (v1 and v2)
    User(Box<User>),
    /// `number.*`
    Number(Box<Number>),
    /// `contact.*`
    Contact(Box<Contact>),
    /// `message.*` and `group_message.*`
    Message(Box<Message>),
    /// `integration.*`
    Integration(IntegrationData),
    /// Families without a model here (conversation intelligence, AI voice agent, analytics,
    /// and anything new), verbatim.
    Raw(serde_json::Value),
}

impl Data {
    /// The `id` of the resource, when it has one (used for de-duplication and upserts).
    pub fn id(&self) -> Option<String> {
        match self {
            Self::Call(c) => Some(c.id.to_string()),
            Self::User(u) => Some(u.id.to_string()),
            Self::Number(n) => Some(n.id.to_string()),
            Self::Contact(c) => Some(c.id.to_string()),
            Self::Message(m) => Some(m.id.clone()),
            Self::Integration(i) => Some(i.integration_id.to_string()),
            Self::Raw(v) => match v.get("id")? {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            },
        }
    }

    /// Parses `data` for an event from any serde deserializer.
    pub fn deserialize_for<'de, D: Deserializer<'de>>(
        event: &EventName,
        data: D,
    ) -> Result<Self, D::Error> {
        DataSeed(event).deserialize(data)
    }
}

struct DataSeed<'a>(&'a EventName);

impl<'de> DeserializeSeed<'de> for DataSeed<'_> {
    type Value = Data;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Data, D::Error> {
        Ok(match self.0.family() {
            "call" => Data::Call(Box::new(Call::deserialize(d)?)),
            "user" => Data::User(Box::new(User::deserialize(d)?)),
            "number" => Data::Number(Box::new(Number::deserialize(d)?)),
            "contact" => Data::Contact(Box::new(Contact::deserialize(d)?)),
            "message" | "group_message" => Data::Message(Box::new(Message::deserialize(d)?)),
            "integration" => Data::Integration(IntegrationData::deserialize(d)?),
            _ => Data::Raw(serde_json::Value::deserialize(d)?),
        })
    }
}

impl Serialize for Data {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Call(v) => v.serialize(s),
            Self::User(v) => v.serialize(s),
            Self::Number(v) => v.serialize(s),
            Self::Contact(v) => v.serialize(s),
            Self::Message(v) => v.serialize(s),
            Self::Integration(v) => v.serialize(s),
            Self::Raw(v) => v.serialize(s),
        }
    }
}

impl Serialize for Webhook {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(resource) = &self.resource {
            m.serialize_entry("resource", resource)?;
        }
        m.serialize_entry("event", &self.event)?;
        m.serialize_entry("timestamp", &self.timestamp)?;
        m.serialize_entry("token", &self.token)?;
        m.serialize_entry("data", &self.data)?;
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
        f.write_str("an Aircall webhook {resource, event, timestamp, token, data}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Webhook, A::Error> {
        let mut resource = None;
        let mut event: Option<EventName> = None;
        let mut timestamp = None;
        let mut token = None;
        let mut data = None;
        let mut early_data: Option<serde_json::Value> = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "resource" => resource = map.next_value()?,
                "event" => event = Some(map.next_value()?),
                "timestamp" => timestamp = Some(map.next_value()?),
                "token" => token = Some(map.next_value()?),
                "data" => match &event {
                    Some(e) => data = Some(map.next_value_seed(DataSeed(e))?),
                    None => early_data = Some(map.next_value()?),
                },
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        let event = event.ok_or_else(|| de::Error::missing_field("event"))?;
        let data = match (data, early_data) {
            (Some(d), _) => d,
            (None, Some(v)) => DataSeed(&event).deserialize(v).map_err(de::Error::custom)?,
            (None, None) => return Err(de::Error::missing_field("data")),
        };
        Ok(Webhook {
            resource,
            event,
            timestamp: timestamp.ok_or_else(|| de::Error::missing_field("timestamp"))?,
            token: token.ok_or_else(|| de::Error::missing_field("token"))?,
            data,
        })
    }
}
