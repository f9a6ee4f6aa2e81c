//! A person as the directory knows them: their meetings, their calls, and the card a call
//! from them would get.

use crate::cards::card_for;
use crate::context::Context;
use callbook_models::aircall::InsightCard;
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
