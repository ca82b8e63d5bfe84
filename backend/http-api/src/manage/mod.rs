//! The management API (`/api/v1`): accounts, tenants, members, invitations, API keys, access
//! tokens and the audit log. Handlers are thin: they authenticate, decode, call `management`,
//! and render views. The OpenAPI document is generated from these handlers.

mod accounts;
mod bill_html;
mod billing;
mod caller;
mod credentials;
mod credit;
mod doc;
mod explorer;
mod invoices;
mod keys;
mod limits;
mod models;
mod partners;
mod payments;
mod prices;
mod problem;
mod routes;
mod service_accounts;
mod sso;
mod tenants;
mod usage;
mod views;

use actix_web::web::{self, Payload};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use api_types::manage::Page;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi};

use doc::SharedErrors;

pub use caller::{CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE};
pub use limits::{policy_of, policy_view};
pub use problem::ApiProblem;

/// Largest management request body.
const BODY_LIMIT: usize = 64 * 1024;
/// Default and largest page sizes.
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 200;

/// Reads a JSON body: `content-type: application/json` required, size bounded, unknown fields
/// refused, and failures naming the field.
async fn json<T: DeserializeOwned>(req: &HttpRequest, payload: Payload) -> Result<T, ApiProblem> {
    let body = crate::body::read_json_body(req, payload, BODY_LIMIT).await?;
    Ok(crate::body::decode(&body)?)
}

/// `?limit=&cursor=` and the filters of every list. A filter a list's items do not have (say
/// `role` on keys) is refused by name.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageQuery {
    /// Items per page (1 to 200, default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    #[param(min_length = 1)]
    cursor: Option<String>,
    /// Only items with this `status` (keys: `active`, `expired`, `revoked`; invitations:
    /// `pending`, `accepted`, `revoked`, `expired`; …).
    status: Option<String>,
    /// Only members with this `role`.
    role: Option<String>,
    /// Only credentials for this `provider`.
    provider: Option<String>,
    /// Only items whose name, email, domain or key prefix contains this (case-insensitive).
    q: Option<String>,
}

impl PageQuery {
    fn filters(&self) -> bool {
        self.status.is_some() || self.role.is_some() || self.provider.is_some() || self.q.is_some()
    }

    /// Whether a view passes the filters.
    fn keeps(&self, view: &serde_json::Value) -> Result<bool, ApiProblem> {
        for (field, wanted) in [
            ("status", &self.status),
            ("role", &self.role),
            ("provider", &self.provider),
        ] {
            let Some(wanted) = wanted else { continue };
            match view.get(field) {
                Some(serde_json::Value::String(value)) if value == wanted => {}
                Some(_) => return Ok(false),
                None => {
                    return Err(management::Error::invalid(
                        field,
                        format!("this list cannot be filtered by `{field}`"),
                    )
                    .into());
                }
            }
        }
        if let Some(q) = &self.q {
            const SEARCHED: [&str; 5] = ["name", "email", "domain", "display_name", "prefix"];
            if !SEARCHED.iter().any(|field| view.get(*field).is_some()) {
                return Err(management::Error::invalid("q", "this list cannot be searched").into());
            }
            let q = q.to_lowercase();
            return Ok(SEARCHED.iter().any(|field| {
                view.get(*field)
                    .and_then(serde_json::Value::as_str)
                    .is_some_and(|it| it.to_lowercase().contains(&q))
            }));
        }
        Ok(true)
    }
}

/// Parses an id from the path; a malformed one names nothing, so it is not found.
fn path_id<T: std::str::FromStr>(raw: &str, what: &'static str) -> Result<T, ApiProblem> {
    raw.parse()
        .map_err(|_| management::Error::NotFound(what).into())
}

fn tenant_id(raw: &str) -> Result<domain::TenantId, ApiProblem> {
    path_id(raw, "tenant")
}

fn query<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, ApiProblem> {
    web::Query::<T>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| {
            management::Error::invalid("query", format!("invalid query string: {e}")).into()
        })
}

