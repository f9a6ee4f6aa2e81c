//! Webhook subscriptions: `POST/GET/DELETE /webhook_subscriptions`.

use super::uri::{GroupUri, OrganizationUri, UserUri, WebhookSubscriptionUri};
use super::webhook::EventName;
use crate::Timestamp;
use crate::open_enum::open_enum;
use serde::{Deserialize, Serialize};

open_enum! {
    /// Whether Calendly still delivers to a subscription.
    pub enum SubscriptionState {
        Active => "active",
        Disabled => "disabled",
    }
}

open_enum! {
    /// Whose events a subscription receives.
    pub enum Scope {
        Organization => "organization",
        User => "user",
        Group => "group",
    }
}

/// A webhook subscription. Calendly never returns its signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WebhookSubscription {
    /// The subscription's URI.
    pub uri: WebhookSubscriptionUri,
    /// Where events are sent.
    pub callback_url: String,
    /// Creation time.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub created_at: Timestamp,
    /// Last update.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub updated_at: Timestamp,
    /// When Calendly started retrying failed deliveries, if it is.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub retry_started_at: Option<Timestamp>,
    /// Active or disabled.
    pub state: SubscriptionState,
    /// Subscribed events.
    #[serde(default)]
    pub events: Vec<EventName>,
    /// Organization, user or group.
    pub scope: Scope,
    /// The organization.
    pub organization: OrganizationUri,
    /// The user, for user scope.
    pub user: Option<UserUri>,
    /// The group, for group scope.
    pub group: Option<GroupUri>,
    /// Who created it.
    pub creator: Option<UserUri>,
}

/// Body of `POST /webhook_subscriptions`.
///
/// `signing_key` is write-only at Calendly: keep it, it cannot be read back. Its `Debug` output
/// is redacted.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreateWebhookSubscription {
    /// Callback URL (must be public, and distinct per user within an organization).
    pub url: String,
    /// Events to receive (at least one).
    pub events: Vec<EventName>,
    /// The organization (required for every scope).
    pub organization: OrganizationUri,
    /// Scope.
    pub scope: Scope,
    /// Required for user scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserUri>,
    /// Required for group scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupUri>,
    /// Key Calendly signs deliveries with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<String>,
}

impl CreateWebhookSubscription {
    /// A request for the given URL, events, organization and scope.
    pub fn new(
        url: impl Into<String>,
        events: Vec<EventName>,
        organization: OrganizationUri,
        scope: Scope,
    ) -> Self {
        Self {
            url: url.into(),
            events,
            organization,
            scope,
            user: None,
            group: None,
            signing_key: None,
        }
    }

    /// Sets the user (user scope).
    pub fn user(mut self, user: UserUri) -> Self {
        self.user = Some(user);
        self
    }

    /// Sets the group (group scope).
    pub fn group(mut self, group: GroupUri) -> Self {
        self.group = Some(group);
        self
    }

    /// Sets the signing key.
    pub fn signing_key(mut self, key: impl Into<String>) -> Self {
        self.signing_key = Some(key.into());
        self
    }
}

impl std::fmt::Debug for CreateWebhookSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateWebhookSubscription")
            .field("url", &self.url)
            .field("events", &self.events)
            .field("organization", &self.organization)
            .field("scope", &self.scope)
            .field("user", &self.user)
            .field("group", &self.group)
            .field(
                "signing_key",
                &self.signing_key.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}
