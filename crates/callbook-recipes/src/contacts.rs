//! `aircall_contact_sync`: every Calendly invitee becomes (or updates) one Aircall contact.

use crate::budget::Priority;
use crate::context::{Context, PersonLocks, api_failure, local_time, pick_meeting};
use crate::project::meeting_from_webhook;
use callbook_client::aircall::{AircallClient, SearchContacts};
use callbook_models::aircall::{Contact, ContactDetail, ContactFields};
use callbook_server::{DeliveredEvent, EventHandler, HandlerError, async_trait};
use callbook_store::{Meeting, MeetingDetails, MeetingStatus, PersonKey};
use chrono::{DateTime, Utc};
use tokio::time::Instant;

/// How long one attempt waits for Aircall's budget, all its requests together.
const BUDGET_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Where callbook's part of a contact's `information` starts and ends; text outside is kept.
const BLOCK_START: &str = "[callbook]";
const BLOCK_END: &str = "[/callbook]";

/// The contact-sync recipe.
#[derive(Debug)]
pub struct ContactSync {
    name: String,
    ctx: Context,
    aircall: AircallClient,
    locks: PersonLocks,
}

impl ContactSync {
    /// The recipe `name`; needs `[aircall_api]`.
    pub fn new(name: impl Into<String>, ctx: Context) -> Result<Self, crate::Error> {
        let name = name.into();
        let aircall = ctx.aircall.clone().ok_or_else(|| {
            crate::Error::Config(format!(
                "recipe {name:?} (aircall_contact_sync) needs an [aircall_api] section"
            ))
        })?;
        Ok(Self {
            name,
            ctx,
            aircall,
            locks: PersonLocks::default(),
        })
    }

    /// The contact a person has: the one this recipe made or found before, else one Aircall
    /// finds by phone, then by email.
    async fn find(
        &self,
        keys: &[(String, PersonKey)],
        deadline: Instant,
    ) -> Result<Option<Contact>, HandlerError> {
        for (mark, _) in keys {
            let Some(id) = self.ctx.store.mark(&self.name, mark).await? else {
                continue;
            };
            let Some(id) = id
                .value
                .and_then(|v| v.parse::<callbook_models::aircall::ContactId>().ok())
            else {
                continue;
            };
            self.ctx.spend_by(Priority::Bulk, deadline).await?;
            match self.aircall.contact(id).await {
                Ok(contact) => return Ok(Some(contact)),
                // Deleted in Aircall since: look again.
                Err(callbook_client::Error::NotFound { .. }) => {}
                Err(e) => return Err(api_failure("reading the contact", e)),
            }
        }
        for (_, key) in keys {
            let filter = match key {
                PersonKey::Phone(p) => SearchContacts::new().phone_number(p.clone()),
                PersonKey::Email(e) => SearchContacts::new().email(e.clone()),
                _ => continue,
            };
            self.ctx.spend_by(Priority::Bulk, deadline).await?;
            let page = self
                .aircall
                .search_contacts(filter)
                .page(None)
                .await
                .map_err(|e| api_failure("searching contacts", e))?;
            if let Some(contact) = page.items.into_iter().min_by_key(|c| c.id) {
                return Ok(Some(contact));
            }
        }
        Ok(None)
    }
}

#[async_trait]
impl EventHandler for ContactSync {
    async fn handle(&self, event: &DeliveredEvent) -> Result<(), HandlerError> {
        let Some(webhook) = event.webhook.calendly() else {
            return self
                .ctx
                .skip(&self.name, event, "not a Calendly event")
                .await;
        };
        let Some(meeting) = meeting_from_webhook(webhook, &self.ctx.phones) else {
            return self
                .ctx
                .skip(&self.name, event, "not an invitee event")
                .await;
        };
        let Some(details) = meeting.details.clone() else {
            return self.ctx.skip(&self.name, event, "no invitee details").await;
        };
        let mut keys = Vec::new();
        if let Some(phone) = &details.phone {
            keys.push((format!("contact:{phone}"), PersonKey::Phone(phone.clone())));
        }
        if let Some(email) = &details.email {
            keys.push((format!("contact:{email}"), PersonKey::Email(email.clone())));
        }
        if keys.is_empty() {
            return self
                .ctx
                .skip(&self.name, event, "no phone and no email")
                .await;
        }
        let lock_keys: Vec<String> = keys.iter().map(|(k, _)| k.clone()).collect();
        let _held = self.locks.lock(&lock_keys).await;
        // Instances sharing PostgreSQL serialise on a lease in the store as well.
        let token = event.id.to_string();
        self.take_leases(&lock_keys, &token).await?;
        let result = self.sync_person(event, meeting, details, keys).await;
        self.release_leases(&lock_keys, &token).await?;
        result
    }
}

