//! The admin API: `GET /admin/events`, `GET /admin/events/{id}`, `GET /admin/openapi.json`.
//! Bearer token required; without a configured token the routes do not exist.

use crate::config::expose;
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use callbook_store::{
    AttemptRecord, Delivery, DeliveryId, DeliveryQuery, DeliveryState, EventId, EventQuery,
    EventSummary, Provider, QueueStats, Replay,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub(crate) fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/admin/events", get(list_events))
        .route("/admin/events/{id}", get(get_event))
        .route("/admin/deliveries", get(list_deliveries))
        .route("/admin/deliveries/{id}", get(get_delivery))
        .route("/admin/deliveries/{id}/retry", post(retry_delivery))
        .route("/admin/destinations", get(list_destinations))
        .route("/admin/destinations/{name}/replay", post(replay))
        .route("/admin/destinations/{name}/enable", post(enable))
        .route("/admin/openapi.json", get(openapi))
        .route_layer(middleware::from_fn_with_state(state, require_token))
}

pub(crate) async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = &state.admin_token else {
        return ApiError::new(StatusCode::NOT_FOUND, "not_found", "the admin API is off")
            .into_response();
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer);
    let ok = given.is_some_and(|g| {
        callbook_signature::constant_time_eq(g.as_bytes(), expose(expected).as_bytes())
    });
    if !ok {
        let mut response = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid admin bearer token is required",
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    next.run(request).await
}

/// The credentials of `Authorization: Bearer <token>`; the scheme's name is case-insensitive
/// (RFC 9110 §11.1) and spaces around the token are not part of it.
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim_matches(' '))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    source: Option<String>,
    provider: Option<Provider>,
    event_type: Option<String>,
    parsed: Option<bool>,
    search: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    cursor: Option<EventId>,
    limit: Option<u32>,
}

/// The largest page, as the OpenAPI document says.
const MAX_LIMIT: u32 = 1000;

/// A page size out of `1..=1000` is refused rather than quietly changed.
fn check_limit(limit: Option<u32>) -> Result<(), ApiError> {
    match limit {
        Some(l) if l == 0 || l > MAX_LIMIT => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        )),
        _ => Ok(()),
    }
}

#[derive(Serialize)]
struct EventList {
    events: Vec<EventSummary>,
    next_cursor: Option<EventId>,
}

async fn list_events(
    State(state): State<AppState>,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<EventList>, ApiError> {
    let Query(p) = params
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    check_limit(p.limit)?;
    let query = EventQuery {
        source: p.source,
        provider: p.provider,
        event_type: p.event_type,
        parsed: p.parsed,
        search: p.search,
        since: p.since,
        until: p.until,
        before: p.cursor,
        limit: p.limit,
    };
    let page = state.store.list_events(&query).await.map_err(store_error)?;
    Ok(Json(EventList {
        events: page.events,
        next_cursor: page.next_cursor,
    }))
}

#[derive(Serialize)]
struct EventDetail {
    #[serde(flatten)]
    summary: EventSummary,
    headers: serde_json::Map<String, serde_json::Value>,
    /// The body as text when it is UTF-8.
    body: Option<String>,
    /// The body exactly, base64.
    body_base64: String,
}

async fn get_event(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<EventDetail>, ApiError> {
    let id: EventId = id
        .parse()
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "invalid_id", "not an event ID"))?;
    let event = state
        .store
        .get_event(id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such event"))?;
    Ok(Json(EventDetail {
        summary: event.summary,
        headers: event
            .headers
            .into_iter()
            .map(|(k, v)| (k, v.into()))
            .collect(),
        body: String::from_utf8(event.body.clone()).ok(),
        body_base64: base64::engine::general_purpose::STANDARD.encode(&event.body),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveryParams {
    destination: Option<String>,
    state: Option<DeliveryState>,
    event_id: Option<EventId>,
    cursor: Option<DeliveryId>,
    limit: Option<u32>,
}

#[derive(Serialize)]
struct DeliveryList {
    deliveries: Vec<Delivery>,
    next_cursor: Option<DeliveryId>,
}

async fn list_deliveries(
    State(state): State<AppState>,
    params: Result<Query<DeliveryParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<DeliveryList>, ApiError> {
    let Query(p) = params
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    check_limit(p.limit)?;
    let query = DeliveryQuery {
        destination: p.destination,
        state: p.state,
        event_id: p.event_id,
        before: p.cursor,
        limit: p.limit,
    };
    let page = state
        .store
        .list_deliveries(&query)
        .await
        .map_err(store_error)?;
    Ok(Json(DeliveryList {
        deliveries: page.deliveries,
        next_cursor: page.next_cursor,
    }))
}

/// A delivery with its attempts: `attempts` is the list here (its length is the count the
/// list endpoint gives under the same name).
fn delivery_detail(delivery: Delivery, attempts: Vec<AttemptRecord>) -> serde_json::Value {
    let mut detail = serde_json::to_value(delivery).unwrap_or_default();
    if let Some(map) = detail.as_object_mut() {
        map.insert(
            "attempts".into(),
            serde_json::to_value(attempts).unwrap_or_default(),
        );
    }
    detail
}

fn delivery_id(id: &str) -> Result<DeliveryId, ApiError> {
    id.parse()
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "invalid_id", "not a delivery ID"))
}

async fn get_delivery(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (delivery, attempts) = state
        .store
        .get_delivery(delivery_id(&id)?)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such delivery"))?;
    Ok(Json(delivery_detail(delivery, attempts)))
}

async fn retry_delivery(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let id = delivery_id(&id)?;
    if !state
        .store
        .retry_delivery(id, Utc::now())
        .await
        .map_err(store_error)?
    {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such delivery",
        ));
    }
    state.engine.wake.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "id": id, "scheduled": true })),
    ))
}

