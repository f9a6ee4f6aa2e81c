//! What the binary's end-to-end tests share: a free address, the binary, waiting for it.
// Each test file uses the parts it needs.
#![allow(dead_code)]

use std::process::Command;
use std::time::{Duration, Instant};

/// A loopback address with a port nobody listens on.
pub(crate) fn free_listen() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    format!("127.0.0.1:{port}")
}

/// The binary, run in `dir`, its server listening on `listen`.
pub(crate) fn callbook(dir: &std::path::Path, listen: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_callbook"));
    cmd.current_dir(dir).env("CALLBOOK_SERVER_LISTEN", listen);
    cmd
}

/// Waits (up to 20 s) until something accepts connections on `listen`.
pub(crate) fn wait_listening(listen: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(listen).is_err() {
        assert!(
            Instant::now() < deadline,
            "server did not start on {listen}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits (up to `secs`) until `base` answers `/readyz` with 2xx.
pub(crate) async fn wait_ready(client: &reqwest::Client, base: &str, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{base} did not become ready");
}

/// A small valid `invitee.created` whose invitee (and so de-duplication key) is `n`.
pub(crate) fn body(n: usize) -> Vec<u8> {
    format!(
        r#"{{"event":"invitee.created","created_at":"2026-01-01T00:00:00.000000Z","created_by":"https://api.calendly.com/users/U","payload":{{"uri":"https://api.calendly.com/scheduled_events/E/invitees/I{n}","email":"x@example.com","name":"X","status":"active","event":"https://api.calendly.com/scheduled_events/E","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}}}}"#
    )
    .into_bytes()
}

/// Posts `body` to the Calendly source `cal` at `base`, signed now with `key`.
pub(crate) async fn send_signed(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    body: Vec<u8>,
) -> reqwest::Result<reqwest::Response> {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let header = callbook_signature::calendly::sign(key.as_bytes(), t as i64, &body);
    client
        .post(format!("{base}/webhooks/calendly/cal"))
        .header("Calendly-Webhook-Signature", header)
        .body(body)
        .send()
        .await
}
