//! A destination for delivery benchmarks: answers 200 and measures, for each delivered event,
//! the time since the load generator sent it (the send time rides in the invitee URI).
//!
//! `sink ADDR SECONDS`: listens, then after SECONDS prints a JSON summary and exits.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use hdrhistogram::Histogram;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Clone)]
struct Stats(Arc<Mutex<(Histogram<u64>, u64)>>);

fn sent_micros(body: &[u8]) -> Option<u128> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("/invitees/T")? + "/invitees/T".len();
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

async fn receive(State(stats): State<Stats>, body: Bytes) -> &'static str {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_micros();
    let mut s = stats.0.lock().expect("lock");
    s.1 += 1;
    if let Some(sent) = sent_micros(&body) {
        let _ = s.0.record(now.saturating_sub(sent).max(1) as u64);
    }
    "ok"
}

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18092".into());
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(15);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    runtime.block_on(async move {
        let stats = Stats(Arc::new(Mutex::new((
            Histogram::new_with_bounds(1, 600_000_000, 3).expect("hist"),
            0,
        ))));
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(stats.clone());
        let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        server.abort();
        let s = stats.0.lock().expect("lock");
        let ms = |q: f64| s.0.value_at_quantile(q) as f64 / 1000.0;
        println!(
            "{}",
            serde_json::json!({
                "received": s.1, "p50_ms": ms(0.5), "p90_ms": ms(0.9), "p99_ms": ms(0.99),
                "max_ms": s.0.max() as f64 / 1000.0,
            })
        );
    });
}
