//! `callbook calendly sync`: fills the directory from Calendly's API, for the meetings booked
//! before callbook received webhooks.
//!
//! Running it twice changes nothing (meetings merge), and it resumes: the start time of the
//! last scheduled event whose invitees were all stored is kept as a mark, and a new run with
//! the same range starts there.

use crate::context::Context;
use crate::project::meeting_from_invitee;
use callbook_client::calendly::{ListInvitees, ListScheduledEvents, Sort};
use callbook_models::calendly::{OrganizationUri, UserUri};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;

/// Whose scheduled events to read.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Scope {
    /// One user's (the token's owner by default).
    User(UserUri),
    /// The whole organization's (needs an admin token).
    Organization(OrganizationUri),
}

/// Where a sync is, for a progress bar.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct SyncProgress {
    /// Scheduled events read.
    pub events: u64,
    /// Invitees stored.
    pub invitees: u64,
    /// Start of the last event read.
    pub at: Option<DateTime<Utc>>,
}

/// What a sync did.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct SyncReport {
    /// Scheduled events read.
    pub events: u64,
    /// Invitees stored (merged).
    pub invitees: u64,
    /// Where it resumed from, when an earlier run had been cut short.
    pub resumed_from: Option<DateTime<Utc>>,
}

/// The mark that remembers a range's progress.
const SYNC: &str = "calendly-sync";

/// Reads scheduled events starting in `[since, until)` with their invitees into the
/// directory. The client retries rate-limited requests after the time Calendly asks for.
pub async fn sync_calendly(
    ctx: &Context,
    scope: Scope,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    mut progress: impl FnMut(SyncProgress),
) -> Result<SyncReport, crate::Error> {
    let calendly = ctx
        .calendly
        .as_ref()
        .ok_or_else(|| crate::Error::Config("sync needs a [calendly_api] section".into()))?;
    let scope_key = match &scope {
        Scope::User(u) => u.as_str().to_owned(),
        Scope::Organization(o) => o.as_str().to_owned(),
    };
    let cursor_key = format!(
        "cursor:{scope_key}:{}:{}",
        since.timestamp(),
        until.timestamp()
    );
    let resumed_from = ctx
        .store
        .mark(SYNC, &cursor_key)
        .await?
        .and_then(|m| m.value)
        .and_then(|v| DateTime::parse_from_rfc3339(&v).ok())
        .map(|t| t.to_utc())
        .filter(|t| *t > since && *t < until);
    let mut filter = ListScheduledEvents::new()
        .min_start_time(resumed_from.unwrap_or(since))
        .max_start_time(until)
        .sort(Sort::asc("start_time"));
    filter = match scope {
        Scope::User(u) => filter.user(u),
        Scope::Organization(o) => filter.organization(o),
    };
    let mut report = SyncReport {
        resumed_from,
        ..SyncReport::default()
    };
    let mut events = calendly.scheduled_events(filter).stream();
    while let Some(event) = events.try_next().await? {
        let mut invitees = calendly.invitees(&event.uri, ListInvitees::new()).stream();
        while let Some(invitee) = invitees.try_next().await? {
            ctx.store
                .merge_meeting(meeting_from_invitee(&invitee, &event, &ctx.phones))
                .await?;
            report.invitees += 1;
        }
        report.events += 1;
        ctx.store
            .put_mark(
                SYNC,
                &cursor_key,
                Some(&event.start_time.to_rfc3339()),
                Utc::now(),
                Some(DateTime::<Utc>::MAX_UTC),
            )
            .await?;
        progress(SyncProgress {
            events: report.events,
            invitees: report.invitees,
            at: Some(event.start_time),
        });
    }
    // Done: the next run of this range reads it all again (and changes nothing).
    ctx.store.remove_mark(SYNC, &cursor_key).await?;
    Ok(report)
}
