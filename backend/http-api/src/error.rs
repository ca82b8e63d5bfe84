//! Errors on the wire: every failure becomes OpenAI's error envelope with a stable code, and
//! is logged once, here.

use std::sync::LazyLock;

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER};
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};
use gateway::{Error, ErrorKind, ErrorSource};
use serde::Serialize;

/// A gateway error on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    param: Option<&'a str>,
    code: &'static str,
}

/// OpenAI's `type` values, which SDKs and dashboards group errors by.
fn error_type(kind: ErrorKind, status: u16) -> &'static str {
    match (kind, status) {
        (ErrorKind::MissingApiKey | ErrorKind::InvalidApiKey, _) => "authentication_error",
        (
            ErrorKind::ModelNotAllowed
            | ErrorKind::TenantSuspended
            | ErrorKind::EndpointNotAllowed
            | ErrorKind::IpNotAllowed
            | ErrorKind::RegionNotAllowed,
            _,
        ) => "permission_error",
        // OpenAI's own type for a spent quota; its SDKs do not retry it.
        (ErrorKind::InsufficientQuota, _) => "insufficient_quota",
        (_, 429) => "rate_limit_error",
        (_, 500..) => "api_error",
        _ => "invalid_request_error",
    }
}

/// The JSON of an error, as sent in a body or as an SSE event.
pub fn error_json(e: &Error) -> Vec<u8> {
    let body = Envelope {
        error: Body {
            message: &e.message,
            kind: error_type(e.kind, e.http_status()),
            param: e.param.as_deref(),
            code: e.code().as_str(),
        },
    };
    serde_json::to_vec(&body).unwrap_or_else(|_| {
        br#"{"error":{"message":"internal error","type":"api_error","param":null,"code":"internal_error"}}"#.to_vec()
    })
}

