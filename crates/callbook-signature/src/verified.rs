//! The one shape every verifier returns.

/// What a verifier established about a delivery: which configured key or token matched and,
/// for schemes that sign one, the signed timestamp. `construct_event` also carries the parsed
/// event in [`Verified::event`]; plain `verify` leaves it `()`.
///
/// ```
/// use callbook_signature::{calendly, FixedClock};
///
/// let body = br#"{"event":"invitee.created","payload":{}}"#;
/// let headers = [(calendly::HEADER, calendly::sign(b"key", 1_700_000_000, body))];
/// let verifier = calendly::Verifier::new(["old-key", "key"])?.clock(FixedClock(1_700_000_000));
///
/// let verified = verifier.construct_event::<serde_json::Value>(&headers, body)?;
/// assert_eq!(verified.key_index, 1);
/// assert_eq!(verified.timestamp, Some(1_700_000_000));
/// assert_eq!(verified.event["event"], "invitee.created");
/// # Ok::<(), callbook_signature::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Verified<T = ()> {
    /// Index of the configured key (Calendly, Standard Webhooks) or token (Aircall) that
    /// matched: with one token per Aircall account, it tells which account sent the event.
    pub key_index: usize,
    /// The signed UNIX timestamp; `None` for Aircall, whose deliveries carry no signed time.
    pub timestamp: Option<i64>,
    /// The parsed event (`()` from `verify`).
    pub event: T,
}

impl<T> Verified<T> {
    /// The parsed event, dropping the verification details.
    pub fn into_event(self) -> T {
        self.event
    }

    /// The event and the verification details apart.
    pub fn split(self) -> (T, Verified) {
        let details = Verified::new(self.key_index, self.timestamp);
        (self.event, details)
    }

    /// The same verification details with another event.
    pub fn with_event<U>(self, event: U) -> Verified<U> {
        Verified {
            key_index: self.key_index,
            timestamp: self.timestamp,
            event,
        }
    }
}

impl Verified {
    pub(crate) fn new(key_index: usize, timestamp: Option<i64>) -> Self {
        Self {
            key_index,
            timestamp,
            event: (),
        }
    }
}

/// Parses a verified body, keeping serde's message: the sender is authenticated by now.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, crate::Error> {
    serde_json::from_slice(body).map_err(payload_error)
}

pub(crate) fn payload_error(e: serde_json::Error) -> crate::Error {
    crate::Error::InvalidPayload {
        message: e.to_string(),
    }
}
