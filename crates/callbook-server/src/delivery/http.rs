//! One HTTP attempt: the original body, signed with Standard Webhooks.

use callbook_signature::standard;
use callbook_store::Claimed;
use std::time::Duration;

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
    client: &reqwest::Client,
    url: &str,
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
    let mut request = client
        .post(url)
        .timeout(timeout)
        .header("content-type", "application/json")
        .header(standard::ID_HEADER, &signed.id)
        .header(standard::TIMESTAMP_HEADER, &signed.timestamp)
        .header(standard::SIGNATURE_HEADER, &signed.signature)
        .header("callbook-source", &delivery.source)
        .header("callbook-provider", delivery.provider.as_str())
        .header("callbook-delivery-id", delivery.id.to_string())
        .header("callbook-attempt", (delivery.attempts + 1).to_string());
    if let Some(t) = &delivery.event_type {
        request = request.header("callbook-event-type", t);
    }
    let response = match request.body(delivery.body.clone()).send().await {
        Ok(r) => r,
        Err(e) => {
            let why = if e.is_timeout() {
                format!("timed out after {} ms", timeout.as_millis())
            } else if e.is_connect() {
                "connection failed".to_owned()
            } else {
                "request failed".to_owned()
            };
            return AttemptResult::failure(None, why, None, None);
        }
    };
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let excerpt = excerpt(response).await;
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

/// Reads at most [`EXCERPT_BYTES`] of the body, never the whole of a large one.
async fn excerpt(mut response: reqwest::Response) -> Option<String> {
    let mut buf = Vec::new();
    while buf.len() < EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                buf.extend_from_slice(&chunk[..chunk.len().min(EXCERPT_BYTES - buf.len())])
            }
            _ => break,
        }
    }
    (!buf.is_empty()).then(|| String::from_utf8_lossy(&buf).into_owned())
}
