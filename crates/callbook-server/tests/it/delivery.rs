//! Delivery to real HTTP destinations on loopback.

use crate::harness::*;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use callbook_server::{Config, Server};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Ok,
    FailTimes(usize),
    Gone,
    Hang,
    Redirect,
    /// Answers 200 after a short pause.
    Slow,
}

#[derive(Default)]
struct Seen {
    hits: usize,
    received: Vec<(HeaderMap, Bytes, Instant)>,
    /// Requests being answered now, and the most there ever were at once.
    in_flight: usize,
    most_in_flight: usize,
}

#[derive(Clone)]
struct Sink {
    mode: Arc<Mutex<Mode>>,
    seen: Arc<Mutex<Seen>>,
    url: String,
}

impl Sink {
    async fn start(mode: Mode) -> Self {
        let sink = Sink {
            mode: Arc::new(Mutex::new(mode)),
            seen: Arc::default(),
            url: String::new(),
        };
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(sink_handler))
            .with_state(sink.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("sink") });
        Sink { url, ..sink }
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().expect("lock") = mode;
    }

    fn hits(&self) -> usize {
        self.seen.lock().expect("lock").hits
    }

    fn delivered(&self) -> Vec<(HeaderMap, Bytes, Instant)> {
        self.seen.lock().expect("lock").received.clone()
    }

    fn most_in_flight(&self) -> usize {
        self.seen.lock().expect("lock").most_in_flight
    }
}

/// Counts a request as in flight for as long as it lives.
struct InFlight(Arc<Mutex<Seen>>);

impl InFlight {
    fn new(seen: &Arc<Mutex<Seen>>) -> Self {
        let mut s = seen.lock().expect("lock");
        s.in_flight += 1;
        s.most_in_flight = s.most_in_flight.max(s.in_flight);
        InFlight(seen.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.lock().expect("lock").in_flight -= 1;
    }
}

async fn sink_handler(
    State(sink): State<Sink>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let _in_flight = InFlight::new(&sink.seen);
    let mode = {
        let mut seen = sink.seen.lock().expect("lock");
        seen.hits += 1;
        let mut mode = sink.mode.lock().expect("lock");
        let current = *mode;
        if let Mode::FailTimes(n) = current {
            *mode = if n <= 1 {
                Mode::Ok
            } else {
                Mode::FailTimes(n - 1)
            };
            drop(mode);
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [("retry-after", "0")],
                "busy",
            )
                .into_response();
        }
        if matches!(current, Mode::Ok | Mode::Slow) {
            seen.received.push((headers, body, Instant::now()));
        }
        current
    };
    match mode {
        Mode::Ok => (StatusCode::OK, "thanks").into_response(),
        Mode::Gone => (StatusCode::GONE, "gone for good").into_response(),
        Mode::Redirect => (
            StatusCode::FOUND,
            [("location", "http://127.0.0.1:9/elsewhere")],
            "",
        )
            .into_response(),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            (StatusCode::OK, "late").into_response()
        }
        Mode::Slow => {
            tokio::time::sleep(Duration::from_millis(20)).await;
            (StatusCode::OK, "thanks").into_response()
        }
        Mode::FailTimes(_) => unreachable!(),
    }
}

fn destination(name: &str, url: &str, extra: &str) -> String {
    format!(
        "[[destinations]]\nname = \"{name}\"\nurl = \"{url}\"\nsecret = \"{SECRET}\"\n\
         events = [\"invitee.*\", \"call.ended\"]\ntimeout_secs = 0.5\n{extra}\n"
    )
}

const FAST: &str = "[delivery]\nretry_schedule_secs = [0, 0.05, 0.05, 0.05, 0.05]\njitter = 0.0\n\
                    breaker_failures = 100\npoll_interval_ms = 20\n";

/// The test configuration with the admin API on, plus `extra`.
fn admin_config(dir: &tempfile::TempDir, extra: &str) -> Config {
    config(dir, &format!("[admin]\ntoken = \"{ADMIN_TOKEN}\"\n{extra}"))
}

struct Running {
    base: String,
    client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    async fn start(dir: &tempfile::TempDir, extra: &str) -> Self {
        let server = Server::from_config(admin_config(dir, extra))
            .await
            .expect("server");
        Self::serve(server).await
    }

