//! Several `callbook serve` processes on one PostgreSQL database, as behind a load balancer:
//! global de-duplication, each event delivered once, an instance killed mid-run, and the
//! database restarted mid-run. Real processes, real PostgreSQL, real HTTP on loopback.

mod support;

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{body, send_signed, wait_ready};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY: &str = "cluster-test-signing-key";

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A configuration every instance shares (the listen address comes from the environment).
fn config(dir: &std::path::Path, db: &str, sink: &str) -> std::path::PathBuf {
    let path = dir.join("callbook.toml");
    std::fs::write(
        &path,
        format!(
            "[database]\nurl = \"{db}\"\nmax_connections = 8\nacquire_timeout_ms = 300\n\
             [delivery]\nlease_margin_secs = 1\npoll_interval_ms = 100\n\
             [[sources]]\nname = \"cal\"\nprovider = \"calendly\"\nsigning_keys = [\"{KEY}\"]\n\
             [[destinations]]\nname = \"sink\"\nurl = \"{sink}/hook\"\n\
             secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\ntimeout_secs = 2\n"
        ),
    )
    .expect("config");
    path
}

struct Instance {
    child: Child,
    base: String,
}

fn start(config: &std::path::Path) -> Instance {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_callbook"))
        .args(["serve", "--log-format", "json", "--config"])
        .arg(config)
        .env("CALLBOOK_SERVER_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start callbook");
    Instance {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends event `n`; returns the stored ID on 2xx, `Err(status)` otherwise (0: no answer).
async fn send(client: &reqwest::Client, base: &str, n: usize) -> Result<String, u16> {
    let response = send_signed(client, base, KEY, body(n))
        .await
        .map_err(|_| 0u16)?;
    let status = response.status();
    if !status.is_success() {
        return Err(status.as_u16());
    }
    let json: serde_json::Value = response.json().await.map_err(|_| 0u16)?;
    Ok(json["id"].as_str().expect("id").to_owned())
}

/// A destination that counts deliveries per event (the `webhook-id` header).
async fn sink() -> (MockServer, Arc<Mutex<HashMap<String, usize>>>) {
    let server = MockServer::start().await;
    let counts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let seen = counts.clone();
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(move |req: &Request| {
            let id = req
                .headers
                .get("webhook-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            *seen.lock().expect("lock").entry(id).or_insert(0) += 1;
            ResponseTemplate::new(200)
        })
        .mount(&server)
        .await;
    (server, counts)
}

async fn wait_delivered(counts: &Mutex<HashMap<String, usize>>, ids: &HashSet<String>) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let missing = {
            let c = counts.lock().expect("lock");
            ids.iter().filter(|id| !c.contains_key(*id)).count()
        };
        if missing == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{missing} events never delivered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn stored_ids(db: &str) -> HashSet<String> {
    let store = callbook_store::open(db, callbook_store::Durability::Process)
        .await
        .expect("open");
    let mut ids = HashSet::new();
    let mut query = callbook_store::EventQuery {
        limit: Some(1000),
        ..Default::default()
    };
    loop {
        let page = store.list_events(&query).await.expect("list");
        ids.extend(page.events.iter().map(|e| e.id.to_string()));
        match page.next_cursor {
            Some(c) => query.before = Some(c),
            None => break,
        }
    }
    store.close().await;
    ids
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_deduplicate_globally_and_deliver_each_event_once() {
    let Some(pg) = callbook_testpg::Server::shared() else {
        return;
    };
    let db = pg.fresh_database();
    let (sink, counts) = sink().await;
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path(), &db, &sink.uri());
    let client = client();
    let instances: Vec<Instance> = (0..3).map(|_| start(&config)).collect();
    for i in &instances {
        wait_ready(&client, &i.base, 30).await;
    }
    let bases: Vec<String> = instances.iter().map(|i| i.base.clone()).collect();

    // 2,400 events round-robin, then 600 redeliveries (every fourth event), each to another
    // instance than its original.
    let mut plan: Vec<(usize, usize)> = (0..2400).map(|n| (n, n % 3)).collect();
    plan.extend((0..2400).step_by(4).map(|n| (n, (n % 3 + 1) % 3)));
    assert_eq!(plan.len(), 3000);
    let originals: Arc<Mutex<HashMap<usize, String>>> = Arc::default();
    let redelivered: Arc<Mutex<Vec<(usize, String)>>> = Arc::default();
    let plan = Arc::new(plan);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..24 {
        let (client, bases, plan, next) =
            (client.clone(), bases.clone(), plan.clone(), next.clone());
        let (originals, redelivered) = (originals.clone(), redelivered.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&(n, to)) = plan.get(k) else { return };
                let id = send(&client, &bases[to], n).await.expect("2xx");
                if k < 2400 {
                    originals.lock().expect("lock").insert(n, id);
                } else {
                    redelivered.lock().expect("lock").push((n, id));
                }
            }
        }));
    }
    for w in workers {
        w.await.expect("worker");
    }
    let originals = originals.lock().expect("lock").clone();
    let ids: HashSet<String> = originals.values().cloned().collect();
    assert_eq!(ids.len(), 2400);
    // A redelivery may race its original; either way both answers name one stored event.
    for (n, id) in redelivered.lock().expect("lock").iter() {
        assert_eq!(
            &originals[n], id,
            "event {n}: the redelivery names the original"
        );
    }
    assert_eq!(
        stored_ids(&db).await,
        ids,
        "exactly the 2,400 events are stored"
    );

    wait_delivered(&counts, &ids).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let counts = counts.lock().expect("lock");
    let twice: Vec<_> = counts.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    assert_eq!(counts.len(), 2400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_mid_run_loses_nothing() {
    let Some(pg) = callbook_testpg::Server::shared() else {
        return;
    };
    let db = pg.fresh_database();
    let (sink, counts) = sink().await;
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path(), &db, &sink.uri());
    let client = client();
    let mut instances: Vec<Instance> = (0..3).map(|_| start(&config)).collect();
    for i in &instances {
        wait_ready(&client, &i.base, 30).await;
    }
    let bases: Vec<String> = instances.iter().map(|i| i.base.clone()).collect();
    let acked: Arc<Mutex<HashSet<String>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..12 {
        let (client, bases, acked, stop) =
            (client.clone(), bases.clone(), acked.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let n = w * 1_000_000 + i;
                // Instance 0 dies: its requests fail without an answer, and count for nothing.
                if let Ok(id) = send(&client, &bases[i % 3], n).await {
                    acked.lock().expect("lock").insert(id);
                }
                i += 1;
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().expect("lock").len() < 600 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    instances[0].child.kill().expect("SIGKILL");
    let _ = instances[0].child.wait();
    let at_kill = acked.lock().expect("lock").len();
    while acked.lock().expect("lock").len() < at_kill + 300 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        w.await.expect("worker");
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(
        acked.len() >= at_kill + 300,
        "ingestion went on after the kill"
    );
    let stored = stored_ids(&db).await;
    let lost: Vec<_> = acked.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged events not stored",
        lost.len()
    );
    // The dead instance's claims come back after their lease; the survivors deliver them.
    wait_delivered(&counts, &acked).await;
    drop(instances);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_gets_503s_never_a_false_2xx_and_ingestion_resumes() {
    let Some(pg) = callbook_testpg::Server::private() else {
        return;
    };
    let db = pg.fresh_database();
    let (sink, _counts) = sink().await;
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path(), &db, &sink.uri());
    let client = client();
    let instance = start(&config);
    wait_ready(&client, &instance.base, 30).await;

    let acked: Arc<Mutex<HashSet<String>>> = Arc::default();
    let refused: Arc<Mutex<Vec<u16>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..4 {
        let (client, base, acked, refused, stop) = (
            client.clone(),
            instance.base.clone(),
            acked.clone(),
            refused.clone(),
            stop.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match send(&client, &base, w * 1_000_000 + i).await {
                    Ok(id) => {
                        acked.lock().expect("lock").insert(id);
                    }
                    Err(status) => {
                        refused.lock().expect("lock").push(status);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
                i += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    pg.stop();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ready = client
        .get(format!("{}/readyz", instance.base))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 503, "not ready while the database is down");
    let before_restart = acked.lock().expect("lock").len();
    pg.start();
    wait_ready(&client, &instance.base, 30).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked.lock().expect("lock").len() < before_restart + 100 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        w.await.expect("worker");
    }
    let refused = refused.lock().expect("lock").clone();
    assert!(!refused.is_empty(), "the outage was noticed");
    assert!(
        refused.iter().all(|s| *s == 503),
        "outage answers are 503: {refused:?}"
    );
    let acked = acked.lock().expect("lock").clone();
    assert!(acked.len() >= before_restart + 100, "ingestion resumed");
    let stored = stored_ids(&db).await;
    let lost: Vec<_> = acked.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged events not stored",
        lost.len()
    );
}
