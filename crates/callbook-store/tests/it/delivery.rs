use crate::backend::TestDb;
use callbook_store::*;
use chrono::{Duration as Days, Utc};
use std::time::Duration;

fn event(key: &str, destinations: &[&str]) -> NewEvent {
    let mut e = NewEvent::new(
        "cal",
        Provider::Calendly,
        key,
        format!("body-{key}").into_bytes(),
    );
    e.event_type = Some("invitee.created".into());
    e.destinations = destinations.iter().map(|d| d.to_string()).collect();
    e
}

fn attempt(status: Option<u16>) -> AttemptRecord {
    let mut a: AttemptRecord = serde_json::from_value(serde_json::json!({
        "attempted_at": Utc::now(), "status_code": status, "latency_ms": 3,
        "error": null, "response_excerpt": "ok"
    }))
    .expect("record");
    if status.is_none() {
        a.error = Some("connection refused".into());
    }
    a
}

async fn the_outbox_is_written_with_the_event_and_not_for_duplicates(db: TestDb) {
    let store = db.open().await;
    let first = store
        .insert_event(event("k1", &["crm", "warehouse"]))
        .await
        .expect("insert");
    let dup = store
        .insert_event(event("k1", &["crm", "warehouse"]))
        .await
        .expect("insert");
    assert!(dup.duplicate);
    let page = store
        .list_deliveries(&DeliveryQuery::default())
        .await
        .expect("list");
    assert_eq!(page.deliveries.len(), 2);
    assert!(page.deliveries.iter().all(|d| d.event_id == first.id));
    assert!(
        page.deliveries
            .iter()
            .all(|d| d.state == DeliveryState::Pending)
    );
    store.close().await;
}

async fn pre_claimed_deliveries_are_leased_to_the_inserter_until_the_lease_ends(db: TestDb) {
    let store = db.open().await;
    let now = Utc::now();
    // A short lease, really run out below (PostgreSQL compares leases with its own clock).
    let lease_end = now + Days::milliseconds(1500);
    let mut e = event("k1", &["crm", "warehouse"]);
    let mut pre = PreClaim::new("ingest-1", lease_end);
    let crm = pre.add("crm");
    e.pre_claim = Some(pre.clone());
    let stored = store.insert_event(e).await.expect("insert");
    assert!(!stored.duplicate);

    // The pre-claimed one has the caller's ID and nobody else can claim it while leased...
    assert!(
        store
            .claim("crm", "w2", now, Duration::from_secs(30), 10)
            .await
            .expect("claim")
            .is_empty()
    );
    let (delivery, _) = store.get_delivery(crm).await.expect("get").expect("found");
    assert_eq!(
        (delivery.event_id, delivery.destination.as_str()),
        (stored.id, "crm")
    );
    // ...the other destination's delivery is an ordinary one...
    let warehouse = store
        .claim("warehouse", "w2", Utc::now(), Duration::from_secs(30), 10)
        .await
        .expect("claim");
    assert_eq!(warehouse.len(), 1);
    assert_ne!(warehouse[0].id, crm);
    // ...and once the lease has run out (the inserter died), a worker takes it over.
    tokio::time::sleep((lease_end - Utc::now()).to_std().unwrap_or_default()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let taken = store
        .claim("crm", "w2", Utc::now(), Duration::from_secs(30), 10)
        .await
        .expect("claim");
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].id, crm);

    // A redelivery writes nothing, pre-claimed or not.
    let mut again = event("k1", &["crm", "warehouse"]);
    let mut pre = PreClaim::new("ingest-1", lease_end);
    let unused = pre.add("crm");
    again.pre_claim = Some(pre);
    assert!(store.insert_event(again).await.expect("insert").duplicate);
    assert!(store.get_delivery(unused).await.expect("get").is_none());
    store.close().await;
}

