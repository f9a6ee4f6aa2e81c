//! Request bodies are `#[non_exhaustive]`, so users build them with constructors and chained
//! setters; this file is outside the crate, as a user is.

use callbook_models::aircall;
use callbook_models::calendly::{
    ContactFields, CreateInvitee, EventTypeUri, NewInvitee, OrganizationUri, UpdateEventType,
};
use serde_json::json;

#[test]
fn calendly_request_bodies_are_built_with_setters() {
    let update = UpdateEventType::default()
        .name("Intro call")
        .duration(30u32);
    assert_eq!(
        serde_json::to_value(&update).unwrap(),
        json!({"name": "Intro call", "duration": 30})
    );

    let invitee = NewInvitee::new("Ana Lima", "ana@example.com", "America/Sao_Paulo")
        .text_reminder_number("+5511912345678");
    let event_type = EventTypeUri::parse("https://api.calendly.com/event_types/ET1").expect("uri");
    let start = "2026-12-01T18:00:00Z".parse().expect("time");
    let body = CreateInvitee::new(event_type, start, invitee)
        .answer("What should we discuss?", "Pricing")
        .answer("Team size", "40")
        .guest("bea@example.com");
    let v = serde_json::to_value(&body).unwrap();
    assert_eq!(v["invitee"]["text_reminder_number"], "+5511912345678");
    assert_eq!(v["questions_and_answers"][1]["position"], 1);
    assert_eq!(v["event_guests"], json!(["bea@example.com"]));

    let org = OrganizationUri::parse("https://api.calendly.com/organizations/O1").expect("uri");
    let contact = ContactFields::default()
        .name("Ana Lima")
        .emails(vec!["ana@example.com".to_owned()])
        .organization(org);
    let v = serde_json::to_value(&contact).unwrap();
    assert_eq!(v["name"], "Ana Lima");
    assert_eq!(
        v["organization"],
        "https://api.calendly.com/organizations/O1"
    );
}

#[test]
fn aircall_request_bodies_are_built_with_setters() {
    let fields = aircall::ContactFields::default()
        .first_name("Ana")
        .last_name("Lima")
        .information("VIP")
        .phone("Mobile", "+5511912345678")
        .email("Work", "ana@example.com");
    assert_eq!(
        serde_json::to_value(&fields).unwrap(),
        json!({
            "first_name": "Ana", "last_name": "Lima", "information": "VIP",
            "phone_numbers": [{"label": "Mobile", "value": "+5511912345678"}],
            "emails": [{"label": "Work", "value": "ana@example.com"}]
        })
    );
    let hook = aircall::CreateWebhook::new("https://hooks.example.com/in", Vec::new())
        .custom_name("callbook");
    assert_eq!(
        serde_json::to_value(&hook).unwrap()["custom_name"],
        "callbook"
    );
}
