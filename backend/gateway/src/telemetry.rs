//! Metrics of the data plane, from one place, with bounded labels only: endpoint, model alias
//! and provider name (both from configuration) and an outcome code. Per-tenant figures come
//! from usage records, never from metric labels.

use metrics::{Counter, Histogram};

/// The data-plane endpoints, a closed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    ChatCompletions,
    Completions,
    Embeddings,
    /// Anthropic's Messages API, served by the chat pipeline.
    Messages,
}

impl Endpoint {
    pub const ALL: [Endpoint; 4] = [
        Endpoint::ChatCompletions,
        Endpoint::Completions,
        Endpoint::Embeddings,
        Endpoint::Messages,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::ChatCompletions => "chat.completions",
            Endpoint::Completions => "completions",
            Endpoint::Embeddings => "embeddings",
            Endpoint::Messages => "messages",
        }
    }

    fn index(self) -> usize {
        match self {
            Endpoint::ChatCompletions => 0,
            Endpoint::Completions => 1,
            Endpoint::Embeddings => 2,
            Endpoint::Messages => 3,
        }
    }
}

/// Pre-registered metric handles for one endpoint of one model, so that recording a
/// successful request allocates nothing.
#[derive(Debug, Clone)]
struct EndpointMetrics {
    ok: Counter,
    duration: Histogram,
    ttft: Histogram,
    upstream: Histogram,
    prompt_tokens: Counter,
    completion_tokens: Counter,
}

/// Metric handles of one route.
#[derive(Debug, Clone)]
pub struct RouteMetrics {
    model: String,
    provider: String,
    endpoints: Vec<EndpointMetrics>,
    /// Calls with tokens that no price list prices for their tenant: recorded without a price
    /// (never as zero) and counted, per provider, so an operator sees which models need one.
    unpriced: metrics::Counter,
}

impl RouteMetrics {
    /// Registers the route's series. The metrics recorder must be installed before this.
    pub fn new(model: &str, provider: &str) -> Self {
        let endpoints = Endpoint::ALL
            .iter()
            .map(|endpoint| {
                let labels = [
                    ("endpoint", endpoint.as_str().to_owned()),
                    ("model", model.to_owned()),
                    ("provider", provider.to_owned()),
                ];
                let mut with_outcome = labels.to_vec();
                with_outcome.push(("outcome", "ok".to_owned()));
                let mut prompt = labels.to_vec();
                prompt.push(("kind", "prompt".to_owned()));
                let mut completion = labels.to_vec();
                completion.push(("kind", "completion".to_owned()));
                EndpointMetrics {
                    ok: metrics::counter!("gateway_requests_total", &with_outcome),
                    duration: metrics::histogram!("gateway_request_duration_seconds", &labels),
                    ttft: metrics::histogram!("gateway_time_to_first_token_seconds", &labels),
                    upstream: metrics::histogram!("gateway_upstream_duration_seconds", &labels),
                    prompt_tokens: metrics::counter!("gateway_tokens_total", &prompt),
                    completion_tokens: metrics::counter!("gateway_tokens_total", &completion),
                }
            })
            .collect();
        RouteMetrics {
            model: model.to_owned(),
            provider: provider.to_owned(),
            endpoints,
            unpriced: metrics::counter!("gateway_unpriced_calls_total", "provider" => provider.to_owned()),
        }
    }

    /// A call with tokens was recorded without a price.
    pub fn record_unpriced(&self) {
        self.unpriced.increment(1);
    }

    fn of(&self, endpoint: Endpoint) -> Option<&EndpointMetrics> {
        self.endpoints.get(endpoint.index())
    }

    /// Records one finished request; `outcome` is `None` for success or a stable error code.
    pub fn record(
        &self,
        endpoint: Endpoint,
        outcome: Option<&'static str>,
        duration_secs: f64,
        ttft_secs: Option<f64>,
        tokens: (u64, u64),
    ) {
        let Some(m) = self.of(endpoint) else { return };
        match outcome {
            None => m.ok.increment(1),
            Some(outcome) => metrics::counter!(
                "gateway_requests_total",
                "endpoint" => endpoint.as_str(),
                "model" => self.model.clone(),
                "provider" => self.provider.clone(),
                "outcome" => outcome,
            )
            .increment(1),
        }
        m.duration.record(duration_secs);
        if let Some(ttft) = ttft_secs {
            m.ttft.record(ttft);
        }
        m.prompt_tokens.increment(tokens.0);
        m.completion_tokens.increment(tokens.1);
    }

    /// Records one try that failed and was followed by another (`outcome`: its error code).
    pub fn record_attempt_failed(&self, endpoint: Endpoint, outcome: &'static str) {
        metrics::counter!(
            "gateway_failed_attempts_total",
            "endpoint" => endpoint.as_str(),
            "model" => self.model.clone(),
            "provider" => self.provider.clone(),
            "outcome" => outcome,
        )
        .increment(1);
    }

    /// Records how long the upstream took to answer (to the first event, for streams).
    pub fn record_upstream(&self, endpoint: Endpoint, secs: f64) {
        if let Some(m) = self.of(endpoint) {
            m.upstream.record(secs);
        }
    }
}
