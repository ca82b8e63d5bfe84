//! Limits above keys: `/api/v1/platform/limits` (operators: every tenant, each on its own),
//! `/api/v1/partners/{partner}/limits` (shared by the partner's sub-tenants; set by
//! operators), `/api/v1/tenants/{tenant}/limits` (the tenant's, with what every limit over it
//! holds now), a key's effective limits under `/api/v1/tenants/{tenant}/keys/{key}/limits`,
//! and the budget alerts under `…/alerts`.

use std::collections::BTreeMap;

use actix_web::web::{self, Payload};
use actix_web::{HttpRequest, HttpResponse};
use api_types::limits::{
    BudgetAlertList, BudgetAlertView, BudgetView, EffectiveLimitsView, LimitPolicyView,
    LimitUsageView, LimitsView, RateLimitsView, WebhookRequest, WebhookView,
};
use api_types::manage::Problem;
use domain::limits::{
    AlertRecipient, Budget, BudgetAmount, BudgetPeriod, CountersDown, LimitPolicy, PolicyScope,
    RateLimits, StoredAlert,
};
use domain::pricing::Money;
use gateway::limit_usage::LimitUsage;

use super::caller::caller;
use super::{ApiProblem, json, ok, path_id, tenant_id};
use crate::AppState;

fn invalid(field: String, message: String) -> ApiProblem {
    management::Error::Invalid { field, message }.into()
}

fn rates_of(view: &RateLimitsView) -> RateLimits {
    RateLimits {
        requests_per_minute: view.requests_per_minute,
        requests_per_day: view.requests_per_day,
        tokens_per_minute: view.tokens_per_minute,
        tokens_per_day: view.tokens_per_day,
        max_concurrent: view.max_concurrent,
    }
}

fn rates_view(rates: &RateLimits) -> RateLimitsView {
    RateLimitsView {
        requests_per_minute: rates.requests_per_minute,
        requests_per_day: rates.requests_per_day,
        tokens_per_minute: rates.tokens_per_minute,
        tokens_per_day: rates.tokens_per_day,
        max_concurrent: rates.max_concurrent,
    }
}

/// The budgets a request describes, the list named `field`; their bounds are checked by
/// [`domain::limits::validate_budgets`].
///
/// # Errors
/// A period or amount that does not parse, naming the field.
pub(crate) fn budgets_of(views: Vec<BudgetView>, field: &str) -> Result<Vec<Budget>, ApiProblem> {
    let mut budgets = Vec::with_capacity(views.len());
    for (i, budget) in views.into_iter().enumerate() {
        let at = |name: &str| format!("{field}[{i}].{name}");
        let period = BudgetPeriod::parse(&budget.period).ok_or_else(|| {
            invalid(
                at("period"),
                format!(
                    "`{}` is not a period: use `day`, `week`, `month` or `rolling_30d`",
                    budget.period.escape_debug()
                ),
            )
        })?;
        let amount = match (budget.spend, budget.tokens) {
            (Some(spend), None) => BudgetAmount::Spend(
                Money::parse_non_negative(&spend)
                    .map_err(|e| invalid(at("spend"), format!("`{}` {e}", spend.escape_debug())))?,
            ),
            (None, Some(tokens)) => BudgetAmount::Tokens(tokens),
            _ => {
                return Err(invalid(
                    at("spend"),
                    "a budget sets exactly one of `spend` (money) and `tokens`".into(),
                ));
            }
        };
        budgets.push(Budget {
            period,
            amount,
            hard: budget.hard,
            alert_at_percent: budget.alert_at_percent,
        });
    }
    Ok(budgets)
}

