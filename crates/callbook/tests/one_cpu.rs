//! On one CPU the binary runs its single-threaded runtime: ingestion, delivery and a graceful
//! stop must work there exactly as on several. The server is started under `taskset -c 0`.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{body, free_listen, send_signed, wait_ready};

const KEY: &str = "one-cpu-signing-key";

/// Kills the server if the test fails before stopping it.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_one_cpu_events_are_stored_delivered_and_the_server_stops_cleanly() {
    let dir = tempfile::tempdir().expect("tmp");
    let listen = free_listen();
    let sink = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(204))
        .mount(&sink)
        .await;
    let config = dir.path().join("callbook.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"{listen}\"\n[database]\nurl = \"sqlite://{}\"\n\
             [[sources]]\nname = \"cal\"\nprovider = \"calendly\"\nsigning_keys = [\"{KEY}\"]\n\
             [[destinations]]\nname = \"sink\"\nurl = \"{}/hook\"\n\
             secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n",
            dir.path().join("one.db").display(),
            sink.uri()
        ),
    )
    .expect("config");
    let log = dir.path().join("serve.log");
    let mut server = Server(
        Command::new("taskset")
            .args(["-c", "0", env!("CARGO_BIN_EXE_callbook")])
            .args(["serve", "--log-format", "json", "--config"])
            .arg(&config)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("taskset (util-linux) runs callbook"),
    );
    let base = format!("http://{listen}");
    let client = reqwest::Client::new();
    wait_ready(&client, &base, 20).await;

    let sends: Vec<_> = (0..64)
        .map(|n| {
            let (client, base) = (client.clone(), base.clone());
            tokio::spawn(async move {
                let sent = send_signed(&client, &base, KEY, body(n)).await;
                sent.expect("send").status()
            })
        })
        .collect();
    for send in sends {
        assert_eq!(send.await.expect("task"), 200);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let delivered = sink.received_requests().await.map_or(0, |r| r.len());
        if delivered >= 64 {
            assert_eq!(delivered, 64, "each event delivered once");
            break;
        }
        assert!(Instant::now() < deadline, "{delivered} of 64 delivered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let term = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .expect("kill");
    assert!(term.success());
    assert!(server.0.wait().expect("wait").success(), "graceful stop");
    let log = std::fs::read_to_string(&log).expect("log");
    assert!(log.contains("single-threaded"), "{log}");
    assert!(log.contains("\"stopped\""), "{log}");
}
