//! `/api/v1/tenants/{tenant}/billing/invoices*`: a tenant's invoices, drafted, finalized and
//! voided by whoever writes its bill (operators, its partner's administrators), read by those
//! who may see its billing.

use actix_web::http::header;
use actix_web::web::{self, Payload};
use actix_web::{HttpRequest, HttpResponse};
use api_types::billing::{
    BillFiguresView, BillLineView, DraftInvoiceRequest, InvoiceCorrectionView, InvoiceListView,
    InvoicePaymentView, InvoiceSummaryView, InvoiceTaxView, InvoiceView, PartnerChargeLineView,
    PartnerChargeView, PartnerInvoiceListView, PartnerInvoiceView, VoidInvoiceRequest,
};
use api_types::manage::Problem;
use domain::InvoiceId;
use domain::invoice::{Invoice, InvoiceContent, InvoiceLine, InvoiceTax};
use domain::payment::InvoicePayment;
use management::invoices::InvoiceDetail;

use super::caller::caller;
use super::{ApiProblem, created, json, ok, path_id, tenant_id};
use crate::AppState;

fn line(line: &InvoiceLine) -> BillLineView {
    BillLineView {
        model: line.model.clone(),
        figures: BillFiguresView {
            requests: line.requests,
            errors: line.errors,
            cache_hits: line.cache_hits,
            prompt_tokens: line.prompt_tokens,
            completion_tokens: line.completion_tokens,
            cached_tokens: line.cached_tokens,
            cache_write_tokens: line.cache_write_tokens,
            reasoning_tokens: line.reasoning_tokens,
            price: line.price.to_string(),
            wholesale: None,
            margin: None,
            unpriced: line.unpriced,
        },
    }
}

fn view(detail: &InvoiceDetail) -> InvoiceView {
    let invoice = &detail.invoice;
    let content = &detail.content;
    InvoiceView {
        id: invoice.id.0,
        number: invoice.number,
        status: invoice.status.as_str().to_owned(),
        tenant_id: detail.tenant.id.0,
        tenant: detail.tenant.name.clone(),
        from: invoice.from,
        to: invoice.to,
        currency: content.currency.clone(),
        lines: content.lines.iter().map(line).collect(),
        corrections: content
            .corrections
            .iter()
            .map(|it| InvoiceCorrectionView {
                id: it.id.0,
                kind: it.kind.clone(),
                amount: it.amount.to_string(),
                reason: it.reason.clone(),
                author: it.author.clone(),
                effective_at: it.effective_at,
            })
            .collect(),
        subtotal: content.subtotal.to_string(),
        adjusted: content.adjusted.to_string(),
        carried: content.carried.to_string(),
        tax: content.tax.as_ref().map(tax),
        total: content.total.to_string(),
        created_by: invoice.created_by.clone(),
        created_at: invoice.created_at,
        finalized_at: invoice.finalized_at,
        voided_at: invoice.voided_at,
        void_reason: invoice.void_reason.clone(),
        payment: detail.payment.as_ref().map(payment),
        partner_charge: content.wholesale.as_deref().map(partner_charge),
    }
}

fn partner_charge(wholesale: &InvoiceContent) -> PartnerChargeView {
    PartnerChargeView {
        lines: wholesale
            .lines
            .iter()
            .map(|it| PartnerChargeLineView {
                model: it.model.clone(),
                requests: it.requests,
                amount: it.price.to_string(),
            })
            .collect(),
        subtotal: wholesale.subtotal.to_string(),
        carried: wholesale.carried.to_string(),
        tax: wholesale.tax.as_ref().map(tax),
        total: wholesale.total.to_string(),
    }
}

fn tax(tax: &InvoiceTax) -> InvoiceTaxView {
    InvoiceTaxView {
        label: tax.label.clone(),
        percent: domain::pricing::percent_of_basis_points(tax.basis_points),
        amount: tax.amount.to_string(),
    }
}

