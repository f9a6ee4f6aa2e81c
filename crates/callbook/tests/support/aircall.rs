//! A stateful stand-in for Aircall's REST API: contacts searchable by phone and email,
//! insight cards and messages recorded, and Aircall's rate limit (429 with its
//! `X-AircallApi-*` headers).

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Default)]
pub(crate) struct Recorded {
    pub(crate) contacts: Vec<Value>,
    pub(crate) cards: Vec<(i64, Value)>,
    pub(crate) messages: Vec<(i64, Value)>,
    pub(crate) requests: u64,
    pub(crate) limited: u64,
    window: Option<(Instant, u32)>,
}

#[derive(Clone)]
pub(crate) struct StandIn {
    pub(crate) state: Arc<Mutex<Recorded>>,
    /// Requests per minute before 429.
    limit: u32,
    /// While false, every request gets 503 (Aircall down).
    pub(crate) open: Arc<std::sync::atomic::AtomicBool>,
    /// Milliseconds each answer takes (a slow Aircall widens races).
    pub(crate) delay_ms: Arc<std::sync::atomic::AtomicU64>,
    pub(crate) url: String,
}

impl StandIn {
    pub(crate) async fn start(limit: u32) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/v1", listener.local_addr().expect("addr"));
        let standin = Self {
            state: Arc::default(),
            limit,
            open: Arc::new(std::sync::atomic::AtomicBool::new(true)),
            delay_ms: Arc::default(),
            url,
        };
        let app = Router::new()
            .route("/v1/contacts", post(create_contact))
            .route("/v1/contacts/search", get(search_contacts))
            .route("/v1/contacts/{id}", get(get_contact).post(update_contact))
            .route("/v1/contacts/{id}/phone_details", post(add_phone))
            .route("/v1/contacts/{id}/email_details", post(add_email))
            .route("/v1/calls/{id}/insight_cards", post(add_card))
            .route("/v1/numbers/{id}/messages/send", post(send_message))
            .layer(axum::middleware::from_fn_with_state(standin.clone(), gate))
            .with_state(standin.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        standin
    }

    pub(crate) fn snapshot<T>(&self, f: impl FnOnce(&Recorded) -> T) -> T {
        f(&self.state.lock().unwrap())
    }
}

async fn gate(
    State(s): State<StandIn>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if !s.open.load(std::sync::atomic::Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
    }
    {
        let mut st = s.state.lock().unwrap();
        st.requests += 1;
        let now = Instant::now();
        let (start, used) = st.window.get_or_insert((now, 0));
        if now.duration_since(*start).as_secs() >= 60 {
            *start = now;
            *used = 0;
        }
        if *used >= s.limit {
            let reset = 60 - now.duration_since(*start).as_secs();
            st.limited += 1;
            let mut h = HeaderMap::new();
            h.insert("x-aircallapi-limit", s.limit.into());
            h.insert("x-aircallapi-remaining", 0.into());
            h.insert("x-aircallapi-reset", reset.into());
            return (StatusCode::TOO_MANY_REQUESTS, h, "rate limited").into_response();
        }
        *used += 1;
    }
    let delay = s.delay_ms.load(std::sync::atomic::Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    next.run(request).await
}

fn digits(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_digit()).collect()
}

async fn search_contacts(
    State(s): State<StandIn>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let st = s.state.lock().unwrap();
    let found: Vec<Value> = st
        .contacts
        .iter()
        .filter(|c| {
            let phone = q.get("phone_number").is_some_and(|p| {
                c["phone_numbers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|d| digits(d["value"].as_str().unwrap_or("")) == digits(p))
            });
            let email = q.get("email").is_some_and(|e| {
                c["emails"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|d| d["value"].as_str().unwrap_or("").eq_ignore_ascii_case(e))
            });
            phone || email
        })
        .cloned()
        .collect();
    let n = found.len();
    Json(
        json!({ "contacts": found, "meta": { "count": n, "total": n, "current_page": 1, "per_page": 50 } }),
    )
}

async fn get_contact(State(s): State<StandIn>, Path(id): Path<i64>) -> Response {
    let st = s.state.lock().unwrap();
    match st.contacts.iter().find(|c| c["id"] == id) {
        Some(c) => Json(json!({ "contact": c })).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"error": "Not found"}))).into_response(),
    }
}

async fn create_contact(State(s): State<StandIn>, Json(mut body): Json<Value>) -> Response {
    let mut st = s.state.lock().unwrap();
    let id = st.contacts.len() as i64 + 1;
    body["id"] = id.into();
    for (i, d) in body["phone_numbers"]
        .as_array_mut()
        .into_iter()
        .flatten()
        .enumerate()
    {
        d["id"] = (id * 100 + i as i64).into();
    }
    for (i, d) in body["emails"]
        .as_array_mut()
        .into_iter()
        .flatten()
        .enumerate()
    {
        d["id"] = (id * 100 + 50 + i as i64).into();
    }
    st.contacts.push(body.clone());
    (StatusCode::CREATED, Json(json!({ "contact": body }))).into_response()
}

async fn update_contact(
    State(s): State<StandIn>,
    Path(id): Path<i64>,
    Json(body): Json<Value>,
) -> Response {
    let mut st = s.state.lock().unwrap();
    let Some(c) = st.contacts.iter_mut().find(|c| c["id"] == id) else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": "Not found"}))).into_response();
    };
    for key in ["first_name", "last_name", "information", "company_name"] {
        if let Some(v) = body.get(key) {
            c[key] = v.clone();
        }
    }
    Json(json!({ "contact": c })).into_response()
}

async fn add_detail(s: &StandIn, id: i64, list: &str, body: Value) -> Response {
    let mut st = s.state.lock().unwrap();
    let Some(c) = st.contacts.iter_mut().find(|c| c["id"] == id) else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": "Not found"}))).into_response();
    };
    if !c[list].is_array() {
        c[list] = json!([]);
    }
    c[list].as_array_mut().unwrap().push(body.clone());
    let key = if list == "emails" {
        "email_detail"
    } else {
        "phone_detail"
    };
    (StatusCode::CREATED, Json(json!({ key: body }))).into_response()
}

async fn add_phone(
    State(s): State<StandIn>,
    Path(id): Path<i64>,
    Json(b): Json<Value>,
) -> Response {
    add_detail(&s, id, "phone_numbers", b).await
}

async fn add_email(
    State(s): State<StandIn>,
    Path(id): Path<i64>,
    Json(b): Json<Value>,
) -> Response {
    add_detail(&s, id, "emails", b).await
}

async fn add_card(
    State(s): State<StandIn>,
    Path(id): Path<i64>,
    Json(b): Json<Value>,
) -> StatusCode {
    s.state.lock().unwrap().cards.push((id, b));
    StatusCode::CREATED
}

async fn send_message(
    State(s): State<StandIn>,
    Path(id): Path<i64>,
    Json(b): Json<Value>,
) -> Response {
    s.state.lock().unwrap().messages.push((id, b.clone()));
    (
        StatusCode::CREATED,
        Json(json!({ "message": { "id": "m1", "body": b["body"] } })),
    )
        .into_response()
}
