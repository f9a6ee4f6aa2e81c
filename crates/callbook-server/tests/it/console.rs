//! The console at /ui: over plain HTTP for its security rules, and in a real headless Chromium
//! (Debian's `chromium` driven through `chromedriver`) for what an operator does.

use crate::harness::{ADMIN_TOKEN, SEED, TestServer};
use axum::Router;
use axum::routing::post;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// A destination that fails until told to accept, counting what it accepted.
#[derive(Clone, Default)]
struct Sink {
    accept: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
}

impl Sink {
    async fn start(&self) -> String {
        let sink = self.clone();
        let app = Router::new().route(
            "/hook",
            post(move || {
                let sink = sink.clone();
                async move {
                    if sink.accept.load(Ordering::SeqCst) {
                        sink.accepted.fetch_add(1, Ordering::SeqCst);
                        axum::http::StatusCode::OK
                    } else {
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }
}

const XSS_NAME: &str = r#"<img src=x onerror="document.title='pwned'">"#;

/// The seed booking with another invitee URI, name and address (`{invitee}@example.com`).
fn booking(invitee: &str, name: &str) -> Vec<u8> {
    let mut body: Value = serde_json::from_slice(SEED).expect("json");
    body["payload"]["uri"] =
        format!("https://api.calendly.com/scheduled_events/E/invitees/{invitee}").into();
    body["payload"]["name"] = name.into();
    body["payload"]["email"] = format!("{invitee}@example.com").into();
    serde_json::to_vec(&body).expect("json")
}

async fn start(sink_url: &str) -> TestServer {
    TestServer::start_with(&format!(
        "[admin]\ntoken = \"{ADMIN_TOKEN}\"\n\
         [delivery]\nretry_schedule_secs = [0]\njitter = 0.0\npoll_interval_ms = 20\nbreaker_failures = 100\n\
         [[destinations]]\nname = \"crm\"\nurl = \"{sink_url}\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n\
         events = [\"invitee.*\"]\ntimeout_secs = 2\n"
    ))
    .await
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

#[tokio::test]
async fn without_a_session_pages_redirect_to_sign_in_and_actions_are_refused() {
    let sink = Sink::default();
    let s = start(&sink.start().await).await;
    let http = no_redirects();
    let page = http
        .get(format!("{}/ui/events", s.base))
        .send()
        .await
        .expect("get");
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()["location"], "/ui/login");
    for header in [
        "content-security-policy",
        "x-frame-options",
        "referrer-policy",
    ] {
        assert!(
            page.headers().contains_key(header),
            "{header} on every answer"
        );
    }
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'self'")
    );
    let action = http
        .post(format!("{}/ui/logout", s.base))
        .form(&[("csrf", "x")])
        .send()
        .await
        .expect("post");
    assert_eq!(action.status(), 403);
    // The admin token as a bearer does not open the console: it takes a session.
    let bearer = http
        .get(format!("{}/ui/events", s.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("get");
    assert_eq!(bearer.status(), 303);
}

#[tokio::test]
async fn sign_in_sets_a_strict_http_only_cookie_and_actions_need_its_csrf_token() {
    let sink = Sink::default();
    let s = start(&sink.start().await).await;
    let http = no_redirects();
    let wrong = http
        .post(format!("{}/ui/login", s.base))
        .form(&[("token", "not-the-token")])
        .send()
        .await
        .expect("post");
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());
    let right = http
        .post(format!("{}/ui/login", s.base))
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .expect("post");
    assert_eq!(right.status(), 303);
    let cookie = right.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/ui", "Max-Age="] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: no Secure flag");
    assert!(!cookie.contains(ADMIN_TOKEN), "the cookie is not the token");
    let session = cookie.split(';').next().unwrap().to_owned();
    // Behind a TLS-terminating proxy the cookie is Secure.
    let proxied = http
        .post(format!("{}/ui/login", s.base))
        .header("x-forwarded-proto", "https")
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .expect("post");
    assert!(
        proxied.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );

    let page = http
        .get(format!("{}/ui/events", s.base))
        .header("cookie", &session)
        .send()
        .await
        .expect("get");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("text");
    assert!(!html.contains(ADMIN_TOKEN), "no secret in the page");
    // A sign-out without the page's CSRF token is refused, and the session lives on.
    let forged = http
        .post(format!("{}/ui/logout", s.base))
        .header("cookie", &session)
        .form(&[("csrf", "guessed")])
        .send()
        .await
        .expect("post");
    assert_eq!(forged.status(), 403);
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("csrf token in the page")
        .to_owned();
    let out = http
        .post(format!("{}/ui/logout", s.base))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(out.status(), 303);
    let after = http
        .get(format!("{}/ui/events", s.base))
        .header("cookie", &session)
        .send()
        .await
        .expect("get");
    assert_eq!(after.status(), 303, "the session ended with the sign-out");
}

#[tokio::test]
async fn the_console_is_off_without_an_admin_token() {
    let s = TestServer::start_with("").await;
    let page = no_redirects()
        .get(format!("{}/ui/login", s.base))
        .send()
        .await
        .expect("get");
    assert_eq!(page.status(), 404);
}

/// chromedriver on a free port, stopped on drop.
struct Driver {
    child: std::process::Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn chromedriver() -> Option<Driver> {
    let path = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(path) = path else {
        assert!(
            std::env::var_os("CALLBOOK_REQUIRE_BROWSER").is_none(),
            "CALLBOOK_REQUIRE_BROWSER is set but chromedriver is not installed"
        );
        eprintln!("skipped: no chromedriver (apt-get install chromium chromium-driver)");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let child = std::process::Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let url = format!("http://127.0.0.1:{port}");
    let driver = Driver { child, url };
    for _ in 0..100 {
        if reqwest::get(format!("{}/status", driver.url)).await.is_ok() {
            return Some(driver);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer");
}

async fn browser(driver: &Driver, profile: &std::path::Path) -> fantoccini::Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1200,900",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

/// Saves what the browser shows, for docs/img (see docs/console.md).
async fn screenshot(browser: &fantoccini::Client, name: &str) {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/console-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let png = browser.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
}

async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn an_operator_signs_in_reads_an_event_safely_and_replays_a_dead_delivery() {
    use fantoccini::Locator;
    let Some(driver) = chromedriver().await else {
        return;
    };
    let sink = Sink::default();
    let s = start(&sink.start().await).await;
    let profile = tempfile::tempdir().expect("profile");
    let b = browser(&driver, profile.path()).await;

    // Pages redirect to sign-in; a wrong token is refused.
    b.goto(&format!("{}/ui/events", s.base))
        .await
        .expect("goto");
    assert!(
        b.current_url()
            .await
            .expect("url")
            .path()
            .ends_with("/ui/login")
    );
    screenshot(&b, "sign-in").await;
    b.find(Locator::Css("#token"))
        .await
        .expect("token field")
        .send_keys("wrong")
        .await
        .expect("type");
    b.find(Locator::Css("button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
    let refused = b
        .wait()
        .for_element(Locator::Css(".error"))
        .await
        .expect("refusal shown");
    assert!(
        refused
            .text()
            .await
            .expect("text")
            .contains("not the admin token")
    );

    // The right token opens the console.
    b.find(Locator::Css("#token"))
        .await
        .expect("token field")
        .send_keys(ADMIN_TOKEN)
        .await
        .expect("type");
    b.find(Locator::Css("button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
    b.wait()
        .for_element(Locator::Css("form.filters"))
        .await
        .expect("the events page");
    assert!(
        b.current_url()
            .await
            .expect("url")
            .path()
            .ends_with("/ui/events")
    );

    // A webhook sent through the real server appears; its outsider-written name is text.
    let response = s.send_signed(&booking("CONSOLE1", XSS_NAME)).await;
    assert_eq!(response.status(), 200);
    let id = response.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // The sink refuses: with one attempt allowed the delivery is dead.
    wait_for("a dead delivery", async || {
        let d: Value = s
            .admin_get("/admin/deliveries?state=dead")
            .await
            .json()
            .await
            .unwrap_or_default();
        d["deliveries"].as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    b.refresh().await.expect("reload");
    screenshot(&b, "events").await;
    b.find(Locator::Css(&format!("a[href$='/ui/events/{id}']")))
        .await
        .expect("the event is listed")
        .click()
        .await
        .expect("open it");
    let summary = b
        .wait()
        .for_element(Locator::Css(".summary"))
        .await
        .expect("summary")
        .text()
        .await
        .expect("text");
    assert!(summary.contains(XSS_NAME), "shown as text: {summary}");
    assert_ne!(
        b.title().await.expect("title"),
        "pwned",
        "nothing the sender wrote ran"
    );
    assert!(
        b.find(Locator::Css("main img")).await.is_err(),
        "no element from the payload"
    );
    let state = b
        .find(Locator::Css(".delivery .state"))
        .await
        .expect("delivery")
        .text()
        .await
        .expect("text");
    assert_eq!(state, "dead");
    screenshot(&b, "event").await;

    // Replayed from the page, the delivery reaches the sink.
    sink.accept.store(true, Ordering::SeqCst);
    b.find(Locator::Css(".delivery button[type=submit]"))
        .await
        .expect("retry button")
        .click()
        .await
        .expect("click");
    let notice = b
        .wait()
        .for_element(Locator::Css(".notice"))
        .await
        .expect("notice")
        .text()
        .await
        .expect("text");
    assert!(notice.contains("due now"), "{notice}");
    wait_for("the sink to receive the replay", async || {
        sink.accepted.load(Ordering::SeqCst) == 1
    })
    .await;
    b.refresh().await.expect("reload");
    let state = b
        .find(Locator::Css(".delivery .state"))
        .await
        .expect("delivery")
        .text()
        .await
        .expect("text");
    assert_eq!(state, "succeeded");
    assert_ne!(b.title().await.expect("title"), "pwned");

    // Another booking goes dead; the dead letters list it and the destination replays it.
    sink.accept.store(false, Ordering::SeqCst);
    let second = s.send_signed(&booking("CONSOLE2", "Bea Costa")).await;
    let second_id = second.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    wait_for("the second delivery to die", async || {
        let d: Value = s
            .admin_get("/admin/deliveries?state=dead")
            .await
            .json()
            .await
            .unwrap_or_default();
        d["deliveries"].as_array().is_some_and(|a| a.len() == 1)
    })
    .await;
    // The search box finds the booking by its invitee's address, in any case.
    b.find(Locator::Css("nav a[href$='/ui/events']"))
        .await
        .expect("events link")
        .click()
        .await
        .expect("to the events");
    b.wait()
        .for_element(Locator::Css("input[name=search]"))
        .await
        .expect("the search box")
        .send_keys("console2@EXAMPLE.com")
        .await
        .expect("type");
    b.find(Locator::Css("form.filters button[type=submit]"))
        .await
        .expect("filter button")
        .click()
        .await
        .expect("search");
    wait_for("the search results", async || {
        b.current_url()
            .await
            .is_ok_and(|u| u.query().is_some_and(|q| q.contains("search=")))
    })
    .await;
    b.wait()
        .for_element(Locator::Css(&format!("a[href$='/ui/events/{second_id}']")))
        .await
        .expect("the second booking is found");
    assert!(
        b.find(Locator::Css(&format!("a[href$='/ui/events/{id}']")))
            .await
            .is_err(),
        "the first booking is not"
    );
    assert_eq!(
        b.find(Locator::Css("input[name=search]"))
            .await
            .expect("search box")
            .prop("value")
            .await
            .expect("value")
            .as_deref(),
        Some("console2@EXAMPLE.com"),
        "the box keeps what was searched"
    );
    b.find(Locator::Css("nav a[href$='/ui/dead']"))
        .await
        .expect("dead letters link")
        .click()
        .await
        .expect("click");
    b.wait()
        .for_element(Locator::Css(&format!("a[href$='/ui/events/{second_id}']")))
        .await
        .expect("the dead delivery is listed");
    let bulk = b
        .find(Locator::Css(
            "form[action$='/destinations/crm/replay'] button",
        ))
        .await
        .expect("a bulk replay button per destination")
        .text()
        .await
        .expect("text");
    assert_eq!(bulk, "Replay all 1 dead to crm");
    screenshot(&b, "dead-letters").await;
    b.find(Locator::Css("nav a[href$='/ui/destinations']"))
        .await
        .expect("destinations link")
        .click()
        .await
        .expect("click");
    let dead = b
        .wait()
        .for_element(Locator::Css("#destination-crm .dead"))
        .await
        .expect("counts")
        .text()
        .await
        .expect("text");
    assert_eq!(dead, "1");
    screenshot(&b, "destinations").await;
    // Disabled, nothing is attempted; enabled again, the replay goes through.
    b.find(Locator::Css(
        "#destination-crm form[action$='/disable'] button",
    ))
    .await
    .expect("disable")
    .click()
    .await
    .expect("click");
    b.wait()
        .for_element(Locator::Css("#destination-crm form[action$='/enable']"))
        .await
        .expect("disabled");
    sink.accept.store(true, Ordering::SeqCst);
    b.find(Locator::Css(
        "#destination-crm form[action$='/enable'] button",
    ))
    .await
    .expect("enable")
    .click()
    .await
    .expect("click");
    b.wait()
        .for_element(Locator::Css("#destination-crm form[action$='/disable']"))
        .await
        .expect("enabled");
    b.find(Locator::Css("#destination-crm input[name=dead]"))
        .await
        .expect("replay dead form")
        .find(Locator::XPath(".."))
        .await
        .expect("its form")
        .find(Locator::Css("button"))
        .await
        .expect("replay button")
        .click()
        .await
        .expect("click");
    wait_for("the sink to receive the second replay", async || {
        sink.accepted.load(Ordering::SeqCst) == 2
    })
    .await;

    // The overview counts what was stored and what was refused, and charts the day.
    let forged = format!("t={},v1={}", crate::harness::now(), "0".repeat(64));
    assert_eq!(
        s.send_calendly(Some(&forged), &booking("FORGED", "Eve"))
            .await
            .status(),
        401
    );
    b.find(Locator::Css("nav a[href$='/ui/overview']"))
        .await
        .expect("overview link")
        .click()
        .await
        .expect("click");
    let day = b
        .wait()
        .for_element(Locator::Css("#source-cal .day"))
        .await
        .expect("source")
        .text()
        .await
        .expect("text");
    assert_eq!(day, "2", "two bookings stored today");
    let refused = b
        .find(Locator::Css("#source-cal .rejected"))
        .await
        .expect("refusals")
        .text()
        .await
        .expect("text");
    assert_eq!(refused, "1");
    let source = b
        .find(Locator::Css("#source-cal"))
        .await
        .expect("source")
        .text()
        .await
        .expect("text");
    assert!(source.contains("signature_mismatch"), "{source}");
    assert!(
        b.find(Locator::Css("#source-cal svg.chart rect"))
            .await
            .is_ok(),
        "a bar for this quarter hour"
    );
    screenshot(&b, "overview").await;

    // After sign-out the pages redirect to sign-in again.
    b.find(Locator::Css("nav button"))
        .await
        .expect("sign out")
        .click()
        .await
        .expect("click");
    b.wait()
        .for_element(Locator::Css("#token"))
        .await
        .expect("back at sign-in");
    b.goto(&format!("{}/ui/events/{id}", s.base))
        .await
        .expect("goto");
    assert!(
        b.current_url()
            .await
            .expect("url")
            .path()
            .ends_with("/ui/login")
    );
    b.close().await.expect("close");
}

/// A session over plain HTTP: the cookie header value and the page's CSRF token.
async fn sign_in(s: &TestServer) -> (String, String) {
    let http = no_redirects();
    let response = http
        .post(format!("{}/ui/login", s.base))
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .expect("post");
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = http
        .get(format!("{}/ui/events", s.base))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("csrf")
        .to_owned();
    (cookie, csrf)
}

#[tokio::test]
async fn no_page_shows_a_secret() {
    let s = TestServer::start_with(&format!(
        "[admin]\ntoken = \"{ADMIN_TOKEN}\"\n\
         [[destinations]]\nname = \"crm\"\nurl = \"http://hooks:url-password-1234@127.0.0.1:9/hook\"\n\
         secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n"
    ))
    .await;
    let (cookie, _) = sign_in(&s).await;
    let id = s
        .send_signed(&booking("SECRETS", "Ana"))
        .await
        .json::<Value>()
        .await
        .expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    for path in [
        "/ui/events",
        "/ui/destinations",
        "/ui/dead",
        &format!("/ui/events/{id}"),
    ] {
        let html = no_redirects()
            .get(format!("{}{path}", s.base))
            .header("cookie", &cookie)
            .send()
            .await
            .expect("get")
            .text()
            .await
            .expect("text");
        for secret in [
            "url-password-1234",
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            ADMIN_TOKEN,
            crate::harness::CALENDLY_KEY,
        ] {
            assert!(!html.contains(secret), "{path} shows a secret");
        }
    }
    let html = no_redirects()
        .get(format!("{}/ui/destinations", s.base))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    assert!(
        html.contains("http://***@127.0.0.1:9/hook"),
        "the URL is shown masked"
    );
}

#[tokio::test]
async fn without_a_directory_the_people_page_says_so() {
    let s = TestServer::start().await;
    let (cookie, _) = sign_in(&s).await;
    let html = no_redirects()
        .get(format!("{}/ui/people?q=ana%40example.com", s.base))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    assert!(html.contains("The directory is off"), "{html}");
}

#[tokio::test]
async fn events_filter_by_parse_status_and_time() {
    let s = TestServer::start().await;
    let (cookie, _) = sign_in(&s).await;
    let good = s
        .send_signed(&booking("FILTER1", "Ana"))
        .await
        .json::<Value>()
        .await
        .expect("json");
    let odd = s
        .send_signed(br#"{"event":"invitee.created","payload":"not an invitee"}"#)
        .await
        .json::<Value>()
        .await
        .expect("json");
    let listed = |query: String| {
        let (base, cookie) = (s.base.clone(), cookie.clone());
        async move {
            no_redirects()
                .get(format!("{base}/ui/events?{query}"))
                .header("cookie", cookie)
                .send()
                .await
                .expect("get")
                .text()
                .await
                .expect("text")
        }
    };
    let (good, odd) = (
        good["id"].as_str().unwrap().to_owned(),
        odd["id"].as_str().unwrap().to_owned(),
    );
    let unparsed = listed("parsed=no".into()).await;
    assert!(
        unparsed.contains(&odd) && !unparsed.contains(&good),
        "{unparsed}"
    );
    let parsed = listed("parsed=yes".into()).await;
    assert!(parsed.contains(&good) && !parsed.contains(&odd));
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M");
    let none = listed(format!("since={future}")).await;
    assert!(none.contains("No event matches."), "{none}");
    let past = (chrono::Utc::now() - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M");
    let both = listed(format!("since={past}&parsed=")).await;
    assert!(both.contains(&good) && both.contains(&odd));
}
