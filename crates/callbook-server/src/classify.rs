//! What the server learns from a verified body before storing it: event type, the provider's
//! event time, a de-duplication key and whether the body parses as its model.
//!
//! De-duplication keys (per source):
//! - Calendly: `calendly:{event}:{payload uri}:{created_at}`;
//! - Aircall: `aircall:{event}:{data.id}:{timestamp}`;
//! - anything else, or a body missing those fields: `sha256:{hex of the body}`.

use callbook_models::{aircall, calendly};
use callbook_store::{ParseStatus, Subject};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The outcome of classifying a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    /// Event type, when the body says.
    pub event_type: Option<String>,
    /// The provider's event time.
    pub occurred_at: Option<DateTime<Utc>>,
    /// De-duplication key.
    pub dedupe_key: String,
    /// Whether the body parsed as its model.
    pub parse_status: ParseStatus,
    /// The e-mail addresses and phone numbers it names (of a parsed body only).
    pub subjects: Vec<Subject>,
}

fn body_hash(body: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(body)))
}

fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Parses JSON from bytes. Validating the UTF-8 of the whole body once (vectorised) is
/// cheaper than serde_json checking each string as it goes; a body that is not UTF-8 takes
/// the byte path, which reports where the JSON breaks.
fn from_json<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(body),
    }
}