/// Attempts made right after the insert, before anything reads (on SQLite they come back
/// while the event is still in the intake log, and are written with the delivery row).
async fn attempts_finished_right_after_the_insert_are_recorded_as_made(db: TestDb) {
    let store = db.open().await;
    let now = Utc::now();
    let retry_at = now + Days::seconds(60);
    let lease = now + Days::seconds(30);
    let cases: [&[(Option<u16>, Outcome)]; 4] = [
        &[(Some(204), Outcome::Succeeded)],
        &[(Some(503), Outcome::Retry(retry_at))],
        &[(None, Outcome::Dead)],
        &[
            (Some(503), Outcome::Retry(now)),
            (Some(200), Outcome::Succeeded),
        ],
    ];
    let mut crm = Vec::new();
    for (i, attempts) in cases.iter().enumerate() {
        let mut e = event(&format!("made-{i}"), &["crm", "warehouse"]);
        let mut pre = PreClaim::new("ingest-1", lease);
        let id = pre.add("crm");
        e.pre_claim = Some(pre);
        let mut lease = e.pre_claim.as_ref().expect("pre-claim").owner.clone();
        store.insert_event(e).await.expect("insert");
        for (n, (status, outcome)) in attempts.iter().enumerate() {
            if n > 0 {
                // A later attempt is made under a claim of its own.
                let claimed = store
                    .claim("crm", "w1", now, Duration::from_secs(30), 10)
                    .await
                    .expect("claim");
                lease = claimed
                    .iter()
                    .find(|c| c.id == id)
                    .expect("due")
                    .lease
                    .clone();
            }
            store
                .complete(id, &lease, attempt(*status), *outcome)
                .await
                .expect("complete");
        }
        crm.push(id);
    }

    let expected = [
        (DeliveryState::Succeeded, 1, Some(204)),
        (DeliveryState::Pending, 1, Some(503)),
        (DeliveryState::Dead, 1, None),
        (DeliveryState::Succeeded, 2, Some(200)),
    ];
    for ((id, attempts), (state, count, last_status)) in crm.iter().zip(cases).zip(expected) {
        let (d, recorded) = store.get_delivery(*id).await.expect("get").expect("found");
        assert_eq!(
            (d.state, d.attempts, d.last_status),
            (state, count, last_status),
            "{d:?}"
        );
        let statuses: Vec<_> = recorded.iter().map(|a| a.status_code).collect();
        let made: Vec<_> = attempts.iter().map(|(s, _)| *s).collect();
        assert_eq!(statuses, made);
        assert_eq!(d.last_error.is_some(), last_status.is_none(), "{d:?}");
    }
    // The retried one is no longer leased: due at its retry time, and only then.
    let claim = |at| store.claim("crm", "w2", at, Duration::from_secs(30), 10);
    assert!(claim(now).await.expect("claim").is_empty());
    let due = claim(retry_at).await.expect("claim");
    assert_eq!(due.iter().map(|c| c.id).collect::<Vec<_>>(), [crm[1]]);
    assert_eq!(due[0].attempts, 1);
    // The other destination's deliveries were not touched.
    let warehouse = store
        .claim("warehouse", "w2", Utc::now(), Duration::from_secs(30), 10)
        .await
        .expect("claim");
    assert_eq!(warehouse.len(), 4);
    store.close().await;
}

