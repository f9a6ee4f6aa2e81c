//! The request loop both clients share: auth header, retries, rate limits, error mapping.

use crate::calendly::OAuthSession;
use crate::error::{Error, Result, decode, decode_secret, excerpt};
use crate::rate_limit::{RateLimit, retry_after};
use crate::retry::RetryPolicy;
use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Settings common to both clients.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) base_url: String,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) user_agent: String,
    pub(crate) retry: RetryPolicy,
    pub(crate) http: Option<reqwest::Client>,
}

impl Options {
    pub(crate) fn new(base_url: &str) -> Self {
        Self {
            base_url: base_url.to_owned(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            user_agent: concat!("callbook-client/", env!("CARGO_PKG_VERSION")).to_owned(),
            retry: RetryPolicy::default(),
            http: None,
        }
    }

    fn http_client(&self) -> Result<reqwest::Client> {
        if let Some(http) = &self.http {
            return Ok(http.clone());
        }
        reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .user_agent(&self.user_agent)
            // An API never redirects a client legitimately; a redirect would carry the bearer
            // token to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("cannot build HTTP client: {e}")))
    }
}

/// The builder settings both clients share (the builder has an `options: Options` field).
macro_rules! common_settings {
    () => {
        /// Whole-request timeout (default 30 s).
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.options.timeout = timeout;
            self
        }

        /// Connect timeout (default 10 s).
        pub fn connect_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.options.connect_timeout = timeout;
            self
        }

        /// The `User-Agent` header.
        pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
            self.options.user_agent = agent.into();
            self
        }

        /// Retry behaviour.
        pub fn retry(mut self, policy: $crate::RetryPolicy) -> Self {
            self.options.retry = policy;
            self
        }

        /// A preconfigured `reqwest` client (proxies, custom roots). Timeouts and user agent
        /// set on this builder are then ignored.
        pub fn http_client(mut self, client: reqwest::Client) -> Self {
            self.options.http = Some(client);
            self
        }
    };
}
pub(crate) use common_settings;

/// Which provider's conventions apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Provider {
    Calendly,
    Aircall,
}

impl Provider {
    fn rate_limit_prefix(self) -> &'static str {
        match self {
            Self::Calendly => "x-ratelimit",
            Self::Aircall => "x-aircallapi",
        }
    }
}

/// How requests are authorized.
pub(crate) enum Auth {
    /// A fixed `Authorization` value (marked sensitive so it never shows in `Debug`).
    Fixed(HeaderValue),
    /// Calendly OAuth with refresh.
    OAuth(Arc<OAuthSession>),
}

impl Auth {
    pub(crate) fn bearer(token: &SecretString) -> Result<Self> {
        Ok(Self::Fixed(bearer_header(token)?))
    }
}

pub(crate) fn bearer_header(token: &SecretString) -> Result<HeaderValue> {
    sensitive(&format!("Bearer {}", token.expose_secret()))
}

pub(crate) fn sensitive(value: &str) -> Result<HeaderValue> {
    let mut v = HeaderValue::from_str(value).map_err(|_| {
        Error::Config("credential contains characters not allowed in a header".into())
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// One request, before authorization.
pub(crate) struct Req {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) body: Option<Vec<u8>>,
}

impl Req {
    pub(crate) fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
        }
    }

    pub(crate) fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    pub(crate) fn query(mut self, pairs: Vec<(&'static str, String)>) -> Self {
        self.query = pairs;
        self
    }

    pub(crate) fn json<B: serde::Serialize + ?Sized>(mut self, body: &B) -> Result<Self> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::InvalidRequest(format!("cannot encode body: {e}")))?;
        self.body = Some(bytes);
        Ok(self)
    }

    fn idempotent(&self) -> bool {
        matches!(
            self.method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        )
    }
}

/// The shared client core. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Transport {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: String,
    retry: RetryPolicy,
    provider: Provider,
    auth: Auth,
    rate: Mutex<Option<RateLimit>>,
}

