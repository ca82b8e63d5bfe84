//! The configuration file as written: every table and key optional, unknown keys refused
//! (`deny_unknown_fields`), spans kept so that errors can name the line.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSettings {
    pub(super) server: Option<RawServer>,
    pub(super) database: Option<RawDatabase>,
    pub(super) redis: Option<RawRedis>,
    pub(super) cache: Option<RawCache>,
    pub(super) log: Option<RawLog>,
    pub(super) usage: Option<RawUsage>,
    pub(super) keys: Option<RawKeys>,
    pub(super) portal: Option<RawPortal>,
    pub(super) security: Option<RawSecurity>,
    pub(super) oauth: Option<RawOauth>,
    pub(super) sso: Option<RawSso>,
    pub(super) mail: Option<RawMail>,
    pub(super) partners: Option<RawPartners>,
    pub(super) webhooks: Option<RawWebhooks>,
    pub(super) pricing: Option<RawPricing>,
    pub(super) invoicing: Option<RawInvoicing>,
    pub(super) stripe: Option<RawStripe>,
    #[serde(default)]
    pub(super) providers: BTreeMap<String, RawProvider>,
    #[serde(default)]
    pub(super) models: Vec<RawModel>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub(super) listen: Option<Spanned<String>>,
    pub(super) workers: Option<usize>,
    pub(super) max_body_bytes: Option<usize>,
    pub(super) body_read_timeout_secs: Option<u64>,
    pub(super) body_min_bytes_per_sec: Option<u64>,
    pub(super) max_unauthenticated_per_client: Option<u32>,
    pub(super) data_dir: Option<PathBuf>,
    pub(super) shutdown_timeout_secs: Option<u64>,
    pub(super) refresh_interval_ms: Option<u64>,
    pub(super) bootstrap: Option<bool>,
    pub(super) trusted_proxies: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPricing {
    pub(super) currency: Option<Spanned<String>>,
    pub(super) include_defaults: Option<bool>,
    pub(super) markup_percent: Option<Spanned<String>>,
    pub(super) tax_label: Option<Spanned<String>>,
    pub(super) tax_percent: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) cost: Vec<RawPriceLine>,
    #[serde(default)]
    pub(super) price: Vec<RawPriceLine>,
}

