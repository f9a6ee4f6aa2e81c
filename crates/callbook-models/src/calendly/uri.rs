//! Typed Calendly resource URIs.
//!
//! Calendly identifies every resource by a full URI such as
//! `https://api.calendly.com/users/AAAAAAAAAAAAAAAA`. Some of its own examples use the
//! `https://calendly.com/...` host instead, so the host is not checked: a URI is accepted when
//! it is `http(s)://host/.../{collection}/{uuid}`. The UUID is the last path segment.

use crate::Error;
use std::fmt;

/// Checks the shape `http(s)://host/.../{collection}/{id}`. Every URI of every webhook goes
/// through here, so it is one pass over the bytes rather than a chain of string splits.
fn validate(kind: &'static str, collection: &str, uri: &str) -> Result<(), Error> {
    let err = |reason| Error::InvalidUri {
        kind,
        uri: uri.to_owned(),
        reason,
    };
    let b = uri.as_bytes();
    let rest = b
        .strip_prefix(b"https://")
        .or_else(|| b.strip_prefix(b"http://"))
        .ok_or_else(|| err("must start with https://"))?;
    let slash = rest
        .iter()
        .position(|&c| c == b'/')
        .ok_or_else(|| err("has no path"))?;
    if slash == 0 {
        return Err(err("has no host"));
    }
    let path = &rest[slash + 1..];
    let path = &path[..path
        .iter()
        .position(|&c| c == b'?' || c == b'#')
        .unwrap_or(path.len())];
    let (parent, id) = match path.iter().rposition(|&c| c == b'/') {
        Some(i) => (Some(&path[..i]), &path[i + 1..]),
        None => (None, path),
    };
    if id.is_empty()
        || !id
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    {
        return Err(err("does not end in an identifier"));
    }
    // `collection` may list alternatives separated by `|`.
    if !collection.is_empty() {
        let segment = parent.map(|p| &p[p.iter().rposition(|&c| c == b'/').map_or(0, |i| i + 1)..]);
        if !segment.is_some_and(|seg| collection.split('|').any(|c| c.as_bytes() == seg)) {
            return Err(err("names another kind of resource"));
        }
    }
    Ok(())
}

/// The last path segment of an already validated URI.
fn last_segment(uri: &str) -> &str {
    let path = uri.split(['?', '#']).next().unwrap_or(uri);
    path.rsplit('/').next().unwrap_or(path)
}

macro_rules! calendly_uri {
    ($(#[$meta:meta])* $name:ident, $kind:literal, $collection:literal) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Parses and lightly validates a URI.
            pub fn parse(uri: impl Into<String>) -> Result<Self, Error> {
                let uri = uri.into();
                validate($kind, $collection, &uri)?;
                Ok(Self(uri))
            }

            /// The URI as received.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The resource's UUID: the last path segment.
            pub fn uuid(&self) -> &str {
                last_segment(&self.0)
            }

            /// The URI, consuming `self`.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<Self, Error> {
                Self::parse(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Error;
            fn try_from(s: &str) -> Result<Self, Error> {
                Self::parse(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!("a Calendly ", $kind, " URI"))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        validate($kind, $collection, v).map_err(E::custom)?;
                        Ok($name(v.to_owned()))
                    }
                    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<$name, E> {
                        validate($kind, $collection, &v).map_err(E::custom)?;
                        Ok($name(v))
                    }
                }
                d.deserialize_string(V)
            }
        }
    };
}

calendly_uri!(
    /// Any Calendly resource URI, when the kind varies (a profile owner is a user or a team).
    ResourceUri, "resource", ""
);
calendly_uri!(/// `…/users/{uuid}`
    UserUri, "user", "users");
calendly_uri!(/// `…/organizations/{uuid}`
    OrganizationUri, "organization", "organizations");
calendly_uri!(/// `…/organization_memberships/{uuid}`
    MembershipUri, "organization membership", "organization_memberships");
calendly_uri!(/// `…/organizations/{org}/invitations/{uuid}`
    InvitationUri, "invitation", "invitations");
calendly_uri!(/// `…/groups/{uuid}`
    GroupUri, "group", "groups");
calendly_uri!(/// `…/group_relationships/{uuid}`
    GroupRelationshipUri, "group relationship", "group_relationships");
calendly_uri!(/// `…/event_types/{uuid}`
    EventTypeUri, "event type", "event_types");
calendly_uri!(/// `…/scheduled_events/{uuid}`
    ScheduledEventUri, "scheduled event", "scheduled_events");
