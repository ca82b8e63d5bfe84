//! Canonical `chat.completion.chunk` stream → Anthropic's stream events.
//!
//! Anthropic streams a message as `message_start`, then for each content block a
//! `content_block_start`, its deltas and a `content_block_stop`, then `message_delta` (stop
//! reason and usage) and `message_stop`. OpenAI chunks carry text, reasoning and tool-call
//! fragments side by side, so the translator opens and closes blocks as the kind of fragment
//! changes. Blocks cannot be reopened: a fragment of an earlier tool call arriving after a
//! later one started (no server sends that) is dropped and counted in `dropped_fragments`.

use serde_json::{Value, json};

use super::from_chat::{message_id, stop_reason, thinking_block, usage_from_chat};
use crate::llm::{ChatChunk, Delta, Usage};

/// One Anthropic stream event: its `event:` name and its JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: &'static str,
    pub data: Value,
}

impl Event {
    fn new(name: &'static str, data: Value) -> Self {
        Event { name, data }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Text,
    Thinking,
    /// A tool call, by its OpenAI `index`.
    Tool(u32),
}

/// Turns one canonical chunk stream into Anthropic events, keeping the block state between
/// chunks.
#[derive(Debug)]
pub struct StreamTranslator {
    fallback_id: String,
    fallback_model: String,
    started: bool,
    open: Option<Open>,
    /// The index the next content block gets.
    next_index: u32,
    /// OpenAI tool-call indexes already given a block.
    tools_seen: Vec<u32>,
    stop_reason: Option<&'static str>,
    usage: Option<Usage>,
    pub dropped_fragments: u32,
}

impl StreamTranslator {
    /// `fallback_id` and `fallback_model` name the message when no chunk does.
    pub fn new(fallback_id: String, fallback_model: String) -> Self {
        StreamTranslator {
            fallback_id,
            fallback_model,
            started: false,
            open: None,
            next_index: 0,
            tools_seen: Vec::new(),
            stop_reason: None,
            usage: None,
            dropped_fragments: 0,
        }
    }

    fn start(&mut self, id: &str, model: &str, out: &mut Vec<Event>) {
        if self.started {
            return;
        }
        self.started = true;
        let id = if id.is_empty() { &self.fallback_id } else { id };
        let model = if model.is_empty() {
            self.fallback_model.as_str()
        } else {
            model
        };
        out.push(Event::new(
            "message_start",
            json!({"type": "message_start", "message": {
                "id": message_id(id), "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": 0, "output_tokens": 0},
            }}),
        ));
    }

    fn close(&mut self, out: &mut Vec<Event>) {
        if self.open.take().is_some() {
            out.push(Event::new(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": self.next_index - 1}),
            ));
        }
    }

    /// Makes `kind` the open block, starting it with `block` if another one is open.
    fn ensure(&mut self, kind: Open, block: impl FnOnce() -> Value, out: &mut Vec<Event>) -> u32 {
        if self.open != Some(kind) {
            self.close(out);
            out.push(Event::new(
                "content_block_start",
                json!({"type": "content_block_start", "index": self.next_index, "content_block": block()}),
            ));
            self.open = Some(kind);
            self.next_index += 1;
        }
        self.next_index - 1
    }

    fn delta(index: u32, delta: Value, out: &mut Vec<Event>) {
        out.push(Event::new(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": index, "delta": delta}),
        ));
    }

    /// The events for one chunk, appended to `out`.
    pub fn on_chunk(&mut self, chunk: &ChatChunk, out: &mut Vec<Event>) {
        self.start(&chunk.id, &chunk.model, out);
        if let Some(usage) = &chunk.usage {
            self.usage = Some(usage.clone());
        }
        for choice in chunk.choices.iter().filter(|it| it.index == 0) {
            self.on_delta(&choice.delta, out);
            if let Some(reason) = &choice.finish_reason {
                self.stop_reason = Some(stop_reason(Some(reason)));
                self.close(out);
            }
        }
    }

