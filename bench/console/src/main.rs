//! How long the console's pages take with a large store: fills a SQLite store with N events
//! (the seed `invitee.created`, 1,750 bytes each), serves the gateway on loopback, signs in, and
//! times each page over repeated requests.
//!
//!     cargo run --release -p callbook-console-bench -- [events=1000000] [requests=200]

use callbook_store::{Durability, EventId, NewEvent, ParseStatus, Provider, Subject};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SEED: &[u8] = include_bytes!(
    "../../../crates/callbook-models/tests/fixtures/calendly/seed_invitee_created.json"
);
const TOKEN: &str = "console-bench-admin-token-0123456789";

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let events: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let requests: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("console.db");
    let url = format!("sqlite://{}", db.display());

    // Fill the store: 64 writers, group commit.
    let store = callbook_store::open(&url, Durability::Process)
        .await
        .expect("store");
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut writers = Vec::new();
    for _ in 0..64 {
        let (store, next) = (store.clone(), next.clone());
        writers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= events {
                    break;
                }
                // One event in 50 is an Aircall one, so the provider filter has work to do.
                let (provider, event_type) = if i % 50 == 0 {
                    (Provider::Aircall, "call.ended")
                } else {
                    (Provider::Calendly, "invitee.created")
                };
                let mut event = NewEvent::new("cal", provider, format!("bench:{i}"), SEED.to_vec());
                event.id = EventId::new();
                event.event_type = Some(event_type.to_owned());
                event.parse_status = ParseStatus::Parsed;
                event.headers = vec![("content-type".into(), "application/json".into())];
                // 20,000 people with 50 events each: what a search has to find.
                let person = i % 20_000;
                event.subjects = [
                    Subject::email(&format!("person{person}@example.com")),
                    Subject::phone(&format!("+55 11 9{person:08}")),
                ]
                .into_iter()
                .flatten()
                .collect();
                store.insert_event(event).await.expect("insert");
            }
        }));
    }
    for w in writers {
        w.await.expect("writer");
    }
    let filled = started.elapsed();
    store.close().await;
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!(
        "filled {events} events in {:.1} s ({:.0}/s), database {:.0} MiB",
        filled.as_secs_f64(),
        events as f64 / filled.as_secs_f64(),
        size as f64 / (1 << 20) as f64
    );

    let config = callbook_server::Config::from_toml(&format!(
        "[database]\nurl = \"{url}\"\n[admin]\ntoken = \"{TOKEN}\"\n\
         [[sources]]\nname = \"cal\"\nprovider = \"calendly\"\nsigning_keys = [\"k\"]\n"
    ))
    .expect("config");
    let gateway = callbook_server::Server::from_config(config)
        .await
        .expect("server")
        .start()
        .await
        .expect("start");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let app = gateway.router();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let cookie = http
        .post(format!("{base}/ui/login"))
        .form(&[("token", TOKEN)])
        .send()
        .await
        .expect("sign in")
        .headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("cookie")
        .to_owned();
    // An event from the middle of the store, and a cursor there.
    let admin: serde_json::Value = http
        .get(format!("{base}/admin/events?limit=1000"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("admin")
        .json()
        .await
        .expect("json");
    let some_id = admin["events"][500]["id"].as_str().expect("id").to_owned();

    let pages = [
        ("events, first page", "/ui/events".to_owned()),
        (
            "events, a page deep in the store",
            format!("/ui/events?cursor={some_id}"),
        ),
        (
            "events of one provider and type",
            "/ui/events?provider=aircall&event_type=call.ended".to_owned(),
        ),
        (
            "events of a source with none",
            "/ui/events?source=nothing-here".to_owned(),
        ),
        // No index leads with the type: the worst case, a scan of every event.
        (
            "events of a type with none",
            "/ui/events?event_type=nothing.here".to_owned(),
        ),
        (
            "search: an address (50 events)",
            "/ui/events?search=Person4242%40example.com".to_owned(),
        ),
        (
            "search: a phone number, national spelling",
            "/ui/events?search=%2811%29%209000-04242".to_owned(),
        ),
        (
            "search: a de-duplication key",
            "/ui/events?search=bench%3A777777".to_owned(),
        ),
        (
            "search: an address with no events",
            "/ui/events?search=nobody%40example.com".to_owned(),
        ),
        ("one event", format!("/ui/events/{some_id}")),
        ("dead letters", "/ui/dead".to_owned()),
        ("destinations", "/ui/destinations".to_owned()),
    ];
    println!("| page | p50 | p99 | max |");
    println!("|---|---|---|---|");
    for (name, path) in pages {
        let mut times = Vec::with_capacity(requests);
        for _ in 0..requests {
            let t = Instant::now();
            let response = http
                .get(format!("{base}{path}"))
                .header("cookie", &cookie)
                .send()
                .await
                .expect("get");
            assert_eq!(response.status(), 200, "{path}");
            response.bytes().await.expect("body");
            times.push(t.elapsed());
        }
        times.sort();
        let at = |q: f64| times[((times.len() as f64 - 1.0) * q) as usize];
        let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
        println!(
            "| {name} | {} | {} | {} |",
            ms(at(0.5)),
            ms(at(0.99)),
            ms(at(1.0))
        );
    }
    gateway.shutdown().await;
}
