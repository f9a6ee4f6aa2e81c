//! What every recipe shares: the store, the phone reader, the API clients and Aircall's
//! budget; and the small helpers they all use.

use crate::budget::Budget;
use crate::phone::PhoneReader;
use callbook_client::{aircall::AircallClient, calendly::CalendlyClient};
use callbook_server::{DeliveredEvent, HandlerError};
use callbook_store::{Meeting, MeetingStatus, PersonKey, Store};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The shared pieces recipes are built from.
#[derive(Clone)]
#[non_exhaustive]
pub struct Context {
    /// Where the directory and the recipes' marks live.
    pub store: Arc<dyn Store>,
    /// Reads phone numbers.
    pub phones: PhoneReader,
    /// Aircall, when `[aircall_api]` is configured.
    pub aircall: Option<AircallClient>,
    /// Calendly, when `[calendly_api]` is configured.
    pub calendly: Option<CalendlyClient>,
    /// Aircall's request budget, shared by every recipe.
    pub budget: Arc<Budget>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("phones", &self.phones)
            .field("aircall", &self.aircall.is_some())
            .field("calendly", &self.calendly.is_some())
            .finish_non_exhaustive()
    }
}

impl Context {
    /// A context on a store, without API clients.
    pub fn new(store: Arc<dyn Store>, phones: PhoneReader) -> Self {
        Self {
            store,
            phones,
            aircall: None,
            calendly: None,
            budget: Arc::new(Budget::per_minute(60)),
        }
    }

    /// With an Aircall client and its budget.
    pub fn aircall(mut self, client: AircallClient, requests_per_minute: u32) -> Self {
        self.aircall = Some(client);
        self.budget = Arc::new(Budget::per_minute(requests_per_minute));
        self
    }

    /// With a Calendly client.
    pub fn calendly(mut self, client: CalendlyClient) -> Self {
        self.calendly = Some(client);
        self
    }

    /// A person's meetings found by any of the keys, each once, latest start first.
    pub async fn meetings_of(&self, keys: &[PersonKey]) -> Result<Vec<Meeting>, HandlerError> {
        let mut all: Vec<Meeting> = Vec::new();
        for key in keys {
            for m in self.store.meetings(key, 100).await? {
                if m.details.is_some() && !all.iter().any(|a| a.invitee == m.invitee) {
                    all.push(m);
                }
            }
        }
        all.sort_by_key(|m| std::cmp::Reverse(m.details.as_ref().and_then(|d| d.start)));
        Ok(all)
    }

    /// Waits for Aircall's budget: at most 5 s for an urgent request, 20 s for bulk work;
    /// beyond, the event is handed back for later (no failure, no breaker), when the budget
    /// should have room.
    pub(crate) async fn spend(&self, priority: crate::Priority) -> Result<(), HandlerError> {
        let max_wait = match priority {
            crate::Priority::Urgent => std::time::Duration::from_secs(5),
            crate::Priority::Bulk => std::time::Duration::from_secs(20),
        };
        self.spend_by(priority, tokio::time::Instant::now() + max_wait)
            .await
    }

    /// Waits for Aircall's budget until `deadline` at most (an attempt that needs several
    /// requests shares one deadline among them, so that it ends well within its timeout).
    pub(crate) async fn spend_by(
        &self,
        priority: crate::Priority,
        deadline: tokio::time::Instant,
    ) -> Result<(), HandlerError> {
        let max_wait = deadline.saturating_duration_since(tokio::time::Instant::now());
        self.budget
            .acquire_within(priority, max_wait)
            .await
            .map_err(|wait| HandlerError::later(wait, "waiting for Aircall's request budget"))
    }

    /// The call an Aircall `expected` event speaks of, merged into the directory; `None`
    /// (the event skipped, with the reason recorded) for anything else.
    pub(crate) async fn call_event(
        &self,
        recipe: &str,
        event: &DeliveredEvent,
        expected: &str,
    ) -> Result<Option<callbook_store::CallRecord>, HandlerError> {
        let reason = match event.webhook.aircall() {
            None => "not an Aircall event",
            Some(w) if w.event.as_str() != expected => "not the call event this recipe takes",
            Some(w) => match crate::project::call_from_webhook(w, &self.phones) {
                Some(call) => return Ok(Some(self.store.merge_call(call).await?)),
                None => "no call in the event",
            },
        };
        self.skip(recipe, event, reason).await?;
        Ok(None)
    }

