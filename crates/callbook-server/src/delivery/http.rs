//! One HTTP attempt: the original body, signed with Standard Webhooks.
//!
//! Sent with hyper's pooled client directly: a delivery needs no redirects, cookies or URL
//! parsing per request, and reqwest's layers for those cost more CPU per attempt than signing
//! it. Destinations that the environment's proxy settings (`HTTPS_PROXY`, `HTTP_PROXY`,
//! `ALL_PROXY`, `NO_PROXY`, read as curl does) send through a proxy go through reqwest, which
//! tunnels and authenticates for them.

use super::Target;
use axum::http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode, Uri};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
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
    proxied: Option<ProxyClient>,
}

#[cfg(feature = "proxy")]
type ProxyClient = reqwest::Client;
/// Without the `proxy` feature there is no proxy client, and a destination behind a proxy is
/// refused at startup.
#[cfg(not(feature = "proxy"))]
type ProxyClient = std::convert::Infallible;

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
            Some(proxy_client()?)
        } else {
            None
        };
        Ok(Self { direct, proxied })
    }
}

#[cfg(feature = "proxy")]
fn proxy_client() -> Result<ProxyClient, crate::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(AGENT)
        .build()
        .map_err(|e| crate::Error::Config(format!("HTTP client: {e}")))
}

#[cfg(not(feature = "proxy"))]
fn proxy_client() -> Result<ProxyClient, crate::Error> {
    Err(crate::Error::Config(
        "a destination is reached through a proxy (HTTPS_PROXY, HTTP_PROXY or ALL_PROXY), but \
         callbook-server was built without its `proxy` feature"
            .into(),
    ))
}

/// A destination's URL made ready to send to: the URI without the `user:password@` it may
/// carry, those credentials as a Basic `Authorization` value (as curl and reqwest send them),
/// and the URL with the credentials masked, for the admin API.
pub(crate) struct Endpoint {
    pub(crate) uri: Uri,
    pub(crate) authorization: Option<HeaderValue>,
    pub(crate) shown: String,
}

pub(crate) fn endpoint(url: &str) -> Result<Endpoint, String> {
    let uri: Uri = url.parse().map_err(|e| format!("{e}"))?;
    let Some((userinfo, host)) = uri
        .authority()
        .and_then(|a| a.as_str().rsplit_once('@'))
        .map(|(u, h)| (u.to_owned(), h.to_owned()))
    else {
        return Ok(Endpoint {
            uri,
            authorization: None,
            shown: url.to_owned(),
        });
    };
    let (user, password) = userinfo.split_once(':').unwrap_or((&userinfo, ""));
    let decoded = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let credentials = format!("{}:{}", decoded(user), decoded(password));
    let mut authorization =
        HeaderValue::try_from(format!("Basic {}", STANDARD.encode(credentials)))
            .map_err(|_| "credentials that cannot be a header".to_owned())?;
    authorization.set_sensitive(true);
    // The user name can be a token too: none of it is shown.
    let shown = url.replacen(&format!("{userinfo}@"), "***@", 1);
    let mut parts = uri.into_parts();
    parts.authority = Some(host.parse().map_err(|e| format!("{e}"))?);
    let uri = Uri::from_parts(parts).map_err(|e| format!("{e}"))?;
    Ok(Endpoint {
        uri,
        authorization: Some(authorization),
        shown,
    })
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
    /// The failure belongs to this delivery, not to the destination, and no retry will change
    /// it (an event type that cannot be a header, say): dead at once, breaker untouched.
    pub(crate) permanent: bool,
}

impl AttemptResult {
    pub(crate) fn success(status: Option<u16>, excerpt: Option<String>) -> Self {
        Self {
            success: true,
            status,
            error: None,
            excerpt,
            retry_after: None,
            permanent: false,
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
            permanent: false,
        }
    }

    /// A failure of this delivery that no retry will change.
    pub(crate) fn permanent(error: String) -> Self {
        Self {
            permanent: true,
            ..Self::failure(None, error, None, None)
        }
    }
}

pub(crate) async fn send(clients: &Clients, target: &Target, delivery: &Claimed) -> AttemptResult {
    let Target::Http {
        uri,
        authorization,
        proxied,
        signer,
        timeout,
    } = target
    else {
        return AttemptResult::failure(None, "not an HTTP destination".into(), None, None);
    };
    let (proxied, timeout) = (*proxied, *timeout);
    let mut headers = match headers(signer, delivery) {
        Ok(h) => h,
        Err(why) => return AttemptResult::permanent(why),
    };
    if let Some(authorization) = authorization {
        headers.insert(AUTHORIZATION, authorization.clone());
    }
    let body = Bytes::from(delivery.body.clone());
    let deadline = Instant::now() + timeout;
    let answered = match (&clients.proxied, proxied) {
        #[cfg(feature = "proxy")]
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

// Header names made once, at compile time, rather than parsed for every attempt.
const WEBHOOK_ID: HeaderName = HeaderName::from_static(standard::ID_HEADER);
const WEBHOOK_TIMESTAMP: HeaderName = HeaderName::from_static(standard::TIMESTAMP_HEADER);
const WEBHOOK_SIGNATURE: HeaderName = HeaderName::from_static(standard::SIGNATURE_HEADER);
const SOURCE: HeaderName = HeaderName::from_static("callbook-source");
const PROVIDER: HeaderName = HeaderName::from_static("callbook-provider");
const DELIVERY_ID: HeaderName = HeaderName::from_static("callbook-delivery-id");
const ATTEMPT: HeaderName = HeaderName::from_static("callbook-attempt");
const EVENT_TYPE: HeaderName = HeaderName::from_static("callbook-event-type");

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
    headers.insert(
        PROVIDER,
        HeaderValue::from_static(delivery.provider.as_str()),
    );
    let values = [
        (WEBHOOK_ID, signed.id),
        (WEBHOOK_TIMESTAMP, signed.timestamp),
        (WEBHOOK_SIGNATURE, signed.signature),
        (SOURCE, delivery.source.clone()),
        (DELIVERY_ID, delivery.id.to_string()),
        (ATTEMPT, (delivery.attempts + 1).to_string()),
    ];
    let event_type = delivery
        .event_type
        .as_ref()
        .map(|t| (EVENT_TYPE, t.clone()));
    for (name, value) in values.into_iter().chain(event_type) {
        let value = HeaderValue::try_from(value)
            .map_err(|_| format!("{name} is not a valid header value"))?;
        headers.insert(name, value);
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

#[cfg(feature = "proxy")]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_a_url_become_a_basic_authorization() {
        let e = endpoint("https://hooks:p%40ss@crm.example.com:8443/in?x=1").unwrap();
        assert_eq!(e.uri.to_string(), "https://crm.example.com:8443/in?x=1");
        let auth = e.authorization.unwrap();
        assert!(auth.is_sensitive());
        // base64("hooks:p@ss")
        assert_eq!(auth.to_str().unwrap(), "Basic aG9va3M6cEBzcw==");
        assert_eq!(e.shown, "https://***@crm.example.com:8443/in?x=1");
        assert!(!format!("{auth:?}").contains("aG9va3M6"));
    }

    #[test]
    fn a_url_without_credentials_is_sent_and_shown_as_written() {
        let e = endpoint("http://127.0.0.1:9000/hook").unwrap();
        assert_eq!(e.uri.to_string(), "http://127.0.0.1:9000/hook");
        assert!(e.authorization.is_none());
        assert_eq!(e.shown, "http://127.0.0.1:9000/hook");
        assert!(endpoint("http://exa mple.com/").is_err());
    }
}
