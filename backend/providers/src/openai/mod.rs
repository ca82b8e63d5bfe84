//! OpenAI and everything that speaks its API: OpenAI itself, Azure OpenAI, and any
//! OpenAI-compatible server (vLLM, Ollama, TGI, Groq, Together, Mistral, DeepSeek, OpenRouter).
//!
//! Answers are forwarded as the upstream sent them; only the request is adjusted (upstream model
//! name, usage in streams, each server's quirks from `quirks`).

mod azure;
mod probe;
pub mod quirks;

use std::time::Instant;

use ::http::Uri;
use ::http::header::{HeaderMap, HeaderName, HeaderValue};
use domain::llm::{ChatRequest, CompletionRequest, EmbeddingRequest};
use futures_util::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use url::Url;

use crate::http::{self, Timeouts};
use crate::sse;
use crate::{Call, EventStream, ProviderError, ProviderKind, Reply, StreamEvent};

pub use quirks::Compat;

/// Which dialect of the OpenAI API the upstream speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flavor {
    OpenAi,
    /// Azure OpenAI with this `api-version` (`v1` for the version-less GA API).
    Azure {
        api_version: String,
    },
    Compatible(Compat),
}

impl Flavor {
    pub fn kind(&self) -> ProviderKind {
        match self {
            Flavor::OpenAi => ProviderKind::OpenAi,
            Flavor::Azure { .. } => ProviderKind::AzureOpenAi,
            Flavor::Compatible(_) => ProviderKind::OpenAiCompatible,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub flavor: Flavor,
    /// For OpenAI and compatible servers, the URL that `/chat/completions` is appended to
    /// (`https://api.openai.com/v1`); for Azure, the resource URL.
    pub base_url: String,
    pub api_key: Option<SecretString>,
    /// Extra headers sent with every call (`OpenAI-Organization`, OpenRouter's `HTTP-Referer`).
    pub headers: Vec<(String, String)>,
    pub timeouts: Timeouts,
    /// Which CAs the upstream's certificate must chain to.
    pub trust: http::Trust,
}

/// The operations every OpenAI-compatible server has, in `fixed_urls` order.
const OPERATIONS: [&str; 3] = ["chat/completions", "completions", "embeddings"];

fn join(base: &Url, operation: &str) -> Result<Url, ProviderError> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| ProviderError::decode("base_url cannot take a path"))?
        .pop_if_empty()
        .extend(operation.split('/'));
    Ok(url)
}

#[derive(Debug, Clone)]
pub struct OpenAi {
    flavor: Flavor,
    quirks: quirks::Quirks,
    base_url: Url,
    /// `chat/completions`, `completions` and `embeddings` under `base_url`, built once
    /// (Azure's deployment URLs depend on the model and are built per call).
    fixed_urls: Option<Box<[Uri; 3]>>,
    client: http::Client,
    timeouts: Timeouts,
    /// Kept to derive a tenant's variant (its own key or URL) from this one.
    config: Box<Config>,
}

impl OpenAi {
    /// # Errors
    /// An invalid base URL or header, or an HTTP client that cannot be built.
    pub fn new(config: Config) -> Result<Self, ProviderError> {
        Self::build(config, http::Reach::Any)
    }

    /// The same upstream with a tenant's own key, and URL when given; tenant URLs may reach
    /// only public addresses unless `reach` says otherwise.
    ///
    /// # Errors
    /// As for [`OpenAi::new`].
    pub fn with_credential(
        &self,
        api_key: SecretString,
        base_url: Option<&str>,
        reach: http::Reach,
    ) -> Result<Self, ProviderError> {
        let mut config = (*self.config).clone();
        config.api_key = Some(api_key);
        if let Some(url) = base_url {
            config.base_url = url.to_owned();
            // The operator's private CA vouches for the operator's upstream, not the tenant's.
            config.trust = http::Trust::System;
        }
        Self::build(config, reach)
    }

    fn build(config: Config, reach: http::Reach) -> Result<Self, ProviderError> {
        let mut base_url = Url::parse(config.base_url.trim_end_matches('/'))
            .map_err(|e| ProviderError::decode(format!("invalid base_url: {e}")))?;
        let mut headers = HeaderMap::new();
        // Before the API key, which replaces them when both are given.
        if let Some(basic) = http::take_credentials(&mut base_url)? {
            headers.insert(::http::header::AUTHORIZATION, basic);
        }
        if let Some(key) = &config.api_key {
            let (name, value) = match config.flavor {
                Flavor::Azure { .. } => ("api-key", key.expose_secret().to_owned()),
                Flavor::OpenAi | Flavor::Compatible(_) => {
                    ("authorization", format!("Bearer {}", key.expose_secret()))
                }
            };
            let mut value = HeaderValue::from_str(&value)
                .map_err(|_| ProviderError::decode("api key is not a valid header value"))?;
            value.set_sensitive(true);
            headers.insert(HeaderName::from_static(name), value);
        }
        for (name, value) in &config.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ProviderError::decode(format!("invalid header name `{name}`")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| ProviderError::decode(format!("invalid value for header `{name}`")))?;
            headers.insert(name, value);
        }
        headers.insert(
            ::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let quirks = match &config.flavor {
            Flavor::OpenAi => quirks::openai(),
            Flavor::Azure { .. } => quirks::azure(),
            Flavor::Compatible(compat) => quirks::compat(*compat),
        };
        let fixed_urls = match config.flavor {
            Flavor::Azure { .. } => None,
            Flavor::OpenAi | Flavor::Compatible(_) => Some(Box::new([
                http::uri(&join(&base_url, OPERATIONS[0])?)?,
                http::uri(&join(&base_url, OPERATIONS[1])?)?,
                http::uri(&join(&base_url, OPERATIONS[2])?)?,
            ])),
        };
        Ok(OpenAi {
            client: http::client(&config.timeouts, headers, reach, &config.trust)?,
            fixed_urls,
            flavor: config.flavor.clone(),
            quirks,
            base_url,
            timeouts: config.timeouts,
            config: Box::new(config),
        })
    }

