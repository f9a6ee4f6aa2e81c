//! The edge against clients that hold connections: slow headers, idle keep-alive, floods of
//! sockets, and more webhooks at once than the server takes.

use crate::harness::{SEED, TestServer};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Waits for the server to close `stream`; the time it took, or `None` if it stayed open.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + limit).into(), stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            // Whatever the server says before closing (a 408, say) is fine.
            Ok(Ok(_)) => continue,
        }
    }
}

const HALF_A_REQUEST: &[u8] = b"POST /webhooks/calendly/cal HTTP/1.1\r\nHost: callbook\r\n";

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let server = TestServer::start_with_server("header_read_timeout_secs = 1", "").await;
    let mut slow = TcpStream::connect(server.addr).await.expect("connect");
    slow.write_all(HALF_A_REQUEST).await.expect("write");

    // A signed webhook is served meanwhile.
    assert_eq!(server.send_signed(SEED).await.status(), 200);

    let took = closed_within(&mut slow, Duration::from_secs(6)).await;
    assert!(
        took.is_some_and(|t| t < Duration::from_secs(4)),
        "a connection stuck in its headers must be closed after header_read_timeout_secs: {took:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let server =
        TestServer::start_with_server("header_read_timeout_secs = 30\nidle_timeout_secs = 1", "")
            .await;
    let mut conn = TcpStream::connect(server.addr).await.expect("connect");
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: callbook\r\n\r\n")
        .await
        .expect("write");
    let mut buf = [0u8; 1024];
    let n = conn.read(&mut buf).await.expect("read");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{:?}", &buf[..n]);

    let took = closed_within(&mut conn, Duration::from_secs(8)).await;
    assert!(
        took.is_some_and(|t| t < Duration::from_secs(4)),
        "an idle keep-alive connection must be closed after idle_timeout_secs: {took:?}"
    );
    server.stop().await;
}

/// The soft limit of open files, raised to the hard one: the test holds 5,000 sockets and the
/// server as many (in this one process).
fn raise_file_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    limit.current = limit.maximum;
    let _ = setrlimit(Resource::Nofile, limit);
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_silent_sockets_neither_exhaust_the_server_nor_block_a_webhook() {
    const SOCKETS: usize = 5_000;
    let files = raise_file_limit();
    assert!(
        files >= 2 * SOCKETS as u64 + 512,
        "the test needs {} open files, the limit is {files}",
        2 * SOCKETS + 512
    );
    let server =
        TestServer::start_with_server("header_read_timeout_secs = 2\nmax_connections = 1000", "")
            .await;

    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(256));
    for _ in 0..SOCKETS {
        let addr = server.addr;
        let gate = gate.clone();
        tasks.spawn(async move {
            let permit = gate.acquire_owned().await.expect("gate");
            let mut s = TcpStream::connect(addr).await.ok()?;
            drop(permit);
            // Refused sockets may be closed before this write lands.
            let _ = s.write_all(HALF_A_REQUEST).await;
            Some(s)
        });
    }
    let mut held = Vec::with_capacity(SOCKETS);
    while let Some(s) = tasks.join_next().await {
        if let Some(s) = s.expect("task") {
            held.push(s);
        }
    }
    assert!(held.len() > SOCKETS / 2, "only {} connected", held.len());

    // While they are all still open on this side, a signed webhook gets its 200 (a sender
    // retries a refused connection, as Calendly and Aircall do).
    let mut status = None;
    while started.elapsed() < Duration::from_secs(20) {
        if let Ok(r) = server
            .client
            .post(format!("{}/webhooks/calendly/cal", server.base))
            .header(
                "Calendly-Webhook-Signature",
                callbook_signature::calendly::sign(
                    crate::harness::CALENDLY_KEY.as_bytes(),
                    crate::harness::now(),
                    SEED,
                ),
            )
            .body(SEED.to_vec())
            .timeout(Duration::from_secs(5))
            .send()
            .await
        {
            status = Some(r.status().as_u16());
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, Some(200), "a signed webhook must still be served");

    // Every one of them is closed by the server: refused at once, or after the header timeout.
    let mut still_open = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    for s in &mut held {
        let left = deadline.saturating_duration_since(Instant::now());
        if closed_within(s, left).await.is_none() {
            still_open += 1;
        }
    }
    assert_eq!(still_open, 0, "sockets the server kept open");

    let metrics = server.metrics().await;
    let refused = metrics
        .lines()
        .find_map(|l| l.strip_prefix("callbook_http_connections_refused "))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .expect("refused connections gauge");
    assert!(refused > 0, "connections over the limit are counted");
    server.stop().await;
}

#[tokio::test]
async fn webhooks_beyond_the_in_flight_limit_get_503_with_retry_after_and_are_not_stored() {
    let admin = format!("[admin]\ntoken = \"{}\"", crate::harness::ADMIN_TOKEN);
    let server = TestServer::start_with_server("max_webhooks_in_flight = 1", &admin).await;
    // One webhook in flight: its headers are in, its body never comes.
    let mut pending = TcpStream::connect(server.addr).await.expect("connect");
    pending
        .write_all(
            b"POST /webhooks/calendly/cal HTTP/1.1\r\nHost: callbook\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
        )
        .await
        .expect("write");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let shed = server.send_signed(SEED).await;
    assert_eq!(shed.status(), 503);
    assert_eq!(
        shed.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let body: serde_json::Value = shed.json().await.expect("json");
    assert_eq!(body["error"], "overloaded");
    assert!(
        server.events().await.is_empty(),
        "a shed webhook is not stored"
    );

    drop(pending);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.send_signed(SEED).await.status(), 200);
    assert_eq!(server.events().await.len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn metrics_and_readiness_move_to_their_own_listener() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let server =
        TestServer::start_with_server(&format!("metrics_listen = \"127.0.0.1:{port}\""), "").await;
    for path in ["/metrics", "/readyz"] {
        let public = server
            .client
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .expect("get");
        assert_eq!(public.status(), 404, "{path} on the webhook listener");
        let private = server
            .client
            .get(format!("http://127.0.0.1:{port}{path}"))
            .send()
            .await
            .expect("get");
        assert_eq!(private.status(), 200, "{path} on the metrics listener");
    }
    assert_eq!(server.send_signed(SEED).await.status(), 200);
    server.stop().await;
}