    /// Serves a server built by the test (with handlers, say).
    async fn serve(server: Server) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            server
                .serve(listener, async {
                    let _ = rx.await;
                })
                .await
                .expect("serve");
        });
        Self {
            base,
            client: reqwest::Client::new(),
            stop: Some(tx),
            task: Some(task),
        }
    }

    async fn send(&self, invitee: &str) -> String {
        let mut body: Value = serde_json::from_slice(SEED).expect("json");
        body["payload"]["uri"] =
            format!("https://api.calendly.com/scheduled_events/E/invitees/{invitee}").into();
        let body = serde_json::to_vec(&body).expect("body");
        let header = callbook_signature::calendly::sign(CALENDLY_KEY.as_bytes(), now(), &body);
        let r = self
            .client
            .post(format!("{}/webhooks/calendly/cal", self.base))
            .header("Calendly-Webhook-Signature", header)
            .body(body)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.expect("json")["id"]
            .as_str()
            .expect("id")
            .to_owned()
    }

    async fn admin(&self, path: &str) -> Value {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("send")
            .json()
            .await
            .expect("json")
    }

    async fn admin_post(&self, path: &str, body: Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .expect("send")
    }

    /// Waits until the single delivery of `destination` satisfies `done`.
    async fn wait_delivery(&self, destination: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let list = self
                .admin(&format!("/admin/deliveries?destination={destination}"))
                .await;
            if let Some(d) = list["deliveries"].as_array().and_then(|a| a.first()) {
                let id = d["id"].as_str().expect("id");
                let detail = self.admin(&format!("/admin/deliveries/{id}")).await;
                if done(&detail) {
                    return detail;
                }
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {destination}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.expect("server task");
        }
    }
}

#[tokio::test]
async fn credentials_in_a_destination_url_are_sent_as_basic_auth_and_never_shown() {
    let sink = Sink::start(Mode::Ok).await;
    let dir = tempfile::tempdir().expect("tmp");
    let url = sink.url.replacen("http://", "http://hooks:s3cr%40t@", 1);
    let s = Running::start(&dir, &format!("{FAST}{}", destination("crm", &url, ""))).await;
    s.send("BASIC1").await;
    s.wait_delivery("crm", |d| d["state"] == "succeeded").await;
    let got = sink.delivered();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].0.get("authorization").and_then(|v| v.to_str().ok()),
        Some("Basic aG9va3M6czNjckB0"), // base64("hooks:s3cr@t")
    );
    let dests = s.admin("/admin/destinations").await.to_string();
    assert!(!dests.contains("s3cr"), "{dests}");
    assert!(!dests.contains("hooks"), "{dests}");
    s.stop().await;
}

#[tokio::test]
async fn delivers_the_original_body_signed_with_standard_webhooks() {
    let sink = Sink::start(Mode::Ok).await;
    let dir = tempfile::tempdir().expect("tmp");
    let s = Running::start(
        &dir,
        &format!("{FAST}{}", destination("crm", &sink.url, "")),
    )
    .await;
    let id = s.send("SIGNED1").await;
    let detail = s.wait_delivery("crm", |d| d["state"] == "succeeded").await;
    assert_eq!(detail["event_id"], id.as_str());
    let got = sink.delivered();
    assert_eq!(got.len(), 1);
    let (headers, body, _) = &got[0];
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(h("webhook-id").as_deref(), Some(id.as_str()));
    assert_eq!(h("callbook-source").as_deref(), Some("cal"));
    assert_eq!(h("callbook-provider").as_deref(), Some("calendly"));
    assert_eq!(h("callbook-event-type").as_deref(), Some("invitee.created"));
    assert_eq!(h("content-type").as_deref(), Some("application/json"));
    assert_eq!(h("accept").as_deref(), Some("*/*"));
    assert!(h("user-agent").is_some_and(|a| a.starts_with("callbook/")));
    assert_eq!(h("callbook-attempt").as_deref(), Some("1"));
    // The body is the original bytes, and the signature verifies with the consumer's library.
    let stored = s.admin(&format!("/admin/events/{id}")).await;
    assert_eq!(
        stored["body"].as_str().expect("body").as_bytes(),
        body.as_ref()
    );
    let verifier = callbook_signature::standard::Webhook::from_whsec([SECRET]).expect("secret");
    verifier.verify(&headers, body).expect("signature verifies");
    assert_eq!(detail["attempts"].as_array().expect("a").len(), 1);
    assert_eq!(detail["attempts"][0]["status_code"], 200);
    assert_eq!(detail["attempts"][0]["response_excerpt"], "thanks");
    s.stop().await;
}

