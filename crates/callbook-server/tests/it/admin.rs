use crate::harness::*;
use serde_json::Value;
use std::collections::HashSet;

#[tokio::test]
async fn the_admin_api_requires_the_token() {
    let s = TestServer::start().await;
    let url = format!("{}/admin/events", s.base);
    let r = s.client.get(&url).send().await.expect("send");
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let r = s
        .client
        .get(&url)
        .bearer_auth("wrong")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
    let r = s
        .client
        .get(&url)
        .bearer_auth(format!("{ADMIN_TOKEN}x"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
    assert_eq!(s.admin_get("/admin/events").await.status(), 200);
    // The scheme's name is case-insensitive (RFC 9110), as clients and proxies may send it.
    for scheme in ["bearer", "BEARER", "Bearer "] {
        let r = s
            .client
            .get(&url)
            .header("authorization", format!("{scheme} {ADMIN_TOKEN}"))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 200, "{scheme:?}");
    }
    let r = s
        .client
        .get(&url)
        .header("authorization", format!("Basic {ADMIN_TOKEN}"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401, "another scheme");
    s.stop().await;
}

#[tokio::test]
async fn a_short_admin_token_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(&dir, "[admin]\ntoken = \"only-twenty-characters\"");
    let err = callbook_server::Server::from_config(config)
        .await
        .expect_err("a guessable token");
    let err = err.to_string();
    assert!(err.contains("admin.token") && err.contains("32"), "{err}");
    assert!(
        !err.contains("only-twenty"),
        "the token is not shown: {err}"
    );
}

#[tokio::test]
async fn without_a_token_the_admin_api_is_off() {
    let s = TestServer::start_with("").await;
    let r = s
        .client
        .get(format!("{}/admin/events", s.base))
        .bearer_auth("anything")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 404);
    s.stop().await;
}

#[tokio::test]
async fn pagination_neither_skips_nor_repeats() {
    let s = TestServer::start().await;
    let template: Value = serde_json::from_slice(SEED).expect("json");
    for i in 0..23 {
        let mut body = template.clone();
        body["payload"]["uri"] =
            format!("https://api.calendly.com/scheduled_events/E/invitees/P{i}").into();
        assert_eq!(
            s.send_signed(&serde_json::to_vec(&body).expect("b"))
                .await
                .status(),
            200
        );
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/admin/events?limit=5&cursor={c}"),
            None => "/admin/events?limit=5".into(),
        };
        let page: Value = s.admin_get(&path).await.json().await.expect("json");
        let events = page["events"].as_array().expect("events");
        assert!(events.len() <= 5);
        seen.extend(
            events
                .iter()
                .map(|e| e["id"].as_str().expect("id").to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 23);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 23);

    let filtered: Value = s
        .admin_get("/admin/events?source=air")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(filtered["events"].as_array().expect("e").len(), 0);
    let filtered: Value = s
        .admin_get("/admin/events?provider=calendly&event_type=invitee.created")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(filtered["events"].as_array().expect("e").len(), 23);
    let bad = s.admin_get("/admin/events?limit=abc").await;
    assert_eq!(bad.status(), 400);
    let bad = s.admin_get("/admin/events?colour=red").await;
    assert_eq!(bad.status(), 400);
    assert_eq!(s.admin_get("/admin/events/not-an-id").await.status(), 400);
    assert_eq!(
        s.admin_get("/admin/events/0190a1b2-0000-7000-8000-000000000000")
            .await
            .status(),
        404
    );
    s.stop().await;
}

#[tokio::test]
async fn events_are_found_by_the_address_or_number_they_name_or_their_key() {
    let s = TestServer::start().await;
    let mut booking: Value = serde_json::from_slice(SEED).expect("json");
    booking["payload"]["email"] = "Ana.Lima@example.com".into();
    booking["payload"]["text_reminder_number"] = "+55 11 91234-5678".into();
    booking["payload"]["uri"] = "https://api.calendly.com/scheduled_events/E/invitees/ANA".into();
    assert_eq!(
        s.send_signed(&serde_json::to_vec(&booking).expect("b"))
            .await
            .status(),
        200
    );
    assert_eq!(s.send_signed(SEED).await.status(), 200, "someone else");
    let call = String::from_utf8(AIRCALL_CALL.to_vec())
        .expect("utf8")
        .replace("+1 800-123-4567", "+55 11 91234-5678");
    let r = s
        .client
        .post(format!("{}/webhooks/aircall/air", s.base))
        .body(call)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);

    let found = |search: &'static str| {
        let s = &s;
        async move {
            let url = format!(
                "/admin/events?search={}",
                percent_encoding::utf8_percent_encode(search, percent_encoding::NON_ALPHANUMERIC)
            );
            let r = s.admin_get(&url).await;
            assert_eq!(r.status(), 200, "{search}");
            let page: Value = r.json().await.expect("json");
            page["events"]
                .as_array()
                .expect("events")
                .iter()
                .map(|e| e["event_type"].as_str().expect("type").to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(found("ana.lima@EXAMPLE.com").await, ["invitee.created"]);
    // The booking's SMS number and the call's caller are one person, however it is written.
    assert_eq!(
        found("(11) 91234-5678").await,
        ["call.created", "invitee.created"]
    );
    assert_eq!(
        found("aircall:call.created:123:1732622896").await,
        ["call.created"]
    );
    assert!(found("nobody@example.com").await.is_empty());
    let page: Value = s
        .admin_get("/admin/events?search=test@example.com&parsed=true&provider=calendly")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(page["events"].as_array().expect("events").len(), 1);
    assert_eq!(
        s.admin_get("/admin/events?parsed=maybe").await.status(),
        400
    );
    s.stop().await;
}

#[tokio::test]
async fn the_openapi_document_describes_the_routes() {
    let s = TestServer::start().await;
    let doc: Value = s
        .admin_get("/admin/openapi.json")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/admin/events"]["get"].is_object());
    assert!(doc["paths"]["/admin/events/{id}"]["get"].is_object());
    s.stop().await;
}

#[tokio::test]
async fn out_of_range_limits_and_malformed_bodies_get_the_json_error_shape() {
    let s = TestServer::start().await;
    for path in ["/admin/events?limit=1001", "/admin/deliveries?limit=0"] {
        let r = s.admin_get(path).await;
        assert_eq!(r.status(), 400, "{path}");
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["error"], "invalid_query", "{path}");
    }
    let r = s
        .client
        .post(format!("{}/admin/destinations/nowhere/replay", s.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 404);
    s.stop().await;
}
