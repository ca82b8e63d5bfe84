//! The built-in `mock` provider: deterministic answers with no network, so that a fresh
//! install answers its first request offline and tests have a predictable upstream.
//!
//! Replies echo the last user message, tool-enabled requests get a tool call, usage counts
//! words (not real tokens, but stable), and `max_tokens` truncates with `finish_reason: length`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use bytes::Bytes;
use domain::llm::chat::{ChatChunk, ChunkChoice, Delta, FunctionCallDelta, ToolCallDelta};
use domain::llm::completions::{CompletionChoice, CompletionResponse};
use domain::llm::embeddings::{Embedding, EmbeddingResponse, EmbeddingVector};
use domain::llm::{
    ChatRequest, ChatResponse, Choice, CompletionRequest, Content, EmbeddingRequest,
    EncodingFormat, FunctionCall, ResponseMessage, Role, TokenCounts, ToolCall, ToolChoice, Usage,
};
use serde::Serialize;

use crate::{Call, EventStream, ProviderError, Reply, StreamEvent, UsageReport};

/// Embedding size when the request does not ask for `dimensions`.
const DEFAULT_DIMENSIONS: usize = 16;
/// Longest echo of the user's message.
const ECHO_CHARS: usize = 200;

#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Delay before the answer (or the first chunk).
    pub latency: Duration,
    /// Delay between streamed chunks.
    pub chunk_delay: Duration,
}

#[derive(Debug, Clone)]
pub struct Mock {
    config: Config,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|it| i64::try_from(it.as_secs()).unwrap_or(0))
        .unwrap_or(0)
}

fn words(text: &str) -> u64 {
    u64::try_from(text.split_whitespace().count()).unwrap_or(u64::MAX)
}

fn to_bytes(value: &impl Serialize) -> Result<Bytes, ProviderError> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(ProviderError::decode)
}

fn report(usage: Usage) -> Option<UsageReport> {
    Some(UsageReport {
        raw: serde_json::to_string(&usage).ok(),
        counts: TokenCounts::from(&usage),
        complete: true,
    })
}

/// What the mock answers to a chat request.
enum Answer {
    Text { text: String, finish: &'static str },
    ToolCall { name: String },
}

impl Mock {
    pub fn new(config: Config) -> Self {
        Mock { config }
    }

    fn prompt_tokens(req: &ChatRequest) -> u64 {
        req.messages
            .iter()
            .map(|it| 3 + it.content.as_ref().map_or(0, |c| words(&c.joined_text())))
            .sum()
    }

    fn answer(req: &ChatRequest) -> Answer {
        let last = req.messages.last();
        let wants_tool = match &req.tool_choice {
            Some(ToolChoice::Mode(mode)) => mode != "none",
            _ => true,
        };
        if let Some(tools) = req.tools.as_ref().filter(|it| !it.is_empty())
            && wants_tool
            && last.is_some_and(|it| it.role == Role::User)
        {
            let named = match &req.tool_choice {
                Some(ToolChoice::Named(named)) => named.function.as_ref().map(|it| it.name.clone()),
                _ => None,
            };
            let first = tools
                .iter()
                .find_map(|it| it.function.as_ref().map(|f| f.name.clone()));
            if let Some(name) = named.or(first) {
                return Answer::ToolCall { name };
            }
        }
        let said = last
            .and_then(|it| it.content.as_ref())
            .map(Content::joined_text)
            .unwrap_or_default();
        let said: String = said.chars().take(ECHO_CHARS).collect();
        let mut text = match last.map(|it| it.role) {
            Some(Role::Tool) => format!("The tool returned: {said}"),
            _ => format!("This is a mock reply to: {said}"),
        };
        if req
            .response_format
            .as_ref()
            .is_some_and(|it| it.kind != "text")
        {
            text = serde_json::json!({ "reply": text }).to_string();
        }
        let mut finish = "stop";
        if let Some(cap) = req.output_cap() {
            let cap = usize::try_from(cap).unwrap_or(usize::MAX);
            let all: Vec<&str> = text.split_whitespace().collect();
            if all.len() > cap {
                text = all[..cap].join(" ");
                finish = "length";
            }
        }
        Answer::Text { text, finish }
    }

