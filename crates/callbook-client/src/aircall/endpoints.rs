//! One method per Aircall operation.

use super::client::AircallClient;
use super::filters::*;
use super::pages::{AircallList, calls_between, scheme};
use crate::error::{Error, Result};
use crate::pages::Pages;
use crate::transport::Req;
use callbook_models::aircall::*;
use chrono::{DateTime, Utc};
use futures_util::stream::BoxStream;
use reqwest::Method;

#[derive(serde::Deserialize)]
struct AvailabilityBody {
    availability: String,
}

#[derive(serde::Deserialize)]
struct Pong {
    ping: String,
}

impl AircallClient {
    fn list<L: AircallList>(
        &self,
        path: impl Into<String>,
        query: Vec<(&'static str, String)>,
    ) -> Pages<L::Item> {
        Pages::new(self.transport.clone(), path, query, scheme::<L>())
    }

    async fn send_json<T: serde::de::DeserializeOwned, B: serde::Serialize + ?Sized>(
        &self,
        method: Method,
        path: String,
        body: &B,
    ) -> Result<T> {
        self.transport
            .json(Req::new(method, path).json(body)?)
            .await
    }

    async fn call_empty(&self, method: Method, path: String) -> Result<()> {
        self.transport.empty(Req::new(method, path)).await
    }

    /// `GET /v1/ping`: checks the credentials.
    pub async fn ping(&self) -> Result<()> {
        let pong: Pong = self.transport.json(Req::get("/ping")).await?;
        if pong.ping == "pong" {
            Ok(())
        } else {
            Err(Error::Decode {
                path: "ping".into(),
                message: format!("expected \"pong\", got {:?}", pong.ping),
                excerpt: String::new(),
            })
        }
    }

    /// `GET /v1/company`.
    pub async fn company(&self) -> Result<Company> {
        let r: CompanyResponse = self.transport.json(Req::get("/company")).await?;
        Ok(r.company)
    }

    // ---- users, teams, numbers ----

    /// `GET /v1/users`.
    pub fn users(&self) -> Pages<User> {
        self.list::<UserList>("/users", Vec::new())
    }

    /// `GET /v1/users/{id}`.
    pub async fn user(&self, id: UserId) -> Result<User> {
        let r: UserResponse = self
            .transport
            .json(Req::get(format!("/users/{id}")))
            .await?;
        Ok(r.user)
    }

    /// `GET /v1/users/{id}/availability`: `available`, `offline`, `do_not_disturb`, ...
    pub async fn user_availability(&self, id: UserId) -> Result<String> {
        let r: AvailabilityBody = self
            .transport
            .json(Req::get(format!("/users/{id}/availability")))
            .await?;
        Ok(r.availability)
    }

    /// `GET /v1/users/availabilities`: every user's availability.
    pub fn availabilities(&self) -> Pages<Availability> {
        self.list::<AvailabilityList>("/users/availabilities", Vec::new())
    }

    /// `GET /v1/teams`.
    pub fn teams(&self) -> Pages<Team> {
        self.list::<TeamList>("/teams", Vec::new())
    }

    /// `GET /v1/teams/{id}`.
    pub async fn team(&self, id: TeamId) -> Result<Team> {
        let r: TeamResponse = self
            .transport
            .json(Req::get(format!("/teams/{id}")))
            .await?;
        Ok(r.team)
    }

    /// `GET /v1/numbers`.
    pub fn numbers(&self) -> Pages<Number> {
        self.list::<NumberList>("/numbers", Vec::new())
    }

    /// `GET /v1/numbers/{id}`.
    pub async fn number(&self, id: NumberId) -> Result<Number> {
        let r: NumberResponse = self
            .transport
            .json(Req::get(format!("/numbers/{id}")))
            .await?;
        Ok(r.number)
    }

    // ---- calls ----

    /// `GET /v1/calls`. A query over more than 10,000 calls cannot be paged to the end: use
    /// [`calls_between`](Self::calls_between) for time ranges.
    pub fn calls(&self, filter: ListCalls) -> Pages<Call> {
        self.list::<CallList>("/calls", filter.pairs())
    }

    /// Every call created in `[from, to)`, oldest first, split into windows that stay under
    /// Aircall's 10,000-result cap. Aircall counts in whole seconds: `from` is rounded down
    /// and `to` up.
    pub fn calls_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> BoxStream<'static, Result<Call>> {
        let to_secs = to.timestamp() + i64::from(to.timestamp_subsec_nanos() > 0);
        calls_between(self.transport.clone(), from.timestamp(), to_secs)
    }

