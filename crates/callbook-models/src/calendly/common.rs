//! Shapes shared by many Calendly resources: the response wrappers, pagination, errors,
//! tracking parameters and question answers.

use serde::{Deserialize, Serialize};

/// A single-resource response: `{"resource": T}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Resource<T> {
    /// The resource.
    pub resource: T,
}

impl<T> Resource<T> {
    /// Wraps a resource.
    pub fn new(resource: T) -> Self {
        Self { resource }
    }
}

/// One page of a list: `{"collection": [T], "pagination": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items of this page.
    pub collection: Vec<T>,
    /// Where the next and previous pages are.
    pub pagination: Pagination,
}

impl<T> Page<T> {
    /// A page of items.
    pub fn new(collection: Vec<T>, pagination: Pagination) -> Self {
        Self {
            collection,
            pagination,
        }
    }
}

/// Keyset pagination. Follow `next_page_token` (not `next_page`, whose host varies) with the
/// same filters until it is `null`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Pagination {
    /// Items on this page.
    #[serde(default)]
    pub count: u32,
    /// URL of the next page.
    pub next_page: Option<String>,
    /// URL of the previous page.
    pub previous_page: Option<String>,
    /// Opaque token for the next page.
    pub next_page_token: Option<String>,
    /// Opaque token for the previous page.
    pub previous_page_token: Option<String>,
}

/// The activity log adds totals to its pages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ActivityLogPage<T> {
    /// The entries of this page.
    pub collection: Vec<T>,
    /// Where the next and previous pages are.
    pub pagination: Pagination,
    /// Number of entries matching the filters.
    pub total_count: Option<u64>,
    /// Whether the total was capped.
    pub exceeds_max_total_count: Option<bool>,
    /// Time of the latest entry.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub last_event_time: Option<crate::Timestamp>,
}

/// An error body: `{title, message, details[], required_scopes}`.
///
/// `title` is free text (Calendly's spec cross-wires its enums); key behaviour on the HTTP
/// status instead.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorBody {
    /// Short title, such as `Invalid Argument`.
    #[serde(default)]
    pub title: String,
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
    /// Per-parameter problems.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<ErrorDetail>,
    /// Scopes the operation needs (on `403 Insufficient scope`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_scopes: Vec<String>,
}

/// One entry of [`ErrorBody::details`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorDetail {
    /// The offending parameter.
    pub parameter: Option<String>,
    /// What is wrong with it.
    #[serde(default)]
    pub message: String,
    /// A machine-readable code.
    pub code: Option<String>,
}

/// UTM and Salesforce tracking parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Tracking {
    /// `utm_campaign`
    pub utm_campaign: Option<String>,
    /// `utm_source`
    pub utm_source: Option<String>,
    /// `utm_medium`
    pub utm_medium: Option<String>,
    /// `utm_content`
    pub utm_content: Option<String>,
    /// `utm_term`
    pub utm_term: Option<String>,
    /// Salesforce record UUID.
    pub salesforce_uuid: Option<String>,
}

/// An invitee's answer to a booking question. Checkbox answers arrive as one
/// newline-joined string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QuestionAndAnswer {
    /// The question as shown.
    pub question: String,
    /// The answer as given.
    #[serde(default)]
    pub answer: String,
    /// The question's position on the form.
    #[serde(default)]
    pub position: u32,
}

impl QuestionAndAnswer {
    /// A question with its answer.
    pub fn new(question: impl Into<String>, answer: impl Into<String>, position: u32) -> Self {
        Self {
            question: question.into(),
            answer: answer.into(),
            position,
        }
    }
}
