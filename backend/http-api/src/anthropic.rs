//! Anthropic's Messages API: `POST /v1/messages` and `POST /v1/messages/count_tokens`, with
//! Anthropic's error envelope (`{"type": "error", "error": {"type", "message"}}`) and its
//! named-event stream framing, so Anthropic's SDKs work by changing only their base URL.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use actix_web::web::{self, Payload};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use bytes::Bytes;
use domain::llm::messages::{Betas, MessagesRequest, sse_frame};
use futures_util::{Stream, StreamExt};
use gateway::{Error, ErrorKind, MessagesItem, MessagesOutcome, MessagesStream};
use serde::Serialize;

use crate::{AppState, body, error, openai};

/// A gateway error on its way to an Anthropic client.
#[derive(Debug)]
pub(crate) struct AnthropicError(pub Error);

impl From<Error> for AnthropicError {
    fn from(e: Error) -> Self {
        AnthropicError(e)
    }
}

impl From<error::ApiError> for AnthropicError {
    fn from(e: error::ApiError) -> Self {
        AnthropicError(e.0)
    }
}

impl std::fmt::Display for AnthropicError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    message: &'a str,
}

/// Anthropic's error `type` for a status, which its SDKs and users match on.
fn error_type(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        500.. => "api_error",
        _ => "invalid_request_error",
    }
}

/// The JSON of an error in Anthropic's shape, as a body or as a stream's `error` event.
fn error_json(e: &Error) -> Vec<u8> {
    let envelope = Envelope {
        kind: "error",
        error: Body {
            kind: error_type(e.http_status()),
            message: &e.message,
        },
    };
    serde_json::to_vec(&envelope).unwrap_or_else(|_| {
        br#"{"type":"error","error":{"type":"api_error","message":"internal error"}}"#.to_vec()
    })
}

impl ResponseError for AnthropicError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        error::log(&self.0);
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json")));
        error::retry_after(&mut res, &self.0);
        if let Some(headers) = &self.0.headers {
            error::stage_headers(&mut res, &anthropic_headers(headers));
        }
        res.body(error_json(&self.0))
    }
}

pub(crate) const REQUESTS_LIMIT: &str = "anthropic-ratelimit-requests-limit";
pub(crate) const REQUESTS_REMAINING: &str = "anthropic-ratelimit-requests-remaining";
pub(crate) const REQUESTS_RESET: &str = "anthropic-ratelimit-requests-reset";
pub(crate) const TOKENS_LIMIT: &str = "anthropic-ratelimit-tokens-limit";
pub(crate) const TOKENS_REMAINING: &str = "anthropic-ratelimit-tokens-remaining";
pub(crate) const TOKENS_RESET: &str = "anthropic-ratelimit-tokens-reset";

/// OpenAI's rate-limit header names and Anthropic's for the same figure.
const RATE_LIMIT_NAMES: [(&str, &str); 6] = [
    (gateway::headers::LIMIT_REQUESTS, REQUESTS_LIMIT),
    (gateway::headers::REMAINING_REQUESTS, REQUESTS_REMAINING),
    (gateway::headers::RESET_REQUESTS, REQUESTS_RESET),
    (gateway::headers::LIMIT_TOKENS, TOKENS_LIMIT),
    (gateway::headers::REMAINING_TOKENS, TOKENS_REMAINING),
    (gateway::headers::RESET_TOKENS, TOKENS_RESET),
];

