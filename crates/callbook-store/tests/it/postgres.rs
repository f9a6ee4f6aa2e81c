//! What only a shared database must do: several instances (here, several stores with their own
//! pools on one database) de-duplicate together and never claim the same delivery at once.

use callbook_store::*;
use chrono::Utc;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

async fn instances(n: usize) -> Option<Vec<Arc<dyn Store>>> {
    let server = callbook_testpg::Server::shared()?;
    let url = server.fresh_database();
    let mut stores = Vec::new();
    for _ in 0..n {
        stores.push(
            callbook_store::open(&url, Durability::Process)
                .await
                .expect("open"),
        );
    }
    Some(stores)
}

fn event(key: &str, destinations: &[&str]) -> NewEvent {
    let mut e = NewEvent::new("cal", Provider::Calendly, key, key.as_bytes().to_vec());
    e.destinations = destinations.iter().map(|d| d.to_string()).collect();
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redeliveries_on_other_instances_are_duplicates() {
    let Some(stores) = instances(3).await else {
        return;
    };
    // 200 events, each sent to all three instances at once.
    let mut tasks = Vec::new();
    for i in 0..200 {
        for store in &stores {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                (
                    i,
                    store
                        .insert_event(event(&format!("k{i}"), &["sink"]))
                        .await
                        .expect("insert"),
                )
            }));
        }
    }
    let mut originals = std::collections::HashMap::new();
    let mut fresh = 0;
    for t in tasks {
        let (i, out) = t.await.expect("task");
        if !out.duplicate {
            fresh += 1;
        }
        let first = *originals.entry(i).or_insert(out.id);
        assert_eq!(first, out.id, "every copy of event {i} gets the same ID");
    }
    assert_eq!(fresh, 200, "each event is new exactly once");
    let page = stores[0]
        .list_events(&EventQuery {
            limit: Some(1000),
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(page.events.len(), 200);
    let deliveries = stores[0]
        .list_deliveries(&DeliveryQuery {
            limit: Some(1000),
            ..Default::default()
        })
        .await
        .expect("deliveries");
    assert_eq!(
        deliveries.deliveries.len(),
        200,
        "one delivery per event, not per copy"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_never_overlap_and_expired_leases_are_taken_over() {
    // Long enough for every claim below to be made within it, short enough to wait out.
    const LEASE: Duration = Duration::from_secs(3);
    let Some(stores) = instances(3).await else {
        return;
    };
    for i in 0..300 {
        stores[0]
            .insert_event(event(&format!("k{i}"), &["sink"]))
            .await
            .expect("insert");
    }
    let now = Utc::now() + chrono::Duration::seconds(1);
    let mut tasks = Vec::new();
    for (n, store) in stores.iter().enumerate() {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store
                    .claim("sink", &format!("instance-{n}"), now, LEASE, 7)
                    .await
                    .expect("claim");
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|c| c.id));
            }
        }));
    }
    let mut seen = HashSet::new();
    for t in tasks {
        for id in t.await.expect("task") {
            assert!(seen.insert(id), "{id} claimed twice");
        }
    }
    assert_eq!(seen.len(), 300);

    // The instances "die" holding their claims; once the leases expire (by the database's
    // clock), another takes them.
    tokio::time::sleep(LEASE + Duration::from_millis(200)).await;
    let later = Utc::now() + chrono::Duration::seconds(1);
    let survivor = &stores[2];
    let taken = survivor
        .claim("sink", "instance-9", later, Duration::from_secs(60), 1000)
        .await
        .expect("claim");
    assert_eq!(taken.len(), 300);
    assert!(
        survivor
            .claim("sink", "instance-8", later, Duration::from_secs(60), 1000)
            .await
            .expect("claim")
            .is_empty(),
        "a live lease keeps others away"
    );
}

