use crate::harness::*;
use callbook_signature::calendly::sign;
use serde_json::Value;
use std::collections::HashSet;

async fn json(r: reqwest::Response) -> Value {
    r.json().await.expect("json body")
}

#[tokio::test]
async fn a_valid_calendly_delivery_is_stored_byte_for_byte() {
    let s = TestServer::start().await;
    let r = s.send_signed(SEED).await;
    assert_eq!(r.status(), 200);
    let accepted = json(r).await;
    assert_eq!(accepted["duplicate"], false);
    let id = accepted["id"].as_str().expect("id").to_owned();

    let detail = json(s.admin_get(&format!("/admin/events/{id}")).await).await;
    assert_eq!(detail["source"], "cal");
    assert_eq!(detail["provider"], "calendly");
    assert_eq!(detail["event_type"], "invitee.created");
    assert_eq!(detail["parse_status"]["status"], "parsed");
    assert_eq!(detail["body"].as_str().expect("body").as_bytes(), SEED);
    assert_eq!(detail["headers"]["content-type"], "application/json");
    assert!(detail["headers"]["calendly-webhook-signature"].is_string());
    s.stop().await;
}

#[tokio::test]
async fn a_redelivery_answers_the_original_id_and_is_stored_once() {
    let s = TestServer::start().await;
    let first = json(s.send_signed(SEED).await).await;
    // Calendly re-signs a retry with a new timestamp; the body is the same delivery.
    let again = json(s.send_signed(SEED).await).await;
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["id"], first["id"]);
    assert_eq!(s.events().await.len(), 1);
    // A redelivery is answered from the body's bytes only once they are verified.
    let forged = s
        .send_calendly(Some(&sign(b"wrong-key", now(), SEED)), SEED)
        .await;
    assert_eq!(forged.status(), 401);
    s.stop().await;
}

#[tokio::test]
async fn a_redelivery_after_a_restart_is_found_in_the_store() {
    let s = TestServer::start().await;
    let first = json(s.send_signed(SEED).await).await;
    // A new server remembers no body: the store's de-duplication answers.
    let s = s.restart().await;
    let again = json(s.send_signed(SEED).await).await;
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["id"], first["id"]);
    let metrics = s.metrics().await;
    assert!(
        metrics.lines().any(
            |l| l.starts_with("callbook_webhooks_duplicates_total{source=\"cal\"")
                && l.ends_with(" 1")
        ),
        "{metrics}"
    );
    s.stop().await;
}

