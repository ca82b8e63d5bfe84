//! Usage records: one append-only fact per data-plane request, the source of all billing.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::pricing::Money;
use crate::{ApiKeyId, RequestId, TenantId, UsageId};

/// How a request ended, as far as billing cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageStatus {
    /// The upstream answered completely.
    Ok,
    /// The request failed (upstream or gateway error); tokens may still have been used.
    Error,
    /// The client went away before the end; what was delivered is billed.
    ClientClosed,
    /// The gateway ended the call before it finished: its shutdown deadline cut the stream, or
    /// the process died and the call was recovered from its journal. What was delivered, or an
    /// estimate, is billed.
    ServerClosed,
    /// Answered from the gateway's response cache, with the tokens of the answer it kept; no
    /// upstream was called.
    CacheHit,
    /// A copy of a caller's call sent to a shadow deployment, whose answer nobody saw: kept for
    /// comparison, never counted as the tenant's requests, tokens or spend.
    Shadow,
}

impl UsageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UsageStatus::Ok => "ok",
            UsageStatus::Error => "error",
            UsageStatus::ClientClosed => "client_closed",
            UsageStatus::ServerClosed => "server_closed",
            UsageStatus::CacheHit => "cache_hit",
            UsageStatus::Shadow => "shadow",
        }
    }

    /// Parses the stored form.
    pub fn from_stored(s: &str) -> Option<Self> {
        match s {
            "ok" => Some(UsageStatus::Ok),
            "error" => Some(UsageStatus::Error),
            "client_closed" => Some(UsageStatus::ClientClosed),
            "server_closed" => Some(UsageStatus::ServerClosed),
            "cache_hit" => Some(UsageStatus::CacheHit),
            "shadow" => Some(UsageStatus::Shadow),
            _ => None,
        }
    }
}

/// One request's usage. Token counts are exact when the provider reported them and
/// tokenizer estimates when `estimated` is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRecord {
    /// Generated at the gateway (UUIDv7) so that a replayed record is inserted at most once.
    pub id: UsageId,
    pub request_id: RequestId,
    pub tenant_id: TenantId,
    pub key_id: ApiKeyId,
    /// `chat.completions`, `completions` or `embeddings`.
    pub endpoint: String,
    pub model_alias: String,
    /// The provider and upstream model of the deployment that answered (or was tried last):
    /// the one this record bills.
    pub provider: String,
    pub upstream_model: String,
    /// Tries that failed before the one recorded here, in order; they are not billed. Empty for
    /// a call answered at its first try (records from before failover read back empty too).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<UsageAttempt>,
    /// The experiment arm that answered (the deployment's `variant`, by default its name) when
    /// the model runs an experiment (`split`) or labels its deployments; `None` otherwise, and
    /// for records from before experiments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    pub stream: bool,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Prompt tokens read from the provider's cache (included in `prompt_tokens`).
    pub cached_tokens: u64,
    /// Prompt tokens written to the provider's cache (included in `prompt_tokens`).
    pub cache_write_tokens: u64,
    /// Completion tokens spent on reasoning (included in `completion_tokens`).
    pub reasoning_tokens: u64,
    pub estimated: bool,
    /// The provider's own usage object, verbatim JSON, for audits and later re-pricing.
    pub raw_usage: Option<String>,
    pub status: UsageStatus,
    /// The HTTP status the client saw.
    pub http_status: u16,
    /// The stable error code, when the request failed.
    pub error_code: Option<String>,
    pub latency_ms: u64,
    /// Time to first token, for streams.
    pub ttft_ms: Option<u64>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// What the platform pays the provider for the call; `None`: no known cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Money>,
    /// What the platform charges the partner, for a partner's sub-tenant's call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wholesale: Option<Money>,
    /// What the tenant pays; `None`: unpriced (never recorded as zero).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Money>,
}

/// One failed try of a call that the gateway then tried again (on the same deployment or the
/// next): what an operator needs to see why the call took long or landed elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageAttempt {
    /// The deployment's name in its model's route.
    pub deployment: String,
    /// What the client would have been answered had this been the last try.
    pub http_status: u16,
    /// The stable error code of the failure (`upstream_timeout`, `upstream_rate_limited`, …).
    pub error_code: String,
    pub latency_ms: u64,
}
