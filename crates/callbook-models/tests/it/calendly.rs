use crate::fixture;
use callbook_models::calendly::*;

fn webhook(body: &str) -> Webhook {
    serde_json::from_str(body).expect("webhook parses")
}

#[test]
fn seed_invitee_created_is_fully_typed() {
    let w = webhook(fixture!("calendly/seed_invitee_created.json"));
    assert_eq!(w.event(), EventName::InviteeCreated);
    assert_eq!(w.created_by.uuid(), "AAAAAAAAAAAAAAAA");
    assert_eq!(w.created_at.to_rfc3339(), "2020-11-23T17:51:19+00:00");
    let Payload::InviteeCreated(inv) = &w.payload else {
        panic!("{:?}", w.payload)
    };
    assert_eq!(inv.email, "test@example.com");
    assert_eq!(inv.status, Status::Active);
    assert_eq!(inv.uri.event_uuid(), Some("AAAAAAAAAAAAAAAA"));
    assert_eq!(inv.timezone.as_deref(), Some("America/New_York"));
    assert!(!inv.rescheduled);
    assert_eq!(inv.tracking, Tracking::default());
    let ev = inv.scheduled_event.as_ref().expect("scheduled_event");
    assert_eq!(ev.uri.uuid(), "GBGBDCAADAEDCRZ2");
    assert_eq!(ev.event_type.uuid(), "GBGBDCAADAEDCRZ2");
    assert_eq!(ev.start_time.timestamp_subsec_micros(), 123_456);
    match ev.location.as_ref().expect("location") {
        Location::Physical(t) => {
            assert_eq!(t.location.as_deref(), Some("string"));
            assert_eq!(t.additional_info.as_deref(), Some("string"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        ev.event_memberships[0].user_email.as_deref(),
        Some("user@example.com")
    );
    assert_eq!(ev.event_guests.len(), 1);
    assert_eq!(ev.invitees_counter, Some(InviteesCounter::default()));
}

#[test]
fn doc_invitee_events_parse() {
    let created = webhook(fixture!("calendly/doc_invitee_created.json"));
    assert_eq!(created.event(), EventName::InviteeCreated);

    let canceled = webhook(fixture!("calendly/doc_invitee_canceled.json"));
    let inv = canceled.payload.invitee().expect("invitee");
    assert_eq!(inv.status, Status::Canceled);
    let c = inv.cancellation.as_ref().expect("cancellation");
    assert_eq!(c.canceler_type, Some(CancelerType::Invitee));
    assert_eq!(c.reason.as_deref(), Some("Meeting Conflict"));
    // Calendly's own example keeps the meeting active on cancel, and omits one guest timestamp.
    let ev = inv.scheduled_event.as_ref().expect("event");
    assert_eq!(ev.status, Status::Active);
    assert_eq!(ev.event_guests[0].updated_at, None);

    let no_show = webhook(fixture!("calendly/doc_invitee_no_show_created.json"));
    let Payload::InviteeNoShowCreated(inv) = &no_show.payload else {
        panic!()
    };
    assert_eq!(
        inv.no_show.as_ref().expect("no_show").uri.uuid(),
        "AAAAAAAAAAAAAAAA"
    );

    let deleted = webhook(fixture!("calendly/doc_invitee_no_show_deleted.json"));
    assert_eq!(deleted.event(), EventName::InviteeNoShowDeleted);
}

#[test]
fn spec2023_webhooks_parse_despite_missing_and_unknown_fields() {
    for body in [
        fixture!("calendly/spec2023_invitee_created.json"),
        fixture!("calendly/spec2023_invitee_canceled.json"),
    ] {
        let w = webhook(body);
        let inv = w.payload.invitee().expect("invitee");
        assert!(inv.scheduled_event.is_none());
        assert!(inv.first_name.is_none());
    }
    let canceled = webhook(fixture!("calendly/spec2023_invitee_canceled.json"));
    let c = canceled
        .payload
        .invitee()
        .and_then(|i| i.cancellation.as_ref())
        .expect("c");
    assert_eq!(c.canceler_type, None);
    assert_eq!(c.reason.as_deref(), Some("Meeting Conflict"));
}

#[test]
fn full_invitee_payloads_with_payment() {
    let inv: Invitee = serde_json::from_str(fixture!(
        "calendly/doc_invitee_payload_full_schema_example_canceled.json"
    ))
    .expect("parses");
    let p = inv.payment.as_ref().expect("payment");
    assert_eq!(p.amount.as_str(), "1234.56");
    assert_eq!(p.provider, PaymentProvider::Stripe);
    assert!(p.successful);
    assert_eq!(inv.display_name(), "John Doe");

    let active: Invitee = serde_json::from_str(fixture!(
        "calendly/doc_invitee_payload_full_schema_example_active.json"
    ))
    .expect("parses");
    assert_eq!(active.status, Status::Active);
}

#[test]
fn event_type_payloads() {
    let w = webhook(fixture!(
        "calendly/doc_event_type_webhook_payload_standard_event_type.json"
    ));
    let Payload::EventTypeCreated(et) = &w.payload else {
        panic!()
    };
    assert_eq!(et.duration, 15);
    assert_eq!(et.duration_options.as_deref(), Some(&[1, 13, 15, 720][..]));
    assert_eq!(et.pooling_type, Some(PoolingType::RoundRobin));
    assert_eq!(et.type_, Some(EventTypeType::Standard));
    assert_eq!(et.custom_questions.len(), 5);
    assert_eq!(et.custom_questions[2].type_, QuestionType::SingleSelect);
    assert_eq!(
        et.custom_questions[2].answer_choices.as_ref().map(Vec::len),
        Some(4)
    );
    let locations = et.locations.as_ref().expect("locations");
    assert_eq!(locations[0].kind, "inbound_call");
    assert_eq!(locations[0].phone_number.as_deref(), Some("380934567654"));
    assert_eq!(et.profile.as_ref().expect("profile").owner.uuid(), "ABC123");

    let adhoc = webhook(fixture!(
        "calendly/doc_event_type_webhook_payload_adhoc_event_type.json"
    ));
    let Payload::EventTypeCreated(et) = &adhoc.payload else {
        panic!()
    };
    assert_eq!(et.type_, Some(EventTypeType::Adhoc));
    assert_eq!(et.duration_options, None);
    assert_eq!(et.pooling_type, None);
}

#[test]
fn routing_form_submissions_with_all_three_results() {
    for body in [
        fixture!("calendly/doc_routing_form_submission_created.json"),
        fixture!("calendly/spec2023_routing_form_submission_created.json"),
    ] {
        let w = webhook(body);
        let Payload::RoutingFormSubmissionCreated(s) = &w.payload else {
            panic!()
        };
        assert_eq!(
            s.questions_and_answers[0].answer.as_deref(),
            Some("IT & Software")
        );
        match s.result.as_ref().expect("result") {
            RoutingResult::EventType(uri) => assert_eq!(uri.uuid(), "GBGBDCAADAEDCRZ2"),
            other => panic!("{other:?}"),
        }
        // The submitter URI uses the calendly.com host.
        assert_eq!(
            s.submitter.as_ref().expect("submitter").uuid(),
            "AAAAAAAAAAAAAAAA"
        );
    }
    let w = webhook(fixture!("edge/calendly_routing_form_custom_message.json"));
    let Payload::RoutingFormSubmissionCreated(s) = &w.payload else {
        panic!()
    };
    match s.result.as_ref().expect("result") {
        RoutingResult::CustomMessage(m) => assert_eq!(m.headline, "Thanks!"),
        other => panic!("{other:?}"),
    }
    let w = webhook(fixture!("edge/calendly_routing_form_external_url.json"));
    let Payload::RoutingFormSubmissionCreated(s) = &w.payload else {
        panic!()
    };
    assert_eq!(
        s.result,
        Some(RoutingResult::ExternalUrl(
            "https://example.com/sorry".into()
        ))
    );
    assert_eq!(s.questions_and_answers[0].answer, None);
}

#[test]
fn unknown_routing_result_is_kept() {
    let r: RoutingResult =
        serde_json::from_str(r#"{"type":"queue","value":{"position":3}}"#).expect("parses");
    let RoutingResult::Other(v) = r else { panic!() };
    assert_eq!(v["value"]["position"], 3);
}

#[test]
fn reschedule_pair_links_both_invitees() {
    let canceled = webhook(fixture!("edge/calendly_invitee_canceled_rescheduled.json"));
    let old = canceled.payload.invitee().expect("invitee");
    assert!(old.rescheduled);
    let new_uri = old.new_invitee.as_ref().expect("new_invitee");
    assert_eq!(new_uri.uuid(), "INVNEW");
    // A payment amount sent as a string keeps its exact text.
    assert_eq!(
        old.payment.as_ref().expect("payment").amount.as_str(),
        "99.90"
    );
    assert_eq!(
        old.payment.as_ref().expect("payment").provider,
        PaymentProvider::Paypal
    );
    assert_eq!(old.scheduling_method, Some(SchedulingMethod::InstantBook));
    assert_eq!(
        old.reconfirmation.as_ref().expect("reconf").confirmed_at,
        None
    );
    assert_eq!(old.tracking.utm_campaign.as_deref(), Some("spring"));
    let ev = old.scheduled_event.as_ref().expect("event");
    assert_eq!(ev.invitees_counter.expect("counter").total, 1);
    match ev.location.as_ref().expect("location") {
        Location::ZoomConference(c) => {
            assert_eq!(c.status, Some(ConferenceStatus::Pushed));
            assert_eq!(c.join_url.as_deref(), Some("https://zoom.us/j/123"));
            assert_eq!(c.data.as_ref().expect("data")["id"], 123);
        }
        other => panic!("{other:?}"),
    }

    // The created half arrives with `payload` before `event`, on the calendly.com host.
    let created = webhook(fixture!(
        "edge/calendly_invitee_created_after_reschedule.json"
    ));
    let Payload::InviteeCreated(new) = &created.payload else {
        panic!()
    };
    assert_eq!(
        new.old_invitee.as_ref().expect("old").uuid(),
        old.uri.uuid()
    );
    assert_eq!(new.uri.uuid(), new_uri.uuid());
    // Unknown enum values and location types keep their raw values.
    assert_eq!(
        new.scheduling_method,
        Some(SchedulingMethod::Unknown("some_new_method".into()))
    );
    let loc = new
        .scheduled_event
        .as_ref()
        .and_then(|e| e.location.as_ref())
        .expect("loc");
    assert_eq!(loc.kind(), "holographic_booth");
    let Location::Other(raw) = loc else { panic!() };
    assert_eq!(raw["beam_strength"], 9);
    assert_eq!(raw["location"], "Deck 7");
}

#[test]
fn unknown_event_keeps_name_and_payload() {
    let w = webhook(fixture!("edge/calendly_unknown_event.json"));
    assert_eq!(w.event(), EventName::Unknown("invitee.rescheduled".into()));
    let Payload::Unknown { event, payload } = &w.payload else {
        panic!()
    };
    assert_eq!(event, "invitee.rescheduled");
    assert_eq!(payload["nested"]["ok"], true);
}

#[test]
fn contact_and_recap_events() {
    let w = webhook(fixture!("edge/calendly_contact_created.json"));
    let Payload::ContactCreated(c) = &w.payload else {
        panic!()
    };
    assert_eq!(c.contact.uri.uuid(), "CONTACT1");
    assert_eq!(c.contact.emails, ["grace@example.com"]);

    let w = webhook(fixture!("edge/calendly_contact_deleted.json"));
    let Payload::ContactDeleted(c) = &w.payload else {
        panic!()
    };
    assert_eq!(c.user_uuid, "AAAA");
    assert!(c.contact.deleted_at.is_some());

    let w = webhook(fixture!("edge/calendly_meeting_recap_created.json"));
    let Payload::MeetingRecapCreated(r) = &w.payload else {
        panic!()
    };
    assert_eq!(r.recap.uri.uuid(), "RECAP1");
    let ev = r.event.as_ref().expect("event");
    assert_eq!(ev.attendees.len(), 2);
    assert!(matches!(ev.location, Some(Location::GoogleConference(_))));
}

#[test]
fn a_known_event_with_a_broken_payload_is_an_error_not_a_panic() {
    let body = r#"{"event":"invitee.created","created_at":"2020-11-23T17:51:19Z",
        "created_by":"https://api.calendly.com/users/A","payload":{"uri":42}}"#;
    let err = serde_json::from_str::<Webhook>(body).unwrap_err();
    assert!(err.to_string().contains("invalid type"), "{err}");
    let missing = r#"{"event":"invitee.created","created_at":"2020-11-23T17:51:19Z"}"#;
    assert!(serde_json::from_str::<Webhook>(missing).is_err());
}

#[test]
fn api_lists_and_resources() {
    let page: Page<Invitee> =
        serde_json::from_str(fixture!("calendly/spec2023_list_invitees.json")).expect("parses");
    assert_eq!(
        page.pagination.next_page_token.as_deref(),
        Some("sNjq4TvMDfUHEl7zHRR0k0E1PCEJWvdi")
    );
    let inv = &page.collection[0];
    assert_eq!(
        inv.questions_and_answers[2].answer,
        "Answer 1\nAnswer 2\nAnswer 3"
    );
    assert_eq!(
        inv.payment.as_ref().expect("payment").amount.to_f64(),
        Some(1234.56)
    );
    assert!(
        inv.reconfirmation
            .as_ref()
            .expect("r")
            .confirmed_at
            .is_some()
    );
    assert_eq!(
        inv.routing_form_submission.as_ref().expect("rfs").uuid(),
        "AAAAAAAAAAAAAAAA"
    );

    let events: Page<ScheduledEvent> =
        serde_json::from_str(fixture!("calendly/spec2023_list_scheduled_events.json"))
            .expect("parses");
    let ev = &events.collection[0];
    assert_eq!(
        ev.calendar_event.as_ref().expect("cal").kind,
        CalendarKind::Google
    );
    assert_eq!(ev.event_memberships[0].user_email, None);

    let subs: Page<WebhookSubscription> =
        serde_json::from_str(fixture!("calendly/spec2023_webhook_subscription_list.json"))
            .expect("parses");
    let sub = &subs.collection[0];
    assert_eq!(sub.scope, Scope::User);
    assert_eq!(sub.state, SubscriptionState::Active);
    assert_eq!(sub.events, [EventName::InviteeCreated]);
    assert_eq!(sub.group, None);

    let one: Resource<WebhookSubscription> = serde_json::from_str(fixture!(
        "calendly/spec2023_webhook_subscription_resource.json"
    ))
    .expect("parses");
    assert_eq!(one.resource.uri.uuid(), "AAAAAAAAAAAAAAAA");
}

#[test]
fn error_body_with_required_scopes() {
    let e: ErrorBody = serde_json::from_str(
        r#"{"title":"Insufficient scope","message":"This operation requires the scopes listed in the 'required_scopes' array.","required_scopes":["webhooks:write"]}"#,
    )
    .expect("parses");
    assert_eq!(e.required_scopes, ["webhooks:write"]);
    let e: ErrorBody = serde_json::from_str(
        r#"{"title":"Invalid Argument","message":"The supplied parameters are invalid.","details":[{"parameter":"count","message":"must be <= 100"}]}"#,
    )
    .expect("parses");
    assert_eq!(e.details[0].parameter.as_deref(), Some("count"));
}

#[test]
fn create_subscription_request_matches_calendly_example_and_redacts_key() {
    let req = CreateWebhookSubscription::new(
        "https://blah.foo/bar",
        vec![EventName::InviteeCreated, EventName::InviteeCanceled],
        "https://api.calendly.com/organizations/AAAAAAAAAAAAAAAA"
            .parse()
            .expect("org"),
        Scope::User,
    )
    .user(
        "https://api.calendly.com/users/BBBBBBBBBBBBBBBB"
            .parse()
            .expect("user"),
    )
    .signing_key("5mEzn9C-I28UtwOjZJtFoob0sAAFZ95GbZkqj4y3i0I");
    let json = serde_json::to_value(&req).expect("serializes");
    assert_eq!(json["scope"], "user");
    assert_eq!(json["events"][1], "invitee.canceled");
    assert!(json.get("group").is_none());
    assert_eq!(
        json["signing_key"],
        "5mEzn9C-I28UtwOjZJtFoob0sAAFZ95GbZkqj4y3i0I"
    );
    let debug = format!("{req:?}");
    assert!(!debug.contains("5mEzn9C"), "{debug}");
    assert!(EventName::RoutingFormSubmissionCreated.requires_organization_scope());
}

#[test]
fn oauth_token_debug_is_redacted() {
    let t: OAuthToken = serde_json::from_str(
        r#"{"token_type":"Bearer","expires_in":7200,"created_at":1548689183,"refresh_token":"b77a76ffce83d3bc20531ddfa76704e584f0ee963f6041b8bcf6c1ab3ebd67d5","access_token":"eyJhbGciOiJIUzI1NiJ9.secret","scope":"default","owner":"https://api.calendly.com/users/EBHAAFHDCAEQTSEZ","organization":"https://api.calendly.com/organizations/EBHAAFHDCAEQTSEZ"}"#,
    )
    .expect("parses");
    let debug = format!("{t:?}");
    assert!(!debug.contains("eyJ") && !debug.contains("b77a"), "{debug}");
    assert_eq!(t.owner.expect("owner").uuid(), "EBHAAFHDCAEQTSEZ");
}

#[test]
fn every_event_name_round_trips() {
    assert_eq!(EventName::KNOWN.len(), 14);
    for name in EventName::KNOWN {
        let parsed = EventName::from(*name);
        assert!(!parsed.is_unknown(), "{name}");
        assert_eq!(parsed.as_str(), *name);
    }
}

#[test]
fn spec_example_quirks_found_by_the_prism_contract_test() {
    // The 2023 spec's routing form example has `answer_choices: null` on a text question.
    let form: RoutingForm = serde_json::from_value(serde_json::json!({
        "uri": "https://api.calendly.com/routing_forms/AAAAAAAAAAAAAAAA",
        "organization": "https://api.calendly.com/organizations/AAAAAAAAAAAAAAAA",
        "name": "ACME Demo", "status": "published",
        "questions": [{"uuid": "q1", "name": "Company", "type": "text", "required": true, "answer_choices": null}],
        "created_at": "2019-01-02T03:04:05.678123Z", "updated_at": "2019-01-02T03:04:05.678123Z"
    }))
    .unwrap();
    assert!(form.questions[0].answer_choices.is_empty());
    // Its availability schedule example uses the singular collection name.
    let uri: AvailabilityScheduleUri = "https://api.calendly.com/user_availability_schedule/abc123"
        .parse()
        .unwrap();
    assert_eq!(uri.uuid(), "abc123");
    assert!(
        "https://api.calendly.com/users/abc123"
            .parse::<AvailabilityScheduleUri>()
            .is_err()
    );
}
