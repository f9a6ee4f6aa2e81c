#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod aircall;
pub mod calendly;
mod error;
mod pages;
mod query;
mod rate_limit;
mod retry;
mod transport;

pub use error::{Error, ErrorDetail, Result, TransportError};
pub use pages::{Cursor, MAX_PAGE_SIZE, Page, Pages};
pub use rate_limit::RateLimit;
pub use retry::RetryPolicy;

/// The secret type every token is held in (zeroed on drop, `[REDACTED]` in `Debug`): pass a
/// `String`, a `&str` or a `SecretString` wherever a token goes.
pub use secrecy::{ExposeSecret, SecretString};

/// The models this client speaks, re-exported so one dependency is enough.
pub use callbook_models as models;
