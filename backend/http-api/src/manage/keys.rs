//! `/api/v1/tenants/{tenant}/keys*`: data-plane API keys, from creation to revocation.

use actix_web::web::{self, Payload};
use actix_web::{HttpRequest, HttpResponse};
use api_types::manage::{
    CreateKeyRequest, CreatedKey, KeyView, Page, Problem, RotateKeyRequest, UpdateKeyRequest,
};
use domain::{ApiKeyId, KeyScopes, TenantId};
use management::{KeyDraft, KeyUpdate};
use time::OffsetDateTime;

use super::caller::caller;
use super::{ApiProblem, PageQuery, created, json, ok, page, path_id, query, tenant_id, views};
use crate::AppState;

fn ids(tenant: &str, key: Option<&str>) -> Result<(TenantId, Option<ApiKeyId>), ApiProblem> {
    let key = key.map(|it| path_id(it, "key")).transpose()?;
    Ok((tenant_id(tenant)?, key))
}

/// A residency restriction as the domain keeps it.
pub(super) fn regions(raw: &[String]) -> Result<Vec<String>, ApiProblem> {
    domain::tenant::check_regions(raw)
        .map_err(|message| management::Error::invalid("regions", message).into())
}

pub(super) fn networks(field: &str, raw: &[String]) -> Result<Vec<ipnet::IpNet>, ApiProblem> {
    raw.iter()
        .enumerate()
        .map(|(i, it)| {
            let it = it.trim();
            // A bare address means just that address.
            it.parse::<ipnet::IpNet>()
                .or_else(|_| it.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    management::Error::invalid(
                        &format!("{field}[{i}]"),
                        format!("`{it}` is not an IP address or CIDR network"),
                    )
                    .into()
                })
        })
        .collect()
}

