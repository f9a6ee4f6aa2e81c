//! The directory converges whatever the order and number of deliveries, and recipe marks are
//! taken by one caller only.

use crate::backend::TestDb;
use crate::both_backends;
use callbook_store::{
    Agent, CallRecord, Meeting, MeetingChange, MeetingDetails, MeetingStatus, PersonKey, Stamped,
    Store,
};
use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::sync::Arc;

both_backends!(
    shuffled_and_repeated_deliveries_converge,
    a_reschedule_pair_leaves_one_active_meeting,
    concurrent_merges_of_one_meeting_lose_nothing,
    a_mark_is_taken_once_and_given_way_when_old,
    calls_are_found_by_number_latest_first,
    a_batch_merges_like_one_at_a_time,
    retention_takes_marks_about_events_and_keeps_the_rest,
);

fn at(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_780_000_000 + s, 0).unwrap()
}

/// One person's invitee events: bookings, cancellations (some by reschedule), no-show marks
/// and unmarks, and the calls they made; in the order a provider would send them.
pub(crate) fn scenario(seed: u64, prefix: &str) -> (String, Vec<Meeting>, Vec<CallRecord>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let phone = format!("+1415555{:04}", rng.gen_range(0..10_000));
    let mut meetings = Vec::new();
    let invitees = rng.gen_range(1..=4);
    for i in 0..invitees {
        let invitee =
            format!("https://api.calendly.com/scheduled_events/{prefix}E{i}/invitees/I{i}");
        let mut details = MeetingDetails::new(format!("{prefix}E{i}"), "Ana Lima", at(i * 100));
        details.phone = Some(phone.clone());
        details.email = Some(format!("ana.{prefix}@example.com"));
        details.start = Some(at(86_400 * (i + 1)));
        meetings.push(Meeting::from_change(
            &invitee,
            &MeetingChange::Booked,
            Some(details.clone()),
        ));
        if rng.gen_bool(0.5) {
            let rescheduled = i + 1 < invitees && rng.gen_bool(0.5);
            let change = MeetingChange::Canceled {
                rescheduled,
                new_invitee: rescheduled.then(|| {
                    format!(
                        "https://api.calendly.com/scheduled_events/{prefix}E{}/invitees/I{}",
                        i + 1,
                        i + 1
                    )
                }),
            };
            details.updated_at = at(i * 100 + 50);
            meetings.push(Meeting::from_change(
                &invitee,
                &change,
                Some(details.clone()),
            ));
        }
        for n in 0..rng.gen_range(0..3) {
            let change = MeetingChange::NoShow {
                marked: n % 2 == 0,
                at: at(i * 100 + 60 + n),
            };
            meetings.push(Meeting::from_change(
                &invitee,
                &change,
                Some(details.clone()),
            ));
        }
    }
    let mut calls = Vec::new();
    for c in 0..rng.gen_range(0..3) {
        let id = (seed % 1_000_000_000) as i64 * 10 + c;
        for stage in 0..=rng.gen_range(0..=2u8) {
            let mut call = CallRecord::new(id);
            call.stage = stage;
            call.direction = Some("inbound".into());
            call.external_phone = Some(phone.clone());
            call.started_at = Some(at(1000 * c));
            if stage >= 1 {
                call.answered_at = Some(at(1000 * c + 5));
                call.user = Some(Stamped {
                    at: (stage, 1000 * c + 5),
                    value: Agent {
                        id: 7,
                        name: Some("Bea".into()),
                    },
                });
            }
            if stage == 2 {
                call.ended_at = Some(at(1000 * c + 65));
                call.duration = Some(65);
            }
            calls.push(call);
        }
    }
    (phone, meetings, calls)
}

async fn apply(store: &Arc<dyn Store>, meetings: &[Meeting], calls: &[CallRecord]) {
    for m in meetings {
        store.merge_meeting(m.clone()).await.expect("merge meeting");
    }
    for c in calls {
        store.merge_call(c.clone()).await.expect("merge call");
    }
}

async fn snapshot(store: &Arc<dyn Store>, phone: &str) -> (Vec<Meeting>, Vec<CallRecord>) {
    let mut meetings = store
        .meetings(&PersonKey::Phone(phone.into()), 100)
        .await
        .expect("meetings");
    meetings.sort_by(|a, b| a.invitee.cmp(&b.invitee));
    let calls = store.calls(phone, 100).await.expect("calls");
    (meetings, calls)
}

