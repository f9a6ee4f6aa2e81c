//! How many events per second the store commits with N concurrent writers, without HTTP.
//! `cargo run --release -p callbook-store --example insert_rate -- [events] [concurrency]`

use callbook_store::{Durability, NewEvent, Provider};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let events: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let concurrency: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(32);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async move {
        let dir = std::env::temp_dir().join(format!("callbook-insert-rate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let url = format!("sqlite://{}", dir.join("rate.db").display());
        let store = callbook_store::open(&url, Durability::Process).await.expect("open");
        let body = vec![b'x'; 1735];
        let started = Instant::now();
        let mut tasks = Vec::new();
        for worker in 0..concurrency {
            let (store, body) = (store.clone(), body.clone());
            tasks.push(tokio::spawn(async move {
                for i in (worker..events).step_by(concurrency) {
                    let mut e = NewEvent::new("bench", Provider::Calendly, format!("calendly:invitee.created:https://api.calendly.com/scheduled_events/E/invitees/{i:016}:2020-11-23T17:51:19Z"), body.clone());
                    e.headers = vec![("content-type".into(), "application/json".into())];
                    e.occurred_at = Some(chrono::Utc::now());
                    store.insert_event(e).await.expect("insert");
                }
            }));
        }
        for t in tasks {
            t.await.expect("join");
        }
        let secs = started.elapsed().as_secs_f64();
        println!("{events} events, {concurrency} concurrent: {:.0} events/s", events as f64 / secs);
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}