/// One page of an ordered list, filtered, the cursor being the last item's id.
fn page<T, V: serde::Serialize>(
    items: &[T],
    query: &PageQuery,
    id: impl Fn(&T) -> String,
    view: impl Fn(&T) -> V,
) -> Result<Page<V>, ApiProblem> {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(management::Error::invalid(
            "limit",
            format!("`limit` must be between 1 and {MAX_PAGE}"),
        )
        .into());
    }
    let mut kept: Vec<(String, V)> = Vec::with_capacity(items.len());
    for item in items {
        let shown = view(item);
        if query.filters() {
            let json = serde_json::to_value(&shown).unwrap_or_default();
            if !query.keeps(&json)? {
                continue;
            }
        }
        kept.push((id(item), shown));
    }
    let start = match &query.cursor {
        None => 0,
        Some(cursor) => {
            kept.iter()
                .position(|(id, _)| id == cursor)
                .ok_or_else(|| {
                    management::Error::invalid("cursor", "the cursor does not belong to this list")
                })?
                + 1
        }
    };
    let more = kept.len().saturating_sub(start) > limit;
    let taken: Vec<(String, V)> = kept.into_iter().skip(start).take(limit).collect();
    let next_cursor = more
        .then(|| taken.last().map(|(id, _)| id.clone()))
        .flatten();
    Ok(Page {
        items: taken.into_iter().map(|(_, view)| view).collect(),
        next_cursor,
    })
}

fn created<T: serde::Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Created().json(body)
}

fn ok<T: serde::Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Ok().json(body)
}

