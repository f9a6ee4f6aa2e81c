//! A destination behind the environment's HTTP proxy: deliveries go through the proxy, as
//! curl and reqwest would send them (`HTTP_PROXY`, absolute-form request line).

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};
use support::{callbook, free_listen, wait_listening};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn a_destination_behind_the_environment_proxy_is_delivered_through_it() {
    // The proxy: it receives the delivery for a host that does not even resolve.
    let proxy = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&proxy)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let listen = free_listen();
    let run = |args: &[&str]| {
        let out = callbook(dir.path(), &listen).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["init"]);
    let config = dir.path().join("callbook.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(
        "\n[[destinations]]\nname = \"crm\"\nurl = \"http://crm.invalid/hook\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n",
    );
    std::fs::write(&config, text).unwrap();

    // Only the server sees the proxy settings (the CLI's test webhook goes straight to it).
    let mut server = callbook(dir.path(), &listen)
        .env("HTTP_PROXY", proxy.uri())
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_listening(&listen);
    run(&["send-test", "--source", "calendly"]);

    let deadline = Instant::now() + Duration::from_secs(20);
    let received = loop {
        let received = proxy.received_requests().await.unwrap();
        if !received.is_empty() || Instant::now() > deadline {
            break received;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(received.len(), 1, "one delivery through the proxy");
    let request = &received[0];
    assert_eq!(request.url.host_str(), Some("crm.invalid"));
    assert!(request.headers.contains_key("webhook-signature"));
    assert_eq!(
        request
            .headers
            .get("callbook-source")
            .and_then(|v| v.to_str().ok()),
        Some("calendly")
    );
}
