//! Embed the callbook gateway in an existing axum application, with an in-process handler.
//!
//! ```sh
//! CALENDLY_SIGNING_KEY=... cargo run -p callbook-examples --example embed_gateway
//! ```
//!
//! Calendly posts to `http://127.0.0.1:3000/callbook/webhooks/calendly/calendly`. Each event is
//! verified, stored in `./embedded.db` before the 200, and handed to `Audit` with retries, dead
//! letters and replay, exactly as `callbook serve` would deliver it to an HTTP destination.
//! Ctrl-C stops the listener, then delivery, then closes the store.

use axum::Router;
use axum::routing::get;
use callbook_server::{
    Config, DeliveredEvent, EventHandler, Handler, HandlerError, Server, async_trait,
};
use std::sync::Arc;
use std::time::Duration;

/// An in-process destination: gets each matching event, typed.
struct Audit;

#[async_trait]
impl EventHandler for Audit {
    async fn handle(&self, event: &DeliveredEvent) -> Result<(), HandlerError> {
        let Some(webhook) = event.webhook.calendly() else {
            // Dead at once, never retried: no retry will turn it into a Calendly event.
            return Err(HandlerError::permanent("Calendly events only"));
        };
        println!("event {} ({}): {}", event.id, event.source, webhook.event());
        Ok(()) // an `Err` from `?` would be retried on the schedule
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_toml(
        r#"
        [database]
        url = "sqlite://embedded.db"

        [[sources]]
        name = "calendly"
        provider = "calendly"
        signing_keys = [{ env = "CALENDLY_SIGNING_KEY" }]
        "#,
    )?;
    let gateway = Server::from_config(config)
        .await?
        .add_handler(
            Handler::new("audit")
                .events(["invitee.*"])
                .max_in_flight(4)
                .timeout(Duration::from_secs(10)),
            Arc::new(Audit),
        )?
        .start()
        .await?;

    // Your application's own routes, with the gateway's webhooks under /callbook.
    let app = Router::new()
        .route("/", get(|| async { "my app" }))
        .nest("/callbook", gateway.webhook_router())
        .merge(gateway.health_router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    gateway.shutdown().await;
    Ok(())
}
