//! The gateway's error: what failed, whose fault it was, and what the client may be told.
//!
//! The gateway does not know HTTP; `http-api` maps `ErrorKind` to a status in one match.

use std::time::Duration;

use api_types::ErrorCode;
use providers::{ProviderError, ProviderErrorKind};

use crate::headers::ResponseHeaders;

/// Who caused a failure: it decides log levels and which metrics count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorSource {
    Client,
    Upstream,
    Internal,
}

/// A low-cardinality classification of every failure the data plane can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    InvalidRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    /// The body did not arrive at the minimum rate.
    RequestTimeout,
    MissingApiKey,
    InvalidApiKey,
    ModelNotAllowed,
    TenantSuspended,
    EndpointNotAllowed,
    IpNotAllowed,
    /// No deployment of the model is in a region the tenant or key allows.
    RegionNotAllowed,
    ModelNotFound,
    UnsupportedEndpoint,
    NotFound,
    MethodNotAllowed,
    /// Every deployment of the model is at its configured per-minute ceiling on this node, or
    /// the caller is at one of its rate limits.
    RateLimited,
    /// The caller's spend budget cannot cover the call (OpenAI's `insufficient_quota`, which
    /// its SDKs do not retry).
    InsufficientQuota,
    /// The upstream rejected the caller's input; its status (400, 413, 422...) is kept.
    UpstreamRejected,
    UpstreamRateLimited,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
    Unavailable,
    Internal,
}

impl ErrorKind {
    pub fn code(self) -> ErrorCode {
        match self {
            ErrorKind::InvalidRequest | ErrorKind::UpstreamRejected => ErrorCode::InvalidRequest,
            ErrorKind::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            ErrorKind::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            ErrorKind::RequestTimeout => ErrorCode::RequestTimeout,
            ErrorKind::MissingApiKey => ErrorCode::MissingApiKey,
            ErrorKind::InvalidApiKey => ErrorCode::InvalidApiKey,
            ErrorKind::ModelNotAllowed => ErrorCode::ModelNotAllowed,
            ErrorKind::TenantSuspended => ErrorCode::TenantSuspended,
            ErrorKind::EndpointNotAllowed => ErrorCode::EndpointNotAllowed,
            ErrorKind::IpNotAllowed => ErrorCode::IpNotAllowed,
            ErrorKind::RegionNotAllowed => ErrorCode::RegionNotAllowed,
            ErrorKind::ModelNotFound => ErrorCode::ModelNotFound,
            ErrorKind::UnsupportedEndpoint => ErrorCode::UnsupportedEndpoint,
            ErrorKind::NotFound => ErrorCode::NotFound,
            ErrorKind::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            ErrorKind::RateLimited => ErrorCode::RateLimited,
            ErrorKind::InsufficientQuota => ErrorCode::InsufficientQuota,
            ErrorKind::UpstreamRateLimited => ErrorCode::UpstreamRateLimited,
            ErrorKind::UpstreamError => ErrorCode::UpstreamError,
            ErrorKind::UpstreamTimeout => ErrorCode::UpstreamTimeout,
            ErrorKind::UpstreamUnavailable => ErrorCode::UpstreamUnavailable,
            ErrorKind::Unavailable => ErrorCode::ServiceUnavailable,
            ErrorKind::Internal => ErrorCode::InternalError,
        }
    }

    pub fn source(self) -> ErrorSource {
        match self {
            ErrorKind::InvalidRequest
            | ErrorKind::PayloadTooLarge
            | ErrorKind::UnsupportedMediaType
            | ErrorKind::RequestTimeout
            | ErrorKind::MissingApiKey
            | ErrorKind::InvalidApiKey
            | ErrorKind::ModelNotAllowed
            | ErrorKind::TenantSuspended
            | ErrorKind::EndpointNotAllowed
            | ErrorKind::IpNotAllowed
            | ErrorKind::RegionNotAllowed
            | ErrorKind::ModelNotFound
            | ErrorKind::UnsupportedEndpoint
            | ErrorKind::NotFound
            | ErrorKind::MethodNotAllowed
            | ErrorKind::RateLimited
            | ErrorKind::InsufficientQuota
            | ErrorKind::UpstreamRejected => ErrorSource::Client,
            ErrorKind::UpstreamRateLimited
            | ErrorKind::UpstreamError
            | ErrorKind::UpstreamTimeout
            | ErrorKind::UpstreamUnavailable => ErrorSource::Upstream,
            ErrorKind::Unavailable | ErrorKind::Internal => ErrorSource::Internal,
        }
    }
}

