//! `callbook calendly ...` and `callbook aircall ...`, run as a user runs them, against wiremock
//! standing in for Calendly and Aircall.

use serde_json::json;
use std::path::Path;
use std::process::Output;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ORG: &str = "https://api.calendly.com/organizations/AAAAAAAAAAAAAAAA";
const USER: &str = "https://api.calendly.com/users/BBBBBBBBBBBBBBBB";
const HOOK_URL: &str = "https://hooks.example.com/webhooks/calendly/calendly";

async fn callbook(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_callbook"));
    cmd.args(args)
        .env_remove("CALENDLY_TOKEN")
        .env_remove("AIRCALL_API_ID");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().await.expect("run callbook")
}

fn init(dir: &Path) -> String {
    let config = dir.join("callbook.toml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_callbook"))
        .args(["init", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(out.status.success());
    config.to_string_lossy().into_owned()
}

fn source_secrets(config: &str, name: &str) -> Vec<String> {
    let cfg =
        callbook_server::Config::from_toml(&std::fs::read_to_string(config).unwrap()).unwrap();
    let source = cfg.sources.iter().find(|s| s.name == name).expect("source");
    source
        .signing_keys
        .iter()
        .chain(&source.tokens)
        .map(|s| secrecy::ExposeSecret::expose_secret(&s.resolve().unwrap()).to_owned())
        .collect()
}

async fn calendly_me(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/users/me"))
        .and(header("authorization", "Bearer cal-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"resource": {
            "uri": USER, "name": "Ada Lovelace", "email": "ada@example.com",
            "created_at": "2024-01-02T03:04:05.000000Z", "updated_at": "2024-01-02T03:04:05.000000Z",
            "current_organization": ORG
        }})))
        .mount(server)
        .await;
}

fn subscription(url: &str) -> serde_json::Value {
    json!({
        "uri": "https://api.calendly.com/webhook_subscriptions/SUB1", "callback_url": url,
        "created_at": "2026-11-27T10:00:00.000000Z", "updated_at": "2026-11-27T10:00:00.000000Z",
        "retry_started_at": null, "state": "active", "events": ["invitee.created"],
        "scope": "user", "organization": ORG, "user": USER, "group": null, "creator": USER
    })
}

#[tokio::test]
async fn calendly_subscribe_writes_the_key_calendly_received_into_the_config() {
    let server = MockServer::start().await;
    calendly_me(&server).await;
    Mock::given(method("GET"))
        .and(path("/webhook_subscriptions"))
        .and(query_param("scope", "user"))
        .and(query_param("user", USER))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "collection": [subscription(HOOK_URL)],
            "pagination": {"count": 1, "next_page": null, "previous_page": null,
                "next_page_token": null, "previous_page_token": null}
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/webhook_subscriptions"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"resource": subscription(HOOK_URL)})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config = init(dir.path());
    let before = source_secrets(&config, "calendly");

    let out = callbook(
        &[
            "calendly",
            "subscribe",
            "--url",
            HOOK_URL,
            "--config",
            &config,
        ],
        &[
            ("CALENDLY_TOKEN", "cal-token"),
            ("CALENDLY_API_URL", &server.uri()),
        ],
    )
    .await;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // The same URL is already subscribed: the user is told before the duplicate is made.
    assert!(stderr.contains("already delivers to"), "{stderr}");

    let sent = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.method.as_str() == "POST")
        .unwrap();
    let sent: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(
        sent["events"],
        json!(["invitee.created", "invitee.canceled"])
    );
    let key = sent["signing_key"].as_str().unwrap();
    let after = source_secrets(&config, "calendly");
    assert_eq!(after[0], key, "the new key comes first");
    assert_eq!(&after[1..], &before[..], "older keys stay for rotation");
    // The key was written to the file, not to the terminal.
    assert!(!stdout.contains(key) && !stderr.contains(key));
}

#[tokio::test]
async fn calendly_whoami_and_a_missing_token() {
    let server = MockServer::start().await;
    calendly_me(&server).await;
    let out = callbook(
        &["calendly", "whoami"],
        &[
            ("CALENDLY_TOKEN", "cal-token"),
            ("CALENDLY_API_URL", &server.uri()),
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        stdout.contains("Ada Lovelace <ada@example.com>") && stdout.contains(ORG),
        "{stdout}"
    );

    let out = callbook(
        &["calendly", "whoami"],
        &[("CALENDLY_API_URL", &server.uri())],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CALENDLY_TOKEN"));
}

#[tokio::test]
async fn an_api_refusal_exits_1_with_the_reason() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "title": "Unauthenticated", "message": "The access token is invalid"
        })))
        .mount(&server)
        .await;
    let out = callbook(
        &["calendly", "subscriptions", "list"],
        &[
            ("CALENDLY_TOKEN", "bad"),
            ("CALENDLY_API_URL", &server.uri()),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("The access token is invalid"), "{stderr}");
    assert!(!stderr.contains("bad"), "the token never shows: {stderr}");
}

#[tokio::test]
async fn aircall_webhooks_create_stores_the_token_in_a_new_source() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/webhooks"))
        .and(header("authorization", "Basic aWQ6c2VjcmV0"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"webhook": {
            "webhook_id": "a5321f51-8e05-482a-b2d2-a2596d6e547f",
            "url": "https://hooks.example.com/webhooks/aircall/aircall", "active": true,
            "events": ["call.created", "call.ended"], "token": "b8aad3bc0b2e42d48309bc3fd241426f",
            "created_at": "2026-06-19T19:39:25.102Z"
        }})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/webhooks"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"webhooks": [], "meta": {"count": 0, "total": 0}})),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config = init(dir.path());
    let envs = [
        ("AIRCALL_API_ID", "id"),
        ("AIRCALL_API_TOKEN", "secret"),
        ("AIRCALL_API_URL", &format!("{}/v1", server.uri())),
    ];
    let out = callbook(
        &[
            "aircall",
            "webhooks",
            "create",
            "--url",
            "https://hooks.example.com/webhooks/aircall/aircall",
            "--config",
            &config,
        ],
        &envs,
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        source_secrets(&config, "aircall"),
        ["b8aad3bc0b2e42d48309bc3fd241426f"]
    );
    let out = callbook(&["aircall", "webhooks", "list"], &envs).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("no webhooks"));
}