/// The policy a request describes (the API's shape, also `sluice admin limits set`'s); its
/// bounds are checked by [`LimitPolicy::validate`].
///
/// # Errors
/// A period, amount or policy name that does not parse, naming the field.
pub fn policy_of(view: LimitPolicyView) -> Result<LimitPolicy, ApiProblem> {
    let budgets = budgets_of(view.budgets, "budgets")?;
    let counters_down = match view.counters_down.as_str() {
        "default" => CountersDown::Default,
        "closed" => CountersDown::Closed,
        "open" => CountersDown::Open,
        other => {
            return Err(invalid(
                "counters_down".into(),
                format!(
                    "`{}` is not a policy: use `default`, `closed` or `open`",
                    other.escape_debug()
                ),
            ));
        }
    };
    Ok(LimitPolicy {
        rates: RateLimits {
            requests_per_minute: view.requests_per_minute,
            requests_per_day: view.requests_per_day,
            tokens_per_minute: view.tokens_per_minute,
            tokens_per_day: view.tokens_per_day,
            max_concurrent: view.max_concurrent,
        },
        budgets,
        models: view
            .models
            .iter()
            .map(|(model, rates)| (model.clone(), rates_of(rates)))
            .collect(),
        allowed_models: view.allowed_models,
        denied_models: view.denied_models,
        counters_down,
        locked: view.locked,
    })
}

/// A policy in the API's shape.
pub fn policy_view(policy: &LimitPolicy) -> LimitPolicyView {
    LimitPolicyView {
        requests_per_minute: policy.rates.requests_per_minute,
        requests_per_day: policy.rates.requests_per_day,
        tokens_per_minute: policy.rates.tokens_per_minute,
        tokens_per_day: policy.rates.tokens_per_day,
        max_concurrent: policy.rates.max_concurrent,
        budgets: policy.budgets.iter().map(budget_view).collect(),
        models: policy
            .models
            .iter()
            .map(|(model, rates)| (model.clone(), rates_view(rates)))
            .collect::<BTreeMap<_, _>>(),
        allowed_models: policy.allowed_models.clone(),
        denied_models: policy.denied_models.clone(),
        counters_down: match policy.counters_down {
            CountersDown::Default => "default",
            CountersDown::Closed => "closed",
            CountersDown::Open => "open",
        }
        .to_owned(),
        locked: policy.locked,
    }
}

/// A budget in the API's shape.
pub(crate) fn budget_view(budget: &Budget) -> BudgetView {
    let (spend, tokens) = match budget.amount {
        BudgetAmount::Spend(money) => (Some(money.to_string()), None),
        BudgetAmount::Tokens(tokens) => (None, Some(tokens)),
    };
    BudgetView {
        period: budget.period.as_str().to_owned(),
        spend,
        tokens,
        hard: budget.hard,
        alert_at_percent: budget.alert_at_percent.clone(),
    }
}

fn money(micros: u64) -> String {
    Money::from_micros(i64::try_from(micros).unwrap_or(i64::MAX))
        .unwrap_or(Money::ZERO)
        .to_string()
}

fn usage_view(usage: LimitUsage) -> LimitUsageView {
    let spend = usage.kind == "spend";
    let resets_at =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(usage.resets_at_ms) * 1_000_000)
            .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    LimitUsageView {
        owner: usage.owner.to_owned(),
        kind: usage.kind.to_owned(),
        period: usage.period.map(|it| it.as_str().to_owned()),
        model: usage.model,
        limit: usage.limit,
        used: usage.used,
        remaining: usage.remaining,
        limit_amount: spend.then(|| money(usage.limit)),
        used_amount: spend.then(|| money(usage.used)),
        remaining_amount: spend.then(|| money(usage.remaining)),
        resets_at,
        hard: usage.hard,
        alert_at_percent: usage.alert_at_percent,
    }
}

fn alert_view(stored: StoredAlert) -> BudgetAlertView {
    let alert = stored.alert;
    BudgetAlertView {
        delivery: stored.delivery.as_str().to_owned(),
        attempts: stored.attempts,
        last_error: stored.last_error,
        delivered_at: stored.delivered_at,
        id: alert.id.0,
        tenant_id: alert.tenant_id.0,
        owner: alert.owner,
        key_id: alert.key_id.map(|it| it.0),
        budget: alert.budget,
        period: alert.period.as_str().to_owned(),
        period_id: alert.period_id,
        threshold_percent: alert.threshold_percent,
        limit: alert.limit,
        used: alert.used,
        hard: alert.hard,
        raised_at: alert.raised_at,
    }
}

fn currency(state: &AppState) -> String {
    state.manager.config().prices.currency.to_string()
}

