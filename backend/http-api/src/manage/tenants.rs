//! `/api/v1/tenants*` and `/api/v1/invitations/accept`: tenants, members, invitations, and the
//! tenant's audit log.

use actix_web::web::{self, Payload};
use actix_web::{HttpRequest, HttpResponse};
use api_types::manage::{
    AcceptedInvitation, AuditEventView, CreateInvitationRequest, CreateTenantRequest,
    CreatedInvitation, InvitationView, MemberView, Page, Problem, TenantView, TokenRequest,
    UpdateMemberRequest,
};
use domain::{InvitationId, UserId};
use serde::Deserialize;
use store::AuditFilter;
use time::OffsetDateTime;
use utoipa::IntoParams;

use super::caller::caller;
use super::{ApiProblem, PageQuery, created, json, ok, page, path_id, query, tenant_id, views};
use crate::AppState;

/// Another tenant's ids, and malformed ones, are simply not found.
/// The tenants the caller belongs to (every tenant, for platform operators).
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants", params(PageQuery),
    responses((status = 200, description = "Tenants, oldest first", body = Page<TenantView>)),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn list_tenants(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let page_query: PageQuery = query(&req)?;
    let tenants = state.manager.tenants_of(&identity).await?;
    Ok(ok(&page(
        &tenants,
        &page_query,
        |(t, _)| t.id.to_string(),
        |(t, r)| views::tenant(t, *r),
    )?))
}