/// Inserts, redeliveries, attempts, claims and reads, all at once (on SQLite some batches go
/// through the intake log and some commit directly): every event is stored once, with one
/// delivery per destination, and every attempt is recorded once.
async fn concurrent_inserts_attempts_claims_and_reads_stay_consistent(db: TestDb) {
    const EVENTS: usize = 180;
    let store = db.open().await;
    let lease = Utc::now() + Days::seconds(60);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..EVENTS + 20 {
        let store = store.clone();
        tasks.spawn(async move {
            // The last 20 redeliver the first 20, possibly in the same batch.
            let key = format!("mix-{}", i % EVENTS);
            let mut e = event(&key, &["crm", "warehouse"]);
            let mut pre = PreClaim::new("ingest-1", lease);
            let crm = pre.add("crm");
            let token = pre.owner.clone();
            e.pre_claim = Some(pre);
            let stored = store.insert_event(e).await.expect("insert");
            if !stored.duplicate {
                store
                    .complete(crm, &token, attempt(Some(200)), Outcome::Succeeded)
                    .await
                    .expect("complete");
            }
            if i % 20 == 0 {
                store
                    .get_event(stored.id)
                    .await
                    .expect("read")
                    .expect("found");
            }
            (key, stored)
        });
    }
    // Meanwhile, the other destination's deliveries are claimed and attempted.
    let claimer = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut attempted = 0;
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while attempted < EVENTS && std::time::Instant::now() < deadline {
                let claimed = store
                    .claim("warehouse", "w", Utc::now(), Duration::from_secs(60), 16)
                    .await
                    .expect("claim");
                for c in &claimed {
                    let later = Utc::now() + Days::seconds(3600);
                    store
                        .complete(c.id, &c.lease, attempt(Some(503)), Outcome::Retry(later))
                        .await
                        .expect("complete");
                }
                attempted += claimed.len();
                if claimed.is_empty() {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
            attempted
        })
    };
    let mut ids = std::collections::HashMap::new();
    while let Some(joined) = tasks.join_next().await {
        let (key, stored) = joined.expect("task");
        let id = *ids.entry(key).or_insert(stored.id);
        assert_eq!(id, stored.id, "a redelivery gets the original's ID");
    }
    assert_eq!(claimer.await.expect("claimer"), EVENTS, "each claimed once");
    assert_eq!(ids.len(), EVENTS);

    let page = store
        .list_events(&EventQuery {
            limit: Some(1000),
            ..EventQuery::default()
        })
        .await
        .expect("list");
    assert_eq!(page.events.len(), EVENTS, "each stored once");
    for id in ids.values() {
        let query = DeliveryQuery {
            event_id: Some(*id),
            ..DeliveryQuery::default()
        };
        let mut deliveries = store
            .list_deliveries(&query)
            .await
            .expect("list")
            .deliveries;
        deliveries.sort_by(|a, b| a.destination.cmp(&b.destination));
        let states: Vec<_> = deliveries
            .iter()
            .map(|d| (d.destination.as_str(), d.state, d.attempts, d.last_status))
            .collect();
        assert_eq!(
            states,
            [
                ("crm", DeliveryState::Succeeded, 1, Some(200)),
                ("warehouse", DeliveryState::Pending, 1, Some(503)),
            ]
        );
        for d in &deliveries {
            let (_, attempts) = store.get_delivery(d.id).await.expect("get").expect("found");
            assert_eq!(attempts.len(), 1, "{d:?}");
        }
    }
    store.close().await;
}

async fn claims_lease_complete_and_retry(db: TestDb) {
    let store = db.open().await;
    store
        .insert_event(event("k1", &["crm"]))
        .await
        .expect("insert");
    let short = Duration::from_millis(300);
    let claimed = store
        .claim("crm", "w1", Utc::now(), short, 10)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].body, b"body-k1");
    assert_eq!(claimed[0].attempts, 0);
    // Leased: nobody else gets it, not even the same destination's next tick.
    assert!(
        store
            .claim("crm", "w2", Utc::now(), short, 10)
            .await
            .expect("c")
            .is_empty()
    );
    // After the lease expires (a crashed worker), it comes back.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let later = Utc::now();
    let again = store
        .claim("crm", "w2", later, Duration::from_secs(30), 10)
        .await
        .expect("c");
    assert_eq!(again.len(), 1);
    assert_ne!(
        again[0].lease, claimed[0].lease,
        "each claim has a lease of its own"
    );

    let retry_at = later + Days::seconds(5);
    store
        .complete(
            again[0].id,
            &again[0].lease,
            attempt(Some(503)),
            Outcome::Retry(retry_at),
        )
        .await
        .expect("done");
    assert!(
        store
            .claim("crm", "w2", later, Duration::from_secs(30), 10)
            .await
            .expect("c")
            .is_empty()
    );
    let third = store
        .claim("crm", "w2", retry_at, Duration::from_secs(30), 10)
        .await
        .expect("c");
    assert_eq!(third[0].attempts, 1);
    store
        .complete(
            third[0].id,
            &third[0].lease,
            attempt(Some(200)),
            Outcome::Succeeded,
        )
        .await
        .expect("done");

    let (delivery, attempts) = store
        .get_delivery(third[0].id)
        .await
        .expect("get")
        .expect("found");
    assert_eq!(delivery.state, DeliveryState::Succeeded);
    assert_eq!(delivery.attempts, 2);
    assert_eq!(delivery.last_status, Some(200));
    assert_eq!(
        attempts.iter().map(|a| a.status_code).collect::<Vec<_>>(),
        [Some(503), Some(200)]
    );
    store.close().await;
}

