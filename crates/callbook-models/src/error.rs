//! The crate's error type.

/// What can go wrong when building a model value from a string.
///
/// Parsing JSON reports through `serde_json::Error`; this covers the constructors
/// (`FromStr`, `TryFrom`) of typed identifiers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A string is not a URI of the expected kind.
    #[error("invalid {kind} URI {uri:?}: {reason}")]
    InvalidUri {
        /// The kind of URI expected, such as `user`.
        kind: &'static str,
        /// The rejected input.
        uri: String,
        /// Why it was rejected.
        reason: &'static str,
    },
}
