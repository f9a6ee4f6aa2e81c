#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod aircall;
pub mod calendly;
mod de;
mod error;
mod num;
mod open_enum;
mod setters;
pub mod time;

pub use error::Error;
pub use num::Amount;
pub use time::Timestamp;
