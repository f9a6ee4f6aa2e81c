//! The recipes end to end, through the real binary: signed webhooks in, a stateful Aircall
//! stand-in out.

#[path = "support/aircall.rs"]
mod standin;
mod support;

use serde_json::{Value, json};
use standin::StandIn;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use support::{callbook, free_listen, wait_ready};

const KEY: &str = "recipes-test-signing-key";
const TOKEN: &str = "recipes-test-aircall-token";
const ADMIN: &str = "recipes-test-admin-token-0123456789abcdef";

struct Gateway {
    child: Child,
    base: String,
    listen: String,
    dir: tempfile::TempDir,
    client: reqwest::Client,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(aircall: &str, extra: &str, rpm: u32) -> String {
    format!(
        "{extra}[admin]\ntoken = \"{ADMIN}\"\n\
         [delivery]\nretry_schedule_secs = [0.2, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]\njitter = 0.0\n\
         [[sources]]\nname = \"cal\"\nprovider = \"calendly\"\nsigning_keys = [\"{KEY}\"]\n\
         [[sources]]\nname = \"air\"\nprovider = \"aircall\"\ntokens = [\"{TOKEN}\"]\n\
         [aircall_api]\napi_id = \"id\"\napi_token = \"secret\"\nurl = \"{aircall}\"\n\
         requests_per_minute = {rpm}\n\
         [directory]\ndefault_region = \"US\"\n\
         [[recipes]]\nname = \"contacts\"\nkind = \"aircall_contact_sync\"\nsources = [\"cal\"]\n\
         [[recipes]]\nname = \"cards\"\nkind = \"aircall_insight_card\"\nsources = [\"air\"]\n\
         [[recipes]]\nname = \"missed-calls\"\nkind = \"missed_call_followup\"\nsources = [\"air\"]\n\
         scheduling_url = \"https://calendly.com/acme/intro\"\ncooldown_hours = 24\n\
         template = \"Sorry we missed your call, {{first_name}}. Book here: {{link}}\"\n"
    )
}

impl Gateway {
    async fn start(standin: &StandIn) -> Self {
        Self::start_with(standin, "").await
    }

    /// With TOML put before the rest (a `[database]` table, say).
    async fn start_with(standin: &StandIn, head: &str) -> Self {
        Self::start_full(standin, head, 600).await
    }

    async fn start_full(standin: &StandIn, head: &str, rpm: u32) -> Self {
        Self::start_config(&config(&standin.url, head, rpm)).await
    }