async fn dead_deliveries_replay_and_single_retry(db: TestDb) {
    let store = db.open().await;
    store
        .insert_event(event("k1", &["crm"]))
        .await
        .expect("insert");
    store
        .insert_event(event("k2", &["crm"]))
        .await
        .expect("insert");
    let now = Utc::now() + Days::seconds(1);
    for c in store
        .claim("crm", "w", now, Duration::from_secs(30), 10)
        .await
        .expect("claim")
    {
        store
            .complete(c.id, &c.lease, attempt(None), Outcome::Dead)
            .await
            .expect("dead");
    }
    let q = DeliveryQuery {
        state: Some(DeliveryState::Dead),
        ..Default::default()
    };
    let dead = store.list_deliveries(&q).await.expect("list").deliveries;
    assert_eq!(dead.len(), 2);
    assert!(store.retry_delivery(dead[0].id, now).await.expect("retry"));
    assert_eq!(
        store
            .claim("crm", "w", now, Duration::from_secs(30), 10)
            .await
            .expect("c")
            .len(),
        1
    );
    assert_eq!(
        store
            .replay("crm", Replay::Dead, now)
            .await
            .expect("replay"),
        1
    );
    let stats = store.queue_stats(now).await.expect("stats");
    assert_eq!(stats[0].pending, 2);
    assert!(
        !store
            .retry_delivery(DeliveryId::new(), now)
            .await
            .expect("retry")
    );
    store.close().await;
}

async fn queue_stats_count_the_queue_not_the_history(db: TestDb) {
    let store = db.open().await;
    for key in ["k1", "k2", "k3", "k4"] {
        store
            .insert_event(event(key, &["crm", "warehouse"]))
            .await
            .expect("insert");
    }
    let now = Utc::now() + Days::seconds(1);
    let crm = store
        .claim("crm", "w", now, Duration::from_secs(30), 3)
        .await
        .expect("claim");
    // crm: one succeeded, one dead, one retrying later, one still due.
    let later = now + Days::seconds(60);
    for (c, outcome) in crm
        .iter()
        .zip([Outcome::Succeeded, Outcome::Dead, Outcome::Retry(later)])
    {
        store
            .complete(c.id, &c.lease, attempt(Some(500)), outcome)
            .await
            .expect("complete");
    }
    let stats = store.queue_stats(now).await.expect("stats");
    let of = |name: &str| {
        stats
            .iter()
            .find(|s| s.destination == name)
            .map(|s| (s.pending, s.due, s.dead, s.oldest_due.is_some()))
    };
    assert_eq!(of("crm"), Some((2, 1, 1, true)));
    assert_eq!(of("warehouse"), Some((4, 4, 0, true)));
    store.close().await;
}

async fn replaying_a_time_range_covers_events_a_destination_never_had(db: TestDb) {
    let store = db.open().await;
    let start = Utc::now();
    store
        .insert_event(event("k1", &["crm"]))
        .await
        .expect("insert");
    store.insert_event(event("k2", &[])).await.expect("insert");
    let n = store
        .replay(
            "warehouse",
            Replay::Range {
                since: start - Days::seconds(5),
                until: Utc::now() + Days::seconds(5),
                filter: EventFilter::all(),
            },
            Utc::now(),
        )
        .await
        .expect("replay");
    assert_eq!(n, 2);
    let n = store
        .replay(
            "crm",
            Replay::Range {
                since: start - Days::seconds(5),
                until: Utc::now() + Days::seconds(5),
                filter: EventFilter::all(),
            },
            Utc::now(),
        )
        .await
        .expect("replay");
    assert_eq!(n, 2, "one rescheduled, one created");
    store.close().await;
}

