use crate::{fixture, quick_retries};
use callbook_client::Error;
use callbook_client::calendly::*;
use callbook_client::models::calendly::*;
use futures_util::TryStreamExt;
use serde_json::json;
use std::time::{Duration, Instant};
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ORG: &str = "https://api.calendly.com/organizations/AAAAAAAAAAAAAAAA";
const USER: &str = "https://api.calendly.com/users/BBBBBBBBBBBBBBBB";

fn client(server: &MockServer) -> CalendlyClient {
    CalendlyClient::builder()
        .personal_access_token("pat-secret")
        .base_url(server.uri())
        .retry(quick_retries())
        .build()
        .unwrap()
}

fn user_json() -> serde_json::Value {
    json!({"resource": {
        "uri": USER, "name": "Ada", "slug": "ada", "email": "ada@example.com",
        "scheduling_url": "https://calendly.com/ada", "timezone": "Europe/Paris",
        "avatar_url": null, "created_at": "2024-01-02T03:04:05.000000Z",
        "updated_at": "2024-01-02T03:04:05.000000Z", "current_organization": ORG
    }})
}

fn page(items: serde_json::Value, next: Option<&str>) -> serde_json::Value {
    json!({"collection": items, "pagination": {
        "count": items.as_array().map_or(0, Vec::len), "next_page": next.map(|t| format!("https://api.calendly.com/x?page_token={t}")),
        "previous_page": null, "next_page_token": next, "previous_page_token": null
    }})
}

#[tokio::test]
async fn sends_the_bearer_token_and_exposes_rate_limit_headers() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users/me"))
        .and(header("authorization", "Bearer pat-secret"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(user_json())
                .insert_header("X-RateLimit-Limit", "500")
                .insert_header("X-RateLimit-Remaining", "499")
                .insert_header("X-RateLimit-Reset", "60"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    let me = c.me().await.unwrap();
    assert_eq!(me.uri.uuid(), "BBBBBBBBBBBBBBBB");
    let rl = c.rate_limit().unwrap();
    assert_eq!((rl.limit, rl.remaining), (Some(500), Some(499)));
    assert_eq!(rl.reset_after, Some(Duration::from_secs(60)));
}

#[tokio::test]
async fn stream_follows_page_tokens_with_identical_filters() {
    let server = MockServer::start().await;
    let events = fixture("spec2023_list_scheduled_events.json")["collection"].clone();
    let one = events[0].clone();
    let mut two = one.clone();
    two["uri"] = json!("https://api.calendly.com/scheduled_events/SECONDSECOND0002");
    let base = || {
        Mock::given(method("GET"))
            .and(path("/scheduled_events"))
            .and(query_param("user", USER))
            .and(query_param("organization", ORG))
            .and(query_param("status", "active"))
            .and(query_param("min_start_time", "2026-11-01T00:00:00.000000Z"))
            .and(query_param("count", "100"))
    };
    base()
        .and(query_param_is_missing("page_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(json!([one]), Some("TOKEN2"))))
        .expect(1)
        .mount(&server)
        .await;
    base()
        .and(query_param("page_token", "TOKEN2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(json!([two]), None)))
        .expect(1)
        .mount(&server)
        .await;
    let filter = ListScheduledEvents::new()
        .user(UserUri::parse(USER).unwrap())
        .organization(OrganizationUri::parse(ORG).unwrap())
        .status(Status::Active)
        .min_start_time(
            "2026-11-01T00:00:00Z"
                .parse::<callbook_client::models::Timestamp>()
                .unwrap(),
        );
    let all: Vec<ScheduledEvent> = client(&server)
        .scheduled_events(filter)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let uuids: Vec<_> = all.iter().map(|e| e.uri.uuid().to_owned()).collect();
    assert_eq!(uuids, ["GBGBDCAADAEDCRZ2", "SECONDSECOND0002"]);
}

#[tokio::test]
async fn invitees_cancel_and_no_shows_hit_the_right_paths() {
    let server = MockServer::start().await;
    let event = ScheduledEventUri::parse("https://api.calendly.com/scheduled_events/EVT1").unwrap();
    Mock::given(method("GET"))
        .and(path("/scheduled_events/EVT1/invitees"))
        .and(query_param("email", "bob@example.com"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("spec2023_list_invitees.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/scheduled_events/EVT1/cancellation"))
        .and(body_json(json!({"reason": "double booked"})))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"resource": {
                "canceled_by": "Ada", "reason": "double booked", "canceler_type": "host",
                "created_at": "2026-11-27T10:00:00.000000Z"
            }})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/invitee_no_shows"))
        .and(body_json(
            json!({"invitee": "https://api.calendly.com/scheduled_events/EVT1/invitees/INV1"}),
        ))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"resource": {
                "uri": "https://api.calendly.com/invitee_no_shows/NS1",
                "invitee": "https://api.calendly.com/scheduled_events/EVT1/invitees/INV1",
                "created_at": "2026-11-27T10:00:00.000000Z"
            }})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/invitee_no_shows/NS1"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    let c = client(&server);
    let invitees = c
        .invitees(&event, ListInvitees::new().email("bob@example.com"))
        .page(None)
        .await
        .unwrap();
    assert!(!invitees.items.is_empty());
    let cancellation = c
        .cancel_event(&event, &CancelEvent::new("double booked"))
        .await
        .unwrap();
    assert_eq!(cancellation.reason.as_deref(), Some("double booked"));
    let invitee =
        InviteeUri::parse("https://api.calendly.com/scheduled_events/EVT1/invitees/INV1").unwrap();
    let no_show = c.mark_no_show(&invitee).await.unwrap();
    c.unmark_no_show(&no_show.uri).await.unwrap();
}

#[tokio::test]
async fn waits_for_the_rate_limit_reset_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users/me"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("X-RateLimit-Limit", "500")
                .insert_header("X-RateLimit-Remaining", "0")
                .insert_header("X-RateLimit-Reset", "1")
                .set_body_json(json!({"title": "Too Many Requests", "message": "slow down"})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/users/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_json()))
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    client(&server).me().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn gives_up_on_a_rate_limit_wait_longer_than_allowed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("X-RateLimit-Reset", "3600"))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).me().await.unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(3600)),
        "{err:?}"
    );
}

