//! The management API's request and response bodies (`/api/v1`).

use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ErrorCode;

/// `None` when the field is absent, `Some(None)` when it is `null`: "leave as is" versus
/// "clear" in partial updates.
fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The error body of every management endpoint (RFC 7807 `application/problem+json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A URI reference naming the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: ErrorCode,
    /// The fields that failed validation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// The field's path in the request body (`limits.requests_per_minute`).
    pub field: String,
    pub message: String,
}

/// One page of a list, and where the next one starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 12, max_length = 256))]
    pub password: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub display_name: Option<String>,
    /// The token from an invitation link: required when sign-up is closed; the account is
    /// then verified at once (the invitation was mailed to this address).
    #[serde(default)]
    pub invitation_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// A signed-in session. The session itself travels in an HttpOnly cookie; `csrf_token` must be
/// sent back as `x-csrf-token` on every mutating request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginResponse {
    pub user: UserView,
    pub csrf_token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The token from the emailed link.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EmailRequest {
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    /// The token from the emailed link.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub token: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 12, max_length = 256))]
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub email_verified: bool,
    pub is_operator: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A member's role in a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RoleName {
    Owner,
    Admin,
    Developer,
    Finance,
    Viewer,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantView {
    pub id: Uuid,
    pub name: String,
    /// `active` or `suspended`.
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The caller's role; absent for platform operators and partner administrators who are
    /// not members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<RoleName>,
    /// The partner managing it, for a partner's sub-tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeResponse {
    pub user: UserView,
    pub tenants: Vec<TenantView>,
    /// The partners the caller administers (every partner, for operators).
    #[serde(default)]
    pub partners: Vec<PartnerSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateTenantRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberView {
    pub user_id: Uuid,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub role: RoleName,
    #[serde(with = "time::serde::rfc3339")]
    pub joined_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateMemberRequest {
    pub role: RoleName,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvitationView {
    pub id: Uuid,
    pub email: String,
    pub role: RoleName,
    /// `pending`, `accepted`, `revoked` or `expired`.
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateInvitationRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub email: String,
    pub role: RoleName,
}

/// A new invitation; `url` is the secret link, shown once (it is also emailed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedInvitation {
    pub invitation: InvitationView,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AcceptedInvitation {
    pub tenant_id: Uuid,
    pub role: RoleName,
}

/// Per-key limits, enforced on every call by the data plane on every node: a call over one
/// is refused with 429 (`rate_limited`, or `insufficient_quota` for the budget) and never
/// reaches a provider. Token limits reserve the prompt's estimate plus the call's maximum
/// output before the call and settle on its actual usage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KeyLimitsView {
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
    /// Spend cap per calendar month (UTC), in micro-units of the platform's currency: what
    /// the key's calls are charged, reserved at their most before each call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub monthly_budget_micros: Option<i64>,
    /// Spend and token budgets per period (day, week, month, rolling 30 days), hard or soft
    /// with alert thresholds, as a tenant's limits have them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(max_items = 8))]
    pub budgets: Vec<crate::limits::BudgetView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyView {
    pub id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The key's visible start, e.g. `sk-sluice-AbCd`.
    pub prefix: String,
    pub last_four: String,
    /// Model aliases the key may use; empty means all.
    pub models: Vec<String>,
    /// Endpoints the key may call; empty means all.
    pub endpoints: Vec<String>,
    /// Networks the key may be used from (CIDR); empty means anywhere.
    pub ip_allowlist: Vec<String>,
    pub limits: KeyLimitsView,
    /// Regions whose deployments may serve this key's calls (within the tenant's own
    /// restriction); empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(max_items = 16))]
    pub regions: Vec<String>,
    /// `active`, `expired` or `revoked`.
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub revoked_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_from: Option<Uuid>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateKeyRequest {
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub name: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 100))]
    pub models: Vec<String>,
    #[serde(default)]
    pub endpoints: Vec<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 100))]
    pub ip_allowlist: Vec<String>,
    #[serde(default)]
    pub limits: KeyLimitsView,
    /// Regions whose deployments may serve this key's calls (within the tenant's own
    /// restriction); empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(max_items = 16))]
    pub regions: Vec<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// A partial update: absent fields stay as they are; `null` clears `name` or `expires_at`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateKeyRequest {
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 100))]
    pub name: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_items = 100))]
    pub models: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_items = 100))]
    pub ip_allowlist: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<KeyLimitsView>,
    /// Regions whose deployments may serve this key's calls; `[]`: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_items = 16))]
    pub regions: Option<Vec<String>>,
    /// RFC 3339, or `null` for no expiry.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub expires_at: Option<Option<String>>,
}

/// A new key; `secret` is shown only in this response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedKey {
    pub key: KeyView,
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RotateKeyRequest {
    /// How long the old key keeps working (at most 30 days; default one day).
    #[serde(default = "default_grace")]
    #[cfg_attr(feature = "openapi", schema(maximum = 2_592_000))]
    pub grace_period_seconds: u64,
}

fn default_grace() -> u64 {
    86_400
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenView {
    pub id: Uuid,
    pub name: String,
    pub prefix: String,
    pub last_four: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub revoked_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub name: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// A new personal access token; `secret` is shown only in this response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedToken {
    pub token: TokenView,
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActorView {
    /// `user`, `token`, `operator` or `system`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEventView {
    /// Position in the tamper-evident chain.
    pub seq: i64,
    pub id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<Uuid>,
    pub actor: ActorView,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<serde_json::Value>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub hash: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_updates_tell_absent_from_null() {
        let absent: UpdateKeyRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(absent.name, None);
        let cleared: UpdateKeyRequest =
            serde_json::from_str(r#"{"name": null, "expires_at": null}"#).unwrap();
        assert_eq!(cleared.name, Some(None));
        assert_eq!(cleared.expires_at, Some(None));
        let set: UpdateKeyRequest = serde_json::from_str(r#"{"name": "ci"}"#).unwrap();
        assert_eq!(set.name, Some(Some("ci".into())));
        assert!(serde_json::from_str::<UpdateKeyRequest>(r#"{"nam": "typo"}"#).is_err());
    }
}

/// A model the tenant can call, with the deployments behind it and their health on the node
/// that answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelRouteView {
    /// What callers send as `model`.
    pub alias: String,
    /// `priority`, `weighted`, `round_robin` or `least_latency`.
    pub strategy: String,
    /// Tries a call may take in all.
    pub max_attempts: u32,
    /// How long answers are kept by the response cache; absent when they are not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_ttl_secs: Option<u64>,
    /// The least similarity at which the semantic cache serves a similar prompt's answer:
    /// the tenant's own threshold when it set one, else the model's; absent when the model
    /// has no semantic cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semantic_threshold: Option<f64>,
    /// The model whose embeddings the semantic cache compares prompts with; absent when the
    /// model has no semantic cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semantic_embedding_model: Option<String>,
    pub deployments: Vec<DeploymentView>,
    /// One of the tenant's own aliases (edited at `/tenants/{tenant}/routes`), not the
    /// platform's.
    #[serde(default)]
    pub tenant_defined: bool,
}

/// One deployment of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentView {
    /// The name `x-upstream-deployment` shows.
    pub name: String,
    /// The configured provider's name.
    pub provider: String,
    /// The upstream's model name.
    pub model: String,
    pub weight: u32,
    /// Lower is tried first; higher priorities are fallbacks.
    pub priority: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The cost the operator set, which the `least_cost` strategy ranks by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    /// Whether the tenant's own credential serves this deployment's calls.
    pub own_credential: bool,
    /// `closed`, `open` or `half_open`; `disabled` when the model has no breaker.
    pub breaker: String,
    /// Moving average of the time to first byte, on this node; absent until measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// Calls and failures in the breaker's current window, on this node.
    pub window_calls: u32,
    pub window_failures: u32,
    /// Requests per minute each gateway node may send it (ceilings are per node); absent:
    /// unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u32>,
    /// Tokens per minute each gateway node may send it; absent: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u64>,
    /// Requests and tokens sent to it in the last minute, on this node; absent when it has no
    /// ceiling (nothing is counted then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minute_requests: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minute_tokens: Option<u64>,
    /// A shadow deployment: it never answers callers and gets a copy of each chat call.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shadow: bool,
}

/// A tenant's own model alias, as written: the deployments it spreads calls over and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RouteRequest {
    /// `priority` (the default), `weighted`, `round_robin`, `least_latency`, `least_cost`,
    /// `usage_aware` (the least used of the platform deployments' ceilings first) or `split`
    /// (an experiment: each end user sticks to one entry, in proportion to the weights).
    #[serde(default = "default_strategy")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = "^(priority|weighted|round_robin|least_latency|least_cost|usage_aware|split)$"
        )
    )]
    pub strategy: String,
    /// What serves the alias, 1 to 16 entries; the first priority is tried first.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 16))]
    pub deployments: Vec<RouteDeploymentRequest>,
    /// Tries a call may take in all (1 to 10); one per deployment when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10))]
    pub max_attempts: Option<u32>,
    /// The whole call's deadline over every try, in milliseconds (100 to 600000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 100, maximum = 600_000))]
    pub timeout_ms: Option<u64>,
    /// Whether a prompt too long for one deployment goes on to the next.
    #[serde(default)]
    pub fallback_on_context_window: bool,
    /// Keep answers in the response cache this long (1 to 86400 seconds); not cached when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 86_400))]
    pub cache_ttl_seconds: Option<u32>,
}

fn default_strategy() -> String {
    "priority".to_owned()
}

fn default_weight() -> u32 {
    1
}

/// One entry of an alias: give `model` (optionally with `deployment`), or `provider` with
/// `upstream_model`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RouteDeploymentRequest {
    /// A platform model (as listed by `GET /v1/models`) or another of the tenant's aliases:
    /// every deployment of it, each weighing this entry's weight times its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub model: Option<String>,
    /// With `model` naming a platform model: only this one of its deployments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub deployment: Option<String>,
    /// A provider the tenant stored its own credential for (`GET /api/v1/providers`): calls
    /// go to it with that credential, never with the platform's key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub provider: Option<String>,
    /// With `provider`: the model name the provider is asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = "^[!-~]+$")
    )]
    pub upstream_model: Option<String>,
    /// Share among entries of equal priority under `weighted` (0: only as a fallback).
    #[serde(default = "default_weight")]
    #[cfg_attr(feature = "openapi", schema(maximum = 1_000_000))]
    pub weight: u32,
    /// Lower is tried first; higher priorities are fallbacks (0 to 1000).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 1000))]
    pub priority: u32,
}

/// A tenant's own alias: as written, and the deployments it stands for now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RouteView {
    /// What callers send as `model`.
    pub alias: String,
    pub strategy: String,
    pub deployments: Vec<RouteDeploymentRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    pub fallback_on_context_window: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_ttl_seconds: Option<u32>,
    /// The deployments calls go to, aliases and models expanded, in the order of their
    /// priority; empty when a model it names is no longer offered.
    pub resolved: Vec<ResolvedDeploymentView>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// One deployment an alias stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResolvedDeploymentView {
    /// The name `x-upstream-deployment` shows.
    pub name: String,
    /// The configured provider's name.
    pub provider: String,
    /// The upstream's model name.
    pub model: String,
    pub weight: u32,
    /// Rank among the alias's deployments: lower is tried first.
    pub priority: u32,
    /// Served only with the tenant's own credential.
    pub own_credential: bool,
}

/// Data residency: the regions whose deployments may serve the tenant's calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResidencyView {
    /// Empty: any region.
    pub regions: Vec<String>,
    /// The regions the platform's deployments are in.
    pub available: Vec<String>,
}

/// A tenant's response-cache settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CacheSettings {
    /// The least cosine similarity (0.5 to 1.0, four decimals) at which the semantic cache
    /// serves a similar prompt's answer to this tenant; `null`: each model's own.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.5, maximum = 1.0))]
    pub semantic_threshold: Option<f64>,
}

/// The regions to keep a tenant's calls to; `[]` lifts the restriction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResidencyRequest {
    #[cfg_attr(feature = "openapi", schema(max_items = 16))]
    pub regions: Vec<String>,
}

/// A configured provider a tenant may bring its own key for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ByokProviderView {
    /// The provider's name, to use as `provider` in a credential.
    pub name: String,
    /// `openai`, `azure_openai`, `openai_compatible` or `anthropic`.
    pub kind: String,
}

/// A tenant's own provider key: never the secret, only its mask.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderCredentialView {
    pub id: Uuid,
    pub name: String,
    /// The configured provider whose platform key this one replaces for the tenant's calls.
    pub provider: String,
    /// Where the tenant's calls go instead of the provider's configured URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The secret's first and last characters, e.g. `sk-p…mnop`.
    pub mask: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateProviderCredentialRequest {
    /// A label, unique in the tenant.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub name: String,
    /// One of `GET /api/v1/providers`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub provider: String,
    /// The provider API key; stored encrypted and never returned.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 4096, pattern = "^[!-~]+$")
    )]
    pub secret: String,
    /// Send this tenant's calls here instead (for example its own Azure resource); must be a
    /// public http(s) URL.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub base_url: Option<String>,
}

/// A service account: an OAuth 2.0 client of the tenant (`client_id` = `id`) whose access
/// tokens call the data plane with these scopes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceAccountView {
    /// Also its OAuth `client_id`.
    pub id: Uuid,
    pub name: String,
    /// The client secret's last characters.
    pub secret_last_four: String,
    /// Model aliases its tokens may use; empty means all.
    pub models: Vec<String>,
    /// Endpoints its tokens may call; empty means all.
    pub endpoints: Vec<String>,
    /// Networks its tokens may be used from (CIDR); empty means anywhere.
    pub ip_allowlist: Vec<String>,
    pub limits: KeyLimitsView,
    /// Regions whose deployments may serve this account's calls (within the tenant's own
    /// restriction); empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(max_items = 16))]
    pub regions: Vec<String>,
    /// `active` or `revoked`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub revoked_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateServiceAccountRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub name: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 100))]
    pub models: Vec<String>,
    #[serde(default)]
    pub endpoints: Vec<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 100))]
    pub ip_allowlist: Vec<String>,
    #[serde(default)]
    pub limits: KeyLimitsView,
    /// Regions whose deployments may serve this account's calls (within the tenant's own
    /// restriction); empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(max_items = 16))]
    pub regions: Vec<String>,
}

/// A service account with its client credentials; `client_secret` is shown only in this
/// response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceAccountCredentials {
    pub service_account: ServiceAccountView,
    pub client_id: String,
    pub client_secret: String,
    /// Where to exchange them for an access token (`grant_type=client_credentials`).
    pub token_url: String,
}

/// How the portal looks on the requesting host: a partner's branding on its domains, the
/// platform's everywhere else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BrandingView {
    /// The product name to show.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 60))]
    pub display_name: String,
    /// An `https://` or `data:image/...;base64,` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub favicon_url: Option<String>,
    /// `#rrggbb`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^#[0-9a-fA-F]{6}$"))]
    pub primary_color: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^#[0-9a-fA-F]{6}$"))]
    pub accent_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_url: Option<String>,
}

