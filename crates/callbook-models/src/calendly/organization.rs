//! Users, organizations, memberships, invitations and groups.

use super::uri::{
    GroupRelationshipUri, GroupUri, InvitationUri, MembershipUri, OrganizationUri, ResourceUri,
    UserUri,
};
use crate::Timestamp;
use crate::open_enum::open_enum;
use serde::{Deserialize, Serialize};

open_enum! {
    /// A member's role.
    pub enum Role {
        User => "user",
        Admin => "admin",
        Owner => "owner",
    }
}

open_enum! {
    /// State of an invitation.
    pub enum InvitationStatus {
        Pending => "pending",
        Accepted => "accepted",
        Declined => "declined",
    }
}

/// A user: `GET /users/me`, `GET /users/{uuid}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// The user's URI.
    pub uri: UserUri,
    /// Name.
    pub name: String,
    /// URL slug.
    pub slug: Option<String>,
    /// E-mail.
    pub email: String,
    /// Booking page.
    pub scheduling_url: Option<String>,
    /// IANA time zone.
    pub timezone: Option<String>,
    /// Avatar.
    pub avatar_url: Option<String>,
    /// Creation time.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub created_at: Timestamp,
    /// Last update.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub updated_at: Timestamp,
    /// The organization the user currently belongs to.
    pub current_organization: OrganizationUri,
    /// Resource type (`User`).
    pub resource_type: Option<String>,
    /// Language.
    pub locale: Option<String>,
}

/// An organization: `GET /organizations/{uuid}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Organization {
    /// The organization's URI.
    pub uri: OrganizationUri,
    /// Name.
    pub name: Option<String>,
    /// `basic`, `essentials`, `professional`, `teams`, `enterprise`, ...
    pub plan: Option<String>,
    /// `trial`, `free`, `paid`.
    pub stage: Option<String>,
    /// Creation time.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub created_at: Timestamp,
    /// Last update.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub updated_at: Timestamp,
}

/// A membership: `GET /organization_memberships`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrganizationMembership {
    /// The membership's URI.
    pub uri: MembershipUri,
    /// Role.
    pub role: Role,
    /// The member.
    pub user: MembershipUser,
    /// The organization.
    pub organization: OrganizationUri,
    /// Creation time.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub created_at: Timestamp,
    /// Last update.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub updated_at: Timestamp,
}

/// The user embedded in a membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MembershipUser {
    /// The user's URI.
    pub uri: UserUri,
    /// Name.
    pub name: Option<String>,
    /// URL slug.
    pub slug: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Booking page.
    pub scheduling_url: Option<String>,
    /// IANA time zone.
    pub timezone: Option<String>,
    /// Avatar.
    pub avatar_url: Option<String>,
    /// Creation time.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub created_at: Option<Timestamp>,
    /// Last update.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub updated_at: Option<Timestamp>,
}

/// An invitation: `GET /organizations/{uuid}/invitations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrganizationInvitation {
    /// The invitation's URI.
    pub uri: InvitationUri,
    /// The organization.
    pub organization: OrganizationUri,
    /// Invitee e-mail.
    pub email: String,
    /// State.
    pub status: InvitationStatus,
    /// Creation time.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub created_at: Timestamp,
    /// Last update.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub updated_at: Timestamp,
    /// When it was last sent.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub last_sent_at: Option<Timestamp>,
    /// The user, once accepted.
    pub user: Option<UserUri>,
}

/// A group: `GET /groups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Group {
    /// The group's URI.
    pub uri: GroupUri,
    /// Name.
    pub name: String,
    /// The organization.
    pub organization: OrganizationUri,
    /// Number of members.
    pub member_count: Option<u32>,
    /// Creation time.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub created_at: Option<Timestamp>,
    /// Last update.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub updated_at: Option<Timestamp>,
}

/// A user's role in a group: `GET /group_relationships`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GroupRelationship {
    /// The relationship's URI.
    pub uri: GroupRelationshipUri,
    /// `member` or `admin`.
    pub role: String,
    /// The user (or invitation) concerned.
    pub owner: ResourceUri,
    /// The organization.
    pub organization: OrganizationUri,
    /// The group.
    pub group: GroupUri,
    /// Creation time.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub created_at: Option<Timestamp>,
    /// Last update.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub updated_at: Option<Timestamp>,
}