fn payment(payment: &InvoicePayment) -> InvoicePaymentView {
    InvoicePaymentView {
        status: payment.status.as_str().to_owned(),
        pay_url: payment.hosted_url.clone(),
        due_at: payment.due_at,
        suspend_at: payment.suspend_at,
        paid_at: payment.paid_at,
        failed_at: payment.failed_at,
    }
}

fn summary((invoice, paid): &(Invoice, Option<InvoicePayment>)) -> InvoiceSummaryView {
    InvoiceSummaryView {
        id: invoice.id.0,
        number: invoice.number,
        status: invoice.status.as_str().to_owned(),
        from: invoice.from,
        to: invoice.to,
        total: invoice.content.as_ref().map(|it| it.total.to_string()),
        created_at: invoice.created_at,
        finalized_at: invoice.finalized_at,
        voided_at: invoice.voided_at,
        payment: paid.as_ref().map(payment),
        partner_total: invoice
            .content
            .as_ref()
            .and_then(|it| it.wholesale.as_ref())
            .map(|it| it.total.to_string()),
    }
}

fn ids(path: &(String, String)) -> Result<(domain::TenantId, InvoiceId), ApiProblem> {
    Ok((tenant_id(&path.0)?, path_id(&path.1, "invoice")?))
}

/// The tenant's invoices, latest period first (the newest 100). Owners, admins and finance.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/billing/invoices", tag = "billing",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    responses(
        (status = 200, description = "The invoices", body = InvoiceListView),
        (status = 403, description = "The caller's role may not see billing", body = Problem),
        (status = 404, description = "No such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn list_invoices(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path)?;
    let invoices = state.manager.invoices(&identity, tenant).await?;
    Ok(ok(&InvoiceListView {
        currency: state.manager.config().prices.currency.to_string(),
        invoices: invoices.iter().map(summary).collect(),
    }))
}