/// Logs an error once, at a level that matches whose fault it is.
pub fn log(e: &Error) {
    let code = e.code().as_str();
    match e.kind.source() {
        ErrorSource::Client => {
            tracing::debug!(code, error = %e.message, "client error");
        }
        ErrorSource::Upstream => {
            tracing::warn!(code, error = %e.message, detail = e.detail.as_deref(), "upstream error");
        }
        ErrorSource::Internal => {
            tracing::error!(code, error = %e.message, detail = e.detail.as_deref(), "internal error");
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        log(&self.0);
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json")));
        error_headers(&mut res, &self.0);
        res.body(error_json(&self.0))
    }
}

/// The stages' header names, in the order of [`STAGE_NAMES`] and [`stage_index`].
const STAGE_NAME_TEXTS: [&str; 18] = {
    use gateway::headers::*;
    [
        DEPLOYMENT,
        ATTEMPTS,
        COST,
        LIMIT_REQUESTS,
        REMAINING_REQUESTS,
        RESET_REQUESTS,
        LIMIT_TOKENS,
        REMAINING_TOKENS,
        RESET_TOKENS,
        SHOULD_RETRY,
        CACHE,
        CACHE_SIMILARITY,
        crate::anthropic::REQUESTS_LIMIT,
        crate::anthropic::REQUESTS_REMAINING,
        crate::anthropic::REQUESTS_RESET,
        crate::anthropic::TOKENS_LIMIT,
        crate::anthropic::TOKENS_REMAINING,
        crate::anthropic::TOKENS_RESET,
    ]
};

/// The names the stages' headers go out under, checked once: `HeaderName::from_static` checks
/// every byte of a name each time it runs, which was a third of what writing a header cost.
static STAGE_NAMES: LazyLock<[HeaderName; 18]> =
    LazyLock::new(|| STAGE_NAME_TEXTS.map(HeaderName::from_static));

/// Where `name` is in [`STAGE_NAME_TEXTS`]: a `match`, compiled to a switch on the length, where
/// a search would compare each entry (a test holds the two lists together).
fn stage_index(name: &str) -> Option<usize> {
    use gateway::headers::*;
    Some(match name {
        DEPLOYMENT => 0,
        ATTEMPTS => 1,
        COST => 2,
        LIMIT_REQUESTS => 3,
        REMAINING_REQUESTS => 4,
        RESET_REQUESTS => 5,
        LIMIT_TOKENS => 6,
        REMAINING_TOKENS => 7,
        RESET_TOKENS => 8,
        SHOULD_RETRY => 9,
        CACHE => 10,
        CACHE_SIMILARITY => 11,
        crate::anthropic::REQUESTS_LIMIT => 12,
        crate::anthropic::REQUESTS_REMAINING => 13,
        crate::anthropic::REQUESTS_RESET => 14,
        crate::anthropic::TOKENS_LIMIT => 15,
        crate::anthropic::TOKENS_REMAINING => 16,
        crate::anthropic::TOKENS_RESET => 17,
        _ => return None,
    })
}

/// `name` (a lowercase constant) as a header name: one of [`STAGE_NAMES`], shared, or checked
/// now for a name not among them.
fn stage_name(name: &'static str) -> HeaderName {
    match stage_index(name).and_then(|i| STAGE_NAMES.get(i)) {
        Some(made) => made.clone(),
        None => HeaderName::from_static(name),
    }
}

/// The numbers a header usually carries (tries), without formatting or allocating.
fn small_number(n: u64) -> Option<HeaderValue> {
    const SMALL: [&str; 11] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"];
    let index = usize::try_from(n).ok()?;
    SMALL.get(index).map(|it| HeaderValue::from_static(it))
}

/// The headers of an error answer, in either API's shape: when to retry, and what the
/// pipeline's stages said.
pub(crate) fn error_headers(res: &mut HttpResponseBuilder, e: &Error) {
    retry_after(res, e);
    if let Some(headers) = &e.headers {
        stage_headers(res, headers);
    }
}

/// `retry-after` in whole seconds, rounded up (at least 1), when the error says when.
pub(crate) fn retry_after(res: &mut HttpResponseBuilder, e: &Error) {
    if let Some(wait) = e.retry_after {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        res.insert_header((RETRY_AFTER, secs.max(1).to_string()));
    }
}

/// Writes the headers the gateway's stages added. A value that is not a valid header (names
/// are checked when configured, so none should be) is left out rather than failing the answer.
pub(crate) fn stage_headers(res: &mut HttpResponseBuilder, headers: &gateway::ResponseHeaders) {
    for (name, value) in headers.iter() {
        let value = match value {
            gateway::HeaderText::Number(n) => {
                small_number(*n).unwrap_or_else(|| HeaderValue::from(*n))
            }
            gateway::HeaderText::Static(text) => HeaderValue::from_static(text),
            gateway::HeaderText::Money(amount) => match HeaderValue::try_from(amount.to_string()) {
                Ok(it) => it,
                Err(_) => continue,
            },
            gateway::HeaderText::Shared(bytes) => {
                match HeaderValue::from_maybe_shared(bytes.clone()) {
                    Ok(it) => it,
                    Err(_) => continue,
                }
            }
        };
        res.insert_header((stage_name(name), value));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use actix_web::body::MessageBody;

    use super::*;

    #[test]
    fn every_stage_header_name_is_made_once_and_right() {
        for (i, name) in STAGE_NAME_TEXTS.into_iter().enumerate() {
            assert_eq!(stage_index(name), Some(i), "{name}");
            assert_eq!(STAGE_NAMES[i].as_str(), name);
            assert_eq!(stage_name(name).as_str(), name);
        }
        assert_eq!(stage_index("x-not-a-stage-header"), None);
        assert_eq!(
            stage_name("x-not-a-stage-header").as_str(),
            "x-not-a-stage-header"
        );
    }

    fn render(e: Error) -> (u16, Option<String>, serde_json::Value) {
        let res = ApiError(e).error_response();
        let status = res.status().as_u16();
        let retry = res
            .headers()
            .get(RETRY_AFTER)
            .map(|it| it.to_str().unwrap().to_owned());
        let body = res.into_body().try_into_bytes().unwrap();
        (status, retry, serde_json::from_slice(&body).unwrap())
    }

    #[test]
    fn every_kind_has_a_status_type_and_code() {
        let cases = [
            (
                ErrorKind::InvalidRequest,
                400,
                "invalid_request_error",
                "invalid_request",
            ),
            (
                ErrorKind::PayloadTooLarge,
                413,
                "invalid_request_error",
                "payload_too_large",
            ),
            (
                ErrorKind::UnsupportedMediaType,
                415,
                "invalid_request_error",
                "unsupported_media_type",
            ),
            (
                ErrorKind::MissingApiKey,
                401,
                "authentication_error",
                "missing_api_key",
            ),
            (
                ErrorKind::InvalidApiKey,
                401,
                "authentication_error",
                "invalid_api_key",
            ),
            (
                ErrorKind::ModelNotAllowed,
                403,
                "permission_error",
                "model_not_allowed",
            ),
            (
                ErrorKind::TenantSuspended,
                403,
                "permission_error",
                "tenant_suspended",
            ),
            (
                ErrorKind::ModelNotFound,
                404,
                "invalid_request_error",
                "model_not_found",
            ),
            (
                ErrorKind::UnsupportedEndpoint,
                400,
                "invalid_request_error",
                "unsupported_endpoint",
            ),
            (
                ErrorKind::NotFound,
                404,
                "invalid_request_error",
                "not_found",
            ),
            (
                ErrorKind::MethodNotAllowed,
                405,
                "invalid_request_error",
                "method_not_allowed",
            ),
            (
                ErrorKind::UpstreamRejected,
                400,
                "invalid_request_error",
                "invalid_request",
            ),
            (
                ErrorKind::UpstreamRateLimited,
                429,
                "rate_limit_error",
                "upstream_rate_limited",
            ),
            (
                ErrorKind::RateLimited,
                429,
                "rate_limit_error",
                "rate_limited",
            ),
            (
                ErrorKind::InsufficientQuota,
                429,
                "insufficient_quota",
                "insufficient_quota",
            ),
            (ErrorKind::UpstreamError, 502, "api_error", "upstream_error"),
            (
                ErrorKind::UpstreamTimeout,
                504,
                "api_error",
                "upstream_timeout",
            ),
            (
                ErrorKind::UpstreamUnavailable,
                502,
                "api_error",
                "upstream_unavailable",
            ),
            (
                ErrorKind::Unavailable,
                503,
                "api_error",
                "service_unavailable",
            ),
            (ErrorKind::Internal, 500, "api_error", "internal_error"),
        ];
        for (kind, status, kind_name, code) in cases {
            let (got_status, _, body) = render(Error::new(kind, "m"));
            assert_eq!(got_status, status, "{kind:?}");
            assert_eq!(body["error"]["type"], kind_name, "{kind:?}");
            assert_eq!(body["error"]["code"], code, "{kind:?}");
            assert_eq!(body["error"]["message"], "m");
        }
    }

    #[test]
    fn upstream_rejections_keep_their_status_and_rate_limits_say_when_to_retry() {
        let mut e = Error::new(ErrorKind::UpstreamRejected, "too long").with_param("messages");
        e.upstream_status = Some(422);
        let (status, _, body) = render(e);
        assert_eq!(status, 422);
        assert_eq!(body["error"]["param"], "messages");
        let mut e = Error::new(ErrorKind::UpstreamRateLimited, "slow down");
        e.retry_after = Some(Duration::from_millis(1500));
        assert_eq!(render(e).1.as_deref(), Some("2"));
    }
}