impl ContactSync {
    /// Waits (up to 20 s) for every person key's lease; a lease older than a minute was left
    /// by a crashed instance and is taken over.
    async fn take_leases(&self, keys: &[String], token: &str) -> Result<(), HandlerError> {
        let mut keys: Vec<&String> = keys.iter().collect();
        keys.sort();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut taken: Vec<String> = Vec::new();
        for key in keys {
            let mark = format!("lock:{key}");
            loop {
                let now = Utc::now();
                let stale = now - chrono::Duration::seconds(60);
                if self
                    .ctx
                    .store
                    .put_mark(&self.name, &mark, Some(token), now, Some(stale))
                    .await?
                {
                    taken.push(key.clone());
                    break;
                }
                if tokio::time::Instant::now() > deadline {
                    self.release_leases(&taken, token).await?;
                    return Err(HandlerError::retry(
                        "another instance is syncing this person",
                    ));
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
        Ok(())
    }

    /// Gives back the leases this event holds (not one another instance took over).
    async fn release_leases(&self, keys: &[String], token: &str) -> Result<(), HandlerError> {
        for key in keys {
            let mark = format!("lock:{key}");
            let ours = self.ctx.store.mark(&self.name, &mark).await?;
            if ours.and_then(|m| m.value).as_deref() == Some(token) {
                self.ctx.store.remove_mark(&self.name, &mark).await?;
            }
        }
        Ok(())
    }

    async fn sync_person(
        &self,
        event: &DeliveredEvent,
        meeting: Meeting,
        details: MeetingDetails,
        keys: Vec<(String, PersonKey)>,
    ) -> Result<(), HandlerError> {
        // Every Aircall request of this attempt waits for the budget until then at most;
        // beyond, the event is handed back for later, well within the attempt's timeout.
        let deadline = Instant::now() + BUDGET_WAIT;
        // The directory first (merging twice is harmless), so the block shows the person's
        // whole booking history, whatever order the events came in.
        self.ctx.store.merge_meeting(meeting).await?;
        let person: Vec<PersonKey> = keys.iter().map(|(_, k)| k.clone()).collect();
        let meetings = self.ctx.meetings_of(&person).await?;
        let now = Utc::now();
        let shown = pick_meeting(&meetings, now);
        // The newest details name the person (a reschedule may correct a typo).
        let newest = meetings
            .iter()
            .filter_map(|m| m.details.as_ref())
            .max_by_key(|d| d.updated_at)
            .unwrap_or(&details);
        let block = info_block(shown, now);

        let contact = match self.find(&keys, deadline).await? {
            Some(existing) => {
                self.update(existing, newest, &details, &block, deadline)
                    .await?
            }
            None => {
                let mut fields = ContactFields::default();
                let (first, last) = names(newest);
                fields.first_name = first;
                fields.last_name = last;
                fields.information = Some(with_block(None, &block));
                fields.phone_numbers = details
                    .phone
                    .iter()
                    .map(|p| ContactDetail::new("Calendly", p.clone()))
                    .collect();
                fields.emails = details
                    .email
                    .iter()
                    .map(|e| ContactDetail::new("Calendly", e.clone()))
                    .collect();
                if fields.phone_numbers.is_empty() {
                    // Aircall wants a phone number on every contact.
                    return self
                        .ctx
                        .skip(
                            &self.name,
                            event,
                            "no phone number for a new Aircall contact",
                        )
                        .await;
                }
                self.ctx.spend_by(Priority::Bulk, deadline).await?;
                self.aircall
                    .create_contact(&fields)
                    .await
                    .map_err(|e| api_failure("creating the contact", e))?
            }
        };
        for (mark, _) in &keys {
            self.ctx
                .store
                .put_mark(
                    &self.name,
                    mark,
                    Some(&contact.id.to_string()),
                    now,
                    Some(DateTime::<Utc>::MAX_UTC),
                )
                .await?;
        }
        Ok(())
    }
}

impl ContactSync {
    /// Brings an existing contact up to date: names, the callbook block, and the phone or
    /// email it lacks. Nothing is sent when nothing changes.
    async fn update(
        &self,
        contact: Contact,
        newest: &MeetingDetails,
        details: &MeetingDetails,
        block: &str,
        deadline: Instant,
    ) -> Result<Contact, HandlerError> {
        let (first, last) = names(newest);
        let information = with_block(contact.information.as_deref(), block);
        let mut fields = ContactFields::default();
        if first.is_some() && first != contact.first_name {
            fields.first_name = first;
        }
        if last.is_some() && last != contact.last_name {
            fields.last_name = last;
        }
        if contact.information.as_deref() != Some(information.as_str()) {
            fields.information = Some(information);
        }
        let id = contact.id;
        let mut contact = contact;
        if fields != ContactFields::default() {
            self.ctx.spend_by(Priority::Bulk, deadline).await?;
            contact = self
                .aircall
                .update_contact(id, &fields)
                .await
                .map_err(|e| api_failure("updating the contact", e))?;
        }
        if let Some(phone) = &details.phone {
            let known = contact
                .phone_numbers
                .iter()
                .any(|p| self.ctx.phones.e164(&p.value).as_deref() == Some(phone.as_str()));
            if !known {
                self.ctx.spend_by(Priority::Bulk, deadline).await?;
                self.aircall
                    .add_phone_detail(id, &ContactDetail::new("Calendly", phone.clone()))
                    .await
                    .map_err(|e| api_failure("adding the phone number", e))?;
            }
        }
        if let Some(email) = &details.email {
            let known = contact
                .emails
                .iter()
                .any(|e| e.value.eq_ignore_ascii_case(email));
            if !known {
                self.ctx.spend_by(Priority::Bulk, deadline).await?;
                self.aircall
                    .add_email_detail(id, &ContactDetail::new("Calendly", email.clone()))
                    .await
                    .map_err(|e| api_failure("adding the email", e))?;
            }
        }
        Ok(contact)
    }
}

/// First and last name: Calendly's own split when the booking page asked for it, else the
/// first word and the rest.
fn names(d: &MeetingDetails) -> (Option<String>, Option<String>) {
    let name = d.name.trim();
    let first = d
        .first_name
        .clone()
        .or_else(|| name.split_whitespace().next().map(str::to_owned));
    let last = match &d.first_name {
        Some(f) => name.strip_prefix(f.as_str()).map(str::trim),
        None => name
            .split_once(char::is_whitespace)
            .map(|(_, rest)| rest.trim()),
    }
    .filter(|s| !s.is_empty())
    .map(str::to_owned);
    (first, last)
}

/// callbook's lines about the meeting worth showing.
fn info_block(meeting: Option<&Meeting>, now: DateTime<Utc>) -> String {
    let Some((m, d)) = meeting.and_then(|m| Some((m, m.details.as_ref()?))) else {
        return "Calendly: no meeting".into();
    };
    let what = d.event_name.as_deref().unwrap_or("meeting");
    let when = d
        .start
        .map(|s| local_time(s, d.timezone.as_deref()))
        .unwrap_or_default();
    let mut line = format!("Calendly: {what}, {when}");
    match m.status() {
        MeetingStatus::Canceled => line.push_str(" (canceled)"),
        MeetingStatus::NoShow => line.push_str(" (no-show)"),
        _ if d.start.is_some_and(|s| s <= now) => line.push_str(" (past)"),
        _ => {
            if let Some(url) = &d.reschedule_url {
                line.push_str(&format!(" · reschedule: {url}"));
            }
        }
    }
    line
}

/// `information` with callbook's block replaced (or added), other text untouched.
pub(crate) fn with_block(existing: Option<&str>, block: &str) -> String {
    let existing = existing.unwrap_or("");
    let kept = match (existing.find(BLOCK_START), existing.find(BLOCK_END)) {
        (Some(s), Some(e)) if e > s => {
            let before = existing[..s].trim_end();
            let after = existing[e + BLOCK_END.len()..].trim_start();
            match (before.is_empty(), after.is_empty()) {
                (true, _) => after.to_owned(),
                (_, true) => before.to_owned(),
                _ => format!("{before}\n{after}"),
            }
        }
        _ => existing.trim_end().to_owned(),
    };
    let ours = format!("{BLOCK_START}\n{block}\n{BLOCK_END}");
    if kept.is_empty() {
        ours
    } else {
        format!("{kept}\n\n{ours}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_is_replaced_and_other_text_kept() {
        let first = with_block(
            Some("VIP customer. Prefers mornings."),
            "Calendly: Intro, Tue",
        );
        assert_eq!(
            first,
            "VIP customer. Prefers mornings.\n\n[callbook]\nCalendly: Intro, Tue\n[/callbook]"
        );
        let again = with_block(Some(&first), "Calendly: Intro, Wed");
        assert_eq!(
            again,
            "VIP customer. Prefers mornings.\n\n[callbook]\nCalendly: Intro, Wed\n[/callbook]"
        );
        assert_eq!(with_block(Some(&again), "Calendly: Intro, Wed"), again);
        assert_eq!(with_block(None, "x"), "[callbook]\nx\n[/callbook]");
    }

    #[test]
    fn names_split_as_calendly_did_or_at_the_first_space() {
        let mut d = MeetingDetails::new("e", "Ana Maria Lima", Utc::now());
        assert_eq!(names(&d), (Some("Ana".into()), Some("Maria Lima".into())));
        d.first_name = Some("Ana Maria".into());
        assert_eq!(names(&d), (Some("Ana Maria".into()), Some("Lima".into())));
        let d = MeetingDetails::new("e", "Cher", Utc::now());
        assert_eq!(names(&d), (Some("Cher".into()), None));
    }
}
