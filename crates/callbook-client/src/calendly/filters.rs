//! Filters of the list endpoints. Required parameters go to `new`; the rest have setters.
//! Paging (`count`, `page_token`) is handled by [`Pages`](crate::Pages).

use crate::query::query;
pub use crate::query::{Order, Sort};
use callbook_models::Timestamp;
use callbook_models::calendly::{
    EventTypeUri, GroupUri, InvitationStatus, OrganizationUri, Role, RoutingFormUri,
    ScheduledEventUri, Scope, Status, UserUri,
};

query! {
    /// `GET /scheduled_events`. Pass `user` alone for the caller's own events; an admin
    /// listing someone else's must also pass `organization`.
    ListScheduledEvents {
        /// Events of this user.
        user: UserUri,
        /// Events of this organization.
        organization: OrganizationUri,
        /// Events of this group.
        group: GroupUri,
        /// Events with an invitee of this email.
        invitee_email: String,
        /// `active` or `canceled`.
        status: Status,
        /// `start_time:asc` or `start_time:desc`.
        sort: Sort,
        /// Events starting at or after this time.
        min_start_time: Timestamp,
        /// Events starting before this time.
        max_start_time: Timestamp,
    }
}

query! {
    /// `GET /scheduled_events/{uuid}/invitees`.
    ListInvitees {
        /// `active` or `canceled`.
        status: Status,
        /// `created_at:asc` (default) or `created_at:desc`.
        sort: Sort,
        /// Invitees with this email.
        email: String,
    }
}

query! {
    /// `GET /event_types`: give `user` or `organization`.
    ListEventTypes {
        /// Only active (or inactive) event types.
        active: bool,
        /// Event types of this organization.
        organization: OrganizationUri,
        /// Event types of this user.
        user: UserUri,
        /// Event types using this availability schedule.
        user_availability_schedule: String,
        /// `name:asc` (default), `position`, `created_at`, `updated_at`.
        sort: Sort,
        /// Only admin-managed event types.
        admin_managed: bool,
    }
}

query! {
    /// `GET /organization_memberships`.
    ListMemberships {
        /// Memberships of this organization.
        organization: OrganizationUri,
        /// Memberships of this user.
        user: UserUri,
        /// Memberships of this email.
        email: String,
        /// `owner`, `admin` or `user`.
        role: Role,
    }
}

query! {
    /// `GET /organizations/{uuid}/invitations`.
    ListInvitations {
        /// Invitations to this email.
        email: String,
        /// `pending`, `accepted` or `declined`.
        status: InvitationStatus,
        /// `created_at:asc` (default) or `created_at:desc`.
        sort: Sort,
    }
}

query! {
    /// `GET /groups`.
    ListGroups {
        @required organization: OrganizationUri,
    }
}

query! {
    /// `GET /group_relationships`.
    ListGroupRelationships {
        /// Relationships in this organization.
        organization: OrganizationUri,
        /// Relationships of this owner (a user or membership URI).
        owner: String,
        /// Relationships to this group.
        group: GroupUri,
    }
}

query! {
    /// `GET /webhook_subscriptions`: the scope and organization are required; user scope needs
    /// `user`, group scope needs `group`.
    ListWebhookSubscriptions {
        @required organization: OrganizationUri,
        @required scope: Scope,
        /// Subscriptions of this user (user scope).
        user: UserUri,
        /// Subscriptions of this group (group scope).
        group: GroupUri,
        /// `created_at:asc` or `created_at:desc`.
        sort: Sort,
    }
}

query! {
    /// `GET /routing_forms`.
    ListRoutingForms {
        @required organization: OrganizationUri,
        /// `created_at:asc` or `created_at:desc`.
        sort: Sort,
    }
}

query! {
    /// `GET /routing_form_submissions`.
    ListRoutingFormSubmissions {
        @required form: RoutingFormUri,
        /// `created_at:asc` or `created_at:desc`.
        sort: Sort,
    }
}

query! {
    /// `GET /meeting_recaps`.
    ListMeetingRecaps {
        /// Recaps of this scheduled event.
        event: ScheduledEventUri,
        /// Recaps of meetings starting at or after this time.
        start_time: Timestamp,
        /// Recaps of meetings starting before this time.
        end_time: Timestamp,
        /// `available`, `processing` or `unavailable`.
        status: String,
        /// Recaps with this attendee (email).
        attendee: String,
    }
}

query! {
    /// `GET /activity_log_entries` (Enterprise).
    ListActivityLog {
        @required organization: OrganizationUri,
        /// Search (`|` for or, `+` for and).
        search_term: String,
        /// Entries by these users.
        actor: Vec<String>,
        /// Sort keys such as `occurred_at:desc`.
        sort: Vec<Sort>,
        /// Entries at or after this time.
        min_occurred_at: Timestamp,
        /// Entries before this time.
        max_occurred_at: Timestamp,
        /// Categories.
        namespace: Vec<String>,
        /// Actions.
        action: Vec<String>,
    }
}

query! {
    /// `GET /event_type_available_times`: at most 7 days per request.
    AvailableTimesQuery {
        @required event_type: EventTypeUri,
        @required start_time: Timestamp,
        @required end_time: Timestamp,
    }
}

query! {
    /// `GET /user_busy_times`: at most 7 days per request.
    BusyTimesQuery {
        @required user: UserUri,
        @required start_time: Timestamp,
        @required end_time: Timestamp,
    }
}

query! {
    /// `GET /sample_webhook_data`.
    SampleWebhookQuery {
        @required event: String,
        @required organization: OrganizationUri,
        @required scope: Scope,
        /// For user scope.
        user: UserUri,
        /// For group scope.
        group: GroupUri,
    }
}
