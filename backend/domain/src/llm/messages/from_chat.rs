//! Canonical chat completion → Anthropic message.

use serde_json::{Map, Value, json};

use crate::llm::{ChatResponse, ResponseMessage, ThinkingBlock, Usage};

/// Anthropic's `stop_reason` for an OpenAI `finish_reason`.
pub fn stop_reason(finish_reason: Option<&str>) -> &'static str {
    match finish_reason {
        Some("length") => "max_tokens",
        Some("tool_calls" | "function_call") => "tool_use",
        Some("content_filter") => "refusal",
        _ => "end_turn",
    }
}

/// Anthropic's usage object. OpenAI's `prompt_tokens` includes cache reads and writes,
/// Anthropic's `input_tokens` does not: they are taken out and reported beside it.
pub fn usage_from_chat(usage: Option<&Usage>) -> Value {
    let usage = usage.cloned().unwrap_or_default();
    let cache_read = usage.cached_tokens();
    let cache_write = usage.cache_creation_tokens();
    json!({
        "input_tokens": usage.prompt_tokens.saturating_sub(cache_read + cache_write),
        "output_tokens": usage.completion_tokens,
        "cache_creation_input_tokens": cache_write,
        "cache_read_input_tokens": cache_read,
    })
}

/// Anthropic message ids start with `msg_`; other ids get the prefix.
pub(super) fn message_id(id: &str) -> String {
    if id.starts_with("msg_") {
        id.to_owned()
    } else {
        format!("msg_{id}")
    }
}

/// A thinking block as Anthropic sends it.
pub(super) fn thinking_block(block: &ThinkingBlock) -> Value {
    if block.kind == "redacted_thinking" {
        json!({"type": "redacted_thinking", "data": block.data.clone().unwrap_or_default()})
    } else {
        json!({
            "type": "thinking",
            "thinking": block.thinking.clone().unwrap_or_default(),
            "signature": block.signature.clone().unwrap_or_default(),
        })
    }
}

/// Tool arguments as the `input` object; arguments that are not a JSON object (a model's
/// mistake) are kept as text under `arguments` rather than dropped.
pub(super) fn tool_input(arguments: &str) -> Value {
    let trimmed = arguments.trim();
    if trimmed.is_empty() {
        return json!({});
    }
    match serde_json::from_str::<Value>(trimmed) {
        Ok(value @ Value::Object(_)) => value,
        _ => json!({ "arguments": arguments }),
    }
}

fn content_blocks(message: &ResponseMessage) -> Vec<Value> {
    let mut blocks = Vec::new();
    match &message.thinking_blocks {
        Some(thinking) if !thinking.is_empty() => {
            blocks.extend(thinking.iter().map(thinking_block))
        }
        // Reasoning text without a signature (DeepSeek, vLLM) is shown as thinking too.
        _ => {
            if let Some(reasoning) = message
                .reasoning_content
                .as_deref()
                .filter(|it| !it.is_empty())
            {
                blocks.push(json!({"type": "thinking", "thinking": reasoning, "signature": ""}));
            }
        }
    }
    let text = message
        .content
        .as_deref()
        .or(message.refusal.as_deref())
        .unwrap_or_default();
    if !text.is_empty() {
        blocks.push(json!({"type": "text", "text": text}));
    }
    for call in message.tool_calls.iter().flatten() {
        blocks.push(json!({
            "type": "tool_use",
            "id": call.id,
            "name": call.function.name,
            "input": tool_input(&call.function.arguments),
        }));
    }
    blocks
}

/// The Anthropic message for a chat completion (its first choice: Anthropic has no `n`).
pub fn message_from_chat(res: &ChatResponse) -> Value {
    let choice = res.choices.first();
    let content = choice
        .map(|it| content_blocks(&it.message))
        .unwrap_or_default();
    let mut message = Map::new();
    message.insert("id".into(), message_id(&res.id).into());
    message.insert("type".into(), "message".into());
    message.insert("role".into(), "assistant".into());
    message.insert("model".into(), res.model.clone().into());
    message.insert("content".into(), Value::Array(content));
    message.insert(
        "stop_reason".into(),
        stop_reason(choice.and_then(|it| it.finish_reason.as_deref())).into(),
    );
    message.insert("stop_sequence".into(), Value::Null);
    message.insert("usage".into(), usage_from_chat(res.usage.as_ref()));
    Value::Object(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(body: Value) -> ChatResponse {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn text_tool_calls_thinking_and_usage_become_an_anthropic_message() {
        let res = response(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-x",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": "Checking.",
                "thinking_blocks": [{"type": "thinking", "thinking": "hmm", "signature": "s"}],
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "call_2", "type": "function", "function": {"name": "weather", "arguments": "not json"}}
                ]}}],
            "usage": {"prompt_tokens": 115, "completion_tokens": 7, "total_tokens": 122,
                      "prompt_tokens_details": {"cached_tokens": 100, "cache_creation_tokens": 5}}
        }));
        assert_eq!(
            message_from_chat(&res),
            json!({
                "id": "msg_chatcmpl-1", "type": "message", "role": "assistant", "model": "gpt-x",
                "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "s"},
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "call_2", "name": "weather", "input": {"arguments": "not json"}}
                ],
                "stop_reason": "tool_use", "stop_sequence": null,
                "usage": {"input_tokens": 10, "output_tokens": 7,
                          "cache_creation_input_tokens": 5, "cache_read_input_tokens": 100}
            })
        );
    }

    #[test]
    fn stop_reasons_and_reasoning_text() {
        assert_eq!(stop_reason(Some("stop")), "end_turn");
        assert_eq!(stop_reason(Some("length")), "max_tokens");
        assert_eq!(stop_reason(Some("content_filter")), "refusal");
        assert_eq!(stop_reason(None), "end_turn");
        let res = response(json!({
            "id": "msg_9", "object": "chat.completion", "created": 1, "model": "r1",
            "choices": [{"index": 0, "finish_reason": "length", "message": {
                "role": "assistant", "content": null, "reasoning_content": "thinking aloud"}}]
        }));
        let message = message_from_chat(&res);
        assert_eq!(message["id"], "msg_9");
        assert_eq!(
            message["content"],
            json!([{"type": "thinking", "thinking": "thinking aloud", "signature": ""}])
        );
        assert_eq!(message["stop_reason"], "max_tokens");
        assert_eq!(message["usage"]["input_tokens"], 0);
    }
}
