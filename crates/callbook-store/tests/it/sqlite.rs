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
    // Every commit syncs, so the intake log is not used, and none is left behind.
    assert!(!dir.path().join("full.db-intake").exists());
    assert!(!dir.path().join("full.db-intake2").exists());
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_the_database_refuses_fails_alone_and_the_rest_of_its_batch_is_stored() {
    let dir = tempfile::tempdir().expect("tmp");
    // Every write commits before it is answered: without the intake log.
    let options = SqliteOptions::new(dir.path().join("events.db")).intake_log(false);
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(options).await.expect("open"));
    // A trigger stands in for any failure of one row (a constraint, a value SQLite rejects).
    let side = rusqlite::Connection::open(dir.path().join("events.db")).expect("side connection");
    side.execute_batch(
        "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.source = 'poison' \
         BEGIN SELECT RAISE(ABORT, 'refused'); END;",
    )
    .expect("trigger");
    drop(side);

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..64 {
        let store = store.clone();
        let source = if i == 32 { "poison" } else { "cal" };
        tasks.spawn(async move {
            (
                source,
                store
                    .insert_event(event(source, &format!("k{i}"), b"{}"))
                    .await,
            )
        });
    }
    let mut stored = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("task") {
            ("poison", result) => assert!(result.is_err(), "the refused event reports an error"),
            (_, result) => stored.push(result.expect("the others are stored").id),
        }
    }
    assert_eq!(stored.len(), 63);
    for id in stored {
        assert!(store.get_event(id).await.expect("get").is_some());
    }
    // The writer rolled the failed transactions back and goes on.
    store
        .insert_event(event("cal", "after", b"{}"))
        .await
        .expect("the next insert succeeds");
    store.close().await;
}

/// A trigger that refuses events of the source `poison`, installed from the side.
fn refuse_poison(db: &std::path::Path, on: bool) {
    let side = rusqlite::Connection::open(db).expect("side connection");
    side.execute_batch(if on {
        "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.source = 'poison' \
         BEGIN SELECT RAISE(ABORT, 'refused'); END;"
    } else {
        "DROP TRIGGER refuse;"
    })
    .expect("trigger");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logged_event_the_database_refuses_is_kept_and_stored_once_it_is_accepted() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("events.db");
    let store = open(&dir).await;
    refuse_poison(&db, true);

    // Alone, each is a small batch: written to the intake log and acknowledged at once.
    let poison = store
        .insert_event(event("poison", "p", b"{}"))
        .await
        .expect("acknowledged from the log");
    let behind = store
        .insert_event(event("cal", "behind", b"{}"))
        .await
        .expect("acknowledged from the log");
    let stats = store.intake_stats().expect("SQLite has an intake log");
    assert!(stats.log_bytes > 0 && !stats.refused, "{stats:?}");
    // Applying them fails at the poison, which holds up the one behind it: reads say so
    // rather than answer without them.
    let err = store.get_event(behind.id).await.expect_err("unapplied");
    assert!(matches!(err, Error::Unapplied(_)), "{err}");
    let stats = store.intake_stats().expect("stats");
    assert_eq!(
        (stats.pending_records, stats.refused),
        (2, true),
        "{stats:?}"
    );
    // Readiness says so too.
    let err = store
        .ping()
        .await
        .expect_err("unready while a record is refused");
    assert!(matches!(err, Error::Unapplied(_)), "{err}");
    // New writes commit directly meanwhile, and a redelivery is still a duplicate.
    let direct = store
        .insert_event(event("cal", "direct", b"{}"))
        .await
        .expect("stored directly");
    assert!(!direct.duplicate);
    let again = store
        .insert_event(event("poison", "p", b"{}"))
        .await
        .expect("duplicate");
    assert_eq!((again.id, again.duplicate), (poison.id, true));

    refuse_poison(&db, false);
    for id in [poison.id, behind.id, direct.id] {
        assert!(store.get_event(id).await.expect("get").is_some(), "{id}");
    }
    let stats = store.intake_stats().expect("stats");
    assert_eq!(
        (stats.pending_records, stats.refused),
        (0, false),
        "{stats:?}"
    );
    store.ping().await.expect("ready again");
    let page = store
        .list_events(&EventQuery::default())
        .await
        .expect("list");
    assert_eq!(page.events.len(), 3, "each stored once");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_are_read_back_at_once_and_the_log_is_empty_after_close() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = open(&dir).await;
    let mut ids = Vec::new();
    for i in 0..40 {
        let e = store
            .insert_event(event("cal", &format!("k{i}"), b"{}"))
            .await
            .expect("insert");
        // Read right after the answer, well before the log's records are due.
        assert!(store.get_event(e.id).await.expect("get").is_some());
        ids.push(e.id);
    }
    store.close().await;
    let log = dir.path().join("events.db-intake");
    assert_eq!(std::fs::metadata(&log).expect("log").len(), 0);
    let store = open(&dir).await;
    let page = store
        .list_events(&EventQuery {
            limit: Some(100),
            ..EventQuery::default()
        })
        .await
        .expect("list");
    assert_eq!(page.events.len(), 40);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logged_events_reach_the_database_file_by_themselves_within_milliseconds() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = open(&dir).await;
    let id = store
        .insert_event(event("cal", "alone", b"{}"))
        .await
        .expect("insert")
        .id;
    // Looked for from another connection, so that nothing asks the store to apply its log.
    let side = rusqlite::Connection::open(dir.path().join("events.db")).expect("side");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let found: i64 = side
            .query_row(
                "SELECT count(*) FROM events WHERE id = ?1",
                [id.as_uuid().as_bytes().as_slice()],
                |row| row.get(0),
            )
            .expect("query");
        if found == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never applied");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    store.close().await;
}