    pub(crate) async fn chat(
        &self,
        req: &ChatRequest,
        call: Call<'_>,
    ) -> Result<Reply, ProviderError> {
        tokio::time::sleep(self.config.latency).await;
        let n = req.n.unwrap_or(1);
        let answer = Self::answer(req);
        let (message, finish, completion) = match &answer {
            Answer::Text { text, finish } => (
                ResponseMessage {
                    role: Role::Assistant,
                    content: Some(text.clone()),
                    refusal: None,
                    tool_calls: None,
                    reasoning_content: None,
                    thinking_blocks: None,
                },
                *finish,
                words(text),
            ),
            Answer::ToolCall { name } => (
                ResponseMessage {
                    role: Role::Assistant,
                    content: None,
                    refusal: None,
                    tool_calls: Some(vec![ToolCall {
                        id: "call_mock_0".into(),
                        kind: "function".into(),
                        function: FunctionCall {
                            name: name.clone(),
                            arguments: "{}".into(),
                        },
                        extra: serde_json::Map::new(),
                    }]),
                    reasoning_content: None,
                    thinking_blocks: None,
                },
                "tool_calls",
                2,
            ),
        };
        let usage = Usage::new(Self::prompt_tokens(req), completion * u64::from(n));
        let res = ChatResponse {
            id: "chatcmpl-mock".into(),
            object: "chat.completion".into(),
            created: unix_now(),
            model: call.upstream_model.to_owned(),
            choices: (0..n)
                .map(|index| Choice {
                    index,
                    message: message.clone(),
                    finish_reason: Some(finish.to_owned()),
                    logprobs: None,
                })
                .collect(),
            usage: Some(usage.clone()),
            system_fingerprint: None,
            extra: serde_json::Map::new(),
        };
        Ok(Reply {
            body: to_bytes(&res)?,
            usage: report(usage),
            usage_at: None,
        })
    }

    pub(crate) async fn chat_stream(
        &self,
        req: &ChatRequest,
        call: Call<'_>,
    ) -> Result<EventStream, ProviderError> {
        tokio::time::sleep(self.config.latency).await;
        let created = unix_now();
        let chunk = |delta: Delta, finish: Option<&str>| ChatChunk {
            id: "chatcmpl-mock".into(),
            object: "chat.completion.chunk".into(),
            created,
            model: call.upstream_model.to_owned(),
            choices: vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason: finish.map(str::to_owned),
                logprobs: None,
            }],
            usage: None,
            system_fingerprint: None,
        };
        let mut events = vec![event(
            &chunk(
                Delta {
                    role: Some(Role::Assistant),
                    content: Some(String::new()),
                    ..Delta::default()
                },
                None,
            ),
            String::new(),
        )?];
        let (finish, completion) = match Self::answer(req) {
            Answer::Text { text, finish } => {
                let pieces: Vec<String> = text.split_inclusive(' ').map(str::to_owned).collect();
                for piece in pieces {
                    let delta = Delta {
                        content: Some(piece.clone()),
                        ..Delta::default()
                    };
                    events.push(event(&chunk(delta, None), piece)?);
                }
                (finish, words(&text))
            }
            Answer::ToolCall { name } => {
                let start = Delta {
                    tool_calls: Some(vec![ToolCallDelta {
                        index: 0,
                        id: Some("call_mock_0".into()),
                        kind: Some("function".into()),
                        function: Some(FunctionCallDelta {
                            name: Some(name.clone()),
                            arguments: Some(String::new()),
                        }),
                    }]),
                    ..Delta::default()
                };
                events.push(event(&chunk(start, None), name)?);
                let args = Delta {
                    tool_calls: Some(vec![ToolCallDelta {
                        index: 0,
                        id: None,
                        kind: None,
                        function: Some(FunctionCallDelta {
                            name: None,
                            arguments: Some("{}".into()),
                        }),
                    }]),
                    ..Delta::default()
                };
                events.push(event(&chunk(args, None), "{}".into())?);
                ("tool_calls", 2)
            }
        };
        events.push(event(
            &chunk(Delta::default(), Some(finish)),
            String::new(),
        )?);
        let usage = Usage::new(Self::prompt_tokens(req), completion);
        let usage_chunk = ChatChunk {
            choices: Vec::new(),
            usage: Some(usage.clone()),
            ..chunk(Delta::default(), None)
        };
        let mut last = event(&usage_chunk, String::new())?;
        last.usage_only = true;
        last.usage = report(usage);
        events.push(last);
        Ok(paced(events, self.config.chunk_delay))
    }

    fn completion_text(req: &CompletionRequest) -> (String, &'static str) {
        let prompt: String = req.prompt.joined_text().chars().take(ECHO_CHARS).collect();
        let text = format!("This is a mock completion of: {prompt}");
        match req
            .max_tokens
            .map(|it| usize::try_from(it).unwrap_or(usize::MAX))
        {
            Some(cap) if text.split_whitespace().count() > cap => (
                text.split_whitespace()
                    .take(cap)
                    .collect::<Vec<_>>()
                    .join(" "),
                "length",
            ),
            _ => (text, "stop"),
        }
    }

    pub(crate) async fn completion(
        &self,
        req: &CompletionRequest,
        call: Call<'_>,
    ) -> Result<Reply, ProviderError> {
        tokio::time::sleep(self.config.latency).await;
        let (text, finish) = Self::completion_text(req);
        let usage = Usage::new(words(&req.prompt.joined_text()).max(1), words(&text));
        let res = CompletionResponse {
            id: "cmpl-mock".into(),
            object: "text_completion".into(),
            created: unix_now(),
            model: call.upstream_model.to_owned(),
            choices: vec![CompletionChoice {
                text,
                index: 0,
                logprobs: None,
                finish_reason: Some(finish.into()),
            }],
            usage: Some(usage.clone()),
        };
        Ok(Reply {
            body: to_bytes(&res)?,
            usage: report(usage),
            usage_at: None,
        })
    }

    pub(crate) async fn completion_stream(
        &self,
        req: &CompletionRequest,
        call: Call<'_>,
    ) -> Result<EventStream, ProviderError> {
        tokio::time::sleep(self.config.latency).await;
        let (text, finish) = Self::completion_text(req);
        let created = unix_now();
        let chunk = |text: &str, finish: Option<&str>, usage: Option<Usage>| CompletionResponse {
            id: "cmpl-mock".into(),
            object: "text_completion".into(),
            created,
            model: call.upstream_model.to_owned(),
            choices: if usage.is_some() {
                Vec::new()
            } else {
                vec![CompletionChoice {
                    text: text.to_owned(),
                    index: 0,
                    logprobs: None,
                    finish_reason: finish.map(str::to_owned),
                }]
            },
            usage,
        };
        let mut events = Vec::new();
        for piece in text.split_inclusive(' ') {
            events.push(event(&chunk(piece, None, None), piece.to_owned())?);
        }
        events.push(event(&chunk("", Some(finish), None), String::new())?);
        let usage = Usage::new(words(&req.prompt.joined_text()).max(1), words(&text));
        let mut last = event(&chunk("", None, Some(usage.clone())), String::new())?;
        last.usage_only = true;
        last.usage = report(usage);
        events.push(last);
        Ok(paced(events, self.config.chunk_delay))
    }

    pub(crate) fn embed(
        &self,
        req: &EmbeddingRequest,
        call: Call<'_>,
    ) -> Result<Reply, ProviderError> {
        let dimensions = req
            .dimensions
            .map_or(DEFAULT_DIMENSIONS, |it| {
                usize::try_from(it).unwrap_or(DEFAULT_DIMENSIONS)
            })
            .min(4096);
        let texts = req.input.texts();
        let data = texts
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let vector = embedding_of(text, dimensions);
                let embedding = match req.encoding_format {
                    Some(EncodingFormat::Base64) => {
                        let bytes: Vec<u8> =
                            vector.iter().flat_map(|it| it.to_le_bytes()).collect();
                        EmbeddingVector::Base64(
                            base64::engine::general_purpose::STANDARD.encode(bytes),
                        )
                    }
                    _ => EmbeddingVector::Float(vector),
                };
                Embedding {
                    object: "embedding".into(),
                    index: u32::try_from(i).unwrap_or(u32::MAX),
                    embedding,
                }
            })
            .collect();
        let prompt_tokens: u64 = texts.iter().map(|it| words(it).max(1)).sum();
        let usage = Usage {
            prompt_tokens,
            total_tokens: prompt_tokens,
            ..Usage::default()
        };
        let res = EmbeddingResponse {
            object: "list".into(),
            data,
            model: call.upstream_model.to_owned(),
            usage: usage.clone(),
        };
        Ok(Reply {
            body: to_bytes(&res)?,
            usage: report(usage),
            usage_at: None,
        })
    }
}