/// The stage headers as Anthropic's clients read them: `anthropic-ratelimit-*` names, and a
/// reset as the RFC 3339 time it happens (OpenAI's headers give the wait: `6m0s`).
fn anthropic_headers(headers: &gateway::ResponseHeaders) -> gateway::ResponseHeaders {
    let mut res = gateway::ResponseHeaders::default();
    for (name, value) in headers.iter() {
        match RATE_LIMIT_NAMES.iter().find(|(openai, _)| *openai == name) {
            None => res.set(name, value.clone()),
            Some((openai, anthropic)) if openai.starts_with("x-ratelimit-reset") => {
                let at = wait_of(&value.to_string())
                    .and_then(|wait| time::OffsetDateTime::now_utc().checked_add(wait))
                    .and_then(|at| {
                        at.replace_nanosecond(0)
                            .ok()?
                            .format(&time::format_description::well_known::Rfc3339)
                            .ok()
                    });
                if let Some(at) = at {
                    res.set(anthropic, gateway::HeaderText::Shared(Bytes::from(at)));
                }
            }
            Some((_, anthropic)) => res.set(anthropic, value.clone()),
        }
    }
    res
}

/// Reads a wait as OpenAI writes it (`20ms`, `1.5s`, `6m0s`, `1h2m3s`).
fn wait_of(text: &str) -> Option<time::Duration> {
    if let Some(ms) = text.strip_suffix("ms") {
        return ms.parse::<i64>().ok().map(time::Duration::milliseconds);
    }
    let mut total = time::Duration::ZERO;
    let mut rest = text;
    for (unit, scale) in [('h', 3_600.0), ('m', 60.0), ('s', 1.0)] {
        if let Some((amount, tail)) = rest.split_once(unit) {
            let amount: f64 = amount.parse().ok()?;
            total += time::Duration::seconds_f64(amount * scale);
            rest = tail;
        }
    }
    (rest.is_empty() && !text.is_empty()).then_some(total)
}

fn frame(event: &str, json: &[u8]) -> Bytes {
    Bytes::from(sse_frame(event, json))
}

/// The SSE body of a committed Messages stream: named events, an `error` event (then close)
/// when the upstream fails.
fn event_body(stream: Box<MessagesStream>) -> impl Stream<Item = Result<Bytes, actix_web::Error>> {
    stream.map(|item| {
        Ok(match item {
            MessagesItem::Event(name, json) => frame(name, &json),
            MessagesItem::Frame(frame) => frame,
            MessagesItem::Error(e) => {
                error::log(&e);
                frame("error", &error_json(&e))
            }
        })
    })
}

/// `POST /v1/messages`
///
/// # Errors
/// Every failure, in Anthropic's error shape.
pub(crate) async fn messages(
    req: HttpRequest,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AnthropicError> {
    let (mut ctx, body) = openai::prepare(&req, payload, &state).await?;
    ctx.anthropic_beta = betas(&req)?;
    let request: MessagesRequest = body::decode(&body)?;
    let answer = state.gateway.messages(&ctx, request).await?;
    let mut res = HttpResponse::Ok();
    error::stage_headers(&mut res, &anthropic_headers(&answer.headers));
    Ok(match answer.body {
        MessagesOutcome::Complete(json) => res
            .insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json")))
            .body(json),
        MessagesOutcome::Stream(stream) => res
            .insert_header((CONTENT_TYPE, HeaderValue::from_static("text/event-stream")))
            .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-cache")))
            .insert_header(("x-accel-buffering", HeaderValue::from_static("no")))
            .streaming(event_body(stream)),
    })
}

/// The client's `anthropic-beta` headers, checked.
fn betas(req: &HttpRequest) -> Result<Option<Betas>, Error> {
    Betas::from_headers(
        req.headers()
            .get_all("anthropic-beta")
            .map(|it| it.to_str().unwrap_or("\u{fffd}")),
    )
    .map_err(|message| Error::new(ErrorKind::InvalidRequest, message))
}

/// `POST /v1/messages/count_tokens`: the prompt's tokens, counted by an Anthropic upstream or
/// else by the gateway's tokenizer. Takes a Messages request without `max_tokens`, as
/// Anthropic's does, and the client's `anthropic-beta` features.
///
/// # Errors
/// Every failure, in Anthropic's error shape.
pub(crate) async fn count_tokens(
    req: HttpRequest,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AnthropicError> {
    let (mut ctx, body) = openai::prepare(&req, payload, &state).await?;
    ctx.anthropic_beta = betas(&req)?;
    let mut object: serde_json::Map<String, serde_json::Value> = body::decode(&body)?;
    object.entry("max_tokens").or_insert_with(|| 1.into());
    let patched = serde_json::to_vec(&object).map_err(Error::internal)?;
    let request: MessagesRequest = body::decode(&patched)?;
    let tokens = state.gateway.count_message_tokens(&ctx, request).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "input_tokens": tokens })))
}

