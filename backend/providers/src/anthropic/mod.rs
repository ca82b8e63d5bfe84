//! Anthropic's Messages API, translated to and from the canonical OpenAI shape.

mod from_wire;
mod native;
mod stream;
mod to_wire;

pub use native::message_text;

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use ::http::Uri;
use ::http::header::{HeaderMap, HeaderName, HeaderValue};
use bytes::Bytes;
use domain::llm::ChatRequest;
use domain::llm::messages::MessagesRequest;
use futures_util::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::http::{self, Timeouts};
use crate::{Call, EventStream, ProviderError, Reply, sse};

/// The API version every request is pinned to.
pub const DEFAULT_VERSION: &str = "2023-06-01";
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

#[derive(Debug, Clone)]
pub struct Config {
    /// The URL `/v1/messages` is appended to.
    pub base_url: String,
    pub api_key: Option<SecretString>,
    pub version: String,
    /// Values for `anthropic-beta`.
    pub beta: Vec<String>,
    /// `max_tokens` when the client sets none (Anthropic requires one).
    pub default_max_tokens: u32,
    pub headers: Vec<(String, String)>,
    pub timeouts: Timeouts,
    /// Which CAs the upstream's certificate must chain to.
    pub trust: http::Trust,
}

#[derive(Debug, Clone)]
pub struct Anthropic {
    url: Uri,
    /// Anthropic's token counting endpoint, beside `url`.
    count_url: Uri,
    client: http::Client,
    default_max_tokens: u32,
    timeouts: Timeouts,
    /// Kept to derive a tenant's variant (its own key or URL) from this one.
    config: Box<Config>,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|it| i64::try_from(it.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Anthropic {
    /// # Errors
    /// An invalid base URL or header value.
    pub fn new(config: Config) -> Result<Self, ProviderError> {
        Self::build(config, http::Reach::Any)
    }

    /// The same upstream with a tenant's own key, and URL when given.
    ///
    /// # Errors
    /// As for [`Anthropic::new`].
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
        let mut url = Url::parse(config.base_url.trim_end_matches('/'))
            .map_err(|e| ProviderError::decode(format!("invalid base_url: {e}")))?;
        url.path_segments_mut()
            .map_err(|()| ProviderError::decode("base_url cannot take a path"))?
            .pop_if_empty()
            .extend(["v1", "messages"]);
        let mut headers = HeaderMap::new();
        if let Some(basic) = http::take_credentials(&mut url)? {
            headers.insert(::http::header::AUTHORIZATION, basic);
        }
        let invalid = |name: &str| ProviderError::decode(format!("invalid value for `{name}`"));
        if let Some(key) = &config.api_key {
            let mut value =
                HeaderValue::from_str(key.expose_secret()).map_err(|_| invalid("api_key"))?;
            value.set_sensitive(true);
            headers.insert("x-api-key", value);
        }
        headers.insert(
            "anthropic-version",
            HeaderValue::from_str(&config.version).map_err(|_| invalid("version"))?,
        );
        if !config.beta.is_empty() {
            headers.insert(
                "anthropic-beta",
                HeaderValue::from_str(&config.beta.join(",")).map_err(|_| invalid("beta"))?,
            );
        }
        for (name, value) in &config.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid(name))?;
            let value = HeaderValue::from_str(value).map_err(|_| invalid(name.as_str()))?;
            headers.insert(name, value);
        }
        headers.insert(
            ::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let mut count_url = url.clone();
        count_url
            .path_segments_mut()
            .map_err(|()| ProviderError::decode("base_url cannot take a path"))?
            .push("count_tokens");
        Ok(Anthropic {
            client: http::client(&config.timeouts, headers, reach, &config.trust)?,
            url: http::uri(&url)?,
            count_url: http::uri(&count_url)?,
            default_max_tokens: config.default_max_tokens,
            timeouts: config.timeouts,
            config: Box::new(config),
        })
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    async fn post(
        &self,
        req: &ChatRequest,
        call: Call<'_>,
        stream: bool,
    ) -> Result<(http::Response, bool), ProviderError> {
        let translated =
            to_wire::to_wire(req, call.upstream_model, self.default_max_tokens, stream)?;
        let body = serde_json::to_vec(&translated.body).map_err(ProviderError::decode)?;
        Ok((
            self.send(&self.url, body, call).await?,
            translated.json_mode,
        ))
    }

    /// Posts `body` to `url` with the client's betas, and waits for the response headers
    /// within the first-byte timeout.
    async fn send(
        &self,
        uri: &Uri,
        body: Vec<u8>,
        call: Call<'_>,
    ) -> Result<http::Response, ProviderError> {
        let mut request = self.client.post(uri, body);
        if let Some(betas) = call.anthropic_beta {
            // Replaces the client's default header, so the configured betas are merged in.
            let merged =
                HeaderValue::try_from(betas.merged_after(&self.config.beta)).map_err(|_| {
                    ProviderError::invalid_param("anthropic-beta", "invalid anthropic-beta header")
                })?;
            request.headers_mut().insert("anthropic-beta", merged);
        }
        let remaining = call.deadline.saturating_duration_since(Instant::now());
        self.client
            .send(request, self.timeouts.first_byte.min(remaining))
            .await
    }

    /// Reads a whole answer within what is left of the call's time.
    async fn read(&self, response: http::Response, call: Call<'_>) -> Result<Bytes, ProviderError> {
        let remaining = call.deadline.saturating_duration_since(Instant::now());
        http::read_body(response, remaining.min(self.timeouts.idle)).await
    }

    /// A Messages call relayed without translation; the answer's bytes are the upstream's.
    pub(crate) async fn messages(
        &self,
        req: MessagesRequest,
        call: Call<'_>,
    ) -> Result<Reply, ProviderError> {
        let body = native::relayed_body(req, call.upstream_model)?;
        let response = self.send(&self.url, body, call).await?;
        native::reply(self.read(response, call).await?)
    }

    /// The prompt's tokens, counted by Anthropic (exact, and free of charge).
    pub(crate) async fn count_tokens(
        &self,
        req: MessagesRequest,
        call: Call<'_>,
    ) -> Result<u64, ProviderError> {
        let body = native::count_body(req, call.upstream_model)?;
        let response = self.send(&self.count_url, body, call).await?;
        native::counted(&self.read(response, call).await?)
    }

    /// A streamed Messages call relayed without translation: each item is one SSE frame as
    /// the upstream sent it.
    pub(crate) async fn messages_stream(
        &self,
        req: MessagesRequest,
        call: Call<'_>,
    ) -> Result<EventStream, ProviderError> {
        let body = native::relayed_body(req, call.upstream_model)?;
        let response = self.send(&self.url, body, call).await?;
        let events = sse::events(http::body_stream(response));
        Ok(Box::pin(futures_util::stream::unfold(
            (Box::pin(events), native::Relay::default(), false),
            |(mut events, mut relay, done)| async move {
                if done {
                    return None;
                }
                match events.next().await? {
                    Ok(event) => match relay.on_event(&event.event, &event.data) {
                        Ok(out) => Some((Ok(out), (events, relay, false))),
                        Err(e) => Some((Err(e), (events, relay, true))),
                    },
                    Err(e) => Some((Err(e), (events, relay, true))),
                }
            },
        )))
    }

    pub(crate) async fn chat(
        &self,
        req: &ChatRequest,
        call: Call<'_>,
    ) -> Result<Reply, ProviderError> {
        let (response, json_mode) = self.post(req, call, false).await?;
        let body = self.read(response, call).await?;
        let response: from_wire::Response =
            serde_json::from_slice(&body).map_err(ProviderError::decode)?;
        let (res, usage) = from_wire::from_wire(response, json_mode, unix_now())?;
        Ok(Reply {
            body: Bytes::from(serde_json::to_vec(&res).map_err(ProviderError::decode)?),
            usage,
            usage_at: None,
        })
    }

    pub(crate) async fn chat_stream(
        &self,
        req: &ChatRequest,
        call: Call<'_>,
    ) -> Result<EventStream, ProviderError> {
        let (response, json_mode) = self.post(req, call, true).await?;
        let events = sse::events(http::body_stream(response));
        let translator = stream::Translator::new(json_mode, unix_now());
        Ok(Box::pin(futures_util::stream::unfold(
            (Box::pin(events), translator, false),
            |(mut events, mut translator, done)| async move {
                if done {
                    return None;
                }
                loop {
                    let event = match events.next().await? {
                        Ok(event) => event,
                        Err(e) => return Some((Err(e), (events, translator, true))),
                    };
                    match translator.on_event(&event.event, &event.data) {
                        Ok(Some(out)) => return Some((Ok(out), (events, translator, false))),
                        Ok(None) => {}
                        Err(e) => return Some((Err(e), (events, translator, true))),
                    }
                }
            },
        )))
    }
}
