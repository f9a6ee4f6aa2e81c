//! The crate's error type.

/// Why a delivery was not verified.
///
/// Messages say what was wrong and never contain key material, tokens or the expected
/// signature. [`Error::code`] gives a stable machine-readable code for HTTP responses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A required header is absent.
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// A signature header could not be parsed.
    #[error("malformed {header} header: {reason}")]
    MalformedHeader {
        /// The header.
        header: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The signed timestamp is not a plausible UNIX time.
    #[error("invalid timestamp: {reason}")]
    InvalidTimestamp {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The signed timestamp is older than the tolerance allows.
    #[error("timestamp is too old: {age_secs} s old, tolerance is {tolerance_secs} s")]
    TimestampTooOld {
        /// How old it is.
        age_secs: u64,
        /// The configured tolerance.
        tolerance_secs: u64,
    },
    /// The signed timestamp is further in the future than the tolerance allows.
    #[error("timestamp is too new: {ahead_secs} s in the future, tolerance is {tolerance_secs} s")]
    TimestampTooNew {
        /// How far ahead it is.
        ahead_secs: u64,
        /// The configured tolerance.
        tolerance_secs: u64,
    },
    /// The header is well formed but no signature matches any key.
    #[error("no signature matches the body with any configured key")]
    SignatureMismatch,
    /// The body has no top-level `token` field.
    #[error("body has no top-level \"token\" field")]
    MissingToken,
    /// The body's `token` is not a string.
    #[error("body's \"token\" field is not a string")]
    TokenNotString,
    /// The body is not valid JSON (the position is given, never the content).
    #[error("body is not valid JSON (line {line}, column {column})")]
    InvalidJson {
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
    },
    /// The body's token matches none of the configured tokens.
    #[error("token does not match any configured token")]
    TokenMismatch,
    /// A configured key or secret is unusable.
    #[error("invalid secret: {reason}")]
    InvalidSecret {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A verifier was built without any key.
    #[error("no key configured")]
    NoKeys,
    /// The delivery is genuine but its body does not parse as the requested type
    /// (`construct_event`). serde's message is kept: the sender is authenticated by now, and an
    /// Aircall token never reaches the parser.
    #[error("verified body does not parse: {message}")]
    InvalidPayload {
        /// serde's description, with line and column.
        message: String,
    },
}

impl Error {
    /// Whether the delivery was verified and only its body failed to parse as the requested
    /// type: a receiver should keep such a body rather than answer 401.
    pub fn is_payload(&self) -> bool {
        matches!(self, Self::InvalidPayload { .. })
    }

    /// A stable, machine-readable code: `missing_header`, `malformed_header`,
    /// `invalid_timestamp`, `timestamp_out_of_tolerance`, `signature_mismatch`,
    /// `missing_token`, `invalid_token`, `invalid_json`, `token_mismatch`, `invalid_secret`,
    /// `no_keys`, `invalid_payload`.
    ///
    /// Every code but `invalid_payload` means the delivery was not verified.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingHeader(_) => "missing_header",
            Self::MalformedHeader { .. } => "malformed_header",
            Self::InvalidTimestamp { .. } => "invalid_timestamp",
            Self::TimestampTooOld { .. } | Self::TimestampTooNew { .. } => {
                "timestamp_out_of_tolerance"
            }
            Self::SignatureMismatch => "signature_mismatch",
            Self::MissingToken => "missing_token",
            Self::TokenNotString => "invalid_token",
            Self::InvalidJson { .. } => "invalid_json",
            Self::TokenMismatch => "token_mismatch",
            Self::InvalidSecret { .. } => "invalid_secret",
            Self::NoKeys => "no_keys",
            Self::InvalidPayload { .. } => "invalid_payload",
        }
    }
}