    pub fn kind(&self) -> ProviderKind {
        self.flavor.kind()
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    fn uri(&self, operation: &str, upstream_model: &str) -> Result<Uri, ProviderError> {
        if let (Some(uris), Some(index)) = (
            &self.fixed_urls,
            OPERATIONS.iter().position(|it| *it == operation),
        ) {
            return Ok(uris[index].clone());
        }
        let url = match &self.flavor {
            Flavor::Azure { api_version } => {
                azure::url(&self.base_url, api_version, upstream_model, operation)?
            }
            Flavor::OpenAi | Flavor::Compatible(_) => join(&self.base_url, operation)?,
        };
        http::uri(&url)
    }

    async fn post(
        &self,
        operation: &str,
        call: Call<'_>,
        body: impl Serialize,
    ) -> Result<http::Response, ProviderError> {
        let body = serde_json::to_vec(&body).map_err(ProviderError::decode)?;
        let request = self
            .client
            .post(&self.uri(operation, call.upstream_model)?, body);
        let remaining = call.deadline.saturating_duration_since(Instant::now());
        self.client
            .send(request, self.timeouts.first_byte.min(remaining))
            .await
    }

    async fn complete(
        &self,
        operation: &str,
        call: Call<'_>,
        body: impl Serialize,
    ) -> Result<Reply, ProviderError> {
        let response = self.post(operation, call, body).await?;
        let remaining = call.deadline.saturating_duration_since(Instant::now());
        let body = http::read_body(response, remaining.min(self.timeouts.idle)).await?;
        let usage = probe::body_usage(&body)?;
        Ok(Reply {
            body,
            usage: usage.report,
            usage_at: usage.at,
        })
    }

    async fn stream(
        &self,
        operation: &str,
        call: Call<'_>,
        body: impl Serialize,
    ) -> Result<EventStream, ProviderError> {
        let response = self.post(operation, call, body).await?;
        let x_groq = self.quirks.stream_usage == quirks::StreamUsage::XGroq;
        let events = sse::events(http::body_stream(response));
        Ok(Box::pin(futures_util::stream::unfold(
            (Box::pin(events), false),
            move |(mut events, done)| async move {
                if done {
                    return None;
                }
                loop {
                    let event = match events.next().await? {
                        Ok(event) => event,
                        Err(e) => return Some((Err(e), (events, true))),
                    };
                    if event.data.as_ref() == b"[DONE]" {
                        return None;
                    }
                    if event.event == "error" {
                        return Some((
                            Err(crate::http::classify_stream_error(&event.data)),
                            (events, true),
                        ));
                    }
                    if event.data.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    return match probe::chunk_facts(&event.data, x_groq) {
                        Ok(facts) => Some((
                            Ok(StreamEvent {
                                data: event.data,
                                usage: facts.usage,
                                usage_only: facts.usage_only,
                                text: facts.text,
                            }),
                            (events, false),
                        )),
                        Err(e) => Some((Err(e), (events, true))),
                    };
                }
            },
        )))
    }

    pub(crate) async fn chat(
        &self,
        req: &ChatRequest,
        call: Call<'_>,
    ) -> Result<Reply, ProviderError> {
        let req = self.chat_body(req, call, false);
        self.complete("chat/completions", call, req).await
    }

    pub(crate) async fn chat_stream(
        &self,
        req: &ChatRequest,
        call: Call<'_>,
    ) -> Result<EventStream, ProviderError> {
        let req = self.chat_body(req, call, true);
        self.stream("chat/completions", call, req).await
    }

    pub(crate) async fn completion(
        &self,
        req: &CompletionRequest,
        call: Call<'_>,
    ) -> Result<Reply, ProviderError> {
        let req = self.completion_body(req, call, false);
        self.complete("completions", call, req).await
    }

    pub(crate) async fn completion_stream(
        &self,
        req: &CompletionRequest,
        call: Call<'_>,
    ) -> Result<EventStream, ProviderError> {
        let req = self.completion_body(req, call, true);
        self.stream("completions", call, req).await
    }

    pub(crate) async fn embed(
        &self,
        req: &EmbeddingRequest,
        call: Call<'_>,
    ) -> Result<Reply, ProviderError> {
        let mut req = req.clone();
        req.model = call.upstream_model.to_owned();
        self.complete("embeddings", call, req).await
    }

    fn chat_body(&self, req: &ChatRequest, call: Call<'_>, stream: bool) -> ChatRequest {
        let mut req = req.clone();
        req.model = call.upstream_model.to_owned();
        req.stream = stream.then_some(true);
        self.quirks.apply_chat(&mut req);
        req
    }

    fn completion_body(
        &self,
        req: &CompletionRequest,
        call: Call<'_>,
        stream: bool,
    ) -> CompletionRequest {
        let mut req = req.clone();
        req.model = call.upstream_model.to_owned();
        req.stream = stream.then_some(true);
        self.quirks.apply_completion(&mut req);
        req
    }
}
