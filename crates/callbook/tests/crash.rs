//! Crash safety: every event answered 2xx is on disk, with its delivery, even when the process
//! is killed with SIGKILL in the middle of a stream of concurrent webhooks and deliveries.

mod support;

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::{body, wait_ready};

const KEY: &str = "crash-test-signing-key";

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn start(config: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_callbook"))
        .args(["serve", "--log-format", "json", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start callbook")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_event_survives_kill_9() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("crash.db");
    let port = free_port();
    let config = dir.path().join("callbook.toml");
    // Every event is also delivered, so the writes in flight at the kill include deliveries
    // and their finished attempts.
    let sink = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(204))
        .mount(&sink)
        .await;
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\n[database]\nurl = \"sqlite://{}\"\n\
             [[sources]]\nname = \"cal\"\nprovider = \"calendly\"\nsigning_keys = [\"{KEY}\"]\n\
             [[destinations]]\nname = \"sink\"\nurl = \"{}/hook\"\n\
             secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n",
            db.display(),
            sink.uri()
        ),
    )
    .expect("config");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let mut child = start(&config);
    wait_ready(&client, &base, 20).await;

    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut senders = Vec::new();
    for worker in 0..16 {
        let (client, base, acked) = (client.clone(), base.clone(), acked.clone());
        senders.push(tokio::spawn(async move {
            for i in 0.. {
                let body = body(worker * 1_000_000 + i);
                let t = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .expect("clock")
                    .as_secs();
                let header = callbook_signature::calendly::sign(KEY.as_bytes(), t as i64, &body);
                let sent = client
                    .post(format!("{base}/webhooks/calendly/cal"))
                    .header("Calendly-Webhook-Signature", header)
                    .body(body)
                    .send()
                    .await;
                let Ok(response) = sent else { break };
                if !response.status().is_success() {
                    break;
                }
                let Ok(json) = response.json::<serde_json::Value>().await else {
                    break;
                };
                if let Some(id) = json["id"].as_str() {
                    acked.lock().expect("lock").push(id.to_owned());
                }
            }
        }));
    }
    // Let a few hundred deliveries through, then kill the process mid-stream.
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked.lock().expect("lock").len() < 400 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    for s in senders {
        let _ = s.await;
    }
    let acked: HashSet<String> = acked.lock().expect("lock").iter().cloned().collect();
    assert!(
        acked.len() >= 400,
        "only {} deliveries acknowledged before the kill",
        acked.len()
    );

    // The writes went through the intake log (emptied only on a clean stop or past 8 MiB), so
    // what it held at the kill is applied when the store opens.
    let log = std::fs::metadata(dir.path().join("crash.db-intake")).map_or(0, |m| m.len());
    assert!(log > 0, "the intake log was used");

    // Open the database the killed process left behind and look for every acknowledged ID.
    let store = callbook_store::open(
        &format!("sqlite://{}", db.display()),
        callbook_store::Durability::Process,
    )
    .await
    .expect("reopen");
    let mut missing = Vec::new();
    for id in &acked {
        let id: callbook_store::EventId = id.parse().expect("id");
        if store.get_event(id).await.expect("get").is_none() {
            missing.push(id);
            continue;
        }
        let query = callbook_store::DeliveryQuery {
            event_id: Some(id),
            ..Default::default()
        };
        let deliveries = store.list_deliveries(&query).await.expect("deliveries");
        assert_eq!(deliveries.deliveries.len(), 1, "event {id}: one delivery");
        let d = &deliveries.deliveries[0];
        let (_, attempts) = store
            .get_delivery(d.id)
            .await
            .expect("get")
            .expect("delivery");
        assert_eq!(attempts.len(), d.attempts as usize, "{d:?}");
        if d.state == callbook_store::DeliveryState::Succeeded {
            assert_eq!(d.attempts, 1, "{d:?}");
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged events lost: {missing:?}",
        missing.len(),
        acked.len()
    );
    store.close().await;

    // And the server starts again on the same file.
    let mut child = start(&config);
    wait_ready(&client, &base, 20).await;
    child.kill().expect("kill");
    let _ = child.wait();
    eprintln!(
        "kill -9 test: {} acknowledged events, all stored",
        acked.len()
    );
}
