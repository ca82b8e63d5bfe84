//! `/api/v1/auth/sso*` and `/api/v1/tenants/{tenant}/sso-domains*`: single sign-on through the
//! configured identity providers, and tenants' rules that their domain must use it.
//!
//! The two legs answer with redirects, since a browser follows them: to the identity provider,
//! then back to the portal (`return_to`) with a session, or to `/login?sso_error=<code>`.

use actix_web::http::header::{CACHE_CONTROL, LOCATION, USER_AGENT};
use actix_web::web::{self, Payload};
use actix_web::{HttpRequest, HttpResponse};
use api_types::manage::{Page, Problem, RequireSsoRequest, SsoDomainView, SsoProviderView};
use management::{SsoCallback, SsoError, SsoFailure};
use serde::Deserialize;
use utoipa::IntoParams;

use super::caller::{caller, client_ip, csrf_cookie, session_cookie};
use super::{ApiProblem, PageQuery, json, ok, page, query, tenant_id};
use crate::AppState;

fn redirect(to: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((LOCATION, to.to_owned()))
        .insert_header((CACHE_CONTROL, "no-store"))
        .finish()
}

/// The identity providers people can sign in with.
#[utoipa::path(get, path = "/api/v1/auth/sso", tag = "auth",
    responses((status = 200, description = "Configured identity providers", body = Vec<SsoProviderView>)))]
pub(crate) async fn list_providers(state: web::Data<AppState>) -> HttpResponse {
    let providers: Vec<SsoProviderView> = state
        .manager
        .sso_providers()
        .into_iter()
        .map(|it| SsoProviderView {
            start_url: format!("/api/v1/auth/sso/{}/start", it.name),
            name: it.name,
            display_name: it.display_name,
        })
        .collect();
    ok(&providers)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct StartQuery {
    /// A path of the portal to come back to after signing in (default `/`).
    return_to: Option<String>,
}

/// Start signing in with an identity provider: redirects the browser there (authorization
/// code with PKCE; state and nonce are kept server-side for ten minutes, single use).
#[utoipa::path(get, path = "/api/v1/auth/sso/{provider}/start", tag = "auth",
    params(("provider" = String, Path, description = "Identity provider name"), StartQuery),
    responses(
        (status = 302, description = "To the identity provider"),
        (status = 400, description = "`return_to` is not a local path", body = Problem),
        (status = 404, description = "No such identity provider", body = Problem),
        (status = 503, description = "The identity provider cannot be reached", body = Problem),
    ))]
pub(crate) async fn start(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let params: StartQuery = query(&req)?;
    let url = state
        .manager
        .sso_start(&path, params.return_to.as_deref())
        .await?;
    Ok(redirect(&url))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    /// Set by the identity provider when the person cancelled or it refused.
    error: Option<String>,
}

/// Where the identity provider sends the browser back: signs the person in and redirects to
/// where they started, or to `/login?sso_error=<code>` (`invalid_state`, `denied`,
/// `exchange_failed`, `invalid_identity`, `email_not_verified`, `signup_closed`,
/// `provider_unavailable`).
#[utoipa::path(get, path = "/api/v1/auth/sso/{provider}/callback", tag = "auth",
    params(("provider" = String, Path, description = "Identity provider name"), CallbackQuery),
    responses(
        (status = 302, description = "Signed in (session cookies set), or to the login page with `sso_error`"),
        (status = 404, description = "No such identity provider", body = Problem),
    ))]
pub(crate) async fn callback(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    // Providers add parameters of their own (`scope`, `authuser`, …): read ours, ignore theirs.
    let params = web::Query::<CallbackQuery>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default();
    let user_agent = req
        .headers()
        .get(USER_AGENT)
        .and_then(|it| it.to_str().ok())
        .map(str::to_owned);
    let finished = state
        .manager
        .sso_finish(
            &path,
            SsoCallback {
                code: params.code,
                state: params.state,
                error: params.error,
            },
            client_ip(&req, &state),
            user_agent,
        )
        .await;
    match finished {
        Ok((outcome, return_to)) => {
            let lifetime = outcome.session.expires_at - outcome.session.created_at;
            Ok(HttpResponse::Found()
                .insert_header((LOCATION, return_to))
                .insert_header((CACHE_CONTROL, "no-store"))
                .cookie(session_cookie(
                    &outcome.session_secret,
                    state.secure_cookies,
                    lifetime,
                ))
                .cookie(csrf_cookie(
                    &outcome.session.csrf_token,
                    state.secure_cookies,
                    lifetime,
                ))
                .finish())
        }
        Err(SsoError::Refused(failure)) => Ok(redirect(&format!(
            "/login?sso_error={}",
            SsoFailure::as_str(failure)
        ))),
        Err(SsoError::Failed(e)) => Err(e.into()),
    }
}

fn view(rule: &domain::sso::SsoDomain) -> SsoDomainView {
    SsoDomainView {
        domain: rule.domain.clone(),
        provider: rule.provider.clone(),
        created_at: rule.created_at,
    }
}

/// The tenant's single sign-on rules.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/sso-domains", tag = "tenants",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), PageQuery),
    responses(
        (status = 200, description = "Rules, oldest first", body = Page<SsoDomainView>),
        (status = 404, description = "No such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn list_domains(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let page_query: PageQuery = query(&req)?;
    let rules = state
        .manager
        .sso_domains(&identity, tenant_id(&path)?)
        .await?;
    Ok(ok(&page(
        &rules,
        &page_query,
        |it| it.domain.clone(),
        view,
    )?))
}

/// Require that addresses of your own email domain sign in through an identity provider:
/// password sign-in and sign-up are refused for them from then on (platform operators excepted).
#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/sso-domains/{domain}", tag = "tenants",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), ("domain" = String, Path, description = "Email domain, e.g. `acme.example`")),
    request_body = RequireSsoRequest,
    responses(
        (status = 200, description = "The rule", body = SsoDomainView),
        (status = 400, description = "Unknown provider, or not the caller's own domain", body = Problem),
        (status = 403, description = "The caller's role does not allow it", body = Problem),
        (status = 409, description = "Another tenant requires SSO for that domain", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn require(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path.0)?;
    let body: RequireSsoRequest = json(&req, payload).await?;
    let rule = state
        .manager
        .require_sso(&identity, tenant, &path.1, &body.provider)
        .await?;
    Ok(ok(&view(&rule)))
}

/// Drop a single sign-on rule.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/sso-domains/{domain}", tag = "tenants",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), ("domain" = String, Path, description = "Email domain")),
    responses(
        (status = 204, description = "Dropped"),
        (status = 403, description = "The caller's role does not allow it", body = Problem),
        (status = 404, description = "No such rule", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn drop_rule(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    state
        .manager
        .drop_sso_requirement(&identity, tenant_id(&path.0)?, &path.1)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
