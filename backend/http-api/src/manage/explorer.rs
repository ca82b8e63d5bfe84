//! `/api/v1/tenants/{tenant}/explorer/token`: the portal's API explorer gets a short-lived
//! data-plane token for the signed-in person instead of asking them for a key.

use actix_web::web;
use actix_web::{HttpRequest, HttpResponse};
use api_types::manage::{ExplorerTokenView, Problem};

use super::caller::caller;
use super::{ApiProblem, tenant_id};
use crate::AppState;

/// Mints a five-minute data-plane token for the caller in this tenant. Send it as
/// `Authorization: Bearer` to `/v1/*`; its calls are recorded as usage under the caller.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/explorer/token", tag = "explorer",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    responses(
        (status = 200, description = "The token", body = ExplorerTokenView),
        (status = 403, description = "The caller's role may not call models, or the tenant is suspended", body = Problem),
        (status = 404, description = "No such tenant for the caller", body = Problem),
        (status = 503, description = "No master key to sign tokens with", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn token(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path)?;
    let issued = state
        .manager
        .issue_explorer_token(&identity, tenant)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(ExplorerTokenView {
            access_token: issued.access_token,
            token_type: "Bearer".into(),
            expires_in: issued.expires_in,
            expires_at: issued.expires_at,
        }))
}
