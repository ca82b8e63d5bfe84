//! Anthropic's Messages API (`POST /v1/messages`) as a client-facing dialect: the request a
//! client sends, its translation into the canonical chat request (`to_chat`), and the canonical
//! answer back into Anthropic's message (`from_chat`) or event stream (`stream`).
//!
//! Clients written against Anthropic's SDKs then reach every upstream the gateway routes to;
//! Anthropic-only fields (`cache_control`, `thinking`, server tools, document blocks) ride in
//! the canonical request's `extra` maps, so an Anthropic upstream gets them back as sent.

mod beta;
mod from_chat;
mod stream;
mod to_chat;

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::Extra;

pub use beta::Betas;
pub use from_chat::{message_from_chat, stop_reason, usage_from_chat};
pub use stream::{Event, StreamTranslator};
pub use to_chat::to_chat;

/// A `POST /v1/messages` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagesRequest {
    pub model: String,
    pub messages: Vec<InputMessage>,
    /// Required by Anthropic, so required here: a client written for Anthropic always sends it.
    pub max_tokens: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<System>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<ToolDefinition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// `{"type": "enabled", "budget_tokens": n}` or `{"type": "disabled"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl MessagesRequest {
    pub fn is_stream(&self) -> bool {
        self.stream == Some(true)
    }
}

/// One event framed as Anthropic's streams send it: `event:` with its name, `data:` with its
/// JSON on one line, then a blank line.
pub fn sse_frame(event: &str, data: &[u8]) -> Vec<u8> {
    let mut res = Vec::with_capacity(data.len() + event.len() + 16);
    res.extend_from_slice(b"event: ");
    res.extend_from_slice(event.as_bytes());
    res.extend_from_slice(b"\ndata: ");
    res.extend_from_slice(data);
    res.extend_from_slice(b"\n\n");
    res
}

/// `system`: a string or a list of text blocks (which may carry `cache_control`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum System {
    Text(String),
    Blocks(Vec<Block>),
}

impl<'de> Deserialize<'de> for System {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (text, blocks) = deserializer.deserialize_any(TextOrBlocks(PhantomData))?;
        Ok(text.map_or(System::Blocks(blocks), System::Text))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputRole {
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputMessage {
    pub role: InputRole,
    pub content: InputContent,
}

/// Message content: a string or a list of blocks.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum InputContent {
    Text(String),
    Blocks(Vec<Block>),
}

impl<'de> Deserialize<'de> for InputContent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (text, blocks) = deserializer.deserialize_any(TextOrBlocks(PhantomData))?;
        Ok(text.map_or(InputContent::Blocks(blocks), InputContent::Text))
    }
}

/// Reads a string or a list of blocks, so that a wrong type is named plainly (an untagged
/// enum would only say that no variant matched) and a bad block is reported at its index.
struct TextOrBlocks<'a>(PhantomData<&'a ()>);

impl<'de> Visitor<'de> for TextOrBlocks<'_> {
    type Value = (Option<String>, Vec<Block>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an array of content blocks")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok((Some(v.to_owned()), Vec::new()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok((Some(v), Vec::new()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut blocks = Vec::with_capacity(seq.size_hint().unwrap_or(1));
        while let Some(block) = seq.next_element()? {
            blocks.push(block);
        }
        Ok((None, blocks))
    }
}

/// One content block of any type (`text`, `image`, `document`, `tool_use`, `tool_result`,
/// `thinking`, `redacted_thinking`, and types the gateway does not model, kept whole).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Block {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Where an image's or a document's bytes are: `base64`, `url`, `text` or `content`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Value>,
    /// A `tool_use` block's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A `tool_use` block's arguments, a JSON object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
    /// A `tool_result` block's content: a string or a list of blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// A `redacted_thinking` block's payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// `cache_control`, `citations`, `title`, `context`, and whatever else a block carries.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A tool the model may call: a client tool (`name`, `input_schema`) or, with a `type`, one of
/// Anthropic's server tools, which only an Anthropic upstream can run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDefinition {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `tool_choice`: `auto`, `any`, `none`, or `tool` with a name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolChoice {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_parallel_tool_use: Option<bool>,
    /// Fields added later, kept for an upstream that relays the request.
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}