calendly_uri!(/// `…/user_availability_schedules/{uuid}` (Calendly's own examples also use the
    /// singular `user_availability_schedule`).
    AvailabilityScheduleUri, "availability schedule",
    "user_availability_schedules|user_availability_schedule");
calendly_uri!(/// `…/invitee_no_shows/{uuid}`
    NoShowUri, "no-show", "invitee_no_shows");
calendly_uri!(/// `…/routing_forms/{uuid}`
    RoutingFormUri, "routing form", "routing_forms");
calendly_uri!(/// `…/routing_form_submissions/{uuid}`
    RoutingFormSubmissionUri, "routing form submission", "routing_form_submissions");
calendly_uri!(/// `…/webhook_subscriptions/{uuid}`
    WebhookSubscriptionUri, "webhook subscription", "webhook_subscriptions");
calendly_uri!(/// `…/contacts/{uuid}`
    ContactUri, "contact", "contacts");
calendly_uri!(/// `…/meeting_recaps/{uuid}`
    MeetingRecapUri, "meeting recap", "meeting_recaps");
calendly_uri!(/// `…/activity_log_entries/{uuid}`
    ActivityLogEntryUri, "activity log entry", "activity_log_entries");
calendly_uri!(/// `…/scheduled_events/{event}/invitees/{uuid}`
    InviteeUri, "invitee", "invitees");

impl InviteeUri {
    /// The UUID of the scheduled event this invitee belongs to.
    pub fn event_uuid(&self) -> Option<&str> {
        let path = self.0.split(['?', '#']).next().unwrap_or(&self.0);
        let mut segments = path.rsplit('/').skip(2);
        let event = segments.next()?;
        (segments.next() == Some("scheduled_events")).then_some(event)
    }

    /// The scheduled event this invitee belongs to.
    pub fn event(&self) -> Option<ScheduledEventUri> {
        let end = self.0.find("/invitees/")?;
        ScheduledEventUri::parse(&self.0[..end]).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_both_hosts_and_yields_uuid() {
        let api = UserUri::parse("https://api.calendly.com/users/AAAA").unwrap();
        let web = UserUri::parse("https://calendly.com/users/BBBB").unwrap();
        assert_eq!(api.uuid(), "AAAA");
        assert_eq!(web.uuid(), "BBBB");
    }

    #[test]
    fn rejects_other_kinds_and_non_uris() {
        assert!(UserUri::parse("https://api.calendly.com/organizations/AAAA").is_err());
        assert!(UserUri::parse("AAAA").is_err());
        assert!(UserUri::parse("https://api.calendly.com/users/").is_err());
        assert!(UserUri::parse("ftp://api.calendly.com/users/AAAA").is_err());
        assert!(UserUri::parse("https:///users/AAAA").is_err());
        assert!(UserUri::parse("https://api.calendly.com").is_err());
        assert!(UserUri::parse("https://api.calendly.com/AAAA").is_err());
        assert!(UserUri::parse("https://api.calendly.com/users/AA%2FA").is_err());
    }

    #[test]
    fn query_and_fragment_are_not_part_of_the_uuid() {
        let uri = UserUri::parse("https://api.calendly.com/users/AAAA?x=/y#z").unwrap();
        assert_eq!(uri.uuid(), "AAAA");
        assert!(UserUri::parse("http://localhost:8080/v2/users/A-b_1#frag").is_ok());
        assert!(UserUri::parse("https://api.calendly.com/users/?x=AAAA").is_err());
    }

    #[test]
    fn collections_may_have_alternative_names() {
        for path in ["user_availability_schedules", "user_availability_schedule"] {
            let uri = format!("https://api.calendly.com/{path}/AAAA");
            assert!(AvailabilityScheduleUri::parse(uri).is_ok(), "{path}");
        }
        assert!(AvailabilityScheduleUri::parse("https://api.calendly.com/user/AAAA").is_err());
    }

    #[test]
    fn invitee_uri_knows_its_event() {
        let uri =
            InviteeUri::parse("https://api.calendly.com/scheduled_events/EVENT1/invitees/INVITEE1")
                .unwrap();
        assert_eq!(uri.uuid(), "INVITEE1");
        assert_eq!(uri.event_uuid(), Some("EVENT1"));
        assert_eq!(uri.event().unwrap().uuid(), "EVENT1");
    }

    #[test]
    fn error_names_kind_and_input() {
        let err = EventTypeUri::parse("https://api.calendly.com/users/X").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("event type"), "{msg}");
        assert!(msg.contains("/users/X"), "{msg}");
    }
}