#[tokio::test]
async fn retries_server_errors_for_reads_but_never_for_writes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users/me"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/users/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_json()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/scheduling_links"))
        .respond_with(ResponseTemplate::new(502).set_body_json(json!({
            "title": "Internal Server Error", "message": "The server encountered an unexpected condition"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    c.me().await.unwrap();
    let owner = EventTypeUri::parse("https://api.calendly.com/event_types/ET1").unwrap();
    let err = c
        .create_scheduling_link(&CreateSchedulingLink::new(owner))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Server { status: 502, .. }), "{err:?}");
}

#[tokio::test]
async fn statuses_map_to_errors_callers_can_match() {
    let server = MockServer::start().await;
    let mount = |p: &'static str, status: u16, body: serde_json::Value| {
        let server = &server;
        async move {
            Mock::given(path(p))
                .respond_with(ResponseTemplate::new(status).set_body_json(body))
                .mount(server)
                .await
        }
    };
    mount(
        "/users/U401",
        401,
        json!({"title": "Unauthenticated", "message": "The access token is expired"}),
    )
    .await;
    mount("/users/U403", 403, json!({"title": "Insufficient scope", "message": "This operation requires the scopes listed in the 'required_scopes' array.", "required_scopes": ["users:read"]})).await;
    mount(
        "/users/PERM",
        403,
        json!({"title": "Permission Denied", "message": "You do not have permission"}),
    )
    .await;
    mount("/users/U404", 404, json!({"title": "Resource Not Found", "message": "The server could not find the requested resource."})).await;
    mount("/users/U400", 400, json!({"title": "Invalid Argument", "message": "The supplied parameters are invalid.", "details": [{"parameter": "user", "message": "is invalid"}]})).await;
    mount(
        "/users/BAD",
        200,
        json!({"resource": {"uri": USER, "name": 7}}),
    )
    .await;
    mount(
        "/webhook_subscriptions",
        409,
        json!({"title": "Already Exists", "message": "Hook with this url already exists"}),
    )
    .await;

    let c = client(&server);
    let get =
        |uuid: &str| UserUri::parse(format!("https://api.calendly.com/users/{uuid}")).unwrap();
    assert!(matches!(
        c.user(&get("U401")).await,
        Err(Error::Unauthenticated { .. })
    ));
    match c.user(&get("U403")).await {
        Err(Error::InsufficientScope {
            required_scopes, ..
        }) => assert_eq!(required_scopes, ["users:read"]),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        c.user(&get("PERM")).await,
        Err(Error::PermissionDenied { .. })
    ));
    assert!(matches!(
        c.user(&get("U404")).await,
        Err(Error::NotFound { .. })
    ));
    match c.user(&get("U400")).await {
        Err(Error::InvalidArgument { details, .. }) => {
            assert_eq!(details[0].parameter.as_deref(), Some("user"))
        }
        other => panic!("{other:?}"),
    }
    match c.user(&get("BAD")).await {
        Err(Error::Decode { path, excerpt, .. }) => {
            assert_eq!(path, "resource.name");
            assert!(excerpt.contains("\"name\":7"), "{excerpt}");
        }
        other => panic!("{other:?}"),
    }
    let body = CreateWebhookSubscription::new(
        "https://hooks.example.com/c",
        vec![EventName::InviteeCreated],
        OrganizationUri::parse(ORG).unwrap(),
        Scope::Organization,
    );
    let err = c.create_webhook_subscription(&body).await.unwrap_err();
    assert!(
        matches!(err, Error::AlreadyExists { ref message } if message.contains("Hook with this url")),
        "{err:?}"
    );
}