/// Classifies a Calendly delivery.
pub fn calendly(body: &[u8]) -> Classified {
    match from_json::<calendly::Webhook>(body) {
        Ok(w) => {
            let event = w.event();
            let dedupe_key = match w.payload.resource_uri() {
                Some(uri) => format!("calendly:{event}:{uri}:{}", rfc3339(&w.created_at)),
                None => body_hash(body),
            };
            Classified {
                event_type: Some(event.as_str().to_owned()),
                occurred_at: Some(w.created_at),
                dedupe_key,
                parse_status: ParseStatus::Parsed,
                subjects: crate::subjects::calendly(&w),
            }
        }
        Err(e) => {
            // Stored raw and acknowledged anyway; the loose fields still de-duplicate it.
            let loose = serde_json::from_slice::<Value>(body).ok();
            let get = |f: fn(&Value) -> Option<&Value>| {
                loose
                    .as_ref()
                    .and_then(f)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            let event = get(|v| v.get("event"));
            let created_at = get(|v| v.get("created_at"));
            let uri = get(|v| v.get("payload")?.get("uri"));
            let dedupe_key = match (&event, &uri, &created_at) {
                (Some(ev), Some(uri), Some(at)) => format!("calendly:{ev}:{uri}:{at}"),
                _ => body_hash(body),
            };
            Classified {
                event_type: event,
                occurred_at: created_at
                    .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                    .map(|t| t.to_utc()),
                dedupe_key,
                parse_status: ParseStatus::Unparsed(e.to_string()),
                subjects: Vec::new(),
            }
        }
    }
}

/// Classifies an Aircall delivery.
pub fn aircall(body: &[u8]) -> Classified {
    match from_json::<aircall::Webhook>(body) {
        Ok(w) => {
            let dedupe_key = match w.data.id() {
                Some(id) => format!("aircall:{}:{id}:{}", w.event, w.timestamp),
                None => body_hash(body),
            };
            Classified {
                event_type: Some(w.event.as_str().to_owned()),
                occurred_at: w.time(),
                dedupe_key,
                parse_status: ParseStatus::Parsed,
                subjects: crate::subjects::aircall(&w),
            }
        }
        Err(e) => {
            let loose = serde_json::from_slice::<Value>(body).ok();
            let event = loose
                .as_ref()
                .and_then(|v| v.get("event"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let timestamp = loose
                .as_ref()
                .and_then(|v| v.get("timestamp"))
                .and_then(Value::as_i64);
            let id = loose
                .as_ref()
                .and_then(|v| v.get("data")?.get("id"))
                .and_then(|id| match id {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                });
            let dedupe_key = match (&event, &id, timestamp) {
                (Some(ev), Some(id), Some(ts)) => format!("aircall:{ev}:{id}:{ts}"),
                _ => body_hash(body),
            };
            Classified {
                event_type: event,
                occurred_at: timestamp.and_then(|t| DateTime::from_timestamp(t, 0)),
                dedupe_key,
                parse_status: ParseStatus::Unparsed(e.to_string()),
                subjects: Vec::new(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &[u8] =
        include_bytes!("../../callbook-models/tests/fixtures/calendly/seed_invitee_created.json");

    #[test]
    fn calendly_key_is_event_uri_and_creation_time() {
        let c = calendly(SEED);
        assert_eq!(c.parse_status, ParseStatus::Parsed);
        assert_eq!(c.event_type.as_deref(), Some("invitee.created"));
        assert_eq!(
            c.dedupe_key,
            "calendly:invitee.created:https://api.calendly.com/scheduled_events/AAAAAAAAAAAAAAAA/invitees/AAAAAAAAAAAAAAAA:2020-11-23T17:51:19Z"
        );
        // Re-serialised (different bytes, same delivery): same key.
        let v: Value = serde_json::from_slice(SEED).expect("json");
        assert_eq!(
            calendly(serde_json::to_string_pretty(&v).expect("s").as_bytes()).dedupe_key,
            c.dedupe_key
        );
    }

    #[test]
    fn unparseable_calendly_keeps_loose_fields() {
        let body = br#"{"event":"invitee.created","created_at":"2020-11-23T17:51:19Z","payload":{"uri":"https://x/invitees/1","email":42}}"#;
        let c = calendly(body);
        assert!(matches!(c.parse_status, ParseStatus::Unparsed(_)));
        assert_eq!(c.event_type.as_deref(), Some("invitee.created"));
        assert_eq!(
            c.dedupe_key,
            "calendly:invitee.created:https://x/invitees/1:2020-11-23T17:51:19Z"
        );
        assert!(calendly(b"not json").dedupe_key.starts_with("sha256:"));
    }

    #[test]
    fn aircall_key_is_event_id_and_timestamp() {
        let body = include_bytes!(
            "../../callbook-models/tests/fixtures/aircall/webhook_call_created.json"
        );
        let c = aircall(body);
        assert_eq!(c.dedupe_key, "aircall:call.created:123:1732622896");
        assert_eq!(c.occurred_at.map(|t| t.timestamp()), Some(1732622896));
        let broken = br#"{"event":"call.created","timestamp":5,"token":"t","data":{"id":"x","direction":7}}"#;
        let c = aircall(broken);
        assert!(matches!(c.parse_status, ParseStatus::Unparsed(_)));
        assert_eq!(c.dedupe_key, "aircall:call.created:x:5");
    }

    #[test]
    fn an_invitee_is_found_by_address_sms_number_call_location_and_answers() {
        let doc = include_bytes!(
            "../../callbook-models/tests/fixtures/calendly/doc_invitee_created.json"
        );
        assert_eq!(
            calendly(doc).subjects,
            [Subject::Email("test@example.com".into())]
        );
        let mut v: Value = serde_json::from_slice(doc).expect("json");
        let p = &mut v["payload"];
        p["email"] = "Ana.Lima@Example.com".into();
        p["text_reminder_number"] = "+55 11 91234-5678".into();
        p["scheduled_event"]["location"] =
            serde_json::json!({"type": "outbound_call", "location": "+1 212-555-0100"});
        p["questions_and_answers"] = serde_json::json!([
            {"question": "Work e-mail", "answer": "ana@lima.example", "position": 0},
            {"question": "Mobile", "answer": "(11) 91234-5678", "position": 1},
            {"question": "Anything else?", "answer": "Call me after lunch", "position": 2}
        ]);
        let c = calendly(&serde_json::to_vec(&v).expect("bytes"));
        assert_eq!(c.parse_status, ParseStatus::Parsed);
        assert_eq!(
            c.subjects,
            [
                Subject::Email("ana.lima@example.com".into()),
                Subject::Phone("12345678".into()),
                Subject::Phone("25550100".into()),
                Subject::Email("ana@lima.example".into()),
            ],
            "the mobile answer is the SMS number again, so it is there once"
        );
    }

    #[test]
    fn a_call_is_found_by_the_other_party() {
        let doc = include_bytes!(
            "../../callbook-models/tests/fixtures/aircall/webhook_call_created.json"
        );
        assert_eq!(aircall(doc).subjects, [Subject::Phone("01234567".into())]);
        let mut v: Value = serde_json::from_slice(doc).expect("json");
        v["data"]["contact"] = serde_json::json!({
            "id": 7, "first_name": "Ana",
            "emails": [{"label": "Work", "value": "ana@lima.example"}],
            "phone_numbers": [{"label": "Mobile", "value": "+1 800-123-4567"}]
        });
        v["data"]["user"] = serde_json::json!({"id": 1, "email": "agent@company.example"});
        let c = aircall(&serde_json::to_vec(&v).expect("bytes"));
        assert_eq!(c.parse_status, ParseStatus::Parsed);
        assert_eq!(
            c.subjects,
            [
                Subject::Phone("01234567".into()),
                Subject::Email("ana@lima.example".into()),
            ],
            "the agent is not a subject of the call"
        );
    }
}
