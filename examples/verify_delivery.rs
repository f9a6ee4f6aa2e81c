//! Receive the events callbook forwards to a destination, and verify them.
//!
//! ```sh
//! CALLBOOK_DESTINATION_SECRET=whsec_... cargo run -p callbook-examples --example verify_delivery
//! ```
//!
//! Set the same `secret` on the destination in `callbook.toml`, with
//! `url = "http://127.0.0.1:3001/callbook"`. callbook signs each delivery with Standard Webhooks
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature`) and sends the provider's original
//! body, so any Standard Webhooks library verifies it; here, callbook-signature's extractor.
//! The `webhook-id` is the event's ID: the same on every retry, so use it to de-duplicate.

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::post;
use callbook_signature::axum::VerifiedStandard;
use callbook_signature::standard::Webhook;

async fn on_event(
    headers: HeaderMap,
    VerifiedStandard(body, verified): VerifiedStandard<serde_json::Value>,
) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("?")
            .to_owned()
    };
    println!(
        "{} from source {} ({}), signed at {:?}: {}",
        header("webhook-id"),
        header("callbook-source"),
        header("callbook-event-type"),
        verified.timestamp,
        body["event"],
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("CALLBOOK_DESTINATION_SECRET")
        .map_err(|_| "set CALLBOOK_DESTINATION_SECRET (whsec_...)")?;
    let app = Router::new()
        .route("/callbook", post(on_event))
        .with_state(Webhook::from_whsec([secret.as_str()])?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3001").await?;
    println!("listening on http://{}/callbook", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