/// The body of a replay: one of the two shapes the OpenAPI document gives, nothing else
/// (an explicit `null` is allowed only for `until`, which then means now).
#[derive(Debug, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
enum ReplayRequest {
    /// Replay the destination's dead deliveries.
    Dead { dead: bool },
    /// Replay every event of a time range.
    Range {
        since: DateTime<Utc>,
        #[serde(default)]
        until: Option<DateTime<Utc>>,
    },
}

async fn replay(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: bytes::Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let Some(destination) = state.engine.destinations.iter().find(|d| *d.name == *name) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such destination",
        ));
    };
    // Parsed here, so that a malformed body gets the JSON error shape like everything else.
    let invalid = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_replay",
            "send {\"dead\": true} or {\"since\": ..., \"until\": ...}",
        )
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(invalid());
    }
    // Parsed here, so that a malformed body gets the JSON error shape like everything else.
    let request: ReplayRequest = serde_json::from_slice(&body).map_err(|e| {
        if e.is_data() {
            return invalid();
        }
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!(
                "the body is not JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })?;
    let what = match request {
        ReplayRequest::Dead { dead: true } => Replay::Dead,
        ReplayRequest::Range { since, until } => Replay::Range {
            since,
            until: until.unwrap_or_else(Utc::now),
            filter: destination.filter.clone(),
        },
        ReplayRequest::Dead { dead: false } => return Err(invalid()),
    };
    let scheduled = state
        .store
        .replay(&name, what, Utc::now())
        .await
        .map_err(store_error)?;
    state.engine.wake.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "destination": name, "scheduled": scheduled })),
    ))
}

async fn enable(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if !state.engine.enable(&name).await.map_err(store_error)? {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such destination",
        ));
    }
    Ok(Json(
        serde_json::json!({ "destination": name, "enabled": true }),
    ))
}

#[derive(Serialize)]
struct DestinationView {
    name: String,
    url: Option<String>,
    kind: &'static str,
    disabled: bool,
    breaker: &'static str,
    queue: Option<QueueStats>,
}

async fn list_destinations(
    State(state): State<AppState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let stats = state
        .store
        .queue_stats(Utc::now())
        .await
        .map_err(store_error)?;
    let views: Vec<DestinationView> = state
        .engine
        .destinations
        .iter()
        .map(|d| DestinationView {
            name: d.name.to_string(),
            url: d.url.clone(),
            kind: if d.url.is_some() { "http" } else { "handler" },
            disabled: d.is_disabled(),
            breaker: match state.engine.breaker_state(d) {
                crate::delivery::BreakerState::Closed => "closed",
                crate::delivery::BreakerState::Open => "open",
                crate::delivery::BreakerState::HalfOpen => "half_open",
            },
            queue: stats.iter().find(|s| *s.destination == *d.name).cloned(),
        })
        .collect();
    Ok(Json(serde_json::json!({ "destinations": views })))
}

fn store_error(e: callbook_store::Error) -> ApiError {
    tracing::error!(error = %e, "admin query failed");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "storage_unavailable",
        "the store did not answer",
    )
}

async fn openapi() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        include_str!("openapi.json"),
    )
}
