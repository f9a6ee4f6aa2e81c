use crate::{fixture, quick_retries};
use callbook_client::Error;
use callbook_client::aircall::*;
use callbook_client::models::aircall::*;
use futures_util::TryStreamExt;
use serde_json::json;
use std::sync::{Arc, Mutex};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn client(server: &MockServer) -> AircallClient {
    AircallClient::builder()
        .basic("api-id", "api-token")
        .base_url(format!("{}/v1", server.uri()))
        .retry(quick_retries())
        .build()
        .unwrap()
}

/// A REST call built from the documented webhook's call data.
fn call(id: i64, started_at: i64) -> serde_json::Value {
    let mut c = fixture("webhook_call_created.json")["data"].clone();
    c["id"] = json!(id);
    c["started_at"] = json!(started_at);
    c
}

fn meta(count: usize, total: u64, page: u32, next: bool) -> serde_json::Value {
    json!({"count": count, "total": total, "current_page": page, "per_page": 50,
        "next_page_link": next.then(|| format!("https://api.aircall.io/v1/calls?page={}", page + 1)),
        "previous_page_link": null})
}

#[tokio::test]
async fn basic_auth_and_ping() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/ping"))
        // base64("api-id:api-token")
        .and(header("authorization", "Basic YXBpLWlkOmFwaS10b2tlbg=="))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ping": "pong"})))
        .expect(1)
        .mount(&server)
        .await;
    client(&server).ping().await.unwrap();
}

#[tokio::test]
async fn a_wrong_key_is_an_authentication_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"message": "Forbidden"})))
        .mount(&server)
        .await;
    let err = client(&server).ping().await.unwrap_err();
    assert!(
        matches!(err, Error::Unauthenticated { ref message } if message == "Forbidden"),
        "{err:?}"
    );
}

#[tokio::test]
async fn pages_follow_next_page_links() {
    let server = MockServer::start().await;
    let first: Vec<_> = (1..=50).map(|i| call(i, 1_700_000_000 + i)).collect();
    Mock::given(method("GET"))
        .and(path("/v1/calls"))
        .and(query_param("page", "1"))
        .and(query_param("per_page", "50"))
        .and(query_param("from", "1700000000"))
        .and(query_param("fetch_contact", "true"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"calls": first, "meta": meta(50, 51, 1, true)})),
        )
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/calls"))
        .and(query_param("page", "2"))
        .and(query_param("from", "1700000000"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"calls": [call(51, 1_700_000_051)], "meta": meta(1, 51, 2, false)}),
        ))
        .expect(2)
        .mount(&server)
        .await;
    let filter = ListCalls::new()
        .from(chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap())
        .fetch_contact(true);
    let calls = client(&server)
        .calls(filter.clone())
        .collect()
        .await
        .unwrap();
    assert_eq!(calls.len(), 51);
    assert_eq!(calls.last().unwrap().id, 51);

    // A page at a time, resuming from the cursor the first page gave.
    let pages = client(&server).calls(filter);
    let first = pages.page(None).await.unwrap();
    assert_eq!((first.items.len(), first.total), (50, Some(51)));
    assert_eq!(first.next, Some(callbook_client::Cursor::Page(2)));
    let last = pages.page(first.next.as_ref()).await.unwrap();
    assert_eq!(last.items.len(), 1);
    assert_eq!(last.next, None, "the last page says so");
}

/// A fake call log that answers `/v1/calls` like Aircall, including the 10,000-result cap.
struct CallLog {
    times: Vec<i64>,
    requests: Mutex<Vec<(i64, i64, u32)>>,
}

struct Shared(Arc<CallLog>);

impl wiremock::Respond for Shared {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let log = &self.0;
        let q: std::collections::HashMap<_, _> = req.url.query_pairs().into_owned().collect();
        let from: i64 = q["from"].parse().unwrap();
        let to: i64 = q["to"].parse().unwrap();
        let page: u32 = q["page"].parse().unwrap();
        let per_page: usize = q["per_page"].parse().unwrap();
        log.requests.lock().unwrap().push((from, to, page));
        if (page as usize) * per_page > 10_000 {
            return ResponseTemplate::new(400).set_body_json(json!({
                "error": "Bad Request", "message": "BAD_REQUEST", "success": false,
                "errors": "Your query is limited to 10k results and pagination is out of bound, please use timestamps or other filters."
            }));
        }
        // `to` inclusive, as Aircall may treat it.
        let matching: Vec<(usize, i64)> = log
            .times
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, t)| *t >= from && *t <= to)
            .collect();
        let start = (page as usize - 1) * per_page;
        let items: Vec<_> = matching
            .iter()
            .skip(start)
            .take(per_page)
            .map(|(i, t)| call(*i as i64 + 1, *t))
            .collect();
        let next = start + items.len() < matching.len();
        ResponseTemplate::new(200).set_body_json(json!({
            "calls": items, "meta": meta(items.len(), matching.len() as u64, page, next)
        }))
    }
}

