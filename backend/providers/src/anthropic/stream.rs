//! Anthropic's stream events → OpenAI `chat.completion.chunk`s.
//!
//! Anthropic reports input tokens in `message_start` and output tokens in `message_delta`;
//! both are merged here into one usage report, so that a streamed call is billed exactly like
//! the same call made without streaming.

use std::collections::HashMap;

use bytes::Bytes;
use domain::llm::{
    ChatChunk, ChunkChoice, Delta, FunctionCallDelta, Role, ThinkingBlock, ToolCallDelta,
};
use serde_json::{Map, Value};

use super::from_wire::{finish_reason, openai_usage, usage_report};
use super::native::merge_usage;
use super::to_wire::JSON_TOOL;
use crate::http::classify_stream_error;
use crate::{ProviderError, StreamEvent, UsageReport};

/// What a content block index stands for in OpenAI terms.
#[derive(Debug, Clone, Copy)]
enum BlockRole {
    Text,
    Thinking,
    /// A tool call with its position among this message's tool calls.
    Tool(u32),
    /// The JSON-mode tool, whose arguments stream out as content.
    JsonContent,
    Other,
}

/// Translation state for one stream.
#[derive(Debug)]
pub(crate) struct Translator {
    id: String,
    model: String,
    created: i64,
    json_mode: bool,
    blocks: HashMap<u64, BlockRole>,
    next_tool: u32,
    usage: Map<String, Value>,
    finish: Option<&'static str>,
}

impl Translator {
    pub(crate) fn new(json_mode: bool, created: i64) -> Self {
        Translator {
            id: String::new(),
            model: String::new(),
            created,
            json_mode,
            blocks: HashMap::new(),
            next_tool: 0,
            usage: Map::new(),
            finish: None,
        }
    }

