//! Durable storage of received webhook events for callbook.
//!
//! [`Store`] is the boundary the server talks to. [`open`] picks a backend from a database URL;
//! SQLite (`sqlite://PATH`) is the embedded default.
//!
//! Guarantees of every backend:
//! - when [`Store::insert_event`] returns `Ok`, the event is durable (see [`Durability`]);
//! - the raw body is stored byte for byte;
//! - at most one event is stored per source and de-duplication key; a redelivery gets the
//!   original's ID back with `duplicate: true`.

mod delivery;
mod error;
mod model;
mod rows;
pub mod sqlite;
mod store;

pub use delivery::*;
pub use error::Error;
pub use model::*;
pub use sqlite::{Durability, SqliteOptions, SqliteStore};
pub use store::Store;

use std::sync::Arc;

/// Opens the store a URL names: `sqlite://PATH` (created if missing).
pub async fn open(url: &str, durability: Durability) -> Result<Arc<dyn Store>, Error> {
    if url.starts_with("sqlite:") {
        let options = SqliteOptions::from_url(url)?.durability(durability);
        return Ok(Arc::new(SqliteStore::open(options).await?));
    }
    Err(Error::UnsupportedUrl(url.to_owned()))
}