/// `GET /api/v1/branding`: the branding and key prefix of the requesting host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostBranding {
    pub branding: BrandingView,
    /// The prefix of keys issued here.
    pub key_prefix: String,
    /// The partner owning this host; absent on the platform's own hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartnerSummary {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartnerView {
    pub id: Uuid,
    pub name: String,
    pub branding: BrandingView,
    /// Prefix of keys issued in its sub-tenants.
    pub key_prefix: String,
    /// Its custom domains, oldest first; only verified ones show its branding.
    pub domains: Vec<PartnerDomainView>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Whether a partner's domain is proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DomainStatus {
    /// Added, not proved: it brands nothing and receives no links yet.
    Pending,
    /// Proved by its TXT record, or added by a platform operator.
    Verified,
}

/// A partner's custom domain, and how to prove control of it: publish a TXT record named
/// `record_name` holding `record_value`, then `POST …/domains/{host}/verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartnerDomainView {
    /// Lowercase, without port.
    pub host: String,
    pub status: DomainStatus,
    /// The DNS name of the TXT record (`_domain-verification.<host>`).
    pub record_name: String,
    /// The value the TXT record must hold: random, one per domain and partner.
    pub record_value: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was proved (or an operator added it).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub verified_at: Option<OffsetDateTime>,
}