/// A failed request, ready to be shown to the client.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub kind: ErrorKind,
    /// Lowercase, says what was wrong and how to fix it.
    pub message: String,
    /// The offending request field, when there is one.
    pub param: Option<String>,
    /// For rate limits: when to retry.
    pub retry_after: Option<Duration>,
    /// For `UpstreamRejected`: the upstream's status, kept for the client.
    pub upstream_status: Option<u16>,
    /// Detail for logs only (upstream bodies, causes); never sent to clients.
    pub detail: Option<String>,
    /// What the pipeline's stages tell the client besides the body (which deployments were
    /// tried, for a failed call). Boxed, and only when there are any: errors are moved around
    /// often, made often (every refused call) and are rarely headed.
    pub headers: Option<Box<ResponseHeaders>>,
}

impl Error {
    /// The headers to add to the answer, made on first use.
    pub fn headers_mut(&mut self) -> &mut ResponseHeaders {
        self.headers.get_or_insert_with(Box::default)
    }

    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            param: None,
            retry_after: None,
            upstream_status: None,
            detail: None,
            headers: None,
        }
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn invalid(param: impl Into<String>, message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidRequest, message).with_param(param)
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Error::new(
            ErrorKind::Internal,
            "the gateway failed to process the request",
        )
        .with_detail(detail.to_string())
    }

    pub fn code(&self) -> ErrorCode {
        self.kind.code()
    }

    /// The HTTP status the client sees. It lives here, not in `http-api`, because usage
    /// records store it too; this is the one mapping from errors to statuses.
    pub fn http_status(&self) -> u16 {
        match self.kind {
            ErrorKind::InvalidRequest | ErrorKind::UnsupportedEndpoint => 400,
            ErrorKind::MissingApiKey | ErrorKind::InvalidApiKey => 401,
            ErrorKind::ModelNotAllowed
            | ErrorKind::TenantSuspended
            | ErrorKind::EndpointNotAllowed
            | ErrorKind::IpNotAllowed
            | ErrorKind::RegionNotAllowed => 403,
            ErrorKind::ModelNotFound | ErrorKind::NotFound => 404,
            ErrorKind::MethodNotAllowed => 405,
            ErrorKind::RequestTimeout => 408,
            ErrorKind::PayloadTooLarge => 413,
            ErrorKind::UnsupportedMediaType => 415,
            ErrorKind::UpstreamRejected => self
                .upstream_status
                .filter(|it| (400..500).contains(it) && *it != 401 && *it != 403 && *it != 429)
                .unwrap_or(400),
            ErrorKind::UpstreamRateLimited
            | ErrorKind::RateLimited
            | ErrorKind::InsufficientQuota => 429,
            ErrorKind::Internal => 500,
            ErrorKind::UpstreamError | ErrorKind::UpstreamUnavailable => 502,
            ErrorKind::Unavailable => 503,
            ErrorKind::UpstreamTimeout => 504,
        }
    }
}

impl From<domain::llm::ValidationError> for Error {
    fn from(e: domain::llm::ValidationError) -> Self {
        Error::invalid(e.param, e.message)
    }
}

impl From<ProviderError> for Error {
    fn from(e: ProviderError) -> Self {
        let kind = match e.kind {
            ProviderErrorKind::InvalidRequest | ProviderErrorKind::ContextLengthExceeded => {
                if e.upstream_status.is_some() {
                    ErrorKind::UpstreamRejected
                } else {
                    ErrorKind::InvalidRequest
                }
            }
            ProviderErrorKind::Unsupported => ErrorKind::UnsupportedEndpoint,
            ProviderErrorKind::RateLimited => ErrorKind::UpstreamRateLimited,
            ProviderErrorKind::Timeout => ErrorKind::UpstreamTimeout,
            ProviderErrorKind::Connect => ErrorKind::UpstreamUnavailable,
            ProviderErrorKind::Auth
            | ProviderErrorKind::NotFound
            | ProviderErrorKind::Overloaded
            | ProviderErrorKind::Upstream5xx
            | ProviderErrorKind::Decode => ErrorKind::UpstreamError,
        };
        Error {
            kind,
            message: e.message,
            param: e.param,
            retry_after: e.retry_after,
            upstream_status: e.upstream_status,
            detail: e.debug_body,
            headers: None,
        }
    }
}
