//! The console's People page: a person's Calendly meetings and Aircall calls as one timeline.
//! The directory belongs to callbook-recipes, which implements [`PeopleDirectory`] and hands it
//! to [`crate::Server::people`]; without one the page says the directory is off.

use chrono::{DateTime, Utc};

/// Looks a person up by what an operator typed (an e-mail or a phone number).
///
/// ```
/// use callbook_server::{PeopleDirectory, PersonPage, TimelineEntry, TimelineKind, async_trait};
///
/// struct Fixed;
///
/// #[async_trait]
/// impl PeopleDirectory for Fixed {
///     async fn person(&self, query: &str) -> Result<Option<PersonPage>, String> {
///         let mut page = PersonPage::default();
///         page.email = Some(query.to_owned());
///         page.timeline.push(TimelineEntry::new(
///             chrono::Utc::now(),
///             TimelineKind::Meeting,
///             "Discovery call",
///             "active",
///         ));
///         Ok(Some(page))
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait PeopleDirectory: Send + Sync + 'static {
    /// The person `query` names; `Ok(None)` when the directory knows nothing of them, `Err`
    /// with a message for the operator when the query is neither an e-mail nor a phone.
    async fn person(&self, query: &str) -> Result<Option<PersonPage>, String>;
}

/// What the People page shows of one person.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct PersonPage {
    /// The newest name they booked under.
    pub name: Option<String>,
    /// Their e-mail.
    pub email: Option<String>,
    /// Their phone, E.164.
    pub phone: Option<String>,
    /// Their IANA time zone.
    pub timezone: Option<String>,
    /// Meetings and calls, newest first.
    pub timeline: Vec<TimelineEntry>,
    /// Lines of the insight card a call from them would get now.
    pub card: Vec<String>,
}

/// A meeting or a call on a person's timeline.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TimelineEntry {
    /// When it starts or started.
    pub at: DateTime<Utc>,
    /// A meeting or a call.
    pub kind: TimelineKind,
    /// "Discovery call", "Missed inbound call".
    pub title: String,
    /// Its state and particulars.
    pub detail: String,
}

impl TimelineEntry {
    /// An entry.
    pub fn new(
        at: DateTime<Utc>,
        kind: TimelineKind,
        title: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            at,
            kind,
            title: title.into(),
            detail: detail.into(),
        }
    }
}

/// What a timeline entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimelineKind {
    /// A Calendly meeting.
    Meeting,
    /// An Aircall call.
    Call,
}
