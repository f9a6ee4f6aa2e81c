//! What only the SQLite backend does: its URLs, its durability modes, its WAL.

use callbook_store::*;

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