async fn replaying_a_time_range_applies_the_destinations_filter(db: TestDb) {
    let store = db.open().await;
    let start = Utc::now();
    // The CRM takes Calendly invitees only; it had the first event, not the second.
    store
        .insert_event(event("k1", &["crm"]))
        .await
        .expect("insert");
    store.insert_event(event("k2", &[])).await.expect("insert");
    let mut call = NewEvent::new("air", Provider::Aircall, "k3", b"call".to_vec());
    call.event_type = Some("call.created".into());
    store.insert_event(call).await.expect("insert");
    let mut other_type = event("k4", &["crm"]);
    other_type.event_type = Some("routing_form_submission.created".into());
    store.insert_event(other_type).await.expect("insert");
    let range = |filter| Replay::Range {
        since: start - Days::seconds(5),
        until: Utc::now() + Days::seconds(5),
        filter,
    };
    let crm = EventFilter::new(vec!["invitee.*".into()], vec!["cal".into()]);
    let n = store
        .replay("crm", range(crm.clone()), Utc::now())
        .await
        .expect("replay");
    assert_eq!(
        n, 2,
        "k1 rescheduled and k2 created; the call and k4 left alone"
    );
    let n = store
        .replay("crm", range(crm), Utc::now())
        .await
        .expect("replay");
    assert_eq!(n, 2, "a second replay reschedules the same two");
    let n = store
        .replay(
            "crm",
            range(EventFilter::new(vec!["*".into()], vec!["air".into()])),
            Utc::now(),
        )
        .await
        .expect("replay");
    assert_eq!(n, 1, "only the call");
    store.close().await;
}

async fn destinations_can_be_disabled_and_enabled(db: TestDb) {
    let store = db.open().await;
    store
        .set_destination_disabled("crm", Some("410 Gone"), Utc::now())
        .await
        .expect("disable");
    let states = store.destination_states().await.expect("states");
    assert_eq!(states[0].reason.as_deref(), Some("410 Gone"));
    assert!(states[0].disabled_at.is_some());
    store
        .set_destination_disabled("crm", None, Utc::now())
        .await
        .expect("enable");
    assert!(
        store.destination_states().await.expect("states")[0]
            .disabled_at
            .is_none()
    );
    store.close().await;
}

async fn purge_removes_old_events_with_their_deliveries(db: TestDb) {
    let store = db.open().await;
    let mut old = event("old", &["crm"]);
    old.received_at = Utc::now() - Days::days(40);
    store.insert_event(old).await.expect("insert");
    store
        .insert_event(event("new", &["crm"]))
        .await
        .expect("insert");
    let now = Utc::now();
    for c in store
        .claim("crm", "w", now, Duration::from_secs(30), 10)
        .await
        .expect("claim")
    {
        store
            .complete(c.id, &c.lease, attempt(Some(200)), Outcome::Succeeded)
            .await
            .expect("ok");
    }
    let report = store
        .purge(Utc::now() - Days::days(30))
        .await
        .expect("purge");
    assert_eq!(
        (report.events, report.deliveries, report.attempts),
        (1, 1, 1)
    );
    assert_eq!(
        store
            .list_events(&EventQuery::default())
            .await
            .expect("l")
            .events
            .len(),
        1
    );
    store.close().await;
}