    async fn start_config(text: &str) -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("callbook.toml"), text).unwrap();
        Self::run(dir, free_listen()).await
    }

    async fn run(dir: tempfile::TempDir, listen: String) -> Self {
        let child = callbook(dir.path(), &listen)
            .args(["serve"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start callbook");
        let base = format!("http://{listen}");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        wait_ready(&client, &base, 30).await;
        Self {
            child,
            base,
            listen,
            dir,
            client,
        }
    }

    /// Kills the process with SIGKILL and starts it again on the same files.
    async fn kill_and_restart(mut self) -> Self {
        self.child.kill().expect("kill -9");
        self.child.wait().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let old = std::mem::replace(&mut self.dir, dir);
        let listen = self.listen.clone();
        std::mem::forget(self);
        Self::run(old, listen).await
    }

    async fn calendly(&self, body: Value) {
        let body = serde_json::to_vec(&body).unwrap();
        let r = support::send_signed(&self.client, &self.base, KEY, body)
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    }

    async fn aircall(&self, body: Value) {
        let r = self
            .client
            .post(format!("{}/webhooks/aircall/air", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    async fn admin(&self, path: &str) -> Value {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits until no delivery of these recipes is pending.
    async fn settled(&self, recipes: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let v = self.admin("/admin/recipes").await;
            let busy = v["recipes"].as_array().unwrap().iter().any(|r| {
                recipes.contains(&r["name"].as_str().unwrap())
                    && r["pending"].as_u64().unwrap() + r["failed"].as_u64().unwrap() > 0
            });
            if !busy {
                return;
            }
            assert!(Instant::now() < deadline, "recipes did not settle: {v}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Name, email and phone of an invitee.
type Who<'a> = (&'a str, &'a str, Option<&'a str>);

fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A Calendly invitee event for invitee `id` of `event`, starting `start_in` from now.
fn invitee(
    kind: &str,
    id: &str,
    event: &str,
    (name, email, phone): Who<'_>,
    start_in: chrono::Duration,
    extra: Value,
) -> Value {
    let now = chrono::Utc::now();
    let start = now + start_in;
    let mut payload = json!({
        "uri": format!("https://api.calendly.com/scheduled_events/{event}/invitees/{id}"),
        "email": email,
        "name": name,
        "status": if kind == "invitee.canceled" { "canceled" } else { "active" },
        "timezone": "America/Sao_Paulo",
        "event": format!("https://api.calendly.com/scheduled_events/{event}"),
        "created_at": "2026-11-01T10:00:00Z",
        "updated_at": iso(now),
        "text_reminder_number": phone,
        "questions_and_answers": [{"question": "What should we discuss?", "answer": "Pricing", "position": 0}],
        "reschedule_url": format!("https://calendly.com/reschedulings/{id}"),
        "cancel_url": format!("https://calendly.com/cancellations/{id}"),
        "rescheduled": false,
        "scheduled_event": {
            "uri": format!("https://api.calendly.com/scheduled_events/{event}"),
            "name": "Discovery call",
            "status": "active",
            "start_time": iso(start),
            "end_time": iso(start + chrono::Duration::minutes(30)),
            "event_type": "https://api.calendly.com/event_types/ET1",
            "location": {"type": "google_conference", "join_url": "https://meet.google.com/abc-defg-hij", "status": "pushed"},
            "created_at": "2026-11-01T10:00:00Z",
            "updated_at": "2026-11-01T10:00:00Z",
            "event_memberships": [],
            "event_guests": []
        }
    });
    if let (Some(p), Some(e)) = (payload.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            p.insert(k.clone(), v.clone());
        }
    }
    json!({
        "event": kind,
        "created_at": iso(now),
        "created_by": "https://api.calendly.com/users/U1",
        "payload": payload,
    })
}

fn call(event: &str, id: i64, raw_digits: &str, answered: bool) -> Value {
    let now = chrono::Utc::now().timestamp();
    let done = event == "call.ended";
    json!({
        "resource": "call",
        "event": event,
        "timestamp": now,
        "token": TOKEN,
        "data": {
            "id": id,
            "direction": "inbound",
            "status": if done { "done" } else { "initial" },
            "missed_call_reason": if done && !answered { json!("no_available_agent") } else { Value::Null },
            "started_at": now - 30,
            "answered_at": if answered { json!(now - 25) } else { Value::Null },
            "ended_at": if done { json!(now) } else { Value::Null },
            "duration": if done { 30 } else { 0 },
            "raw_digits": raw_digits,
            "number": {"id": 77, "name": "Sales line", "digits": "+1 800-555-0100"},
            "user": null
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_contact_per_person_whatever_the_order_and_number_of_deliveries() {
    let aircall = StandIn::start(600).await;
    let gw = Gateway::start(&aircall).await;
    let week = chrono::Duration::days(7);
    let ana = |kind: &str, id: &str, event: &str, extra: Value| {
        invitee(
            kind,
            id,
            event,
            ("Ana Lima", "ana@example.com", Some("+55 11 91234-5678")),
            week,
            extra,
        )
    };
    // Cancel before its create, a reschedule pair (the new booking before the cancel), and
    // the same booking delivered twice.
    gw.calendly(ana("invitee.canceled", "A1", "E1", json!({})))
        .await;
    gw.calendly(ana(
        "invitee.created",
        "A2",
        "E2",
        json!({"old_invitee": "https://api.calendly.com/scheduled_events/E1/invitees/A1"}),
    ))
    .await;
    gw.calendly(ana("invitee.canceled", "A1", "E1", json!({"rescheduled": true, "new_invitee": "https://api.calendly.com/scheduled_events/E2/invitees/A2"}))).await;
    gw.calendly(ana("invitee.created", "A1", "E1", json!({})))
        .await;
    let again = ana(
        "invitee.created",
        "A2",
        "E2",
        json!({"updated_at": "2026-11-02T00:00:00Z"}),
    );
    gw.calendly(again.clone()).await;
    gw.calendly(again).await;
    // Two bookings of another person arriving at once.
    let bea = |id: &str| {
        invitee(
            "invitee.created",
            id,
            id,
            ("Bea Souza", "bea@example.com", Some("(415) 555-0132")),
            week,
            json!({}),
        )
    };
    let (b1, b2) = (bea("B1"), bea("B2"));
    tokio::join!(gw.calendly(b1), gw.calendly(b2));
    gw.settled(&["contacts", "directory"]).await;

    let contacts = aircall.snapshot(|r| r.contacts.clone());
    assert_eq!(contacts.len(), 2, "one contact per person: {contacts:#?}");
    let ana_contact = contacts
        .iter()
        .find(|c| c["first_name"] == "Ana")
        .expect("Ana");
    assert_eq!(ana_contact["last_name"], "Lima");
    let info = ana_contact["information"].as_str().unwrap();
    assert!(
        info.contains("[callbook]") && info.contains("Discovery call"),
        "{info}"
    );
    assert!(
        info.contains("America/Sao_Paulo") && info.contains("reschedulings/A2"),
        "{info}"
    );
    assert_eq!(ana_contact["phone_numbers"][0]["value"], "+5511912345678");

    // The directory has one active meeting for Ana: the rescheduled one.
    let person = gw.admin("/admin/directory?q=ana@example.com").await;
    let active: Vec<&Value> = person["meetings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["canceled"] == false)
        .collect();
    assert_eq!(active.len(), 1, "{person:#}");
    assert!(active[0]["invitee"].as_str().unwrap().ends_with("/A2"));

    // Text the person wrote into the contact themselves stays through later syncs.
    {
        let mut st = aircall.state.lock().unwrap();
        let c = st
            .contacts
            .iter_mut()
            .find(|c| c["first_name"] == "Ana")
            .unwrap();
        let text = c["information"].as_str().unwrap().to_owned();
        c["information"] = json!(format!("Prefers WhatsApp.\n\n{text}"));
    }
    gw.calendly(ana(
        "invitee_no_show.created",
        "A2",
        "E2",
        json!({"updated_at": iso(chrono::Utc::now())}),
    ))
    .await;
    gw.settled(&["contacts"]).await;
    let info = aircall.snapshot(|r| r.contacts[0]["information"].as_str().unwrap().to_owned());
    assert!(
        info.starts_with("Prefers WhatsApp.\n\n[callbook]\n"),
        "{info}"
    );
    assert_eq!(aircall.snapshot(|r| r.contacts.len()), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_caller_gets_one_card_naming_their_meeting_and_a_stranger_none() {
    let aircall = StandIn::start(600).await;
    let gw = Gateway::start(&aircall).await;
    gw.calendly(invitee(
        "invitee.created",
        "C1",
        "EC1",
        ("Caio Alves", "caio@example.com", Some("+1 415 555 0177")),
        chrono::Duration::days(-3),
        json!({}),
    ))
    .await;
    gw.calendly(invitee(
        "invitee.created",
        "C2",
        "EC2",
        ("Caio Alves", "caio@example.com", Some("+1 415 555 0177")),
        chrono::Duration::days(2),
        json!({}),
    ))
    .await;
    gw.settled(&["contacts", "directory"]).await;
    gw.aircall(call("call.created", 9001, "+1 415-555-0177", false))
        .await;
    gw.aircall(call("call.created", 9002, "+1 212-555-0199", false))
        .await;
    gw.aircall(call("call.created", 9003, "anonymous", false))
        .await;
    gw.settled(&["cards"]).await;

    let cards = aircall.snapshot(|r| r.cards.clone());
    assert_eq!(cards.len(), 1, "{cards:#?}");
    let (call_id, card) = &cards[0];
    assert_eq!(*call_id, 9001);
    let text = card.to_string();
    assert!(text.contains("Caio Alves · Discovery call"), "{text}");
    assert!(
        text.contains("(upcoming)"),
        "the next meeting, not the past one: {text}"
    );
    assert!(text.contains("reschedulings/C2"), "{text}");
    let recipes = gw.admin("/admin/recipes").await;
    let cards_row = recipes["recipes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "cards")
        .unwrap()
        .clone();
    assert_eq!(cards_row["done"], 3, "{recipes}");
    assert_eq!(cards_row["skipped"], 2, "{recipes}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_caller_gets_one_text_within_the_cooldown() {
    let aircall = StandIn::start(600).await;
    let gw = Gateway::start(&aircall).await;
    // Dani had a meeting last week and nothing booked now.
    gw.calendly(invitee(
        "invitee.created",
        "D1",
        "ED1",
        ("Dani Rocha", "dani@example.com", Some("+1 415 555 0150")),
        chrono::Duration::days(-7),
        json!({}),
    ))
    .await;
    // Eli has one booked: no text.
    gw.calendly(invitee(
        "invitee.created",
        "E1",
        "EE1",
        ("Eli Prado", "eli@example.com", Some("+1 415 555 0151")),
        chrono::Duration::days(1),
        json!({}),
    ))
    .await;
    gw.settled(&["contacts", "directory"]).await;
    gw.aircall(call("call.ended", 7001, "+1 415-555-0150", false))
        .await;
    gw.aircall(call("call.ended", 7002, "+1 415-555-0151", false))
        .await;
    gw.aircall(call("call.ended", 7003, "+1 415-555-0150", true))
        .await;
    gw.aircall(call("call.ended", 7004, "+1 212-555-0123", false))
        .await;
    gw.settled(&["missed-calls"]).await;
    // A second missed call from Dani inside the cooldown.
    gw.aircall(call("call.ended", 7005, "+1 415-555-0150", false))
        .await;
    gw.settled(&["missed-calls"]).await;

    let messages = aircall.snapshot(|r| r.messages.clone());
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let (number, body) = &messages[0];
    assert_eq!(*number, 77, "sent from the number that was called");
    assert_eq!(body["to"], "+14155550150");
    assert_eq!(
        body["body"],
        "Sorry we missed your call, Dani. Book here: https://calendly.com/acme/intro"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recipe_interrupted_by_kill_9_runs_after_the_restart_once() {
    let aircall = StandIn::start(600).await;
    let gw = Gateway::start(&aircall).await;
    gw.calendly(invitee(
        "invitee.created",
        "F1",
        "EF1",
        ("Fabi Lopes", "fabi@example.com", Some("+1 415 555 0160")),
        chrono::Duration::days(1),
        json!({}),
    ))
    .await;
    gw.settled(&["contacts", "directory"]).await;
    // Aircall is down: the card's attempts fail and wait for a retry.
    aircall
        .open
        .store(false, std::sync::atomic::Ordering::SeqCst);
    gw.aircall(call("call.created", 6001, "+1 415-555-0160", false))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let gw = gw.kill_and_restart().await;
    assert!(aircall.snapshot(|r| r.cards.is_empty()));
    aircall
        .open
        .store(true, std::sync::atomic::Ordering::SeqCst);
    gw.settled(&["cards"]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cards = aircall.snapshot(|r| r.cards.clone());
    assert_eq!(cards.len(), 1, "{cards:#?}");
    assert_eq!(cards[0].0, 6001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_lists_recipes_and_looks_people_up() {
    let aircall = StandIn::start(600).await;
    let gw = Gateway::start(&aircall).await;
    gw.calendly(invitee(
        "invitee.created",
        "G1",
        "EG1",
        ("Gabi Reis", "gabi@example.com", Some("+1 415 555 0170")),
        chrono::Duration::days(1),
        json!({}),
    ))
    .await;
    gw.aircall(call("call.ended", 5001, "+1 415-555-0170", true))
        .await;
    gw.settled(&["contacts", "directory", "missed-calls"]).await;
    let run = |args: &[&str]| {
        let out = callbook(gw.dir.path(), &gw.listen)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let list = run(&["recipes", "list"]);
    assert!(
        list.contains("contacts") && list.contains("aircall_contact_sync"),
        "{list}"
    );
    assert!(list.contains("directory: 1 meetings, 1 calls"), "{list}");
    let person = run(&["directory", "lookup", "(415) 555-0170"]);
    assert!(
        person.contains("Gabi Reis") && person.contains("gabi@example.com"),
        "{person}"
    );
    assert!(
        person.contains("Gabi Reis · Discovery call"),
        "the card: {person}"
    );
    assert!(
        person.contains("Inbound, answered"),
        "the last call: {person}"
    );

    // The console's People page shows the same person, meetings and calls on one timeline.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let signed_in = http
        .post(format!("{}/ui/login", gw.base))
        .form(&[("token", ADMIN)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let people = |q: &'static str| {
        let (http, cookie, base) = (http.clone(), cookie.clone(), gw.base.clone());
        async move {
            http.get(format!("{base}/ui/people"))
                .query(&[("q", q)])
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let page = people("(415) 555-0170").await;
    assert!(
        page.contains("Gabi Reis") && page.contains("gabi@example.com"),
        "{page}"
    );
    assert!(
        page.contains("Discovery call") && page.contains("booked"),
        "the meeting: {page}"
    );
    assert!(page.contains("Inbound, answered"), "the call: {page}");
    assert!(
        page.contains("class=\"entry call\"") && page.contains("class=\"entry meeting\""),
        "{page}"
    );
    assert!(
        people("nobody@example.com")
            .await
            .contains("knows nothing of")
    );
    assert!(
        people("not a person")
            .await
            .contains("neither an email nor a phone")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgres_make_one_contact_of_one_person() {
    let Some(pg) = callbook_testpg::Server::shared() else {
        return;
    };
    let db = pg.fresh_database();
    let aircall = StandIn::start(6000).await;
    // A slow Aircall: without serialising across instances, both would search, find nothing,
    // and create.
    aircall
        .delay_ms
        .store(80, std::sync::atomic::Ordering::SeqCst);
    let head = format!("[database]\nurl = \"{db}\"\n");
    let a = Gateway::start_with(&aircall, &head).await;
    let b = Gateway::start_with(&aircall, &head).await;
    let booking = |n: u32| {
        invitee(
            "invitee.created",
            &format!("H{n}"),
            &format!("EH{n}"),
            ("Hana Kato", "hana@example.com", Some("+1 415 555 0190")),
            chrono::Duration::days(i64::from(n) + 1),
            json!({}),
        )
    };
    let mut sends = Vec::new();
    for n in 0..8 {
        let gw = if n % 2 == 0 { &a } else { &b };
        sends.push(gw.calendly(booking(n)));
    }
    futures_util::future::join_all(sends).await;
    a.settled(&["contacts"]).await;
    b.settled(&["contacts"]).await;
    let contacts = aircall.snapshot(|r| r.contacts.clone());
    assert_eq!(contacts.len(), 1, "{contacts:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_budget_keeps_callbook_within_aircalls_rate_limit() {
    // Aircall allows 20 requests a minute and says so with 429s beyond; callbook is told the
    // same budget. Ten bookings need about thirty requests.
    let aircall = StandIn::start(20).await;
    let gw = Gateway::start_full(&aircall, "", 20).await;
    for n in 0..10 {
        gw.calendly(invitee(
            "invitee.created",
            &format!("R{n}"),
            &format!("ER{n}"),
            (
                "Rui Neves",
                &format!("rui{n}@example.com"),
                Some(&format!("+1 415 555 01{n:02}")),
            ),
            chrono::Duration::days(1),
            json!({}),
        ))
        .await;
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (requests, limited, contacts) =
        aircall.snapshot(|r| (r.requests, r.limited, r.contacts.len()));
    assert_eq!(limited, 0, "no request beyond Aircall's limit");
    assert!(requests <= 20, "{requests} requests");
    assert!(contacts >= 4, "the budget was used: {contacts} contacts");
    assert!(contacts < 10, "and the rest wait: {contacts} contacts");
    let recipes = gw.admin("/admin/recipes").await;
    let row = recipes["recipes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "contacts")
        .unwrap()
        .clone();
    assert_eq!(row["dead"], 0, "{recipes}");
    assert_eq!(
        row["failed"], 0,
        "waiting for the budget is not a failure: {recipes}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_call_text_can_carry_a_single_use_calendly_link() {
    use wiremock::matchers::{body_partial_json, header, method, path};
    let aircall = StandIn::start(600).await;
    let calendly = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("POST"))
        .and(path("/scheduling_links"))
        .and(header("authorization", "Bearer cal-token"))
        .and(body_partial_json(json!({
            "max_event_count": 1,
            "owner": "https://api.calendly.com/event_types/ET1",
            "owner_type": "EventType"
        })))
        .respond_with(
            wiremock::ResponseTemplate::new(201).set_body_json(json!({"resource": {
                "booking_url": "https://calendly.com/d/abc-123/intro",
                "owner": "https://api.calendly.com/event_types/ET1",
                "owner_type": "EventType"
            }})),
        )
        .expect(1)
        .mount(&calendly)
        .await;
    let head = format!(
        "[calendly_api]\ntoken = \"cal-token\"\nurl = \"{}\"\n",
        calendly.uri()
    );
    let text = config(&aircall.url, &head, 600).replace(
        "scheduling_url = \"https://calendly.com/acme/intro\"",
        "event_type = \"https://api.calendly.com/event_types/ET1\"",
    );
    assert!(text.contains("event_type = "), "{text}");
    let gw = Gateway::start_config(&text).await;
    gw.calendly(invitee(
        "invitee.created",
        "S1",
        "ES1",
        ("Sol Dias", "sol@example.com", Some("+1 415 555 0140")),
        chrono::Duration::days(-2),
        json!({}),
    ))
    .await;
    gw.settled(&["contacts", "directory"]).await;
    gw.aircall(call("call.ended", 8001, "+1 415-555-0140", false))
        .await;
    gw.settled(&["missed-calls"]).await;
    let messages = aircall.snapshot(|r| r.messages.clone());
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert_eq!(
        messages[0].1["body"],
        "Sorry we missed your call, Sol. Book here: https://calendly.com/d/abc-123/intro"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_text_in_the_callers_quiet_hours_and_no_failure_either() {
    let aircall = StandIn::start(600).await;
    // Quiet from an hour ago to an hour from now in São Paulo (UTC-3, no daylight saving).
    let local = chrono::Utc::now() - chrono::Duration::hours(3);
    let (from, to) = (
        (local - chrono::Duration::hours(1)).format("%H:%M"),
        (local + chrono::Duration::hours(1)).format("%H:%M"),
    );
    let text = config(&aircall.url, "", 600).replace(
        "cooldown_hours = 24\n",
        &format!("cooldown_hours = 24\nquiet_hours = \"{from}-{to}\"\n"),
    );
    assert!(text.contains("quiet_hours"), "{text}");
    let gw = Gateway::start_config(&text).await;
    gw.calendly(invitee(
        "invitee.created",
        "Q1",
        "EQ1",
        ("Iara Melo", "iara@example.com", Some("+1 415 555 0145")),
        chrono::Duration::days(-2),
        json!({}),
    ))
    .await;
    gw.settled(&["contacts", "directory"]).await;
    gw.aircall(call("call.ended", 8101, "+1 415-555-0145", false))
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(aircall.snapshot(|r| r.messages.is_empty()));
    let recipes = gw.admin("/admin/recipes").await;
    let row = recipes["recipes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "missed-calls")
        .unwrap()
        .clone();
    assert_eq!(
        row["pending"], 1,
        "handed back until the quiet hours end: {recipes}"
    );
    assert_eq!(row["failed"], 0, "{recipes}");
    assert_eq!(row["dead"], 0, "{recipes}");
}