    /// Records why a recipe left an event alone; `recipes list` counts these.
    pub(crate) async fn skip(
        &self,
        recipe: &str,
        event: &DeliveredEvent,
        reason: &str,
    ) -> Result<(), HandlerError> {
        tracing::info!(recipe, event = %event.id, reason, "skipped");
        self.store
            .put_mark(
                recipe,
                &format!("event:skip:{}", event.id),
                Some(reason),
                Utc::now(),
                None,
            )
            .await?;
        Ok(())
    }
}

/// The meeting worth showing: the next upcoming active one, else the latest past one that
/// was not moved by a reschedule.
pub fn pick_meeting(meetings: &[Meeting], now: DateTime<Utc>) -> Option<&Meeting> {
    let start = |m: &Meeting| m.details.as_ref().and_then(|d| d.start);
    meetings
        .iter()
        .filter(|m| m.status() == MeetingStatus::Active && start(m).is_some_and(|s| s > now))
        .min_by_key(|m| start(m))
        .or_else(|| {
            meetings
                .iter()
                .filter(|m| !m.rescheduled && start(m).is_some_and(|s| s <= now))
                .max_by_key(|m| start(m))
        })
}

/// Whether the person has an active meeting still to come.
pub fn has_upcoming(meetings: &[Meeting], now: DateTime<Utc>) -> bool {
    meetings.iter().any(|m| {
        m.status() == MeetingStatus::Active
            && m.details
                .as_ref()
                .and_then(|d| d.start)
                .is_some_and(|s| s > now)
    })
}

/// "Tue 1 Dec 15:00 America/Sao_Paulo", in the person's zone (UTC when unknown).
pub fn local_time(at: DateTime<Utc>, timezone: Option<&str>) -> String {
    match timezone.and_then(|tz| tz.parse::<chrono_tz::Tz>().ok()) {
        Some(tz) => format!(
            "{} {}",
            at.with_timezone(&tz).format("%a %-d %b %H:%M"),
            tz.name()
        ),
        None => format!("{} UTC", at.format("%a %-d %b %H:%M")),
    }
}

/// An API failure as a handler failure: a request Aircall or Calendly refuses for what it
/// is will not succeed on a retry; the rest (limits, outages, timeouts) may.
pub(crate) fn api_failure(what: &str, e: callbook_client::Error) -> HandlerError {
    use callbook_client::Error as E;
    let permanent = matches!(
        e,
        E::InvalidArgument { .. }
            | E::NotFound { .. }
            | E::AlreadyExists { .. }
            | E::PermissionDenied { .. }
            | E::InsufficientScope { .. }
            | E::InvalidRequest(_)
    );
    let failure = if permanent {
        HandlerError::permanent(what.to_owned())
    } else {
        HandlerError::retry(what.to_owned())
    };
    failure.caused_by(e)
}

/// One lock per person, so that two events about the same person never run side by side
/// (two bookings arriving at once must not make two contacts). In-process only: instances
/// sharing PostgreSQL each hold their own.
#[derive(Debug, Default)]
pub(crate) struct PersonLocks {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl PersonLocks {
    /// Locks every key (in a fixed order, so two callers never wait on each other).
    pub(crate) async fn lock(&self, keys: &[String]) -> Vec<tokio::sync::OwnedMutexGuard<()>> {
        let mut keys: Vec<&String> = keys.iter().collect();
        keys.sort();
        keys.dedup();
        let mut guards = Vec::new();
        for key in keys {
            let lock = {
                let mut map = self.locks.lock().unwrap_or_else(|p| p.into_inner());
                // Forget locks nobody holds, so the map stays as small as the work in flight.
                map.retain(|_, l| Arc::strong_count(l) > 1);
                map.entry(key.clone()).or_default().clone()
            };
            guards.push(lock.lock_owned().await);
        }
        guards
    }
}
