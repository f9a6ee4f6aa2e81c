//! Client behaviour over real HTTP on loopback, against wiremock standing in for Calendly and
//! Aircall, and against Prism serving Calendly's own OpenAPI spec.

mod aircall;
mod calendly;
mod families;
mod oauth;
mod prism;

use std::time::Duration;

/// Retries fast enough for tests.
pub(crate) fn quick_retries() -> callbook_client::RetryPolicy {
    callbook_client::RetryPolicy::default()
        .backoff(Duration::from_millis(5), Duration::from_millis(20))
        .rate_limit_waits(2, Duration::from_secs(5))
}

pub(crate) fn fixture(name: &str) -> serde_json::Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}
