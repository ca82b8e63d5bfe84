//! Price lists: `/api/v1/prices/{cost|platform}` (operators), a partner's rate card under
//! `/api/v1/partners/{partner}/prices`, a tenant's negotiated prices under
//! `/api/v1/tenants/{tenant}/prices`, each with its `markup`; and what a tenant pays,
//! `/api/v1/tenants/{tenant}/price-list`. Lists are only ever added to: a change is a new
//! version from its `effective_from` on, never a rewrite of what was charged.

use actix_web::web::{self, Payload};
use actix_web::{HttpRequest, HttpResponse};
use api_types::manage::Problem;
use api_types::prices::{
    DeploymentPriceView, MarkupView, ModelPriceView, NewMarkupRequest, NewPriceRequest,
    PriceEntryView, PriceListView, RatesView, TenantPriceListView,
};
use domain::pricing::{
    MarkupEntry, PriceEntry, PriceScope, PriceSource, Rates, percent_of_basis_points,
};
use management::{PriceDraft, PriceList};

use super::caller::caller;
use super::{ApiProblem, created, json, ok, path_id, tenant_id};
use crate::AppState;

fn rates_view(rates: &Rates) -> RatesView {
    RatesView {
        input: rates.input.to_string(),
        output: rates.output.to_string(),
        cached_input: rates.cached_input.map(|it| it.to_string()),
        cache_write: rates.cache_write.map(|it| it.to_string()),
        reasoning: rates.reasoning.map(|it| it.to_string()),
    }
}

fn entry_view(entry: &PriceEntry) -> PriceEntryView {
    PriceEntryView {
        provider: entry.provider.clone(),
        model: entry.model.clone(),
        effective_from: entry.effective_from,
        source: match entry.source {
            PriceSource::Defaults => "defaults",
            PriceSource::Config => "config",
            PriceSource::Managed => "managed",
        }
        .to_owned(),
        rates: rates_view(&entry.rates),
    }
}

fn markup_view(markup: &MarkupEntry) -> MarkupView {
    MarkupView {
        percent: percent_of_basis_points(markup.basis_points),
        effective_from: markup.effective_from,
    }
}

fn list_view(list: &PriceList) -> PriceListView {
    PriceListView {
        currency: list.currency.to_string(),
        markups: list.markups.iter().map(markup_view).collect(),
        entries: list.entries.iter().map(entry_view).collect(),
    }
}

/// `cost` or `platform`; any other name is no list.
fn platform_list(raw: &str) -> Result<PriceScope, ApiProblem> {
    match raw {
        "cost" => Ok(PriceScope::Cost),
        "platform" => Ok(PriceScope::Platform),
        _ => Err(management::Error::NotFound("price list").into()),
    }
}

async fn list(
    req: &HttpRequest,
    state: &AppState,
    scope: PriceScope,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(req, state).await?;
    let list = state.manager.price_list(&identity, scope).await?;
    Ok(ok(&list_view(&list)))
}

async fn add(
    req: &HttpRequest,
    payload: Payload,
    state: &AppState,
    scope: PriceScope,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(req, state).await?;
    let body: NewPriceRequest = json(req, payload).await?;
    let entry = state
        .manager
        .add_price(
            &identity,
            scope,
            PriceDraft {
                provider: body.provider,
                model: body.model,
                input: body.rates.input,
                output: body.rates.output,
                cached_input: body.rates.cached_input,
                cache_write: body.rates.cache_write,
                reasoning: body.rates.reasoning,
                effective_from: body.effective_from,
            },
        )
        .await?;
    Ok(created(&entry_view(&entry)))
}

async fn markup(
    req: &HttpRequest,
    payload: Payload,
    state: &AppState,
    scope: PriceScope,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(req, state).await?;
    let body: NewMarkupRequest = json(req, payload).await?;
    let markup = state
        .manager
        .set_markup(&identity, scope, &body.percent, body.effective_from)
        .await?;
    Ok(created(&markup_view(&markup)))
}

