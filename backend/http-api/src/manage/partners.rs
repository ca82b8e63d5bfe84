//! `/api/v1/partners*` and `/api/v1/branding`: white-label partners (branding, domains,
//! administrators, sub-tenants) and the branding the portal shows on the requesting host.

use actix_web::web::{self, Payload};
use actix_web::{HttpRequest, HttpResponse};
use api_types::manage::{
    AddDomainRequest, BrandingView, CreatePartnerRequest, CreateTenantRequest, EmailRequest,
    HostBranding, Page, PartnerAdminView, PartnerDomainView, PartnerView, Problem, TenantView,
};
use domain::PartnerId;
use management::PartnerDraft;

use super::caller::caller;
use super::{ApiProblem, PageQuery, created, json, ok, page, path_id, query, views};
use crate::AppState;

/// The product name on hosts that are not a partner's.
const PLATFORM_NAME: &str = "Sluice";

fn partner_id(raw: &str) -> Result<PartnerId, ApiProblem> {
    path_id(raw, "partner")
}

/// The branding, key prefix and partner of the requesting host; public, for the portal's
/// first paint.
#[utoipa::path(get, path = "/api/v1/branding", tag = "partners",
    responses((status = 200, description = "The host's branding", body = HostBranding)))]
pub(crate) async fn host_branding(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let host = crate::origin::origin(&req, &state.trusted_proxies).host_name();
    let partner = host.and_then(|it| state.gateway.access.partner_for_host(&it));
    let body = match partner {
        Some(partner) => HostBranding {
            branding: views::branding(&partner.branding),
            key_prefix: partner.key_prefix.clone(),
            partner_id: Some(partner.id.0),
        },
        None => HostBranding {
            branding: views::branding(&domain::partner::Branding::platform(PLATFORM_NAME)),
            key_prefix: state.manager.config().key_prefix.clone(),
            partner_id: None,
        },
    };
    HttpResponse::Ok()
        .insert_header(("cache-control", "no-cache"))
        .insert_header(("vary", "host"))
        .json(body)
}

