//! One HTTP attempt: the original body, signed with Standard Webhooks.
//!
//! Sent with hyper's pooled client directly: a delivery needs no redirects, cookies or URL
//! parsing per request, and reqwest's layers for those cost more CPU per attempt than signing
//! it. Destinations that the environment's proxy settings (`HTTPS_PROXY`, `HTTP_PROXY`,
//! `ALL_PROXY`, `NO_PROXY`, read as curl does) send through a proxy go through reqwest, which
//! tunnels and authenticates for them.

use axum::http::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode, Uri};
use bytes::Bytes;
use callbook_signature::standard;
use callbook_store::Claimed;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as Pool;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;
use tokio::time::{Instant, timeout_at};

const AGENT: &str = concat!("callbook/", env!("CARGO_PKG_VERSION"));

/// The pooled HTTP(S) clients deliveries go through.
pub(crate) struct Clients {
    direct: Pool<HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// Only built when some destination goes through a proxy.
    proxied: Option<reqwest::Client>,
}

impl Clients {
    /// Keep-alive pools per destination, TLS through rustls with the webpki roots, and
    /// `TCP_NODELAY` (a request is written in one go; Nagle would only delay it).
    pub(crate) fn new(any_proxied: bool) -> Result<Self, crate::Error> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let direct = Pool::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .build(https);
        let proxied = if any_proxied {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(AGENT)
                .build()
                .map_err(|e| crate::Error::Config(format!("HTTP client: {e}")))?;
            Some(client)
        } else {
            None
        };
        Ok(Self { direct, proxied })
    }
}

/// Whether the environment's proxy settings send requests to `uri` through a proxy.
pub(crate) fn proxied(uri: &Uri) -> bool {
    Matcher::from_env().intercept(uri).is_some()
}

/// How much of a response body is kept with an attempt.
const EXCERPT_BYTES: usize = 1024;

pub(crate) struct AttemptResult {
    pub(crate) success: bool,
    pub(crate) status: Option<u16>,
    pub(crate) error: Option<String>,
    pub(crate) excerpt: Option<String>,
    pub(crate) retry_after: Option<Duration>,
}

impl AttemptResult {
    pub(crate) fn success(status: Option<u16>, excerpt: Option<String>) -> Self {
        Self {
            success: true,
            status,
            error: None,
            excerpt,
            retry_after: None,
        }
    }

    pub(crate) fn failure(
        status: Option<u16>,
        error: String,
        excerpt: Option<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        Self {
            success: false,
            status,
            error: Some(error),
            excerpt,
            retry_after,
        }
    }
}

pub(crate) async fn send(
    clients: &Clients,
    uri: &Uri,
    proxied: bool,
    signer: &standard::Webhook,
    timeout: Duration,
    delivery: &Claimed,
) -> AttemptResult {
    let headers = match headers(signer, delivery) {
        Ok(h) => h,
        Err(why) => return AttemptResult::failure(None, why, None, None),
    };
    let body = Bytes::from(delivery.body.clone());
    let deadline = Instant::now() + timeout;
    let answered = match (&clients.proxied, proxied) {
        (Some(client), true) => via_proxy(client, uri, headers, body, deadline).await,
        _ => direct(&clients.direct, uri, headers, body, deadline).await,
    };
    let answer = match answered {
        Ok(answer) => answer,
        Err(Failure::TimedOut) => {
            let why = format!("timed out after {} ms", timeout.as_millis());
            return AttemptResult::failure(None, why, None, None);
        }
        Err(Failure::Connect) => {
            return AttemptResult::failure(None, "connection failed".into(), None, None);
        }
        Err(Failure::Request) => {
            return AttemptResult::failure(None, "request failed".into(), None, None);
        }
    };
    let status = answer.status;
    let code = Some(status.as_u16());
    if status.is_success() {
        AttemptResult::success(code, answer.excerpt)
    } else if status.is_redirection() {
        AttemptResult::failure(
            code,
            format!("redirect ({status}) is not followed"),
            answer.excerpt,
            None,
        )
    } else {
        AttemptResult::failure(
            code,
            format!("HTTP {status}"),
            answer.excerpt,
            answer.retry_after,
        )
    }
}

/// What a destination answered.
struct Answer {
    status: StatusCode,
    retry_after: Option<Duration>,
    excerpt: Option<String>,
}

/// Why there is no answer.
enum Failure {
    TimedOut,
    Connect,
    Request,
}

