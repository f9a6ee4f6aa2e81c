//! Re-serialising a parsed webhook and parsing it again gives an equal value.

use crate::fixture;
use callbook_models::{aircall, calendly};

const CALENDLY: &[&str] = &[
    fixture!("calendly/seed_invitee_created.json"),
    fixture!("calendly/doc_invitee_created.json"),
    fixture!("calendly/doc_invitee_canceled.json"),
    fixture!("calendly/doc_invitee_no_show_created.json"),
    fixture!("calendly/doc_invitee_no_show_deleted.json"),
    fixture!("calendly/doc_event_type_webhook_payload_standard_event_type.json"),
    fixture!("calendly/doc_event_type_webhook_payload_adhoc_event_type.json"),
    fixture!("calendly/doc_routing_form_submission_created.json"),
    fixture!("calendly/spec2023_invitee_created.json"),
    fixture!("calendly/spec2023_invitee_canceled.json"),
    fixture!("calendly/spec2023_routing_form_submission_created.json"),
    fixture!("edge/calendly_invitee_canceled_rescheduled.json"),
    fixture!("edge/calendly_invitee_created_after_reschedule.json"),
    fixture!("edge/calendly_unknown_event.json"),
    fixture!("edge/calendly_contact_created.json"),
    fixture!("edge/calendly_contact_deleted.json"),
    fixture!("edge/calendly_meeting_recap_created.json"),
    fixture!("edge/calendly_routing_form_custom_message.json"),
    fixture!("edge/calendly_routing_form_external_url.json"),
];

const AIRCALL: &[&str] = &[
    fixture!("aircall/webhook_call_created.json"),
    fixture!("aircall/webhook_call_created_minimal.json"),
    fixture!("aircall/webhook_integration_deleted.json"),
    fixture!("aircall/webhook_number_closed.json"),
    fixture!("edge/aircall_contact_created_iso.json"),
    fixture!("edge/aircall_call_ended_transfered.json"),
    fixture!("edge/aircall_unknown_event.json"),
    fixture!("edge/aircall_transcription_created.json"),
    fixture!("edge/aircall_message_received.json"),
    fixture!("edge/aircall_user_connected_v2.json"),
];

#[test]
fn calendly_webhooks_round_trip() {
    for body in CALENDLY {
        let first: calendly::Webhook = serde_json::from_str(body).expect("parses");
        let again = serde_json::to_string(&first).expect("serializes");
        let second: calendly::Webhook = serde_json::from_str(&again).expect("re-parses");
        assert_eq!(first, second, "{again}");
    }
}

#[test]
fn aircall_webhooks_round_trip() {
    for body in AIRCALL {
        let first: aircall::Webhook = serde_json::from_str(body).expect("parses");
        let again = serde_json::to_string(&first).expect("serializes");
        let second: aircall::Webhook = serde_json::from_str(&again).expect("re-parses");
        assert_eq!(first, second, "{again}");
    }
}

#[test]
fn key_order_does_not_change_the_result() {
    // Same webhook with `payload` first: parsed through the buffered path.
    let body = fixture!("calendly/seed_invitee_created.json");
    let value: serde_json::Value = serde_json::from_str(body).expect("value");
    let reordered = format!(
        r#"{{"payload":{},"created_by":{},"created_at":{},"event":{}}}"#,
        value["payload"], value["created_by"], value["created_at"], value["event"]
    );
    let a: calendly::Webhook = serde_json::from_str(body).expect("a");
    let b: calendly::Webhook = serde_json::from_str(&reordered).expect("b");
    assert_eq!(a, b);
}