/// Applies a scenario in order to one store and shuffled, with repeats, to another: both end
/// the same.
pub(crate) async fn converges(ordered: &Arc<dyn Store>, shuffled: &Arc<dyn Store>, seed: u64) {
    let prefix = format!("s{seed}");
    let (phone, meetings, calls) = scenario(seed, &prefix);
    apply(ordered, &meetings, &calls).await;
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let mut m2: Vec<Meeting> = meetings
        .iter()
        .chain(meetings.iter().filter(|_| rng.gen_bool(0.5)))
        .cloned()
        .collect();
    let mut c2: Vec<CallRecord> = calls
        .iter()
        .chain(calls.iter().filter(|_| rng.gen_bool(0.5)))
        .cloned()
        .collect();
    m2.shuffle(&mut rng);
    c2.shuffle(&mut rng);
    apply(shuffled, &m2, &c2).await;
    let expected = snapshot(ordered, &phone).await;
    assert_eq!(snapshot(shuffled, &phone).await, expected, "seed {seed}");
    assert_eq!(
        expected
            .0
            .iter()
            .filter(|m| m.status() == MeetingStatus::Active)
            .count()
            + expected
                .0
                .iter()
                .filter(|m| m.status() != MeetingStatus::Active)
                .count(),
        expected.0.len()
    );
}

async fn shuffled_and_repeated_deliveries_converge(db: TestDb) {
    let ordered = db.open().await;
    let other = crate::backend::sqlite();
    let shuffled = other.open().await;
    for seed in 0..40 {
        converges(&ordered, &shuffled, seed).await;
    }
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(48))]
    /// The property over arbitrary seeds, on two SQLite stores kept across cases (each case's
    /// person and invitees are its own).
    #[test]
    fn any_order_of_any_repeats_converges(seed in proptest::prelude::any::<u64>()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (a, b) = (crate::backend::sqlite(), crate::backend::sqlite());
            converges(&a.open().await, &b.open().await, seed).await;
        });
    }
}

async fn a_reschedule_pair_leaves_one_active_meeting(db: TestDb) {
    let store = db.open().await;
    let old = "https://api.calendly.com/scheduled_events/A/invitees/OLD";
    let new = "https://api.calendly.com/scheduled_events/B/invitees/NEW";
    let mut details = MeetingDetails::new("A", "Ana", at(0));
    details.email = Some("ana@example.com".into());
    details.start = Some(at(100));
    let mut moved = details.clone();
    moved.event = "B".into();
    moved.start = Some(at(200));
    moved.updated_at = at(10);
    // The new booking and the cancel arrive before the original booking.
    let cancel = MeetingChange::Canceled {
        rescheduled: true,
        new_invitee: Some(new.into()),
    };
    for (invitee, change, d) in [
        (new, MeetingChange::Booked, &moved),
        (old, cancel, &details),
        (old, MeetingChange::Booked, &details),
        (old, MeetingChange::Booked, &details),
    ] {
        store
            .merge_meeting(Meeting::from_change(invitee, &change, Some(d.clone())))
            .await
            .unwrap();
    }
    let meetings = store
        .meetings(&PersonKey::Email("ana@example.com".into()), 10)
        .await
        .unwrap();
    let active: Vec<_> = meetings
        .iter()
        .filter(|m| m.status() == MeetingStatus::Active)
        .map(|m| m.invitee.as_str())
        .collect();
    assert_eq!(active, [new]);
    let old_meeting = store.meeting(old).await.unwrap().expect("stored");
    assert!(old_meeting.rescheduled);
    assert_eq!(old_meeting.new_invitee.as_deref(), Some(new));
}

async fn concurrent_merges_of_one_meeting_lose_nothing(db: TestDb) {
    let store = db.open().await;
    let invitee = "https://api.calendly.com/scheduled_events/C/invitees/I";
    let mut tasks = Vec::new();
    for n in 0..16i64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut details = MeetingDetails::new("C", format!("Name {n:02}"), at(n));
            details.phone = Some("+14155550100".into());
            let change = match n {
                3 => MeetingChange::Canceled {
                    rescheduled: false,
                    new_invitee: None,
                },
                5 => MeetingChange::NoShow {
                    marked: true,
                    at: at(5),
                },
                _ => MeetingChange::Booked,
            };
            store
                .merge_meeting(Meeting::from_change(invitee, &change, Some(details)))
                .await
                .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let m = store.meeting(invitee).await.unwrap().unwrap();
    assert!(m.canceled, "the cancel was kept");
    assert_eq!(m.no_show.map(|(_, marked)| marked), Some(true));
    assert_eq!(m.details.unwrap().name, "Name 15", "the newest details won");
}

