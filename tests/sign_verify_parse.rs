//! Sign, verify, parse: callbook-signature and callbook-models together, on the providers'
//! documented payloads, directly and through the axum extractors over real HTTP.

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::routing::post;
use callbook_models::{aircall, calendly};
use callbook_signature::axum::{VerifiedAircall, VerifiedCalendly, VerifiedStandard};
use callbook_signature::{Error, FixedClock, standard};
use serde_json::Value;
use std::path::PathBuf;

const KEY: &str = "calendly-signing-key";
const T: i64 = 1_733_000_000;

fn fixtures(provider: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/callbook-models/tests/fixtures")
        .join(provider);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| !n.to_string_lossy().starts_with("api_"))
        })
        .map(|p| {
            let body = std::fs::read(&p).expect("read");
            (p.display().to_string(), body)
        })
        // Webhook envelopes only: the API answers in the same folder are not deliveries.
        .filter(|(_, body)| {
            let v: Value = serde_json::from_slice(body).expect("json");
            v.get("event").is_some() && (v.get("payload").is_some() || v.get("data").is_some())
        })
        .collect();
    out.sort();
    assert!(out.len() >= 3, "fixtures found in {}", dir.display());
    out
}

fn event_of(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).expect("json");
    v["event"].as_str().expect("event").to_owned()
}

#[test]
fn every_documented_calendly_webhook_signs_verifies_and_parses() {
    let verifier = callbook_signature::calendly::Verifier::new(["old-key", KEY])
        .expect("keys")
        .clock(FixedClock(T + 60));
    for (name, body) in fixtures("calendly") {
        let headers = [(
            callbook_signature::calendly::HEADER,
            callbook_signature::calendly::sign(KEY.as_bytes(), T, &body),
        )];
        let verified = verifier
            .construct_event::<calendly::Webhook>(&headers, &body)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(verified.key_index, 1, "{name}");
        assert_eq!(verified.timestamp, Some(T), "{name}");
        assert_eq!(
            verified.event.event().to_string(),
            event_of(&body),
            "{name}"
        );
        assert!(
            !matches!(verified.event.payload, calendly::Payload::Unknown { .. }),
            "{name}: a documented event parses as its own variant"
        );

        let mut tampered = body.clone();
        tampered.push(b' ');
        assert_eq!(
            verifier
                .construct_event::<calendly::Webhook>(&headers, &tampered)
                .unwrap_err(),
            Error::SignatureMismatch,
            "{name}"
        );
    }
}

#[test]
fn every_documented_aircall_webhook_verifies_and_parses_in_one_pass() {
    for (name, body) in fixtures("aircall") {
        let v: Value = serde_json::from_slice(&body).expect("json");
        let token = v["token"].as_str().expect("token");
        let verifier =
            callbook_signature::aircall::Verifier::new(["other-account", token]).expect("tokens");
        let verified = verifier
            .construct_event::<aircall::Webhook>(&body)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(verified.key_index, 1, "{name}");
        assert_eq!(verified.timestamp, None);
        assert_eq!(verified.event.event.to_string(), event_of(&body), "{name}");
        assert_eq!(
            verified.event.token.expose(),
            "",
            "{name}: the token stays out"
        );

        let wrong = callbook_signature::aircall::Verifier::new(["other-account"]).expect("t");
        assert_eq!(
            wrong
                .construct_event::<aircall::Webhook>(&body)
                .unwrap_err(),
            Error::TokenMismatch
        );
    }
}