async fn show(
    req: &HttpRequest,
    state: &AppState,
    scope: PolicyScope,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(req, state).await?;
    let found = state.manager.limit_policy(&identity, scope).await?;
    let usage = match (scope, &found.policy) {
        (PolicyScope::Tenant(tenant), _) => state.gateway.limit_usage(tenant, None).await,
        (PolicyScope::Partner(partner), Some(policy)) => {
            state.gateway.partner_limit_usage(partner, policy).await
        }
        (PolicyScope::Platform | PolicyScope::Partner(_), _) => Ok(Vec::new()),
    };
    let (usage, counters_reachable) = match usage {
        Ok(usage) => (usage.into_iter().map(usage_view).collect(), true),
        Err(e) if e.kind == gateway::ErrorKind::Unavailable => (Vec::new(), false),
        // A tenant made a moment ago on another node: this one learns of it shortly.
        Err(e) if e.kind == gateway::ErrorKind::NotFound => (Vec::new(), true),
        Err(e) => return Err(e.into()),
    };
    Ok(ok(&LimitsView {
        currency: currency(state),
        set: found.policy.is_some(),
        policy: policy_view(found.policy.as_ref().unwrap_or(&LimitPolicy::default())),
        editable: found.editable,
        usage,
        counters_reachable,
    }))
}

async fn replace(
    req: &HttpRequest,
    payload: Payload,
    state: &AppState,
    scope: PolicyScope,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(req, state).await?;
    let body: LimitPolicyView = json(req, payload).await?;
    let policy = policy_of(body)?;
    state
        .manager
        .set_limit_policy(&identity, scope, Some(policy))
        .await?;
    show(req, state, scope).await
}