#[tokio::test]
async fn subscribe_generates_and_returns_the_signing_key() {
    let server = MockServer::start().await;
    let resource = fixture("spec2023_webhook_subscription_resource.json");
    Mock::given(method("POST"))
        .and(path("/webhook_subscriptions"))
        .respond_with(ResponseTemplate::new(201).set_body_json(resource))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    let created = c
        .subscribe(
            CreateWebhookSubscription::new(
                "https://hooks.example.com/calendly",
                vec![EventName::InviteeCreated, EventName::InviteeCanceled],
                OrganizationUri::parse(ORG).unwrap(),
                Scope::User,
            )
            .user(UserUri::parse(USER).unwrap()),
        )
        .await
        .unwrap();
    let sent: serde_json::Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    use secrecy::ExposeSecret;
    assert_eq!(sent["signing_key"], created.signing_key.expose_secret());
    assert_eq!(sent["scope"], "user");
    assert_eq!(sent["user"], USER);
    assert!(!format!("{created:?}").contains(created.signing_key.expose_secret()));

    // A combination Calendly rejects is refused before anything is sent.
    let err = c
        .subscribe(
            CreateWebhookSubscription::new(
                "https://hooks.example.com/calendly",
                vec![EventName::RoutingFormSubmissionCreated],
                OrganizationUri::parse(ORG).unwrap(),
                Scope::User,
            )
            .user(UserUri::parse(USER).unwrap()),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn availability_and_webhook_listing_send_required_filters() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/event_type_available_times"))
        .and(query_param(
            "event_type",
            "https://api.calendly.com/event_types/ET1",
        ))
        .and(query_param("start_time", "2026-12-01T00:00:00.000000Z"))
        .and(query_param("end_time", "2026-12-07T00:00:00.000000Z"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"collection": [{
                "status": "available", "invitees_remaining": 2,
                "start_time": "2026-12-01T09:00:00.000000Z",
                "scheduling_url": "https://calendly.com/ada/30min/2026-12-01T09:00:00Z"
            }]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/webhook_subscriptions"))
        .and(query_param("organization", ORG))
        .and(query_param("scope", "organization"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(json!([]), None)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/activity_log_entries"))
        .and(query_param("organization", ORG))
        .and(query_param("action", "Added,Removed"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "collection": [], "pagination": {"count": 0, "next_page": null, "previous_page": null,
            "next_page_token": null, "previous_page_token": null},
            "total_count": 0, "exceeds_max_total_count": false, "last_event_time": null
        })))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    let ts = |s: &str| s.parse::<callbook_client::models::Timestamp>().unwrap();
    let slots = c
        .available_times(AvailableTimesQuery::new(
            EventTypeUri::parse("https://api.calendly.com/event_types/ET1").unwrap(),
            ts("2026-12-01T00:00:00Z"),
            ts("2026-12-07T00:00:00Z"),
        ))
        .await
        .unwrap();
    assert_eq!(slots.len(), 1);
    let subs = c
        .webhook_subscriptions(ListWebhookSubscriptions::new(
            OrganizationUri::parse(ORG).unwrap(),
            Scope::Organization,
        ))
        .collect()
        .await
        .unwrap();
    assert!(subs.is_empty());
    let log = c
        .activity_log_page(
            ListActivityLog::new(OrganizationUri::parse(ORG).unwrap())
                .action(vec!["Added".to_owned(), "Removed".to_owned()]),
            None,
        )
        .await
        .unwrap();
    assert_eq!(log.total_count, Some(0));
}

#[tokio::test]
async fn a_redirect_is_an_error_and_the_token_does_not_follow_it() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/steal", elsewhere.uri())),
        )
        .mount(&server)
        .await;
    let err = client(&server).me().await.unwrap_err();
    assert!(matches!(err, Error::Status { status: 302, .. }), "{err:?}");
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}
