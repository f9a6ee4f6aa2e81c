//! Verify and parse Calendly and Aircall webhooks inside your own axum application.
//!
//! ```sh
//! CALENDLY_SIGNING_KEY=... AIRCALL_TOKEN=... cargo run -p callbook-examples --example axum_receiver
//! ```
//!
//! Each handler takes a verified, typed webhook: the extractor reads the raw body, verifies it
//! (401 otherwise, with a JSON reason) and parses it once. Nothing is stored here: for
//! "store before 2xx", retries and replay, embed the gateway instead (`embed_gateway`).

use axum::Router;
use axum::extract::FromRef;
use axum::routing::post;
use callbook_models::{aircall, calendly};
use callbook_signature::axum::{VerifiedAircall, VerifiedCalendly};

#[derive(Clone, FromRef)]
struct Hooks {
    calendly: callbook_signature::calendly::Verifier,
    aircall: callbook_signature::aircall::Verifier,
}

async fn on_calendly(VerifiedCalendly(webhook, _): VerifiedCalendly<calendly::Webhook>) {
    match &webhook.payload {
        calendly::Payload::InviteeCreated(invitee) => {
            println!("booked: {} <{}>", invitee.name, invitee.email);
        }
        calendly::Payload::InviteeCanceled(invitee) => {
            println!("canceled: {} <{}>", invitee.name, invitee.email);
        }
        other => println!("calendly: {}", other.event()),
    }
}

async fn on_aircall(VerifiedAircall(webhook, verified): VerifiedAircall<aircall::Webhook>) {
    // With one token per Aircall account, `key_index` says which account sent it.
    println!("aircall account #{}: {}", verified.key_index, webhook.event);
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = std::env::var("CALENDLY_SIGNING_KEY").map_err(|_| "set CALENDLY_SIGNING_KEY")?;
    let token = std::env::var("AIRCALL_TOKEN").map_err(|_| "set AIRCALL_TOKEN")?;
    let app = Router::new()
        .route("/hooks/calendly", post(on_calendly))
        .route("/hooks/aircall", post(on_aircall))
        .with_state(Hooks {
            calendly: callbook_signature::calendly::Verifier::new([key])?,
            aircall: callbook_signature::aircall::Verifier::new([token])?,
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