impl Transport {
    pub(crate) fn new(options: Options, provider: Provider, auth: Auth) -> Result<Self> {
        let base = options.base_url.trim_end_matches('/').to_owned();
        reqwest::Url::parse(&base)
            .map_err(|e| Error::Config(format!("invalid base URL `{base}`: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http: options.http_client()?,
                base,
                retry: options.retry,
                provider,
                auth,
                rate: Mutex::new(None),
            }),
        })
    }

    pub(crate) fn base_url(&self) -> &str {
        &self.inner.base
    }

    pub(crate) fn rate_limit(&self) -> Option<RateLimit> {
        *self.inner.rate.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends and decodes a 2xx JSON body.
    pub(crate) async fn json<T: DeserializeOwned>(&self, req: Req) -> Result<T> {
        let body = self.send(req).await?;
        decode(&body)
    }

    /// Sends and decodes a 2xx JSON body that carries credentials: a decode error shows no
    /// part of it.
    pub(crate) async fn json_secret<T: DeserializeOwned>(&self, req: Req) -> Result<T> {
        let body = self.send(req).await?;
        decode_secret(&body)
    }

    /// Sends, expecting a 2xx whose body is ignored (204 deletes).
    pub(crate) async fn empty(&self, req: Req) -> Result<()> {
        self.send(req).await.map(drop)
    }

    /// Sends with retries; returns the body of a 2xx answer.
    pub(crate) async fn send(&self, req: Req) -> Result<Bytes> {
        let inner = &*self.inner;
        let url = if req.path.starts_with("https://") || req.path.starts_with("http://") {
            req.path.clone()
        } else {
            format!("{}{}", inner.base, req.path)
        };
        let mut retries = 0u32;
        let mut rate_waits = 0u32;
        let mut refreshed = false;
        loop {
            let (authorization, used_token) = self.authorization().await?;
            let mut builder = inner
                .http
                .request(req.method.clone(), &url)
                .header(AUTHORIZATION, authorization);
            if !req.query.is_empty() {
                builder = builder.query(&req.query);
            }
            if let Some(body) = &req.body {
                builder = builder
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let response = match builder.send().await {
                Ok(r) => r,
                Err(e) => {
                    if req.idempotent() && retries < inner.retry.max_retries {
                        let delay = inner.retry.backoff_delay(retries);
                        retries += 1;
                        tracing::debug!(method = %req.method, path = %req.path, error = %e, ?delay, "request failed; retrying");
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    return Err(Error::Transport(e.into()));
                }
            };
            let status = response.status();
            let headers = response.headers().clone();
            let seen = RateLimit::from_headers(inner.provider.rate_limit_prefix(), &headers);
            if seen.is_some() {
                *inner.rate.lock().unwrap_or_else(|e| e.into_inner()) = seen;
            }
            let body = match response.bytes().await {
                Ok(b) => b,
                Err(e) if req.idempotent() && retries < inner.retry.max_retries => {
                    let delay = inner.retry.backoff_delay(retries);
                    retries += 1;
                    tracing::debug!(method = %req.method, path = %req.path, error = %e, "reading body failed; retrying");
                    tokio::time::sleep(delay).await;
                    continue;
                }
                Err(e) => return Err(Error::Transport(e.into())),
            };
            tracing::debug!(method = %req.method, path = %req.path, status = status.as_u16(), "response");
            if status.is_success() {
                return Ok(body);
            }
            if status == StatusCode::UNAUTHORIZED && !refreshed {
                if let (Auth::OAuth(session), Some(used)) = (&inner.auth, &used_token) {
                    session.refresh_after_rejection(used).await?;
                    refreshed = true;
                    continue;
                }
            }
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = retry_after(&headers)
                    .or(seen.and_then(|s| s.reset_after))
                    .unwrap_or_else(|| inner.retry.backoff_delay(rate_waits));
                if rate_waits < inner.retry.max_rate_limit_waits
                    && wait <= inner.retry.max_rate_limit_wait
                {
                    rate_waits += 1;
                    tracing::info!(path = %req.path, ?wait, "rate limited; waiting");
                    tokio::time::sleep(wait).await;
                    continue;
                }
                return Err(Error::RateLimited {
                    retry_after: Some(wait),
                });
            }
            if status.is_server_error() && req.idempotent() && retries < inner.retry.max_retries {
                let delay = inner.retry.backoff_delay(retries);
                retries += 1;
                tracing::debug!(method = %req.method, path = %req.path, status = status.as_u16(), ?delay, "server error; retrying");
                tokio::time::sleep(delay).await;
                continue;
            }
            return Err(map_status(inner.provider, status, &headers, &body));
        }
    }

    async fn authorization(&self) -> Result<(HeaderValue, Option<SecretString>)> {
        match &self.inner.auth {
            Auth::Fixed(v) => Ok((v.clone(), None)),
            Auth::OAuth(session) => {
                let token = session.access_token().await?;
                Ok((bearer_header(&token)?, Some(token)))
            }
        }
    }
}

/// Maps an unsuccessful answer to the error a caller can match on.
fn map_status(provider: Provider, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    let code = status.as_u16();
    let (message, details, scopes) = match provider {
        Provider::Calendly => {
            match serde_json::from_slice::<callbook_models::calendly::ErrorBody>(body) {
                Ok(b) => {
                    let message = match (b.title.is_empty(), b.message.is_empty()) {
                        (false, false) => format!("{}: {}", b.title, b.message),
                        (false, true) => b.title,
                        _ => b.message,
                    };
                    (message, b.details, b.required_scopes)
                }
                Err(_) => (fallback_message(status, body), Vec::new(), Vec::new()),
            }
        }
        Provider::Aircall => {
            match serde_json::from_slice::<callbook_models::aircall::ApiError>(body) {
                Ok(b) => {
                    let errors = match b.errors {
                        Some(serde_json::Value::String(s)) => Some(s),
                        Some(v @ serde_json::Value::Array(_)) => Some(v.to_string()),
                        _ => None,
                    };
                    let message = errors
                        .or(b.message)
                        .or(b.error)
                        .unwrap_or_else(|| fallback_message(status, body));
                    (message, Vec::new(), Vec::new())
                }
                Err(_) => (fallback_message(status, body), Vec::new(), Vec::new()),
            }
        }
    };
    match code {
        400 | 422 => Error::InvalidArgument { message, details },
        401 => Error::Unauthenticated { message },
        // Aircall answers 403 for a wrong key or token.
        403 if provider == Provider::Aircall => Error::Unauthenticated { message },
        403 if !scopes.is_empty() || message.starts_with("Insufficient scope") => {
            Error::InsufficientScope {
                required_scopes: scopes,
                message,
            }
        }
        403 => Error::PermissionDenied { message },
        404 => Error::NotFound { message },
        409 => Error::AlreadyExists { message },
        429 => Error::RateLimited {
            retry_after: retry_after(headers),
        },
        500..=599 => Error::Server {
            status: code,
            message,
        },
        _ => Error::Status {
            status: code,
            message,
        },
    }
}

fn fallback_message(status: StatusCode, body: &[u8]) -> String {
    if body.is_empty() {
        status.canonical_reason().unwrap_or("no message").to_owned()
    } else {
        excerpt(body)
    }
}
