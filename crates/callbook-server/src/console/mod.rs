//! The console: server-rendered pages at `/ui` for the people who run callbook. Off unless
//! `admin.token` is set; sign-in takes that token once and sets a session cookie.
//!
//! Every field of a webhook is written by an outsider: all output is escaped (maud), the pages
//! carry a `Content-Security-Policy` of `default-src 'self'` with no inline script or style,
//! are never framed, and send no referrer. Actions are POSTs with the session's CSRF token.

mod people;
mod session;
mod summary;
mod views;

use crate::config::expose;
use crate::state::AppState;
use axum::Router;
use axum::extract::{OriginalUri, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use callbook_store::{DeliveryId, DeliveryQuery, EventId, EventQuery, Provider};
use serde::Deserialize;
use session::{COOKIE, LIFETIME, Session, Sessions, cookie_value};
use std::sync::Arc;
use views::{EventFilters, EventView, Page};

pub use people::{PeopleDirectory, PersonPage, TimelineEntry, TimelineKind};

const CSS: &str = include_str!("console.css");

#[derive(Clone)]
struct Console {
    app: AppState,
    sessions: Arc<Sessions>,
    people: Option<Arc<dyn PeopleDirectory>>,
}

/// The console's routes, under `/ui`.
pub(crate) fn router(app: AppState, people: Option<Arc<dyn PeopleDirectory>>) -> Router {
    let console = Console {
        app,
        sessions: Arc::default(),
        people,
    };
    Router::new()
        .route(
            "/ui",
            get(|base: Base| async move { Redirect::to(&format!("{}/overview", base.0)) }),
        )
        .route("/ui/overview", get(overview))
        .route("/ui/login", get(login_page).post(login))
        .route("/ui/logout", post(logout))
        .route("/ui/events", get(events))
        .route("/ui/events/{id}", get(event))
        .route("/ui/events/{id}/body", get(event_body))
        .route("/ui/deliveries/{id}/retry", post(retry))
        .route("/ui/dead", get(dead))
        .route("/ui/people", get(people_page))
        .route("/ui/destinations", get(destinations))
        .route("/ui/destinations/{name}/enable", post(enable))
        .route("/ui/destinations/{name}/disable", post(disable))
        .route("/ui/destinations/{name}/replay", post(replay))
        .route("/ui/assets/console.css", get(css))
        .layer(middleware::from_fn_with_state(console.clone(), guard))
        .with_state(console)
}

/// Where the console is mounted: `/ui`, or `/ops/ui` when the router is nested under `/ops`.
struct Base(String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Base {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let inner = parts.uri.path().to_owned();
        let full = parts
            .extensions
            .get::<OriginalUri>()
            .map_or_else(|| inner.clone(), |o| o.0.path().to_owned());
        let prefix = full.strip_suffix(inner.as_str()).unwrap_or("");
        Ok(Self(format!("{prefix}/ui")))
    }
}

/// Off without an admin token; security headers on every answer; pages other than sign-in
/// and the stylesheet need a session.
async fn guard(
    State(console): State<Console>,
    base: Base,
    request: Request,
    next: Next,
) -> Response {
    if console.app.admin_token.is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let path = request.uri().path();
    let open = path == "/ui/login" || path == "/ui/assets/console.css";
    let session = cookie_value(request.headers()).and_then(|id| console.sessions.get(&id));
    let mut response = if open || session.is_some() {
        let mut request = request;
        if let Some(session) = session {
            request.extensions_mut().insert(session);
        }
        next.run(request).await
    } else if request.method() == axum::http::Method::GET {
        Redirect::to(&format!("{}/login", base.0)).into_response()
    } else {
        (StatusCode::FORBIDDEN, "sign in first").into_response()
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

fn html(markup: maud::Markup) -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

async fn login_page(base: Base) -> Response {
    html(views::login(
        &Page {
            base: &base.0,
            csrf: None,
        },
        false,
    ))
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

/// Whether the request came over HTTPS (directly, or through a proxy that says so): the
/// cookie is then `Secure`.
fn over_https(headers: &HeaderMap, uri: &axum::http::Uri) -> bool {
    uri.scheme_str() == Some("https")
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

async fn login(
    State(console): State<Console>,
    base: Base,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    axum::Form(form): axum::Form<LoginForm>,
) -> Response {
    let Some(expected) = &console.app.admin_token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !callbook_signature::constant_time_eq(
        form.token.trim().as_bytes(),
        expose(expected).as_bytes(),
    ) {
        let page = views::login(
            &Page {
                base: &base.0,
                csrf: None,
            },
            true,
        );
        return (StatusCode::UNAUTHORIZED, html(page)).into_response();
    }
    let (id, _) = console.sessions.create();
    let secure = if over_https(&headers, &uri) {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE}={id}; Path={}; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        base.0,
        LIFETIME.as_secs()
    );
    let mut response = Redirect::to(&format!("{}/events", base.0)).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
    event: Option<String>,
}

/// A console action: its form, taken only when it carries the session's CSRF token (compared
/// in constant time). Every POST but sign-in goes through it, so none can forget the check.
struct Action<T>(T);

/// A form with the CSRF token every action carries.
trait Csrf {
    fn csrf(&self) -> &str;
}

impl Csrf for CsrfForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl Csrf for ReplayForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl<S, T> axum::extract::FromRequest<S> for Action<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned + Csrf,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        let stale = || (StatusCode::FORBIDDEN, "stale form: reload the page").into_response();
        let Some(session) = request.extensions().get::<Session>().cloned() else {
            return Err(stale());
        };
        let axum::Form(form) = axum::Form::<T>::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if callbook_signature::constant_time_eq(session.csrf.as_bytes(), form.csrf().as_bytes()) {
            Ok(Self(form))
        } else {
            Err(stale())
        }
    }
}

async fn logout(
    State(console): State<Console>,
    base: Base,
    headers: HeaderMap,
    Action(_): Action<CsrfForm>,
) -> Response {
    if let Some(id) = cookie_value(&headers) {
        console.sessions.end(&id);
    }
    let mut response = Redirect::to(&format!("{}/login", base.0)).into_response();
    let cleared = format!(
        "{COOKIE}=; Path={}; HttpOnly; SameSite=Strict; Max-Age=0",
        base.0
    );
    if let Ok(value) = HeaderValue::from_str(&cleared) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[derive(Deserialize, Default)]
struct EventsQuery {
    source: Option<String>,
    provider: Option<String>,
    event_type: Option<String>,
    parsed: Option<String>,
    search: Option<String>,
    since: Option<String>,
    until: Option<String>,
    cursor: Option<String>,
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

const PAGE_SIZE: u32 = 50;

async fn events(
    State(console): State<Console>,
    base: Base,
    axum::Extension(session): axum::Extension<Session>,
    Query(q): Query<EventsQuery>,
) -> Response {
    let provider = match nonempty(&q.provider).as_deref() {
        Some("calendly") => Some(Provider::Calendly),
        Some("aircall") => Some(Provider::Aircall),
        _ => None,
    };
    let page = console
        .app
        .store
        .list_events(&EventQuery {
            source: nonempty(&q.source),
            provider,
            event_type: nonempty(&q.event_type),
            parsed: match nonempty(&q.parsed).as_deref() {
                Some("yes") => Some(true),
                Some("no") => Some(false),
                _ => None,
            },
            search: nonempty(&q.search),
            since: nonempty(&q.since).as_deref().and_then(local_utc),
            until: nonempty(&q.until).as_deref().and_then(local_utc),
            before: nonempty(&q.cursor).and_then(|c| c.parse::<EventId>().ok()),
            limit: Some(PAGE_SIZE),
        })
        .await;
    let page = match page {
        Ok(page) => page,
        Err(e) => return store_unavailable(e),
    };
    let filters = EventFilters {
        source: q.source.clone().unwrap_or_default(),
        provider: q.provider.clone().unwrap_or_default(),
        event_type: q.event_type.clone().unwrap_or_default(),
        parsed: q.parsed.clone().unwrap_or_default(),
        search: q.search.clone().unwrap_or_default(),
        since: q.since.clone().unwrap_or_default(),
        until: q.until.clone().unwrap_or_default(),
    };
    let older = page.next_cursor.map(|cursor| {
        let mut pairs = url_pairs(&filters);
        pairs.push(("cursor", cursor.to_string()));
        encode_query(&pairs)
    });
    html(views::events(
        &Page {
            base: &base.0,
            csrf: Some(&session.csrf),
        },
        &filters,
        &page.events,
        older,
    ))
}

fn url_pairs(f: &EventFilters) -> Vec<(&'static str, String)> {
    [
        ("source", &f.source),
        ("provider", &f.provider),
        ("event_type", &f.event_type),
        ("parsed", &f.parsed),
        ("search", &f.search),
        ("since", &f.since),
        ("until", &f.until),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| (k, v.clone()))
    .collect()
}

fn encode_query(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn store_unavailable(e: callbook_store::Error) -> Response {
    tracing::warn!(error = %e, "console: store unavailable");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "the store is unavailable; try again",
    )
        .into_response()
}

#[derive(Deserialize, Default)]
struct EventPageQuery {
    notice: Option<String>,
}

async fn event(
    State(console): State<Console>,
    base: Base,
    axum::Extension(session): axum::Extension<Session>,
    Path(id): Path<String>,
    Query(query): Query<EventPageQuery>,
) -> Response {
    let page = Page {
        base: &base.0,
        csrf: Some(&session.csrf),
    };
    let Ok(id) = id.parse::<EventId>() else {
        return (
            StatusCode::NOT_FOUND,
            html(views::not_found(&page, "No such event.")),
        )
            .into_response();
    };
    let store = &console.app.store;
    let stored = match store.get_event(id).await {
        Ok(Some(stored)) => stored,
        Ok(None) => {
            return (
                StatusCode::NOT_FOUND,
                html(views::not_found(&page, "No such event.")),
            )
                .into_response();
        }
        Err(e) => return store_unavailable(e),
    };
    let listed = store
        .list_deliveries(&DeliveryQuery {
            event_id: Some(id),
            limit: Some(100),
            ..DeliveryQuery::default()
        })
        .await;
    let mut deliveries = Vec::new();
    match listed {
        Ok(listed) => {
            for d in listed.deliveries {
                match store.get_delivery(d.id).await {
                    Ok(Some(pair)) => deliveries.push(pair),
                    Ok(None) => {}
                    Err(e) => return store_unavailable(e),
                }
            }
        }
        Err(e) => return store_unavailable(e),
    }
    let pretty_body = match serde_json::from_slice::<serde_json::Value>(&stored.body) {
        Ok(value) => serde_json::to_string_pretty(&value).unwrap_or_default(),
        Err(_) => String::from_utf8_lossy(&stored.body).into_owned(),
    };
    let notice = query.notice;
    let notice = match notice.as_deref() {
        Some("retried") => Some("The delivery is due now: it is attempted within a moment."),
        _ => None,
    };
    let view = EventView {
        summary: summary::summary(stored.summary.provider, &stored.body),
        event: &stored,
        pretty_body,
        deliveries,
        notice,
    };
    html(views::event(&page, &view))
}

async fn event_body(State(console): State<Console>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<EventId>() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match console.app.store.get_event(id).await {
        Ok(Some(stored)) => (
            [
                (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{id}.json\""),
                ),
            ],
            stored.body,
        )
            .into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => store_unavailable(e),
    }
}

async fn retry(
    State(console): State<Console>,
    base: Base,
    Path(id): Path<String>,
    Action(form): Action<CsrfForm>,
) -> Response {
    let Ok(id) = id.parse::<DeliveryId>() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match console
        .app
        .store
        .retry_delivery(id, chrono::Utc::now())
        .await
    {
        Ok(true) => {
            console.app.engine.wake.notify_one();
            let back = match form
                .event
                .as_deref()
                .and_then(|e| e.parse::<EventId>().ok())
            {
                Some(event) => format!("{}/events/{event}?notice=retried", base.0),
                None => format!("{}/events", base.0),
            };
            Redirect::to(&back).into_response()
        }
        Ok(false) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => store_unavailable(e),
    }
}

#[derive(Deserialize, Default)]
struct CursorQuery {
    cursor: Option<String>,
}

async fn dead(
    State(console): State<Console>,
    base: Base,
    axum::Extension(session): axum::Extension<Session>,
    Query(q): Query<CursorQuery>,
) -> Response {
    let listed = console
        .app
        .store
        .list_deliveries(&DeliveryQuery {
            state: Some(callbook_store::DeliveryState::Dead),
            before: nonempty(&q.cursor).and_then(|c| c.parse::<DeliveryId>().ok()),
            limit: Some(PAGE_SIZE),
            ..DeliveryQuery::default()
        })
        .await;
    let stats = match console.app.store.queue_stats(chrono::Utc::now()).await {
        Ok(stats) => stats,
        Err(e) => return store_unavailable(e),
    };
    let per_destination: Vec<(String, u64)> = stats
        .iter()
        .filter(|q| q.dead > 0)
        .map(|q| (q.destination.clone(), q.dead))
        .collect();
    match listed {
        Ok(page) => html(views::dead(
            &Page {
                base: &base.0,
                csrf: Some(&session.csrf),
            },
            &per_destination,
            &page.deliveries,
            page.next_cursor
                .map(|c| encode_query(&[("cursor", c.to_string())])),
        )),
        Err(e) => store_unavailable(e),
    }
}

async fn destinations(
    State(console): State<Console>,
    base: Base,
    axum::Extension(session): axum::Extension<Session>,
    Query(query): Query<EventPageQuery>,
) -> Response {
    let stats = match console.app.store.queue_stats(chrono::Utc::now()).await {
        Ok(stats) => stats,
        Err(e) => return store_unavailable(e),
    };
    let rows = destination_rows(&console, &stats);
    let notice = query.notice.as_deref().map(|n| match n {
        "enabled" => "Enabled: its deliveries are attempted again.",
        "disabled" => "Disabled: nothing is attempted until it is enabled; deliveries wait.",
        "replayed" => "Replay scheduled: the deliveries are due now.",
        _ => "Done.",
    });
    html(views::destinations(
        &Page {
            base: &base.0,
            csrf: Some(&session.csrf),
        },
        &rows,
        notice,
    ))
}

fn destination_rows(
    console: &Console,
    stats: &[callbook_store::QueueStats],
) -> Vec<views::DestinationRow> {
    let engine = &console.app.engine;
    engine
        .destinations
        .iter()
        .map(|d| {
            let queue = stats.iter().find(|s| *s.destination == *d.name);
            views::DestinationRow {
                name: d.name.to_string(),
                kind: if d.url.is_some() {
                    "http"
                } else {
                    "in-process handler"
                },
                url: d.url.clone(),
                disabled: d.is_disabled(),
                breaker: match engine.breaker_state(d) {
                    crate::delivery::BreakerState::Closed => "closed",
                    crate::delivery::BreakerState::Open => "open",
                    crate::delivery::BreakerState::HalfOpen => "half open",
                },
                pending: queue.map_or(0, |q| q.pending),
                due: queue.map_or(0, |q| q.due),
                dead: queue.map_or(0, |q| q.dead),
            }
        })
        .collect()
}

async fn overview(
    State(console): State<Console>,
    base: Base,
    axum::Extension(session): axum::Extension<Session>,
) -> Response {
    let stats = match console.app.store.queue_stats(chrono::Utc::now()).await {
        Ok(stats) => stats,
        Err(e) => return store_unavailable(e),
    };
    let now = crate::activity::minute_now();
    let mut sources: Vec<views::SourceRow> = console
        .app
        .sources
        .values()
        .map(|s| views::SourceRow {
            name: s.name.to_string(),
            provider: s.provider.as_str(),
            per_minute: s.metrics.activity.last_day(now),
            rejections: s.metrics.rejections(),
        })
        .collect();
    sources.sort_by(|a, b| a.name.cmp(&b.name));
    let rows = destination_rows(&console, &stats);
    html(views::overview(
        &Page {
            base: &base.0,
            csrf: Some(&session.csrf),
        },
        &sources,
        &rows,
    ))
}

fn back_to_destinations(base: &Base, notice: &str) -> Response {
    Redirect::to(&format!("{}/destinations?notice={notice}", base.0)).into_response()
}

async fn enable(
    State(console): State<Console>,
    base: Base,
    Path(name): Path<String>,
    Action(_): Action<CsrfForm>,
) -> Response {
    match console.app.engine.enable(&name).await {
        Ok(true) => back_to_destinations(&base, "enabled"),
        Ok(false) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => store_unavailable(e),
    }
}

async fn disable(
    State(console): State<Console>,
    base: Base,
    Path(name): Path<String>,
    Action(_): Action<CsrfForm>,
) -> Response {
    if console.app.engine.disable_by_name(&name).await {
        back_to_destinations(&base, "disabled")
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

#[derive(Deserialize)]
struct ReplayForm {
    csrf: String,
    dead: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

/// A `datetime-local` value (`2026-12-04T15:30`, seconds optional), read as UTC.
fn local_utc(value: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let value = value.trim();
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(value, f).ok())
        .map(|t| t.and_utc())
}

async fn replay(
    State(console): State<Console>,
    base: Base,
    Path(name): Path<String>,
    Action(form): Action<ReplayForm>,
) -> Response {
    let engine = &console.app.engine;
    let Some(destination) = engine.destinations.iter().find(|d| *d.name == *name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let what = if form.dead.is_some() {
        callbook_store::Replay::Dead
    } else {
        let Some(since) = form.since.as_deref().and_then(local_utc) else {
            return (StatusCode::BAD_REQUEST, "give the start of the range").into_response();
        };
        let until = match form.until.as_deref().filter(|u| !u.trim().is_empty()) {
            Some(u) => match local_utc(u) {
                Some(t) => t,
                None => {
                    return (
                        StatusCode::BAD_REQUEST,
                        "the end of the range is not a time",
                    )
                        .into_response();
                }
            },
            None => chrono::Utc::now(),
        };
        callbook_store::Replay::Range {
            since,
            until,
            filter: destination.filter.clone(),
        }
    };
    match console
        .app
        .store
        .replay(&name, what, chrono::Utc::now())
        .await
    {
        Ok(_) => {
            engine.wake.notify_one();
            back_to_destinations(&base, "replayed")
        }
        Err(e) => store_unavailable(e),
    }
}

#[derive(Deserialize, Default)]
struct PeopleQuery {
    q: Option<String>,
}

async fn people_page(
    State(console): State<Console>,
    base: Base,
    axum::Extension(session): axum::Extension<Session>,
    Query(q): Query<PeopleQuery>,
) -> Response {
    let page = Page {
        base: &base.0,
        csrf: Some(&session.csrf),
    };
    let query = nonempty(&q.q);
    let found = match (&console.people, &query) {
        (None, _) => views::PeopleResult::Off,
        (Some(_), None) => views::PeopleResult::Ask,
        (Some(directory), Some(text)) => match directory.person(text).await {
            Ok(Some(person)) => views::PeopleResult::Found(Box::new(person)),
            Ok(None) => views::PeopleResult::Unknown,
            Err(message) => views::PeopleResult::Invalid(message),
        },
    };
    html(views::people(&page, query.as_deref().unwrap_or(""), &found))
}
