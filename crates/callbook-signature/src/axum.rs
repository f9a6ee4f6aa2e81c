//! axum extractors that verify and parse a webhook in one step (feature `axum`).
//!
//! Each extractor reads the raw body (within axum's `DefaultBodyLimit`), verifies it with the
//! verifier it finds in the router's state (through [`FromRef`], so the state can hold other
//! things too), and parses it once as `T`:
//!
//! ```
//! use axum::{Router, extract::FromRef, routing::post};
//! use callbook_signature::axum::{VerifiedAircall, VerifiedCalendly};
//! use callbook_signature::{aircall, calendly};
//!
//! #[derive(Clone, FromRef)]
//! struct Hooks {
//!     calendly: calendly::Verifier,
//!     aircall: aircall::Verifier,
//! }
//!
//! // Usually callbook_models::calendly::Webhook; anything Deserialize works.
//! async fn on_calendly(VerifiedCalendly(event, _): VerifiedCalendly<serde_json::Value>) {
//!     println!("{}", event["event"]);
//! }
//!
//! async fn on_aircall(VerifiedAircall(event, verified): VerifiedAircall<serde_json::Value>) {
//!     println!("account #{}: {}", verified.key_index, event["event"]);
//! }
//!
//! # fn app() -> Result<Router, callbook_signature::Error> {
//! let app = Router::new()
//!     .route("/hooks/calendly", post(on_calendly))
//!     .route("/hooks/aircall", post(on_aircall))
//!     .with_state(Hooks {
//!         calendly: calendly::Verifier::new(["signing-key"])?,
//!         aircall: aircall::Verifier::new(["token-a", "token-b"])?,
//!     });
//! # Ok(app) }
//! ```
//!
//! A request that fails verification is refused with 401 and a JSON body
//! `{"error": "<code>", "message": "..."}` (see [`Error::code`]); an oversized body with 413; a
//! genuine body that does not parse as `T` with 400 (`invalid_payload`). To keep every genuine
//! body whatever its shape, extract `serde_json::Value` or `Box<serde_json::value::RawValue>`.

use crate::{Error, Verified, aircall, calendly, standard};
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::de::DeserializeOwned;

/// A verified Calendly webhook parsed as `T`, with what the verification established.
#[derive(Debug, Clone)]
pub struct VerifiedCalendly<T>(pub T, pub Verified);

/// A verified Aircall webhook parsed as `T` (its `token` replaced by `""`); the
/// [`Verified::key_index`] tells which configured token, so which account, sent it.
#[derive(Debug, Clone)]
pub struct VerifiedAircall<T>(pub T, pub Verified);

/// A verified Standard Webhooks message (such as an event forwarded by callbook) parsed as `T`.
#[derive(Debug, Clone)]
pub struct VerifiedStandard<T>(pub T, pub Verified);

/// Why an extractor refused a request; it answers with the matching status and a JSON body.
#[derive(Debug)]
pub struct Rejection(Kind);

#[derive(Debug)]
enum Kind {
    Verify(Error),
    Body(BytesRejection),
}

impl Rejection {
    /// 401 when the request is not genuine, 400 when a genuine body does not parse, and the
    /// body reader's status (413 over the limit) when the body could not be read.
    pub fn status(&self) -> StatusCode {
        match &self.0 {
            Kind::Verify(e) if e.is_payload() => StatusCode::BAD_REQUEST,
            Kind::Verify(_) => StatusCode::UNAUTHORIZED,
            Kind::Body(e) => e.status(),
        }
    }

    /// The verification or parse error, if that is why.
    pub fn error(&self) -> Option<&Error> {
        match &self.0 {
            Kind::Verify(e) => Some(e),
            Kind::Body(_) => None,
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Kind::Verify(e) => e.fmt(f),
            Kind::Body(e) => f.write_str(&e.body_text()),
        }
    }
}

impl std::error::Error for Rejection {}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let code = match &self.0 {
            Kind::Verify(e) => e.code(),
            Kind::Body(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
            Kind::Body(_) => "body_read_error",
        };
        let body = serde_json::json!({ "error": code, "message": self.to_string() });
        (
            self.status(),
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

impl From<Error> for Rejection {
    fn from(e: Error) -> Self {
        Self(Kind::Verify(e))
    }
}

async fn body<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<(http::HeaderMap, Bytes), Rejection> {
    let (mut parts, body) = req.into_parts();
    // The headers are only read for verification; the body limit lives in the extensions.
    let headers = std::mem::take(&mut parts.headers);
    let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
        .await
        .map_err(|e| Rejection(Kind::Body(e)))?;
    Ok((headers, bytes))
}

impl<S, T> FromRequest<S> for VerifiedCalendly<T>
where
    S: Send + Sync,
    calendly::Verifier: FromRef<S>,
    T: DeserializeOwned,
{
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Rejection> {
        let (headers, bytes) = body(req, state).await?;
        let verified = calendly::Verifier::from_ref(state).construct_event(&headers, &bytes)?;
        let (event, verified) = verified.split();
        Ok(Self(event, verified))
    }
}

impl<S, T> FromRequest<S> for VerifiedAircall<T>
where
    S: Send + Sync,
    aircall::Verifier: FromRef<S>,
    T: DeserializeOwned,
{
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Rejection> {
        let (_, bytes) = body(req, state).await?;
        let verified = aircall::Verifier::from_ref(state).construct_event(&bytes)?;
        let (event, verified) = verified.split();
        Ok(Self(event, verified))
    }
}

impl<S, T> FromRequest<S> for VerifiedStandard<T>
where
    S: Send + Sync,
    standard::Webhook: FromRef<S>,
    T: DeserializeOwned,
{
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Rejection> {
        let (headers, bytes) = body(req, state).await?;
        let verified = standard::Webhook::from_ref(state).construct_event(&headers, &bytes)?;
        let (event, verified) = verified.split();
        Ok(Self(event, verified))
    }
}
