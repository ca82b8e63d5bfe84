//! Shared HTTP plumbing: clients with the configured timeouts, sending with a first-byte
//! deadline, and turning upstream error responses into `ProviderError`s.

use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::error::{ProviderError, ProviderErrorKind, error_chain};

/// Timeouts for one upstream.
///
/// They are enforced by the adapters (`send`, `read_body`, the stream wrapper), not by the HTTP
/// client, which would arm a timer on every socket read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP (and TLS) connection set-up.
    pub connect: Duration,
    /// From sending the request to the response headers, and for streams to the first event.
    pub first_byte: Duration,
    /// Longest silence between two reads of a body.
    pub idle: Duration,
    /// The whole call, streams included.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            first_byte: Duration::from_secs(60),
            idle: Duration::from_secs(120),
            total: Duration::from_secs(600),
        }
    }
}

/// Which addresses a client may connect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Operator-configured upstreams: anywhere, including a local vLLM or Ollama.
    Any,
    /// Tenant-supplied URLs: names that resolve to private, loopback or link-local addresses
    /// are refused at connection time, so a DNS answer cannot smuggle a request inside.
    PublicOnly,
}

/// Resolves names with the system resolver and drops internal addresses.
#[derive(Debug, Clone, Copy)]
struct PublicOnlyResolver;

impl reqwest::dns::Resolve for PublicOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let public: Vec<std::net::SocketAddr> = resolved
                .filter(|it| !domain::credential::is_internal(it.ip()))
                .collect();
            if public.is_empty() {
                return Err(format!(
                    "`{host}` resolves only to private, loopback or link-local addresses, which tenant upstreams may not reach"
                )
                .into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// Builds a client for one upstream: pooled keep-alive connections, our timeouts, the
/// upstream's fixed headers (credentials), no proxy from the environment (the gateway's
/// outbound traffic must go where it is configured).
///
/// # Errors
/// When the TLS backend cannot be initialised.
pub fn client(
    timeouts: &Timeouts,
    headers: reqwest::header::HeaderMap,
    reach: Reach,
) -> Result<reqwest::Client, ProviderError> {
    let builder = match reach {
        Reach::Any => reqwest::Client::builder(),
        Reach::PublicOnly => reqwest::Client::builder().dns_resolver(PublicOnlyResolver),
    };
    builder
        .default_headers(headers)
        .connect_timeout(timeouts.connect)
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true)
        // An upstream's redirect is never followed: credentials must not travel elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        // No transparent retries inside the client: failover decides what is retried, and
        // reqwest's default policy clones every request's headers in case it retries.
        .retry(reqwest::retry::never().max_retries_per_request(0))
        .no_proxy()
        .build()
        .map_err(|e| {
            ProviderError::new(
                ProviderErrorKind::Connect,
                format!("http client: {}", error_chain(&e)),
            )
        })
}

/// Sends `request` and waits for response headers within `first_byte`; a non-2xx answer is
/// read and classified.
///
/// # Errors
/// Timeouts, connection failures and every non-2xx response.
pub async fn send(
    request: reqwest::RequestBuilder,
    first_byte: Duration,
) -> Result<reqwest::Response, ProviderError> {
    let response = match tokio::time::timeout(first_byte, request.send()).await {
        Err(_) => {
            return Err(ProviderError::timeout(
                "waiting for response headers",
                first_byte,
            ));
        }
        Ok(Err(e)) => return Err(e.into()),
        Ok(Ok(response)) => response,
    };
    if response.status().is_success() {
        return Ok(response);
    }
    Err(error_from_response(response).await)
}

/// Reads a whole (non-streamed) body, bounded by what is left of the total deadline.
///
/// # Errors
/// Timeouts and broken connections.
pub async fn read_body(
    response: reqwest::Response,
    remaining: Duration,
) -> Result<Bytes, ProviderError> {
    match tokio::time::timeout(remaining, response.bytes()).await {
        Err(_) => Err(ProviderError::timeout(
            "reading the response body",
            remaining,
        )),
        Ok(Err(e)) => Err(e.into()),
        Ok(Ok(bytes)) => Ok(bytes),
    }
}

/// How long the upstream asked us to wait, from `retry-after-ms`, `retry-after` (seconds or an
/// HTTP date).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|it| it.to_str().ok())
        .and_then(|it| it.trim().parse::<f64>().ok())
        .filter(|it| it.is_finite() && *it >= 0.0)
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let wait = at - OffsetDateTime::now_utc();
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// The error envelope of OpenAI (`{"error":{...}}`) and Anthropic (`{"type":"error","error":{...}}`).
#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorDetail,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorDetail {
    Object {
        #[serde(default)]
        message: Option<String>,
        #[serde(default, rename = "type")]
        kind: Option<String>,
        #[serde(default)]
        code: Option<serde_json::Value>,
        #[serde(default)]
        param: Option<String>,
    },
    Text(String),
}