/// Wrong methods on the Messages paths: 405 with `Allow`, in Anthropic's shape.
pub(crate) async fn method_not_allowed(
    req: HttpRequest,
    methods: &'static [&'static str],
) -> HttpResponse {
    crate::with_allow(
        AnthropicError(crate::method_error(&req, methods)).error_response(),
        methods,
    )
}

#[cfg(test)]
mod tests {
    use actix_web::body::MessageBody;

    use super::*;

    #[test]
    fn errors_have_anthropics_shape_and_types() {
        for (kind, status, name) in [
            (ErrorKind::InvalidRequest, 400, "invalid_request_error"),
            (ErrorKind::InvalidApiKey, 401, "authentication_error"),
            (ErrorKind::ModelNotAllowed, 403, "permission_error"),
            (ErrorKind::ModelNotFound, 404, "not_found_error"),
            (ErrorKind::PayloadTooLarge, 413, "request_too_large"),
            (ErrorKind::UpstreamRateLimited, 429, "rate_limit_error"),
            (ErrorKind::UpstreamError, 502, "api_error"),
            (ErrorKind::UpstreamTimeout, 504, "timeout_error"),
        ] {
            let res = AnthropicError(Error::new(kind, "m")).error_response();
            assert_eq!(res.status().as_u16(), status, "{kind:?}");
            let body = res.into_body().try_into_bytes().unwrap();
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(
                json,
                serde_json::json!({"type": "error", "error": {"type": name, "message": "m"}})
            );
        }
    }

    #[test]
    fn rate_limit_headers_take_anthropics_names_and_resets_become_times() {
        let mut headers = gateway::ResponseHeaders::default();
        headers.set(
            gateway::headers::LIMIT_REQUESTS,
            gateway::HeaderText::Number(60),
        );
        headers.set(
            gateway::headers::RESET_REQUESTS,
            gateway::HeaderText::Static("6m0s"),
        );
        headers.set("x-upstream-deployment", gateway::HeaderText::Static("a"));
        let out = anthropic_headers(&headers);
        assert_eq!(
            out.get("anthropic-ratelimit-requests-limit"),
            Some(&gateway::HeaderText::Number(60))
        );
        assert!(out.get(gateway::headers::LIMIT_REQUESTS).is_none());
        assert!(out.get("x-upstream-deployment").is_some());
        let reset = out
            .get("anthropic-ratelimit-requests-reset")
            .unwrap()
            .to_string();
        let at =
            time::OffsetDateTime::parse(&reset, &time::format_description::well_known::Rfc3339)
                .unwrap();
        let wait = at - time::OffsetDateTime::now_utc();
        assert!(
            wait > time::Duration::minutes(5) && wait <= time::Duration::minutes(6),
            "{reset}"
        );
        for (text, ms) in [
            ("20ms", 20),
            ("1.5s", 1_500),
            ("6m0s", 360_000),
            ("1h2m3s", 3_723_000),
        ] {
            assert_eq!(
                wait_of(text),
                Some(time::Duration::milliseconds(ms)),
                "{text}"
            );
        }
        for bad in ["", "soon", "5x", "1h2"] {
            assert_eq!(wait_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn events_are_framed_with_their_names() {
        assert_eq!(
            &frame("message_stop", br#"{"type":"message_stop"}"#)[..],
            b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        );
    }
}