/// Live events are proved new by the newest keys the writer holds, without a lookup. A
/// redelivery must still be found wherever its original is: waiting in the intake log, in the
/// database, older than newer events, after a write the writer cannot follow, after a restart.
#[tokio::test]
async fn redeliveries_are_found_wherever_their_original_is() {
    let dir = tempfile::tempdir().expect("tmp");
    let t0 = chrono::Utc::now();
    let at = |key: &str, secs: i64| {
        let mut e = event("cal", key, b"{}");
        e.occurred_at = Some(t0 + chrono::Duration::seconds(secs));
        e
    };
    let store = open(&dir).await;
    let insert = |e: NewEvent| {
        let store = store.clone();
        async move { store.insert_event(e).await.expect("insert") }
    };
    let a = insert(at("a", 0)).await;
    assert!(!a.duplicate);
    let waiting = insert(at("a", 0)).await;
    assert!(waiting.duplicate, "original in the log");
    assert_eq!(waiting.id, a.id);
    // A read applies the log first.
    store.get_event(a.id).await.expect("get").expect("stored");
    assert_eq!(
        insert(at("a", 0)).await.id,
        a.id,
        "original in the database"
    );
    let b = insert(at("b", 5)).await;
    assert!(!b.duplicate);
    assert!(insert(at("a", 0)).await.duplicate, "older than the newest");
    assert!(
        !insert(at("c", 5)).await.duplicate,
        "same time, another key"
    );
    store
        .set_destination_disabled("crm", Some("test"), chrono::Utc::now())
        .await
        .expect("an admin write");
    assert_eq!(insert(at("b", 5)).await.id, b.id, "after an admin write");
    assert!(insert(at("a", 0)).await.duplicate);
    store.close().await;

    let store = open(&dir).await;
    for (key, secs) in [("a", 0), ("b", 5), ("c", 5)] {
        let again = store.insert_event(at(key, secs)).await.expect("insert");
        assert!(again.duplicate, "{key} after a restart");
    }
    assert!(
        !store
            .insert_event(at("d", 6))
            .await
            .expect("insert")
            .duplicate
    );
    store.close().await;
}

/// An event of source "cal" that occurred `ms` after `t0`.
fn at(t0: chrono::DateTime<chrono::Utc>, key: &str, ms: i64) -> NewEvent {
    let mut e = event("cal", key, b"{}");
    e.occurred_at = Some(t0 + chrono::Duration::milliseconds(ms));
    e
}

/// A store whose newest keys of source "cal" are set up (by one event alone, which the writer
/// looks up), so that the events after it are recorded where they arrive.
async fn streaming(dir: &tempfile::TempDir, t0: chrono::DateTime<chrono::Utc>) -> Arc<dyn Store> {
    let store = open(dir).await;
    store
        .insert_event(at(t0, "first", 0))
        .await
        .expect("insert");
    store
}

/// A burst of concurrent events, recorded where they arrive or committed directly when the
/// writer gets many together (the store's unit tests hold the writer to force that): the
/// newest keys must not then prove one of them new, or a redelivery would pass as new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redeliveries_of_a_concurrent_burst_are_found() {
    let dir = tempfile::tempdir().expect("tmp");
    let t0 = chrono::Utc::now();
    let store = streaming(&dir, t0).await;
    let burst = (0..200).map(|i| {
        let store = store.clone();
        let e = at(t0, &format!("k{i}"), 1 + i);
        tokio::spawn(async move { store.insert_event(e).await.expect("insert") })
    });
    for inserted in futures_util::future::join_all(burst).await {
        assert!(!inserted.expect("task").duplicate);
    }
    for i in 0..200 {
        let again = store
            .insert_event(at(t0, &format!("k{i}"), 1 + i))
            .await
            .expect("insert");
        assert!(again.duplicate, "k{i}");
    }
    store.close().await;
}