fn event(chunk: &impl Serialize, text: String) -> Result<StreamEvent, ProviderError> {
    Ok(StreamEvent {
        data: to_bytes(chunk)?,
        usage: None,
        usage_only: false,
        text,
    })
}

/// Emits prepared events, `delay` apart.
fn paced(events: Vec<StreamEvent>, delay: Duration) -> EventStream {
    Box::pin(futures_util::stream::unfold(
        events.into_iter(),
        move |mut events| async move {
            let next = events.next()?;
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Some((Ok(next), events))
        },
    ))
}

/// A unit vector derived from the text by a fixed pseudo-random walk (FNV-1a seeded xorshift).
fn embedding_of(text: &str, dimensions: usize) -> Vec<f32> {
    let mut state: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        state ^= u64::from(byte);
        state = state.wrapping_mul(0x0100_0000_01b3);
    }
    let mut values: Vec<f32> = (0..dimensions)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // The top 24 bits give a float in [-1, 1) exactly.
            let top = u32::try_from(state >> 40).unwrap_or(0);
            (top as f32 / 8_388_608.0) - 1.0
        })
        .collect();
    let norm = values.iter().map(|it| it * it).sum::<f32>().sqrt();
    if norm > 0.0 {
        for value in &mut values {
            *value /= norm;
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddings_are_deterministic_unit_vectors() {
        let a = embedding_of("hello", 8);
        assert_eq!(a, embedding_of("hello", 8));
        assert_ne!(a, embedding_of("hello!", 8));
        let norm: f32 = a.iter().map(|it| it * it).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
    }
}
