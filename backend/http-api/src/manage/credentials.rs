//! `/api/v1/providers` and `/api/v1/tenants/{tenant}/provider-credentials*`: tenants' own
//! provider keys (bring your own key).

use actix_web::web::{self, Payload};
use actix_web::{HttpRequest, HttpResponse};
use api_types::manage::{
    ByokProviderView, CreateProviderCredentialRequest, Page, Problem, ProviderCredentialView,
};
use domain::CredentialId;
use management::CredentialDraft;

use super::caller::caller;
use super::{ApiProblem, PageQuery, created, json, ok, page, path_id, query, tenant_id, views};
use crate::AppState;

/// The configured providers a tenant may bring its own key for.
#[utoipa::path(get, path = "/api/v1/providers", tag = "provider-credentials",
    responses(
        (status = 200, description = "Providers, by name", body = Vec<ByokProviderView>),
        (status = 401, description = "Not signed in", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn list_providers(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    caller(&req, &state).await?;
    let providers: Vec<ByokProviderView> = state
        .manager
        .byok_providers()
        .iter()
        .map(|it| ByokProviderView {
            name: it.name.clone(),
            kind: it.kind.clone(),
        })
        .collect();
    Ok(ok(&providers))
}

/// The tenant's own provider keys, masked.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/provider-credentials", tag = "provider-credentials",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), PageQuery),
    responses(
        (status = 200, description = "Credentials, oldest first", body = Page<ProviderCredentialView>),
        (status = 403, description = "The caller's role does not allow it", body = Problem),
        (status = 404, description = "No such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn list_credentials(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path)?;
    let page_query: PageQuery = query(&req)?;
    let credentials = state.manager.credentials(&identity, tenant).await?;
    Ok(ok(&page(
        &credentials,
        &page_query,
        |it| it.id.to_string(),
        views::credential,
    )?))
}

/// Store a provider key: from then on the tenant's calls to that provider use it. The secret is
/// encrypted at rest and never returned.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/provider-credentials", tag = "provider-credentials",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    request_body = CreateProviderCredentialRequest,
    responses(
        (status = 201, description = "Stored", body = ProviderCredentialView),
        (status = 400, description = "Invalid field (unknown provider, private base URL...)", body = Problem),
        (status = 403, description = "The caller's role does not allow it", body = Problem),
        (status = 409, description = "The name, or a credential for that provider, exists already", body = Problem),
        (status = 503, description = "No master key is configured", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn create_credential(
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path)?;
    let body: CreateProviderCredentialRequest = json(&req, payload).await?;
    let credential = state
        .manager
        .create_credential(
            &identity,
            tenant,
            CredentialDraft {
                name: body.name,
                provider: body.provider,
                secret: body.secret,
                base_url: body.base_url,
            },
        )
        .await?;
    Ok(created(&views::credential(&credential)))
}

/// Remove a provider key: the tenant's calls go back to the platform's key.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/provider-credentials/{credential}", tag = "provider-credentials",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), ("credential" = uuid::Uuid, Path, description = "Credential id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "The caller's role does not allow it", body = Problem),
        (status = 404, description = "No such credential", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn delete_credential(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path.0)?;
    let id: CredentialId = path_id(&path.1, "provider credential")?;
    state
        .manager
        .delete_credential(&identity, tenant, id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
