//! Subscribes a callback URL to your organization's invitee events, with a signing key made
//! on this machine, and prints the key to put in callbook's config.
//!
//! ```sh
//! CALENDLY_TOKEN=... cargo run -p callbook-client --example calendly_create_webhook -- \
//!     https://hooks.example.com/webhooks/calendly/main
//! ```

use callbook_client::calendly::CalendlyClient;
use callbook_client::models::calendly::{CreateWebhookSubscription, EventName, Scope};
use secrecy::ExposeSecret;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .ok_or("usage: calendly_create_webhook <callback-url>")?;
    let token = std::env::var("CALENDLY_TOKEN").map_err(|_| "set CALENDLY_TOKEN")?;
    let mut builder = CalendlyClient::builder().personal_access_token(token);
    if let Ok(base) = std::env::var("CALENDLY_BASE_URL") {
        builder = builder.base_url(base);
    }
    let client = builder.build()?;

    let me = client.me().await?;
    let created = client
        .subscribe(CreateWebhookSubscription::new(
            url,
            vec![EventName::InviteeCreated, EventName::InviteeCanceled],
            me.current_organization,
            Scope::Organization,
        ))
        .await?;
    println!("created {}", created.subscription.uri);
    // Calendly never shows the key again: this is the one chance to keep it.
    println!(
        "signing key (store it as the source's secret): {}",
        created.signing_key.expose_secret()
    );
    Ok(())
}
