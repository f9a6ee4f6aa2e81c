//! One method per Calendly operation. Resources are addressed by their typed URIs.

use super::client::CalendlyClient;
use super::filters::*;
use crate::error::{Error, Result};
use crate::pages::Pages;
use crate::transport::Req;
use callbook_models::calendly::*;
use reqwest::Method;
use serde::de::DeserializeOwned;

/// A list without paging (`available times`, `busy times`, `availability schedules`).
#[derive(serde::Deserialize)]
struct Collection<T> {
    #[serde(default = "Vec::new")]
    collection: Vec<T>,
}

impl CalendlyClient {
    async fn resource<T: DeserializeOwned>(&self, req: Req) -> Result<T> {
        self.transport
            .json::<Resource<T>>(req)
            .await
            .map(|r| r.resource)
    }

    async fn get_uri<T: DeserializeOwned>(&self, uri: &str) -> Result<T> {
        self.resource(Req::get(Self::path_of(uri))).await
    }

    async fn post<T: DeserializeOwned, B: serde::Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T> {
        self.resource(Req::new(Method::POST, path).json(body)?)
            .await
    }

    async fn delete_uri(&self, uri: &str) -> Result<()> {
        self.transport
            .empty(Req::new(Method::DELETE, Self::path_of(uri)))
            .await
    }

    fn list<T: DeserializeOwned + Send + 'static>(
        &self,
        path: impl Into<String>,
        query: Vec<(&'static str, String)>,
    ) -> Pages<T> {
        Pages::new(
            self.transport.clone(),
            path,
            query,
            crate::pages::calendly(),
        )
    }

    // ---- users and organizations ----

    /// `GET /users/me`: the token's user.
    pub async fn me(&self) -> Result<User> {
        self.resource(Req::get("/users/me")).await
    }

    /// `GET /users/{uuid}`.
    pub async fn user(&self, user: &UserUri) -> Result<User> {
        self.get_uri(user.as_str()).await
    }

    /// `GET /organizations/{uuid}`.
    pub async fn organization(&self, organization: &OrganizationUri) -> Result<Organization> {
        self.get_uri(organization.as_str()).await
    }

    /// `GET /organization_memberships`.
    pub fn memberships(&self, filter: ListMemberships) -> Pages<OrganizationMembership> {
        self.list("/organization_memberships", filter.pairs())
    }

    /// `GET /organization_memberships/{uuid}`.
    pub async fn membership(&self, membership: &MembershipUri) -> Result<OrganizationMembership> {
        self.get_uri(membership.as_str()).await
    }

    /// `DELETE /organization_memberships/{uuid}`: removes the user from the organization.
    pub async fn remove_membership(&self, membership: &MembershipUri) -> Result<()> {
        self.delete_uri(membership.as_str()).await
    }

    /// `GET /organizations/{uuid}/invitations`.
    pub fn invitations(
        &self,
        organization: &OrganizationUri,
        filter: ListInvitations,
    ) -> Pages<OrganizationInvitation> {
        self.list(
            format!("{}/invitations", Self::path_of(organization.as_str())),
            filter.pairs(),
        )
    }

    /// `GET /organizations/{org}/invitations/{uuid}`.
    pub async fn invitation(&self, invitation: &InvitationUri) -> Result<OrganizationInvitation> {
        self.get_uri(invitation.as_str()).await
    }

    /// `POST /organizations/{uuid}/invitations`.
    pub async fn invite(
        &self,
        organization: &OrganizationUri,
        body: &CreateInvitation,
    ) -> Result<OrganizationInvitation> {
        let path = format!("{}/invitations", Self::path_of(organization.as_str()));
        self.post(&path, body).await
    }

    /// `DELETE /organizations/{org}/invitations/{uuid}`: revokes a pending invitation.
    pub async fn revoke_invitation(&self, invitation: &InvitationUri) -> Result<()> {
        self.delete_uri(invitation.as_str()).await
    }

    /// `GET /groups`.
    pub fn groups(&self, filter: ListGroups) -> Pages<Group> {
        self.list("/groups", filter.pairs())
    }

    /// `GET /groups/{uuid}`.
    pub async fn group(&self, group: &GroupUri) -> Result<Group> {
        self.get_uri(group.as_str()).await
    }

    /// `GET /group_relationships`.
    pub fn group_relationships(&self, filter: ListGroupRelationships) -> Pages<GroupRelationship> {
        self.list("/group_relationships", filter.pairs())
    }

    /// `GET /group_relationships/{uuid}`.
    pub async fn group_relationship(
        &self,
        relationship: &GroupRelationshipUri,
    ) -> Result<GroupRelationship> {
        self.get_uri(relationship.as_str()).await
    }

    // ---- event types and availability ----

    /// `GET /event_types`.
    pub fn event_types(&self, filter: ListEventTypes) -> Pages<EventType> {
        self.list("/event_types", filter.pairs())
    }

    /// `GET /event_types/{uuid}`.
    pub async fn event_type(&self, event_type: &EventTypeUri) -> Result<EventType> {
        self.get_uri(event_type.as_str()).await
    }

