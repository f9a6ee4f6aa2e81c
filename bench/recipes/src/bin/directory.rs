//! Directory lookups with many meetings stored: `directory [sqlite|postgres://URL]
//! [MEETINGS] [LOOKUPS]` (bench/recipes.sh runs both, with a throwaway PostgreSQL). Fills the directory (people with one to three meetings each, a few
//! calls), then times lookups by phone and by email through the store, and the whole card a
//! call would get (meetings and calls) through callbook-recipes. Prints percentiles in µs.

use callbook_recipes::{Context, PhoneReader, card_for};
use callbook_store::{CallRecord, Meeting, MeetingChange, MeetingDetails, PersonKey, Store};
use chrono::{DateTime, Duration, Utc};
use hdrhistogram::Histogram;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::Instant;

fn phone(person: u64) -> String {
    format!("+1415{:07}", person)
}

fn email(person: u64) -> String {
    format!("person{person}@example.com")
}

/// The meetings of person `p`: one to three, one of them upcoming.
fn meetings_of(p: u64, now: DateTime<Utc>) -> Vec<Meeting> {
    (0..=(p % 3))
        .map(|k| {
            let invitee =
                format!("https://api.calendly.com/scheduled_events/E{p}x{k}/invitees/I{p}x{k}");
            let mut d = MeetingDetails::new(format!("E{p}x{k}"), format!("Person {p}"), now);
            d.phone = Some(phone(p));
            d.email = Some(email(p));
            d.event_name = Some("Discovery call".into());
            d.timezone = Some("America/Sao_Paulo".into());
            d.start =
                Some(now + Duration::days(k as i64 * 7 - 7) + Duration::minutes(p as i64 % 600));
            d.reschedule_url = Some(format!("https://calendly.com/reschedulings/I{p}x{k}"));
            Meeting::from_change(invitee, &MeetingChange::Booked, Some(d))
        })
        .collect()
}

fn report(name: &str, h: &Histogram<u64>) {
    println!(
        "{name:<22} n={:<6} p50={:>6} p90={:>6} p99={:>6} p99.9={:>6} max={:>7} µs",
        h.len(),
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.9),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.max()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let backend = args.next().unwrap_or_else(|| "sqlite".into());
    let target: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let lookups: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let dir = tempfile::tempdir().expect("tmp");
    let url = if backend.starts_with("postgres") {
        backend.clone()
    } else {
        format!("sqlite://{}", dir.path().join("directory.db").display())
    };
    let backend = if backend.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    let store: Arc<dyn Store> = callbook_store::open(&url, callbook_store::Durability::Process)
        .await
        .expect("open store");
    let now = Utc::now();

    let started = Instant::now();
    let (mut meetings, mut person) = (0u64, 0u64);
    let mut batch = Vec::new();
    while meetings < target {
        let m = meetings_of(person, now);
        meetings += m.len() as u64;
        batch.extend(m);
        if person % 7 == 0 {
            let mut call = CallRecord::new(person as i64);
            call.stage = 2;
            call.direction = Some("inbound".into());
            call.external_phone = Some(phone(person));
            call.started_at = Some(now - Duration::days(1));
            store.merge_call(call).await.expect("call");
        }
        person += 1;
        if batch.len() >= 5000 {
            store
                .merge_meetings(std::mem::take(&mut batch))
                .await
                .expect("fill");
        }
    }
    store.merge_meetings(batch).await.expect("fill");
    let stats = store.directory_stats().await.expect("stats");
    println!(
        "{backend}: {} meetings of {person} people, {} calls, filled in {:.1?}",
        stats.meetings,
        stats.calls,
        started.elapsed()
    );

    let ctx = Context::new(store.clone(), PhoneReader::new("US").expect("region"));
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let (mut by_phone, mut by_email, mut card) = (
        Histogram::<u64>::new(3).unwrap(),
        Histogram::<u64>::new(3).unwrap(),
        Histogram::<u64>::new(3).unwrap(),
    );
    for i in 0..lookups {
        let p = rng.gen_range(0..person);
        let t = Instant::now();
        let found = if i % 2 == 0 {
            let found = store
                .meetings(&PersonKey::Phone(phone(p)), 100)
                .await
                .expect("lookup");
            by_phone.record(t.elapsed().as_micros() as u64).unwrap();
            found
        } else {
            let found = store
                .meetings(&PersonKey::Email(email(p)), 100)
                .await
                .expect("lookup");
            by_email.record(t.elapsed().as_micros() as u64).unwrap();
            found
        };
        assert_eq!(found.len() as u64, p % 3 + 1, "person {p}");
        let t = Instant::now();
        let c = card_for(&ctx, &phone(p), None, now).await.expect("card");
        card.record(t.elapsed().as_micros() as u64).unwrap();
        assert!(c.is_some());
    }
    report("lookup by phone", &by_phone);
    report("lookup by email", &by_email);
    report("card (meetings+calls)", &card);
    store.close().await;
}
