//! The endpoint families the scenario tests do not reach: each call's method, path, query and
//! body are asserted on what wiremock receives, with the auth header, and its answer decoded.

use crate::{fixture, quick_retries};
use callbook_client::aircall::AircallClient;
use callbook_client::calendly::*;
use callbook_client::models::{aircall as ac, calendly as cal};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ORG: &str = "https://api.calendly.com/organizations/AAAAAAAAAAAAAAAA";
const USER: &str = "https://api.calendly.com/users/BBBBBBBBBBBBBBBB";

/// Expects exactly one request with this method, path, query and body, answering `answer`.
async fn expect(
    server: &MockServer,
    auth: &str,
    m: &str,
    p: &str,
    query: &[(&str, &str)],
    body: Option<Value>,
    (status, answer): (u16, Value),
) {
    let mut mock = Mock::given(method(m))
        .and(path(p))
        .and(header("authorization", auth));
    for (k, v) in query {
        mock = mock.and(query_param(*k, *v));
    }
    if let Some(b) = body {
        mock = mock.and(body_json(b));
    }
    mock.respond_with(ResponseTemplate::new(status).set_body_json(answer))
        .expect(1)
        .named(format!("{m} {p}"))
        .mount(server)
        .await;
}

fn page(items: Value) -> Value {
    json!({"collection": items, "pagination": {"count": 1, "next_page": null,
        "previous_page": null, "next_page_token": null, "previous_page_token": null}})
}

#[tokio::test]
async fn calendly_families() {
    let s = MockServer::start().await;
    let bearer = "Bearer pat";
    let group =
        json!({"uri": "https://api.calendly.com/groups/G1", "name": "Sales", "organization": ORG});
    let relationship = json!({"uri": "https://api.calendly.com/group_relationships/R1", "role": "member",
        "owner": USER, "organization": ORG, "group": "https://api.calendly.com/groups/G1"});
    let contact = fixture("calendly_contact_created.json")["payload"]["contact"].clone();
    let recap = fixture("calendly_meeting_recap_created.json")["payload"]["recap"].clone();
    expect(
        &s,
        bearer,
        "GET",
        "/groups",
        &[("organization", ORG), ("count", "100")],
        None,
        (200, page(json!([group]))),
    )
    .await;
    expect(
        &s,
        bearer,
        "GET",
        "/groups/G1",
        &[],
        None,
        (200, json!({"resource": group})),
    )
    .await;
    expect(
        &s,
        bearer,
        "GET",
        "/group_relationships",
        &[("group", "https://api.calendly.com/groups/G1")],
        None,
        (200, page(json!([relationship]))),
    )
    .await;
    expect(
        &s,
        bearer,
        "GET",
        "/contacts",
        &[("count", "100")],
        None,
        (200, page(json!([contact]))),
    )
    .await;
    expect(
        &s,
        bearer,
        "POST",
        "/contacts",
        &[],
        Some(json!({"name": "Grace Hopper", "organization": ORG})),
        (201, json!({"resource": contact})),
    )
    .await;
    expect(
        &s,
        bearer,
        "PATCH",
        "/contacts/CONTACT1",
        &[],
        Some(json!({"job_title": "Admiral"})),
        (200, json!({"resource": contact})),
    )
    .await;
    expect(
        &s,
        bearer,
        "DELETE",
        "/contacts/CONTACT1",
        &[],
        None,
        (204, Value::Null),
    )
    .await;
    expect(
        &s,
        bearer,
        "GET",
        "/meeting_recaps",
        &[("status", "available")],
        None,
        (200, page(json!([recap]))),
    )
    .await;
    expect(
        &s,
        bearer,
        "GET",
        "/meeting_recaps/RECAP1",
        &[],
        None,
        (200, json!({"resource": recap})),
    )
    .await;
    expect(
        &s,
        bearer,
        "GET",
        "/sample_webhook_data",
        &[("event", "invitee.created"), ("scope", "organization")],
        None,
        (200, fixture("doc_invitee_created_webhook.json")),
    )
    .await;

    let c = CalendlyClient::builder()
        .personal_access_token("pat")
        .base_url(s.uri())
        .retry(quick_retries())
        .build()
        .unwrap();
    let org = cal::OrganizationUri::parse(ORG).unwrap();
    let g = cal::GroupUri::parse("https://api.calendly.com/groups/G1").unwrap();
    assert_eq!(
        c.groups(ListGroups::new(org.clone()))
            .collect()
            .await
            .unwrap()[0]
            .name,
        "Sales"
    );
    c.group(&g).await.unwrap();
    c.group_relationships(ListGroupRelationships::new().group(g))
        .page(None)
        .await
        .unwrap();
    let contacts = c.contacts().collect().await.unwrap();
    let mut fields = cal::ContactFields::default();
    fields.name = Some("Grace Hopper".into());
    fields.organization = Some(org.clone());
    c.create_contact(&fields).await.unwrap();
    let mut update = cal::ContactFields::default();
    update.job_title = Some("Admiral".into());
    c.update_contact(&contacts[0].uri, &update).await.unwrap();
    c.delete_contact(&contacts[0].uri).await.unwrap();
    let recaps = c
        .meeting_recaps(ListMeetingRecaps::new().status("available"))
        .collect()
        .await
        .unwrap();
    c.meeting_recap(&recaps[0].uri).await.unwrap();
    let sample = c
        .sample_webhook_data(SampleWebhookQuery::new(
            "invitee.created".into(),
            org,
            cal::Scope::Organization,
        ))
        .await
        .unwrap();
    assert_eq!(sample.payload.event(), cal::EventName::InviteeCreated);
}