/// Money as decimal strings (`"0.15"`): a TOML float would already have lost the exact value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPriceLine {
    pub(super) provider: Spanned<String>,
    pub(super) model: Spanned<String>,
    pub(super) input: Spanned<String>,
    pub(super) output: Spanned<String>,
    pub(super) cached_input: Option<Spanned<String>>,
    pub(super) cache_write: Option<Spanned<String>>,
    pub(super) reasoning: Option<Spanned<String>>,
    pub(super) effective_from: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInvoicing {
    pub(super) monthly: Option<bool>,
    pub(super) anchor: Option<Spanned<String>>,
    pub(super) after_minutes: Option<u64>,
    pub(super) check_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStripe {
    pub(super) secret_key: Option<Spanned<String>>,
    pub(super) webhook_secret: Option<Spanned<String>>,
    pub(super) api_base: Option<String>,
    pub(super) since: Option<Spanned<String>>,
    pub(super) days_until_due: Option<u32>,
    pub(super) grace_days: Option<u32>,
    pub(super) sync_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebhooks {
    pub(super) first_retry_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPartners {
    pub(super) dns_resolver: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDatabase {
    pub(super) url: Option<Spanned<String>>,
    pub(super) max_connections: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCache {
    pub(super) max_bytes: Option<Spanned<u64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRedis {
    pub(super) url: Option<Spanned<String>>,
    pub(super) prefix: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLog {
    pub(super) level: Option<String>,
    pub(super) format: Option<Spanned<String>>,
    pub(super) access_log: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUsage {
    pub(super) queue_capacity: Option<usize>,
    pub(super) batch_size: Option<usize>,
    pub(super) flush_interval_ms: Option<u64>,
    pub(super) replay_interval_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPortal {
    pub(super) public_url: Option<Spanned<String>>,
    pub(super) open_signup: Option<bool>,
    pub(super) first_user_is_operator: Option<bool>,
    pub(super) secure_cookies: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSecurity {
    pub(super) master_key_file: Option<PathBuf>,
    pub(super) allow_private_upstreams: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOauth {
    pub(super) token_ttl_secs: Option<Spanned<u64>>,
    pub(super) signing_key_rotation_days: Option<Spanned<u64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMail {
    pub(super) smtp_url: Option<Spanned<String>>,
    pub(super) from: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSso {
    #[serde(default)]
    pub(super) providers: BTreeMap<String, RawSsoProvider>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSsoProvider {
    pub(super) kind: Spanned<String>,
    pub(super) display_name: Option<String>,
    pub(super) issuer: Option<Spanned<String>>,
    pub(super) client_id: Spanned<String>,
    pub(super) client_secret: Spanned<String>,
    pub(super) scopes: Option<Vec<String>>,
    pub(super) authorize_url: Option<Spanned<String>>,
    pub(super) token_url: Option<Spanned<String>>,
    pub(super) api_url: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKeys {
    pub(super) prefix: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProvider {
    pub(super) kind: Spanned<String>,
    pub(super) base_url: Option<Spanned<String>>,
    pub(super) api_key: Option<Spanned<String>>,
    /// Azure: `2024-10-21`, or `v1` for the version-less API.
    pub(super) api_version: Option<String>,
    /// openai_compatible: which server (`vllm`, `ollama`, `groq`, ...).
    pub(super) flavor: Option<Spanned<String>>,
    /// anthropic: `anthropic-version`.
    pub(super) version: Option<String>,
    /// anthropic: `anthropic-beta` values.
    #[serde(default)]
    pub(super) beta: Vec<String>,
    /// anthropic: `max_tokens` when the client sends none.
    pub(super) default_max_tokens: Option<u32>,
    #[serde(default)]
    pub(super) headers: BTreeMap<String, String>,
    /// PEM file of the CAs the upstream's certificate must chain to (instead of the system's).
    pub(super) ca_file: Option<Spanned<String>>,
    pub(super) connect_timeout_ms: Option<u64>,
    pub(super) first_byte_timeout_ms: Option<u64>,
    pub(super) idle_timeout_ms: Option<u64>,
    pub(super) total_timeout_ms: Option<u64>,
    /// mock: delay before answering.
    pub(super) latency_ms: Option<u64>,
    /// mock: delay between streamed chunks.
    pub(super) chunk_delay_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawModel {
    pub(super) alias: Spanned<String>,
    /// The one-deployment form: a provider (and `model`) instead of `deployments`.
    pub(super) provider: Option<Spanned<String>>,
    /// The upstream's model name (or Azure deployment); the alias when absent.
    pub(super) model: Option<String>,
    pub(super) owned_by: Option<String>,
    pub(super) deployments: Option<Spanned<Vec<RawDeployment>>>,
    pub(super) strategy: Option<Spanned<String>>,
    pub(super) max_attempts: Option<Spanned<i64>>,
    pub(super) timeout_ms: Option<Spanned<i64>>,
    pub(super) backoff_ms: Option<Spanned<i64>>,
    pub(super) fallback_on_context_window: Option<bool>,
    pub(super) breaker: Option<RawBreaker>,
    pub(super) cache: Option<RawRouteCache>,
    pub(super) health_check: Option<RawHealthCheck>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHealthCheck {
    pub(super) interval_secs: Spanned<i64>,
    pub(super) timeout_ms: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRouteCache {
    pub(super) ttl_secs: Spanned<i64>,
    pub(super) semantic: Option<Spanned<RawSemantic>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSemantic {
    pub(super) embedding_model: Spanned<String>,
    pub(super) threshold: Option<Spanned<f64>>,
    pub(super) multi_turn: Option<bool>,
    pub(super) max_entries: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBreaker {
    pub(super) enabled: Option<bool>,
    pub(super) consecutive_failures: Option<Spanned<i64>>,
    pub(super) error_rate_percent: Option<Spanned<i64>>,
    pub(super) min_calls: Option<Spanned<i64>>,
    pub(super) window_secs: Option<Spanned<i64>>,
    pub(super) cooldown_secs: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDeployment {
    pub(super) name: Option<Spanned<String>>,
    pub(super) provider: Spanned<String>,
    pub(super) model: Option<String>,
    pub(super) weight: Option<Spanned<i64>>,
    pub(super) priority: Option<Spanned<i64>>,
    pub(super) region: Option<Spanned<String>>,
    pub(super) cost: Option<Spanned<f64>>,
    pub(super) rpm: Option<Spanned<i64>>,
    pub(super) tpm: Option<Spanned<i64>>,
    pub(super) variant: Option<Spanned<String>>,
    pub(super) shadow: Option<bool>,
}