/// Routes of the management API: one resource per path, so a method a path does not answer
/// gets 405 with `Allow` (in problem+json), and an unknown path 404.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .service(resource!("/openapi.json", refuse = method_not_allowed, get => openapi_json))
            // Anyone may call these: each client address gets a few requests in flight.
            .service(
                web::scope("/auth")
                    .wrap(actix_web::middleware::from_fn(crate::client_slots::limit))
                    .service(resource!(
                        "/signup",
                        refuse = method_not_allowed,
                        post => accounts::signup,
                    ))
                    .service(resource!(
                        "/verify-email",
                        refuse = method_not_allowed,
                        post => accounts::verify_email,
                    ))
                    .service(resource!(
                        "/resend-verification",
                        refuse = method_not_allowed,
                        post => accounts::resend_verification,
                    ))
                    .service(
                        resource!("/login", refuse = method_not_allowed, post => accounts::login),
                    )
                    .service(resource!(
                        "/logout",
                        refuse = method_not_allowed,
                        post => accounts::logout,
                    ))
                    .service(resource!(
                        "/password-reset",
                        refuse = method_not_allowed,
                        post => accounts::request_password_reset,
                    ))
                    .service(resource!(
                        "/password-reset/confirm",
                        refuse = method_not_allowed,
                        post => accounts::confirm_password_reset,
                    ))
                    .service(resource!(
                        "/sso",
                        refuse = method_not_allowed,
                        get => sso::list_providers,
                    ))
                    .service(resource!(
                        "/sso/{provider}/start",
                        refuse = method_not_allowed,
                        get => sso::start,
                    ))
                    .service(resource!(
                        "/sso/{provider}/callback",
                        refuse = method_not_allowed,
                        get => sso::callback,
                    )),
            )
            .service(resource!("/me", refuse = method_not_allowed, get => accounts::me))
            .service(resource!(
                "/me/tokens",
                refuse = method_not_allowed,
                get => accounts::list_tokens,
                post => accounts::create_token,
            ))
            .service(resource!(
                "/me/tokens/{token}",
                refuse = method_not_allowed,
                delete => accounts::revoke_token,
            ))
            .service(resource!(
                "/branding",
                refuse = method_not_allowed,
                get => partners::host_branding,
            ))
            .service(resource!(
                "/partners",
                refuse = method_not_allowed,
                get => partners::list_partners,
                post => partners::create_partner,
            ))
            .service(resource!(
                "/partners/{partner}",
                refuse = method_not_allowed,
                get => partners::get_partner,
            ))
            .service(resource!(
                "/partners/{partner}/branding",
                refuse = method_not_allowed,
                put => partners::update_branding,
            ))
            .service(resource!(
                "/partners/{partner}/domains",
                refuse = method_not_allowed,
                post => partners::add_domain,
            ))
            .service(resource!(
                "/partners/{partner}/domains/{host}",
                refuse = method_not_allowed,
                delete => partners::remove_domain,
            ))
            .service(resource!(
                "/partners/{partner}/domains/{host}/verify",
                refuse = method_not_allowed,
                post => partners::verify_domain,
            ))
            .service(resource!(
                "/partners/{partner}/admins",
                refuse = method_not_allowed,
                get => partners::list_admins,
                post => partners::add_admin,
            ))
            .service(resource!(
                "/partners/{partner}/admins/{user}",
                refuse = method_not_allowed,
                delete => partners::remove_admin,
            ))
            .service(resource!(
                "/partners/{partner}/tenants",
                refuse = method_not_allowed,
                get => partners::list_tenants,
                post => partners::create_tenant,
            ))
            .service(resource!(
                "/tenants",
                refuse = method_not_allowed,
                get => tenants::list_tenants,
                post => tenants::create_tenant,
            ))
            .service(resource!(
                "/tenants/{tenant}",
                refuse = method_not_allowed,
                get => tenants::get_tenant,
            ))
            .service(resource!(
                "/tenants/{tenant}/members",
                refuse = method_not_allowed,
                get => tenants::list_members,
            ))
            .service(resource!(
                "/tenants/{tenant}/members/{user}",
                refuse = method_not_allowed,
                patch => tenants::update_member,
                delete => tenants::remove_member,
            ))
            .service(resource!(
                "/tenants/{tenant}/invitations",
                refuse = method_not_allowed,
                get => tenants::list_invitations,
                post => tenants::create_invitation,
            ))
            .service(resource!(
                "/tenants/{tenant}/invitations/{invitation}",
                refuse = method_not_allowed,
                delete => tenants::revoke_invitation,
            ))
            .service(resource!(
                "/invitations/accept",
                refuse = method_not_allowed,
                post => tenants::accept_invitation,
            ))
            .service(resource!(
                "/tenants/{tenant}/audit-events",
                refuse = method_not_allowed,
                get => tenants::list_audit_events,
            ))
            .service(resource!(
                "/tenants/{tenant}/sso-domains",
                refuse = method_not_allowed,
                get => sso::list_domains,
            ))
            .service(resource!(
                "/tenants/{tenant}/sso-domains/{domain}",
                refuse = method_not_allowed,
                put => sso::require,
                delete => sso::drop_rule,
            ))
            .service(resource!(
                "/tenants/{tenant}/billing/statement",
                refuse = method_not_allowed,
                get => billing::tenant_statement,
            ))
            .service(resource!(
                "/tenants/{tenant}/billing/statement.html",
                refuse = method_not_allowed,
                get => billing::tenant_statement_html,
            ))
            .service(resource!(
                "/partners/{partner}/billing/statement.html",
                refuse = method_not_allowed,
                get => billing::partner_statement_html,
            ))
            .service(resource!(
                "/tenants/{tenant}/billing/credit",
                refuse = method_not_allowed,
                get => credit::get_credit,
                put => credit::put_credit,
            ))
            .service(resource!(
                "/tenants/{tenant}/billing/credit/top-ups",
                refuse = method_not_allowed,
                post => credit::add_top_up,
            ))
            .service(resource!(
                "/tenants/{tenant}/billing/credit/checkout",
                refuse = method_not_allowed,
                post => credit::credit_checkout,
            ))
            .service(resource!(
                "/billing/stripe/webhook",
                refuse = method_not_allowed,
                post => payments::stripe_webhook,
            ))
            .service(resource!(
                "/tenants/{tenant}/billing/invoices",
                refuse = method_not_allowed,
                get => invoices::list_invoices,
                post => invoices::draft_invoice,
            ))
            .service(resource!(
                "/tenants/{tenant}/billing/invoices/{invoice}",
                refuse = method_not_allowed,
                get => invoices::get_invoice,
            ))
            .service(resource!(
                "/tenants/{tenant}/billing/invoices/{invoice}/invoice.html",
                refuse = method_not_allowed,
                get => invoices::invoice_html,
            ))
            .service(resource!(
                "/tenants/{tenant}/billing/invoices/{invoice}/finalize",
                refuse = method_not_allowed,
                post => invoices::finalize_invoice,
            ))
            .service(resource!(
                "/tenants/{tenant}/billing/invoices/{invoice}/void",
                refuse = method_not_allowed,
                post => invoices::void_invoice,
            ))
            .service(resource!(
                "/tenants/{tenant}/billing/adjustments",
                refuse = method_not_allowed,
                post => billing::add_adjustment,
            ))
            .service(resource!(
                "/tenants/{tenant}/billing/export",
                refuse = method_not_allowed,
                get => billing::tenant_export,
            ))
            .service(resource!(
                "/partners/{partner}/billing/statement",
                refuse = method_not_allowed,
                get => billing::partner_statement,
            ))
            .service(resource!(
                "/partners/{partner}/billing/invoices",
                refuse = method_not_allowed,
                get => invoices::partner_invoices,
            ))
            .service(resource!(
                "/partners/{partner}/billing/export",
                refuse = method_not_allowed,
                get => billing::partner_export,
            ))
            .service(resource!(
                "/tenants/{tenant}/usage/summary",
                refuse = method_not_allowed,
                get => usage::summary,
            ))
            .service(resource!(
                "/tenants/{tenant}/models",
                refuse = method_not_allowed,
                get => models::list_models,
            ))
            .service(resource!(
                "/deployments",
                refuse = method_not_allowed,
                get => models::list_deployments,
            ))
            .service(resource!(
                "/tenants/{tenant}/cache-settings",
                refuse = method_not_allowed,
                get => routes::get_cache_settings,
                put => routes::put_cache_settings,
            ))
            .service(resource!(
                "/platform/limits",
                refuse = method_not_allowed,
                get => limits::get_platform,
                put => limits::put_platform,
                delete => limits::delete_platform,
            ))
            .service(resource!(
                "/partners/{partner}/limits",
                refuse = method_not_allowed,
                get => limits::get_partner,
                put => limits::put_partner,
                delete => limits::delete_partner,
            ))
            .service(resource!(
                "/partners/{partner}/alerts",
                refuse = method_not_allowed,
                get => limits::partner_alerts,
            ))
            .service(resource!(
                "/tenants/{tenant}/limits",
                refuse = method_not_allowed,
                get => limits::get_tenant,
                put => limits::put_tenant,
                delete => limits::delete_tenant,
            ))
            .service(resource!(
                "/tenants/{tenant}/keys/{key}/limits",
                refuse = method_not_allowed,
                get => limits::key_limits,
            ))
            .service(resource!(
                "/tenants/{tenant}/alerts",
                refuse = method_not_allowed,
                get => limits::tenant_alerts,
            ))
            .service(resource!(
                "/tenants/{tenant}/webhook",
                refuse = method_not_allowed,
                get => limits::get_tenant_webhook,
                put => limits::put_tenant_webhook,
                delete => limits::delete_tenant_webhook,
            ))
            .service(resource!(
                "/partners/{partner}/webhook",
                refuse = method_not_allowed,
                get => limits::get_partner_webhook,
                put => limits::put_partner_webhook,
                delete => limits::delete_partner_webhook,
            ))
            .service(resource!(
                "/tenants/{tenant}/price-list",
                refuse = method_not_allowed,
                get => prices::tenant_price_list,
            ))
            .service(resource!(
                "/tenants/{tenant}/prices",
                refuse = method_not_allowed,
                get => prices::list_tenant,
                post => prices::add_tenant,
            ))
            .service(resource!(
                "/tenants/{tenant}/prices/markup",
                refuse = method_not_allowed,
                post => prices::tenant_markup,
            ))
            .service(resource!(
                "/partners/{partner}/prices",
                refuse = method_not_allowed,
                get => prices::list_partner,
                post => prices::add_partner,
            ))
            .service(resource!(
                "/partners/{partner}/prices/markup",
                refuse = method_not_allowed,
                post => prices::partner_markup,
            ))
            .service(resource!(
                "/prices/platform/markup",
                refuse = method_not_allowed,
                post => prices::platform_markup,
            ))
            .service(resource!(
                "/prices/{list}",
                refuse = method_not_allowed,
                get => prices::list_platform,
                post => prices::add_platform,
            ))
            .service(resource!(
                "/tenants/{tenant}/residency",
                refuse = method_not_allowed,
                get => routes::get_residency,
                put => routes::put_residency,
            ))
            .service(resource!(
                "/tenants/{tenant}/routes",
                refuse = method_not_allowed,
                get => routes::list_routes,
            ))
            .service(resource!(
                "/tenants/{tenant}/routes/{alias}",
                refuse = method_not_allowed,
                put => routes::put_route,
                delete => routes::delete_route,
            ))
            .service(resource!(
                "/tenants/{tenant}/usage/records",
                refuse = method_not_allowed,
                get => usage::records,
            ))
            .service(resource!(
                "/tenants/{tenant}/explorer/token",
                refuse = method_not_allowed,
                post => explorer::token,
            ))
            .service(resource!(
                "/providers",
                refuse = method_not_allowed,
                get => credentials::list_providers,
            ))
            .service(resource!(
                "/tenants/{tenant}/provider-credentials",
                refuse = method_not_allowed,
                get => credentials::list_credentials,
                post => credentials::create_credential,
            ))
            .service(resource!(
                "/tenants/{tenant}/provider-credentials/{credential}",
                refuse = method_not_allowed,
                delete => credentials::delete_credential,
            ))
            .service(resource!(
                "/tenants/{tenant}/keys",
                refuse = method_not_allowed,
                get => keys::list_keys,
                post => keys::create_key,
            ))
            .service(resource!(
                "/tenants/{tenant}/keys/{key}",
                refuse = method_not_allowed,
                get => keys::get_key,
                patch => keys::update_key,
                delete => keys::revoke_key,
            ))
            .service(resource!(
                "/tenants/{tenant}/keys/{key}/rotate",
                refuse = method_not_allowed,
                post => keys::rotate_key,
            ))
            .service(resource!(
                "/tenants/{tenant}/service-accounts",
                refuse = method_not_allowed,
                get => service_accounts::list_service_accounts,
                post => service_accounts::create_service_account,
            ))
            .service(resource!(
                "/tenants/{tenant}/service-accounts/{account}",
                refuse = method_not_allowed,
                get => service_accounts::get_service_account,
                delete => service_accounts::revoke_service_account,
            ))
            .service(resource!(
                "/tenants/{tenant}/service-accounts/{account}/rotate-secret",
                refuse = method_not_allowed,
                post => service_accounts::rotate_service_account_secret,
            ))
            .default_service(web::to(not_found)),
    );
}

