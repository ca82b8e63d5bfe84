//! Anthropic's Messages API relayed as it is, for a client that speaks it to an Anthropic
//! upstream: nothing is translated either way, so every block and event type (citations,
//! server-tool results, types added later) reaches the client. Only what accounting needs is
//! read: usage, and the delivered text for an estimate when usage never comes.

use bytes::Bytes;
use domain::llm::messages::{MessagesRequest, sse_frame};
use serde_json::{Map, Value};

use super::from_wire::usage_report;
use crate::http::classify_stream_error;
use crate::{ProviderError, Reply, StreamEvent};

/// Checks that a non-streamed answer is a message and reads its usage; the bytes go to the
/// client untouched.
///
/// # Errors
/// An answer that is not a JSON message object.
pub(crate) fn reply(body: Bytes) -> Result<Reply, ProviderError> {
    let message: Value = serde_json::from_slice(&body).map_err(ProviderError::decode)?;
    if message.get("type").and_then(Value::as_str) != Some("message") {
        return Err(ProviderError::decode(
            "the upstream's answer is not a message",
        ));
    }
    let usage = match message.get("usage") {
        Some(Value::Object(usage)) => Some(usage_report(usage, true)),
        _ => None,
    };
    Ok(Reply {
        body,
        usage,
        usage_at: None,
    })
}

/// The fields Anthropic's token counting endpoint takes: what makes up the prompt. It refuses
/// the others (`max_tokens`, sampling, `stream`, `metadata`, …), so only these are sent.
const COUNTED_FIELDS: [&str; 8] = [
    "model",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "thinking",
    "mcp_servers",
    "context_management",
];

/// A client's request as the upstream gets it: unchanged but for the upstream's model name.
///
/// # Errors
/// When the request cannot be serialised (it always can).
pub(crate) fn relayed_body(
    mut req: MessagesRequest,
    model: &str,
) -> Result<Vec<u8>, ProviderError> {
    model.clone_into(&mut req.model);
    serde_json::to_vec(&req).map_err(ProviderError::decode)
}

/// The body for `POST /v1/messages/count_tokens`: the prompt part of a Messages request,
/// under the upstream's model name.
///
/// # Errors
/// When the request cannot be serialised (it always can).
pub(crate) fn count_body(mut req: MessagesRequest, model: &str) -> Result<Vec<u8>, ProviderError> {
    model.clone_into(&mut req.model);
    let Value::Object(mut fields) = serde_json::to_value(&req).map_err(ProviderError::decode)?
    else {
        return Err(ProviderError::decode("a Messages request is an object"));
    };
    fields.retain(|name, _| COUNTED_FIELDS.contains(&name.as_str()));
    serde_json::to_vec(&fields).map_err(ProviderError::decode)
}

/// Reads `{"input_tokens": n}`.
///
/// # Errors
/// Any other answer.
pub(crate) fn counted(body: &[u8]) -> Result<u64, ProviderError> {
    #[derive(serde::Deserialize)]
    struct Count {
        input_tokens: u64,
    }
    serde_json::from_slice::<Count>(body)
        .map(|it| it.input_tokens)
        .map_err(ProviderError::decode)
}

/// The text a message delivered (text, thinking, tool names and arguments), for a tokenizer
/// estimate when the upstream reported no usage.
pub fn message_text(body: &[u8]) -> String {
    let mut res = String::new();
    if let Ok(message) = serde_json::from_slice::<Value>(body) {
        for block in message
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for field in ["text", "thinking", "name"] {
                if let Some(text) = block.get(field).and_then(Value::as_str) {
                    res.push_str(text);
                }
            }
            if let Some(input) = block.get("input") {
                res.push_str(&input.to_string());
            }
        }
    }
    res
}

/// Usage state of one relayed stream: input tokens arrive in `message_start`, output tokens
/// in `message_delta`, and the two are merged into one report.
#[derive(Debug, Default)]
pub(crate) struct Relay {
    usage: Map<String, Value>,
}

