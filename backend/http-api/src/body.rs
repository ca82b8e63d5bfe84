//! Request bodies: bounded reading at a minimum pace, content-type checks, and JSON decoding
//! whose errors name the offending field (`messages[0].content`).

use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::web::{BytesMut, Payload};
use futures_util::{FutureExt as _, StreamExt};
use gateway::{Error, ErrorKind};
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::AppState;

/// How fast a request body must arrive: a body may take `grace` plus the time it needs at
/// `min_bytes_per_sec`, and not a moment more. Headers have their own timeout (actix's); this
/// is what keeps a client sending one byte every few seconds from holding a connection, and a
/// file descriptor, forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyPace {
    pub grace: Duration,
    pub min_bytes_per_sec: u64,
}

impl Default for BodyPace {
    fn default() -> Self {
        BodyPace {
            grace: Duration::from_secs(10),
            min_bytes_per_sec: 1024,
        }
    }
}

impl BodyPace {
    /// When the body must be complete, having received `received` bytes since `started`.
    fn deadline(&self, started: Instant, received: usize) -> Instant {
        let received = u64::try_from(received).unwrap_or(u64::MAX);
        let at_pace =
            Duration::from_millis(received.saturating_mul(1000) / self.min_bytes_per_sec.max(1));
        started + self.grace + at_pace
    }
}

fn too_slow(pace: &BodyPace) -> Error {
    Error::new(
        ErrorKind::RequestTimeout,
        format!(
            "the request body arrived too slowly (it may take {} s plus one second per {} bytes)",
            pace.grace.as_secs(),
            pace.min_bytes_per_sec
        ),
    )
}

fn too_large(limit: usize) -> Error {
    Error::new(
        ErrorKind::PayloadTooLarge,
        format!("the request body is larger than the limit of {limit} bytes"),
    )
}

/// Reads a JSON body, refusing more than `limit` bytes before reading them.
///
/// The body must be declared as JSON (`application/json`, with or without parameters, or a
/// `+json` type): a missing `content-type` is refused like a wrong one, on the data plane as on
/// the management API. The official SDKs always send it; `curl -d` without `-H` sends a form
/// type, which could never be decoded as JSON; and one rule for every endpoint keeps the
/// documented contract simple.
///
/// # Errors
/// `UnsupportedMediaType` without a JSON `content-type`, `PayloadTooLarge`, or
/// `InvalidRequest` when the body breaks off.
pub async fn read_json_body(
    req: &HttpRequest,
    payload: Payload,
    limit: usize,
) -> Result<bytes::Bytes, Error> {
    if !is_json(req) {
        return Err(Error::new(
            ErrorKind::UnsupportedMediaType,
            "send the request body as JSON with `content-type: application/json`",
        ));
    }
    read_bounded(req, payload, limit).await
}

/// Whether the request declares a JSON body.
fn is_json(req: &HttpRequest) -> bool {
    let Some(content_type) = req.headers().get(CONTENT_TYPE) else {
        return false;
    };
    let essence = content_type
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

/// Reads the whole body of any type, refusing more than `limit` bytes before reading them, and
/// a body slower than the app's [`BodyPace`].
///
/// # Errors
/// `PayloadTooLarge`, `RequestTimeout`, or `InvalidRequest` when the body breaks off.
pub async fn read_bounded(
    req: &HttpRequest,
    mut payload: Payload,
    limit: usize,
) -> Result<bytes::Bytes, Error> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|it| it.to_str().ok())
        .and_then(|it| it.parse::<usize>().ok());
    if declared.is_some_and(|it| it > limit) {
        return Err(too_large(limit));
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(1024).min(limit));
    // The clock starts at the first read that has to wait: a body that is here already (most
    // are, whole) costs no timer and no clock reading.
    let mut clock: Option<(BodyPace, Instant)> = None;
    loop {
        let next = match payload.next().now_or_never() {
            Some(next) => next,
            None => {
                let (pace, started) = *clock.get_or_insert_with(|| {
                    let pace = req
                        .app_data::<actix_web::web::Data<AppState>>()
                        .map(|state| state.body_pace)
                        .unwrap_or_default();
                    (pace, Instant::now())
                });
                tokio::time::timeout_at(pace.deadline(started, body.len()), payload.next())
                    .await
                    .map_err(|_| too_slow(&pace))?
            }
        };
        let Some(chunk) = next else {
            break;
        };
        let chunk = chunk.map_err(|e| {
            Error::new(
                ErrorKind::InvalidRequest,
                "the request body could not be read",
            )
            .with_detail(e.to_string())
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Decodes a JSON object into `T`, naming the failing field in the error.
///
/// # Errors
/// `InvalidRequest` for empty bodies, invalid JSON, non-objects, wrong types and missing fields.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    let trimmed = body.trim_ascii();
    if trimmed.is_empty() {
        return Err(Error::invalid(
            "",
            "the request body is empty; send a JSON object",
        ));
    }
    if trimmed[0] != b'{' {
        // Either not JSON at all, or JSON that is not an object.
        return match serde_json::from_slice::<serde::de::IgnoredAny>(trimmed) {
            Ok(_) => Err(Error::invalid("", "the request body must be a JSON object")),
            Err(e) => Err(invalid_json(&e)),
        };
    }
    // The fast path parses once; only a failure pays for a second, path-tracking parse that
    // names the field.
    if let Ok(value) = serde_json::from_slice(trimmed) {
        return Ok(value);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(trimmed);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return invalid_json(&inner);
        }
        field_error(&path, &inner.to_string())
    })?;
    deserializer.end().map_err(|e| invalid_json(&e))?;
    Ok(value)
}

