#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod aircall;
pub mod calendly;
mod clock;
mod error;
mod secret;
pub mod standard;

pub use clock::{Clock, FixedClock, SystemClock};
pub use error::Error;
pub use secret::{Secret, constant_time_eq};