/// A server that takes TCP connections over TLS only: `sslmode=require` and `verify-full`
/// (with the CA) connect, plaintext is refused, and a certificate from an unknown CA fails
/// `verify-full`.
#[tokio::test]
async fn tls_connections_to_a_server_that_insists_on_them() {
    let Some((server, tls)) = callbook_testpg::Server::private_tls() else {
        return;
    };
    let url = server.fresh_database();
    let port = url
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .expect("port")
        .to_owned();
    let db = url.rsplit_once('/').expect("db").1.to_owned();
    let at = |host: &str, query: &str| format!("postgres://postgres@{host}:{port}/{db}?{query}");

    let plaintext = callbook_store::open(&at("127.0.0.1", "sslmode=disable"), Durability::Process)
        .await
        .map(|_| ());
    assert!(
        plaintext.is_err(),
        "plaintext must be refused by this server"
    );

    for query in [
        "sslmode=require".to_owned(),
        format!("sslmode=verify-full&sslrootcert={}", tls.ca_cert.display()),
    ] {
        let store = callbook_store::open(&at("localhost", &query), Durability::Process)
            .await
            .unwrap_or_else(|e| panic!("{query}: {e}"));
        let out = store
            .insert_event(event(&format!("tls-{query}"), &[]))
            .await
            .expect("insert over TLS");
        assert!(!out.duplicate);
        store.close().await;
    }

    // Without the CA, the certificate is not trusted.
    let untrusted =
        callbook_store::open(&at("localhost", "sslmode=verify-full"), Durability::Process)
            .await
            .map(|_| ());
    assert!(untrusted.is_err(), "verify-full must check the certificate");
}

/// An event the database refuses fails alone: the rest of its batch is stored. A NUL in an
/// event name (which PostgreSQL's `text` cannot hold) is no reason to refuse it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_refused_event_does_not_fail_its_batch() {
    let Some(server) = callbook_testpg::Server::shared() else {
        return;
    };
    let url = server.fresh_database();
    let store = callbook_store::open(&url, Durability::Process)
        .await
        .expect("open");
    // A constraint stands in for any failure of one row.
    let out = std::process::Command::new("psql")
        .arg(&url)
        .args([
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
            "ALTER TABLE events ADD CONSTRAINT refuse CHECK (source <> 'poison')",
        ])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..64 {
        let store = store.clone();
        let mut e = event(&format!("k{i}"), &["sink"]);
        match i {
            20 => e.source = "poison".into(),
            40 => e.event_type = Some("invitee.\0created".into()),
            _ => {}
        }
        tasks.spawn(async move { (i, store.insert_event(e).await) });
    }
    let mut stored = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("task") {
            (20, result) => assert!(result.is_err(), "the refused event reports an error"),
            (i, result) => stored.push((i, result.unwrap_or_else(|e| panic!("k{i}: {e}")).id)),
        }
    }
    assert_eq!(stored.len(), 63);
    for (i, id) in stored {
        let event = store.get_event(id).await.expect("get").expect("stored");
        if i == 40 {
            assert_eq!(
                event.summary.event_type.as_deref(),
                Some("invitee.\u{FFFD}created")
            );
        }
    }
    store.close().await;
}

/// Leases are compared with the database's clock: an instance whose clock runs an hour ahead
/// does not take over a delivery another instance is attempting.
#[tokio::test]
async fn an_instance_whose_clock_runs_ahead_does_not_take_leases_early() {
    let Some(stores) = instances(2).await else {
        return;
    };
    stores[0]
        .insert_event(event("clock", &["sink"]))
        .await
        .expect("insert");
    let held = stores[0]
        .claim(
            "sink",
            "instance-0",
            Utc::now(),
            Duration::from_secs(30),
            10,
        )
        .await
        .expect("claim");
    assert_eq!(held.len(), 1);
    let ahead = Utc::now() + chrono::Duration::hours(1);
    let stolen = stores[1]
        .claim("sink", "instance-1", ahead, Duration::from_secs(30), 10)
        .await
        .expect("claim");
    assert!(
        stolen.is_empty(),
        "the lease still holds by the database's clock"
    );
}
