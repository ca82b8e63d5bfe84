//! The management API's limits above keys: the platform's for every tenant, a partner's
//! shared by its sub-tenants, a tenant's (with per-model rates and model access), what each
//! holds now, and the budget alerts they raise. Money travels as decimal strings in the
//! platform's currency, never as JSON numbers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Request and token rates and calls at once; absent is no limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RateLimitsView {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub requests_per_minute: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub requests_per_day: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub tokens_per_minute: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub tokens_per_day: Option<u64>,
    /// Calls in progress at once, streams included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub max_concurrent: Option<u32>,
}

/// A spend or token budget for a period: exactly one of `spend` and `tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BudgetView {
    /// `day`, `week` (ISO, from Monday), `month` (calendar) or `rolling_30d`; UTC.
    #[cfg_attr(feature = "openapi", schema(example = "month"))]
    pub period: String,
    /// Money, a decimal string of at most six places: `"250"`, `"19.99"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spend: Option<String>,
    /// Tokens in and out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub tokens: Option<u64>,
    /// A hard budget refuses calls that would pass it (429 `insufficient_quota`); a soft one
    /// only alerts. Hard when absent.
    #[serde(default = "yes")]
    pub hard: bool,
    /// Percentages of the budget (1–1000, ascending) at which an alert is raised and sent to
    /// the webhook.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 8))]
    pub alert_at_percent: Vec<u16>,
}

fn yes() -> bool {
    true
}

/// The limits one scope sets. Every limit that applies to a call must pass: the platform's,
/// the partner's, the tenant's (and its per-model rates), the key's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LimitPolicyView {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub requests_per_minute: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub requests_per_day: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub tokens_per_minute: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub tokens_per_day: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub max_concurrent: Option<u32>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 8))]
    pub budgets: Vec<BudgetView>,
    /// Rates per model alias, on top of the scope's own.
    #[serde(default)]
    pub models: BTreeMap<String, RateLimitsView>,
    /// Aliases the scope's calls may use; empty: all.
    #[serde(default)]
    pub allowed_models: Vec<String>,
    /// Aliases the scope's calls may not use, even when allowed.
    #[serde(default)]
    pub denied_models: Vec<String>,
    /// When the shared counters cannot be reached: `default` (rates fall back to each node's
    /// own counters, calls under a hard budget are refused), `closed` (every call refused) or
    /// `open` (every limit on each node's own counters; the node reports it).
    #[serde(default = "default_policy")]
    pub counters_down: String,
    /// A tenant's limits set by its partner or an operator, which its own administrators may
    /// not change.
    #[serde(default)]
    pub locked: bool,
}

fn default_policy() -> String {
    "default".into()
}

/// A scope's policy as the caller may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LimitsView {
    /// The platform's currency (ISO 4217), the unit of spend budgets.
    pub currency: String,
    /// Whether the scope sets any limit (else `policy` is empty).
    pub set: bool,
    pub policy: LimitPolicyView,
    /// Whether the caller may change it.
    pub editable: bool,
    /// What every limit over the scope's calls holds now (for a tenant: the platform's, its
    /// partner's and its own; for a partner: its shared limits; for the platform: empty, as
    /// each tenant counts its own).
    pub usage: Vec<LimitUsageView>,
    /// False when the shared counters could not be read just now (`usage` is then empty; the
    /// policy was still read, or written).
    pub counters_reachable: bool,
}

/// One limit and what its counter holds now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LimitUsageView {
    /// Whose limit: `platform` (the tenant's plan), `partner` (shared with the partner's
    /// other tenants), `tenant`, `model` (the tenant's for one model) or `key`.
    pub owner: String,
    /// `requests_per_minute`, `requests_per_day`, `tokens_per_minute`, `tokens_per_day`,
    /// `max_concurrent`, `spend` or `tokens`.
    pub kind: String,
    /// A budget's period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// In the limit's unit: requests, tokens, calls; micro-units of money for `spend`.
    pub limit: u64,
    pub used: u64,
    pub remaining: u64,
    /// For `spend`: the limit, what is used and what remains as money (decimal strings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining_amount: Option<String>,
    /// When the counter will hold nothing of what it holds now (a period's end).
    #[serde(with = "time::serde::rfc3339")]
    pub resets_at: OffsetDateTime,
    /// A soft budget only alerts.
    pub hard: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alert_at_percent: Vec<u16>,
}

/// Every limit over one key's calls (the platform's, the partner's, the tenant's, the key's own)
/// and what each holds now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EffectiveLimitsView {
    pub currency: String,
    pub limits: Vec<LimitUsageView>,
}

/// A budget passed one of its alert thresholds (raised once per budget, period and
/// threshold); the webhook carries the same object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BudgetAlertView {
    pub id: uuid::Uuid,
    pub tenant_id: uuid::Uuid,
    /// Whose budget: `platform`, `partner`, `tenant` or `key`.
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<uuid::Uuid>,
    /// `spend` or `tokens`.
    pub budget: String,
    pub period: String,
    /// The period: `2026-12`, `2026-W49`, `2026-12-06` (for a rolling budget, the day).
    pub period_id: String,
    pub threshold_percent: u16,
    /// Money as a decimal string for `spend`, else tokens.
    pub limit: String,
    /// What the budget held once the call that passed the threshold was counted: its
    /// reservation (the most it could cost) included, since alerts are raised when a call is
    /// admitted; the call's settled cost may be less.
    pub used: String,
    pub hard: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub raised_at: OffsetDateTime,
    /// Its webhook: `pending` (retried with backoff), `delivered`, `failed` (out of
    /// attempts) or `no_endpoint` (no webhook was set when it was due).
    pub delivery: String,
    pub attempts: u32,
    /// Why the last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub delivered_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BudgetAlertList {
    /// Newest first, at most 200.
    pub alerts: Vec<BudgetAlertView>,
}

/// Where a tenant's or partner's budget alerts are sent. Each is a POST of JSON
/// (`{"type": "budget.threshold_reached", "timestamp": …, "data": <the alert>}`) signed as
/// Standard Webhooks sign: headers `webhook-id`, `webhook-timestamp` (Unix seconds) and
/// `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}" keyed with the
/// base64-decoded part of the secret after `whsec_`>`. A delivery that does not get a 2xx
/// answer within 10 s is retried after 5 s, 30 s, 2 min, 15 min, 1 h, 4 h and 12 h.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookView {
    pub url: String,
    /// The signing secret (`whsec_…`): only in the answer that made or rotated it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    /// A public `https://` (or `http://`) URL.
    pub url: String,
    /// Make a new signing secret (a new webhook always gets one).
    #[serde(default)]
    pub rotate_secret: bool,
}
