#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod aircall;
#[cfg(feature = "axum")]
pub mod axum;
pub mod calendly;
mod clock;
mod error;
mod headers;
mod secret;
pub mod standard;
mod verified;

pub use clock::{Clock, FixedClock, SystemClock};
pub use error::Error;
pub use headers::Headers;
pub use secret::{Secret, constant_time_eq};
pub use verified::Verified;