/// How many arrays and objects deep a body may nest: serde_json stops at its recursion limit
/// of 128, which keeps a hostile body from exhausting the stack.
const MAX_DEPTH: usize = 127;

fn invalid_json(e: &serde_json::Error) -> Error {
    // serde_json reports its recursion limit as a syntax error; the body may be valid JSON, so
    // say what is really wrong. Its message is the only place that tells the two apart.
    if e.to_string().starts_with("recursion limit exceeded") {
        return Error::invalid(
            "",
            format!(
                "the request body is nested too deeply: arrays and objects may nest at most {MAX_DEPTH} levels (line {}, column {})",
                e.line(),
                e.column()
            ),
        );
    }
    Error::invalid(
        "",
        format!(
            "the request body is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ),
    )
}

/// Turns serde's message into one that names the field, without its source position.
fn field_error(path: &str, serde_message: &str) -> Error {
    let message = serde_message
        .split(" at line ")
        .next()
        .unwrap_or(serde_message)
        .to_owned();
    let path = if path == "." { "" } else { path };
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        let param = if path.is_empty() {
            field.to_owned()
        } else {
            format!("{path}.{field}")
        };
        return Error::invalid(param.clone(), format!("`{param}` is required"));
    }
    if let Some(field) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
    {
        // serde_path_to_error already points at the unknown field itself.
        let param = if path.is_empty() {
            field.to_owned()
        } else if path == field || path.ends_with(&format!(".{field}")) {
            path.to_owned()
        } else {
            format!("{path}.{field}")
        };
        return Error::invalid(
            param.clone(),
            format!("`{param}` is not a known field: {message}"),
        );
    }
    if path.is_empty() {
        return Error::invalid("", format!("invalid request body: {message}"));
    }
    Error::invalid(path, format!("invalid value for `{path}`: {message}"))
}

#[cfg(test)]
mod tests {
    use domain::llm::{ChatRequest, EmbeddingRequest};

    use super::*;

    fn chat_error(body: &str) -> (String, String) {
        let e = decode::<ChatRequest>(body.as_bytes()).unwrap_err();
        (e.param.unwrap_or_default(), e.message)
    }

    #[test]
    fn syntax_errors_say_invalid_json_with_position() {
        let (param, message) = chat_error("{\"model\": \"m\",");
        assert_eq!(param, "");
        assert!(
            message.starts_with("the request body is not valid JSON"),
            "{message}"
        );
        assert!(chat_error("not json").1.contains("not valid JSON"));
        assert!(
            chat_error(r#"{"model": "m", "messages": []} trailing"#)
                .1
                .contains("not valid JSON")
        );
        assert_eq!(
            chat_error("[1, 2]").1,
            "the request body must be a JSON object"
        );
        assert_eq!(
            chat_error("   ").1,
            "the request body is empty; send a JSON object"
        );
    }

    #[test]
    fn json_nested_past_the_limit_is_too_deep_not_invalid() {
        let nested = |depth: usize| {
            format!(
                "{{\"model\": \"m\", \"messages\": [], \"x\": {}{}}}",
                "[".repeat(depth),
                "]".repeat(depth)
            )
        };
        // The object counts as a level, so this is `MAX_DEPTH` levels in all.
        assert!(decode::<ChatRequest>(nested(MAX_DEPTH - 1).as_bytes()).is_ok());
        let (param, message) = chat_error(&nested(MAX_DEPTH));
        assert_eq!(param, "");
        assert!(message.contains("nested too deeply"), "{message}");
        // A body that is not an object is refused as such, however deep (serde_json skips it
        // without recursing).
        let deep_array = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(
            chat_error(&deep_array).1,
            "the request body must be a JSON object"
        );
    }

    #[test]
    fn wrong_types_and_missing_fields_name_the_field() {
        assert_eq!(
            chat_error(r#"{"model": "m", "messages": [{"role": "user", "content": 5}]}"#).0,
            "messages[0].content"
        );
        assert_eq!(chat_error(r#"{"model": 5, "messages": []}"#).0, "model");
        assert_eq!(
            chat_error(r#"{"messages": []}"#),
            ("model".into(), "`model` is required".into())
        );
        assert_eq!(
            chat_error(r#"{"model": "m", "messages": [{"content": "x"}]}"#).0,
            "messages[0].role"
        );
        let (param, message) =
            chat_error(r#"{"model": "m", "messages": [{"role": "robot", "content": "x"}]}"#);
        assert_eq!(param, "messages[0].role");
        assert!(message.contains("unknown variant `robot`"), "{message}");
        assert_eq!(
            chat_error(r#"{"model": "m", "messages": [], "max_tokens": -1}"#).0,
            "max_tokens"
        );
        assert_eq!(
            chat_error(r#"{"model": "m", "messages": [], "temperature": "hot"}"#).0,
            "temperature"
        );
        assert_eq!(
            chat_error(r#"{"model": "m", "messages": [], "stream": "yes"}"#).0,
            "stream"
        );
        let e = decode::<EmbeddingRequest>(br#"{"model": "e", "input": {"a": 1}}"#).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("input"));
    }

    #[test]
    fn unicode_and_unknown_fields_are_accepted() {
        let req: ChatRequest = decode(
            "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"héllo 租户 🦀\"}], \"x_custom\": {\"y\": [1]}}".as_bytes(),
        )
        .unwrap();
        assert_eq!(req.extra["x_custom"]["y"][0], 1);
    }
}
