//! The Aircall API v1 client.
//!
//! ```no_run
//! # async fn run() -> callbook_client::Result<()> {
//! use callbook_client::aircall::AircallClient;
//! use futures_util::TryStreamExt;
//!
//! let client = AircallClient::basic("api-id", "api-token")?;
//! let now = chrono::Utc::now();
//! let calls: Vec<_> = client.calls_between(now - chrono::Duration::days(1), now).try_collect().await?;
//! println!("{} calls in the last day", calls.len());
//! # Ok(()) }
//! ```

mod client;
mod endpoints;
pub use endpoints::Upserted;
mod filters;
mod pages;

pub use client::{AircallBuilder, AircallClient, BASE_URL};
pub use filters::*;
pub use pages::{MAX_PER_PAGE, RESULT_CAP};