    /// `GET /v1/calls/search`.
    pub fn search_calls(&self, filter: SearchCalls) -> Pages<Call> {
        self.list::<CallList>("/calls/search", filter.pairs())
    }

    /// `GET /v1/calls/{id}`.
    pub async fn call(&self, id: CallId) -> Result<Call> {
        let r: CallResponse = self
            .transport
            .json(Req::get(format!("/calls/{id}")))
            .await?;
        Ok(r.call)
    }

    /// `POST /v1/calls/{id}/transfers`: transfers an ongoing call.
    pub async fn transfer_call(&self, id: CallId, to: &Transfer) -> Result<()> {
        let req = Req::new(Method::POST, format!("/calls/{id}/transfers")).json(to)?;
        self.transport.empty(req).await
    }

    /// `POST /v1/calls/{id}/comments`.
    pub async fn comment_call(&self, id: CallId, content: impl Into<String>) -> Result<()> {
        let req = Req::new(Method::POST, format!("/calls/{id}/comments"))
            .json(&CreateComment::new(content))?;
        self.transport.empty(req).await
    }

    /// `POST /v1/calls/{id}/tags`: tags a call with existing tag IDs.
    pub async fn tag_call(
        &self,
        id: CallId,
        tag_ids: impl IntoIterator<Item = TagId>,
    ) -> Result<()> {
        let req =
            Req::new(Method::POST, format!("/calls/{id}/tags")).json(&TagCall::new(tag_ids))?;
        self.transport.empty(req).await
    }

    /// `PUT /v1/calls/{id}/archive`.
    pub async fn archive_call(&self, id: CallId) -> Result<()> {
        self.call_empty(Method::PUT, format!("/calls/{id}/archive"))
            .await
    }

    /// `PUT /v1/calls/{id}/unarchive`.
    pub async fn unarchive_call(&self, id: CallId) -> Result<()> {
        self.call_empty(Method::PUT, format!("/calls/{id}/unarchive"))
            .await
    }

    /// `POST /v1/calls/{id}/insight_cards`: shows a card to the agent during the call.
    pub async fn add_insight_card(&self, id: CallId, card: &InsightCard) -> Result<()> {
        let req = Req::new(Method::POST, format!("/calls/{id}/insight_cards")).json(card)?;
        self.transport.empty(req).await
    }

    // ---- contacts ----

    /// `GET /v1/contacts`.
    pub fn contacts(&self, filter: ListContacts) -> Pages<Contact> {
        self.list::<ContactList>("/contacts", filter.pairs())
    }

    /// `GET /v1/contacts/search`: by phone number or email.
    pub fn search_contacts(&self, filter: SearchContacts) -> Pages<Contact> {
        self.list::<ContactList>("/contacts/search", filter.pairs())
    }

    /// `GET /v1/contacts/{id}`.
    pub async fn contact(&self, id: ContactId) -> Result<Contact> {
        let r: ContactResponse = self
            .transport
            .json(Req::get(format!("/contacts/{id}")))
            .await?;
        Ok(r.contact)
    }

    /// `POST /v1/contacts`: at least one phone number is required.
    pub async fn create_contact(&self, fields: &ContactFields) -> Result<Contact> {
        if fields.phone_numbers.is_empty() {
            return Err(Error::InvalidRequest(
                "Aircall requires at least one phone number on a new contact".into(),
            ));
        }
        let r: ContactResponse = self
            .send_json(Method::POST, "/contacts".into(), fields)
            .await?;
        Ok(r.contact)
    }

    /// `POST /v1/contacts/{id}` (Aircall updates contacts with POST).
    pub async fn update_contact(&self, id: ContactId, fields: &ContactFields) -> Result<Contact> {
        let r: ContactResponse = self
            .send_json(Method::POST, format!("/contacts/{id}"), fields)
            .await?;
        Ok(r.contact)
    }