async fn remove(
    req: &HttpRequest,
    state: &AppState,
    scope: PolicyScope,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(req, state).await?;
    state
        .manager
        .set_limit_policy(&identity, scope, None)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The limits the operator sets for every tenant (each counted on its own). Operators only.
#[utoipa::path(get, path = "/api/v1/platform/limits", tag = "limits",
    responses(
        (status = 200, description = "The policy", body = LimitsView),
        (status = 403, description = "Not an operator", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn get_platform(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    show(&req, &state, PolicyScope::Platform).await
}

/// Replace the limits for every tenant. Operators only.
#[utoipa::path(put, path = "/api/v1/platform/limits", tag = "limits",
    request_body = LimitPolicyView,
    responses(
        (status = 200, description = "The policy now", body = LimitsView),
        (status = 400, description = "A field at fault: a zero limit, a budget in an unknown period, as a float or with more than six decimals, thresholds out of order", body = Problem),
        (status = 403, description = "Not an operator", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn put_platform(
    req: HttpRequest,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    replace(&req, payload, &state, PolicyScope::Platform).await
}

/// Remove the limits for every tenant. Operators only.
#[utoipa::path(delete, path = "/api/v1/platform/limits", tag = "limits",
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Not an operator", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn delete_platform(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    remove(&req, &state, PolicyScope::Platform).await
}

fn partner(raw: &str) -> Result<PolicyScope, ApiProblem> {
    Ok(PolicyScope::Partner(path_id(raw, "partner")?))
}

/// The limits shared by all of a partner's sub-tenants. Its administrators read them;
/// operators set them.
#[utoipa::path(get, path = "/api/v1/partners/{partner}/limits", tag = "limits",
    params(("partner" = uuid::Uuid, Path, description = "Partner id")),
    responses(
        (status = 200, description = "The policy", body = LimitsView),
        (status = 404, description = "No such partner for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn get_partner(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    show(&req, &state, partner(&path)?).await
}

/// Replace the limits shared by a partner's sub-tenants. Operators only.
#[utoipa::path(put, path = "/api/v1/partners/{partner}/limits", tag = "limits",
    params(("partner" = uuid::Uuid, Path, description = "Partner id")),
    request_body = LimitPolicyView,
    responses(
        (status = 200, description = "The policy now", body = LimitsView),
        (status = 400, description = "A field at fault", body = Problem),
        (status = 403, description = "Not an operator", body = Problem),
        (status = 404, description = "No such partner for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn put_partner(
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    replace(&req, payload, &state, partner(&path)?).await
}

/// Remove a partner's shared limits. Operators only.
#[utoipa::path(delete, path = "/api/v1/partners/{partner}/limits", tag = "limits",
    params(("partner" = uuid::Uuid, Path, description = "Partner id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Not an operator", body = Problem),
        (status = 404, description = "No such partner for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn delete_partner(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    remove(&req, &state, partner(&path)?).await
}

fn tenant(raw: &str) -> Result<PolicyScope, ApiProblem> {
    Ok(PolicyScope::Tenant(tenant_id(raw)?))
}

/// The tenant's limits (for all its keys together, per model, and which models it may use),
/// and what every limit over its calls holds now: the platform's, its partner's, its own.
/// Members who see usage read them.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/limits", tag = "limits",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    responses(
        (status = 200, description = "The policy and its live usage", body = LimitsView),
        (status = 403, description = "The caller's role does not see usage", body = Problem),
        (status = 404, description = "No such tenant for the caller", body = Problem),
        (status = 503, description = "The shared counters cannot be read right now", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn get_tenant(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    show(&req, &state, tenant(&path)?).await
}

/// Replace the tenant's limits. Its administrators, unless its partner or an operator locked
/// them; the partner's administrators and operators (who may lock them).
#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/limits", tag = "limits",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    request_body = LimitPolicyView,
    responses(
        (status = 200, description = "The policy now, with its live usage", body = LimitsView),
        (status = 400, description = "A field at fault: a zero limit, a budget in an unknown period, as a float or with more than six decimals, thresholds out of order; `locked` from the tenant's own administrators", body = Problem),
        (status = 403, description = "The caller may not change them (locked, or a role that does not manage the tenant)", body = Problem),
        (status = 404, description = "No such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn put_tenant(
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    replace(&req, payload, &state, tenant(&path)?).await
}

/// Remove the tenant's limits (as for replacing them).
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/limits", tag = "limits",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "The caller may not change them", body = Problem),
        (status = 404, description = "No such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn delete_tenant(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    remove(&req, &state, tenant(&path)?).await
}

/// Every limit over one key's calls (the platform's, the partner's, the tenant's and its
/// per-model rates, the key's own) and what each holds now.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/keys/{key}/limits", tag = "limits",
    params(
        ("tenant" = uuid::Uuid, Path, description = "Tenant id"),
        ("key" = uuid::Uuid, Path, description = "Key id"),
    ),
    responses(
        (status = 200, description = "The effective limits", body = EffectiveLimitsView),
        (status = 404, description = "No such tenant or key for the caller", body = Problem),
        (status = 503, description = "The shared counters cannot be read right now", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn key_limits(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path.0)?;
    let key = path_id(&path.1, "key")?;
    let (key, _) = state.manager.key_for_limits(&identity, tenant, key).await?;
    let limits = state
        .gateway
        .limit_usage(tenant, Some(&key))
        .await?
        .into_iter()
        .map(usage_view)
        .collect();
    Ok(ok(&EffectiveLimitsView {
        currency: currency(&state),
        limits,
    }))
}

async fn alerts(
    req: &HttpRequest,
    state: &AppState,
    recipient: AlertRecipient,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(req, state).await?;
    let alerts = state.manager.budget_alerts(&identity, recipient).await?;
    Ok(ok(&BudgetAlertList {
        alerts: alerts.into_iter().map(alert_view).collect(),
    }))
}

/// The budget alerts the tenant received (its own budgets', its keys', its plan's), newest
/// first.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/alerts", tag = "limits",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    responses(
        (status = 200, description = "The alerts", body = BudgetAlertList),
        (status = 404, description = "No such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn tenant_alerts(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    alerts(&req, &state, AlertRecipient::Tenant(tenant_id(&path)?)).await
}

/// The alerts of a partner's shared budgets, newest first.
#[utoipa::path(get, path = "/api/v1/partners/{partner}/alerts", tag = "limits",
    params(("partner" = uuid::Uuid, Path, description = "Partner id")),
    responses(
        (status = 200, description = "The alerts", body = BudgetAlertList),
        (status = 404, description = "No such partner for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn partner_alerts(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    alerts(
        &req,
        &state,
        AlertRecipient::Partner(path_id(&path, "partner")?),
    )
    .await
}

fn webhook_view(view: management::WebhookView) -> WebhookView {
    WebhookView {
        url: view.url,
        secret: view.secret,
        created_at: view.created_at,
        updated_at: view.updated_at,
    }
}

fn recipient(kind: &str, raw: &str) -> Result<AlertRecipient, ApiProblem> {
    Ok(match kind {
        "partners" => AlertRecipient::Partner(path_id(raw, "partner")?),
        _ => AlertRecipient::Tenant(tenant_id(raw)?),
    })
}

async fn get_webhook(
    req: &HttpRequest,
    state: &AppState,
    recipient: AlertRecipient,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(req, state).await?;
    match state.manager.webhook(&identity, recipient).await? {
        Some(view) => Ok(ok(&webhook_view(view))),
        None => Err(management::Error::NotFound("webhook").into()),
    }
}

async fn put_webhook(
    req: &HttpRequest,
    payload: Payload,
    state: &AppState,
    recipient: AlertRecipient,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(req, state).await?;
    let body: WebhookRequest = json(req, payload).await?;
    let view = state
        .manager
        .set_webhook(&identity, recipient, &body.url, body.rotate_secret)
        .await?;
    Ok(ok(&webhook_view(view)))
}

async fn delete_webhook(
    req: &HttpRequest,
    state: &AppState,
    recipient: AlertRecipient,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(req, state).await?;
    state.manager.remove_webhook(&identity, recipient).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Where the tenant's budget alerts are sent (without the secret). Members who see usage.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/webhook", tag = "limits",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    responses(
        (status = 200, description = "The webhook", body = WebhookView),
        (status = 404, description = "No webhook, or no such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn get_tenant_webhook(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    get_webhook(&req, &state, recipient("tenants", &path)?).await
}

/// Send the tenant's budget alerts to a URL, signed; the answer that makes the webhook (or
/// rotates its secret) is the only one that shows the secret. Roles that manage the tenant.
#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/webhook", tag = "limits",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    request_body = WebhookRequest,
    responses(
        (status = 200, description = "The webhook", body = WebhookView),
        (status = 400, description = "Not a public http(s) URL", body = Problem),
        (status = 403, description = "The caller's role does not manage the tenant", body = Problem),
        (status = 404, description = "No such tenant for the caller", body = Problem),
        (status = 503, description = "No master key to seal the secret with", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn put_tenant_webhook(
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    put_webhook(&req, payload, &state, recipient("tenants", &path)?).await
}

/// Stop sending the tenant's budget alerts.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/webhook", tag = "limits",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No webhook, or no such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn delete_tenant_webhook(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    delete_webhook(&req, &state, recipient("tenants", &path)?).await
}

/// Where the partner's shared budgets' alerts are sent (without the secret).
#[utoipa::path(get, path = "/api/v1/partners/{partner}/webhook", tag = "limits",
    params(("partner" = uuid::Uuid, Path, description = "Partner id")),
    responses(
        (status = 200, description = "The webhook", body = WebhookView),
        (status = 404, description = "No webhook, or no such partner for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn get_partner_webhook(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    get_webhook(&req, &state, recipient("partners", &path)?).await
}

/// Send the partner's alerts to a URL, signed (the secret is shown once). Its administrators.
#[utoipa::path(put, path = "/api/v1/partners/{partner}/webhook", tag = "limits",
    params(("partner" = uuid::Uuid, Path, description = "Partner id")),
    request_body = WebhookRequest,
    responses(
        (status = 200, description = "The webhook", body = WebhookView),
        (status = 400, description = "Not a public http(s) URL", body = Problem),
        (status = 404, description = "No such partner for the caller", body = Problem),
        (status = 503, description = "No master key to seal the secret with", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn put_partner_webhook(
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    put_webhook(&req, payload, &state, recipient("partners", &path)?).await
}

/// Stop sending the partner's alerts.
#[utoipa::path(delete, path = "/api/v1/partners/{partner}/webhook", tag = "limits",
    params(("partner" = uuid::Uuid, Path, description = "Partner id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No webhook, or no such partner for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn delete_partner_webhook(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    delete_webhook(&req, &state, recipient("partners", &path)?).await
}
