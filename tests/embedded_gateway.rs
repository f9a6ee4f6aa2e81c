//! The gateway embedded in another axum application, under a prefix: it receives, stores,
//! hands events to an in-process handler and forwards them to an HTTP destination, beside the
//! application's own routes; shutdown stops delivery and closes the store.

use axum::Router;
use axum::routing::{get, post};
use callbook_models::calendly;
use callbook_server::prometheus_client::metrics::counter::Counter;
use callbook_server::{
    Config, DeliveredEvent, EventHandler, Handler, HandlerError, Server, async_trait,
};
use callbook_signature::axum::VerifiedStandard;
use callbook_signature::standard;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

const KEY: &str = "calendly-signing-key";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ADMIN: &str = "admin-token-for-the-embedded-test";

/// An in-process handler that reports each typed event it gets and counts it in a metric of
/// the application's own.
struct Audit {
    seen: mpsc::UnboundedSender<String>,
    audited: Counter,
}

#[async_trait]
impl EventHandler for Audit {
    async fn handle(&self, event: &DeliveredEvent) -> Result<(), HandlerError> {
        let webhook = event
            .webhook
            .calendly()
            .ok_or_else(|| HandlerError::permanent("Calendly only"))?;
        let calendly::Payload::InviteeCreated(invitee) = &webhook.payload else {
            return Err(HandlerError::permanent("bookings only"));
        };
        self.audited.inc();
        let _ = self.seen.send(format!("{} {}", event.id, invitee.email));
        Ok(())
    }
}

async fn listen(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

#[tokio::test]
async fn nested_under_a_prefix_it_receives_stores_and_delivers() {
    // The destination: another service verifying callbook's Standard Webhooks signature.
    let (delivered_tx, mut delivered) = mpsc::unbounded_channel::<(String, String)>();
    let sink = Router::new()
        .route(
            "/hook",
            post(
                move |headers: axum::http::HeaderMap,
                      VerifiedStandard(webhook, _): VerifiedStandard<calendly::Webhook>| {
                    let tx = delivered_tx.clone();
                    async move {
                        let id = headers["webhook-id"].to_str().unwrap_or("").to_owned();
                        let _ = tx.send((id, webhook.event().to_string()));
                    }
                },
            ),
        )
        .with_state(standard::Webhook::from_whsec([SECRET]).expect("secret"));
    let sink = listen(sink).await;

    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("embedded.db");
    let config = Config::from_toml(&format!(
        r#"
        [database]
        url = "sqlite://{}"
        [admin]
        token = "{ADMIN}"
        [delivery]
        retry_schedule_secs = [0, 0.05, 0.05]
        jitter = 0.0
        poll_interval_ms = 20
        [[sources]]
        name = "cal"
        provider = "calendly"
        signing_keys = ["{KEY}"]
        [[destinations]]
        name = "crm"
        url = "{sink}/hook"
        secret = "{SECRET}"
        events = ["invitee.*"]
        "#,
        db.display()
    ))
    .expect("config");

    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let audited = Counter::default();
    let gateway = Server::from_config(config)
        .await
        .expect("server")
        .register_metrics(|registry| {
            registry.sub_registry_with_prefix("myapp").register(
                "audited",
                "Bookings audited",
                audited.clone(),
            );
        })
        .expect("metrics")
        .add_handler(
            Handler::new("audit").events(["invitee.created"]),
            Arc::new(Audit {
                seen: seen_tx,
                audited: audited.clone(),
            }),
        )
        .expect("handler")
        .start()
        .await
        .expect("start");

    let app = Router::new()
        .route("/", get(|| async { "the host application" }))
        .nest("/callbook", gateway.webhook_router())
        .nest(
            "/ops",
            gateway.admin_router().merge(gateway.health_router()),
        );
    let base = listen(app).await;
    let client = reqwest::Client::new();

    // A signed booking to the nested webhook route: 200 means stored.
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/callbook-models/tests/fixtures/calendly/doc_invitee_created.json"
    ))
    .expect("fixture");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let response = client
        .post(format!("{base}/callbook/webhooks/calendly/cal"))
        .header(
            callbook_signature::calendly::HEADER,
            callbook_signature::calendly::sign(KEY.as_bytes(), now, &body),
        )
        .body(body.clone())
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.expect("json");
    let id = answer["id"].as_str().expect("id").to_owned();

    // Forged: 401 under the prefix too.
    let forged = client
        .post(format!("{base}/callbook/webhooks/calendly/cal"))
        .header(
            callbook_signature::calendly::HEADER,
            format!("t={now},v1={}", "0".repeat(64)),
        )
        .body(body.clone())
        .send()
        .await
        .expect("send");
    assert_eq!(forged.status(), 401);

    // Both destinations get it: the handler typed, the HTTP destination signed.
    let within = Duration::from_secs(10);
    let handled = tokio::time::timeout(within, seen.recv())
        .await
        .expect("the handler is called")
        .expect("event");
    assert!(handled.starts_with(&id), "{handled}");
    let (delivered_id, event) = tokio::time::timeout(within, delivered.recv())
        .await
        .expect("the destination is called")
        .expect("delivery");
    assert_eq!(
        (delivered_id.as_str(), event.as_str()),
        (id.as_str(), "invitee.created")
    );

    // The host's route, the admin API and the health routes sit beside the webhooks.
    let root = client.get(&base).send().await.expect("root");
    assert_eq!(root.text().await.expect("text"), "the host application");
    let event: Value = client
        .get(format!("{base}/ops/admin/events/{id}"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("admin")
        .json()
        .await
        .expect("json");
    assert_eq!(event["source"], "cal");
    let unauthorised = client
        .get(format!("{base}/ops/admin/events/{id}"))
        .send()
        .await
        .expect("admin");
    assert_eq!(unauthorised.status(), 401);
    let metrics = client
        .get(format!("{base}/ops/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("myapp_audited_total 1"), "{metrics}");
    assert!(
        gateway
            .metrics()
            .contains("callbook_webhooks_received_total")
    );
    assert!(
        client
            .get(format!("{base}/callbook/admin/events"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("send")
            .status()
            == 404,
        "the webhook router carries no admin route"
    );

    // Shutdown stops delivery and closes the store; the event is on disk.
    let store = gateway.store();
    gateway.shutdown().await;
    assert!(store.ping().await.is_err(), "the store is closed");
    let reopened = callbook_store::open(
        &format!("sqlite://{}", db.display()),
        callbook_store::Durability::Process,
    )
    .await
    .expect("reopen");
    let stored = reopened
        .get_event(id.parse().expect("event id"))
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.body, body);
    reopened.close().await;
}