    fn chunk(&self, delta: Delta, finish: Option<&str>) -> ChatChunk {
        ChatChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".into(),
            created: self.created,
            model: self.model.clone(),
            choices: vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason: finish.map(str::to_owned),
                logprobs: None,
            }],
            usage: None,
            system_fingerprint: None,
        }
    }

    fn event(chunk: &ChatChunk, text: String) -> Result<StreamEvent, ProviderError> {
        Ok(StreamEvent {
            data: Bytes::from(serde_json::to_vec(chunk).map_err(ProviderError::decode)?),
            usage: None,
            usage_only: false,
            text,
        })
    }

    /// Translates one upstream event into zero or more chunks.
    ///
    /// # Errors
    /// Error events and events that are not valid JSON.
    pub(crate) fn on_event(
        &mut self,
        event: &str,
        data: &[u8],
    ) -> Result<Option<StreamEvent>, ProviderError> {
        if event == "ping" {
            return Ok(None);
        }
        let value: Value = serde_json::from_slice(data).map_err(ProviderError::decode)?;
        let kind = value.get("type").and_then(Value::as_str).unwrap_or(event);
        match kind {
            "message_start" => {
                let message = value.get("message").cloned().unwrap_or(Value::Null);
                let field = |name: &str| {
                    message
                        .get(name)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                self.id = field("id");
                self.model = field("model");
                merge_usage(&mut self.usage, message.get("usage"));
                let delta = Delta {
                    role: Some(Role::Assistant),
                    content: Some(String::new()),
                    ..Delta::default()
                };
                let mut res = Self::event(&self.chunk(delta, None), String::new())?;
                // Input tokens are known now; if the stream breaks, only output is estimated.
                res.usage = Some(usage_report(&self.usage, false));
                Ok(Some(res))
            }
            "content_block_start" => {
                let index = value.get("index").and_then(Value::as_u64).unwrap_or(0);
                let block = value.get("content_block").cloned().unwrap_or(Value::Null);
                let block_type = block
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let field = |name: &str| block.get(name).and_then(Value::as_str).map(str::to_owned);
                match block_type {
                    "text" => {
                        self.blocks.insert(index, BlockRole::Text);
                        match field("text").filter(|it| !it.is_empty()) {
                            Some(text) => self.text_delta(text).map(Some),
                            None => Ok(None),
                        }
                    }
                    "thinking" => {
                        self.blocks.insert(index, BlockRole::Thinking);
                        Ok(None)
                    }
                    "redacted_thinking" => {
                        self.blocks.insert(index, BlockRole::Other);
                        let delta = Delta {
                            thinking_blocks: Some(vec![ThinkingBlock {
                                kind: "redacted_thinking".into(),
                                thinking: None,
                                signature: None,
                                data: field("data"),
                            }]),
                            ..Delta::default()
                        };
                        Self::event(&self.chunk(delta, None), String::new()).map(Some)
                    }
                    "tool_use" => {
                        let name = field("name").unwrap_or_default();
                        if self.json_mode && name == JSON_TOOL {
                            self.blocks.insert(index, BlockRole::JsonContent);
                            return Ok(None);
                        }
                        let position = self.next_tool;
                        self.next_tool += 1;
                        self.blocks.insert(index, BlockRole::Tool(position));
                        let delta = Delta {
                            tool_calls: Some(vec![ToolCallDelta {
                                index: position,
                                id: field("id"),
                                kind: Some("function".into()),
                                function: Some(FunctionCallDelta {
                                    name: Some(name.clone()),
                                    arguments: Some(String::new()),
                                }),
                            }]),
                            ..Delta::default()
                        };
                        Self::event(&self.chunk(delta, None), name).map(Some)
                    }
                    _ => {
                        self.blocks.insert(index, BlockRole::Other);
                        Ok(None)
                    }
                }
            }
            "content_block_delta" => {
                let index = value.get("index").and_then(Value::as_u64).unwrap_or(0);
                let delta = value.get("delta").cloned().unwrap_or(Value::Null);
                let field = |name: &str| {
                    delta
                        .get(name)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                let role = self.blocks.get(&index).copied().unwrap_or(BlockRole::Other);
                match (
                    delta
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                    role,
                ) {
                    ("text_delta", _) => self.text_delta(field("text")).map(Some),
                    ("input_json_delta", BlockRole::JsonContent) => {
                        self.text_delta(field("partial_json")).map(Some)
                    }
                    ("input_json_delta", BlockRole::Tool(position)) => {
                        let partial = field("partial_json");
                        let delta = Delta {
                            tool_calls: Some(vec![ToolCallDelta {
                                index: position,
                                id: None,
                                kind: None,
                                function: Some(FunctionCallDelta {
                                    name: None,
                                    arguments: Some(partial.clone()),
                                }),
                            }]),
                            ..Delta::default()
                        };
                        Self::event(&self.chunk(delta, None), partial).map(Some)
                    }
                    ("thinking_delta", _) => {
                        let thinking = field("thinking");
                        let delta = Delta {
                            reasoning_content: Some(thinking.clone()),
                            ..Delta::default()
                        };
                        Self::event(&self.chunk(delta, None), thinking).map(Some)
                    }
                    ("signature_delta", _) => {
                        let delta = Delta {
                            thinking_blocks: Some(vec![ThinkingBlock {
                                kind: "thinking".into(),
                                thinking: Some(String::new()),
                                signature: Some(field("signature")),
                                data: None,
                            }]),
                            ..Delta::default()
                        };
                        Self::event(&self.chunk(delta, None), String::new()).map(Some)
                    }
                    _ => Ok(None),
                }
            }
            "message_delta" => {
                merge_usage(&mut self.usage, value.get("usage"));
                let stop = value
                    .get("delta")
                    .and_then(|it| it.get("stop_reason"))
                    .and_then(Value::as_str)
                    .map(finish_reason)
                    .unwrap_or("stop");
                let stop = if self.json_mode && stop == "tool_calls" && self.next_tool == 0 {
                    "stop"
                } else {
                    stop
                };
                self.finish = Some(stop);
                let mut res =
                    Self::event(&self.chunk(Delta::default(), Some(stop)), String::new())?;
                res.usage = Some(self.final_usage());
                Ok(Some(res))
            }
            "message_stop" => {
                let report = self.final_usage();
                let chunk = ChatChunk {
                    choices: Vec::new(),
                    usage: Some(openai_usage(report.counts)),
                    ..self.chunk(Delta::default(), None)
                };
                let mut res = Self::event(&chunk, String::new())?;
                res.usage_only = true;
                res.usage = Some(report);
                Ok(Some(res))
            }
            "error" => Err(classify_stream_error(data)),
            // content_block_stop and event types added later carry nothing for OpenAI clients.
            _ => Ok(None),
        }
    }

    fn text_delta(&self, text: String) -> Result<StreamEvent, ProviderError> {
        let delta = Delta {
            content: Some(text.clone()),
            ..Delta::default()
        };
        Self::event(&self.chunk(delta, None), text)
    }

    fn final_usage(&self) -> UsageReport {
        usage_report(&self.usage, true)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(events: &[(&str, Value)], json_mode: bool) -> Vec<StreamEvent> {
        let mut translator = Translator::new(json_mode, 7);
        events
            .iter()
            .filter_map(|(name, data)| {
                translator
                    .on_event(name, serde_json::to_string(data).unwrap().as_bytes())
                    .unwrap()
            })
            .collect()
    }

    fn data(events: &[StreamEvent]) -> Vec<Value> {
        events
            .iter()
            .map(|it| serde_json::from_slice(&it.data).unwrap())
            .collect()
    }

    #[test]
    fn text_tool_calls_and_usage_translate() {
        let events = run(
            &[
                (
                    "message_start",
                    json!({"type": "message_start", "message": {"id": "msg_1", "model": "claude-x", "usage": {"input_tokens": 12, "cache_read_input_tokens": 3, "output_tokens": 1}}}),
                ),
                (
                    "content_block_start",
                    json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
                ),
                ("ping", json!({"type": "ping"})),
                (
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
                ),
                (
                    "content_block_stop",
                    json!({"type": "content_block_stop", "index": 0}),
                ),
                (
                    "content_block_start",
                    json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {}}}),
                ),
                (
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"city\":"}}),
                ),
                (
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "\"Paris\"}"}}),
                ),
                (
                    "content_block_start",
                    json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_2", "name": "time", "input": {}}}),
                ),
                (
                    "message_delta",
                    json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 30}}),
                ),
                ("message_stop", json!({"type": "message_stop"})),
            ],
            false,
        );
        let chunks = data(&events);
        assert_eq!(
            chunks[0]["choices"][0]["delta"],
            json!({"role": "assistant", "content": ""})
        );
        assert_eq!(chunks[0]["id"], json!("msg_1"));
        assert_eq!(chunks[1]["choices"][0]["delta"], json!({"content": "Hi"}));
        assert_eq!(
            chunks[2]["choices"][0]["delta"],
            json!({"tool_calls": [{"index": 0, "id": "toolu_1", "type": "function", "function": {"name": "weather", "arguments": ""}}]})
        );
        assert_eq!(
            chunks[4]["choices"][0]["delta"],
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]})
        );
        assert_eq!(
            chunks[5]["choices"][0]["delta"]["tool_calls"][0]["index"],
            json!(1)
        );
        assert_eq!(
            chunks[6]["choices"][0]["finish_reason"],
            json!("tool_calls")
        );
        assert_eq!(chunks[7]["choices"], json!([]));
        assert_eq!(
            chunks[7]["usage"],
            json!({"prompt_tokens": 15, "completion_tokens": 30, "total_tokens": 45,
                   "prompt_tokens_details": {"cached_tokens": 3, "cache_creation_tokens": 0}})
        );
        assert!(events[7].usage_only);
        assert!(!events[0].usage.as_ref().unwrap().complete);
        assert!(events[6].usage.as_ref().unwrap().complete);
        let text: String = events.iter().map(|it| it.text.as_str()).collect();
        assert_eq!(text, "Hiweather{\"city\":\"Paris\"}time");
    }

    #[test]
    fn thinking_streams_as_reasoning_with_signature() {
        let events = run(
            &[
                (
                    "message_start",
                    json!({"type": "message_start", "message": {"id": "m", "model": "c", "usage": {"input_tokens": 1}}}),
                ),
                (
                    "content_block_start",
                    json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
                ),
                (
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hmm"}}),
                ),
                (
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig"}}),
                ),
            ],
            false,
        );
        let chunks = data(&events);
        assert_eq!(
            chunks[1]["choices"][0]["delta"],
            json!({"reasoning_content": "hmm"})
        );
        assert_eq!(
            chunks[2]["choices"][0]["delta"],
            json!({"thinking_blocks": [{"type": "thinking", "thinking": "", "signature": "sig"}]})
        );
    }

    #[test]
    fn json_mode_arguments_stream_as_content() {
        let events = run(
            &[
                (
                    "message_start",
                    json!({"type": "message_start", "message": {"id": "m", "model": "c", "usage": {"input_tokens": 1}}}),
                ),
                (
                    "content_block_start",
                    json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "t", "name": JSON_TOOL, "input": {}}}),
                ),
                (
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"x\":1}"}}),
                ),
                (
                    "message_delta",
                    json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 5}}),
                ),
            ],
            true,
        );
        let chunks = data(&events);
        assert_eq!(
            chunks[1]["choices"][0]["delta"],
            json!({"content": "{\"x\":1}"})
        );
        assert_eq!(chunks[2]["choices"][0]["finish_reason"], json!("stop"));
    }

    #[test]
    fn error_events_become_errors() {
        let mut translator = Translator::new(false, 0);
        let err = translator
            .on_event(
                "error",
                br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            )
            .unwrap_err();
        assert_eq!(err.kind, crate::ProviderErrorKind::Overloaded);
    }
}
