//! `/api/v1/tenants/{tenant}/models`: the models a tenant can call, with their deployments
//! and each deployment's health on this node (breaker, latency), for the portal's "Models
//! and routes" page.

use std::time::Instant;

use actix_web::web;
use actix_web::{HttpRequest, HttpResponse};
use api_types::manage::{DeploymentView, ModelRouteView, Problem};
use domain::{Permission, TenantId};

use super::caller::caller;
use super::{ApiProblem, ok, tenant_id};
use crate::AppState;

/// The models the tenant can call: each alias, how calls spread over its deployments, and
/// how each deployment is doing on the node that answers (breakers and latency are per node).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/models", tag = "models",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    responses(
        (status = 200, description = "Models in configuration order", body = Vec<ModelRouteView>),
        (status = 404, description = "No such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn list_models(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path)?;
    state
        .manager
        .authorize(&identity, tenant, Permission::ViewTenant)
        .await?;
    Ok(ok(&views(&state.gateway, Some(tenant))))
}

/// Every platform model with each deployment's health on the node that answers (platform
/// operators only): the operator's view of breakers, latency and error rates.
#[utoipa::path(get, path = "/api/v1/deployments", tag = "models",
    responses(
        (status = 200, description = "The platform's models in configuration order", body = Vec<ModelRouteView>),
        (status = 403, description = "Not a platform operator", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn list_deployments(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    if !identity.user.is_operator {
        return Err(management::Error::Forbidden(
            "only platform operators see every deployment".into(),
        )
        .into());
    }
    Ok(ok(&views(&state.gateway, None)))
}

/// The models `tenant` can call (its own aliases included), or with no tenant the platform's
/// alone, as nobody's (no own keys).
fn views(gateway: &gateway::Gateway, tenant: Option<TenantId>) -> Vec<ModelRouteView> {
    let now = Instant::now();
    let own = tenant.and_then(|it| gateway.tenant_routes(it));
    let platform = gateway
        .routes()
        .filter(|route| own.as_ref().is_none_or(|it| it.get(&route.alias).is_none()))
        .map(|route| (route, false));
    let tenant_defined = own
        .iter()
        .flat_map(|it| it.routes())
        .map(|route| (route, true));
    platform
        .chain(tenant_defined)
        .map(|(route, tenant_defined)| ModelRouteView {
            tenant_defined,
            alias: route.alias.to_string(),
            strategy: route.strategy.as_str().to_owned(),
            max_attempts: route.retry.max_attempts,
            cache_ttl_secs: route.cache.map(|it| it.ttl.as_secs()),
            semantic_threshold: route.semantic.as_ref().map(|it| {
                tenant
                    .and_then(|tenant| gateway.tenant_semantic_threshold(tenant))
                    .unwrap_or(it.threshold)
                    .fraction()
            }),
            semantic_embedding_model: route
                .semantic
                .as_ref()
                .map(|it| it.embedding_model.to_string()),
            deployments: route
                .deployments
                .iter()
                .map(|it| {
                    let report = it.breaker.report(now);
                    let ttfb = it.stats.ttfb();
                    DeploymentView {
                        name: it.name.to_string(),
                        provider: it.provider_name.to_string(),
                        model: it.upstream_model.to_string(),
                        weight: it.weight,
                        priority: it.priority,
                        region: it.region.as_deref().map(str::to_owned),
                        #[expect(
                            clippy::cast_precision_loss,
                            reason = "a display of at most 1e15 millionths"
                        )]
                        cost: it.cost_micros.map(|micros| micros as f64 / 1e6),
                        own_credential: it.own_credential_only
                            || tenant.is_some_and(|tenant| {
                                gateway.tenant_has_own_credential(tenant, &it.provider_name)
                            }),
                        breaker: if it.breaker.enabled() {
                            report.state.as_str().to_owned()
                        } else {
                            "disabled".to_owned()
                        },
                        latency_ms: (!ttfb.is_zero()).then_some(ttfb.as_secs_f64() * 1000.0),
                        window_calls: report.calls,
                        window_failures: report.failures,
                        rpm: it.ceiling.as_ref().and_then(|c| c.rpm),
                        tpm: it.ceiling.as_ref().and_then(|c| c.tpm),
                        minute_requests: it.ceiling.as_ref().map(|c| c.report(now).requests),
                        minute_tokens: it.ceiling.as_ref().map(|c| c.report(now).tokens),
                        shadow: it.shadow.is_some(),
                    }
                })
                .collect(),
        })
        .collect()
}
