//! What can go wrong in the management plane, in terms the HTTP layer maps to statuses.

use std::time::Duration;

/// A management failure; every message is fit for the caller.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field is missing or wrong; `field` names it.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// No valid session or token.
    #[error("{0}")]
    Unauthenticated(String),
    /// Signed in, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// The thing does not exist for this caller (or at all).
    #[error("no such {0}")]
    NotFound(&'static str),
    /// A uniqueness or state rule was broken.
    #[error("{0}")]
    Conflict(String),
    /// The account's email address is not verified yet.
    #[error("verify your email address first: follow the link we sent you")]
    EmailNotVerified,
    /// Too many attempts; retry later.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after: Duration,
    },
    /// A mutating request came without the session's CSRF token.
    #[error("the request is missing its `x-csrf-token` header")]
    CsrfMismatch,
    /// The address's organisation requires single sign-on through `provider`.
    #[error("your organisation requires single sign-on: sign in with {display_name}")]
    SsoRequired {
        provider: String,
        display_name: String,
    },
    /// A partner's domain proof is missing or wrong, or could not be read; the message says
    /// which and what to publish.
    #[error("{0}")]
    DomainNotVerified(String),
    /// A feature the installation is not set up for.
    #[error("{0}")]
    Unavailable(String),
    /// The store or mailer failed.
    #[error("the request could not be completed")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// Maps a store failure, naming what was not found (another tenant's resource included).
    pub(crate) fn missing(what: &'static str) -> impl Fn(store::Error) -> Error {
        move |e| match e {
            store::Error::NotFound => Error::NotFound(what),
            other => other.into(),
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

impl From<store::Error> for Error {
    fn from(e: store::Error) -> Self {
        match e {
            store::Error::NotFound => Error::NotFound("resource"),
            store::Error::Conflict(message) => Error::Conflict(message),
            other => Error::Internal(Box::new(other)),
        }
    }
}
