//! The one error type of every storage port: only what callers branch on.

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; the message says which, in words fit for a client.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database could not be reached; the caller may retry later.
    #[error("storage unavailable")]
    Unavailable(#[source] BoxError),
    #[error("storage error")]
    Other(#[source] BoxError),
}