/// The partners the caller administers (every partner, for operators).
#[utoipa::path(get, path = "/api/v1/partners", tag = "partners", params(PageQuery),
    responses(
        (status = 200, description = "Partners, oldest first", body = Page<PartnerView>),
        (status = 401, description = "Not signed in", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn list_partners(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let page_query: PageQuery = query(&req)?;
    let partners = state.manager.partners(&identity).await?;
    Ok(ok(&page(
        &partners,
        &page_query,
        |it| it.id.to_string(),
        views::partner,
    )?))
}

/// Create a partner (platform operators only).
#[utoipa::path(post, path = "/api/v1/partners", tag = "partners",
    request_body = CreatePartnerRequest,
    responses(
        (status = 201, description = "Created", body = PartnerView),
        (status = 400, description = "Invalid field", body = Problem),
        (status = 403, description = "Not a platform operator", body = Problem),
        (status = 409, description = "Name, key prefix or domain taken", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn create_partner(
    req: HttpRequest,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let body: CreatePartnerRequest = json(&req, payload).await?;
    let partner = state
        .manager
        .create_partner(
            &identity,
            PartnerDraft {
                name: body.name,
                key_prefix: body.key_prefix,
                branding: views::branding_of(body.branding),
                domains: body.domains,
                admin_email: body.admin_email,
            },
        )
        .await?;
    Ok(created(&views::partner(&partner)))
}

/// One partner.
#[utoipa::path(get, path = "/api/v1/partners/{partner}", tag = "partners",
    params(("partner" = uuid::Uuid, Path, description = "Partner id")),
    responses(
        (status = 200, description = "The partner", body = PartnerView),
        (status = 404, description = "No such partner for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn get_partner(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let partner = state
        .manager
        .authorize_partner(&identity, partner_id(&path)?)
        .await?;
    Ok(ok(&views::partner(&partner)))
}

/// Replace the partner's branding; every node shows it within a second.
#[utoipa::path(put, path = "/api/v1/partners/{partner}/branding", tag = "partners",
    params(("partner" = uuid::Uuid, Path, description = "Partner id")),
    request_body = BrandingView,
    responses(
        (status = 200, description = "Changed", body = PartnerView),
        (status = 400, description = "Invalid field", body = Problem),
        (status = 404, description = "No such partner for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn update_branding(
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let partner = partner_id(&path)?;
    let body: BrandingView = json(&req, payload).await?;
    let partner = state
        .manager
        .update_branding(&identity, partner, views::branding_of(body))
        .await?;
    Ok(ok(&views::partner(&partner)))
}

/// Add a custom domain. Added by a partner administrator it is `pending`: publish the TXT
/// record its view names, then verify it; until then it brands nothing and receives no links.
/// Added by a platform operator it is `verified` at once (an operator adding a domain the
/// partner has pending vouches for it).
#[utoipa::path(post, path = "/api/v1/partners/{partner}/domains", tag = "partners",
    params(("partner" = uuid::Uuid, Path, description = "Partner id")),
    request_body = AddDomainRequest,
    responses(
        (status = 201, description = "Added; the partner with its domains", body = PartnerView),
        (status = 400, description = "Not a host name", body = Problem),
        (status = 404, description = "No such partner for the caller", body = Problem),
        (status = 409, description = "The partner has the domain already, or another partner holds it verified", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn add_domain(
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let partner = partner_id(&path)?;
    let body: AddDomainRequest = json(&req, payload).await?;
    let partner = state
        .manager
        .add_partner_domain(&identity, partner, &body.host)
        .await?;
    Ok(created(&views::partner(&partner)))
}

/// Check a pending domain's proof: the gateway looks up the TXT record at
/// `_domain-verification.<host>` and, when it holds the domain's `record_value`, marks the
/// domain verified; every node uses it within a second. A verified domain answers as is.
#[utoipa::path(post, path = "/api/v1/partners/{partner}/domains/{host}/verify", tag = "partners",
    params(("partner" = uuid::Uuid, Path, description = "Partner id"), ("host" = String, Path, description = "Host name")),
    responses(
        (status = 200, description = "Verified", body = PartnerDomainView),
        (status = 404, description = "No such partner or domain", body = Problem),
        (status = 409, description = "Another partner holds the domain verified", body = Problem),
        (status = 422, description = "`domain_not_verified`: the record is missing or holds another value, or the lookup failed; the detail says which", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn verify_domain(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let partner = partner_id(&path.0)?;
    let domain = state
        .manager
        .verify_partner_domain(&identity, partner, &path.1)
        .await?;
    Ok(ok(&views::partner_domain(&domain)))
}

/// Remove a custom domain.
#[utoipa::path(delete, path = "/api/v1/partners/{partner}/domains/{host}", tag = "partners",
    params(("partner" = uuid::Uuid, Path, description = "Partner id"), ("host" = String, Path, description = "Host name")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such partner or domain", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn remove_domain(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let partner = partner_id(&path.0)?;
    state
        .manager
        .remove_partner_domain(&identity, partner, &path.1)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The partner's administrators.
#[utoipa::path(get, path = "/api/v1/partners/{partner}/admins", tag = "partners",
    params(("partner" = uuid::Uuid, Path, description = "Partner id"), PageQuery),
    responses(
        (status = 200, description = "Administrators, oldest first", body = Page<PartnerAdminView>),
        (status = 404, description = "No such partner for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn list_admins(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let page_query: PageQuery = query(&req)?;
    let admins = state
        .manager
        .partner_admins(&identity, partner_id(&path)?)
        .await?;
    Ok(ok(&page(
        &admins,
        &page_query,
        |it| it.user_id.to_string(),
        views::partner_admin,
    )?))
}

/// Make an existing account an administrator of the partner.
#[utoipa::path(post, path = "/api/v1/partners/{partner}/admins", tag = "partners",
    params(("partner" = uuid::Uuid, Path, description = "Partner id")),
    request_body = EmailRequest,
    responses(
        (status = 201, description = "Added", body = PartnerAdminView),
        (status = 400, description = "No account has that address", body = Problem),
        (status = 404, description = "No such partner for the caller", body = Problem),
        (status = 409, description = "Already an administrator", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn add_admin(
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let partner = partner_id(&path)?;
    let body: EmailRequest = json(&req, payload).await?;
    let admin = state
        .manager
        .add_partner_admin(&identity, partner, &body.email)
        .await?;
    Ok(created(&views::partner_admin(&admin)))
}

/// Remove an administrator (a partner keeps at least one).
#[utoipa::path(delete, path = "/api/v1/partners/{partner}/admins/{user}", tag = "partners",
    params(("partner" = uuid::Uuid, Path, description = "Partner id"), ("user" = uuid::Uuid, Path, description = "User id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such partner or administrator", body = Problem),
        (status = 409, description = "The last administrator", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn remove_admin(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let partner = partner_id(&path.0)?;
    let user = path_id(&path.1, "partner administrator")?;
    state
        .manager
        .remove_partner_admin(&identity, partner, user)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The partner's sub-tenants.
#[utoipa::path(get, path = "/api/v1/partners/{partner}/tenants", tag = "partners",
    params(("partner" = uuid::Uuid, Path, description = "Partner id"), PageQuery),
    responses(
        (status = 200, description = "Sub-tenants, oldest first", body = Page<TenantView>),
        (status = 404, description = "No such partner for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn list_tenants(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let page_query: PageQuery = query(&req)?;
    let tenants = state
        .manager
        .partner_tenants(&identity, partner_id(&path)?)
        .await?;
    Ok(ok(&page(
        &tenants,
        &page_query,
        |it| it.id.to_string(),
        |it| views::tenant(it, None),
    )?))
}

/// Create a sub-tenant for a customer. Its keys carry the partner's prefix; the partner's
/// administrators manage it through the tenant endpoints and may invite the customer as owner.
#[utoipa::path(post, path = "/api/v1/partners/{partner}/tenants", tag = "partners",
    params(("partner" = uuid::Uuid, Path, description = "Partner id")),
    request_body = CreateTenantRequest,
    responses(
        (status = 201, description = "Created", body = TenantView),
        (status = 400, description = "Invalid name", body = Problem),
        (status = 404, description = "No such partner for the caller", body = Problem),
        (status = 409, description = "The name is taken", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn create_tenant(
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let partner = partner_id(&path)?;
    let body: CreateTenantRequest = json(&req, payload).await?;
    let tenant = state
        .manager
        .create_partner_tenant(&identity, partner, &body.name)
        .await?;
    Ok(created(&views::tenant(&tenant, None)))
}
