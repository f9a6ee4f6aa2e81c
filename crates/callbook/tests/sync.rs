//! `callbook calendly sync` against a stand-in for Calendly's API: it fills the directory,
//! running it twice changes nothing, and a run cut short resumes where it stopped.

mod support;

use serde_json::{Value, json};
use std::path::Path;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const USER: &str = "https://api.calendly.com/users/SYNCUSER";
const ORG: &str = "https://api.calendly.com/organizations/SYNCORG";

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(format!(
        "{}/../callbook-models/tests/fixtures/calendly/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn event(n: u32) -> Value {
    let mut e = fixture("spec2023_list_scheduled_events.json")["collection"][0].clone();
    e["uri"] = json!(format!("https://api.calendly.com/scheduled_events/EV{n}"));
    e["name"] = json!("Discovery call");
    e["start_time"] = json!(format!("2026-12-{:02}T15:00:00.000000Z", 10 + n));
    e["end_time"] = json!(format!("2026-12-{:02}T15:30:00.000000Z", 10 + n));
    e
}

fn invitee(event: u32, n: u32, email: &str, phone: &str, status: &str) -> Value {
    let mut i = fixture("spec2023_list_invitees.json")["collection"][0].clone();
    i["uri"] = json!(format!(
        "https://api.calendly.com/scheduled_events/EV{event}/invitees/IN{n}"
    ));
    i["event"] = json!(format!(
        "https://api.calendly.com/scheduled_events/EV{event}"
    ));
    i["email"] = json!(email);
    i["text_reminder_number"] = json!(phone);
    i["status"] = json!(status);
    i
}

fn page(collection: Vec<Value>, next: Option<&str>) -> Value {
    json!({"collection": collection, "pagination": {"count": 2, "next_page_token": next, "next_page": next.map(|t| format!("https://api.calendly.com/x?page_token={t}"))}})
}

async fn calendly(server: &MockServer, fail_second_event: bool) {
    Mock::given(method("GET"))
        .and(path("/users/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"resource": {
            "uri": USER, "name": "Ada", "email": "ada@example.com",
            "created_at": "2024-01-02T03:04:05.000000Z", "updated_at": "2024-01-02T03:04:05.000000Z",
            "current_organization": ORG
        }})))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/scheduled_events"))
        .and(query_param("user", USER))
        .and(query_param_is_missing("page_token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(page(vec![event(1), event(2)], Some("P2"))),
        )
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/scheduled_events"))
        .and(query_param("page_token", "P2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(vec![event(3)], None)))
        .mount(server)
        .await;
    let invitees = [
        (
            1,
            vec![invitee(
                1,
                1,
                "ana@example.com",
                "+55 11 91234-5678",
                "active",
            )],
        ),
        (
            2,
            vec![
                invitee(2, 2, "bea@example.com", "(415) 555-0132", "active"),
                invitee(2, 3, "caio@example.com", "+1 415 555 0177", "canceled"),
            ],
        ),
        (
            3,
            vec![invitee(
                3,
                4,
                "Ana@Example.com",
                "+55 11 91234-5678",
                "active",
            )],
        ),
    ];
    for (n, list) in invitees {
        let answer = if fail_second_event && n == 2 {
            ResponseTemplate::new(404)
                .set_body_json(json!({"title": "Resource Not Found", "message": "gone"}))
        } else {
            ResponseTemplate::new(200).set_body_json(page(list, None))
        };
        Mock::given(method("GET"))
            .and(path(format!("/scheduled_events/EV{n}/invitees")))
            .respond_with(answer)
            .mount(server)
            .await;
    }
}

fn sync(dir: &Path, api: &str) -> std::process::Output {
    support::callbook(dir, &support::free_listen())
        .args([
            "calendly",
            "sync",
            "--since",
            "2026-12-01",
            "--until",
            "2027-01-01",
        ])
        .env("CALENDLY_TOKEN", "cal-token")
        .env("CALENDLY_API_URL", api)
        .output()
        .unwrap()
}

fn write_config(dir: &Path) {
    std::fs::write(
        dir.join("callbook.toml"),
        format!(
            "[database]\nurl = \"sqlite://{}\"\n",
            dir.join("callbook.db").display()
        ),
    )
    .unwrap();
}

async fn directory(dir: &Path) -> (u64, Vec<callbook_store::Meeting>) {
    let url = format!("sqlite://{}", dir.join("callbook.db").display());
    let store = callbook_store::open(&url, callbook_store::Durability::Process)
        .await
        .unwrap();
    let stats = store.directory_stats().await.unwrap();
    let ana = store
        .meetings(
            &callbook_store::PersonKey::Phone("+5511912345678".into()),
            10,
        )
        .await
        .unwrap();
    store.close().await;
    (stats.meetings, ana)
}

#[tokio::test]
async fn sync_fills_the_directory_and_a_second_run_changes_nothing() {
    let api = MockServer::start().await;
    calendly(&api, false).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path());
    let out = sync(dir.path(), &api.uri());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("3 scheduled events, 4 invitees"),
        "{stdout}"
    );
    let (meetings, ana) = directory(dir.path()).await;
    assert_eq!(meetings, 4);
    assert_eq!(ana.len(), 2, "both of Ana's meetings, by her E.164 number");
    assert!(
        ana.iter()
            .all(|m| m.details.as_ref().unwrap().email.as_deref() == Some("ana@example.com"))
    );

    let first = directory(dir.path()).await;
    assert!(sync(dir.path(), &api.uri()).status.success());
    assert_eq!(
        directory(dir.path()).await,
        first,
        "a second run changes nothing"
    );
}

#[tokio::test]
async fn a_sync_cut_short_resumes_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path());
    let broken = MockServer::start().await;
    calendly(&broken, true).await;
    let out = sync(dir.path(), &broken.uri());
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("run the same command again to resume"),
        "{stderr}"
    );
    assert_eq!(
        directory(dir.path()).await.0,
        1,
        "the first event's invitee is kept"
    );

    let api = MockServer::start().await;
    calendly(&api, false).await;
    let out = sync(dir.path(), &api.uri());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("resumed from 2026-12-11T15:00:00"),
        "{stdout}"
    );
    let first_list = api
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path() == "/scheduled_events")
        .unwrap();
    let min = first_list
        .url
        .query_pairs()
        .find(|(k, _)| k == "min_start_time")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    assert!(
        min.starts_with("2026-12-11T15:00:00"),
        "started at the last finished event: {min}"
    );
    assert_eq!(directory(dir.path()).await.0, 4);
}