#[tokio::test]
async fn aircall_families() {
    let s = MockServer::start().await;
    // base64("id:tok")
    let basic = "Basic aWQ6dG9r";
    let user = json!({"id": 1, "name": "Ada", "email": "ada@example.com", "available": true, "availability_status": "available"});
    let team = json!({"id": 2, "name": "Support", "users": [user]});
    let number = json!({"id": 3, "name": "Main", "digits": "+33 1 76 36 06 95", "country": "FR"});
    let tag = json!({"id": 4, "name": "VIP", "color": "#ff0000"});
    let hook = fixture("api_create_webhook_response.json");
    let hook_id = "a5321f51-8e05-482a-b2d2-a2596d6e547f";
    let meta =
        json!({"count": 1, "total": 1, "current_page": 1, "per_page": 50, "next_page_link": null});
    let detail = json!({"id": 9, "label": "Work", "value": "+19001112222"});
    expect(
        &s,
        basic,
        "GET",
        "/v1/company",
        &[],
        None,
        (200, json!({"company": {"name": "Acme", "users_count": 3}})),
    )
    .await;
    expect(
        &s,
        basic,
        "GET",
        "/v1/users",
        &[("per_page", "50"), ("page", "1")],
        None,
        (200, json!({"users": [user], "meta": meta})),
    )
    .await;
    expect(
        &s,
        basic,
        "GET",
        "/v1/users/1",
        &[],
        None,
        (200, json!({"user": user})),
    )
    .await;
    expect(
        &s,
        basic,
        "GET",
        "/v1/users/1/availability",
        &[],
        None,
        (200, json!({"availability": "available"})),
    )
    .await;
    expect(
        &s,
        basic,
        "GET",
        "/v1/teams/2",
        &[],
        None,
        (200, json!({"team": team})),
    )
    .await;
    expect(
        &s,
        basic,
        "GET",
        "/v1/numbers/3",
        &[],
        None,
        (200, json!({"number": number})),
    )
    .await;
    expect(
        &s,
        basic,
        "GET",
        "/v1/tags",
        &[],
        None,
        (200, json!({"tags": [tag], "meta": meta})),
    )
    .await;
    expect(
        &s,
        basic,
        "GET",
        "/v1/webhooks/a5321f51-8e05-482a-b2d2-a2596d6e547f",
        &[],
        None,
        (200, hook.clone()),
    )
    .await;
    expect(
        &s,
        basic,
        "PUT",
        "/v1/webhooks/a5321f51-8e05-482a-b2d2-a2596d6e547f",
        &[],
        Some(json!({"events": ["call.ended"]})),
        (200, hook.clone()),
    )
    .await;
    expect(
        &s,
        basic,
        "DELETE",
        "/v1/webhooks/a5321f51-8e05-482a-b2d2-a2596d6e547f",
        &[],
        None,
        (204, Value::Null),
    )
    .await;
    expect(
        &s,
        basic,
        "POST",
        "/v1/contacts/5/phone_details",
        &[],
        Some(json!({"label": "Work", "value": "+19001112222"})),
        (201, json!({"phone_detail": detail})),
    )
    .await;
    expect(
        &s,
        basic,
        "DELETE",
        "/v1/contacts/5/email_details/9",
        &[],
        None,
        (204, Value::Null),
    )
    .await;
    expect(
        &s,
        basic,
        "POST",
        "/v1/numbers/3/messages/send",
        &[],
        Some(json!({"to": "+19001112222", "body": "Your meeting is confirmed"})),
        (201, json!({})),
    )
    .await;
    expect(
        &s,
        basic,
        "POST",
        "/v1/calls/7/insight_cards",
        &[],
        Some(json!({"contents": [{"type": "title", "text": "Booked via Calendly"}]})),
        (201, json!({})),
    )
    .await;

    let c = AircallClient::builder()
        .basic("id", "tok")
        .base_url(format!("{}/v1", s.uri()))
        .retry(quick_retries())
        .build()
        .unwrap();
    assert_eq!(c.company().await.unwrap().name, "Acme");
    assert_eq!(c.users().page(None).await.unwrap().items.len(), 1);
    c.user(ac::UserId::new(1)).await.unwrap();
    assert_eq!(
        c.user_availability(ac::UserId::new(1)).await.unwrap(),
        "available"
    );
    c.team(ac::TeamId::new(2)).await.unwrap();
    c.number(ac::NumberId::new(3)).await.unwrap();
    assert_eq!(c.tags().collect().await.unwrap().len(), 1);
    c.webhook(hook_id).await.unwrap();
    c.update_webhook(
        hook_id,
        &ac::UpdateWebhook::new(vec![ac::EventName::CallEnded]),
    )
    .await
    .unwrap();
    c.delete_webhook(hook_id).await.unwrap();
    c.add_phone_detail(
        ac::ContactId::new(5),
        &ac::ContactDetail::new("Work", "+19001112222"),
    )
    .await
    .unwrap();
    c.delete_email_detail(ac::ContactId::new(5), 9)
        .await
        .unwrap();
    assert_eq!(
        c.send_message(
            ac::NumberId::new(3),
            &ac::SendMessage::new("+19001112222", "Your meeting is confirmed")
        )
        .await
        .unwrap(),
        None,
        "an answer without the message is not an error"
    );
    c.add_insight_card(
        ac::CallId::new(7),
        &ac::InsightCard::new(vec![ac::InsightCardContent::Title {
            text: "Booked via Calendly".into(),
            link: None,
        }]),
    )
    .await
    .unwrap();
    // A webhook ID that would change the path is refused before sending.
    assert!(c.webhook("../users").await.is_err());
}
