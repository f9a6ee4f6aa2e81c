//! Insight-card latency while contact sync drains a backlog: `cards PATH_TO_CALLBOOK
//! [BACKLOG] [CALLS] [REQUESTS_PER_MINUTE] [CALL_INTERVAL_MS]`.
//!
//! Starts an Aircall stand-in and the real binary with `aircall_contact_sync` and
//! `aircall_insight_card` sharing one Aircall budget, sends BACKLOG signed `invitee.created`
//! webhooks (each a contact to sync), then a `call.created` from a booked number at half the
//! budget's rate (every 2 s at Aircall's default 60 a minute).
//! The latency of a card is from the moment its webhook is sent to the moment the stand-in
//! receives the card, both on this process's clock.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KEY: &str = "bench-cards-signing-key";
const TOKEN: &str = "bench-cards-aircall-token";
const ADMIN: &str = "bench-cards-admin-token-0123456789abcdef";

#[derive(Default)]
struct Seen {
    cards: HashMap<i64, Instant>,
    bulk_requests: u64,
}

type Shared = Arc<Mutex<Seen>>;

async fn standin() -> (String, Shared) {
    let seen: Shared = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let next_id = Arc::new(std::sync::atomic::AtomicI64::new(1));
    let app = Router::new()
        .route(
            "/v1/contacts/search",
            get(
                |State((s, _)): State<(Shared, Arc<std::sync::atomic::AtomicI64>)>| async move {
                    s.lock().unwrap().bulk_requests += 1;
                    axum::Json(json!({"contacts": [], "meta": {"count": 0, "total": 0}}))
                },
            ),
        )
        .route(
            "/v1/contacts",
            post(
                |State((s, ids)): State<(Shared, Arc<std::sync::atomic::AtomicI64>)>,
                 axum::Json(mut body): axum::Json<Value>| async move {
                    s.lock().unwrap().bulk_requests += 1;
                    body["id"] = ids
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                        .into();
                    (StatusCode::CREATED, axum::Json(json!({ "contact": body })))
                },
            ),
        )
        .route(
            "/v1/calls/{id}/insight_cards",
            post(
                |State((s, _)): State<(Shared, Arc<std::sync::atomic::AtomicI64>)>,
                 Path(id): Path<i64>| async move {
                    s.lock()
                        .unwrap()
                        .cards
                        .entry(id)
                        .or_insert_with(Instant::now);
                    StatusCode::CREATED
                },
            ),
        )
        .with_state((seen.clone(), next_id));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

fn booking(n: u64) -> Vec<u8> {
    let start = chrono::Utc::now() + chrono::Duration::days(2);
    let iso =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    serde_json::to_vec(&json!({
        "event": "invitee.created",
        "created_at": iso(chrono::Utc::now()),
        "created_by": "https://api.calendly.com/users/U1",
        "payload": {
            "uri": format!("https://api.calendly.com/scheduled_events/E{n}/invitees/I{n}"),
            "email": format!("person{n}@example.com"),
            "name": format!("Person {n}"),
            "status": "active",
            "timezone": "America/Sao_Paulo",
            "event": format!("https://api.calendly.com/scheduled_events/E{n}"),
            "created_at": "2026-11-01T10:00:00Z",
            "updated_at": "2026-11-01T10:00:00Z",
            "text_reminder_number": format!("+1415{}", 2_000_000 + n),
            "scheduled_event": {
                "uri": format!("https://api.calendly.com/scheduled_events/E{n}"),
                "name": "Discovery call", "status": "active",
                "start_time": iso(start), "end_time": iso(start + chrono::Duration::minutes(30)),
                "event_type": "https://api.calendly.com/event_types/ET1",
                "created_at": "2026-11-01T10:00:00Z", "updated_at": "2026-11-01T10:00:00Z"
            }
        }
    }))
    .unwrap()
}

fn call(id: i64, n: u64) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"resource": "call", "event": "call.created", "timestamp": now, "token": TOKEN,
        "data": {"id": id, "direction": "inbound", "status": "initial", "started_at": now,
                 "raw_digits": format!("+1 415 {}", 2_000_000 + n),
                 "number": {"id": 77, "name": "Sales line"}}})
}

