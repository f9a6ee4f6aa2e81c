//! Request bodies of Aircall's write operations.

use super::ids::{TagId, TeamId, UserId};
use super::resources::ContactDetail;
use serde::{Deserialize, Serialize};

/// `POST /v1/contacts` and `POST /v1/contacts/{id}` (Aircall updates with POST, not PUT).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContactFields {
    /// First name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Company.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    /// Free-form information.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub information: Option<String>,
    /// Phone numbers (at least one on create).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub phone_numbers: Vec<ContactDetail>,
    /// E-mails.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub emails: Vec<ContactDetail>,
}

/// `POST /v1/calls/{id}/transfers`: to a user, a team, or an external number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Transfer {
    /// To a user.
    User {
        /// The user.
        user_id: UserId,
    },
    /// To a team.
    Team {
        /// The team.
        team_id: TeamId,
        /// `simultaneous`, `random` or `longest_idle`.
        dispatching_strategy: String,
    },
    /// To an external number.
    Number {
        /// The number, international format.
        number: String,
    },
}

/// `POST /v1/calls/{id}/comments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreateComment {
    /// Text.
    pub content: String,
}

impl CreateComment {
    /// A comment.
    pub fn new(content: impl Into<String>) -> Self {
        Self {
            content: content.into(),
        }
    }
}

/// `POST /v1/calls/{id}/tags`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TagCall {
    /// Tag IDs.
    pub tags: Vec<TagId>,
}

impl TagCall {
    /// Tags to add.
    pub fn new(tags: impl IntoIterator<Item = TagId>) -> Self {
        Self {
            tags: tags.into_iter().collect(),
        }
    }
}

/// `POST /v1/numbers/{id}/messages/send`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SendMessage {
    /// Recipient, E.164.
    pub to: String,
    /// Text (at most 1,600 characters).
    pub body: String,
    /// Media URLs (MMS).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub media_url: Vec<String>,
}

impl SendMessage {
    /// A text message.
    pub fn new(to: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            to: to.into(),
            body: body.into(),
            media_url: Vec::new(),
        }
    }
}

crate::setters::option_setters!(ContactFields {
    first_name: String,
    last_name: String,
    company_name: String,
    information: String,
});

impl ContactFields {
    /// Adds a phone number with a label (`Work`, `Mobile`, ...).
    #[must_use]
    pub fn phone(mut self, label: impl Into<String>, number: impl Into<String>) -> Self {
        self.phone_numbers.push(ContactDetail::new(label, number));
        self
    }

    /// Adds an e-mail with a label.
    #[must_use]
    pub fn email(mut self, label: impl Into<String>, email: impl Into<String>) -> Self {
        self.emails.push(ContactDetail::new(label, email));
        self
    }
}
