//! Lists your upcoming Calendly meetings with their invitees.
//!
//! ```sh
//! CALENDLY_TOKEN=... cargo run -p callbook-examples --example calendly_upcoming_meetings
//! ```
//! `CALENDLY_BASE_URL` points it elsewhere (a Prism mock, say).

use callbook_client::calendly::{CalendlyClient, ListInvitees, ListScheduledEvents, Sort};
use callbook_client::models::calendly::Status;
use futures_util::{StreamExt, TryStreamExt};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let token = std::env::var("CALENDLY_TOKEN").map_err(|_| "set CALENDLY_TOKEN")?;
    let mut builder = CalendlyClient::builder().personal_access_token(token);
    if let Ok(base) = std::env::var("CALENDLY_BASE_URL") {
        builder = builder.base_url(base);
    }
    let client = builder.build()?;

    let me = client.me().await?;
    let filter = ListScheduledEvents::new()
        .user(me.uri.clone())
        .status(Status::Active)
        .sort(Sort::asc("start_time"))
        .min_start_time(chrono::Utc::now());
    let mut events = client.scheduled_events(filter).stream().boxed();
    while let Some(event) = events.next().await {
        let event = event?;
        println!(
            "{}  {}",
            event.start_time,
            event.name.as_deref().unwrap_or("(untitled)")
        );
        let invitees: Vec<_> = client
            .invitees(&event.uri, ListInvitees::new().status(Status::Active))
            .stream()
            .try_collect()
            .await?;
        for invitee in invitees {
            println!("    {} <{}>", invitee.display_name(), invitee.email);
        }
    }
    if let Some(rl) = client.rate_limit() {
        println!("rate limit: {:?} of {:?} left", rl.remaining, rl.limit);
    }
    Ok(())
}
