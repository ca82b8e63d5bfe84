//! Canonical inference types, shaped exactly like OpenAI's public schema.
//!
//! OpenAI's schema is the lingua franca of the field: clients speak it, most upstreams speak it,
//! and every other adapter translates to and from it. Using it as the canonical form means an
//! OpenAI-compatible upstream needs no translation at all, and fields the gateway does not model
//! are kept in `extra` maps and passed through untouched.

pub mod chat;
pub mod completions;
pub mod embeddings;
pub mod messages;
pub mod usage;
mod validate;

pub use chat::{
    ChatChunk, ChatRequest, ChatResponse, Choice, ChunkChoice, Content, ContentPart, Delta,
    FunctionCall, FunctionCallDelta, Message, ResponseMessage, Role, StreamOptions, ThinkingBlock,
    Tool, ToolCall, ToolCallDelta, ToolChoice,
};
pub use completions::{CompletionRequest, PromptInput};
pub use embeddings::{EmbeddingInput, EmbeddingRequest, EncodingFormat};
pub use usage::{CompletionTokensDetails, PromptTokensDetails, TokenCounts, Usage};
pub use validate::ValidationError;

/// A JSON object of fields the gateway does not model; kept and forwarded as they came.
pub type Extra = serde_json::Map<String, serde_json::Value>;
