use callbook_store::*;
use chrono::{Duration, Utc};
use std::collections::HashSet;
use std::sync::Arc;

async fn open(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    let url = format!("sqlite://{}", dir.path().join("events.db").display());
    callbook_store::open(&url, Durability::Process)
        .await
        .expect("open")
}

fn event(source: &str, key: &str, body: &[u8]) -> NewEvent {
    let mut e = NewEvent::new(source, Provider::Calendly, key, body.to_vec());
    e.event_type = Some("invitee.created".into());
    e.headers = vec![("content-type".into(), "application/json".into())];
    e
}

#[tokio::test]
async fn stores_the_body_byte_for_byte_and_reads_it_back() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = open(&dir).await;
    let body = b"{\"a\": 1}\n\xff\x00 not even utf-8".to_vec();
    let mut e = event("cal", "k1", &body);
    e.parse_status = ParseStatus::Unparsed("expected value at line 1".into());
    e.occurred_at = Some(Utc::now() - Duration::seconds(5));
    let id = e.id;
    let out = store.insert_event(e).await.expect("insert");
    assert_eq!(
        out,
        InsertOutcome {
            id,
            duplicate: false
        }
    );
    let got = store.get_event(id).await.expect("get").expect("found");
    assert_eq!(got.body, body);
    assert_eq!(
        got.headers,
        vec![("content-type".to_string(), "application/json".to_string())]
    );
    assert_eq!(
        got.summary.parse_status,
        ParseStatus::Unparsed("expected value at line 1".into())
    );
    assert_eq!(got.summary.body_len, body.len() as u64);
    assert!(got.summary.occurred_at.is_some());
    assert!(
        store
            .get_event(EventId::new())
            .await
            .expect("get")
            .is_none()
    );
    store.close().await;
}

#[tokio::test]
async fn a_redelivery_returns_the_original_id_and_is_stored_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = open(&dir).await;
    let first = store
        .insert_event(event("cal", "same", b"1"))
        .await
        .expect("first");
    let again = store
        .insert_event(event("cal", "same", b"2"))
        .await
        .expect("again");
    assert!(again.duplicate);
    assert_eq!(again.id, first.id);
    // Keys are unique per source, not globally.
    let other = store
        .insert_event(event("other", "same", b"3"))
        .await
        .expect("other");
    assert!(!other.duplicate);
    let page = store
        .list_events(&EventQuery::default())
        .await
        .expect("list");
    assert_eq!(page.events.len(), 2);
    let stored = store
        .get_event(first.id)
        .await
        .expect("get")
        .expect("found");
    assert_eq!(stored.body, b"1");
    store.close().await;
}

#[tokio::test]
async fn concurrent_inserts_with_redeliveries_store_each_event_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = open(&dir).await;
    let mut tasks = Vec::new();
    for i in 0..1000 {
        let store = store.clone();
        // Every tenth request redelivers an earlier event.
        let key = if i % 10 == 9 {
            format!("k{}", i - 1)
        } else {
            format!("k{i}")
        };
        tasks.push(tokio::spawn(async move {
            store.insert_event(event("cal", &key, key.as_bytes())).await
        }));
    }
    let mut ids = HashSet::new();
    let mut duplicates = 0;
    for t in tasks {
        let out = t.await.expect("join").expect("insert");
        ids.insert(out.id);
        duplicates += usize::from(out.duplicate);
    }
    assert_eq!(ids.len(), 900);
    assert_eq!(duplicates, 100);
    let mut all = 0;
    let mut query = EventQuery {
        limit: Some(1000),
        ..Default::default()
    };
    loop {
        let page = store.list_events(&query).await.expect("list");
        all += page.events.len();
        match page.next_cursor {
            Some(c) => query.before = Some(c),
            None => break,
        }
    }
    assert_eq!(all, 900);
    store.close().await;
}