/// Redeliveries racing their originals: each pair arrives together, so the second often finds
/// the first recorded but not yet written to the log. Both get the same answer, and the event
/// is stored once.
#[tokio::test]
async fn an_event_and_its_redelivery_arriving_together_are_stored_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let t0 = chrono::Utc::now();
    let store = streaming(&dir, t0).await;
    let pairs = (0..100i64).map(|i| {
        let twice = [0, 1].map(|_| {
            let store = store.clone();
            let e = at(t0, &format!("k{i}"), 1 + i);
            tokio::spawn(async move { store.insert_event(e).await.expect("insert") })
        });
        futures_util::future::join_all(twice)
    });
    for (i, pair) in futures_util::future::join_all(pairs)
        .await
        .into_iter()
        .enumerate()
    {
        let [a, b] = [&pair[0], &pair[1]].map(|r| r.as_ref().expect("task"));
        assert_eq!(a.id, b.id, "k{i}: both answers name the stored event");
        assert!(a.duplicate != b.duplicate, "k{i}: one new, one duplicate");
    }
    let page = store
        .list_events(&EventQuery {
            limit: Some(500),
            ..EventQuery::default()
        })
        .await
        .expect("list");
    assert_eq!(page.events.len(), 101);
    store.close().await;
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_and_its_companion_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("events.db");
    let store = open(&dir).await;
    store
        .insert_event(event("cal", "k1", b"{}"))
        .await
        .expect("insert");
    for suffix in ["", "-wal", "-shm", "-intake", "-intake2"] {
        let path = std::path::PathBuf::from(format!("{}{suffix}", db.display()));
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    store.close().await;

    // Files an older version left world-readable are narrowed when the store opens.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let store = open(&dir).await;
    assert_eq!(mode(&db), 0o600);
    store.close().await;
}

#[tokio::test]
async fn a_second_store_on_the_same_file_is_refused_until_the_first_closes() {
    let dir = tempfile::tempdir().expect("tmp");
    let first = open(&dir).await;
    let url = format!("sqlite://{}", dir.path().join("events.db").display());
    let second = callbook_store::open(&url, Durability::Process).await;
    let Err(err) = second else {
        panic!("two stores wrote one intake log");
    };
    assert!(matches!(err, Error::InUse(_)), "{err}");
    assert!(
        err.to_string().contains("another callbook process"),
        "{err}"
    );
    first.close().await;
    let again = open(&dir).await;
    again.close().await;
}

/// While the database takes no writes (here another connection holds it locked; in life a
/// stalled disk), acknowledged events pile up in the intake log and in memory. Past the cap,
/// new events are refused (the server answers 503) instead of growing without bound; once the
/// database is back, everything acknowledged is stored and new events are taken again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_database_bounds_what_waits_in_the_intake_log() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("events.db");
    let options = SqliteOptions::new(&path).intake_max_pending_bytes(16 << 10);
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(options).await.expect("open"));
    let body = vec![b'x'; 1000];
    // The first event of a source is looked up by the writer; the next ones are recorded
    // where they arrive.
    store
        .insert_event(event("cal", "first", &body))
        .await
        .expect("insert");

    let side = rusqlite::Connection::open(&path).expect("side connection");
    side.execute_batch("BEGIN EXCLUSIVE").expect("lock");
    let mut acknowledged = Vec::new();
    let mut refused = 0;
    for i in 0..200 {
        match store
            .insert_event(event("cal", &format!("k{i}"), &body))
            .await
        {
            Ok(out) => acknowledged.push(out.id),
            Err(Error::Backlog(bytes)) => {
                assert!(bytes >= 16 << 10);
                refused += 1;
            }
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert!(refused > 0, "past the cap, events are refused");
    assert!(
        acknowledged.len() < 40,
        "no more than the cap is acknowledged: {}",
        acknowledged.len()
    );
    side.execute_batch("ROLLBACK").expect("unlock");
    drop(side);

    // Everything acknowledged reaches the database, and events are taken again.
    for id in &acknowledged {
        assert!(store.get_event(*id).await.expect("get").is_some());
    }
    let mut taken = false;
    for _ in 0..100 {
        if store
            .insert_event(event("cal", "after", &body))
            .await
            .is_ok()
        {
            taken = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        taken,
        "the intake takes events again once the database catches up"
    );
    store.close().await;
}

#[tokio::test]
async fn events_stored_before_the_search_index_are_found_by_their_key_and_purged_with_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = open(&dir).await;
    let mut old = event("cal", "key-from-before", b"{}");
    old.received_at = chrono::Utc::now() - chrono::Duration::days(90);
    old.id = EventId::at(old.received_at);
    store.insert_event(old).await.expect("insert");
    store.close().await;
    // Back to the schema before migration 7: no index, no column.
    let side = rusqlite::Connection::open(dir.path().join("events.db")).expect("side");
    side.execute_batch(
        "DROP TABLE event_search; ALTER TABLE events DROP COLUMN search_keys; \
         DELETE FROM _sqlx_migrations WHERE version = 7;",
    )
    .expect("undo the migration");
    drop(side);

    let store = open(&dir).await;
    let search = EventQuery {
        search: Some("key-from-before".into()),
        ..Default::default()
    };
    let found = store.list_events(&search).await.expect("list").events;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].dedupe_key, "key-from-before");
    // Purged, it leaves nothing in the index. The table is empty then, so SQLite gives the next
    // event the purged one's rowid: an entry left behind would find the new event by the old
    // key.
    store
        .purge(chrono::Utc::now() - chrono::Duration::days(30))
        .await
        .expect("purge");
    store
        .insert_event(event("cal", "key-after", b"{}"))
        .await
        .expect("insert");
    assert!(
        store
            .list_events(&search)
            .await
            .expect("list")
            .events
            .is_empty()
    );
    store.close().await;
}