async fn recipes(client: &reqwest::Client, base: &str) -> Value {
    client
        .get(format!("{base}/admin/recipes"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("admin")
        .json()
        .await
        .expect("json")
}

fn pending(v: &Value, name: &str) -> u64 {
    v["recipes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["name"] == name)
        .map(|r| r["pending"].as_u64().unwrap_or(0) + r["failed"].as_u64().unwrap_or(0))
        .sum()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let bin = args
        .next()
        .unwrap_or_else(|| "target/release/callbook".into());
    let backlog: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let calls: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let rpm: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(60);
    // Calls arrive at half the budget: Aircall could not take more cards than its budget.
    let interval_ms: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(120_000 / rpm.max(1));
    let (aircall, seen) = standin().await;
    let dir = tempfile::tempdir().unwrap();
    let listen = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    std::fs::write(
        dir.path().join("callbook.toml"),
        format!(
            "[server]\nlisten = \"{listen}\"\n[database]\nurl = \"sqlite://{}\"\n\
             [admin]\ntoken = \"{ADMIN}\"\n\
             [[sources]]\nname = \"cal\"\nprovider = \"calendly\"\nsigning_keys = [\"{KEY}\"]\n\
             [[sources]]\nname = \"air\"\nprovider = \"aircall\"\ntokens = [\"{TOKEN}\"]\n\
             [aircall_api]\napi_id = \"id\"\napi_token = \"t\"\nurl = \"{aircall}\"\n\
             requests_per_minute = {rpm}\n\
             [[recipes]]\nname = \"contacts\"\nkind = \"aircall_contact_sync\"\n\
             [[recipes]]\nname = \"cards\"\nkind = \"aircall_insight_card\"\n",
            dir.path().join("callbook.db").display()
        ),
    )
    .unwrap();
    let mut child = tokio::process::Command::new(&bin)
        .args(["serve", "--config"])
        .arg(dir.path().join("callbook.toml"))
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("start callbook");
    let base = format!("http://{listen}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get(format!("{base}/readyz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "callbook did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The backlog: every booking is a contact to sync, at `rpm` requests a minute.
    let started = Instant::now();
    let sends = futures_util::stream::iter(0..backlog).map(|n| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let body = booking(n);
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let header = callbook_signature::calendly::sign(KEY.as_bytes(), t as i64, &body);
            let r = client
                .post(format!("{base}/webhooks/calendly/cal"))
                .header("Calendly-Webhook-Signature", header)
                .body(body)
                .send()
                .await
                .expect("send");
            assert!(r.status().is_success(), "{}", r.status());
        }
    });
    use futures_util::StreamExt;
    sends.buffer_unordered(16).collect::<Vec<()>>().await;
    println!(
        "backlog: {backlog} bookings sent in {:.1?}",
        started.elapsed()
    );
    // The directory handler reads them without calling Aircall; wait until it has.
    loop {
        let v = recipes(&client, &base).await;
        if v["directory"]["meetings"].as_u64().unwrap_or(0) >= backlog {
            println!(
                "directory: {} meetings after {:.1?}; contact sync pending: {}",
                v["directory"]["meetings"],
                started.elapsed(),
                pending(&v, "contacts")
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let mut sent = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(interval_ms));
    for k in 0..calls {
        tick.tick().await;
        let id = 1_000_000 + k as i64;
        let n = (k * 7919) % backlog;
        sent.insert(id, Instant::now());
        let r = client
            .post(format!("{base}/webhooks/aircall/air"))
            .json(&call(id, n))
            .send()
            .await
            .expect("send call");
        assert!(r.status().is_success());
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.lock().unwrap().cards.len() < calls as usize && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let v = recipes(&client, &base).await;
    let mut h = Histogram::<u64>::new(3).unwrap();
    let mut missing = 0;
    {
        let seen = seen.lock().unwrap();
        for (id, at) in &sent {
            match seen.cards.get(id) {
                Some(got) => h
                    .record(got.duration_since(*at).as_micros() as u64)
                    .unwrap(),
                None => missing += 1,
            }
        }
        println!(
            "cards: {} of {calls} posted, {missing} missing; bulk Aircall requests meanwhile: {}",
            h.len(),
            seen.bulk_requests
        );
    }
    println!(
        "card latency (webhook sent -> card received) ms: p50={:.1} p90={:.1} p99={:.1} max={:.1}",
        h.value_at_quantile(0.5) as f64 / 1000.0,
        h.value_at_quantile(0.9) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0,
        h.max() as f64 / 1000.0
    );
    println!(
        "contact sync still pending at the end: {} (the backlog)",
        pending(&v, "contacts")
    );
    // Why contact-sync attempts failed, over all its deliveries.
    let mut errors: HashMap<String, u32> = HashMap::new();
    let mut cursor = String::new();
    loop {
        let page: Value = client
            .get(format!(
                "{base}/admin/deliveries?destination=contacts&limit=1000{cursor}"
            ))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("admin")
            .json()
            .await
            .expect("json");
        for d in page["deliveries"].as_array().into_iter().flatten() {
            if let Some(e) = d["last_error"].as_str() {
                *errors.entry(e.to_owned()).or_default() += 1;
                if std::env::var_os("BENCH_DEBUG").is_some() {
                    let detail: Value = client
                        .get(format!(
                            "{base}/admin/deliveries/{}",
                            d["id"].as_str().unwrap_or("")
                        ))
                        .bearer_auth(ADMIN)
                        .send()
                        .await
                        .expect("admin")
                        .json()
                        .await
                        .expect("json");
                    eprintln!("{detail}");
                }
            }
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    println!("contact sync attempts that failed, by error: {errors:?}");
    let _ = child.kill().await;
}