    /// `POST /event_types`.
    pub async fn create_event_type(&self, body: &CreateEventType) -> Result<EventType> {
        self.post("/event_types", body).await
    }

    /// `PATCH /event_types/{uuid}`.
    pub async fn update_event_type(
        &self,
        event_type: &EventTypeUri,
        body: &UpdateEventType,
    ) -> Result<EventType> {
        let req = Req::new(Method::PATCH, Self::path_of(event_type.as_str())).json(body)?;
        self.resource(req).await
    }

    /// `GET /event_type_available_times`: open slots, at most 7 days per request.
    pub async fn available_times(&self, query: AvailableTimesQuery) -> Result<Vec<AvailableTime>> {
        let req = Req::get("/event_type_available_times").query(query.pairs());
        Ok(self.transport.json::<Collection<_>>(req).await?.collection)
    }

    /// `GET /user_busy_times`: busy blocks, at most 7 days per request.
    pub async fn busy_times(&self, query: BusyTimesQuery) -> Result<Vec<UserBusyTime>> {
        let req = Req::get("/user_busy_times").query(query.pairs());
        Ok(self.transport.json::<Collection<_>>(req).await?.collection)
    }

    /// `GET /user_availability_schedules`.
    pub async fn availability_schedules(
        &self,
        user: &UserUri,
    ) -> Result<Vec<AvailabilitySchedule>> {
        let req = Req::get("/user_availability_schedules")
            .query(vec![("user", user.as_str().to_owned())]);
        Ok(self.transport.json::<Collection<_>>(req).await?.collection)
    }

    /// `GET /user_availability_schedules/{uuid}`.
    pub async fn availability_schedule(
        &self,
        schedule: &AvailabilityScheduleUri,
    ) -> Result<AvailabilitySchedule> {
        self.get_uri(schedule.as_str()).await
    }

    // ---- scheduled events and invitees ----

    /// `GET /scheduled_events`.
    pub fn scheduled_events(&self, filter: ListScheduledEvents) -> Pages<ScheduledEvent> {
        self.list("/scheduled_events", filter.pairs())
    }

    /// `GET /scheduled_events/{uuid}`.
    pub async fn scheduled_event(&self, event: &ScheduledEventUri) -> Result<ScheduledEvent> {
        self.get_uri(event.as_str()).await
    }

    /// `POST /scheduled_events/{uuid}/cancellation`.
    pub async fn cancel_event(
        &self,
        event: &ScheduledEventUri,
        body: &CancelEvent,
    ) -> Result<Cancellation> {
        let path = format!("{}/cancellation", Self::path_of(event.as_str()));
        self.post(&path, body).await
    }

    /// `GET /scheduled_events/{uuid}/invitees`.
    pub fn invitees(&self, event: &ScheduledEventUri, filter: ListInvitees) -> Pages<Invitee> {
        self.list(
            format!("{}/invitees", Self::path_of(event.as_str())),
            filter.pairs(),
        )
    }

    /// `GET /scheduled_events/{event}/invitees/{uuid}`.
    pub async fn invitee(&self, invitee: &InviteeUri) -> Result<Invitee> {
        self.get_uri(invitee.as_str()).await
    }

    /// `POST /invitees`: books a meeting on the invitee's behalf.
    pub async fn create_invitee(&self, body: &CreateInvitee) -> Result<Invitee> {
        self.post("/invitees", body).await
    }

    /// `POST /invitee_no_shows`.
    pub async fn mark_no_show(&self, invitee: &InviteeUri) -> Result<InviteeNoShow> {
        self.post("/invitee_no_shows", &CreateNoShow::new(invitee.clone()))
            .await
    }

    /// `GET /invitee_no_shows/{uuid}`.
    pub async fn no_show(&self, no_show: &NoShowUri) -> Result<InviteeNoShow> {
        self.get_uri(no_show.as_str()).await
    }

    /// `DELETE /invitee_no_shows/{uuid}`.
    pub async fn unmark_no_show(&self, no_show: &NoShowUri) -> Result<()> {
        self.delete_uri(no_show.as_str()).await
    }

    /// `POST /scheduling_links`: a single-use booking link.
    pub async fn create_scheduling_link(
        &self,
        body: &CreateSchedulingLink,
    ) -> Result<SchedulingLink> {
        self.post("/scheduling_links", body).await
    }

    // ---- routing forms ----

    /// `GET /routing_forms`.
    pub fn routing_forms(&self, filter: ListRoutingForms) -> Pages<RoutingForm> {
        self.list("/routing_forms", filter.pairs())
    }

    /// `GET /routing_forms/{uuid}`.
    pub async fn routing_form(&self, form: &RoutingFormUri) -> Result<RoutingForm> {
        self.get_uri(form.as_str()).await
    }

    /// `GET /routing_form_submissions`.
    pub fn routing_form_submissions(
        &self,
        filter: ListRoutingFormSubmissions,
    ) -> Pages<RoutingFormSubmission> {
        self.list("/routing_form_submissions", filter.pairs())
    }