#[tokio::test]
async fn events_beyond_the_concurrency_limit_queue_and_each_is_delivered_once() {
    // One attempt at a time to a slow destination, and a burst of 80 events: the first goes
    // straight to an attempt, the others wait in the store for the dispatcher. Both paths
    // together deliver every event exactly once, and never two at a time.
    let sink = Sink::start(Mode::Slow).await;
    let dir = tempfile::tempdir().expect("tmp");
    let s = Arc::new(
        Running::start(
            &dir,
            &format!(
                "{FAST}{}",
                destination("crm", &sink.url, "max_in_flight = 1")
            ),
        )
        .await,
    );
    let sends: Vec<_> = (0..80)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move { s.send(&format!("QUEUED{i}")).await })
        })
        .collect();
    let mut ids = Vec::new();
    for send in sends {
        ids.push(send.await.expect("send"));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while sink.delivered().len() < ids.len() {
        assert!(
            Instant::now() < deadline,
            "only {} delivered",
            sink.delivered().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut delivered: Vec<String> = sink
        .delivered()
        .iter()
        .map(|(h, _, _)| h["webhook-id"].to_str().expect("id").to_owned())
        .collect();
    delivered.sort();
    ids.sort();
    assert_eq!(delivered, ids, "each event once");
    assert_eq!(sink.most_in_flight(), 1, "max_in_flight = 1 holds");
    let list = s.admin("/admin/deliveries?destination=crm&limit=200").await;
    let deliveries = list["deliveries"].as_array().expect("list");
    assert_eq!(deliveries.len(), ids.len());
    assert!(deliveries.iter().all(|d| d["state"] == "succeeded"));
    assert!(
        deliveries.iter().all(|d| d["attempts"] == 1),
        "{deliveries:?}"
    );
    match Arc::try_unwrap(s) {
        Ok(s) => s.stop().await,
        Err(_) => panic!("still shared"),
    }
}

#[tokio::test]
async fn a_failing_destination_gets_the_event_once_it_recovers() {
    let sink = Sink::start(Mode::FailTimes(2)).await;
    let dir = tempfile::tempdir().expect("tmp");
    let s = Running::start(
        &dir,
        &format!("{FAST}{}", destination("crm", &sink.url, "")),
    )
    .await;
    s.send("FLAKY1").await;
    let detail = s.wait_delivery("crm", |d| d["state"] == "succeeded").await;
    let statuses: Vec<Value> = detail["attempts"]
        .as_array()
        .expect("a")
        .iter()
        .map(|a| a["status_code"].clone())
        .collect();
    assert_eq!(statuses, [503, 503, 200]);
    assert_eq!(
        detail["attempts"][0]["error"],
        "HTTP 503 Service Unavailable"
    );
    assert_eq!(sink.delivered().len(), 1, "delivered exactly once");
    s.stop().await;
}

#[tokio::test]
async fn a_410_disables_the_destination() {
    let sink = Sink::start(Mode::Gone).await;
    let dir = tempfile::tempdir().expect("tmp");
    let s = Running::start(
        &dir,
        &format!("{FAST}{}", destination("crm", &sink.url, "")),
    )
    .await;
    s.send("GONE1").await;
    let detail = s.wait_delivery("crm", |d| d["state"] == "dead").await;
    assert_eq!(detail["attempts"][0]["status_code"], 410);
    let dests = s.admin("/admin/destinations").await;
    assert_eq!(dests["destinations"][0]["disabled"], true);
    // No more attempts while disabled.
    s.send("GONE2").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.hits(), 1);
    let metrics = s
        .client
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .expect("m")
        .text()
        .await
        .expect("t");
    assert!(
        metrics.contains(r#"callbook_destination_disabled{destination="crm"} 1"#),
        "{metrics}"
    );
    // Re-enabled, the waiting delivery goes out.
    sink.set(Mode::Ok);
    assert_eq!(
        s.admin_post("/admin/destinations/crm/enable", Value::Null)
            .await
            .status(),
        200
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while sink.delivered().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sink.delivered().len(), 1);
    s.stop().await;
}

#[tokio::test]
async fn a_hanging_destination_times_out_and_is_retried() {
    let sink = Sink::start(Mode::Hang).await;
    let dir = tempfile::tempdir().expect("tmp");
    let s = Running::start(
        &dir,
        &format!("{FAST}{}", destination("crm", &sink.url, "")),
    )
    .await;
    s.send("HANG1").await;
    let detail = s
        .wait_delivery("crm", |d| {
            d["attempts"].as_array().is_some_and(|a| a.len() >= 2)
        })
        .await;
    let first = &detail["attempts"][0];
    assert_eq!(first["status_code"], Value::Null);
    assert_eq!(first["error"], "timed out after 500 ms");
    assert!(first["latency_ms"].as_u64().expect("ms") >= 450);
    s.stop().await;
}

#[tokio::test]
async fn redirects_are_failures_and_not_followed() {
    let sink = Sink::start(Mode::Redirect).await;
    let dir = tempfile::tempdir().expect("tmp");
    let s = Running::start(
        &dir,
        &format!("{FAST}{}", destination("crm", &sink.url, "")),
    )
    .await;
    s.send("REDIR1").await;
    let detail = s.wait_delivery("crm", |d| d["state"] == "dead").await;
    assert_eq!(
        detail["attempts"].as_array().expect("a").len(),
        5,
        "every attempt of the schedule"
    );
    assert_eq!(detail["attempts"][0]["status_code"], 302);
    assert!(
        detail["attempts"][0]["error"]
            .as_str()
            .expect("e")
            .contains("not followed")
    );
    s.stop().await;
}

#[tokio::test]
async fn a_dead_destination_does_not_slow_a_healthy_one() {
    let healthy = Sink::start(Mode::Ok).await;
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("a")
        .port();
    let dir = tempfile::tempdir().expect("tmp");
    let slow = Sink::start(Mode::Hang).await;
    let config = format!(
        "{FAST}{}{}{}",
        destination(
            "down",
            &format!("http://127.0.0.1:{dead_port}/hook"),
            "max_in_flight = 1"
        ),
        destination("hanging", &slow.url, "max_in_flight = 1"),
        destination("healthy", &healthy.url, "")
    );
    let s = Running::start(&dir, &config).await;
    let started = Instant::now();
    for i in 0..20 {
        s.send(&format!("MIX{i}")).await;
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while healthy.delivered().len() < 20 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let got = healthy.delivered();
    assert_eq!(got.len(), 20);
    let last = got.iter().map(|(_, _, t)| *t).max().expect("times");
    assert!(
        last.duration_since(started) < Duration::from_secs(2),
        "healthy deliveries took {:?} while the others hang or refuse",
        last.duration_since(started)
    );
    s.stop().await;
}

#[tokio::test]
async fn a_restart_resumes_the_retry_schedule() {
    let sink = Sink::start(Mode::FailTimes(1)).await;
    let dir = tempfile::tempdir().expect("tmp");
    let slow_schedule =
        "[delivery]\nretry_schedule_secs = [0, 1.0]\njitter = 0.0\npoll_interval_ms = 20\n";
    let dest = destination("crm", &sink.url, "");
    let s = Running::start(&dir, &format!("{slow_schedule}{dest}")).await;
    s.send("RESTART1").await;
    s.wait_delivery("crm", |d| {
        d["attempts"].as_array().is_some_and(|a| a.len() == 1)
    })
    .await;
    s.stop().await;
    assert!(sink.delivered().is_empty());
    // A new process on the same database picks the schedule up where it was.
    let s = Running::start(&dir, &format!("{slow_schedule}{dest}")).await;
    let detail = s.wait_delivery("crm", |d| d["state"] == "succeeded").await;
    assert_eq!(detail["attempts"].as_array().expect("a").len(), 2);
    assert_eq!(sink.delivered().len(), 1);
    s.stop().await;
}

#[tokio::test]
async fn a_dead_delivery_replays_once_the_destination_is_back() {
    let sink = Sink::start(Mode::FailTimes(1000)).await;
    let dir = tempfile::tempdir().expect("tmp");
    let once = "[delivery]\nretry_schedule_secs = [0]\njitter = 0.0\npoll_interval_ms = 20\n";
    let s = Running::start(
        &dir,
        &format!("{once}{}", destination("crm", &sink.url, "")),
    )
    .await;
    s.send("REPLAY1").await;
    let detail = s.wait_delivery("crm", |d| d["state"] == "dead").await;
    sink.set(Mode::Ok);
    // The detail names `attempts` once: the list (the OpenAPI document says so).
    let id = detail["id"].as_str().expect("id");
    let raw = s
        .client
        .get(format!("{}/admin/deliveries/{id}", s.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("text");
    assert_eq!(raw.matches("\"attempts\"").count(), 1, "{raw}");
    assert!(detail["attempts"].is_array());
    // A malformed body gets the JSON error shape, not the framework's text.
    let r = s
        .client
        .post(format!("{}/admin/destinations/crm/replay", s.base))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("\u{0}")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.expect("json")["error"],
        "invalid_body"
    );
    // Only the two documented shapes are taken: mixed or null fields are refused, so what the
    // OpenAPI document forbids is never half-understood.
    for refused in [
        serde_json::json!({"dead": true, "since": null}),
        serde_json::json!({"dead": false, "since": "2026-01-01T00:00:00Z"}),
        serde_json::json!({"dead": false}),
        serde_json::json!({"since": null}),
        serde_json::json!({"since": "2026-01-01T00:00:00Z", "up_to": "2026-01-02T00:00:00Z"}),
    ] {
        let r = s
            .admin_post("/admin/destinations/crm/replay", refused.clone())
            .await;
        assert_eq!(r.status(), 400, "{refused}");
        assert_eq!(
            r.json::<Value>().await.expect("json")["error"],
            "invalid_replay",
            "{refused}"
        );
    }
    let r = s
        .admin_post(
            "/admin/destinations/crm/replay",
            serde_json::json!({"dead": true}),
        )
        .await;
    assert_eq!(r.status(), 202);
    assert_eq!(r.json::<Value>().await.expect("json")["scheduled"], 1);
    s.wait_delivery("crm", |d| d["state"] == "succeeded").await;
    assert_eq!(sink.delivered().len(), 1);
    // A single delivery can be retried too.
    let id = detail["id"].as_str().expect("id");
    assert_eq!(
        s.admin_post(&format!("/admin/deliveries/{id}/retry"), Value::Null)
            .await
            .status(),
        202
    );
    s.wait_delivery("crm", |d| {
        d["attempts"].as_array().is_some_and(|a| a.len() == 3)
    })
    .await;
    assert_eq!(sink.delivered().len(), 2);
    s.stop().await;
}

#[tokio::test]
async fn events_that_match_no_destination_are_not_scheduled() {
    let sink = Sink::start(Mode::Ok).await;
    let dir = tempfile::tempdir().expect("tmp");
    let dest = format!(
        "[[destinations]]\nname = \"calls\"\nurl = \"{}\"\nsecret = \"{SECRET}\"\nevents = [\"call.*\"]\n",
        sink.url
    );
    let s = Running::start(&dir, &format!("{FAST}{dest}")).await;
    s.send("NOMATCH").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let list = s.admin("/admin/deliveries").await;
    assert_eq!(list["deliveries"].as_array().expect("d").len(), 0);
    assert_eq!(sink.hits(), 0);
    s.stop().await;
}

struct Flaky {
    calls: Mutex<Vec<(String, u32)>>,
}

#[async_trait::async_trait]
impl callbook_server::EventHandler for Flaky {
    async fn handle(
        &self,
        event: &callbook_server::DeliveredEvent,
    ) -> Result<(), callbook_server::HandlerError> {
        let mut calls = self.calls.lock().expect("lock");
        calls.push((event.id.to_string(), event.attempt));
        if calls.len() == 1 {
            return Err(callbook_server::HandlerError::retry("database busy"));
        }
        assert_eq!(event.event_type.as_deref(), Some("invitee.created"));
        assert!(event.body.starts_with(b"{"));
        Ok(())
    }
}

#[tokio::test]
async fn in_process_handlers_get_the_same_retries() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = admin_config(&dir, FAST);
    let handler = Arc::new(Flaky {
        calls: Mutex::default(),
    });
    let server = Server::from_config(config)
        .await
        .expect("server")
        .add_handler(
            callbook_server::Handler::new("audit")
                .events(["invitee.*"])
                .max_in_flight(2),
            handler.clone(),
        )
        .expect("handler");
    let s = Running::serve(server).await;
    let id = s.send("HANDLER1").await;
    let detail = s
        .wait_delivery("audit", |d| d["state"] == "succeeded")
        .await;
    assert_eq!(detail["attempts"][0]["error"], "database busy");
    let calls = handler.calls.lock().expect("lock").clone();
    assert_eq!(calls, vec![(id.clone(), 0), (id, 1)]);
    s.stop().await;
}

/// Records the bodies it is handed.
struct Keeper {
    bodies: Mutex<Vec<Vec<u8>>>,
}

#[async_trait::async_trait]
impl callbook_server::EventHandler for Keeper {
    async fn handle(
        &self,
        event: &callbook_server::DeliveredEvent,
    ) -> Result<(), callbook_server::HandlerError> {
        self.bodies.lock().expect("lock").push(event.body.to_vec());
        Ok(())
    }
}

#[tokio::test]
async fn the_aircall_token_is_never_stored_shown_forwarded_or_handed_to_a_handler() {
    let sink = Sink::start(Mode::Ok).await;
    let dir = tempfile::tempdir().expect("tmp");
    let config = admin_config(
        &dir,
        &format!(
            "{FAST}{}",
            destination("crm", &sink.url, "").replace("\"call.ended\"", "\"call.*\"")
        ),
    );
    let keeper = Arc::new(Keeper {
        bodies: Mutex::default(),
    });
    let server = Server::from_config(config)
        .await
        .expect("server")
        .add_handler(
            callbook_server::Handler::new("audit")
                .events(["call.*"])
                .max_in_flight(2),
            keeper.clone(),
        )
        .expect("handler");
    let s = Running::serve(server).await;
    let post = || {
        s.client
            .post(format!("{}/webhooks/aircall/air", s.base))
            .body(AIRCALL_CALL.to_vec())
            .send()
    };
    let first: Value = post().await.expect("send").json().await.expect("json");
    let id = first["id"].as_str().expect("id").to_owned();
    // The redelivery is still found: the key is computed as before.
    let again: Value = post().await.expect("send").json().await.expect("json");
    assert_eq!(again["id"], id.as_str());
    assert_eq!(again["duplicate"], true);

    let expected = String::from_utf8(AIRCALL_CALL.to_vec())
        .expect("utf8")
        .replacen(&format!("\"{AIRCALL_TOKEN}\""), "\"\"", 1);
    assert_ne!(expected.as_bytes(), AIRCALL_CALL);

    s.wait_delivery("crm", |d| d["state"] == "succeeded").await;
    s.wait_delivery("audit", |d| d["state"] == "succeeded")
        .await;
    let forwarded = sink.delivered();
    assert_eq!(forwarded.len(), 1);
    assert_eq!(&forwarded[0].1[..], expected.as_bytes(), "forwarded body");
    assert_eq!(
        keeper.bodies.lock().expect("lock").clone(),
        vec![expected.clone().into_bytes()],
        "handler body"
    );
    let shown = s.admin(&format!("/admin/events/{id}")).await;
    assert_eq!(shown["dedupe_key"], "aircall:call.created:123:1732622896");
    assert_eq!(shown["body"], expected.as_str());
    assert!(!shown.to_string().contains(AIRCALL_TOKEN));
    s.stop().await;

    // Nor at rest: not in the database, its WAL, or the intake log.
    for entry in std::fs::read_dir(dir.path()).expect("dir") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        assert!(
            !bytes
                .windows(AIRCALL_TOKEN.len())
                .any(|w| w == AIRCALL_TOKEN.as_bytes()),
            "the token is in {}",
            path.display()
        );
    }
}

#[tokio::test]
async fn replaying_a_time_range_sends_only_what_the_destination_takes() {
    let sink = Sink::start(Mode::Ok).await;
    let dir = tempfile::tempdir().expect("tmp");
    // A Calendly-only CRM.
    let s = Running::start(
        &dir,
        &format!(
            "{FAST}{}",
            destination("crm", &sink.url, "sources = [\"cal\"]")
                .replace("\"call.ended\"", "\"call.*\"")
        ),
    )
    .await;
    let since = chrono::Utc::now() - chrono::Duration::seconds(5);
    s.send("RANGE1").await;
    let call = s
        .client
        .post(format!("{}/webhooks/aircall/air", s.base))
        .body(AIRCALL_CALL.to_vec())
        .send()
        .await
        .expect("send");
    assert_eq!(call.status(), 200);
    s.wait_delivery("crm", |d| d["state"] == "succeeded").await;
    assert_eq!(sink.delivered().len(), 1);

    let r = s
        .admin_post(
            "/admin/destinations/crm/replay",
            serde_json::json!({ "since": since }),
        )
        .await;
    assert_eq!(r.status(), 202);
    assert_eq!(r.json::<Value>().await.expect("json")["scheduled"], 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    while sink.delivered().len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let got = sink.delivered();
    assert_eq!(
        got.len(),
        2,
        "the Calendly event again, never the Aircall call"
    );
    assert!(
        got.iter()
            .all(|(h, _, _)| h.get("callbook-provider").is_some_and(|p| p == "calendly"))
    );
    s.stop().await;
}

#[tokio::test]
async fn an_event_type_that_cannot_be_a_header_is_dead_at_once_and_the_destination_stays_open() {
    let sink = Sink::start(Mode::Ok).await;
    let dir = tempfile::tempdir().expect("tmp");
    // One failure would open the breaker, if this counted as the destination's.
    let strict = FAST.replace("breaker_failures = 100", "breaker_failures = 1");
    let dest = destination("crm", &sink.url, "").replace(
        "events = [\"invitee.*\", \"call.ended\"]",
        "events = [\"*\"]",
    );
    let s = Running::start(&dir, &format!("{strict}{dest}")).await;

    // A signed delivery whose (unknown) event name holds a control character.
    let mut body: Value = serde_json::from_slice(SEED).expect("json");
    body["event"] = "invitee.\u{1}created".into();
    let body = serde_json::to_vec(&body).expect("body");
    let header = callbook_signature::calendly::sign(CALENDLY_KEY.as_bytes(), now(), &body);
    let r = s
        .client
        .post(format!("{}/webhooks/calendly/cal", s.base))
        .header("Calendly-Webhook-Signature", header)
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let dead = s.wait_delivery("crm", |d| d["state"] == "dead").await;
    assert_eq!(
        dead["attempts"].as_array().map(Vec::len),
        Some(1),
        "no retry can fix it"
    );

    // The destination is healthy: the next event goes straight through.
    s.send("AFTER1").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while sink.delivered().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(sink.delivered().len(), 1, "the breaker stayed closed");
    let dests = s.admin("/admin/destinations").await;
    assert_eq!(dests["destinations"][0]["breaker"], "closed");
    s.stop().await;
}

/// Takes Calendly invitees, refuses anything else for good, and is slow when told to.
struct Typed {
    seen: Mutex<Vec<(String, u32)>>,
    slow_first: bool,
}

#[callbook_server::async_trait]
impl callbook_server::EventHandler for Typed {
    async fn handle(
        &self,
        event: &callbook_server::DeliveredEvent,
    ) -> Result<(), callbook_server::HandlerError> {
        let attempt = event.attempt;
        if self.slow_first && attempt == 0 {
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        let Some(webhook) = event.webhook.calendly() else {
            return Err(callbook_server::HandlerError::permanent(
                "this handler takes Calendly events only",
            ));
        };
        let email = match &webhook.payload {
            callbook_models::calendly::Payload::InviteeCreated(invitee) => invitee.email.clone(),
            _ => return Err(callbook_server::HandlerError::permanent("not an invitee")),
        };
        self.seen.lock().expect("lock").push((email, attempt));
        Ok(())
    }
}

#[tokio::test]
async fn handlers_get_the_typed_event_and_can_fail_for_good_or_time_out() {
    let dir = tempfile::tempdir().expect("tmp");
    let typed = Arc::new(Typed {
        seen: Mutex::default(),
        slow_first: false,
    });
    let slow = Arc::new(Typed {
        seen: Mutex::default(),
        slow_first: true,
    });
    // One failure opens a breaker (for a tenth of a second), if it counts as the handler's.
    let strict = FAST.replace(
        "breaker_failures = 100",
        "breaker_failures = 1\nbreaker_cooldown_secs = 0.1",
    );
    let server = Server::from_config(admin_config(&dir, &strict))
        .await
        .expect("server")
        .add_handler(callbook_server::Handler::new("typed"), typed.clone())
        .expect("handler")
        .add_handler(
            callbook_server::Handler::new("slow")
                .events(["invitee.*"])
                .sources(["cal"])
                .timeout(Duration::from_millis(200)),
            slow.clone(),
        )
        .expect("handler");
    let s = Running::serve(server).await;

    // An Aircall call: not for this handler, dead at once, no retry.
    let call = s
        .client
        .post(format!("{}/webhooks/aircall/air", s.base))
        .body(AIRCALL_CALL.to_vec())
        .send()
        .await
        .expect("send");
    assert_eq!(call.status(), 200);
    let dead = s.wait_delivery("typed", |d| d["state"] == "dead").await;
    assert_eq!(dead["attempts"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        dead["attempts"][0]["error"],
        "this handler takes Calendly events only"
    );
    let dests = s.admin("/admin/destinations").await;
    let typed_state = dests["destinations"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["name"] == "typed"))
        .expect("typed")
        .clone();
    assert_eq!(
        typed_state["breaker"], "closed",
        "a permanent failure is not the handler's"
    );

    // A Calendly invitee: typed.
    s.send("TYPED1").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while typed.seen.lock().expect("lock").is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seen = typed.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].0.contains('@'), "{seen:?}");

    // The slow handler's first attempt times out after its own 200 ms, and is retried.
    let done = s.wait_delivery("slow", |d| d["state"] == "succeeded").await;
    assert_eq!(done["attempts"][0]["error"], "handler timed out");
    assert_eq!(slow.seen.lock().expect("lock").clone()[0].1, 1);
    s.stop().await;
}

/// Hands every event back once (`later`), then takes it.
struct Patient {
    calls: Mutex<Vec<Instant>>,
}

#[callbook_server::async_trait]
impl callbook_server::EventHandler for Patient {
    async fn handle(
        &self,
        _event: &callbook_server::DeliveredEvent,
    ) -> Result<(), callbook_server::HandlerError> {
        let mut calls = self.calls.lock().expect("lock");
        calls.push(Instant::now());
        if calls.len() == 1 {
            return Err(callbook_server::HandlerError::later(
                Duration::from_secs(1),
                "waiting for a budget",
            ));
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_handler_may_hand_an_event_back_for_later_without_failing() {
    let dir = tempfile::tempdir().expect("tmp");
    let patient = Arc::new(Patient {
        calls: Mutex::default(),
    });
    // One failure would open the breaker: a hand-back must not count as one.
    let strict = FAST.replace(
        "breaker_failures = 100",
        "breaker_failures = 1\nbreaker_cooldown_secs = 60",
    );
    let server = Server::from_config(admin_config(&dir, &strict))
        .await
        .expect("server")
        .add_handler(callbook_server::Handler::new("patient"), patient.clone())
        .expect("handler");
    let s = Running::serve(server).await;
    s.send("LATER1").await;
    let done = s
        .wait_delivery("patient", |d| d["state"] == "succeeded")
        .await;
    let attempts = done["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 1, "the hand-back is not an attempt: {done}");
    assert!(attempts[0]["error"].is_null());
    let calls = patient.calls.lock().expect("lock").clone();
    assert_eq!(calls.len(), 2);
    assert!(
        calls[1] - calls[0] >= Duration::from_millis(900),
        "handed over again after the second asked for"
    );
    let dests = s.admin("/admin/destinations").await;
    assert_eq!(dests["destinations"][0]["breaker"], "closed");
    s.stop().await;
}