/// Create a tenant; the caller becomes its owner.
#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants", request_body = CreateTenantRequest,
    responses(
        (status = 201, description = "Created", body = TenantView),
        (status = 400, description = "Invalid name", body = Problem),
        (status = 403, description = "Email address not verified", body = Problem),
        (status = 409, description = "The name is taken", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn create_tenant(
    req: HttpRequest,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let body: CreateTenantRequest = json(&req, payload).await?;
    let tenant = state.manager.create_tenant(&identity, &body.name).await?;
    Ok(created(&views::tenant(&tenant, Some(domain::Role::Owner))))
}

/// One tenant.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}", tag = "tenants",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    responses(
        (status = 200, description = "The tenant", body = TenantView),
        (status = 404, description = "No such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn get_tenant(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let (tenant, access) = state.manager.tenant(&identity, tenant_id(&path)?).await?;
    Ok(ok(&views::tenant(&tenant, access.role)))
}

/// The tenant's members.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/members", tag = "tenants",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), PageQuery),
    responses(
        (status = 200, description = "Members, oldest first", body = Page<MemberView>),
        (status = 404, description = "No such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn list_members(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let page_query: PageQuery = query(&req)?;
    let members = state.manager.members(&identity, tenant_id(&path)?).await?;
    Ok(ok(&page(
        &members,
        &page_query,
        |it| it.user_id.to_string(),
        views::member,
    )?))
}

/// Change a member's role (only owners make or change owners; a tenant keeps one owner).
#[utoipa::path(patch, path = "/api/v1/tenants/{tenant}/members/{user}", tag = "tenants",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), ("user" = uuid::Uuid, Path, description = "User id")),
    request_body = UpdateMemberRequest,
    responses(
        (status = 204, description = "Changed"),
        (status = 403, description = "The caller's role does not allow it", body = Problem),
        (status = 404, description = "No such member", body = Problem),
        (status = 409, description = "The tenant would have no owner", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn update_member(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path.0)?;
    let user: UserId = path_id(&path.1, "member")?;
    let body: UpdateMemberRequest = json(&req, payload).await?;
    state
        .manager
        .set_member_role(&identity, tenant, user, views::role_of(body.role))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Remove a member, or leave a tenant (your own user id).
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/members/{user}", tag = "tenants",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), ("user" = uuid::Uuid, Path, description = "User id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "The caller's role does not allow it", body = Problem),
        (status = 404, description = "No such member", body = Problem),
        (status = 409, description = "The tenant would have no owner", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn remove_member(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path.0)?;
    let user: UserId = path_id(&path.1, "member")?;
    state.manager.remove_member(&identity, tenant, user).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The tenant's invitations, newest first.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/invitations", tag = "tenants",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), PageQuery),
    responses((status = 200, description = "Invitations", body = Page<InvitationView>)),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn list_invitations(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let page_query: PageQuery = query(&req)?;
    let invitations = state
        .manager
        .invitations(&identity, tenant_id(&path)?)
        .await?;
    let now = OffsetDateTime::now_utc();
    Ok(ok(&page(
        &invitations,
        &page_query,
        |it| it.id.to_string(),
        |it| views::invitation(it, now),
    )?))
}

/// Invite someone by email with a role; the link is mailed and returned once.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/invitations", tag = "tenants",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    request_body = CreateInvitationRequest,
    responses(
        (status = 201, description = "Invited", body = CreatedInvitation),
        (status = 400, description = "Invalid email address", body = Problem),
        (status = 403, description = "The caller's role does not allow it", body = Problem),
        (status = 409, description = "Already a member", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn create_invitation(
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path)?;
    let body: CreateInvitationRequest = json(&req, payload).await?;
    let link = state
        .manager
        .invite(&identity, tenant, &body.email, views::role_of(body.role))
        .await?;
    Ok(created(&CreatedInvitation {
        invitation: views::invitation(&link.invitation, OffsetDateTime::now_utc()),
        url: link.url,
    }))
}

/// Revoke an open invitation.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/invitations/{invitation}", tag = "tenants",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), ("invitation" = uuid::Uuid, Path, description = "Invitation id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "The caller's role does not allow it", body = Problem),
        (status = 404, description = "No open invitation with this id", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn revoke_invitation(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path.0)?;
    let id: InvitationId = path_id(&path.1, "invitation")?;
    state
        .manager
        .revoke_invitation(&identity, tenant, id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Accept an invitation as the signed-in, invited person.
#[utoipa::path(post, path = "/api/v1/invitations/accept", tag = "tenants", request_body = TokenRequest,
    responses(
        (status = 200, description = "Joined", body = AcceptedInvitation),
        (status = 400, description = "Invalid, used, revoked or expired invitation", body = Problem),
        (status = 403, description = "The invitation is for another address", body = Problem),
        (status = 409, description = "Already a member", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn accept_invitation(
    req: HttpRequest,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let body: TokenRequest = json(&req, payload).await?;
    let (tenant, role) = state
        .manager
        .accept_invitation(&identity, &body.token)
        .await?;
    Ok(ok(&AcceptedInvitation {
        tenant_id: tenant.0,
        role: views::role(role),
    }))
}

/// Filters of the audit log.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    /// Items per page (1 to 200, default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(min_length = 1)]
    cursor: Option<String>,
    /// Only actions starting with this, e.g. `key.`.
    action: Option<String>,
    /// Only this actor's events (a user id).
    actor: Option<String>,
    /// RFC 3339; events at or after.
    #[param(format = DateTime)]
    since: Option<String>,
    /// RFC 3339; events before.
    #[param(format = DateTime)]
    until: Option<String>,
}

fn rfc3339(field: &str, value: Option<&str>) -> Result<Option<OffsetDateTime>, ApiProblem> {
    value
        .map(|it| {
            OffsetDateTime::parse(it, &time::format_description::well_known::Rfc3339).map_err(
                |_| {
                    management::Error::invalid(field, format!("`{field}` must be an RFC 3339 time"))
                        .into()
                },
            )
        })
        .transpose()
}

/// The tenant's audit log, newest first: who did what, when, from where, before and after.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/audit-events", tag = "audit",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), AuditQuery),
    responses(
        (status = 200, description = "Events", body = Page<AuditEventView>),
        (status = 403, description = "The caller's role does not allow it", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn list_audit_events(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path)?;
    let params: AuditQuery = query(&req)?;
    let limit = params.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(
            management::Error::invalid("limit", "`limit` must be between 1 and 200").into(),
        );
    }
    let before = params
        .cursor
        .as_deref()
        .map(|it| {
            it.parse::<i64>().map_err(|_| {
                management::Error::invalid("cursor", "the cursor does not belong to this list")
            })
        })
        .transpose()?;
    let filter = AuditFilter {
        tenant: None,
        action_prefix: params.action.filter(|it| !it.is_empty()),
        actor_id: params.actor.filter(|it| !it.is_empty()),
        since: rfc3339("since", params.since.as_deref())?,
        until: rfc3339("until", params.until.as_deref())?,
    };
    // One more than asked tells whether there is a next page.
    let mut events = state
        .manager
        .audit_events(&identity, tenant, filter, before, limit + 1)
        .await?;
    let more = events.len() > limit as usize;
    events.truncate(limit as usize);
    Ok(ok(&Page {
        next_cursor: if more {
            events.last().map(|it| it.seq.to_string())
        } else {
            None
        },
        items: events.iter().map(views::audit_event).collect(),
    }))
}