#[tokio::test]
async fn calls_between_splits_windows_and_never_hits_the_cap() {
    let server = MockServer::start().await;
    // 12,500 calls over ~3.5 hours, 300 of them in the very second the first split lands on.
    let (from, to) = (1_700_000_000i64, 1_700_012_500i64);
    let mid = from + (to - from) / 2;
    let mut times: Vec<i64> = (0..12_200).map(|i| from + i).collect();
    times.extend(std::iter::repeat_n(mid, 300));
    times.sort();
    let log = Arc::new(CallLog {
        times,
        requests: Mutex::new(Vec::new()),
    });
    Mock::given(method("GET"))
        .and(path("/v1/calls"))
        .and(query_param("order", "asc"))
        .respond_with(Shared(log.clone()))
        .mount(&server)
        .await;
    let calls: Vec<Call> = client(&server)
        .calls_between(
            chrono::DateTime::from_timestamp(from, 0).unwrap(),
            chrono::DateTime::from_timestamp(to, 0).unwrap(),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(calls.len(), 12_500);
    let mut ids: Vec<CallId> = calls.iter().map(|c| c.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 12_500, "every call exactly once");
    let requests = log.requests.lock().unwrap();
    assert!(
        requests.iter().all(|(_, _, page)| *page <= 200),
        "never paged past the cap"
    );
    assert!(
        requests.iter().any(|(f, t, _)| (*f, *t) == (from, mid - 1)),
        "split at the midpoint"
    );
}

#[tokio::test]
async fn contacts_are_created_updated_with_post_and_deleted() {
    let server = MockServer::start().await;
    let contact = fixture("api_contact.json");
    Mock::given(method("POST"))
        .and(path("/v1/contacts"))
        .and(body_json(json!({"first_name": "Gary", "phone_numbers": [{"label": "Work", "value": "+19001112222"}]})))
        .respond_with(ResponseTemplate::new(201).set_body_json(contact.clone()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/contacts/482884061"))
        .and(body_json(json!({"last_name": "Jennings"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(contact.clone()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/contacts/search"))
        .and(query_param("phone_number", "+19001112222"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "contacts": [contact["contact"]], "meta": {"count": 1, "total": 1, "current_page": 1, "per_page": 50, "next_page_link": null}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1/contacts/482884061"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    let mut fields = ContactFields::default();
    fields.first_name = Some("Gary".into());
    fields.phone_numbers = vec![ContactDetail::new("Work", "+19001112222")];
    let created = c.create_contact(&fields).await.unwrap();
    assert_eq!(created.id, 482884061);
    let mut update = ContactFields::default();
    update.last_name = Some("Jennings".into());
    c.update_contact(created.id, &update).await.unwrap();
    let found = c
        .search_contacts(SearchContacts::new().phone_number("+19001112222"))
        .collect()
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    c.delete_contact(created.id).await.unwrap();

    // Aircall requires a phone number: refused before sending.
    let err = c
        .create_contact(&ContactFields::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)));
}

#[tokio::test]
async fn call_actions_send_documented_bodies() {
    let server = MockServer::start().await;
    for (m, p, body) in [
        (
            "POST",
            "/v1/calls/7/transfers",
            Some(json!({"user_id": 42})),
        ),
        (
            "POST",
            "/v1/calls/7/comments",
            Some(json!({"content": "Called back"})),
        ),
        ("POST", "/v1/calls/7/tags", Some(json!({"tags": [1, 2]}))),
        ("PUT", "/v1/calls/7/archive", None),
    ] {
        let mut mock = Mock::given(method(m)).and(path(p));
        if let Some(b) = body {
            mock = mock.and(body_json(b));
        }
        mock.respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
    }
    let c = client(&server);
    let call = CallId::new(7);
    c.transfer_call(
        call,
        &Transfer::User {
            user_id: UserId::new(42),
        },
    )
    .await
    .unwrap();
    c.comment_call(call, "Called back").await.unwrap();
    c.tag_call(call, [TagId::new(1), TagId::new(2)])
        .await
        .unwrap();
    c.archive_call(call).await.unwrap();
}

#[tokio::test]
async fn webhook_registration_returns_the_token_and_rate_limits_are_waited_out() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/webhooks"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("X-AircallApi-Limit", "60")
                .insert_header("X-AircallApi-Remaining", "0")
                .insert_header("X-AircallApi-Reset", "0"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/webhooks"))
        .and(body_json(json!({"url": "https://example.com/webhook", "events": ["contact.updated", "call.created"]})))
        .respond_with(ResponseTemplate::new(201).set_body_json(fixture("api_create_webhook_response.json")))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    let hook = c
        .create_webhook(&CreateWebhook::new(
            "https://example.com/webhook",
            vec![EventName::ContactUpdated, EventName::CallCreated],
        ))
        .await
        .unwrap();
    assert_eq!(hook.webhook_id, "a5321f51-8e05-482a-b2d2-a2596d6e547f");
    assert_eq!(c.rate_limit().unwrap().limit, Some(60));
    // The token is a secret: it never shows in Debug.
    assert!(!format!("{hook:?}").contains("b8aad3bc0b2e42d48309bc3fd241426f"));
    // An empty event list would subscribe to everything: refused.
    assert!(matches!(
        c.create_webhook(&CreateWebhook::new("https://example.com/webhook", vec![]))
            .await,
        Err(Error::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn upsert_finds_by_phone_then_email_and_sends_only_what_changed() {
    let server = MockServer::start().await;
    let empty = json!({"contacts": [], "meta": {"count": 0, "total": 0, "current_page": 1, "per_page": 50}});
    let ana = json!({"id": 7, "first_name": "Ana", "last_name": null, "information": null,
        "phone_numbers": [], "emails": [{"id": 70, "label": "Work", "value": "Ana@Example.com"}]});
    Mock::given(method("GET"))
        .and(path("/v1/contacts/search"))
        .and(query_param("phone_number", "+5511912345678"))
        .respond_with(ResponseTemplate::new(200).set_body_json(empty.clone()))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/contacts/search"))
        .and(query_param("email", "ana@example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "contacts": [ana], "meta": {"count": 1, "total": 1, "current_page": 1, "per_page": 50}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/contacts/7"))
        .and(body_json(
            json!({"last_name": "Lima", "information": "VIP"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"contact": {
            "id": 7, "first_name": "Ana", "last_name": "Lima", "information": "VIP",
            "phone_numbers": [], "emails": [{"id": 70, "label": "Work", "value": "Ana@Example.com"}]
        }})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/contacts/7/phone_details"))
        .and(body_json(
            json!({"label": "Mobile", "value": "+5511912345678"}),
        ))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"phone_detail": {
                "id": 71, "label": "Mobile", "value": "+5511912345678"
            }})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/contacts/7/email_details"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/contacts"))
        .and(body_json(json!({"first_name": "Bea", "phone_numbers": [{"label": "Mobile", "value": "+5511912345678"}]})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"contact": {
            "id": 8, "first_name": "Bea", "phone_numbers": [{"id": 80, "label": "Mobile", "value": "+5511912345678"}], "emails": []
        }})))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);

    let fields = ContactFields::default()
        .first_name("Ana")
        .last_name("Lima")
        .information("VIP")
        .phone("Mobile", "+5511912345678")
        .email("Work", "ana@example.com");
    let done = c.upsert_contact(&fields).await.unwrap();
    let Upserted::Updated(contact) = &done else {
        panic!("found by e-mail, not created: {done:?}");
    };
    assert_eq!(contact.id, 7);
    assert_eq!(
        contact.phone_numbers.len(),
        1,
        "the phone it lacked was added"
    );

    // Nobody has the number: created.
    let bea = ContactFields::default()
        .first_name("Bea")
        .phone("Mobile", "+5511912345678");
    let done = c.upsert_contact(&bea).await.unwrap();
    assert!(
        matches!(&done, Upserted::Created(c) if c.id == 8),
        "{done:?}"
    );
    assert_eq!(done.contact().first_name.as_deref(), Some("Bea"));
}
