//! Stable, machine-readable error codes returned in the `code` field of every error body.

use serde::{Deserialize, Serialize};

/// Why a request failed, as clients branch on it.
///
/// Codes are stable API: clients and the portal match on them, so a variant is never renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The body is not valid JSON, or a field has the wrong type or value.
    InvalidRequest,
    /// The body is larger than the configured limit.
    PayloadTooLarge,
    /// The `content-type` is not one the endpoint accepts.
    UnsupportedMediaType,
    /// The request body arrived too slowly (below the minimum rate); the connection is closed.
    RequestTimeout,
    /// No API key was sent.
    MissingApiKey,
    /// The API key is unknown, revoked or expired.
    InvalidApiKey,
    /// The key exists but may not use this model.
    ModelNotAllowed,
    /// The tenant owning the key is suspended.
    TenantSuspended,
    /// The key is limited to other endpoints.
    EndpointNotAllowed,
    /// The key may not be used from this address.
    IpNotAllowed,
    /// None of the model's deployments is in a region the tenant or key allows.
    RegionNotAllowed,
    /// No model with this name is configured.
    ModelNotFound,
    /// The model exists but does not serve this endpoint (for example embeddings on a chat model).
    UnsupportedEndpoint,
    /// The route does not exist.
    NotFound,
    /// The HTTP method is not allowed on this route.
    MethodNotAllowed,
    /// The upstream provider rate-limited the request.
    UpstreamRateLimited,
    /// The upstream provider failed or answered with something the gateway cannot use.
    UpstreamError,
    /// The upstream provider did not answer in time.
    UpstreamTimeout,
    /// The upstream provider could not be reached.
    UpstreamUnavailable,
    /// The gateway is not ready to serve (for example its store is unreachable).
    ServiceUnavailable,
    /// Something went wrong inside the gateway; the request id identifies it in the logs.
    InternalError,
    /// The management API needs a session or an access token.
    Unauthenticated,
    /// Signed in, but the role does not allow this.
    Forbidden,
    /// A uniqueness or state rule was broken (a taken email, the last owner).
    Conflict,
    /// The account's email address must be verified first.
    EmailNotVerified,
    /// A session-authenticated change came without the session's CSRF token.
    CsrfTokenMismatch,
    /// Too many attempts; `retry-after` says when to try again.
    TooManyRequests,
    /// The address's organisation requires signing in through its identity provider.
    SsoRequired,
    /// A partner's domain could not be verified: its proof record is missing or wrong, or the
    /// lookup failed (the message says which).
    DomainNotVerified,
    /// Every deployment of the model is at its requests or tokens per minute ceiling on the
    /// gateway node that answered, or the caller is at one of its rate limits (the
    /// `x-ratelimit-*` headers say which); `retry-after` says when there is room again.
    RateLimited,
    /// The caller's spend budget cannot cover the call; `x-should-retry: false`: retrying
    /// before the budget resets does not help.
    InsufficientQuota,
}

impl ErrorCode {
    /// The snake_case wire name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::MissingApiKey => "missing_api_key",
            ErrorCode::InvalidApiKey => "invalid_api_key",
            ErrorCode::ModelNotAllowed => "model_not_allowed",
            ErrorCode::TenantSuspended => "tenant_suspended",
            ErrorCode::EndpointNotAllowed => "endpoint_not_allowed",
            ErrorCode::IpNotAllowed => "ip_not_allowed",
            ErrorCode::RegionNotAllowed => "region_not_allowed",
            ErrorCode::ModelNotFound => "model_not_found",
            ErrorCode::UnsupportedEndpoint => "unsupported_endpoint",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::UpstreamRateLimited => "upstream_rate_limited",
            ErrorCode::UpstreamError => "upstream_error",
            ErrorCode::UpstreamTimeout => "upstream_timeout",
            ErrorCode::UpstreamUnavailable => "upstream_unavailable",
            ErrorCode::ServiceUnavailable => "service_unavailable",
            ErrorCode::InternalError => "internal_error",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Conflict => "conflict",
            ErrorCode::EmailNotVerified => "email_not_verified",
            ErrorCode::CsrfTokenMismatch => "csrf_token_mismatch",
            ErrorCode::TooManyRequests => "too_many_requests",
            ErrorCode::SsoRequired => "sso_required",
            ErrorCode::DomainNotVerified => "domain_not_verified",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::InsufficientQuota => "insufficient_quota",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    const ALL: &[ErrorCode] = &[
        ErrorCode::InvalidRequest,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::RequestTimeout,
        ErrorCode::MissingApiKey,
        ErrorCode::InvalidApiKey,
        ErrorCode::ModelNotAllowed,
        ErrorCode::TenantSuspended,
        ErrorCode::EndpointNotAllowed,
        ErrorCode::IpNotAllowed,
        ErrorCode::RegionNotAllowed,
        ErrorCode::ModelNotFound,
        ErrorCode::UnsupportedEndpoint,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::UpstreamRateLimited,
        ErrorCode::UpstreamError,
        ErrorCode::UpstreamTimeout,
        ErrorCode::UpstreamUnavailable,
        ErrorCode::ServiceUnavailable,
        ErrorCode::InternalError,
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::Conflict,
        ErrorCode::EmailNotVerified,
        ErrorCode::CsrfTokenMismatch,
        ErrorCode::TooManyRequests,
        ErrorCode::SsoRequired,
        ErrorCode::DomainNotVerified,
        ErrorCode::RateLimited,
        ErrorCode::InsufficientQuota,
    ];

    #[test]
    fn wire_names_are_pinned_and_match_serde() {
        let names: Vec<&str> = ALL.iter().map(|it| it.as_str()).collect();
        assert_eq!(
            names,
            [
                "invalid_request",
                "payload_too_large",
                "unsupported_media_type",
                "request_timeout",
                "missing_api_key",
                "invalid_api_key",
                "model_not_allowed",
                "tenant_suspended",
                "endpoint_not_allowed",
                "ip_not_allowed",
                "region_not_allowed",
                "model_not_found",
                "unsupported_endpoint",
                "not_found",
                "method_not_allowed",
                "upstream_rate_limited",
                "upstream_error",
                "upstream_timeout",
                "upstream_unavailable",
                "service_unavailable",
                "internal_error",
                "unauthenticated",
                "forbidden",
                "conflict",
                "email_not_verified",
                "csrf_token_mismatch",
                "too_many_requests",
                "sso_required",
                "domain_not_verified",
                "rate_limited",
                "insufficient_quota",
            ]
        );
        for code in ALL {
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: ErrorCode = serde_json::from_str(&json).unwrap();
            assert_eq!(back, *code);
        }
    }
}
