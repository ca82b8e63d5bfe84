//! What wraps every request: a request id (echoed in `x-request-id`), a panic guard, an access
//! log line and HTTP metrics with bounded labels.

use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, ResponseError};
use domain::RequestId;
use futures_util::FutureExt;
use gateway::{Error, ErrorKind};

use crate::error::ApiError;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Where Anthropic's SDKs look for a request id (`_request_id`, and in their error messages).
const ANTHROPIC_REQUEST_ID: HeaderName = HeaderName::from_static("request-id");

/// Maps a matched route pattern to a fixed label, so metrics cannot grow with paths.
fn route_label(pattern: Option<String>) -> &'static str {
    match pattern.as_deref() {
        Some("/v1/chat/completions") => "/v1/chat/completions",
        Some("/v1/completions") => "/v1/completions",
        Some("/v1/embeddings") => "/v1/embeddings",
        Some("/v1/messages") => "/v1/messages",
        Some("/v1/messages/count_tokens") => "/v1/messages/count_tokens",
        Some("/v1/models") => "/v1/models",
        Some(p) if p.starts_with("/v1/models/") => "/v1/models/{id}",
        Some("/healthz") => "/healthz",
        Some("/readyz") => "/readyz",
        Some("/metrics") => "/metrics",
        Some(_) => "other",
        None => "unmatched",
    }
}

/// Request id, panic guard, access log and metrics, in one middleware.
///
/// # Errors
/// Only when the inner service fails or panics; the error then carries a complete response
/// (the error body of the path's family: problem+json under `/api`, Anthropic's on its calls,
/// OpenAI's elsewhere; and `x-request-id`), so clients see the same shape as for any other
/// error.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let started = Instant::now();
    let request_id = RequestId::new();
    req.extensions_mut().insert(request_id);
    let mut id_text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let id_text: &str = request_id.0.hyphenated().encode_lower(&mut id_text);
    let header = HeaderValue::from_str(id_text).ok();
    let anthropic =
        req.path().starts_with("/v1/messages") || req.headers().contains_key("anthropic-version");
    let management = req.path().starts_with("/api/");
    let outcome = AssertUnwindSafe(next.call(req)).catch_unwind().await;
    let mut res = match outcome {
        Ok(Ok(res)) => res,
        Ok(Err(e)) => return Err(with_request_id(e.error_response(), header, anthropic)),
        Err(_) => {
            tracing::error!(request_id = id_text, "handler panicked");
            let error = Error::new(
                ErrorKind::Internal,
                format!("the gateway failed unexpectedly; quote request id `{request_id}`"),
            );
            // In the error shape of the path's family, as any other failure there.
            let response = if management {
                crate::manage::ApiProblem::Body(error).error_response()
            } else if anthropic {
                crate::anthropic::AnthropicError(error).error_response()
            } else {
                ApiError(error).error_response()
            };
            return Err(with_request_id(response, header, anthropic));
        }
    };
    if let Some(value) = header {
        set_request_id(res.headers_mut(), value, anthropic);
    }
    let status = res.status().as_u16();
    if status == 408 {
        // A body that came too slowly: the rest of it is not waited for, nor the connection kept.
        res.response_mut()
            .head_mut()
            .set_connection_type(actix_web::http::ConnectionType::Close);
    }
    let request = res.request();
    let route = route_label(request.match_pattern());
    let elapsed = started.elapsed();
    record_http(route, status_class(status), elapsed.as_secs_f64());
    tracing::info!(
        target: "access",
        request_id = id_text,
        method = request.method().as_str(),
        path = path_for_log(request.path()),
        status,
        duration_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
    );
    Ok(res)
}

type HttpMetrics = (metrics::Counter, metrics::Histogram);

thread_local! {
    /// Metric handles per (route, status class), registered once per worker thread so that a
    /// request does not pay for a registry lookup.
    static HTTP_METRICS: RefCell<HashMap<(&'static str, &'static str), HttpMetrics>> =
        RefCell::new(HashMap::new());
}

fn record_http(route: &'static str, status: &'static str, seconds: f64) {
    HTTP_METRICS.with_borrow_mut(|cache| {
        let (requests, duration) = cache.entry((route, status)).or_insert_with(|| {
            (
                metrics::counter!("http_requests_total", "route" => route, "status" => status),
                metrics::histogram!("http_request_duration_seconds", "route" => route),
            )
        });
        requests.increment(1);
        duration.record(seconds);
    });
}

/// Wraps a finished error response (with its request id) as an error the server sends as is.
fn with_request_id(
    mut response: HttpResponse,
    header: Option<HeaderValue>,
    anthropic: bool,
) -> actix_web::Error {
    if let Some(value) = header {
        set_request_id(response.headers_mut(), value, anthropic);
    }
    InternalError::from_response("request failed", response).into()
}

/// `x-request-id` on every response, and Anthropic's `request-id` on Anthropic-shaped calls
/// (the Messages paths, or any request with `anthropic-version`), so either SDK reports the id
/// the gateway's logs and usage records carry.
fn set_request_id(headers: &mut HeaderMap, value: HeaderValue, anthropic: bool) {
    if anthropic {
        headers.insert(ANTHROPIC_REQUEST_ID, value.clone());
    }
    headers.insert(REQUEST_ID, value);
}

fn status_class(status: u16) -> &'static str {
    match status {
        200..=299 => "2xx",
        300..=399 => "3xx",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        413 => "413",
        429 => "429",
        502 => "502",
        504 => "504",
        500..=599 => "5xx",
        _ => "4xx",
    }
}

/// Paths are logged bounded: a client cannot write megabytes into the log through a URL.
fn path_for_log(path: &str) -> &str {
    match path.char_indices().nth(200) {
        Some((cut, _)) => &path[..cut],
        None => path,
    }
}

/// The request id the middleware assigned.
pub fn request_id(req: &actix_web::HttpRequest) -> RequestId {
    req.extensions()
        .get::<RequestId>()
        .copied()
        .unwrap_or_default()
}