/// The platform's cost list (what providers charge it, the shipped defaults and the
/// configuration's included) or its price list (what it charges, over cost plus its markup).
/// Operators only.
#[utoipa::path(get, path = "/api/v1/prices/{list}", tag = "prices",
    params(("list" = String, Path, description = "`cost` or `platform`")),
    responses(
        (status = 200, description = "Every version of the list, newest first", body = PriceListView),
        (status = 403, description = "Not an operator", body = Problem),
        (status = 404, description = "No such list", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn list_platform(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    list(&req, &state, platform_list(&path)?).await
}

/// Add a version of one model's rates to the platform's cost or price list, from
/// `effective_from` on (now when absent; never in the past). Operators only.
#[utoipa::path(post, path = "/api/v1/prices/{list}", tag = "prices",
    params(("list" = String, Path, description = "`cost` or `platform`")),
    request_body = NewPriceRequest,
    responses(
        (status = 201, description = "The entry", body = PriceEntryView),
        (status = 400, description = "A field at fault: a rate that is not an exact non-negative decimal of at most nine places, a start in the past", body = Problem),
        (status = 403, description = "Not an operator", body = Problem),
        (status = 404, description = "No such list", body = Problem),
        (status = 409, description = "The list has this provider and model from that moment already", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn add_platform(
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    add(&req, payload, &state, platform_list(&path)?).await
}

/// Set the platform's markup over cost (for models its price list does not price), from
/// `effective_from` on. Operators only.
#[utoipa::path(post, path = "/api/v1/prices/platform/markup", tag = "prices",
    request_body = NewMarkupRequest,
    responses(
        (status = 201, description = "The markup", body = MarkupView),
        (status = 400, description = "Not a percentage of at most two decimals within −100 to 1000, or a start in the past", body = Problem),
        (status = 403, description = "Not an operator", body = Problem),
        (status = 409, description = "A markup from that moment exists", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn platform_markup(
    req: HttpRequest,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    markup(&req, payload, &state, PriceScope::Platform).await
}

/// A partner's rate card: what its sub-tenants pay (its own prices, else the platform's plus
/// its markup). Its administrators and operators.
#[utoipa::path(get, path = "/api/v1/partners/{partner}/prices", tag = "prices",
    params(("partner" = uuid::Uuid, Path, description = "Partner id")),
    responses(
        (status = 200, description = "Every version of the rate card, newest first", body = PriceListView),
        (status = 404, description = "No such partner for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn list_partner(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    list(
        &req,
        &state,
        PriceScope::Partner(path_id(&path, "partner")?),
    )
    .await
}

/// Add a version of one model's price to a partner's rate card.
#[utoipa::path(post, path = "/api/v1/partners/{partner}/prices", tag = "prices",
    params(("partner" = uuid::Uuid, Path, description = "Partner id")),
    request_body = NewPriceRequest,
    responses(
        (status = 201, description = "The entry", body = PriceEntryView),
        (status = 400, description = "A field at fault", body = Problem),
        (status = 404, description = "No such partner for the caller", body = Problem),
        (status = 409, description = "The card has this provider and model from that moment already", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn add_partner(
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    add(
        &req,
        payload,
        &state,
        PriceScope::Partner(path_id(&path, "partner")?),
    )
    .await
}

/// Set a partner's markup over the platform's prices, for its sub-tenants.
#[utoipa::path(post, path = "/api/v1/partners/{partner}/prices/markup", tag = "prices",
    params(("partner" = uuid::Uuid, Path, description = "Partner id")),
    request_body = NewMarkupRequest,
    responses(
        (status = 201, description = "The markup", body = MarkupView),
        (status = 400, description = "Not a percentage of at most two decimals within −100 to 1000, or a start in the past", body = Problem),
        (status = 404, description = "No such partner for the caller", body = Problem),
        (status = 409, description = "A markup from that moment exists", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn partner_markup(
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    markup(
        &req,
        payload,
        &state,
        PriceScope::Partner(path_id(&path, "partner")?),
    )
    .await
}

/// A tenant's negotiated prices. Operators, and for a partner's sub-tenant its partner's
/// administrators; the tenant's own members see what they pay in `price-list`.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/prices", tag = "prices",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    responses(
        (status = 200, description = "Every version of the list, newest first", body = PriceListView),
        (status = 403, description = "A member of the tenant: its prices are set by the operator or its partner", body = Problem),
        (status = 404, description = "No such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn list_tenant(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    list(&req, &state, PriceScope::Tenant(tenant_id(&path)?)).await
}

/// Add a version of one model's negotiated price for a tenant.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/prices", tag = "prices",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    request_body = NewPriceRequest,
    responses(
        (status = 201, description = "The entry", body = PriceEntryView),
        (status = 400, description = "A field at fault", body = Problem),
        (status = 403, description = "A member of the tenant", body = Problem),
        (status = 404, description = "No such tenant for the caller", body = Problem),
        (status = 409, description = "The list has this provider and model from that moment already", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn add_tenant(
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    add(&req, payload, &state, PriceScope::Tenant(tenant_id(&path)?)).await
}

/// Set a tenant's markup (negative: a discount) over what it would pay otherwise.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/prices/markup", tag = "prices",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    request_body = NewMarkupRequest,
    responses(
        (status = 201, description = "The markup", body = MarkupView),
        (status = 400, description = "Not a percentage of at most two decimals within −100 to 1000, or a start in the past", body = Problem),
        (status = 403, description = "A member of the tenant", body = Problem),
        (status = 404, description = "No such tenant for the caller", body = Problem),
        (status = 409, description = "A markup from that moment exists", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn tenant_markup(
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    markup(&req, payload, &state, PriceScope::Tenant(tenant_id(&path)?)).await
}

/// What every model's deployments cost the tenant now, per million tokens: its negotiated
/// prices, else its partner's rate card, else the platform's prices. `price` is absent for a
/// deployment no list prices (its calls are recorded as unpriced).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/price-list", tag = "prices",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    responses(
        (status = 200, description = "The tenant's prices", body = TenantPriceListView),
        (status = 404, description = "No such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn tenant_price_list(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path)?;
    let prices = state.manager.tenant_prices(&identity, tenant).await?;
    Ok(ok(&TenantPriceListView {
        currency: prices.currency.to_string(),
        models: prices
            .models
            .iter()
            .map(|(model, deployments)| ModelPriceView {
                model: model.clone(),
                deployments: deployments
                    .iter()
                    .map(|(deployment, price)| DeploymentPriceView {
                        deployment: deployment.name.clone(),
                        provider: deployment.provider.clone(),
                        upstream_model: deployment.upstream_model.clone(),
                        price: price.as_ref().map(rates_view),
                    })
                    .collect(),
            })
            .collect(),
    }))
}
