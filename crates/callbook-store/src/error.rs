//! The crate's error type.

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database URL is not one this build supports.
    #[error("unsupported database URL {0:?}: expected sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    /// The database could not be reached or answered with an error.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// The SQLite writer's statement failed.
    #[cfg(feature = "sqlite")]
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The URL names a backend this build leaves out (a Cargo feature of callbook-store).
    #[error("{url:?} needs the `{feature}` feature of callbook-store, which this build leaves out")]
    BackendNotBuilt {
        /// The URL, its password hidden.
        url: String,
        /// The feature that builds the backend.
        feature: &'static str,
    },
    /// A thread of the store (the SQLite writer or checkpointer) could not be started.
    #[error("cannot start a store thread: {0}")]
    Thread(#[source] std::io::Error),
    /// Too many acknowledged writes wait to reach the SQLite database (its writer is stalled
    /// or slower than the arrivals): new events are refused until it catches up.
    #[error("{0} bytes of writes wait for the database; retry shortly")]
    Backlog(u64),
    /// Another process has the SQLite database open.
    #[error(
        "{} is in use by another callbook process: two processes on one SQLite file would write \
         over each other's intake log. Stop the other one, or use PostgreSQL to run several \
         instances",
        .0.display()
    )]
    InUse(std::path::PathBuf),
    /// A database file could not be created or its mode set.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The SQLite store's intake log could not be read or written.
    #[error("intake log {}: {source}", path.display())]
    Intake {
        /// The log file.
        path: std::path::PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// Acknowledged writes wait in the SQLite store's intake log because the database refuses
    /// one of them; reads would miss them. They are retried, and kept until they apply.
    #[error("acknowledged writes are not yet in the database, which refuses one: {0}")]
    Unapplied(String),
    /// Migrations failed.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The store is shutting down or its writer stopped.
    #[error("store is closed")]
    Closed,
    /// A stored value could not be decoded.
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match e {
            // A closed pool is a closed store, whichever backend.
            sqlx::Error::PoolClosed => Self::Closed,
            other => Self::Database(other),
        }
    }
}