/// 405 with `Allow`, as a problem document like every other management error.
async fn method_not_allowed(req: HttpRequest, methods: &'static [&'static str]) -> HttpResponse {
    let problem = ApiProblem::Body(crate::method_error(&req, methods));
    crate::with_allow(problem.error_response(), methods)
}

async fn not_found() -> Result<HttpResponse, ApiProblem> {
    Err(management::Error::NotFound("endpoint").into())
}

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

/// The session cookie and personal access tokens, as OpenAPI security schemes.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "The portal's session cookie, set by `POST /api/v1/auth/login`. Mutating requests must also send the session's CSRF token as `x-csrf-token`.",
            ))),
        );
        components.add_security_scheme(
            "access_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A personal access token from `POST /api/v1/me/tokens`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The management API's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Gateway management API", version = "1.0.0", description = "Accounts, tenants, members, API keys, service accounts and OAuth tokens, tenants' own provider keys and the audit log. Errors are RFC 7807 problem documents with a stable `code`. Lists are paginated with `limit` and `cursor`."),
    paths(
        accounts::signup,
        accounts::verify_email,
        accounts::resend_verification,
        accounts::login,
        accounts::logout,
        accounts::request_password_reset,
        accounts::confirm_password_reset,
        accounts::me,
        accounts::list_tokens,
        accounts::create_token,
        accounts::revoke_token,
        tenants::list_tenants,
        tenants::create_tenant,
        tenants::get_tenant,
        tenants::list_members,
        tenants::update_member,
        tenants::remove_member,
        tenants::list_invitations,
        tenants::create_invitation,
        tenants::revoke_invitation,
        tenants::accept_invitation,
        tenants::list_audit_events,
        keys::list_keys,
        keys::create_key,
        keys::get_key,
        keys::update_key,
        keys::revoke_key,
        keys::rotate_key,
        credentials::list_providers,
        credentials::list_credentials,
        credentials::create_credential,
        credentials::delete_credential,
        service_accounts::list_service_accounts,
        service_accounts::create_service_account,
        service_accounts::get_service_account,
        service_accounts::rotate_service_account_secret,
        service_accounts::revoke_service_account,
        usage::summary,
        usage::records,
        billing::tenant_statement,
        billing::tenant_export,
        billing::add_adjustment,
        billing::tenant_statement_html,
        billing::partner_statement_html,
        billing::partner_statement,
        billing::partner_export,
        credit::get_credit,
        credit::put_credit,
        credit::add_top_up,
        credit::credit_checkout,
        invoices::list_invoices,
        invoices::partner_invoices,
        invoices::draft_invoice,
        invoices::get_invoice,
        invoices::invoice_html,
        invoices::finalize_invoice,
        invoices::void_invoice,
        payments::stripe_webhook,
        models::list_models,
        models::list_deployments,
        routes::list_routes,
        routes::put_route,
        routes::delete_route,
        routes::get_residency,
        routes::put_residency,
        limits::get_platform,
        limits::put_platform,
        limits::delete_platform,
        limits::get_partner,
        limits::put_partner,
        limits::delete_partner,
        limits::partner_alerts,
        limits::get_tenant,
        limits::put_tenant,
        limits::delete_tenant,
        limits::key_limits,
        limits::tenant_alerts,
        limits::get_tenant_webhook,
        limits::put_tenant_webhook,
        limits::delete_tenant_webhook,
        limits::get_partner_webhook,
        limits::put_partner_webhook,
        limits::delete_partner_webhook,
        prices::tenant_price_list,
        prices::list_tenant,
        prices::add_tenant,
        prices::tenant_markup,
        prices::list_partner,
        prices::add_partner,
        prices::partner_markup,
        prices::list_platform,
        prices::add_platform,
        prices::platform_markup,
        routes::get_cache_settings,
        routes::put_cache_settings,
        explorer::token,
        sso::list_providers,
        sso::start,
        sso::callback,
        sso::list_domains,
        sso::require,
        sso::drop_rule,
        partners::host_branding,
        partners::list_partners,
        partners::create_partner,
        partners::get_partner,
        partners::update_branding,
        partners::add_domain,
        partners::verify_domain,
        partners::remove_domain,
        partners::list_admins,
        partners::add_admin,
        partners::remove_admin,
        partners::list_tenants,
        partners::create_tenant,
        crate::oauth::token,
        crate::oauth::jwks,
        crate::oauth::metadata,
    ),
    modifiers(&SecuritySchemes, &SharedErrors),
    tags(
        (name = "auth", description = "Sign-up, sign-in and passwords"),
        (name = "me", description = "The signed-in user and their access tokens"),
        (name = "tenants", description = "Tenants, members and invitations"),
        (name = "keys", description = "Data-plane API keys"),
        (name = "provider-credentials", description = "Tenants' own provider keys (bring your own key), encrypted at rest"),
        (name = "service-accounts", description = "Service accounts: OAuth 2.0 clients whose access tokens call the data plane"),
        (name = "partners", description = "White-label partners: branding, custom domains, administrators and sub-tenants"),
        (name = "oauth", description = "The OAuth 2.0 authorization server: client-credentials tokens and their signing keys. Errors follow RFC 6749."),
        (name = "usage", description = "The tenant's usage, for dashboards, from the usage rollups"),
        (name = "billing", description = "Bills and finance exports: a period's calls per tenant and model with what they were charged (a partner's with its wholesale price and margin), the ledger's entries as CSV or JSON, streamed; credits and adjustments; invoices, drafted, finalized (frozen, numbered) and voided; prepaid credit"),
        (name = "models", description = "The models a tenant can call, their deployments and their health"),
        (name = "limits", description = "Limits above keys: the platform's for every tenant, a partner's shared by its sub-tenants, a tenant's (per model, and which models it may use); budgets by period with alerts; what every limit holds now"),
        (name = "prices", description = "Price lists: what providers charge the platform, what the platform, partners and negotiated deals charge tenants; versioned, only ever added to"),
        (name = "explorer", description = "Short-lived data-plane tokens for the portal's API explorer"),
        (name = "audit", description = "The tamper-evident audit log"),
    )
)]
pub struct ApiDoc;

