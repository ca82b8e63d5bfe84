//! Upstream model providers behind one interface.
//!
//! Each upstream has its own module with private wire types; the rest of the gateway sees only
//! [`Provider`] and the canonical types of `domain::llm`. Providers receive resolved credentials
//! and know nothing about tenants, keys or databases.
//!
//! Every provider answers in the canonical (OpenAI-shaped) JSON: an OpenAI-compatible upstream's
//! bytes are forwarded as they came, other upstreams are translated. Alongside the bytes each
//! answer carries what accounting needs (usage, delivered text), so the gateway never re-parses.

pub mod anthropic;
mod error;
pub mod http;
pub mod json_scan;
pub mod mock;
pub mod openai;
pub mod sse;
mod stream;

use std::pin::Pin;
use std::time::Instant;

use bytes::Bytes;
use domain::llm::{ChatRequest, CompletionRequest, EmbeddingRequest, TokenCounts};
use futures_util::Stream;

pub use error::{ProviderError, ProviderErrorKind, error_chain};
pub use http::{Reach, Timeouts, Trust};

/// The kinds of upstream, a closed set so every capability decision is an exhaustive match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    OpenAi,
    AzureOpenAi,
    OpenAiCompatible,
    Anthropic,
    Mock,
}

impl ProviderKind {
    /// A bounded label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::AzureOpenAi => "azure_openai",
            ProviderKind::OpenAiCompatible => "openai_compatible",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Mock => "mock",
        }
    }
}

/// Which endpoints a provider serves natively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    pub chat: bool,
    /// Legacy text completions; when false the gateway serves them through chat.
    pub completions: bool,
    pub embeddings: bool,
    /// Anthropic's Messages API, relayed without translation; when false the gateway serves
    /// it through chat.
    pub messages: bool,
}

/// Token usage as reported by the upstream, with its raw JSON kept for audits.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageReport {
    pub counts: TokenCounts,
    /// The provider's own usage object, verbatim.
    pub raw: Option<String>,
    /// False when only part of the usage is known (for example Anthropic's input tokens from
    /// `message_start` before the stream was cut); the gateway estimates the rest.
    pub complete: bool,
}

/// A non-streamed answer: canonical JSON ready for the client, plus its usage.
#[derive(Debug, Clone)]
pub struct Reply {
    pub body: Bytes,
    pub usage: Option<UsageReport>,
    /// Where `usage`'s object lies in `body` (from its `{` to past its `}`), when the body is
    /// the provider's own and its scan found it: the price is written there without a
    /// second scan.
    pub usage_at: Option<std::ops::Range<usize>>,
}

/// One event of a streamed answer.
#[derive(Debug, Clone, Default)]
pub struct StreamEvent {
    /// One canonical chunk (`chat.completion.chunk` or `text_completion`), as JSON; in a
    /// relayed Messages stream, one complete SSE frame as the upstream sent it.
    pub data: Bytes,
    /// Usage carried by this chunk, if any.
    pub usage: Option<UsageReport>,
    /// The chunk exists only to carry usage (no choices): dropped when the client did not ask
    /// for `stream_options.include_usage`.
    pub usage_only: bool,
    /// The text this chunk delivered (content, reasoning, tool names and arguments), for a
    /// tokenizer estimate when the upstream never reports usage.
    pub text: String,
}

/// A stream of canonical chunks. The first item has already been received when a provider
/// returns one, so a failure before it is an `Err` from the call (the commit point).
pub type EventStream = Pin<Box<dyn Stream<Item = Result<StreamEvent, ProviderError>> + Send>>;

/// The per-call facts a provider needs besides the request.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The upstream's own model name (or Azure deployment).
    pub upstream_model: &'a str,
    /// When the whole call must be over.
    pub deadline: Instant,
    /// Beta features the client asked for (`anthropic-beta`); only Anthropic upstreams use them.
    pub anthropic_beta: Option<&'a domain::llm::messages::Betas>,
}

/// A configured upstream. Dispatch is a `match`, not a trait object: the set is closed.
#[derive(Debug, Clone)]
pub enum Provider {
    OpenAi(openai::OpenAi),
    Anthropic(anthropic::Anthropic),
    Mock(mock::Mock),
}

/// What a provider without Anthropic's Messages API answers a relayed call with.
fn no_messages_api() -> ProviderError {
    ProviderError::unsupported("this provider does not speak Anthropic's Messages API")
}

impl Provider {
    pub fn kind(&self) -> ProviderKind {
        match self {
            Provider::OpenAi(it) => it.kind(),
            Provider::Anthropic(_) => ProviderKind::Anthropic,
            Provider::Mock(_) => ProviderKind::Mock,
        }
    }

    pub fn capabilities(&self) -> Capabilities {
        match self.kind() {
            ProviderKind::OpenAi
            | ProviderKind::AzureOpenAi
            | ProviderKind::OpenAiCompatible
            | ProviderKind::Mock => Capabilities {
                chat: true,
                completions: true,
                embeddings: true,
                messages: false,
            },
            ProviderKind::Anthropic => Capabilities {
                chat: true,
                completions: false,
                embeddings: false,
                messages: true,
            },
        }
    }