/// Operators only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreatePartnerRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub name: String,
    /// 2 to 24 characters of `a-z`, `0-9` and `-`, starting with a letter.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z][a-z0-9-]{1,23}$"))]
    pub key_prefix: String,
    pub branding: BrandingView,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 20))]
    pub domains: Vec<String>,
    /// An existing account that becomes the partner's first administrator.
    #[serde(default)]
    pub admin_email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddDomainRequest {
    /// A host name such as `ai.partner.example`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub host: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartnerAdminView {
    pub user_id: Uuid,
    pub email: String,
    #[serde(with = "time::serde::rfc3339")]
    pub added_at: OffsetDateTime,
}

/// A configured identity provider, for a sign-in button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SsoProviderView {
    pub name: String,
    pub display_name: String,
    /// Where the button sends the browser (add `?return_to=/path` to come back there).
    pub start_url: String,
}

/// A tenant's rule that addresses of `domain` sign in only through `provider`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SsoDomainView {
    pub domain: String,
    pub provider: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RequireSsoRequest {
    /// The name of a configured identity provider (`GET /api/v1/auth/sso`).
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub provider: String,
}

/// Counts and latency of a set of requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageFiguresView {
    pub requests: u64,
    /// Requests that ended in an error (upstream or gateway).
    pub errors: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Absent when there were no requests. Read from a latency histogram whose buckets are
    /// about 1.6 × apart: within a bucket's width of the exact percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_p50_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_p95_ms: Option<u64>,
    /// What the calls were charged, in the platform's currency (a decimal string).
    #[serde(default)]
    pub spend: String,
    /// Calls that used tokens of a model with no price (not in `spend`).
    #[serde(default)]
    pub unpriced: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageBucketView {
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(flatten)]
    pub figures: UsageFiguresView,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageGroupView {
    /// The model alias or key id.
    pub key: String,
    /// What people call it: the model alias, or the key's name (or prefix), the service
    /// account's name, or `Explorer · <email>` for calls made from the portal's explorer.
    pub label: String,
    #[serde(flatten)]
    pub figures: UsageFiguresView,
}