/// The interactive API reference at `/api/docs/`, served from assets compiled into the binary
/// (no CDN), with the online validator switched off.
pub fn reference_page() -> utoipa_swagger_ui::SwaggerUi {
    utoipa_swagger_ui::SwaggerUi::new("/api/docs/{_:.*}")
        .url("/api/docs/openapi.json", ApiDoc::openapi())
        .config(utoipa_swagger_ui::Config::default().validator_url("none"))
}

/// The OpenAPI document as pretty JSON, as committed in `openapi/openapi.json`.
pub fn openapi_document() -> String {
    let mut res = ApiDoc::openapi().to_pretty_json().unwrap_or_default();
    res.push('\n');
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed spec must be what the code generates; `UPDATE_EXPECT=1` rewrites it.
    #[test]
    fn the_committed_openapi_spec_is_current() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi/openapi.json");
        let generated = openapi_document();
        if std::env::var("UPDATE_EXPECT").is_ok() {
            std::fs::write(&path, &generated).unwrap();
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "openapi/openapi.json is stale: run `UPDATE_EXPECT=1 cargo test -p http-api` and commit it"
        );
    }

    #[test]
    fn filters_apply_before_paging_and_unknown_ones_are_refused() {
        let items: Vec<(u32, &str, &str)> = vec![
            (1, "alpha", "active"),
            (2, "Beta", "revoked"),
            (3, "alphabet", "active"),
            (4, "gamma", "active"),
        ];
        let view = |it: &(u32, &str, &str)| serde_json::json!({"name": it.1, "status": it.2});
        let id = |it: &(u32, &str, &str)| it.0.to_string();
        let query = PageQuery {
            limit: Some(1),
            status: Some("active".into()),
            q: Some("ALPHA".into()),
            ..PageQuery::default()
        };
        let first = page(&items, &query, id, view).unwrap();
        assert_eq!(first.items[0]["name"], "alpha");
        assert_eq!(first.next_cursor.as_deref(), Some("1"));
        let second = page(
            &items,
            &PageQuery {
                cursor: first.next_cursor,
                ..query
            },
            id,
            view,
        )
        .unwrap();
        assert_eq!(second.items[0]["name"], "alphabet");
        assert_eq!(second.next_cursor, None);
        let wrong = PageQuery {
            role: Some("owner".into()),
            ..PageQuery::default()
        };
        assert!(page(&items, &wrong, id, view).is_err(), "keys have no role");
    }

    #[test]
    fn pages_follow_cursors_to_the_end() {
        let items: Vec<u32> = (0..5).collect();
        let q = |limit, cursor: Option<&str>| PageQuery {
            limit: Some(limit),
            cursor: cursor.map(str::to_owned),
            ..PageQuery::default()
        };
        let first = page(&items, &q(2, None), u32::to_string, |it| *it).unwrap();
        assert_eq!(
            (first.items.clone(), first.next_cursor.clone()),
            (vec![0, 1], Some("1".into()))
        );
        let second = page(
            &items,
            &q(2, first.next_cursor.as_deref()),
            u32::to_string,
            |it| *it,
        )
        .unwrap();
        assert_eq!(second.items, vec![2, 3]);
        let last = page(
            &items,
            &q(2, second.next_cursor.as_deref()),
            u32::to_string,
            |it| *it,
        )
        .unwrap();
        assert_eq!((last.items, last.next_cursor), (vec![4], None));
        assert!(page(&items, &q(0, None), u32::to_string, |it| *it).is_err());
        assert!(page(&items, &q(2, Some("nope")), u32::to_string, |it| *it).is_err());
    }
}
