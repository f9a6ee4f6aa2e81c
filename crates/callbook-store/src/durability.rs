//! How much a committed write survives: shared by the backends and [`crate::OpenOptions`].

/// How much a committed write survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// Survives a crash or `kill -9` of the process (WAL, `synchronous=NORMAL`): the commit
    /// is in the operating system before the insert returns. The default.
    #[default]
    Process,
    /// Also survives power loss (`synchronous=FULL`): every commit is fsynced. Group commit
    /// keeps this to one fsync per batch, not per event.
    PowerLoss,
}