/// What an upstream error body said, in the fields we use.
#[derive(Debug, Default)]
pub(crate) struct UpstreamErrorInfo {
    pub message: Option<String>,
    pub kind: Option<String>,
    pub code: Option<String>,
    pub param: Option<String>,
}

pub(crate) fn parse_error_body(body: &[u8]) -> UpstreamErrorInfo {
    match serde_json::from_slice::<ErrorEnvelope>(body) {
        Ok(ErrorEnvelope {
            error:
                ErrorDetail::Object {
                    message,
                    kind,
                    code,
                    param,
                },
        }) => UpstreamErrorInfo {
            message,
            kind,
            code: code.map(|it| match it {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            }),
            param,
        },
        Ok(ErrorEnvelope {
            error: ErrorDetail::Text(message),
        }) => UpstreamErrorInfo {
            message: Some(message),
            ..UpstreamErrorInfo::default()
        },
        Err(_) => UpstreamErrorInfo::default(),
    }
}

/// Upstream bodies are kept for logs, but never more than this.
const MAX_DEBUG_BODY: usize = 2048;
/// An upstream message longer than this is not shown to clients.
const MAX_CLIENT_MESSAGE: usize = 1000;

fn truncated(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.chars().take(MAX_DEBUG_BODY).collect()
}

/// Classifies a non-2xx upstream response.
pub(crate) async fn error_from_response(response: reqwest::Response) -> ProviderError {
    let status = response.status().as_u16();
    let retry_after = retry_after(response.headers());
    // An error body is small; a bounded wait keeps a slow one from holding the request.
    let body = tokio::time::timeout(Duration::from_secs(10), response.bytes())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    classify(status, retry_after, &body)
}

/// The classification rules, separate from IO so they can be unit-tested.
pub(crate) fn classify(status: u16, retry_after: Option<Duration>, body: &[u8]) -> ProviderError {
    let info = parse_error_body(body);
    let upstream_kind = info.kind.as_deref().unwrap_or_default();
    let upstream_code = info.code.as_deref().unwrap_or_default();
    let upstream_message = info
        .message
        .clone()
        .filter(|it| !it.is_empty() && it.len() <= MAX_CLIENT_MESSAGE);
    let is_context = upstream_code == "context_length_exceeded"
        || upstream_message.as_deref().is_some_and(|it| {
            let lower = it.to_lowercase();
            lower.contains("context length")
                || lower.contains("context window")
                || lower.contains("prompt is too long")
                || lower.contains("maximum context")
        });
    let (kind, message) = match status {
        400 | 409 | 413 | 422 if is_context => (
            ProviderErrorKind::ContextLengthExceeded,
            upstream_message.unwrap_or_else(|| "the prompt is too long for this model".into()),
        ),
        400 | 409 | 413 | 422 => (
            ProviderErrorKind::InvalidRequest,
            upstream_message.unwrap_or_else(|| {
                format!("the upstream provider rejected the request (status {status})")
            }),
        ),
        401 | 403 => (
            ProviderErrorKind::Auth,
            "the upstream provider refused the gateway's credentials".to_owned(),
        ),
        404 => (
            ProviderErrorKind::NotFound,
            "the upstream provider does not know the configured model or endpoint".to_owned(),
        ),
        429 => (
            ProviderErrorKind::RateLimited,
            "the upstream provider is rate-limiting requests; retry later".to_owned(),
        ),
        503 | 529 => (
            ProviderErrorKind::Overloaded,
            format!("the upstream provider is overloaded (status {status})"),
        ),
        _ if upstream_kind == "overloaded_error" => (
            ProviderErrorKind::Overloaded,
            format!("the upstream provider is overloaded (status {status})"),
        ),
        500..=599 => (
            ProviderErrorKind::Upstream5xx,
            format!("the upstream provider failed (status {status})"),
        ),
        _ => (
            ProviderErrorKind::Decode,
            format!("the upstream provider answered with unexpected status {status}"),
        ),
    };
    let caller_fault = matches!(
        kind,
        ProviderErrorKind::InvalidRequest | ProviderErrorKind::ContextLengthExceeded
    );
    ProviderError {
        kind,
        upstream_status: Some(status),
        retry_after,
        message,
        param: if caller_fault { info.param } else { None },
        debug_body: (!body.is_empty()).then(|| truncated(body)),
    }
}