#[tokio::test]
async fn bad_signatures_are_401_with_a_reason_and_store_nothing() {
    let s = TestServer::start().await;
    let now = now();
    let mut tampered = SEED.to_vec();
    tampered[20] ^= 1;
    let cases: Vec<(Option<String>, Vec<u8>, &str)> = vec![
        (
            Some(sign(CALENDLY_KEY.as_bytes(), now, SEED)),
            tampered,
            "signature_mismatch",
        ),
        (
            Some(sign(b"wrong-key", now, SEED)),
            SEED.to_vec(),
            "signature_mismatch",
        ),
        (
            Some(sign(CALENDLY_KEY.as_bytes(), now - 600, SEED)),
            SEED.to_vec(),
            "timestamp_out_of_tolerance",
        ),
        (
            Some(sign(CALENDLY_KEY.as_bytes(), now + 600, SEED)),
            SEED.to_vec(),
            "timestamp_out_of_tolerance",
        ),
        (None, SEED.to_vec(), "missing_header"),
        (
            Some("t=abc,v1=zz".into()),
            SEED.to_vec(),
            "invalid_timestamp",
        ),
        (Some("garbage".into()), SEED.to_vec(), "malformed_header"),
    ];
    for (header, body, code) in cases {
        let r = s.send_calendly(header.as_deref(), &body).await;
        assert_eq!(r.status(), 401, "{code}");
        let err = json(r).await;
        assert_eq!(err["error"], code);
        let text = err.to_string();
        assert!(!text.contains(CALENDLY_KEY), "{text}");
    }
    assert!(s.events().await.is_empty());
    let metrics = s.metrics().await;
    assert!(
        metrics.contains(r#"callbook_webhooks_rejected_total{source="cal",provider="calendly",reason="signature_mismatch"} 2"#),
        "{metrics}"
    );
    s.stop().await;
}

#[tokio::test]
async fn a_key_being_rotated_out_still_verifies() {
    let s = TestServer::start().await;
    let header = sign(b"old-rotated-key", now(), SEED);
    assert_eq!(s.send_calendly(Some(&header), SEED).await.status(), 200);
    s.stop().await;
}

#[tokio::test]
async fn aircall_tokens() {
    let s = TestServer::start().await;
    let post = |body: Vec<u8>| {
        s.client
            .post(format!("{}/webhooks/aircall/air", s.base))
            .body(body)
            .send()
    };
    let r = post(AIRCALL_CALL.to_vec()).await.expect("send");
    assert_eq!(r.status(), 200);
    let body = String::from_utf8(AIRCALL_CALL.to_vec())
        .expect("utf8")
        .replace(AIRCALL_TOKEN, "wrong");
    let r = post(body.into_bytes()).await.expect("send");
    assert_eq!(r.status(), 401);
    assert_eq!(json(r).await["error"], "token_mismatch");
    let r = post(br#"{"event":"call.created"}"#.to_vec())
        .await
        .expect("send");
    assert_eq!(json(r).await["error"], "missing_token");
    let r = post(b"not json".to_vec()).await.expect("send");
    assert_eq!(r.status(), 401);
    assert_eq!(json(r).await["error"], "invalid_json");
    let events = s.events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["dedupe_key"],
        "aircall:call.created:123:1732622896"
    );
    s.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_413_and_not_stored() {
    let s = TestServer::start().await;
    let big = vec![b' '; 5000];
    let r = s.send_signed(&big).await;
    assert_eq!(r.status(), 413);
    assert_eq!(json(r).await["error"], "payload_too_large");
    // Without a Content-Length (chunked), the limit still holds.
    let stream = futures_stream(big);
    let r = s
        .client
        .post(format!("{}/webhooks/calendly/cal", s.base))
        .header("Calendly-Webhook-Signature", "t=1,v1=00")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 413);
    assert!(s.events().await.is_empty());
    s.stop().await;
}

fn futures_stream(
    data: Vec<u8>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::iter(
        data.chunks(1000)
            .map(|c| Ok(c.to_vec()))
            .collect::<Vec<_>>(),
    )
}

#[tokio::test]
async fn unknown_sources_methods_and_provider_mismatches() {
    let s = TestServer::start().await;
    let r = s
        .client
        .post(format!("{}/webhooks/calendly/nope", s.base))
        .body("{}")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 404);
    assert_eq!(json(r).await["error"], "unknown_source");
    // `cal` is a Calendly source: not reachable on the Aircall route.
    let r = s
        .client
        .post(format!("{}/webhooks/aircall/cal", s.base))
        .body("{}")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 404);
    let r = s
        .client
        .get(format!("{}/webhooks/calendly/cal", s.base))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 405);
    s.stop().await;
}

#[tokio::test]
async fn verified_but_unparseable_bodies_are_stored_raw_and_acknowledged() {
    let s = TestServer::start().await;
    let body = br#"{"event":"invitee.created","created_at":"2020-11-23T17:51:19Z","created_by":"https://api.calendly.com/users/A","payload":{"uri":"https://api.calendly.com/scheduled_events/E/invitees/I","email":{"not":"a string"}}}"#;
    let r = s.send_signed(body).await;
    assert_eq!(r.status(), 200);
    let id = json(r).await["id"].as_str().expect("id").to_owned();
    let detail = json(s.admin_get(&format!("/admin/events/{id}")).await).await;
    assert_eq!(detail["parse_status"]["status"], "unparsed");
    assert!(
        detail["parse_status"]["error"]
            .as_str()
            .expect("error")
            .contains("invalid type")
    );
    assert_eq!(detail["event_type"], "invitee.created");
    assert_eq!(detail["body"].as_str().expect("body").as_bytes(), body);

    // Not JSON at all, but signed: kept too.
    let r = s.send_signed(b"\xff\xfe garbage").await;
    assert_eq!(r.status(), 200);
    let id = json(r).await["id"].as_str().expect("id").to_owned();
    let detail = json(s.admin_get(&format!("/admin/events/{id}")).await).await;
    assert_eq!(detail["body"], Value::Null);
    assert_eq!(detail["body_base64"], "//4gZ2FyYmFnZQ==");
    s.stop().await;
}

#[tokio::test]
async fn an_unknown_event_name_is_stored_as_parsed_with_its_name() {
    let s = TestServer::start().await;
    let body = br#"{"event":"invitee.rescheduled","created_at":"2030-01-01T00:00:00Z","created_by":"https://api.calendly.com/users/A","payload":{"uri":"https://api.calendly.com/x/1"}}"#;
    let r = s.send_signed(body).await;
    assert_eq!(r.status(), 200);
    let events = s.events().await;
    assert_eq!(events[0]["event_type"], "invitee.rescheduled");
    assert_eq!(events[0]["parse_status"]["status"], "parsed");
    s.stop().await;
}