/// A window's usage: totals, equal time buckets (empty ones included) and a breakdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageSummaryView {
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
    pub bucket_seconds: i64,
    /// `model`, `key` or `variant`.
    pub group_by: String,
    /// The currency `spend` is in (ISO 4217).
    #[serde(default)]
    pub currency: String,
    pub totals: UsageFiguresView,
    pub series: Vec<UsageBucketView>,
    /// Busiest first.
    pub groups: Vec<UsageGroupView>,
    /// Set when the window held more records than one summary reads.
    pub truncated: bool,
    /// Mirrors to shadow deployments in the window: never part of `totals`, `series` or
    /// `groups`; absent when there were none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<UsageFiguresView>,
}

/// One data-plane request, as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageRecordView {
    pub request_id: Uuid,
    pub key_id: Uuid,
    /// The key's name as in [`UsageGroupView::label`].
    pub key_label: String,
    /// `chat.completions`, `completions`, `embeddings` or `messages`.
    pub endpoint: String,
    pub model: String,
    /// The provider of the deployment that answered (or was tried last): the one billed.
    pub provider: String,
    /// Tries that failed before the one this record bills, in order, when the gateway failed
    /// over; empty for a request answered at its first try. They are not billed.
    pub attempts: Vec<UsageAttemptView>,
    /// The experiment arm that answered, for models that run an experiment (`split`) or label
    /// their deployments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    pub stream: bool,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cached_tokens: u64,
    /// Counted with a tokenizer because the provider reported none.
    pub estimated: bool,
    /// `ok`, `error`, `client_closed` (the client went away), `server_closed` (the gateway
    /// cut the call: its shutdown deadline, or a crash it was recovered from) or `cache_hit`
    /// (answered from the response cache; no upstream was called), or `shadow` (a copy sent to
    /// a shadow deployment; nobody saw its answer, and it is not the tenant's traffic).
    pub status: String,
    pub http_status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    pub latency_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<u64>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// One failed try of a request the gateway then tried again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageAttemptView {
    /// The deployment's name in the model's route.
    pub deployment: String,
    /// What the client would have been answered had this been the last try.
    pub http_status: u16,
    /// The error's stable code (`upstream_timeout`, `upstream_rate_limited`, …).
    pub error_code: String,
    pub latency_ms: u64,
}

/// A short-lived data-plane token for the portal's API explorer, minted for the signed-in
/// user so nobody pastes a secret into the browser. Send it as `Authorization: Bearer` to
/// `/v1/*`; calls are recorded as usage under the user (`key_id` = user id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExplorerTokenView {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until it expires (5 minutes); mint a new one before then.
    pub expires_in: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}
