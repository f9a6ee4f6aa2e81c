//! Calendly API v2 and webhooks.
//!
//! - [`Webhook`] is a delivery: match on [`Payload`] to get the typed body.
//! - API responses come as [`Resource<T>`] (one item) or [`Page<T>`] (a list), errors as
//!   [`ErrorBody`].
//! - Resources are identified by typed URIs ([`UserUri`], [`InviteeUri`], ...) that give their
//!   UUID.

mod availability;
mod common;
mod contact;
mod event_type;
mod invitee;
mod meeting_recap;
mod misc;
mod organization;
mod requests;
mod routing_form;
mod scheduled_event;
mod uri;
mod webhook;
mod webhook_subscription;

pub use availability::*;
pub use common::*;
pub use contact::*;
pub use event_type::*;
pub use invitee::*;
pub use meeting_recap::*;
pub use misc::*;
pub use organization::*;
pub use requests::*;
pub use routing_form::*;
pub use scheduled_event::*;
pub use uri::*;
pub use webhook::*;
pub use webhook_subscription::*;