    /// The contact with one of these phone numbers (searched first, in order) or e-mails,
    /// updated with `fields`; or a new contact made of them. An existing contact gets the
    /// names and `information` of `fields` (when set and different) and the phone numbers and
    /// e-mails it lacks; nothing else of it changes. Two callers upserting the same person at
    /// once may both create: serialise per person if that can happen.
    pub async fn upsert_contact(&self, fields: &ContactFields) -> Result<Upserted> {
        let mut found = None;
        let searches = fields
            .phone_numbers
            .iter()
            .map(|p| SearchContacts::new().phone_number(p.value.clone()))
            .chain(
                fields
                    .emails
                    .iter()
                    .map(|e| SearchContacts::new().email(e.value.clone())),
            );
        for search in searches {
            let page = self.search_contacts(search).page(None).await?;
            if let Some(c) = page.items.into_iter().min_by_key(|c| c.id) {
                found = Some(c);
                break;
            }
        }
        let Some(existing) = found else {
            return self.create_contact(fields).await.map(Upserted::Created);
        };
        let mut change = ContactFields::default();
        let differs = |new: &Option<String>, old: &Option<String>| new.is_some() && new != old;
        if differs(&fields.first_name, &existing.first_name) {
            change.first_name.clone_from(&fields.first_name);
        }
        if differs(&fields.last_name, &existing.last_name) {
            change.last_name.clone_from(&fields.last_name);
        }
        if differs(&fields.company_name, &existing.company_name) {
            change.company_name.clone_from(&fields.company_name);
        }
        if differs(&fields.information, &existing.information) {
            change.information.clone_from(&fields.information);
        }
        let id = existing.id;
        let mut contact = if change == ContactFields::default() {
            existing
        } else {
            self.update_contact(id, &change).await?
        };
        let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
        for phone in &fields.phone_numbers {
            if !contact
                .phone_numbers
                .iter()
                .any(|p| digits(&p.value) == digits(&phone.value))
            {
                let added = self.add_phone_detail(id, phone).await?;
                contact.phone_numbers.push(added);
            }
        }
        for email in &fields.emails {
            if !contact
                .emails
                .iter()
                .any(|e| e.value.eq_ignore_ascii_case(&email.value))
            {
                let added = self.add_email_detail(id, email).await?;
                contact.emails.push(added);
            }
        }
        Ok(Upserted::Updated(contact))
    }

    /// `DELETE /v1/contacts/{id}`.
    pub async fn delete_contact(&self, id: ContactId) -> Result<()> {
        self.call_empty(Method::DELETE, format!("/contacts/{id}"))
            .await
    }

    /// `POST /v1/contacts/{id}/phone_details`.
    pub async fn add_phone_detail(
        &self,
        id: ContactId,
        detail: &ContactDetail,
    ) -> Result<ContactDetail> {
        let r: PhoneDetailResponse = self
            .send_json(
                Method::POST,
                format!("/contacts/{id}/phone_details"),
                detail,
            )
            .await?;
        Ok(r.phone_detail)
    }

    /// `PUT /v1/contacts/{id}/phone_details/{detail_id}`.
    pub async fn update_phone_detail(
        &self,
        id: ContactId,
        detail_id: i64,
        detail: &ContactDetail,
    ) -> Result<ContactDetail> {
        let path = format!("/contacts/{id}/phone_details/{detail_id}");
        let r: PhoneDetailResponse = self.send_json(Method::PUT, path, detail).await?;
        Ok(r.phone_detail)
    }

    /// `DELETE /v1/contacts/{id}/phone_details/{detail_id}`.
    pub async fn delete_phone_detail(&self, id: ContactId, detail_id: i64) -> Result<()> {
        let path = format!("/contacts/{id}/phone_details/{detail_id}");
        self.call_empty(Method::DELETE, path).await
    }

    /// `POST /v1/contacts/{id}/email_details`.
    pub async fn add_email_detail(
        &self,
        id: ContactId,
        detail: &ContactDetail,
    ) -> Result<ContactDetail> {
        let r: EmailDetailResponse = self
            .send_json(
                Method::POST,
                format!("/contacts/{id}/email_details"),
                detail,
            )
            .await?;
        Ok(r.email_detail)
    }

    /// `PUT /v1/contacts/{id}/email_details/{detail_id}`.
    pub async fn update_email_detail(
        &self,
        id: ContactId,
        detail_id: i64,
        detail: &ContactDetail,
    ) -> Result<ContactDetail> {
        let path = format!("/contacts/{id}/email_details/{detail_id}");
        let r: EmailDetailResponse = self.send_json(Method::PUT, path, detail).await?;
        Ok(r.email_detail)
    }

    /// `DELETE /v1/contacts/{id}/email_details/{detail_id}`.
    pub async fn delete_email_detail(&self, id: ContactId, detail_id: i64) -> Result<()> {
        let path = format!("/contacts/{id}/email_details/{detail_id}");
        self.call_empty(Method::DELETE, path).await
    }

    // ---- tags ----

