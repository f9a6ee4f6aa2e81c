//! The crate's error type.

/// What can go wrong setting up or running a recipe.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration of a recipe or of the APIs it uses is wrong.
    #[error("{0}")]
    Config(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] callbook_store::Error),
    /// A provider's API failed.
    #[error(transparent)]
    Api(#[from] callbook_client::Error),
}