/// The request headers: content type, agent, the Standard Webhooks signature and callbook's own.
/// A source or event type that cannot be a header value is an error no retry will change.
fn headers(signer: &standard::Webhook, delivery: &Claimed) -> Result<HeaderMap, String> {
    let msg_id = delivery.event_id.to_string();
    let now = chrono::Utc::now().timestamp();
    let signed = signer
        .sign(&msg_id, now, &delivery.body)
        .map_err(|e| format!("signing failed: {e}"))?;
    let mut headers = HeaderMap::with_capacity(11);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(USER_AGENT, HeaderValue::from_static(AGENT));
    // As reqwest and curl send it: some endpoints refuse a request without one.
    headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
    let values = [
        (standard::ID_HEADER, signed.id),
        (standard::TIMESTAMP_HEADER, signed.timestamp),
        (standard::SIGNATURE_HEADER, signed.signature),
        ("callbook-source", delivery.source.clone()),
        ("callbook-provider", delivery.provider.as_str().to_owned()),
        ("callbook-delivery-id", delivery.id.to_string()),
        ("callbook-attempt", (delivery.attempts + 1).to_string()),
    ];
    let event_type = delivery
        .event_type
        .as_ref()
        .map(|t| ("callbook-event-type", t.clone()));
    for (name, value) in values.into_iter().chain(event_type) {
        let value = HeaderValue::try_from(value)
            .map_err(|_| format!("{name} is not a valid header value"))?;
        headers.insert(HeaderName::from_static(name), value);
    }
    Ok(headers)
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// A response, or why there is none, from waiting for it until the deadline.
fn answered<R, E>(
    waited: Result<Result<R, E>, tokio::time::error::Elapsed>,
    is_connect: impl Fn(&E) -> bool,
) -> Result<R, Failure> {
    match waited {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(e)) if is_connect(&e) => Err(Failure::Connect),
        Ok(Err(_)) => Err(Failure::Request),
        Err(_) => Err(Failure::TimedOut),
    }
}

/// Adds `data` to the excerpt, up to [`EXCERPT_BYTES`] in all.
fn keep(excerpt: &mut Vec<u8>, data: &[u8]) {
    let room = EXCERPT_BYTES.saturating_sub(excerpt.len());
    excerpt.extend_from_slice(&data[..data.len().min(room)]);
}

fn kept(bytes: Vec<u8>) -> Option<String> {
    (!bytes.is_empty()).then(|| String::from_utf8_lossy(&bytes).into_owned())
}

async fn direct(
    client: &Pool<HttpsConnector<HttpConnector>, Full<Bytes>>,
    uri: &Uri,
    headers: HeaderMap,
    body: Bytes,
    deadline: Instant,
) -> Result<Answer, Failure> {
    let mut request = Request::post(uri.clone())
        .body(Full::new(body))
        .map_err(|_| Failure::Request)?;
    *request.headers_mut() = headers;
    let waited = timeout_at(deadline, client.request(request)).await;
    let response = answered(waited, hyper_util::client::legacy::Error::is_connect)?;
    let status = response.status();
    let retry_after = retry_after(response.headers());
    // The answer counts even if its body then stalls: keep what arrived before the deadline.
    let mut excerpt = Vec::new();
    let mut body = response.into_body();
    let _ = timeout_at(deadline, async {
        // A body read to its end lets the connection go back to the pool.
        while excerpt.len() < EXCERPT_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        keep(&mut excerpt, &data);
                    }
                }
                _ => break,
            }
        }
    })
    .await;
    Ok(Answer {
        status,
        retry_after,
        excerpt: kept(excerpt),
    })
}

async fn via_proxy(
    client: &reqwest::Client,
    uri: &Uri,
    headers: HeaderMap,
    body: Bytes,
    deadline: Instant,
) -> Result<Answer, Failure> {
    let request = client.post(uri.to_string()).headers(headers).body(body);
    let waited = timeout_at(deadline, request.send()).await;
    let mut response = answered(waited, reqwest::Error::is_connect)?;
    let status = response.status();
    let retry_after = retry_after(response.headers());
    let mut excerpt = Vec::new();
    let _ = timeout_at(deadline, async {
        while excerpt.len() < EXCERPT_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => keep(&mut excerpt, &chunk),
                _ => break,
            }
        }
    })
    .await;
    Ok(Answer {
        status,
        retry_after,
        excerpt: kept(excerpt),
    })
}