/// Classifies an error event sent inside a stream (OpenAI `{"error":...}`, Anthropic `error`).
pub(crate) fn classify_stream_error(body: &[u8]) -> ProviderError {
    let info = parse_error_body(body);
    let status = match info.kind.as_deref().unwrap_or_default() {
        "overloaded_error" => 529,
        "rate_limit_error" | "rate_limit_exceeded" => 429,
        "invalid_request_error" => 400,
        "authentication_error" | "permission_error" => 401,
        "not_found_error" => 404,
        "timeout_error" => 504,
        _ => 500,
    };
    if status == 504 {
        let mut res =
            ProviderError::new(ProviderErrorKind::Timeout, "upstream timed out mid-stream");
        res.debug_body = Some(truncated(body));
        return res;
    }
    let mut res = classify(status, None, body);
    res.upstream_status = None;
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn public_only_clients_refuse_names_that_resolve_inside() {
        use reqwest::dns::Resolve;
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let err = PublicOnlyResolver.resolve(name).await.err().unwrap();
        assert!(err.to_string().contains("private, loopback"), "{err}");

        // End to end: a listening local port is unreachable through the name.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let guarded = client(&Timeouts::default(), Default::default(), Reach::PublicOnly).unwrap();
        let err = guarded
            .get(format!("http://localhost:{port}/"))
            .send()
            .await
            .unwrap_err();
        assert!(
            error_chain(&err).contains("loopback"),
            "{}",
            error_chain(&err)
        );
    }

    #[test]
    fn statuses_map_to_kinds_and_caller_errors_keep_upstream_message() {
        let openai_400 = br#"{"error":{"message":"Invalid value for 'temperature'","type":"invalid_request_error","param":"temperature","code":null}}"#;
        let e = classify(400, None, openai_400);
        assert_eq!(e.kind, ProviderErrorKind::InvalidRequest);
        assert_eq!(e.message, "Invalid value for 'temperature'");
        assert_eq!(e.param.as_deref(), Some("temperature"));

        let context = br#"{"error":{"message":"This model's maximum context length is 8192 tokens","code":"context_length_exceeded"}}"#;
        assert_eq!(
            classify(400, None, context).kind,
            ProviderErrorKind::ContextLengthExceeded
        );

        let auth = br#"{"error":{"message":"Incorrect API key provided: sk-abc***xyz"}}"#;
        let e = classify(401, None, auth);
        assert_eq!(e.kind, ProviderErrorKind::Auth);
        assert!(
            !e.message.contains("sk-abc"),
            "credentials hints never reach clients"
        );

        let anthropic =
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        assert_eq!(
            classify(529, None, anthropic).kind,
            ProviderErrorKind::Overloaded
        );
        assert_eq!(
            classify(500, None, b"<html>oops</html>").kind,
            ProviderErrorKind::Upstream5xx
        );
        assert_eq!(
            classify(502, None, b"").kind,
            ProviderErrorKind::Upstream5xx
        );
        assert_eq!(classify(404, None, b"").kind, ProviderErrorKind::NotFound);
        let e = classify(429, Some(Duration::from_secs(3)), b"{}");
        assert_eq!(e.kind, ProviderErrorKind::RateLimited);
        assert_eq!(e.retry_after, Some(Duration::from_secs(3)));
        assert!(e.kind.is_retryable());
        assert!(!ProviderErrorKind::InvalidRequest.is_retryable());
    }

    #[test]
    fn retry_after_reads_ms_seconds_and_dates() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert("retry-after-ms", "1500".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(1500)));
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        headers.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn stream_errors_are_classified_by_type() {
        let e = classify_stream_error(
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        );
        assert_eq!(e.kind, ProviderErrorKind::Overloaded);
        let e = classify_stream_error(br#"{"error":{"message":"boom","type":"server_error"}}"#);
        assert_eq!(e.kind, ProviderErrorKind::Upstream5xx);
    }
}
