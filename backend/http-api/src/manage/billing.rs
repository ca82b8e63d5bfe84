//! `/api/v1/{tenants/{tenant},partners/{partner}}/billing/*`: a period's bill (statement) and
//! the finance export of its ledger entries, streamed as CSV or JSON.

use actix_web::http::header;
use actix_web::web;
use actix_web::web::Payload;
use actix_web::{HttpRequest, HttpResponse};
use api_types::billing::{
    AddAdjustmentRequest, AdjustmentView, BillFiguresView, BillLineView, StatementView,
    TenantBillView,
};
use api_types::manage::Problem;
use domain::ledger::Adjustment;
use domain::pricing::Money;
use domain::rollup::RollupFigures;
use futures_util::StreamExt as _;
use management::billing::BillScope;
use management::billing::{AdjustmentDraft, Statement};
use management::export::{ExportFormat, ExportRequest};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::IntoParams;

use super::caller::caller;
use super::usage::time_param;
use super::{ApiProblem, created, json, ok, path_id, query, tenant_id};
use crate::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PeriodQuery {
    /// RFC 3339, a whole minute; default the start of this calendar month (UTC).
    #[param(format = DateTime)]
    from: Option<String>,
    /// RFC 3339, a whole minute, after `from`, at most 366 days on; default the start of next
    /// calendar month (UTC).
    #[param(format = DateTime)]
    to: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExportQuery {
    /// RFC 3339; default the start of this calendar month (UTC).
    #[param(format = DateTime)]
    from: Option<String>,
    /// RFC 3339, after `from`, at most 366 days on; default the start of next calendar month
    /// (UTC).
    #[param(format = DateTime)]
    to: Option<String>,
    /// `csv` (default) or `json`.
    format: Option<String>,
}

/// `[from, to)` from the query, by default this calendar month.
fn period(
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(OffsetDateTime, OffsetDateTime), ApiProblem> {
    let (month, next_month) = domain::invoice::calendar_month(OffsetDateTime::now_utc());
    let from = time_param("from", from)?.unwrap_or(month);
    let to = time_param("to", to)?.unwrap_or(next_month);
    Ok((from, to))
}

fn figures(sums: &RollupFigures, partner: bool) -> BillFiguresView {
    BillFiguresView {
        requests: sums.requests,
        errors: sums.errors,
        cache_hits: sums.cache_hits,
        prompt_tokens: sums.prompt_tokens,
        completion_tokens: sums.completion_tokens,
        cached_tokens: sums.cached_tokens,
        cache_write_tokens: sums.cache_write_tokens,
        reasoning_tokens: sums.reasoning_tokens,
        price: sums.price.to_string(),
        wholesale: partner.then(|| sums.wholesale.to_string()),
        margin: partner.then(|| {
            Money::from_nanos(sums.price.nanos().saturating_sub(sums.wholesale.nanos())).to_string()
        }),
        unpriced: sums.unpriced,
    }
}

fn adjustment_view(adjustment: &Adjustment) -> AdjustmentView {
    AdjustmentView {
        id: adjustment.id.0,
        kind: adjustment.kind.as_str().to_owned(),
        amount: adjustment.amount.to_string(),
        reason: adjustment.reason.clone(),
        author: adjustment.author.clone(),
        effective_at: adjustment.effective_at,
        created_at: adjustment.created_at,
    }
}

fn statement_view(statement: &Statement) -> StatementView {
    let partner = statement.partner;
    StatementView {
        from: statement.from,
        to: statement.to,
        currency: statement.currency.to_string(),
        tenants: statement
            .tenants
            .iter()
            .map(|part| TenantBillView {
                tenant_id: part.tenant.id.0,
                tenant: part.tenant.name.clone(),
                lines: part
                    .lines
                    .iter()
                    .map(|line| BillLineView {
                        model: line.model.clone(),
                        figures: figures(&line.figures, partner),
                    })
                    .collect(),
                totals: figures(&part.totals, partner),
                adjustments: part.adjustments.iter().map(adjustment_view).collect(),
                adjusted: part.adjusted.to_string(),
                due: part.due().to_string(),
            })
            .collect(),
        totals: figures(&statement.totals, partner),
        adjusted: statement.adjusted().to_string(),
        due: statement.due().to_string(),
    }
}

/// Add a credit or an adjustment to a tenant's bill: only ever added (a wrong one is undone by
/// another), with its reason and author, audited. The platform's operators and the tenant's
/// partner's administrators; the tenant's own members may not.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/billing/adjustments", tag = "billing",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    request_body = AddAdjustmentRequest,
    responses(
        (status = 201, description = "Added", body = AdjustmentView),
        (status = 400, description = "A bad kind, amount, currency, reason or time, by field", body = Problem),
        (status = 403, description = "The caller is the tenant's member, not its operator or partner", body = Problem),
        (status = 404, description = "No such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn add_adjustment(
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path)?;
    let body: AddAdjustmentRequest = json(&req, payload).await?;
    let adjustment = state
        .manager
        .add_adjustment(
            &identity,
            tenant,
            AdjustmentDraft {
                kind: body.kind,
                amount: body.amount,
                currency: body.currency,
                reason: body.reason,
                effective_at: body.effective_at,
            },
        )
        .await?;
    Ok(created(&adjustment_view(&adjustment)))
}

async fn statement(
    req: &HttpRequest,
    state: &AppState,
    scope: BillScope,
) -> Result<Statement, ApiProblem> {
    let identity = caller(req, state).await?;
    let params: PeriodQuery = query(req)?;
    let (from, to) = period(params.from.as_deref(), params.to.as_deref())?;
    Ok(state.manager.statement(&identity, scope, from, to).await?)
}

/// A statement's printable page: self-contained, so its policy forbids everything but its
/// own inline style.
fn printable(statement: &Statement) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(super::bill_html::statement(statement))
}

/// The tenant's bill for a period as a printable HTML page (a print stylesheet, no script).
/// Owners, admins and finance.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/billing/statement.html", tag = "billing",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), PeriodQuery),
    responses(
        (status = 200, description = "The bill as a page", content_type = "text/html", body = String),
        (status = 400, description = "A period that is reversed, over 366 days or not in whole minutes", body = Problem),
        (status = 403, description = "The caller's role may not see billing", body = Problem),
        (status = 404, description = "No such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn tenant_statement_html(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let tenant = tenant_id(&path)?;
    let statement = statement(&req, &state, BillScope::Tenant(tenant)).await?;
    Ok(printable(&statement))
}

/// A partner's statement as a printable HTML page. The partner's administrators and
/// operators.
#[utoipa::path(get, path = "/api/v1/partners/{partner}/billing/statement.html", tag = "billing",
    params(("partner" = uuid::Uuid, Path, description = "Partner id"), PeriodQuery),
    responses(
        (status = 200, description = "The statement as a page", content_type = "text/html", body = String),
        (status = 400, description = "A period that is reversed, over 366 days or not in whole minutes", body = Problem),
        (status = 404, description = "No such partner for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn partner_statement_html(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let partner = path_id(&path, "partner")?;
    let statement = statement(&req, &state, BillScope::Partner(partner)).await?;
    Ok(printable(&statement))
}

/// The tenant's bill for a period: its calls per model with what they were charged, summed
/// from the usage rollups (equal to the ledger). Owners, admins and finance.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/billing/statement", tag = "billing",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), PeriodQuery),
    responses(
        (status = 200, description = "The bill", body = StatementView),
        (status = 400, description = "A period that is reversed, over 366 days or not in whole minutes", body = Problem),
        (status = 403, description = "The caller's role may not see billing", body = Problem),
        (status = 404, description = "No such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn tenant_statement(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let tenant = tenant_id(&path)?;
    let statement = statement(&req, &state, BillScope::Tenant(tenant)).await?;
    Ok(ok(&statement_view(&statement)))
}

/// A partner's statement for a period: each sub-tenant's calls per model with their retail
/// price, the partner's wholesale price and its margin. The partner's administrators and
/// operators.
#[utoipa::path(get, path = "/api/v1/partners/{partner}/billing/statement", tag = "billing",
    params(("partner" = uuid::Uuid, Path, description = "Partner id"), PeriodQuery),
    responses(
        (status = 200, description = "The statement, a part per sub-tenant", body = StatementView),
        (status = 400, description = "A period that is reversed, over 366 days or not in whole minutes", body = Problem),
        (status = 404, description = "No such partner for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn partner_statement(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let partner = path_id(&path, "partner")?;
    let statement = statement(&req, &state, BillScope::Partner(partner)).await?;
    Ok(ok(&statement_view(&statement)))
}

async fn export(
    req: &HttpRequest,
    state: &AppState,
    scope: BillScope,
    name: String,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(req, state).await?;
    let params: ExportQuery = query(req)?;
    let (from, to) = period(params.from.as_deref(), params.to.as_deref())?;
    let format = match params.format.as_deref() {
        None => ExportFormat::Csv,
        Some(text) => ExportFormat::parse(text)
            .ok_or_else(|| management::Error::invalid("format", "`format` is `csv` or `json`"))?,
    };
    let export = state
        .manager
        .export_usage(
            &identity,
            ExportRequest {
                scope,
                from,
                to,
                format,
            },
        )
        .await?;
    let file_name = export.file_name(&name);
    let mut chunks = Box::pin(export.chunks());
    // The first page is read before the answer starts, so a store that is down is a 503 in
    // the API's error shape; a failure later cuts the chunked body short, which every HTTP
    // client reports as an error (never as a shorter, complete-looking file).
    let first = chunks.next().await.transpose()?;
    let body = futures_util::stream::iter(first.map(Ok))
        .chain(chunks)
        .map(|chunk| match chunk {
            Ok(chunk) => Ok(web::Bytes::from(chunk.bytes)),
            Err(e) => {
                tracing::error!(error = %e, "a billing export failed part-way");
                Err(actix_web::error::ErrorInternalServerError("export failed"))
            }
        });
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file_name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body))
}

/// The tenant's ledger entries of a period (every call but mirrors to shadow deployments),
/// streamed as CSV (a header line, then a line per call) or JSON (ending with the totals).
/// Owners, admins and finance.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/billing/export", tag = "billing",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), ExportQuery),
    responses(
        (status = 200, description = "The entries, as an attachment", content(
            (String = "text/csv"),
            (serde_json::Value = "application/json"),
        )),
        (status = 400, description = "A period that is reversed or over 366 days, or an unknown format", body = Problem),
        (status = 403, description = "The caller's role may not see billing", body = Problem),
        (status = 404, description = "No such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn tenant_export(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let tenant = tenant_id(&path)?;
    export(&req, &state, BillScope::Tenant(tenant), tenant.to_string()).await
}

/// The ledger entries of a period of every sub-tenant of a partner, one tenant after the
/// other, as CSV or JSON. The partner's administrators and operators.
#[utoipa::path(get, path = "/api/v1/partners/{partner}/billing/export", tag = "billing",
    params(("partner" = uuid::Uuid, Path, description = "Partner id"), ExportQuery),
    responses(
        (status = 200, description = "The entries, as an attachment", content(
            (String = "text/csv"),
            (serde_json::Value = "application/json"),
        )),
        (status = 400, description = "A period that is reversed or over 366 days, or an unknown format", body = Problem),
        (status = 404, description = "No such partner for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn partner_export(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let partner: domain::PartnerId = path_id(&path, "partner")?;
    export(
        &req,
        &state,
        BillScope::Partner(partner),
        partner.to_string(),
    )
    .await
}
