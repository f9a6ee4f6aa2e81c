//! Errors: the crate's error type, and the HTTP error responses.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// What can go wrong building or running the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid.
    #[error("configuration error: {0}")]
    Config(String),
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] callbook_store::Error),
    /// A verifier could not be built from the configured secrets.
    #[error("source {source_name:?}: {error}")]
    Secret {
        /// The source.
        source_name: String,
        /// Why.
        #[source]
        error: callbook_signature::Error,
    },
    /// Serving failed.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// A JSON error response: `{"error": code, "message": text}`. It tells the client what it needs
/// and nothing more (no secrets, no internals).
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    /// Seconds for a `Retry-After` header.
    pub(crate) retry_after: Option<u32>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Adds `Retry-After: secs`.
    pub(crate) fn retry_after(mut self, secs: u32) -> Self {
        self.retry_after = Some(secs);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.code, "message": self.message });
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}
