//! The one error type of this crate.

use std::time::Duration;

pub use callbook_models::calendly::ErrorDetail;

/// What can go wrong calling Calendly or Aircall.
///
/// Variants follow the HTTP status, so callers can match on the situation (`NotFound`,
/// `RateLimited`, ...) without reading status codes. No variant ever holds a credential.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token or API key is missing, invalid, expired or revoked (Calendly 401; Aircall 401,
    /// and 403, which Aircall answers for a wrong key).
    #[error("unauthenticated: {message}")]
    Unauthenticated {
        /// The provider's message.
        message: String,
    },
    /// The token lacks scopes this operation needs (Calendly `403 Insufficient scope`).
    #[error("insufficient scope: requires {}", required_scopes.join(", "))]
    InsufficientScope {
        /// The scopes Calendly asked for, such as `webhooks:write`.
        required_scopes: Vec<String>,
        /// The provider's message.
        message: String,
    },
    /// Authenticated but not allowed (403), e.g. a plan that lacks the feature.
    #[error("permission denied: {message}")]
    PermissionDenied {
        /// The provider's message.
        message: String,
    },
    /// The resource does not exist (404).
    #[error("not found: {message}")]
    NotFound {
        /// The provider's message.
        message: String,
    },
    /// The resource already exists (409), e.g. a webhook for the same URL.
    #[error("already exists: {message}")]
    AlreadyExists {
        /// The provider's message.
        message: String,
    },
    /// The request was refused as invalid (400 or 422).
    #[error("invalid argument: {message}{}", fmt_details(details))]
    InvalidArgument {
        /// The provider's message.
        message: String,
        /// Per-parameter problems, when given.
        details: Vec<ErrorDetail>,
    },
    /// Still rate limited after the configured number of waits (429).
    #[error("rate limited{}", retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// How long the provider asked to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The provider failed (5xx), after retries for idempotent requests.
    #[error("server error {status}: {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The provider's message.
        message: String,
    },
    /// Any other unsuccessful status.
    #[error("unexpected status {status}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The provider's message.
        message: String,
    },
    /// The request could not be sent or the response not read (connection, TLS, timeout).
    #[error("transport: {0}")]
    Transport(#[source] TransportError),
    /// A successful response whose body does not match the expected shape.
    #[error("cannot decode response at `{path}`: {message} (body starts: {excerpt})")]
    Decode {
        /// Where in the document decoding failed, such as `collection[3].start_time`.
        path: String,
        /// What serde said.
        message: String,
        /// The first bytes of the body.
        excerpt: String,
    },
    /// The refresh token was already used or revoked (`invalid_grant`): the user must go through
    /// the OAuth authorization again.
    #[error("re-authorization required: {description}")]
    ReauthorizationRequired {
        /// The authorization server's description.
        description: String,
    },
    /// The OAuth token endpoint refused the request for another reason.
    #[error("oauth error `{error}`: {description}")]
    OAuth {
        /// The OAuth error code, such as `invalid_client`.
        error: String,
        /// The authorization server's description.
        description: String,
    },
    /// A refreshed token pair could not be persisted by the [`TokenStore`](crate::calendly::TokenStore).
    /// The new pair is still used in memory; the old refresh token is spent.
    #[error("token store: {0}")]
    TokenStore(String),
    /// Refused before sending: the request is one the provider is known to reject.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The client was configured with an unusable value (base URL, header).
    #[error("configuration: {0}")]
    Config(String),
}

fn fmt_details(details: &[ErrorDetail]) -> String {
    details
        .iter()
        .map(|d| match &d.parameter {
            Some(p) => format!("; {p}: {}", d.message),
            None => format!("; {}", d.message),
        })
        .collect()
}

impl Error {
    /// Whether retrying the same request later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Server { .. } | Self::Transport(_)
        )
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A decode failure with the serde path and a short, char-safe excerpt of the body.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| Error::Decode {
        path: e.path().to_string(),
        message: e.inner().to_string(),
        excerpt: excerpt(body),
    })
}

/// Like [`decode`], for bodies that carry credentials (OAuth tokens, Aircall webhook tokens):
/// the error keeps the path but neither the body nor serde's message, which can quote a value.
pub(crate) fn decode_secret<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T> {
    decode(body).map_err(|e| match e {
        Error::Decode { path, .. } => Error::Decode {
            path,
            message: "unexpected shape (details withheld: the body carries credentials)".into(),
            excerpt: "[withheld]".into(),
        },
        other => other,
    })
}

pub(crate) fn excerpt(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX * 4)]);
    let mut out: String = text.chars().take(MAX).collect();
    if out.len() < text.len() || body.len() > MAX * 4 {
        out.push('…');
    }
    out
}

/// Why a request could not be sent or its response not read: connection, TLS, timeout. Opaque,
/// so the HTTP stack underneath can change without breaking you; the URL is never part of it.
#[derive(Debug)]
pub struct TransportError(reqwest::Error);

impl TransportError {
    /// The request or response timed out.
    pub fn is_timeout(&self) -> bool {
        self.0.is_timeout()
    }

    /// No connection could be made (DNS, refused, TLS handshake).
    pub fn is_connect(&self) -> bool {
        self.0.is_connect()
    }
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl From<reqwest::Error> for TransportError {
    fn from(e: reqwest::Error) -> Self {
        // Request URLs can carry query parameters worth keeping out of logs.
        Self(e.without_url())
    }
}
