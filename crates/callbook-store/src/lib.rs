//! Durable storage of received webhook events for callbook.
//!
//! [`Store`] is the boundary the server talks to. [`open`] picks a backend from a database URL;
//! SQLite (`sqlite://PATH`) is the embedded default; PostgreSQL (`postgres://...`) lets several
//! instances share one database.
//!
//! Guarantees of every backend:
//! - when [`Store::insert_event`] returns `Ok`, the event is durable (see [`Durability`]);
//! - the raw body is stored byte for byte;
//! - at most one event is stored per source and de-duplication key; a redelivery gets the
//!   original's ID back with `duplicate: true`.
//!
//! A store runs tasks of its own (PostgreSQL's group commit, SQLite's intake log writes) on the
//! Tokio runtime it is opened in: use it while that runtime runs.
#![warn(missing_docs)]
// Without a backend the crate is the `Store` trait and its types, for your own backend; the
// SQL helpers the backends share go unused.
#![cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(unused))]

mod delivery;
pub mod directory;
mod durability;
mod error;
mod filter;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod model;
#[cfg(feature = "postgres")]
pub mod postgres;
mod rows;
mod search;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod store;

pub use delivery::*;
pub use directory::{
    Agent, Answer, CallRecord, Directory, DirectoryStats, Line, Mark, Meeting, MeetingChange,
    MeetingDetails, MeetingStatus, PersonKey, Stamped,
};
pub use durability::Durability;
pub use error::Error;
pub use filter::{EventFilter, glob};
pub use model::*;
#[cfg(feature = "postgres")]
pub use postgres::{PostgresOptions, PostgresStore};
pub use search::Subject;
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteOptions, SqliteStore};
pub use store::{IntakeStats, Store};

use std::sync::Arc;

/// Opens the store a URL names, with default options: `sqlite://PATH` (created if missing) or
/// `postgres://...` / `postgresql://...`.
pub async fn open(url: &str, durability: Durability) -> Result<Arc<dyn Store>, Error> {
    open_with(url, &OpenOptions::new(durability)).await
}

/// Settings that apply to whichever backend the URL names.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OpenOptions {
    /// SQLite durability (PostgreSQL follows the server's `synchronous_commit`).
    pub durability: Durability,
    /// SQLite: whether small write batches go through the intake log (see
    /// [`SqliteOptions::intake_log`]). On by default.
    pub intake_log: bool,
    /// SQLite: most bytes of writes waiting in the intake log for the database (see
    /// [`SqliteOptions::intake_max_pending_bytes`]).
    pub intake_max_pending_bytes: u64,
    /// PostgreSQL pool size.
    pub max_connections: u32,
    /// PostgreSQL statement timeout.
    pub statement_timeout: std::time::Duration,
    /// PostgreSQL: how long to wait for a pooled connection, reconnecting meanwhile.
    pub acquire_timeout: std::time::Duration,
}

impl OpenOptions {
    /// Defaults with the given durability.
    pub fn new(durability: Durability) -> Self {
        Self {
            durability,
            intake_log: true,
            intake_max_pending_bytes: defaults::INTAKE_MAX_PENDING_BYTES,
            max_connections: defaults::PG_MAX_CONNECTIONS,
            statement_timeout: defaults::PG_STATEMENT_TIMEOUT,
            acquire_timeout: defaults::PG_ACQUIRE_TIMEOUT,
        }
    }
}

/// Defaults shared by [`OpenOptions`] and each backend's options.
pub(crate) mod defaults {
    use std::time::Duration;
    pub(crate) const INTAKE_MAX_PENDING_BYTES: u64 = 32 << 20;
    pub(crate) const PG_MAX_CONNECTIONS: u32 = 16;
    pub(crate) const PG_STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);
    pub(crate) const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
}

/// Opens the store a URL names, with options. A URL whose backend this build leaves out (see
/// the crate's features) gives [`Error::BackendNotBuilt`].
pub async fn open_with(url: &str, options: &OpenOptions) -> Result<Arc<dyn Store>, Error> {
    #[cfg(not(feature = "sqlite"))]
    if url.starts_with("sqlite:") {
        let _ = options;
        return Err(Error::BackendNotBuilt {
            url: redacted_url(url),
            feature: "sqlite",
        });
    }
    #[cfg(not(feature = "postgres"))]
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Err(Error::BackendNotBuilt {
            url: redacted_url(url),
            feature: "postgres",
        });
    }
    #[cfg(feature = "sqlite")]
    if url.starts_with("sqlite:") {
        let sqlite = SqliteOptions::from_url(url)?
            .durability(options.durability)
            .intake_log(options.intake_log)
            .intake_max_pending_bytes(options.intake_max_pending_bytes);
        return Ok(Arc::new(SqliteStore::open(sqlite).await?));
    }
    #[cfg(feature = "postgres")]
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let pg = PostgresOptions::new(url)
            .max_connections(options.max_connections)
            .statement_timeout(options.statement_timeout)
            .acquire_timeout(options.acquire_timeout);
        return Ok(Arc::new(PostgresStore::open(pg).await?));
    }
    Err(Error::UnsupportedUrl(redacted_url(url)))
}

/// The URL with its password replaced by `***`, for logs and error messages:
/// `postgres://app:s3cret@db/callbook` becomes `postgres://app:***@db/callbook`, and the value
/// of a query parameter that holds a credential (`password`, `sslpassword`, `token`, `secret`,
/// `key`, ...) becomes `***` too.
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    // The authority ends at the first `/`, `?` or `#`; credentials end at its last `@`.
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            format!("{user}{hidden}@{host}")
        }
        None => authority.to_owned(),
    };
    format!("{scheme}://{authority}{}", redacted_query(tail))
}

/// Query parameters whose values are credentials (compared without case, `-` and `_`).
const SECRET_PARAMS: &[&str] = &[
    "password",
    "passwd",
    "pass",
    "pwd",
    "sslpassword",
    "token",
    "accesstoken",
    "apikey",
    "key",
    "secret",
    "clientsecret",
    "signature",
    "sig",
    "auth",
];

fn redacted_query(tail: &str) -> String {
    let Some((path, rest)) = tail.split_once('?') else {
        return tail.to_owned();
    };
    let (query, fragment) = match rest.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (rest, None),
    };
    let params: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_param(name) => format!("{name}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    let mut out = format!("{path}?{}", params.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

fn is_secret_param(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_PARAMS.contains(&folded.as_str())
}

#[cfg(test)]
mod tests {
    use super::redacted_url;

    #[test]
    fn passwords_never_reach_logs() {
        assert_eq!(
            redacted_url("postgres://app:s3cr@t@db.internal:5432/callbook?sslmode=require"),
            "postgres://app:***@db.internal:5432/callbook?sslmode=require"
        );
        assert_eq!(redacted_url("postgres://app@db/cb"), "postgres://app@db/cb");
        assert_eq!(redacted_url("sqlite://callbook.db"), "sqlite://callbook.db");
        assert_eq!(redacted_url("not a url"), "not a url");
    }

    #[test]
    fn credentials_in_the_query_are_hidden_too() {
        assert_eq!(
            redacted_url("postgres://app@db/cb?sslmode=require&password=s3cret&application_name=x"),
            "postgres://app@db/cb?sslmode=require&password=***&application_name=x"
        );
        assert_eq!(
            redacted_url("https://hooks.example.com/in?api_key=abc&Token=def#frag"),
            "https://hooks.example.com/in?api_key=***&Token=***#frag"
        );
        assert_eq!(
            redacted_url("https://u:p@h/x?sslmode=require"),
            "https://u:***@h/x?sslmode=require"
        );
    }
}
