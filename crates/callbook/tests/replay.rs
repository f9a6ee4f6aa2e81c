//! `callbook replay --wait` against a running server: the replay is scheduled, followed to the
//! end, and every replayed delivery reaches the destination again.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};
use support::{callbook, free_listen, wait_listening};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn wait_for(server: &MockServer, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.received_requests().await.unwrap().len() < n {
        assert!(
            Instant::now() < deadline,
            "the sink did not receive {n} deliveries"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn replay_waits_for_every_replayed_delivery() {
    let sink = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&sink)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let listen = free_listen();
    assert!(
        callbook(dir.path(), &listen)
            .arg("init")
            .status()
            .unwrap()
            .success()
    );
    let config = dir.path().join("callbook.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[[destinations]]\nname = \"sink\"\nurl = \"{}/hook\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n",
        sink.uri()
    ));
    std::fs::write(&config, text).unwrap();

    let mut server = callbook(dir.path(), &listen)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_listening(&listen);
    for _ in 0..3 {
        let out = callbook(dir.path(), &listen)
            .args(["send-test", "--source", "calendly"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    wait_for(&sink, 3).await;

    let out = callbook(dir.path(), &listen)
        .args([
            "replay",
            "--destination",
            "sink",
            "--since",
            "2000-01-01T00:00:00Z",
            "--wait",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("scheduled 3 deliveries to sink"),
        "{stdout}"
    );
    assert!(
        stderr.contains("3 of 3 replayed deliveries attempted"),
        "{stderr}"
    );
    // Attempted means sent: the sink has all six by the time the command returns or soon after.
    wait_for(&sink, 6).await;

    // `events list --search` finds the test bookings by their invitee's address.
    let found = |search: &str| {
        let out = callbook(dir.path(), &listen)
            .args(["events", "list", "--json", "--search", search])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let page: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        page["events"].as_array().unwrap().len()
    };
    assert_eq!(found("Test@Example.com"), 3);
    assert_eq!(found("nobody@example.com"), 0);
    let _ = server.kill();
    let _ = server.wait();
}