/// What the platform bills a partner for its sub-tenants: their invoices, latest period first
/// (each sub-tenant's newest 100), with what the partner pays for each finalized one
/// (`partner_total`) and how that payment stands. The partner's administrators and operators.
#[utoipa::path(get, path = "/api/v1/partners/{partner}/billing/invoices", tag = "billing",
    params(("partner" = uuid::Uuid, Path, description = "Partner id")),
    responses(
        (status = 200, description = "The sub-tenants' invoices", body = PartnerInvoiceListView),
        (status = 404, description = "No such partner for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn partner_invoices(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let partner = path_id(&path, "partner")?;
    let invoices = state.manager.partner_invoices(&identity, partner).await?;
    Ok(ok(&PartnerInvoiceListView {
        currency: state.manager.config().prices.currency.to_string(),
        invoices: invoices
            .into_iter()
            .map(|it| PartnerInvoiceView {
                tenant_id: it.tenant.id.0,
                tenant: it.tenant.name,
                invoice: summary(&(it.invoice, it.payment)),
            })
            .collect(),
    }))
}

/// Draft the tenant's invoice for a period (default: its last billing period that has ended,
/// the last calendar month (UTC) or, with `[invoicing] anchor = "sign_up"`, the last month from
/// its sign-up day): its content follows the ledger until it is finalized. The platform's operators and the
/// tenant's partner's administrators.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/billing/invoices", tag = "billing",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    request_body = DraftInvoiceRequest,
    responses(
        (status = 201, description = "The draft, as the ledger holds its period now", body = InvoiceView),
        (status = 400, description = "A period that is reversed, over 366 days, not in whole minutes or not started", body = Problem),
        (status = 403, description = "The caller is the tenant's member, not its operator or partner", body = Problem),
        (status = 404, description = "No such tenant for the caller", body = Problem),
        (status = 409, description = "An invoice that is not void covers part of the period", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn draft_invoice(
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path)?;
    let body: DraftInvoiceRequest = json(&req, payload).await?;
    let period = match (body.from, body.to) {
        (Some(from), Some(to)) => Some((from, to)),
        // The tenant's last billing period that has ended.
        (None, None) => None,
        (Some(_), None) => {
            return Err(
                management::Error::invalid("to", "give `to` with `from`, or neither").into(),
            );
        }
        (None, Some(_)) => {
            return Err(
                management::Error::invalid("from", "give `from` with `to`, or neither").into(),
            );
        }
    };
    let detail = state
        .manager
        .draft_invoice(&identity, tenant, period)
        .await?;
    Ok(created(&view(&detail)))
}

/// One invoice with what it bills: frozen once finalized, as the ledger holds it now while a
/// draft. Owners, admins and finance.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/billing/invoices/{invoice}", tag = "billing",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), ("invoice" = uuid::Uuid, Path, description = "Invoice id")),
    responses(
        (status = 200, description = "The invoice", body = InvoiceView),
        (status = 403, description = "The caller's role may not see billing", body = Problem),
        (status = 404, description = "No such invoice for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn get_invoice(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let (tenant, id) = ids(&path)?;
    let detail = state.manager.invoice(&identity, tenant, id).await?;
    Ok(ok(&view(&detail)))
}

/// An invoice as a printable HTML page (a print stylesheet, no script). Owners, admins and
/// finance.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/billing/invoices/{invoice}/invoice.html", tag = "billing",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), ("invoice" = uuid::Uuid, Path, description = "Invoice id")),
    responses(
        (status = 200, description = "The invoice as a page", content_type = "text/html", body = String),
        (status = 403, description = "The caller's role may not see billing", body = Problem),
        (status = 404, description = "No such invoice for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn invoice_html(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let (tenant, id) = ids(&path)?;
    let detail = state.manager.invoice(&identity, tenant, id).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(super::bill_html::invoice(&detail)))
}

/// Finalize a draft whose period has ended: what it bills is frozen as the ledger holds it now
/// (with usage recorded late for earlier invoices carried onto it), and it is numbered. It
/// never changes after; a wrong one is voided. Operators and the tenant's partner's
/// administrators.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/billing/invoices/{invoice}/finalize", tag = "billing",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), ("invoice" = uuid::Uuid, Path, description = "Invoice id")),
    responses(
        (status = 200, description = "Finalized", body = InvoiceView),
        (status = 400, description = "Its period has not ended", body = Problem),
        (status = 403, description = "The caller is the tenant's member, not its operator or partner", body = Problem),
        (status = 404, description = "No such invoice for the caller", body = Problem),
        (status = 409, description = "Not a draft, or another invoice of the tenant changed meanwhile (try again)", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn finalize_invoice(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let (tenant, id) = ids(&path)?;
    let detail = state
        .manager
        .finalize_invoice(&identity, tenant, id)
        .await?;
    Ok(ok(&view(&detail)))
}

/// Void a draft or a finalized invoice, saying why; the row stays (with its number), and its
/// period may be invoiced again. One sent to the payment provider is withdrawn there first; a
/// paid one is not voided. Operators and the tenant's partner's administrators.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/billing/invoices/{invoice}/void", tag = "billing",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), ("invoice" = uuid::Uuid, Path, description = "Invoice id")),
    request_body = VoidInvoiceRequest,
    responses(
        (status = 200, description = "Voided", body = InvoiceView),
        (status = 400, description = "A missing or bad reason", body = Problem),
        (status = 403, description = "The caller is the tenant's member, not its operator or partner", body = Problem),
        (status = 404, description = "No such invoice for the caller", body = Problem),
        (status = 409, description = "Void already, or paid (correct a paid invoice with a credit on the next one)", body = Problem),
        (status = 503, description = "The payment provider failed to withdraw it; nothing changed: try again", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn void_invoice(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let (tenant, id) = ids(&path)?;
    let body: VoidInvoiceRequest = json(&req, payload).await?;
    let detail = state
        .manager
        .void_invoice(&identity, tenant, id, &body.reason)
        .await?;
    Ok(ok(&view(&detail)))
}
