//! Calendly ↔ Aircall recipes for callbook.
//!
//! - A **directory** of people, projected from Calendly invitee events and Aircall call
//!   events into the store ([`DirectoryUpdater`]), looked up by phone (E.164) or email.
//! - **`aircall_contact_sync`** ([`ContactSync`]): each invitee becomes one Aircall contact,
//!   with a callbook-managed block in its `information`.
//! - **`aircall_insight_card`** ([`InsightCards`]): a ringing call from a known number shows
//!   the caller's meeting in Aircall.
//! - **`missed_call_followup`** ([`MissedCallFollowup`]): a missed caller with nothing booked
//!   gets a text with a scheduling link, at most once per call and cooldown.
//!
//! Each recipe is an in-process handler of callbook-server's delivery engine, so it has the
//! outbox, retries, dead letters, replay and metrics that HTTP destinations have.
//! [`install`] adds the directory and the configured recipes to a server.
#![warn(missing_docs)]

mod admin;
mod budget;
mod cards;
mod contacts;
mod context;
mod directory;
mod error;
mod followup;
mod lookup;
mod phone;
mod project;
mod recipe;
mod sync;

pub use admin::{RecipeInfo, admin_router};
pub use budget::{Budget, Priority};
pub use cards::{InsightCards, card_for, describe_call};
pub use contacts::ContactSync;
pub use context::{Context, has_upcoming, local_time, pick_meeting};
pub use directory::{DIRECTORY, DirectoryUpdater};
pub use error::Error;
pub use followup::{FollowupSettings, MissedCallFollowup};
pub use lookup::{People, Person, lookup};
pub use phone::PhoneReader;
pub use project::{call_from_webhook, meeting_from_invitee, meeting_from_webhook};
pub use recipe::{KINDS, Recipe, build, install};
pub use sync::{Scope, SyncProgress, SyncReport, sync_calendly};
