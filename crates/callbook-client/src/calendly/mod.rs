//! The Calendly API v2 client.
//!
//! ```no_run
//! # async fn run() -> callbook_client::Result<()> {
//! use callbook_client::calendly::{CalendlyClient, ListScheduledEvents};
//! use futures_util::TryStreamExt;
//!
//! let client = CalendlyClient::new(std::env::var("CALENDLY_TOKEN").unwrap_or_default())?;
//! let me = client.me().await?;
//! let filter = ListScheduledEvents::new().user(me.uri.clone()).status("active");
//! let events: Vec<_> = client.scheduled_events(filter).stream().try_collect().await?;
//! println!("{} events", events.len());
//! # Ok(()) }
//! ```

mod client;
mod endpoints;
mod filters;
mod oauth;
mod subscribe;

pub use client::{BASE_URL, CalendlyBuilder, CalendlyClient};
pub use filters::*;
pub use oauth::{
    AUTH_BASE_URL, AuthorizationRequest, NoStore, OAuthClient, OAuthSession, PkceVerifier,
    TokenSet, TokenStore,
};
pub use subscribe::CreatedSubscription;
