//! Aircall API v1 and webhooks.
//!
//! - [`Webhook`] is a delivery; [`Data`] is its typed body.
//! - REST responses wrap one object (`{"call": ...}`, see [`CallResponse`]) or a page
//!   (`{"calls": [...], "meta": ...}`, see [`CallList`]).

mod helpers;
mod ids;
mod requests;
mod resources;
mod webhook;

pub use ids::{CallId, ContactId, NumberId, TagId, TeamId, UserId};
pub use requests::*;
pub use resources::*;
pub use webhook::*;