    fn on_delta(&mut self, delta: &Delta, out: &mut Vec<Event>) {
        let thinking_start = || json!({"type": "thinking", "thinking": "", "signature": ""});
        if let Some(text) = delta
            .reasoning_content
            .as_deref()
            .filter(|it| !it.is_empty())
        {
            let index = self.ensure(Open::Thinking, thinking_start, out);
            Self::delta(
                index,
                json!({"type": "thinking_delta", "thinking": text}),
                out,
            );
        }
        for block in delta.thinking_blocks.iter().flatten() {
            if block.kind == "redacted_thinking" {
                self.close(out);
                self.ensure(Open::Thinking, || thinking_block(block), out);
                self.close(out);
                continue;
            }
            if let Some(text) = block.thinking.as_deref().filter(|it| !it.is_empty()) {
                let index = self.ensure(Open::Thinking, thinking_start, out);
                Self::delta(
                    index,
                    json!({"type": "thinking_delta", "thinking": text}),
                    out,
                );
            }
            if let Some(signature) = block.signature.as_deref().filter(|it| !it.is_empty()) {
                let index = self.ensure(Open::Thinking, thinking_start, out);
                Self::delta(
                    index,
                    json!({"type": "signature_delta", "signature": signature}),
                    out,
                );
            }
        }
        if let Some(text) = delta.content.as_deref().filter(|it| !it.is_empty()) {
            let index = self.ensure(Open::Text, || json!({"type": "text", "text": ""}), out);
            Self::delta(index, json!({"type": "text_delta", "text": text}), out);
        }
        for call in delta.tool_calls.iter().flatten() {
            let arguments = call
                .function
                .as_ref()
                .and_then(|it| it.arguments.as_deref())
                .unwrap_or_default();
            let index = if self.open == Some(Open::Tool(call.index)) {
                self.next_index - 1
            } else if self.tools_seen.contains(&call.index) {
                self.dropped_fragments += 1;
                continue;
            } else {
                self.tools_seen.push(call.index);
                let id = call
                    .id
                    .clone()
                    .unwrap_or_else(|| format!("toolu_{}", call.index));
                let name = call
                    .function
                    .as_ref()
                    .and_then(|it| it.name.clone())
                    .unwrap_or_default();
                self.ensure(
                    Open::Tool(call.index),
                    || json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
                    out,
                )
            };
            if !arguments.is_empty() {
                Self::delta(
                    index,
                    json!({"type": "input_json_delta", "partial_json": arguments}),
                    out,
                );
            }
        }
    }

