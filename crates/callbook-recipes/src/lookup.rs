//! A person as the directory knows them: their meetings, their calls, and the card a call
//! from them would get.

use crate::cards::{card_for, describe_call};
use crate::context::Context;
use callbook_models::aircall::{InsightCard, InsightCardContent};
use callbook_server::{PeopleDirectory, PersonPage, TimelineEntry, TimelineKind};
use callbook_store::{CallRecord, Meeting, PersonKey};
use chrono::Utc;
use serde::Serialize;

/// What the directory holds about one person.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Person {
    /// The newest name they booked under.
    pub name: Option<String>,
    /// Their email, lower case.
    pub email: Option<String>,
    /// Their phone, E.164.
    pub phone: Option<String>,
    /// Their IANA zone.
    pub timezone: Option<String>,
    /// Their meetings, latest start first.
    pub meetings: Vec<Meeting>,
    /// Their calls, latest first.
    pub calls: Vec<CallRecord>,
    /// The insight card a call from their phone would get now.
    pub card: Option<InsightCard>,
}

/// Looks a person up by what an operator typed: an email or a phone number. `Ok(None)`
/// when the directory knows nothing of them; an error when the text is neither.
pub async fn lookup(ctx: &Context, text: &str) -> Result<Option<Person>, crate::Error> {
    let key = ctx.phones.person_key(text).ok_or_else(|| {
        crate::Error::Config(format!("{text:?} is neither an email nor a phone number"))
    })?;
    let failed = |e: callbook_server::HandlerError| crate::Error::Config(e.message());
    let mut keys = vec![key.clone()];
    let first = ctx.meetings_of(&keys).await.map_err(failed)?;
    // A booking links a phone and an email: follow the link once.
    for d in first.iter().filter_map(|m| m.details.as_ref()) {
        let other = match &key {
            PersonKey::Phone(_) => d.email.clone().map(PersonKey::Email),
            _ => d.phone.clone().map(PersonKey::Phone),
        };
        if let Some(other) = other.filter(|o| !keys.contains(o)) {
            keys.push(other);
        }
    }
    let meetings = ctx.meetings_of(&keys).await.map_err(failed)?;
    let newest = meetings
        .iter()
        .filter_map(|m| m.details.as_ref())
        .max_by_key(|d| d.updated_at);
    let phone = match &key {
        PersonKey::Phone(p) => Some(p.clone()),
        _ => newest.and_then(|d| d.phone.clone()),
    };
    let calls = match &phone {
        Some(p) => ctx.store.calls(p, 20).await?,
        None => Vec::new(),
    };
    if meetings.is_empty() && calls.is_empty() {
        return Ok(None);
    }
    let card = match &phone {
        Some(p) => card_for(ctx, p, None, Utc::now()).await.map_err(failed)?,
        None => None,
    };
    Ok(Some(Person {
        name: newest.map(|d| d.name.clone()),
        email: match &key {
            PersonKey::Email(e) => Some(e.clone()),
            _ => newest.and_then(|d| d.email.clone()),
        },
        phone,
        timezone: newest.and_then(|d| d.timezone.clone()),
        meetings,
        calls,
        card,
    }))
}

impl Person {
    /// The person as the console's People page shows them: meetings and calls on one
    /// timeline, newest first, and the lines of their insight card.
    pub fn to_page(&self) -> PersonPage {
        let mut page = PersonPage::default();
        page.name = self.name.clone();
        page.email = self.email.clone();
        page.phone = self.phone.clone();
        page.timezone = self.timezone.clone();
        for m in &self.meetings {
            let Some(d) = &m.details else { continue };
            let status = match (m.canceled, m.rescheduled, m.no_show) {
                (true, true, _) => "rescheduled",
                (true, false, _) => "canceled",
                (false, _, Some((_, true))) => "no-show",
                _ => "booked",
            };
            page.timeline.push(TimelineEntry::new(
                d.start.unwrap_or(d.updated_at),
                TimelineKind::Meeting,
                d.event_name.as_deref().unwrap_or("Meeting"),
                format!("{status} · as {}", d.name),
            ));
        }
        for c in &self.calls {
            let Some(at) = c.started_at.or(c.ended_at) else {
                continue;
            };
            page.timeline.push(TimelineEntry::new(
                at,
                TimelineKind::Call,
                "Call",
                describe_call(c, self.timezone.as_deref()),
            ));
        }
        page.timeline.sort_by_key(|e| std::cmp::Reverse(e.at));
        if let Some(card) = &self.card {
            for content in &card.contents {
                page.card.push(match content {
                    InsightCardContent::Title { text, .. } => text.clone(),
                    InsightCardContent::ShortText { label, text, .. } => format!("{label}: {text}"),
                    _ => continue,
                });
            }
        }
        page
    }
}

/// The console's People page, answered from the directory: give it to
/// `callbook_server::Server::people`.
#[derive(Clone)]
pub struct People {
    ctx: Context,
}

impl People {
    /// Looks people up through the recipes' context (store and phone reader).
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }
}

impl std::fmt::Debug for People {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("People").finish_non_exhaustive()
    }
}

#[callbook_server::async_trait]
impl PeopleDirectory for People {
    async fn person(&self, query: &str) -> Result<Option<PersonPage>, String> {
        match lookup(&self.ctx, query).await {
            Ok(person) => Ok(person.map(|p| p.to_page())),
            Err(crate::Error::Config(message)) => Err(message),
            Err(e) => {
                tracing::warn!(error = %e, "people lookup failed");
                Err("the directory could not be read; try again".into())
            }
        }
    }
}