/// The tenant's API keys (never their secrets).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/keys", tag = "keys",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), PageQuery),
    responses(
        (status = 200, description = "Keys, oldest first", body = Page<KeyView>),
        (status = 403, description = "The caller's role does not allow it", body = Problem),
        (status = 404, description = "No such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn list_keys(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let (tenant, _) = ids(&path, None)?;
    let page_query: PageQuery = query(&req)?;
    let keys = state.manager.keys(&identity, tenant).await?;
    let now = OffsetDateTime::now_utc();
    Ok(ok(&page(
        &keys,
        &page_query,
        |it| it.id.to_string(),
        |it| views::key(it, now),
    )?))
}

/// Create a key with its scopes; the secret is shown only in this response.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/keys", tag = "keys",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    request_body = CreateKeyRequest,
    responses(
        (status = 201, description = "Created", body = CreatedKey),
        (status = 400, description = "Invalid field", body = Problem),
        (status = 403, description = "The caller's role does not allow it", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn create_key(
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let (tenant, _) = ids(&path, None)?;
    let body: CreateKeyRequest = json(&req, payload).await?;
    let draft = KeyDraft {
        name: body.name,
        models: body.models,
        scopes: KeyScopes {
            endpoints: body.endpoints,
            ip_allowlist: networks("ip_allowlist", &body.ip_allowlist)?,
            limits: views::limits_of(&body.limits)?,
            regions: regions(&body.regions)?,
        },
        expires_at: body.expires_at,
    };
    let (key, secret) = state.manager.create_key(&identity, tenant, draft).await?;
    Ok(created(&CreatedKey {
        key: views::key(&key, OffsetDateTime::now_utc()),
        secret,
    }))
}

/// One key.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/keys/{key}", tag = "keys",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), ("key" = uuid::Uuid, Path, description = "Key id")),
    responses(
        (status = 200, description = "The key", body = KeyView),
        (status = 403, description = "The caller's role does not allow it", body = Problem),
        (status = 404, description = "No such key", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn get_key(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let (tenant, key) = ids(&path.0, Some(&path.1))?;
    let key = state
        .manager
        .key(
            &identity,
            tenant,
            key.ok_or(management::Error::NotFound("key"))?,
        )
        .await?;
    Ok(ok(&views::key(&key, OffsetDateTime::now_utc())))
}

/// Change a key's name, models, scopes or expiry.
#[utoipa::path(patch, path = "/api/v1/tenants/{tenant}/keys/{key}", tag = "keys",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), ("key" = uuid::Uuid, Path, description = "Key id")),
    request_body = UpdateKeyRequest,
    responses(
        (status = 200, description = "Changed", body = KeyView),
        (status = 400, description = "Invalid field", body = Problem),
        (status = 403, description = "The caller's role does not allow it", body = Problem),
        (status = 404, description = "No such key", body = Problem),
        (status = 409, description = "The key is revoked", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn update_key(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let (tenant, key) = ids(&path.0, Some(&path.1))?;
    let key = key.ok_or(management::Error::NotFound("key"))?;
    let body: UpdateKeyRequest = json(&req, payload).await?;
    let scopes = if body.endpoints.is_some()
        || body.ip_allowlist.is_some()
        || body.limits.is_some()
        || body.regions.is_some()
    {
        let current = state.manager.key(&identity, tenant, key).await?.scopes;
        Some(KeyScopes {
            endpoints: body.endpoints.unwrap_or(current.endpoints),
            ip_allowlist: match &body.ip_allowlist {
                Some(raw) => networks("ip_allowlist", raw)?,
                None => current.ip_allowlist,
            },
            limits: body
                .limits
                .as_ref()
                .map_or(Ok(current.limits), views::limits_of)?,
            regions: match &body.regions {
                Some(raw) => regions(raw)?,
                None => current.regions,
            },
        })
    } else {
        None
    };
    let expires_at =
        body.expires_at
            .map(|it| {
                it.map(|raw| {
                    OffsetDateTime::parse(&raw, &time::format_description::well_known::Rfc3339)
                        .map_err(|_| {
                            management::Error::invalid(
                                "expires_at",
                                "`expires_at` must be an RFC 3339 time or null",
                            )
                        })
                })
                .transpose()
            })
            .transpose()?;
    let update = KeyUpdate {
        name: body.name,
        models: body.models,
        scopes,
        expires_at,
    };
    let key = state
        .manager
        .update_key(&identity, tenant, key, update)
        .await?;
    Ok(ok(&views::key(&key, OffsetDateTime::now_utc())))
}

/// Revoke a key: every node refuses it within a second.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/keys/{key}", tag = "keys",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), ("key" = uuid::Uuid, Path, description = "Key id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "The caller's role does not allow it", body = Problem),
        (status = 404, description = "No such key", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn revoke_key(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let (tenant, key) = ids(&path.0, Some(&path.1))?;
    state
        .manager
        .revoke_key(
            &identity,
            tenant,
            key.ok_or(management::Error::NotFound("key"))?,
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Replace a key with a new secret of the same scopes; the old one keeps working for the grace
/// period.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/keys/{key}/rotate", tag = "keys",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), ("key" = uuid::Uuid, Path, description = "Key id")),
    request_body = RotateKeyRequest,
    responses(
        (status = 201, description = "The new key and its secret", body = CreatedKey),
        (status = 400, description = "Grace period out of range", body = Problem),
        (status = 403, description = "The caller's role does not allow it", body = Problem),
        (status = 404, description = "No such key", body = Problem),
        (status = 409, description = "The key is revoked", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn rotate_key(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let (tenant, key) = ids(&path.0, Some(&path.1))?;
    let body: RotateKeyRequest = json(&req, payload).await?;
    let grace =
        time::Duration::seconds(i64::try_from(body.grace_period_seconds).unwrap_or(i64::MAX));
    let (key, secret) = state
        .manager
        .rotate_key(
            &identity,
            tenant,
            key.ok_or(management::Error::NotFound("key"))?,
            grace,
        )
        .await?;
    Ok(created(&CreatedKey {
        key: views::key(&key, OffsetDateTime::now_utc()),
        secret,
    }))
}