    /// The closing events, once the upstream stream has ended.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        self.start("", "", out);
        self.close(out);
        let mut usage = usage_from_chat(self.usage.as_ref());
        if self.usage.is_none()
            && let Some(object) = usage.as_object_mut()
        {
            // Counted by the gateway's tokenizer instead; say nothing rather than zero.
            object.remove("input_tokens");
            object.remove("cache_creation_input_tokens");
            object.remove("cache_read_input_tokens");
        }
        out.push(Event::new(
            "message_delta",
            json!({"type": "message_delta",
                   "delta": {"stop_reason": self.stop_reason.unwrap_or("end_turn"), "stop_sequence": null},
                   "usage": usage}),
        ));
        out.push(Event::new("message_stop", json!({"type": "message_stop"})));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[Value]) -> Vec<Value> {
        let mut translator = StreamTranslator::new("req-1".into(), "alias".into());
        let mut out = Vec::new();
        for chunk in chunks {
            let chunk: ChatChunk = serde_json::from_value(chunk.clone()).unwrap();
            translator.on_chunk(&chunk, &mut out);
        }
        translator.finish(&mut out);
        out.into_iter()
            .map(|it| {
                assert_eq!(it.data["type"], it.name);
                it.data
            })
            .collect()
    }

    fn chunk(delta: Value, finish: Option<&str>) -> Value {
        json!({"id": "chatcmpl-7", "object": "chat.completion.chunk", "created": 1, "model": "gpt-x",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    }

    #[test]
    fn thinking_text_and_parallel_tool_calls_become_blocks_in_order() {
        let events = run(&[
            chunk(json!({"role": "assistant"}), None),
            chunk(json!({"reasoning_content": "hm"}), None),
            chunk(
                json!({"thinking_blocks": [{"type": "thinking", "thinking": "", "signature": "sig"}]}),
                None,
            ),
            chunk(json!({"content": "Hel"}), None),
            chunk(json!({"content": "lo"}), None),
            chunk(
                json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "weather", "arguments": ""}}]}),
                None,
            ),
            chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}),
                None,
            ),
            chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}),
                None,
            ),
            chunk(
                json!({"tool_calls": [{"index": 1, "id": "call_2", "function": {"name": "weather", "arguments": "{}"}}]}),
                None,
            ),
            chunk(json!({}), Some("tool_calls")),
            json!({"id": "chatcmpl-7", "object": "chat.completion.chunk", "created": 1, "model": "gpt-x", "choices": [],
                   "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29,
                             "prompt_tokens_details": {"cached_tokens": 4}}}),
        ]);
        let kinds: Vec<String> = events
            .iter()
            .map(|it| {
                let delta = it["delta"]["type"]
                    .as_str()
                    .or(it["content_block"]["type"].as_str());
                format!(
                    "{}{}",
                    it["type"].as_str().unwrap(),
                    delta.map(|d| format!(":{d}")).unwrap_or_default()
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "message_start",
                "content_block_start:thinking",
                "content_block_delta:thinking_delta",
                "content_block_delta:signature_delta",
                "content_block_stop",
                "content_block_start:text",
                "content_block_delta:text_delta",
                "content_block_delta:text_delta",
                "content_block_stop",
                "content_block_start:tool_use",
                "content_block_delta:input_json_delta",
                "content_block_delta:input_json_delta",
                "content_block_stop",
                "content_block_start:tool_use",
                "content_block_delta:input_json_delta",
                "content_block_stop",
                "message_delta",
                "message_stop",
            ]
        );
        assert_eq!(events[0]["message"]["id"], "msg_chatcmpl-7");
        assert_eq!(events[0]["message"]["model"], "gpt-x");
        assert_eq!(events[9]["index"], 2);
        assert_eq!(
            events[9]["content_block"],
            json!({"type": "tool_use", "id": "call_1", "name": "weather", "input": {}})
        );
        assert_eq!(events[11]["delta"]["partial_json"], "\"Paris\"}");
        assert_eq!(events[13]["index"], 3);
        assert_eq!(
            events[15],
            json!({"type": "content_block_stop", "index": 3})
        );
        assert_eq!(
            events[16],
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
                   "usage": {"input_tokens": 16, "output_tokens": 9, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 4}})
        );
    }

    #[test]
    fn an_empty_stream_still_opens_and_closes_a_message() {
        let events = run(&[]);
        assert_eq!(events[0]["message"]["id"], "msg_req-1");
        assert_eq!(events[0]["message"]["model"], "alias");
        assert_eq!(events[1]["delta"]["stop_reason"], "end_turn");
        // No usage arrived: the counts the gateway does not know are left out.
        assert_eq!(events[1]["usage"], json!({"output_tokens": 0}));
        assert_eq!(events[2]["type"], "message_stop");
    }

    #[test]
    fn late_fragments_of_a_finished_call_are_dropped_not_misplaced() {
        let mut translator = StreamTranslator::new("r".into(), "m".into());
        let mut out = Vec::new();
        for delta in [
            json!({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": "{"}}]}),
            json!({"tool_calls": [{"index": 1, "id": "b", "function": {"name": "g", "arguments": "{}"}}]}),
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "}"}}]}),
            json!({"redacted_thinking": null, "thinking_blocks": [{"type": "redacted_thinking", "data": "xx"}]}),
        ] {
            let chunk: ChatChunk = serde_json::from_value(chunk(delta, None)).unwrap();
            translator.on_chunk(&chunk, &mut out);
        }
        assert_eq!(translator.dropped_fragments, 1);
        let redacted = out
            .iter()
            .find(|it| it.data["content_block"]["type"] == "redacted_thinking")
            .unwrap();
        assert_eq!(redacted.data["content_block"]["data"], "xx");
    }
}