#[test]
fn a_forwarded_event_verifies_with_standard_webhooks() {
    let wh = standard::Webhook::from_whsec(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
        .expect("secret")
        .clock(FixedClock(T));
    for (name, body) in fixtures("calendly") {
        let signed = wh.sign("evt_1", T, &body).expect("sign");
        let headers = vec![
            (standard::ID_HEADER, signed.id),
            (standard::TIMESTAMP_HEADER, signed.timestamp),
            (standard::SIGNATURE_HEADER, signed.signature),
        ];
        let event = wh
            .construct_event::<calendly::Webhook>(&headers, &body)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .into_event();
        assert_eq!(event.event().to_string(), event_of(&body));
    }
}

#[derive(Clone, FromRef)]
struct Hooks {
    calendly: callbook_signature::calendly::Verifier,
    aircall: callbook_signature::aircall::Verifier,
    standard: standard::Webhook,
}

async fn on_calendly(VerifiedCalendly(webhook, v): VerifiedCalendly<calendly::Webhook>) -> String {
    format!("{} key {}", webhook.event(), v.key_index)
}

async fn on_aircall(VerifiedAircall(webhook, v): VerifiedAircall<aircall::Webhook>) -> String {
    format!("{} account {}", webhook.event, v.key_index)
}

async fn on_standard(VerifiedStandard(body, _): VerifiedStandard<Value>) -> String {
    body["event"].as_str().unwrap_or("?").to_owned()
}

#[tokio::test]
async fn the_extractors_answer_over_http_as_documented() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let hooks = Hooks {
        calendly: callbook_signature::calendly::Verifier::new([KEY]).expect("key"),
        aircall: callbook_signature::aircall::Verifier::new(["tok-a", "tok-b"]).expect("tokens"),
        standard: standard::Webhook::from_whsec(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
            .expect("secret"),
    };
    let signer = hooks.standard.clone();
    let app = Router::new()
        .route("/calendly", post(on_calendly))
        .route("/aircall", post(on_aircall))
        .route("/standard", post(on_standard))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .with_state(hooks);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();

    let post = |path: &str, headers: Vec<(&'static str, String)>, body: Vec<u8>| {
        let mut request = client.post(format!("{base}{path}")).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        async move {
            let response = request.send().await.expect("send");
            let status = response.status().as_u16();
            (status, response.text().await.expect("text"))
        }
    };
    let calendly_body = std::fs::read(
        fixtures("calendly")
            .into_iter()
            .find(|(n, _)| n.contains("doc_invitee_created"))
            .expect("fixture")
            .0,
    )
    .expect("read");
    let signed = |body: &[u8]| {
        vec![(
            callbook_signature::calendly::HEADER,
            callbook_signature::calendly::sign(KEY.as_bytes(), now, body),
        )]
    };

    // Genuine: typed and answered.
    let (status, text) = post("/calendly", signed(&calendly_body), calendly_body.clone()).await;
    assert_eq!((status, text.as_str()), (200, "invitee.created key 0"));
    // Missing or wrong signature: 401 with the reason's code.
    let (status, text) = post("/calendly", vec![], calendly_body.clone()).await;
    assert_eq!(status, 401);
    let reason: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(reason["error"], "missing_header");
    let (status, text) = post("/calendly", signed(b"{}"), calendly_body.clone()).await;
    assert_eq!(status, 401);
    assert!(text.contains("signature_mismatch"), "{text}");
    // Genuine but not a Calendly webhook: 400, and it says so.
    let odd = br#"{"event":"invitee.created","payload":"not an object"}"#.to_vec();
    let (status, text) = post("/calendly", signed(&odd), odd).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("invalid_payload"), "{text}");
    // Over the body limit: 413 before any verification.
    let big = vec![b' '; 65 * 1024];
    let (status, text) = post("/calendly", signed(&big), big).await;
    assert_eq!(status, 413, "{text}");

    // Aircall: the account is the index of the token the body carries.
    let aircall_body = br#"{"resource":"call","event":"call.created","timestamp":1,"token":"tok-b","data":{"id":1}}"#;
    let (status, text) = post("/aircall", vec![], aircall_body.to_vec()).await;
    assert_eq!((status, text.as_str()), (200, "call.created account 1"));
    let forged = br#"{"resource":"call","event":"call.created","timestamp":1,"token":"tok-c","data":{"id":1}}"#;
    let (status, text) = post("/aircall", vec![], forged.to_vec()).await;
    assert_eq!(status, 401);
    assert!(text.contains("token_mismatch"), "{text}");
    assert!(!text.contains("tok-"), "no token in the answer: {text}");

    // Standard Webhooks, as callbook forwards events.
    let s = signer.sign("evt_1", now, &calendly_body).expect("sign");
    let headers = vec![
        (standard::ID_HEADER, s.id),
        (standard::TIMESTAMP_HEADER, s.timestamp),
        (standard::SIGNATURE_HEADER, s.signature),
    ];
    let (status, text) = post("/standard", headers.clone(), calendly_body.clone()).await;
    assert_eq!((status, text.as_str()), (200, "invitee.created"));
    let (status, _) = post("/standard", headers, b"{}".to_vec()).await;
    assert_eq!(status, 401);
}