/// A worker whose lease expired while it was attempting (a slow destination, a paused
/// process) comes back after another worker claimed the delivery and succeeded: its late
/// outcome is recorded as an attempt, and changes nothing else.
async fn a_stale_completion_does_not_overwrite_a_newer_one(db: TestDb) {
    let store = db.open().await;
    store
        .insert_event(event("stale", &["crm"]))
        .await
        .expect("insert");
    let slow = store
        .claim("crm", "w1", Utc::now(), Duration::from_millis(200), 10)
        .await
        .expect("claim")
        .remove(0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fast = store
        .claim("crm", "w2", Utc::now(), Duration::from_secs(30), 10)
        .await
        .expect("claim")
        .remove(0);
    store
        .complete(fast.id, &fast.lease, attempt(Some(200)), Outcome::Succeeded)
        .await
        .expect("complete");
    store
        .complete(slow.id, &slow.lease, attempt(None), Outcome::Dead)
        .await
        .expect("a late completion is accepted");
    let (d, attempts) = store
        .get_delivery(fast.id)
        .await
        .expect("get")
        .expect("found");
    assert_eq!(d.state, DeliveryState::Succeeded, "{d:?}");
    assert_eq!((d.attempts, d.last_status), (1, Some(200)));
    assert_eq!(attempts.len(), 2, "both attempts are in the history");
    // Nor does a dead-letter replay pick it up: it is not dead.
    assert_eq!(
        store
            .replay("crm", Replay::Dead, Utc::now())
            .await
            .expect("replay"),
        0
    );
    // A stale postpone does not move it either.
    store
        .postpone(slow.id, &slow.lease, Utc::now() + Days::seconds(60))
        .await
        .expect("postpone");
    let (d, _) = store
        .get_delivery(fast.id)
        .await
        .expect("get")
        .expect("found");
    assert_eq!(d.state, DeliveryState::Succeeded);
    store.close().await;
}

/// A retry asked for while an attempt is in flight neither lets a second worker take the
/// delivery meanwhile nor is lost when the attempt comes back: the delivery is then due.
async fn a_retry_during_an_attempt_waits_for_it_then_is_due(db: TestDb) {
    let store = db.open().await;
    store
        .insert_event(event("inflight", &["crm"]))
        .await
        .expect("insert");
    let now = Utc::now();
    let busy = store
        .claim("crm", "w1", now, Duration::from_secs(30), 10)
        .await
        .expect("claim")
        .remove(0);
    assert!(
        store
            .retry_delivery(busy.id, Utc::now())
            .await
            .expect("retry")
    );
    assert!(
        store
            .claim("crm", "w2", Utc::now(), Duration::from_secs(30), 10)
            .await
            .expect("claim")
            .is_empty(),
        "the attempt in flight still holds it"
    );
    store
        .complete(busy.id, &busy.lease, attempt(Some(200)), Outcome::Succeeded)
        .await
        .expect("complete");
    let (d, _) = store
        .get_delivery(busy.id)
        .await
        .expect("get")
        .expect("found");
    assert_eq!(
        d.state,
        DeliveryState::Pending,
        "the retry asked for stands"
    );
    assert_eq!(d.attempts, 1);
    let again = store
        .claim("crm", "w2", Utc::now(), Duration::from_secs(30), 10)
        .await
        .expect("claim");
    assert_eq!(again.len(), 1, "due at once");
    store.close().await;
}

crate::both_backends!(
    a_stale_completion_does_not_overwrite_a_newer_one,
    a_retry_during_an_attempt_waits_for_it_then_is_due,
    the_outbox_is_written_with_the_event_and_not_for_duplicates,
    pre_claimed_deliveries_are_leased_to_the_inserter_until_the_lease_ends,
    attempts_finished_right_after_the_insert_are_recorded_as_made,
    concurrent_inserts_attempts_claims_and_reads_stay_consistent,
    claims_lease_complete_and_retry,
    dead_deliveries_replay_and_single_retry,
    queue_stats_count_the_queue_not_the_history,
    replaying_a_time_range_covers_events_a_destination_never_had,
    replaying_a_time_range_applies_the_destinations_filter,
    destinations_can_be_disabled_and_enabled,
    purge_removes_old_events_with_their_deliveries,
);
