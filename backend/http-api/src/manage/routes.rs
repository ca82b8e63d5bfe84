//! `/api/v1/tenants/{tenant}/routes*`: the tenant's own model aliases, over the platform's
//! models and its own provider credentials. Every node serves a change within a second.

use actix_web::web::{self, Payload};
use actix_web::{HttpRequest, HttpResponse};
use api_types::manage::{
    CacheSettings, Problem, ResidencyRequest, ResidencyView, ResolvedDeploymentView,
    RouteDeploymentRequest, RouteRequest, RouteView,
};
use domain::route::{FlatSource, RouteSpec, RouteTarget, Serves};
use management::RouteReport;

use super::caller::caller;
use super::{ApiProblem, created, json, ok, tenant_id};
use crate::AppState;

/// The tenant's own aliases, by name, each with the deployments it stands for now.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/routes", tag = "models",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    responses(
        (status = 200, description = "Aliases by name", body = Vec<RouteView>),
        (status = 403, description = "The caller's role does not allow it", body = Problem),
        (status = 404, description = "No such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn list_routes(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path)?;
    let routes = state.manager.routes(&identity, tenant).await?;
    Ok(ok(&routes.iter().map(view).collect::<Vec<_>>()))
}

/// Define an alias, or replace its definition: callers use it as `model` on every node within
/// a second. Checked first: the platform's models and deployments it names exist, the tenant
/// has a credential for each provider it names, and no aliases form a loop.
#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/routes/{alias}", tag = "models",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), ("alias" = String, Path, description = "The alias: 1 to 64 letters, digits, `.`, `_`, `:`, `-`; not one of the platform's models")),
    request_body = RouteRequest,
    responses(
        (status = 200, description = "Replaced", body = RouteView),
        (status = 201, description = "Created", body = RouteView),
        (status = 400, description = "Invalid field (unknown model or provider, a loop of aliases...), named in `field`", body = Problem),
        (status = 403, description = "The caller's role does not allow it", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn put_route(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path.0)?;
    let body: RouteRequest = json(&req, payload).await?;
    let spec = spec(body)?;
    let (report, was_created) = state
        .manager
        .put_route(&identity, tenant, &path.1, spec)
        .await?;
    Ok(if was_created {
        created(&view(&report))
    } else {
        ok(&view(&report))
    })
}

/// Remove an alias: calls naming it are refused as an unknown model from then on.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/routes/{alias}", tag = "models",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), ("alias" = String, Path, description = "The alias")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "The caller's role does not allow it", body = Problem),
        (status = 404, description = "No such alias", body = Problem),
        (status = 409, description = "Another of the tenant's aliases names this one", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn delete_route(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path.0)?;
    state
        .manager
        .delete_route(&identity, tenant, &path.1)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Where the tenant's calls may be served: the regions it keeps them to, and those offered.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/residency", tag = "models",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    responses(
        (status = 200, description = "The restriction", body = ResidencyView),
        (status = 404, description = "No such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn get_residency(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path)?;
    let (regions, available) = state.manager.residency(&identity, tenant).await?;
    Ok(ok(&ResidencyView { regions, available }))
}

/// Keep the tenant's calls to deployments in these regions, on every node within a second:
/// no try, fallback or cached answer comes from a deployment elsewhere, and a model with no
/// deployment there is refused with `region_not_allowed`. `[]` lifts it.
#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/residency", tag = "models",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    request_body = ResidencyRequest,
    responses(
        (status = 200, description = "The restriction now", body = ResidencyView),
        (status = 400, description = "A malformed region, or one no deployment is in", body = Problem),
        (status = 403, description = "The caller's role does not allow it", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn put_residency(
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path)?;
    let body: ResidencyRequest = json(&req, payload).await?;
    let regions = state
        .manager
        .set_residency(&identity, tenant, &body.regions)
        .await?;
    let (_, available) = state.manager.residency(&identity, tenant).await?;
    Ok(ok(&ResidencyView { regions, available }))
}

/// The tenant's response-cache settings: its own semantic-cache threshold, if it set one.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/cache-settings", tag = "models",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    responses(
        (status = 200, description = "The settings", body = CacheSettings),
        (status = 404, description = "No such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn get_cache_settings(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path)?;
    let semantic_threshold = state.manager.semantic_threshold(&identity, tenant).await?;
    Ok(ok(&CacheSettings { semantic_threshold }))
}

/// Set the least similarity at which the semantic cache serves a similar prompt's kept
/// answer to this tenant, on every model that has a semantic cache, on every node within a
/// second; `null` goes back to each model's own.
#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/cache-settings", tag = "models",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    request_body = CacheSettings,
    responses(
        (status = 200, description = "The settings now", body = CacheSettings),
        (status = 400, description = "A threshold outside 0.5 to 1.0", body = Problem),
        (status = 403, description = "The caller's role does not allow it", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn put_cache_settings(
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path)?;
    let body: CacheSettings = json(&req, payload).await?;
    let semantic_threshold = state
        .manager
        .set_semantic_threshold(&identity, tenant, body.semantic_threshold)
        .await?;
    Ok(ok(&CacheSettings { semantic_threshold }))
}

/// The request as the domain's spec: each entry names a model or a provider, not both.
fn spec(body: RouteRequest) -> Result<RouteSpec, management::Error> {
    let mut targets = Vec::with_capacity(body.deployments.len());
    for (i, it) in body.deployments.into_iter().enumerate() {
        let serves = match (it.model, it.provider, it.upstream_model) {
            (Some(model), None, None) => Serves::Model {
                model,
                deployment: it.deployment,
            },
            (None, Some(provider), Some(upstream_model)) if it.deployment.is_none() => {
                Serves::OwnCredential {
                    provider,
                    upstream_model,
                }
            }
            _ => {
                return Err(management::Error::invalid(
                    &format!("deployments[{i}]"),
                    "give `model` (and optionally `deployment`), or `provider` with `upstream_model`",
                ));
            }
        };
        targets.push(RouteTarget {
            serves,
            weight: it.weight,
            priority: it.priority,
        });
    }
    Ok(RouteSpec {
        strategy: body.strategy,
        targets,
        max_attempts: body.max_attempts,
        timeout_ms: body.timeout_ms,
        fallback_on_context_window: body.fallback_on_context_window,
        cache_ttl_seconds: body.cache_ttl_seconds,
    })
}

fn view(report: &RouteReport) -> RouteView {
    let spec = &report.route.spec;
    let mut resolved: Vec<ResolvedDeploymentView> = report
        .flat
        .iter()
        .map(|it| {
            let (provider, model, own) = match &it.source {
                FlatSource::Platform { model, deployment } => {
                    let found = report
                        .platform
                        .models
                        .get(model)
                        .and_then(|all| all.iter().find(|d| &d.name == deployment));
                    (
                        found.map(|d| d.provider.clone()).unwrap_or_default(),
                        found.map(|d| d.upstream_model.clone()).unwrap_or_default(),
                        false,
                    )
                }
                FlatSource::Own {
                    provider,
                    upstream_model,
                } => (provider.clone(), upstream_model.clone(), true),
            };
            ResolvedDeploymentView {
                name: it.name.clone(),
                provider,
                model,
                weight: it.weight,
                priority: it.priority,
                own_credential: own,
            }
        })
        .collect();
    resolved.sort_by_key(|it| it.priority);
    RouteView {
        alias: report.route.alias.clone(),
        strategy: spec.strategy.clone(),
        deployments: spec
            .targets
            .iter()
            .map(|it| {
                let mut res = RouteDeploymentRequest {
                    model: None,
                    deployment: None,
                    provider: None,
                    upstream_model: None,
                    weight: it.weight,
                    priority: it.priority,
                };
                match &it.serves {
                    Serves::Model { model, deployment } => {
                        res.model = Some(model.clone());
                        res.deployment.clone_from(deployment);
                    }
                    Serves::OwnCredential {
                        provider,
                        upstream_model,
                    } => {
                        res.provider = Some(provider.clone());
                        res.upstream_model = Some(upstream_model.clone());
                    }
                }
                res
            })
            .collect(),
        max_attempts: spec.max_attempts,
        timeout_ms: spec.timeout_ms,
        fallback_on_context_window: spec.fallback_on_context_window,
        cache_ttl_seconds: spec.cache_ttl_seconds,
        resolved,
        created_at: report.route.created_at,
        updated_at: report.route.updated_at,
    }
}