#[tokio::test]
async fn pagination_neither_skips_nor_repeats_and_filters_apply() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = open(&dir).await;
    let start = Utc::now();
    for i in 0..57 {
        let mut e = event(if i % 3 == 0 { "a" } else { "b" }, &format!("k{i}"), b"{}");
        e.provider = if i % 2 == 0 {
            Provider::Calendly
        } else {
            Provider::Aircall
        };
        e.event_type = Some(
            if i % 2 == 0 {
                "invitee.created"
            } else {
                "call.ended"
            }
            .into(),
        );
        e.received_at = start + Duration::milliseconds(i);
        store.insert_event(e).await.expect("insert");
    }
    let mut seen = Vec::new();
    let mut query = EventQuery {
        limit: Some(10),
        ..Default::default()
    };
    loop {
        let page = store.list_events(&query).await.expect("list");
        assert!(page.events.len() <= 10);
        seen.extend(page.events.iter().map(|e| e.id));
        match page.next_cursor {
            Some(c) => query.before = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 57);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 57);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first");

    let q = EventQuery {
        source: Some("a".into()),
        limit: Some(1000),
        ..Default::default()
    };
    assert_eq!(store.list_events(&q).await.expect("list").events.len(), 19);
    let q = EventQuery {
        provider: Some(Provider::Aircall),
        limit: Some(1000),
        ..Default::default()
    };
    assert_eq!(store.list_events(&q).await.expect("list").events.len(), 28);
    let q = EventQuery {
        event_type: Some("invitee.created".into()),
        ..Default::default()
    };
    assert_eq!(store.list_events(&q).await.expect("list").events.len(), 29);
    let q = EventQuery {
        since: Some(start + Duration::milliseconds(10)),
        until: Some(start + Duration::milliseconds(20)),
        ..Default::default()
    };
    assert_eq!(store.list_events(&q).await.expect("list").events.len(), 10);
    store.close().await;
}

#[tokio::test]
async fn events_survive_reopening() {
    let dir = tempfile::tempdir().expect("tmp");
    let id = {
        let store = open(&dir).await;
        let out = store
            .insert_event(event("cal", "k", b"kept"))
            .await
            .expect("insert");
        store.close().await;
        out.id
    };
    let store = open(&dir).await;
    assert_eq!(
        store.get_event(id).await.expect("get").expect("found").body,
        b"kept"
    );
    // And de-duplication still knows it.
    assert!(
        store
            .insert_event(event("cal", "k", b"again"))
            .await
            .expect("insert")
            .duplicate
    );
    store.close().await;
}

#[tokio::test]
async fn power_loss_mode_stores_too() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}", dir.path().join("full.db").display());
    let store = callbook_store::open(&url, Durability::PowerLoss)
        .await
        .expect("open");
    assert!(
        !store
            .insert_event(event("cal", "k", b"x"))
            .await
            .expect("insert")
            .duplicate
    );
    store.ping().await.expect("ping");
    store.close().await;
}

#[tokio::test]
async fn a_closed_store_refuses_writes() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = open(&dir).await;
    store.close().await;
    assert!(matches!(
        store.insert_event(event("cal", "k", b"x")).await,
        Err(Error::Closed)
    ));
}

#[test]
fn urls() {
    assert!(SqliteOptions::from_url("sqlite://callbook.db").is_ok());
    assert!(SqliteOptions::from_url("sqlite:callbook.db").is_ok());
    assert!(SqliteOptions::from_url("sqlite::memory:").is_err());
    assert!(SqliteOptions::from_url("mysql://x").is_err());
}

#[tokio::test]
async fn closing_folds_the_wal_into_the_database_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = open(&dir).await;
    for i in 0..50 {
        store
            .insert_event(event("cal", &format!("k{i}"), &[b'x'; 2000]))
            .await
            .expect("insert");
    }
    store.close().await;
    let wal = dir.path().join("events.db-wal");
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal_len, 0, "the WAL is truncated on close");
    assert!(
        std::fs::metadata(dir.path().join("events.db"))
            .expect("db")
            .len()
            > 100_000
    );
}
