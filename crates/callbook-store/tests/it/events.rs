use crate::backend::TestDb;
use callbook_store::*;
use chrono::{Duration, Utc};
use std::collections::HashSet;

fn event(source: &str, key: &str, body: &[u8]) -> NewEvent {
    let mut e = NewEvent::new(source, Provider::Calendly, key, body.to_vec());
    e.event_type = Some("invitee.created".into());
    e.headers = vec![("content-type".into(), "application/json".into())];
    e
}

async fn stores_the_body_byte_for_byte_and_reads_it_back(db: TestDb) {
    let store = db.open().await;
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

async fn a_redelivery_returns_the_original_id_and_is_stored_once(db: TestDb) {
    let store = db.open().await;
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

async fn concurrent_inserts_with_redeliveries_store_each_event_once(db: TestDb) {
    let store = db.open().await;
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

async fn pagination_neither_skips_nor_repeats_and_filters_apply(db: TestDb) {
    let store = db.open().await;
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
        if i % 7 == 0 {
            e.parse_status = ParseStatus::Unparsed("not JSON".into());
        }
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
    let q = EventQuery {
        parsed: Some(false),
        ..Default::default()
    };
    let unparsed = store.list_events(&q).await.expect("list").events;
    assert_eq!(unparsed.len(), 9, "i = 0, 7, ..., 56");
    assert!(
        unparsed
            .iter()
            .all(|e| matches!(e.parse_status, ParseStatus::Unparsed(_)))
    );
    let q = EventQuery {
        parsed: Some(true),
        limit: Some(1000),
        ..Default::default()
    };
    assert_eq!(store.list_events(&q).await.expect("list").events.len(), 48);
    store.close().await;
}

async fn events_survive_reopening(db: TestDb) {
    let id = {
        let store = db.open().await;
        let out = store
            .insert_event(event("cal", "k", b"kept"))
            .await
            .expect("insert");
        store.close().await;
        out.id
    };
    let store = db.open().await;
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

async fn a_closed_store_refuses_writes(db: TestDb) {
    let store = db.open().await;
    store.close().await;
    assert!(matches!(
        store.insert_event(event("cal", "k", b"x")).await,
        Err(Error::Closed)
    ));
}

async fn events_are_found_by_their_dedupe_key_and_the_people_they_name(db: TestDb) {
    let store = db.open().await;
    let start = Utc::now() - Duration::days(60);
    let ana = || Subject::email("Ana.Lima@example.com").expect("email");
    let ana_phone = || Subject::phone("+55 11 91234-5678").expect("phone");
    for i in 0..30 {
        let mut e = event(
            if i % 2 == 0 { "a" } else { "b" },
            &format!("key-{i}"),
            b"{}",
        );
        e.received_at = start + Duration::minutes(i);
        e.id = EventId::at(e.received_at);
        if i % 3 == 0 {
            e.subjects.push(ana());
        }
        if i % 5 == 0 {
            e.subjects.push(ana_phone());
        }
        store.insert_event(e).await.expect("insert");
    }
    // A redelivery with other subjects changes nothing: the original is what is found.
    let mut again = event("a", "key-2", b"{}");
    again.subjects.push(ana());
    assert!(store.insert_event(again).await.expect("insert").duplicate);
    let search = |text: &str, source: Option<&str>| EventQuery {
        search: Some(text.into()),
        source: source.map(Into::into),
        limit: Some(1000),
        ..Default::default()
    };
    let keys = |page: EventPage| {
        page.events
            .into_iter()
            .map(|e| e.dedupe_key)
            .collect::<Vec<_>>()
    };
    let found = keys(
        store
            .list_events(&search("key-7", None))
            .await
            .expect("list"),
    );
    assert_eq!(found, ["key-7"]);
    // Any case of the address; newest first.
    let found = keys(
        store
            .list_events(&search(" ANA.LIMA@EXAMPLE.COM ", None))
            .await
            .expect("list"),
    );
    assert_eq!(
        found,
        [
            "key-27", "key-24", "key-21", "key-18", "key-15", "key-12", "key-9", "key-6", "key-3",
            "key-0"
        ]
    );
    // The national spelling of the number finds what the international one named.
    let found = keys(
        store
            .list_events(&search("(11) 91234-5678", Some("a")))
            .await
            .expect("list"),
    );
    assert_eq!(found, ["key-20", "key-10", "key-0"]);
    // Keyset pages through the matches.
    let mut query = search("ana.lima@example.com", None);
    query.limit = Some(4);
    let mut seen = Vec::new();
    loop {
        let page = store.list_events(&query).await.expect("list");
        query.before = page.next_cursor;
        seen.extend(keys(page));
        if query.before.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 10);
    for nothing in ["nobody@example.com", "key-", "99999999"] {
        assert!(
            store
                .list_events(&search(nothing, None))
                .await
                .expect("list")
                .events
                .is_empty(),
            "{nothing}"
        );
    }
    // A blank search is no filter.
    assert_eq!(
        store
            .list_events(&search("  ", None))
            .await
            .expect("list")
            .events
            .len(),
        30
    );
    // Purged events leave no trace in the index; newer ones are still found.
    let mut newer = event("a", "key-new", b"{}");
    newer.subjects.push(ana());
    store.insert_event(newer).await.expect("insert");
    store
        .purge(Utc::now() - Duration::days(30))
        .await
        .expect("purge");
    let found = keys(
        store
            .list_events(&search("ana.lima@example.com", None))
            .await
            .expect("list"),
    );
    assert_eq!(found, ["key-new"]);
    store.close().await;
}

crate::both_backends!(
    stores_the_body_byte_for_byte_and_reads_it_back,
    a_redelivery_returns_the_original_id_and_is_stored_once,
    concurrent_inserts_with_redeliveries_store_each_event_once,
    pagination_neither_skips_nor_repeats_and_filters_apply,
    events_survive_reopening,
    a_closed_store_refuses_writes,
    events_are_found_by_their_dedupe_key_and_the_people_they_name,
);
