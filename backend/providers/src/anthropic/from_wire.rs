//! Anthropic Messages response → OpenAI-shaped chat completion, and the usage mapping shared
//! with the stream translator.

use domain::llm::{
    ChatResponse, Choice, FunctionCall, PromptTokensDetails, ResponseMessage, Role, ThinkingBlock,
    TokenCounts, ToolCall, Usage,
};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::to_wire::JSON_TOOL;
use crate::{ProviderError, UsageReport};

#[derive(Deserialize)]
pub(crate) struct Response {
    pub id: String,
    pub model: String,
    #[serde(default)]
    pub content: Vec<Value>,
    #[serde(default)]
    pub stop_reason: Option<String>,
    #[serde(default)]
    pub usage: Option<Map<String, Value>>,
}

/// Anthropic's stop reasons in OpenAI's words.
pub(crate) fn finish_reason(stop_reason: &str) -> &'static str {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        // end_turn, stop_sequence, pause_turn and anything new.
        _ => "stop",
    }
}

fn count(usage: &Map<String, Value>, field: &str) -> u64 {
    usage.get(field).and_then(Value::as_u64).unwrap_or(0)
}

/// Maps Anthropic's usage object. OpenAI's `prompt_tokens` includes cached tokens, Anthropic's
/// `input_tokens` does not: the cache reads and writes are added, and kept in the details.
pub(crate) fn usage_report(raw: &Map<String, Value>, complete: bool) -> UsageReport {
    let input = count(raw, "input_tokens");
    let cache_read = count(raw, "cache_read_input_tokens");
    let cache_write = count(raw, "cache_creation_input_tokens");
    let output = count(raw, "output_tokens");
    UsageReport {
        counts: TokenCounts {
            prompt: input + cache_read + cache_write,
            completion: output,
            cached: cache_read,
            cache_write,
            reasoning: 0,
        },
        raw: serde_json::to_string(raw).ok(),
        complete,
    }
}

/// OpenAI's usage object for Anthropic's counts; cache details always present, as Anthropic
/// always reports them.
pub(crate) fn openai_usage(counts: TokenCounts) -> Usage {
    let mut usage = Usage::new(counts.prompt, counts.completion);
    usage.prompt_tokens_details = Some(PromptTokensDetails {
        cached_tokens: Some(counts.cached),
        cache_creation_tokens: Some(counts.cache_write),
        ..PromptTokensDetails::default()
    });
    usage
}

/// # Errors
/// A response whose tool input cannot be serialized back (never expected).
pub(crate) fn from_wire(
    response: Response,
    json_mode: bool,
    created: i64,
) -> Result<(ChatResponse, Option<UsageReport>), ProviderError> {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut thinking_blocks = Vec::new();
    let mut tool_calls = Vec::new();
    for block in &response.content {
        let kind = block
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let field = |name: &str| block.get(name).and_then(Value::as_str).map(str::to_owned);
        match kind {
            "text" => text.push_str(&field("text").unwrap_or_default()),
            "thinking" => {
                let thinking = field("thinking").unwrap_or_default();
                reasoning.push_str(&thinking);
                thinking_blocks.push(ThinkingBlock {
                    kind: "thinking".into(),
                    thinking: Some(thinking),
                    signature: field("signature"),
                    data: None,
                });
            }
            "redacted_thinking" => thinking_blocks.push(ThinkingBlock {
                kind: "redacted_thinking".into(),
                thinking: None,
                signature: None,
                data: field("data"),
            }),
            "tool_use" => {
                let name = field("name").unwrap_or_default();
                let input = block
                    .get("input")
                    .cloned()
                    .unwrap_or(Value::Object(Map::new()));
                let arguments = serde_json::to_string(&input).map_err(ProviderError::decode)?;
                if json_mode && name == JSON_TOOL {
                    text.push_str(&arguments);
                } else {
                    tool_calls.push(ToolCall {
                        id: field("id").unwrap_or_default(),
                        kind: "function".into(),
                        function: FunctionCall { name, arguments },
                        extra: Map::new(),
                    });
                }
            }
            // Server tool blocks (web search results and the like) have no OpenAI form.
            _ => {}
        }
    }
    let mut finish = response
        .stop_reason
        .as_deref()
        .map(finish_reason)
        .unwrap_or("stop");
    if json_mode && finish == "tool_calls" && tool_calls.is_empty() {
        finish = "stop";
    }
    let usage = response.usage.as_ref().map(|it| usage_report(it, true));
    let res = ChatResponse {
        id: response.id,
        object: "chat.completion".into(),
        created,
        model: response.model,
        choices: vec![Choice {
            index: 0,
            message: ResponseMessage {
                role: Role::Assistant,
                content: (!text.is_empty() || tool_calls.is_empty()).then_some(text),
                refusal: None,
                tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
                reasoning_content: (!reasoning.is_empty()).then_some(reasoning),
                thinking_blocks: (!thinking_blocks.is_empty()).then_some(thinking_blocks),
            },
            finish_reason: Some(finish.to_owned()),
            logprobs: None,
        }],
        usage: usage.as_ref().map(|it| openai_usage(it.counts)),
        system_fingerprint: None,
        extra: Map::new(),
    };
    Ok((res, usage))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn text_thinking_tools_and_cache_usage_are_mapped() {
        let response: Response = serde_json::from_value(json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
            "content": [
                {"type": "thinking", "thinking": "let me see", "signature": "sig"},
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}}
            ],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 10, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 5, "output_tokens": 7}
        }))
        .unwrap();
        let (res, usage) = from_wire(response, false, 1).unwrap();
        let json = serde_json::to_value(&res).unwrap();
        assert_eq!(
            json["choices"][0],
            json!({
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Checking.",
                    "refusal": null,
                    "tool_calls": [{"id": "toolu_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}],
                    "reasoning_content": "let me see",
                    "thinking_blocks": [{"type": "thinking", "thinking": "let me see", "signature": "sig"}]
                },
                "finish_reason": "tool_calls",
                "logprobs": null
            })
        );
        assert_eq!(
            json["usage"],
            json!({"prompt_tokens": 115, "completion_tokens": 7, "total_tokens": 122,
                   "prompt_tokens_details": {"cached_tokens": 100, "cache_creation_tokens": 5}})
        );
        let usage = usage.unwrap();
        assert!(usage.raw.unwrap().contains("cache_read_input_tokens"));
    }

    #[test]
    fn json_mode_tool_becomes_content() {
        let response: Response = serde_json::from_value(json!({
            "id": "msg_1", "model": "claude-x",
            "content": [{"type": "tool_use", "id": "t", "name": JSON_TOOL, "input": {"x": 1}}],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 1, "output_tokens": 2}
        }))
        .unwrap();
        let (res, _) = from_wire(response, true, 1).unwrap();
        assert_eq!(res.choices[0].message.content.as_deref(), Some("{\"x\":1}"));
        assert_eq!(res.choices[0].message.tool_calls, None);
        assert_eq!(res.choices[0].finish_reason.as_deref(), Some("stop"));
    }

    #[test]
    fn stop_reasons_map_to_openai_finish_reasons() {
        for (anthropic, openai) in [
            ("end_turn", "stop"),
            ("stop_sequence", "stop"),
            ("max_tokens", "length"),
            ("tool_use", "tool_calls"),
            ("refusal", "content_filter"),
            ("pause_turn", "stop"),
        ] {
            assert_eq!(finish_reason(anthropic), openai);
        }
    }
}