impl Relay {
    /// One upstream event as the SSE frame the client gets, with what it tells accounting.
    ///
    /// # Errors
    /// Error events, and events whose data is not JSON.
    pub(crate) fn on_event(
        &mut self,
        event: &str,
        data: &[u8],
    ) -> Result<StreamEvent, ProviderError> {
        if event == "error" {
            return Err(classify_stream_error(data));
        }
        let value: Value = serde_json::from_slice(data).map_err(ProviderError::decode)?;
        let kind = value.get("type").and_then(Value::as_str).unwrap_or(event);
        let name = if event.is_empty() { kind } else { event };
        let mut res = StreamEvent {
            data: Bytes::from(sse_frame(name, data)),
            ..StreamEvent::default()
        };
        match kind {
            "error" => return Err(classify_stream_error(data)),
            "message_start" => {
                merge_usage(&mut self.usage, value.pointer("/message/usage"));
                // Input tokens are known now; if the stream breaks, only output is estimated.
                res.usage = Some(usage_report(&self.usage, false));
            }
            "message_delta" => {
                merge_usage(&mut self.usage, value.get("usage"));
                res.usage = Some(usage_report(&self.usage, true));
            }
            "content_block_start" => {
                if let Some(block) = value.get("content_block") {
                    for field in ["text", "name"] {
                        if let Some(text) = block.get(field).and_then(Value::as_str) {
                            res.text.push_str(text);
                        }
                    }
                }
            }
            "content_block_delta" => {
                if let Some(delta) = value.get("delta") {
                    for field in ["text", "partial_json", "thinking"] {
                        if let Some(text) = delta.get(field).and_then(Value::as_str) {
                            res.text.push_str(text);
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(res)
    }
}

/// Merges a usage object into what is known: later events carry cumulative counts, and a
/// null never erases a known count.
pub(crate) fn merge_usage(known: &mut Map<String, Value>, usage: Option<&Value>) {
    if let Some(Value::Object(fields)) = usage {
        for (key, value) in fields {
            if !value.is_null() {
                known.insert(key.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ProviderErrorKind;

    fn relay(events: &[(&str, Value)]) -> Vec<StreamEvent> {
        let mut relay = Relay::default();
        events
            .iter()
            .map(|(name, data)| {
                relay
                    .on_event(name, serde_json::to_string(data).unwrap().as_bytes())
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn events_pass_as_they_came_with_usage_merged_across_start_and_delta() {
        let citation = json!({"type": "content_block_delta", "index": 1, "delta": {"type": "citations_delta", "citation": {"type": "char_location", "cited_text": "x", "document_index": 0}}});
        let events = relay(&[
            (
                "message_start",
                json!({"type": "message_start", "message": {"id": "msg_1", "usage": {"input_tokens": 12, "cache_read_input_tokens": 3, "output_tokens": 1}}}),
            ),
            ("ping", json!({"type": "ping"})),
            (
                "content_block_start",
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}}),
            ),
            ("content_block_delta", citation.clone()),
            (
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 2, "delta": {"type": "text_delta", "text": "Grüße ✓"}}),
            ),
            (
                "message_delta",
                json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 9, "input_tokens": null}}),
            ),
            ("message_stop", json!({"type": "message_stop"})),
        ]);
        let frame = String::from_utf8(events[3].data.to_vec()).unwrap();
        assert_eq!(
            frame,
            format!("event: content_block_delta\ndata: {citation}\n\n"),
            "an event type the gateway does not model passes untouched"
        );
        let start = events[0].usage.as_ref().unwrap();
        assert!(!start.complete);
        assert_eq!((start.counts.prompt, start.counts.cached), (15, 3));
        let end = events[5].usage.as_ref().unwrap();
        assert!(end.complete);
        assert_eq!(
            (end.counts.prompt, end.counts.completion, end.counts.cached),
            (15, 9, 3),
            "a null in message_delta keeps message_start's input count"
        );
        let text: String = events.iter().map(|it| it.text.as_str()).collect();
        assert_eq!(text, "web_searchGrüße ✓");
        assert!(events.iter().all(|it| !it.usage_only));
    }

    #[test]
    fn an_event_without_a_name_is_named_by_its_type() {
        let events = relay(&[("", json!({"type": "message_stop"}))]);
        assert!(events[0].data.starts_with(b"event: message_stop\n"));
    }

    #[test]
    fn error_events_and_broken_data_end_the_stream_with_an_error() {
        let mut relay = Relay::default();
        let overloaded =
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        let e = relay.on_event("error", overloaded).unwrap_err();
        assert_eq!(e.kind, ProviderErrorKind::Overloaded);
        assert_eq!(
            relay.on_event("", overloaded).unwrap_err().kind,
            ProviderErrorKind::Overloaded
        );
        assert_eq!(
            relay
                .on_event("content_block_delta", b"{not json")
                .unwrap_err()
                .kind,
            ProviderErrorKind::Decode
        );
    }

    #[test]
    fn only_the_prompt_is_sent_for_counting() {
        let req: MessagesRequest = serde_json::from_value(json!({
            "model": "claude", "max_tokens": 1, "stream": true, "temperature": 0.2, "top_k": 3,
            "stop_sequences": ["#"], "metadata": {"user_id": "u"},
            "system": "Be brief.", "messages": [{"role": "user", "content": "Hi"}],
            "tools": [{"name": "f", "input_schema": {"type": "object"}}],
            "tool_choice": {"type": "auto"}, "thinking": {"type": "enabled", "budget_tokens": 1024}
        }))
        .unwrap();
        let body: Value =
            serde_json::from_slice(&count_body(req.clone(), "claude-x").unwrap()).unwrap();
        assert_eq!(
            body,
            json!({
                "model": "claude-x", "system": "Be brief.",
                "messages": [{"role": "user", "content": "Hi"}],
                "tools": [{"name": "f", "input_schema": {"type": "object"}}],
                "tool_choice": {"type": "auto"}, "thinking": {"type": "enabled", "budget_tokens": 1024}
            })
        );
        let relayed: Value =
            serde_json::from_slice(&relayed_body(req, "claude-x").unwrap()).unwrap();
        assert_eq!(relayed["model"], "claude-x");
        assert_eq!(
            (relayed["max_tokens"].clone(), relayed["top_k"].clone()),
            (json!(1), json!(3))
        );
        assert_eq!(counted(br#"{"input_tokens": 2095}"#).unwrap(), 2095);
        for bad in [&b"{}"[..], br#"{"input_tokens": -1}"#, b"<html>"] {
            assert_eq!(counted(bad).unwrap_err().kind, ProviderErrorKind::Decode);
        }
    }

    #[test]
    fn a_message_is_passed_on_with_its_usage_and_anything_else_is_refused() {
        let body = Bytes::from(
            json!({"type": "message", "id": "msg_1", "content": [{"type": "text", "text": "hi", "citations": [{"type": "char_location"}]}], "usage": {"input_tokens": 4, "output_tokens": 2}})
                .to_string(),
        );
        let reply = reply(body.clone()).unwrap();
        assert_eq!(reply.body, body, "the bytes are not rewritten");
        let usage = reply.usage.unwrap();
        assert_eq!((usage.counts.prompt, usage.counts.completion), (4, 2));
        for bad in [&b"<html>"[..], br#"{"type":"error"}"#, b"[1]"] {
            assert_eq!(
                super::reply(Bytes::from_static(bad)).unwrap_err().kind,
                ProviderErrorKind::Decode
            );
        }
        assert_eq!(
            message_text(br#"{"content":[{"type":"text","text":"a"},{"type":"tool_use","name":"f","input":{"x":1}}]}"#),
            "af{\"x\":1}"
        );
    }
}