#[tokio::test]
async fn a_thousand_concurrent_deliveries_with_ten_percent_redeliveries() {
    let s = std::sync::Arc::new(TestServer::start().await);
    let template: Value = serde_json::from_slice(SEED).expect("json");
    let mut tasks = Vec::new();
    for i in 0..1000 {
        let s = s.clone();
        let n = if i % 10 == 9 { i - 1 } else { i };
        let mut body = template.clone();
        body["payload"]["uri"] =
            format!("https://api.calendly.com/scheduled_events/E/invitees/I{n}").into();
        let body = serde_json::to_vec(&body).expect("body");
        tasks.push(tokio::spawn(async move {
            let r = s.send_signed(&body).await;
            (r.status(), json(r).await)
        }));
    }
    let mut ids = HashSet::new();
    for t in tasks {
        let (status, body) = t.await.expect("join");
        assert!(status.is_success(), "{status} {body}");
        ids.insert(body["id"].as_str().expect("id").to_owned());
    }
    assert_eq!(ids.len(), 900);
    assert_eq!(s.events().await.len(), 900);
    if let Ok(s) = std::sync::Arc::try_unwrap(s) {
        s.stop().await;
    }
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let s = TestServer::start().await;
    let get = |p: &str| s.client.get(format!("{}{p}", s.base)).send();
    assert_eq!(get("/healthz").await.expect("h").status(), 200);
    let ready = get("/readyz").await.expect("r");
    assert_eq!(ready.status(), 200);
    assert_eq!(json(ready).await["status"], "ready");
    s.send_signed(SEED).await;
    let m = get("/metrics").await.expect("m").text().await.expect("t");
    assert!(
        m.contains(r#"callbook_webhooks_received_total{source="cal",provider="calendly"} 1"#),
        "{m}"
    );
    assert!(m.contains(r#"callbook_events_stored_total{source="cal",provider="calendly",parse_status="parsed"} 1"#), "{m}");
    assert!(m.contains("callbook_ingest_duration_seconds_count"), "{m}");
    // SQLite's intake log, as the store reports it (whether this event went through the log
    // depends on what else the writer had in hand).
    let gauge = |name: &str| -> i64 {
        m.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {m}"))
    };
    assert!(gauge("callbook_store_intake_log_bytes") >= 0, "{m}");
    assert!(gauge("callbook_store_intake_pending_records") <= 1, "{m}");
    assert_eq!(gauge("callbook_store_intake_refused"), 0, "{m}");
    s.stop().await;
}

#[tokio::test]
async fn readiness_fails_while_the_database_refuses_an_acknowledged_event() {
    let s = TestServer::start().await;
    let side = |sql: &str| {
        rusqlite::Connection::open(s.database())
            .and_then(|c| c.execute_batch(sql))
            .expect("side connection");
    };
    side(
        "CREATE TRIGGER refuse BEFORE INSERT ON events \
         BEGIN SELECT RAISE(ABORT, 'disk full, say'); END;",
    );
    // Alone, the event goes to the intake log and is acknowledged from there. (Had it shared
    // the writer's batch with a startup task, it would have been committed directly, refused
    // and answered 503: nothing stored, so the sender retries.)
    let mut tries = 0;
    let id = loop {
        let r = s.send_signed(SEED).await;
        let (status, body) = (r.status(), json(r).await);
        if status == 200 {
            break body["id"].as_str().expect("id").to_owned();
        }
        assert_eq!(
            (status.as_u16(), &body["error"]),
            (503, &"storage_unavailable".into())
        );
        tries += 1;
        assert!(tries < 50, "never acknowledged");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let ready = || async {
        let r = s
            .client
            .get(format!("{}/readyz", s.base))
            .send()
            .await
            .expect("readyz");
        (r.status(), json(r).await)
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let (status, body) = loop {
        let (status, body) = ready().await;
        if status != 200 || tokio::time::Instant::now() > deadline {
            break (status, body);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["reason"], "intake log record refused", "{body}");

    side("DROP TRIGGER refuse;");
    // The record is retried every second; once it is in, the server is ready again.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while ready().await.0 != 200 {
        assert!(tokio::time::Instant::now() < deadline, "still unready");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let stored = s.admin_get(&format!("/admin/events/{id}")).await;
    assert_eq!(stored.status(), 200);
    s.stop().await;
}
