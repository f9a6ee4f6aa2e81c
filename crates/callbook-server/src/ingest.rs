//! The webhook receivers: `POST /webhooks/calendly/{source}` and `POST /webhooks/aircall/{source}`.
//!
//! In order: body limit (413) → verification on the raw bytes (401, nothing stored; an Aircall
//! body loses its token's value here) → a redelivery of a body stored a moment ago is answered
//! here (see [`crate::redeliveries`]) → classification → durable insert →
//! `200 {"id", "duplicate"}`. A verified body that does not
//! parse is stored raw and acknowledged, so the sender does not retry it forever. The response
//! never waits for anything but the store.

use crate::classify;
use crate::error::ApiError;
use crate::redeliveries::Fingerprint;
use crate::state::{AppState, Source, Verifier};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use callbook_store::{EventId, NewEvent, ParseStatus, Provider};
use http_body_util::{BodyExt, Limited};
use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use tracing::Instrument;

/// Headers kept with an event: useful for debugging and replaying verification, never
/// credentials.
const KEPT_HEADERS: &[&str] = &[
    "content-type",
    "user-agent",
    "calendly-webhook-signature",
    "aircall-origin",
    "x-request-id",
];

#[derive(Serialize)]
struct Accepted {
    id: EventId,
    duplicate: bool,
}

pub(crate) async fn calendly(
    State(state): State<AppState>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    receive(state, Provider::Calendly, source, headers, body).await
}

pub(crate) async fn aircall(
    State(state): State<AppState>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    receive(state, Provider::Aircall, source, headers, body).await
}

async fn receive(
    state: AppState,
    provider: Provider,
    source_name: String,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let Some(source) = state
        .sources
        .get(&source_name)
        .filter(|s| s.provider == provider)
    else {
        state.metrics.unknown_source();
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_source",
            format!("no {provider} source named {source_name:?} is configured"),
        )
        .into_response();
    };
    source.metrics.received.inc();
    // Shed load before reading the body: bodies in flight are what memory goes to.
    let Some(_in_flight) = InFlight::enter(&state) else {
        source.metrics.rejected("overloaded");
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "too many webhooks in flight; retry later",
        )
        .retry_after(1)
        .into_response();
    };
    let span = tracing::info_span!(
        "ingest",
        source = %source.name,
        provider = %provider,
        event_id = tracing::field::Empty,
    );
    async {
        match ingest(&state, source, &headers, body).await {
            Ok(accepted) => {
                tracing::Span::current().record("event_id", tracing::field::display(accepted.id));
                source
                    .metrics
                    .latency
                    .observe(started.elapsed().as_secs_f64());
                (StatusCode::OK, Json(accepted)).into_response()
            }
            Err(e) => {
                source.metrics.rejected(e.code);
                e.into_response()
            }
        }
    }
    .instrument(span)
    .await
}

/// One webhook request counted against `server.max_webhooks_in_flight`.
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(state: &'a AppState) -> Option<Self> {
        let counter = &state.webhooks_in_flight;
        let before = counter.fetch_add(1, Ordering::Relaxed);
        let guard = Self(counter);
        (before < state.max_webhooks_in_flight).then_some(guard)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn ingest(
    state: &AppState,
    source: &Source,
    headers: &HeaderMap,
    body: Body,
) -> Result<Accepted, ApiError> {
    let body = read_body(headers, body, state.max_body_bytes).await?;
    source.metrics.body_bytes.observe(body.len() as f64);

    let redacted = verify(source, headers, &body)?;
    // A redelivery of a body stored a moment ago is known from its bytes alone.
    let fingerprint = Fingerprint::of(&source.name, &body);
    if let Some(id) = state.redeliveries.original(fingerprint) {
        source.metrics.duplicates.inc();
        return Ok(Accepted {
            id,
            duplicate: true,
        });
    }

    // Classified on the bytes received, so the de-duplication key is what it always was.
    let classified = match source.provider {
        Provider::Calendly => classify::calendly(&body),
        _ => classify::aircall(&body),
    };
    let mut event = NewEvent::new(
        source.name.as_ref(),
        source.provider,
        classified.dedupe_key,
        redacted.unwrap_or_else(|| body.to_vec()),
    );
    event.event_type = classified.event_type;
    event.occurred_at = classified.occurred_at;
    event.headers = KEPT_HEADERS
        .iter()
        .filter_map(|name| {
            let value = headers.get(*name)?.to_str().ok()?;
            Some(((*name).to_owned(), value.to_owned()))
        })
        .collect();
    let parsed = matches!(classified.parse_status, ParseStatus::Parsed);
    if let ParseStatus::Unparsed(why) = &classified.parse_status {
        tracing::warn!(error = %why, "verified body does not parse; stored raw");
    }
    event.parse_status = classified.parse_status;
    event.subjects = classified.subjects;
    event.destinations = state
        .engine
        .route(&source.name, event.event_type.as_deref());
    let handoffs = (!event.destinations.is_empty()).then(|| state.engine.pre_claim(&mut event));

    let outcome = state.store.insert_event(event).await.map_err(|e| {
        if matches!(e, callbook_store::Error::Backlog(_)) {
            tracing::warn!(error = %e, "event refused: the database is behind");
        } else {
            tracing::error!(error = %e, "event not stored");
        }
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "the event could not be stored; retry later",
        )
        .retry_after(1)
    })?;
    state.redeliveries.stored(fingerprint, outcome.id);
    if let Some(handoffs) = handoffs.filter(|_| !outcome.duplicate) {
        handoffs.start();
    }
    if outcome.duplicate {
        source.metrics.duplicates.inc();
        tracing::debug!(id = %outcome.id, "redelivery of a stored event");
    } else {
        if parsed {
            source.metrics.stored_parsed.inc();
        } else {
            source.metrics.stored_unparsed.inc();
        }
        source
            .metrics
            .activity
            .record(crate::activity::minute_now());
    }
    Ok(Accepted {
        id: outcome.id,
        duplicate: outcome.duplicate,
    })
}

async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("body exceeds the limit of {limit} bytes"),
        )
    };
    // Refuse early when the sender announces a larger body.
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > limit as u64 {
            return Err(too_large());
        }
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "body_read_error",
            "the request body could not be read",
        )),
    }
}

/// Verifies the body; for Aircall, also returns it with its token removed: the token is the
/// only credential of Aircall webhooks, so it is never stored, shown or forwarded.
fn verify(source: &Source, headers: &HeaderMap, body: &[u8]) -> Result<Option<Vec<u8>>, ApiError> {
    let result = match &source.verifier {
        Verifier::Calendly(v) => v.verify_headers(headers, body).map(|_| None),
        Verifier::Aircall(v) => v
            .verify_and_redact(body)
            .map(|(_, redacted)| Some(redacted)),
    };
    result.map_err(|e| {
        if let Some(suppressed) = source.rejections_logged.admit() {
            tracing::warn!(
                reason = e.code(),
                error = %e,
                suppressed,
                "webhook rejected (at most one line a second; `suppressed` counts the others)"
            );
        }
        ApiError::new(StatusCode::UNAUTHORIZED, e.code(), e.to_string())
    })
}
