//! Busy times and availability schedules.

use super::uri::{AvailabilityScheduleUri, UserUri};
use crate::Timestamp;
use serde::{Deserialize, Serialize};

/// A busy slot of a user: `GET /user_busy_times`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserBusyTime {
    /// `calendly` or `external`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Start.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub start_time: Timestamp,
    /// End.
    #[serde(deserialize_with = "crate::time::rfc3339::deserialize")]
    pub end_time: Timestamp,
    /// Start including buffers.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub buffered_start_time: Option<Timestamp>,
    /// End including buffers.
    #[serde(default, deserialize_with = "crate::time::rfc3339::option")]
    pub buffered_end_time: Option<Timestamp>,
    /// The Calendly event occupying the slot.
    pub event: Option<BusyEvent>,
}

/// The event behind a Calendly busy slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BusyEvent {
    /// The scheduled event's URI.
    pub uri: String,
}

/// A user's availability schedule: `GET /user_availability_schedules`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AvailabilitySchedule {
    /// The schedule's URI.
    pub uri: AvailabilityScheduleUri,
    /// Whether this is the user's default schedule.
    #[serde(default)]
    pub default: bool,
    /// Name.
    pub name: String,
    /// Owner.
    pub user: UserUri,
    /// IANA time zone of the rules.
    pub timezone: String,
    /// Weekly and date-specific rules.
    #[serde(default)]
    pub rules: Vec<AvailabilityRule>,
}

/// One rule: a weekday's hours, or a specific date's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AvailabilityRule {
    /// `wday` or `date`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Open intervals (empty means unavailable).
    #[serde(default)]
    pub intervals: Vec<Interval>,
    /// Weekday, for `wday` rules.
    pub wday: Option<String>,
    /// Date (`YYYY-MM-DD`), for `date` rules.
    pub date: Option<String>,
}

/// An interval of local time, `HH:MM` to `HH:MM`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Interval {
    /// From.
    pub from: String,
    /// To.
    pub to: String,
}
