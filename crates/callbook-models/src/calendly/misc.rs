//! Scheduling links, the activity log, and OAuth token responses.

use super::uri::{ActivityLogEntryUri, OrganizationUri, UserUri};
use crate::Timestamp;
use serde::{Deserialize, Serialize};

/// A single-use booking link: `POST /scheduling_links`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SchedulingLink {
    /// The link to share.
    pub booking_url: String,
    /// The event type it books.
    pub owner: String,
    /// `EventType`.
    pub owner_type: String,
}

/// An entry of the audit log: `GET /activity_log_entries` (Enterprise).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ActivityLogEntry {
    /// The entry's URI.
    pub uri: ActivityLogEntryUri,
    /// When it happened.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub occurred_at: Timestamp,
    /// Who did it.
    pub actor: Option<Actor>,
    /// Action-specific details.
    #[serde(default)]
    pub details: serde_json::Value,
    /// `Namespace.Action`.
    pub fully_qualified_name: String,
    /// Namespace, such as `User`.
    pub namespace: String,
    /// Action, such as `Add`.
    pub action: String,
    /// The organization.
    pub organization: OrganizationUri,
}

/// Who performed a logged action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Actor {
    /// The actor's URI.
    pub uri: Option<String>,
    /// `User`, `Client`, ...
    #[serde(rename = "type")]
    pub type_: String,
    /// The actor's organization and role.
    pub organization: Option<serde_json::Value>,
    /// The actor's group.
    pub group: Option<serde_json::Value>,
    /// Name shown.
    pub display_name: Option<String>,
    /// E-mail or other identifier.
    pub alternative_identifier: Option<String>,
}

/// The response of `POST https://auth.calendly.com/oauth/token`.
///
/// Holds live credentials: its `Debug` output is redacted.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OAuthToken {
    /// `Bearer`.
    pub token_type: String,
    /// The access token (valid two hours).
    pub access_token: String,
    /// The single-use refresh token.
    pub refresh_token: Option<String>,
    /// Granted scopes.
    pub scope: Option<String>,
    /// Issue time, UNIX seconds.
    pub created_at: Option<i64>,
    /// Lifetime in seconds.
    pub expires_in: Option<i64>,
    /// The authorizing user.
    pub owner: Option<UserUri>,
    /// The user's organization.
    pub organization: Option<OrganizationUri>,
}

impl std::fmt::Debug for OAuthToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthToken")
            .field("token_type", &self.token_type)
            .field("access_token", &"[redacted]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("scope", &self.scope)
            .field("created_at", &self.created_at)
            .field("expires_in", &self.expires_in)
            .field("owner", &self.owner)
            .field("organization", &self.organization)
            .finish()
    }
}
