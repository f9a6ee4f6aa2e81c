//! One HTTP attempt: the original body, signed with Standard Webhooks.
//!
//! Sent with hyper's pooled client directly: a delivery needs no redirects, cookies, proxies
//! or URL parsing per request, and reqwest's layers for those cost more CPU per attempt than
//! signing it.

use axum::http::header::{CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use axum::http::{HeaderValue, Request, Uri};
use bytes::Bytes;
use callbook_signature::standard;
use callbook_store::Claimed;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as Pool;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;
use tokio::time::{Instant, timeout_at};

/// The pooled HTTP(S) client deliveries go through.
pub(crate) type Client = Pool<HttpsConnector<HttpConnector>, Full<Bytes>>;

const AGENT: &str = concat!("callbook/", env!("CARGO_PKG_VERSION"));

/// A client with keep-alive pools per destination, TLS through rustls with the webpki roots,
/// and `TCP_NODELAY` (a request is written in one go; Nagle would only delay it).
pub(crate) fn client() -> Client {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Pool::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .build(https)
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
    client: &Client,
    uri: &Uri,
    signer: &standard::Webhook,
    timeout: Duration,
    delivery: &Claimed,
) -> AttemptResult {
    let msg_id = delivery.event_id.to_string();
    let now = chrono::Utc::now().timestamp();
    let signed = match signer.sign(&msg_id, now, &delivery.body) {
        Ok(s) => s,
        Err(e) => return AttemptResult::failure(None, format!("signing failed: {e}"), None, None),
    };
    let mut request = Request::post(uri.clone())
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .header(USER_AGENT, HeaderValue::from_static(AGENT))
        .header(standard::ID_HEADER, signed.id)
        .header(standard::TIMESTAMP_HEADER, signed.timestamp)
        .header(standard::SIGNATURE_HEADER, signed.signature)
        .header("callbook-source", delivery.source.as_str())
        .header("callbook-provider", delivery.provider.as_str())
        .header("callbook-delivery-id", delivery.id.to_string())
        .header("callbook-attempt", (delivery.attempts + 1).to_string());
    if let Some(t) = &delivery.event_type {
        request = request.header("callbook-event-type", t.as_str());
    }
    let request = match request.body(Full::new(Bytes::from(delivery.body.clone()))) {
        Ok(r) => r,
        // A source or event type that cannot be a header value: no retry will change that.
        Err(e) => return AttemptResult::failure(None, format!("invalid request: {e}"), None, None),
    };
    let deadline = Instant::now() + timeout;
    let response = match timeout_at(deadline, client.request(request)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            let why = if e.is_connect() {
                "connection failed"
            } else {
                "request failed"
            };
            return AttemptResult::failure(None, why.to_owned(), None, None);
        }
        Err(_) => {
            let why = format!("timed out after {} ms", timeout.as_millis());
            return AttemptResult::failure(None, why, None, None);
        }
    };
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    // The answer counts even if its body then stalls: keep what arrived before the deadline.
    let mut kept = Vec::new();
    let _ = timeout_at(deadline, excerpt(response.into_body(), &mut kept)).await;
    let excerpt = (!kept.is_empty()).then(|| String::from_utf8_lossy(&kept).into_owned());
    let code = Some(status.as_u16());
    if status.is_success() {
        AttemptResult::success(code, excerpt)
    } else if status.is_redirection() {
        AttemptResult::failure(
            code,
            format!("redirect ({status}) is not followed"),
            excerpt,
            None,
        )
    } else {
        AttemptResult::failure(code, format!("HTTP {status}"), excerpt, retry_after)
    }
}

/// Reads at most [`EXCERPT_BYTES`] of the body into `kept`, never the whole of a large one.
/// A body read to its end lets the connection go back to the pool.
async fn excerpt(mut body: hyper::body::Incoming, kept: &mut Vec<u8>) {
    while kept.len() < EXCERPT_BYTES {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    let room = EXCERPT_BYTES - kept.len();
                    kept.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
            _ => break,
        }
    }
}