    /// # Errors
    /// Upstream failures, timeouts, and requests the provider cannot express.
    pub async fn chat(&self, req: &ChatRequest, call: Call<'_>) -> Result<Reply, ProviderError> {
        match self {
            Provider::OpenAi(it) => it.chat(req, call).await,
            Provider::Anthropic(it) => it.chat(req, call).await,
            Provider::Mock(it) => it.chat(req, call).await,
        }
    }

    /// Starts a stream and waits for its first event.
    ///
    /// # Errors
    /// Everything that goes wrong before the first event arrives.
    pub async fn chat_stream(
        &self,
        req: &ChatRequest,
        call: Call<'_>,
    ) -> Result<EventStream, ProviderError> {
        let stream = match self {
            Provider::OpenAi(it) => it.chat_stream(req, call).await?,
            Provider::Anthropic(it) => it.chat_stream(req, call).await?,
            Provider::Mock(it) => it.chat_stream(req, call).await?,
        };
        stream::peek_first(stream, call.deadline, self.timeouts()).await
    }

    /// # Errors
    /// Upstream failures; `Unsupported` when `capabilities().completions` is false.
    pub async fn completion(
        &self,
        req: &CompletionRequest,
        call: Call<'_>,
    ) -> Result<Reply, ProviderError> {
        match self {
            Provider::OpenAi(it) => it.completion(req, call).await,
            Provider::Mock(it) => it.completion(req, call).await,
            Provider::Anthropic(_) => Err(ProviderError::unsupported(
                "this provider has no text completions endpoint",
            )),
        }
    }

    /// # Errors
    /// Everything that goes wrong before the first event; `Unsupported` as for `completion`.
    pub async fn completion_stream(
        &self,
        req: &CompletionRequest,
        call: Call<'_>,
    ) -> Result<EventStream, ProviderError> {
        let stream = match self {
            Provider::OpenAi(it) => it.completion_stream(req, call).await?,
            Provider::Mock(it) => it.completion_stream(req, call).await?,
            Provider::Anthropic(_) => {
                return Err(ProviderError::unsupported(
                    "this provider has no text completions endpoint",
                ));
            }
        };
        stream::peek_first(stream, call.deadline, self.timeouts()).await
    }

    /// A Messages call relayed as it is: the reply's body is the upstream's message.
    ///
    /// # Errors
    /// Upstream failures; `Unsupported` when `capabilities().messages` is false.
    pub async fn messages(
        &self,
        req: domain::llm::messages::MessagesRequest,
        call: Call<'_>,
    ) -> Result<Reply, ProviderError> {
        match self {
            Provider::Anthropic(it) => it.messages(req, call).await,
            Provider::OpenAi(_) | Provider::Mock(_) => Err(no_messages_api()),
        }
    }

    /// A Messages prompt's tokens, counted by the upstream.
    ///
    /// # Errors
    /// Upstream failures; `Unsupported` when `capabilities().messages` is false.
    pub async fn count_message_tokens(
        &self,
        req: domain::llm::messages::MessagesRequest,
        call: Call<'_>,
    ) -> Result<u64, ProviderError> {
        match self {
            Provider::Anthropic(it) => it.count_tokens(req, call).await,
            Provider::OpenAi(_) | Provider::Mock(_) => Err(no_messages_api()),
        }
    }

    /// A streamed Messages call relayed as it is, after its first event: each event's `data`
    /// is one complete SSE frame.
    ///
    /// # Errors
    /// Everything that goes wrong before the first event; `Unsupported` as for `messages`.
    pub async fn messages_stream(
        &self,
        req: domain::llm::messages::MessagesRequest,
        call: Call<'_>,
    ) -> Result<EventStream, ProviderError> {
        let stream = match self {
            Provider::Anthropic(it) => it.messages_stream(req, call).await?,
            Provider::OpenAi(_) | Provider::Mock(_) => return Err(no_messages_api()),
        };
        stream::peek_first(stream, call.deadline, self.timeouts()).await
    }

    /// # Errors
    /// Upstream failures; `Unsupported` when the provider has no embeddings.
    pub async fn embed(
        &self,
        req: &EmbeddingRequest,
        call: Call<'_>,
    ) -> Result<Reply, ProviderError> {
        match self {
            Provider::OpenAi(it) => it.embed(req, call).await,
            Provider::Mock(it) => it.embed(req, call),
            Provider::Anthropic(_) => Err(ProviderError::unsupported(
                "this provider does not serve embeddings",
            )),
        }
    }

    /// This upstream with a tenant's own key (bring your own key), and URL when given.
    ///
    /// # Errors
    /// `Unsupported` for the mock; otherwise as when the provider was configured.
    pub fn with_credential(
        &self,
        api_key: secrecy::SecretString,
        base_url: Option<&str>,
        reach: Reach,
    ) -> Result<Provider, ProviderError> {
        match self {
            Provider::OpenAi(it) => Ok(Provider::OpenAi(
                it.with_credential(api_key, base_url, reach)?,
            )),
            Provider::Anthropic(it) => Ok(Provider::Anthropic(
                it.with_credential(api_key, base_url, reach)?,
            )),
            Provider::Mock(_) => Err(ProviderError::unsupported(
                "the mock provider takes no credentials",
            )),
        }
    }

    /// The configured timeouts (the mock has none to speak of).
    pub fn timeouts(&self) -> Timeouts {
        match self {
            Provider::OpenAi(it) => it.timeouts(),
            Provider::Anthropic(it) => it.timeouts(),
            Provider::Mock(_) => Timeouts::default(),
        }
    }
}
