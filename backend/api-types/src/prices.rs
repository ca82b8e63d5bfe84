//! The management API's price lists. Money travels as decimal strings (`"0.15"`), exact to
//! nine decimal places, never as JSON numbers a reader would turn into floats; token rates are
//! per million tokens, in the platform's currency.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A model's rates per million tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RatesView {
    #[cfg_attr(feature = "openapi", schema(example = "0.15"))]
    pub input: String,
    #[cfg_attr(feature = "openapi", schema(example = "0.6"))]
    pub output: String,
    /// Prompt tokens read from the provider's cache; the input rate when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input: Option<String>,
    /// Prompt tokens written to the provider's cache; the input rate when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<String>,
    /// Reasoning tokens; the output rate when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
}

/// One model's rates in one list, from a date on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriceEntryView {
    /// A configured provider's name, a provider kind (`openai`, `anthropic`, …) or `*`.
    pub provider: String,
    pub model: String,
    #[serde(with = "time::serde::rfc3339")]
    pub effective_from: OffsetDateTime,
    /// `defaults` (shipped with the gateway), `config` (the operator's file) or `managed`
    /// (set through this API); a later source wins over an earlier one.
    pub source: String,
    pub rates: RatesView,
}

/// A list's markup (or, negative, discount), from a date on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MarkupView {
    /// Percent, at most two decimals: `"25"`, `"-10.5"`.
    pub percent: String,
    #[serde(with = "time::serde::rfc3339")]
    pub effective_from: OffsetDateTime,
}

/// One price list: the platform's costs or prices, a partner's rate card or a tenant's
/// negotiated prices, with every version kept (newest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriceListView {
    /// The platform's currency (ISO 4217).
    pub currency: String,
    pub markups: Vec<MarkupView>,
    pub entries: Vec<PriceEntryView>,
}

/// A new version of one model's rates in a list. It never replaces what was billed: it applies
/// from `effective_from` (now when absent; never in the past).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewPriceRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub provider: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub model: String,
    pub rates: RatesView,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub effective_from: Option<OffsetDateTime>,
}

/// A new markup (or discount) for a list, from `effective_from` (now when absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewMarkupRequest {
    /// Percent, −100 to 1000, at most two decimals.
    #[cfg_attr(feature = "openapi", schema(example = "25"))]
    pub percent: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub effective_from: Option<OffsetDateTime>,
}

/// What one deployment of a model costs the tenant now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentPriceView {
    pub deployment: String,
    pub provider: String,
    pub upstream_model: String,
    /// `None`: no price list prices it (its calls are recorded as unpriced).
    pub price: Option<RatesView>,
}

/// A model the tenant can call, with what each of its deployments costs the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelPriceView {
    pub model: String,
    pub deployments: Vec<DeploymentPriceView>,
}

/// What every model costs the tenant now: its negotiated prices, else its partner's rate
/// card, else the platform's prices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantPriceListView {
    pub currency: String,
    pub models: Vec<ModelPriceView>,
}
