//! `/api/v1/tenants/{tenant}/service-accounts*`: OAuth 2.0 clients of a tenant, whose access
//! tokens (from `POST /oauth/token`) call the data plane.

use actix_web::web::{self, Payload};
use actix_web::{HttpRequest, HttpResponse};
use api_types::manage::{
    CreateServiceAccountRequest, Page, Problem, ServiceAccountCredentials, ServiceAccountView,
};
use domain::service_account::ServiceAccount;
use domain::{KeyScopes, KeySecret, ServiceAccountId, TenantId};
use management::ServiceAccountDraft;

use super::caller::caller;
use super::keys::networks;
use super::{ApiProblem, PageQuery, created, json, ok, page, path_id, query, tenant_id, views};
use crate::AppState;

fn ids(
    tenant: &str,
    account: Option<&str>,
) -> Result<(TenantId, Option<ServiceAccountId>), ApiProblem> {
    let account = account
        .map(|it| path_id(it, "service account"))
        .transpose()?;
    Ok((tenant_id(tenant)?, account))
}

/// The token endpoint as the caller reaches it: on a partner's verified domain, that domain,
/// over HTTPS when the platform's issuer is or the caller came over it.
fn token_url(req: &HttpRequest, state: &AppState) -> String {
    let issuer = state.manager.token_issuer();
    let origin = crate::origin::origin(req, &state.trusted_proxies);
    match origin
        .host_name()
        .filter(|host| state.gateway.access.partner_for_host(host).is_some())
    {
        Some(host) => {
            let scheme = if issuer.starts_with("https://") || origin.https {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{host}/oauth/token")
        }
        None => format!("{issuer}/oauth/token"),
    }
}

fn credentials(
    req: &HttpRequest,
    state: &AppState,
    account: &ServiceAccount,
    secret: &KeySecret,
) -> ServiceAccountCredentials {
    ServiceAccountCredentials {
        service_account: views::service_account(account),
        client_id: account.id.to_string(),
        client_secret: secret.expose().to_owned(),
        token_url: token_url(req, state),
    }
}

/// The tenant's service accounts, revoked ones included (never their secrets).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/service-accounts", tag = "service-accounts",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), PageQuery),
    responses(
        (status = 200, description = "Service accounts, oldest first", body = Page<ServiceAccountView>),
        (status = 403, description = "The caller's role does not allow it", body = Problem),
        (status = 404, description = "No such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn list_service_accounts(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let (tenant, _) = ids(&path, None)?;
    let page_query: PageQuery = query(&req)?;
    let accounts = state.manager.service_accounts(&identity, tenant).await?;
    Ok(ok(&page(
        &accounts,
        &page_query,
        |it| it.id.to_string(),
        views::service_account,
    )?))
}

/// Create a service account; its client secret is shown only in this response.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/service-accounts", tag = "service-accounts",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    request_body = CreateServiceAccountRequest,
    responses(
        (status = 201, description = "Created, with its client credentials", body = ServiceAccountCredentials),
        (status = 400, description = "Invalid field", body = Problem),
        (status = 403, description = "The caller's role does not allow it", body = Problem),
        (status = 404, description = "No such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn create_service_account(
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let (tenant, _) = ids(&path, None)?;
    let body: CreateServiceAccountRequest = json(&req, payload).await?;
    let draft = ServiceAccountDraft {
        name: body.name,
        models: body.models,
        scopes: KeyScopes {
            endpoints: body.endpoints,
            ip_allowlist: networks("ip_allowlist", &body.ip_allowlist)?,
            limits: views::limits_of(&body.limits)?,
            regions: super::keys::regions(&body.regions)?,
        },
    };
    let (account, secret) = state
        .manager
        .create_service_account(&identity, tenant, draft)
        .await?;
    Ok(created(&credentials(&req, &state, &account, &secret)))
}

/// One service account.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/service-accounts/{account}", tag = "service-accounts",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), ("account" = uuid::Uuid, Path, description = "Service account id")),
    responses(
        (status = 200, description = "The service account", body = ServiceAccountView),
        (status = 403, description = "The caller's role does not allow it", body = Problem),
        (status = 404, description = "No such service account", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn get_service_account(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let (tenant, account) = ids(&path.0, Some(&path.1))?;
    let account = state
        .manager
        .service_account(
            &identity,
            tenant,
            account.ok_or(management::Error::NotFound("service account"))?,
        )
        .await?;
    Ok(ok(&views::service_account(&account)))
}

/// Replace the client secret: the old one stops working at once; tokens already issued run
/// until they expire.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/service-accounts/{account}/rotate-secret", tag = "service-accounts",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), ("account" = uuid::Uuid, Path, description = "Service account id")),
    responses(
        (status = 200, description = "The new client credentials", body = ServiceAccountCredentials),
        (status = 403, description = "The caller's role does not allow it", body = Problem),
        (status = 404, description = "No such (active) service account", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn rotate_service_account_secret(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let (tenant, account) = ids(&path.0, Some(&path.1))?;
    let (account, secret) = state
        .manager
        .rotate_service_account_secret(
            &identity,
            tenant,
            account.ok_or(management::Error::NotFound("service account"))?,
        )
        .await?;
    Ok(ok(&credentials(&req, &state, &account, &secret)))
}

/// Revoke a service account: its secret and its tokens stop working within a second.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/service-accounts/{account}", tag = "service-accounts",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), ("account" = uuid::Uuid, Path, description = "Service account id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "The caller's role does not allow it", body = Problem),
        (status = 404, description = "No such (active) service account", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn revoke_service_account(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let (tenant, account) = ids(&path.0, Some(&path.1))?;
    state
        .manager
        .revoke_service_account(
            &identity,
            tenant,
            account.ok_or(management::Error::NotFound("service account"))?,
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