    /// `GET /v1/tags`.
    pub fn tags(&self) -> Pages<Tag> {
        self.list::<TagList>("/tags", Vec::new())
    }

    /// `GET /v1/tags/{id}`.
    pub async fn tag(&self, id: TagId) -> Result<Tag> {
        let r: TagResponse = self.transport.json(Req::get(format!("/tags/{id}"))).await?;
        Ok(r.tag)
    }

    // ---- webhooks ----

    /// `GET /v1/webhooks`.
    pub fn webhooks(&self) -> Pages<WebhookRegistration> {
        self.list::<WebhookList>("/webhooks", Vec::new())
    }

    /// `GET /v1/webhooks/{id}`.
    pub async fn webhook(&self, webhook_id: &str) -> Result<WebhookRegistration> {
        let r: WebhookResponse = self
            .transport
            .json_secret(Req::get(format!("/webhooks/{}", path_segment(webhook_id)?)))
            .await?;
        Ok(r.webhook)
    }

    /// `POST /v1/webhooks`. The registration's `token` is what deliveries carry: configure it
    /// as the Aircall source's secret.
    pub async fn create_webhook(&self, body: &CreateWebhook) -> Result<WebhookRegistration> {
        if body.events.is_empty() {
            // Aircall would subscribe to every event.
            return Err(Error::InvalidRequest(
                "name the events: Aircall subscribes an empty list to all of them".into(),
            ));
        }
        let req = Req::new(Method::POST, "/webhooks").json(body)?;
        let r: WebhookResponse = self.transport.json_secret(req).await?;
        Ok(r.webhook)
    }

    /// `PUT /v1/webhooks/{id}`.
    pub async fn update_webhook(
        &self,
        webhook_id: &str,
        body: &UpdateWebhook,
    ) -> Result<WebhookRegistration> {
        let path = format!("/webhooks/{}", path_segment(webhook_id)?);
        let req = Req::new(Method::PUT, path).json(body)?;
        let r: WebhookResponse = self.transport.json_secret(req).await?;
        Ok(r.webhook)
    }

    /// `DELETE /v1/webhooks/{id}`.
    pub async fn delete_webhook(&self, webhook_id: &str) -> Result<()> {
        let path = format!("/webhooks/{}", path_segment(webhook_id)?);
        self.call_empty(Method::DELETE, path).await
    }

    // ---- messages ----

    /// `POST /v1/numbers/{id}/messages/send`: sends an SMS from one of the company's numbers.
    /// Returns the message when Aircall's answer includes it.
    pub async fn send_message(
        &self,
        number_id: NumberId,
        body: &SendMessage,
    ) -> Result<Option<Message>> {
        let req =
            Req::new(Method::POST, format!("/numbers/{number_id}/messages/send")).json(body)?;
        let bytes = self.transport.send(req).await?;
        // The answer's shape is not documented: take the message wrapped or bare, else none.
        Ok(serde_json::from_slice::<MessageResponse>(&bytes)
            .map(|r| r.message)
            .or_else(|_| serde_json::from_slice::<Message>(&bytes))
            .ok())
    }

    /// `POST /v1/numbers/{id}/messages/native/send`: sends an SMS through Aircall's native
    /// messaging (the number's conversations in the Aircall app), where the account has it.
    pub async fn send_native_message(
        &self,
        number_id: NumberId,
        body: &SendMessage,
    ) -> Result<Option<Message>> {
        let req = Req::new(
            Method::POST,
            format!("/numbers/{number_id}/messages/native/send"),
        )
        .json(body)?;
        let bytes = self.transport.send(req).await?;
        Ok(serde_json::from_slice::<MessageResponse>(&bytes)
            .map(|r| r.message)
            .or_else(|_| serde_json::from_slice::<Message>(&bytes))
            .ok())
    }
}

/// Webhook IDs are UUIDs; anything else would change the path.
fn path_segment(id: &str) -> Result<&str> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Ok(id)
    } else {
        Err(Error::InvalidRequest(format!("`{id}` is not a webhook ID")))
    }
}

/// What [`AircallClient::upsert_contact`] did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Upserted {
    /// No contact had the phone numbers or e-mails: this one was created.
    Created(Contact),
    /// This existing contact was found and brought up to date.
    Updated(Contact),
}

impl Upserted {
    /// The contact, created or updated.
    pub fn contact(&self) -> &Contact {
        match self {
            Self::Created(c) | Self::Updated(c) => c,
        }
    }
}