async fn a_mark_is_taken_once_and_given_way_when_old(db: TestDb) {
    let store = db.open().await;
    let now = Utc::now();
    let mut tasks = Vec::new();
    for n in 0..12 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .put_mark("sms", "call:42", Some(&format!("{n}")), now, None)
                .await
                .unwrap()
        }));
    }
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1, "exactly one caller takes an absent mark");
    assert!(
        !store
            .put_mark("sms", "call:42", None, now, None)
            .await
            .unwrap()
    );

    let day = Duration::hours(24);
    let put = |value: &'static str, at: DateTime<Utc>, before: DateTime<Utc>| {
        let store = store.clone();
        async move {
            store
                .put_mark("sms", "caller:+1", Some(value), at, Some(before))
                .await
                .unwrap()
        }
    };
    assert!(
        put("first", now - day / 2, now - day).await,
        "an absent mark is set"
    );
    assert!(
        !put("early", now, now - day).await,
        "a mark newer than the cooldown stays"
    );
    assert!(
        put("again", now, now - day / 4).await,
        "a mark older than the cooldown gives way"
    );
    let mark = store.mark("sms", "caller:+1").await.unwrap().unwrap();
    assert_eq!(mark.value.as_deref(), Some("again"));
    assert_eq!(mark.at.timestamp_millis(), now.timestamp_millis());
    assert!(store.mark("other", "caller:+1").await.unwrap().is_none());
    assert_eq!(store.count_marks("sms", "caller:").await.unwrap(), 1);
    assert_eq!(store.count_marks("sms", "").await.unwrap(), 2);
    store.remove_mark("sms", "caller:+1").await.unwrap();
    assert!(store.mark("sms", "caller:+1").await.unwrap().is_none());
    assert_eq!(store.count_marks("sms", "caller:").await.unwrap(), 0);
}

async fn calls_are_found_by_number_latest_first(db: TestDb) {
    let store = db.open().await;
    for (id, start, phone) in [
        (1, 10, "+14155550101"),
        (2, 30, "+14155550101"),
        (3, 20, "+14155550102"),
    ] {
        let mut call = CallRecord::new(id);
        call.started_at = Some(at(start));
        call.external_phone = Some(phone.into());
        store.merge_call(call).await.unwrap();
    }
    let mut ended = CallRecord::new(1);
    ended.stage = 2;
    ended.missed_call_reason = Some("no_available_agent".into());
    store.merge_call(ended).await.unwrap();
    let calls = store.calls("+14155550101", 10).await.unwrap();
    assert_eq!(calls.iter().map(|c| c.id).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(calls[1].stage, 2);
    assert_eq!(
        calls[1].external_phone.as_deref(),
        Some("+14155550101"),
        "kept through a merge without it"
    );
    let stats = store.directory_stats().await.unwrap();
    assert_eq!((stats.meetings, stats.calls), (0, 3));
}

async fn a_batch_merges_like_one_at_a_time(db: TestDb) {
    let batched = db.open().await;
    let other = crate::backend::sqlite();
    let single = other.open().await;
    for seed in 100..110 {
        let (phone, meetings, _) = scenario(seed, &format!("b{seed}"));
        apply(&single, &meetings, &[]).await;
        // Each view twice, in one batch: repeats inside a batch merge too.
        let twice: Vec<Meeting> = meetings
            .iter()
            .chain(meetings.iter())
            .rev()
            .cloned()
            .collect();
        batched.merge_meetings(twice).await.expect("batch");
        assert_eq!(
            snapshot(&batched, &phone).await,
            snapshot(&single, &phone).await,
            "seed {seed}"
        );
    }
}

async fn retention_takes_marks_about_events_and_keeps_the_rest(db: TestDb) {
    let store = db.open().await;
    let old = Utc::now() - Duration::days(40);
    for key in [
        "event:skip:E1",
        "event:card:42",
        "contact:+14155550100",
        "caller:+14155550100",
    ] {
        assert!(
            store
                .put_mark("r", key, Some("x"), old, None)
                .await
                .unwrap()
        );
    }
    assert!(
        store
            .put_mark("r", "event:skip:E2", None, Utc::now(), None)
            .await
            .unwrap()
    );
    store.purge(Utc::now() - Duration::days(30)).await.unwrap();
    assert_eq!(
        store.count_marks("r", "event:").await.unwrap(),
        1,
        "the recent one stays"
    );
    assert!(
        store
            .mark("r", "contact:+14155550100")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .mark("r", "caller:+14155550100")
            .await
            .unwrap()
            .is_some()
    );
}