    /// `GET /routing_form_submissions/{uuid}`.
    pub async fn routing_form_submission(
        &self,
        submission: &RoutingFormSubmissionUri,
    ) -> Result<RoutingFormSubmission> {
        self.get_uri(submission.as_str()).await
    }

    // ---- webhook subscriptions ----

    /// `GET /webhook_subscriptions`.
    pub fn webhook_subscriptions(
        &self,
        filter: ListWebhookSubscriptions,
    ) -> Pages<WebhookSubscription> {
        self.list("/webhook_subscriptions", filter.pairs())
    }

    /// `GET /webhook_subscriptions/{uuid}`.
    pub async fn webhook_subscription(
        &self,
        subscription: &WebhookSubscriptionUri,
    ) -> Result<WebhookSubscription> {
        self.get_uri(subscription.as_str()).await
    }

    /// `POST /webhook_subscriptions` exactly as given. Prefer
    /// [`subscribe`](Self::subscribe), which generates the signing key and checks the request.
    pub async fn create_webhook_subscription(
        &self,
        body: &CreateWebhookSubscription,
    ) -> Result<WebhookSubscription> {
        self.post("/webhook_subscriptions", body).await
    }

    /// `DELETE /webhook_subscriptions/{uuid}`.
    pub async fn delete_webhook_subscription(
        &self,
        subscription: &WebhookSubscriptionUri,
    ) -> Result<()> {
        self.delete_uri(subscription.as_str()).await
    }

    /// `GET /sample_webhook_data`: a sample delivery for an event.
    pub async fn sample_webhook_data(&self, query: SampleWebhookQuery) -> Result<Webhook> {
        self.transport
            .json(Req::get("/sample_webhook_data").query(query.pairs()))
            .await
    }

    // ---- contacts and meeting recaps ----

    /// `GET /contacts`.
    pub fn contacts(&self) -> Pages<Contact> {
        self.list("/contacts", Vec::new())
    }

    /// `GET /contacts/{uuid}`.
    pub async fn contact(&self, contact: &ContactUri) -> Result<Contact> {
        self.get_uri(contact.as_str()).await
    }

    /// `POST /contacts`.
    pub async fn create_contact(&self, body: &ContactFields) -> Result<Contact> {
        self.post("/contacts", body).await
    }

    /// `PATCH /contacts/{uuid}`.
    pub async fn update_contact(
        &self,
        contact: &ContactUri,
        body: &ContactFields,
    ) -> Result<Contact> {
        let req = Req::new(Method::PATCH, Self::path_of(contact.as_str())).json(body)?;
        self.resource(req).await
    }

    /// `DELETE /contacts/{uuid}`.
    pub async fn delete_contact(&self, contact: &ContactUri) -> Result<()> {
        self.delete_uri(contact.as_str()).await
    }

    /// `GET /meeting_recaps`.
    pub fn meeting_recaps(&self, filter: ListMeetingRecaps) -> Pages<MeetingRecap> {
        self.list("/meeting_recaps", filter.pairs())
    }

    /// `GET /meeting_recaps/{uuid}`.
    pub async fn meeting_recap(&self, recap: &MeetingRecapUri) -> Result<MeetingRecap> {
        self.get_uri(recap.as_str()).await
    }

    // ---- enterprise ----

    /// `GET /activity_log_entries`, as a stream of entries.
    pub fn activity_log(&self, filter: ListActivityLog) -> Pages<ActivityLogEntry> {
        self.list("/activity_log_entries", filter.pairs())
    }

    /// `GET /activity_log_entries`, one page with its totals.
    pub async fn activity_log_page(
        &self,
        filter: ListActivityLog,
        page_token: Option<&str>,
    ) -> Result<ActivityLogPage<ActivityLogEntry>> {
        let mut query = filter.pairs();
        query.push(("count", crate::pages::MAX_PAGE_SIZE.to_string()));
        if let Some(t) = page_token {
            query.push(("page_token", t.to_owned()));
        }
        self.transport
            .json(Req::get("/activity_log_entries").query(query))
            .await
    }

    /// `POST /data_compliance/deletion/invitees`: deletes all data of these invitees.
    pub async fn delete_invitee_data(&self, body: &DeleteInviteeData) -> Result<()> {
        if body.emails.is_empty() {
            return Err(Error::InvalidRequest("no emails to delete".into()));
        }
        let req = Req::new(Method::POST, "/data_compliance/deletion/invitees").json(body)?;
        self.transport.empty(req).await
    }

    /// `POST /data_compliance/deletion/events`: deletes scheduled event data in a time range.
    pub async fn delete_event_data(&self, body: &DeleteEventData) -> Result<()> {
        if body.end_time <= body.start_time {
            return Err(Error::InvalidRequest(
                "end_time must be after start_time".into(),
            ));
        }
        let req = Req::new(Method::POST, "/data_compliance/deletion/events").json(body)?;
        self.transport.empty(req).await
    }
}
