//! What can go wrong talking to an upstream, classified by who is at fault and whether a retry
//! elsewhere could help.

use std::time::Duration;

/// The closed set of upstream failure kinds; `gateway` maps each to a client-facing error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderErrorKind {
    /// The upstream rejected the caller's input (400, 409, 413, 422): the caller can fix it.
    InvalidRequest,
    /// The prompt does not fit the model's context window.
    ContextLengthExceeded,
    /// The gateway's credentials for the upstream were refused (401, 403).
    Auth,
    /// The upstream does not know the configured model or path (404).
    NotFound,
    /// The upstream rate-limited us (429).
    RateLimited,
    /// The upstream is overloaded (503, 529, Anthropic's `overloaded_error`).
    Overloaded,
    /// Any other 5xx.
    Upstream5xx,
    /// No answer in time (first byte, idle or total).
    Timeout,
    /// The connection could not be made or broke.
    Connect,
    /// The upstream answered with something unparseable.
    Decode,
    /// This provider cannot serve this kind of request (for example embeddings on Anthropic).
    Unsupported,
}

impl ProviderErrorKind {
    /// Whether another attempt (or another deployment) could succeed where this one failed.
    pub fn is_retryable(self) -> bool {
        match self {
            ProviderErrorKind::RateLimited
            | ProviderErrorKind::Overloaded
            | ProviderErrorKind::Upstream5xx
            | ProviderErrorKind::Timeout
            | ProviderErrorKind::Connect => true,
            ProviderErrorKind::InvalidRequest
            | ProviderErrorKind::ContextLengthExceeded
            | ProviderErrorKind::Auth
            | ProviderErrorKind::NotFound
            | ProviderErrorKind::Decode
            | ProviderErrorKind::Unsupported => false,
        }
    }

    /// A short, bounded label for metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderErrorKind::InvalidRequest => "invalid_request",
            ProviderErrorKind::ContextLengthExceeded => "context_length_exceeded",
            ProviderErrorKind::Auth => "auth",
            ProviderErrorKind::NotFound => "not_found",
            ProviderErrorKind::RateLimited => "rate_limited",
            ProviderErrorKind::Overloaded => "overloaded",
            ProviderErrorKind::Upstream5xx => "upstream_5xx",
            ProviderErrorKind::Timeout => "timeout",
            ProviderErrorKind::Connect => "connect",
            ProviderErrorKind::Decode => "decode",
            ProviderErrorKind::Unsupported => "unsupported",
        }
    }
}

/// An upstream failure.
///
/// `message` is safe to show the client: it is either ours or, for caller-caused errors, the
/// upstream's own explanation. `debug_body` holds the raw upstream body for logs only.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    pub kind: ProviderErrorKind,
    pub upstream_status: Option<u16>,
    pub retry_after: Option<Duration>,
    pub message: String,
    /// The upstream's `param`, when it named one.
    pub param: Option<String>,
    pub debug_body: Option<String>,
}

impl ProviderError {
    pub fn new(kind: ProviderErrorKind, message: impl Into<String>) -> Self {
        ProviderError {
            kind,
            upstream_status: None,
            retry_after: None,
            message: message.into(),
            param: None,
            debug_body: None,
        }
    }

    pub fn timeout(what: &str, after: Duration) -> Self {
        ProviderError::new(
            ProviderErrorKind::Timeout,
            format!(
                "upstream did not answer within {} ms ({what})",
                after.as_millis()
            ),
        )
    }

    pub fn decode(what: impl std::fmt::Display) -> Self {
        ProviderError::new(
            ProviderErrorKind::Decode,
            format!("upstream sent a response the gateway could not read: {what}"),
        )
    }

    pub fn unsupported(what: impl Into<String>) -> Self {
        ProviderError::new(ProviderErrorKind::Unsupported, what)
    }

    /// A caller-caused error found while translating, naming the offending field.
    pub fn invalid_param(param: impl Into<String>, message: impl Into<String>) -> Self {
        let mut res = ProviderError::new(ProviderErrorKind::InvalidRequest, message);
        res.param = Some(param.into());
        res
    }
}

impl From<hyper_util::client::legacy::Error> for ProviderError {
    /// A request that got no response: no connection, or one that broke before the headers.
    fn from(e: hyper_util::client::legacy::Error) -> Self {
        let chain = error_chain(&e);
        let mut res = if caused_by::<crate::http::ConnectTimeout>(&e) {
            ProviderError::new(
                ProviderErrorKind::Timeout,
                "upstream stopped answering in time",
            )
        } else {
            ProviderError::new(ProviderErrorKind::Connect, "connection to upstream failed")
        };
        res.debug_body = Some(chain);
        res
    }
}

impl From<hyper::Error> for ProviderError {
    /// A body cut short or garbled: the connection broke, which is not the upstream sending
    /// something unreadable.
    fn from(e: hyper::Error) -> Self {
        let mut res =
            ProviderError::new(ProviderErrorKind::Connect, "connection to upstream failed");
        res.debug_body = Some(error_chain(&e));
        res
    }
}

fn caused_by<T: std::error::Error + 'static>(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(e);
    while let Some(cause) = source {
        if cause.is::<T>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// `e` and its sources, for logs.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut res = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        res.push_str(": ");
        res.push_str(&cause.to_string());
        source = cause.source();
    }
    res
}
