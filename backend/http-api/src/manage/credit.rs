//! `/api/v1/tenants/{tenant}/billing/credit*`: a tenant's prepaid credit, read by those who may
//! see its billing, set and topped up by whoever writes its bill (operators, its partner).

use actix_web::web::{self, Payload};
use actix_web::{HttpRequest, HttpResponse};
use api_types::billing::{
    AddTopUpRequest, CreditCheckoutRequest, CreditCheckoutView, CreditSettingsRequest, CreditView,
    TopUpResult, TopUpView,
};
use api_types::manage::Problem;
use domain::credit::TopUp;
use management::credit::{CheckoutDraft, CreditDetail, TopUpDraft};

use super::caller::caller;
use super::{ApiProblem, created, json, ok, tenant_id};
use crate::AppState;

fn top_up_view(top_up: &TopUp) -> TopUpView {
    TopUpView {
        id: top_up.id.0,
        amount: top_up.amount.to_string(),
        reference: top_up.reference.clone(),
        reason: top_up.reason.clone(),
        author: top_up.author.clone(),
        created_at: top_up.created_at,
    }
}

fn view(state: &AppState, detail: &CreditDetail) -> CreditView {
    CreditView {
        prepaid: detail.account.is_some(),
        stop_at_zero: detail.account.as_ref().is_some_and(|it| it.stop_at_zero),
        currency: state.manager.config().prices.currency.to_string(),
        balance: detail.balance.to_string(),
        top_ups: detail.top_ups.iter().map(top_up_view).collect(),
        can_pay: detail.can_pay,
    }
}

/// The tenant's prepaid credit: whether it is on it, whether calls stop at zero, the balance
/// now and the latest top-ups. Owners, admins and finance.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/billing/credit", tag = "billing",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    responses(
        (status = 200, description = "The credit", body = CreditView),
        (status = 403, description = "The caller's role may not see billing", body = Problem),
        (status = 404, description = "No such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn get_credit(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path)?;
    let detail = state.manager.credit(&identity, tenant).await?;
    Ok(ok(&view(&state, &detail)))
}

/// Put the tenant on prepaid credit, or change whether its calls stop at zero (then a call
/// whose most possible price its balance cannot cover is refused with 429
/// `insufficient_quota`). Operators and the tenant's partner's administrators.
#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/billing/credit", tag = "billing",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    request_body = CreditSettingsRequest,
    responses(
        (status = 200, description = "The credit", body = CreditView),
        (status = 403, description = "The caller is the tenant's member, not its operator or partner", body = Problem),
        (status = 404, description = "No such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn put_credit(
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path)?;
    let body: CreditSettingsRequest = json(&req, payload).await?;
    let detail = state
        .manager
        .set_prepaid(&identity, tenant, body.stop_at_zero)
        .await?;
    Ok(ok(&view(&state, &detail)))
}

/// Add money to the tenant's prepaid credit; sent again with the same `reference` it adds
/// nothing (200 with the first). Operators and the tenant's partner's administrators.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/billing/credit/top-ups", tag = "billing",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    request_body = AddTopUpRequest,
    responses(
        (status = 201, description = "Added", body = TopUpResult),
        (status = 200, description = "Its reference was seen before: nothing added", body = TopUpResult),
        (status = 400, description = "A bad amount, currency, reference or reason, by field", body = Problem),
        (status = 403, description = "The caller is the tenant's member, not its operator or partner", body = Problem),
        (status = 404, description = "No such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn add_top_up(
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path)?;
    let body: AddTopUpRequest = json(&req, payload).await?;
    let (top_up, added) = state
        .manager
        .add_top_up(
            &identity,
            tenant,
            TopUpDraft {
                amount: body.amount,
                currency: body.currency,
                reference: body.reference,
                reason: body.reason,
            },
        )
        .await?;
    let result = TopUpResult {
        added,
        top_up: top_up_view(&top_up),
    };
    Ok(if added { created(&result) } else { ok(&result) })
}

/// Buy prepaid credit by card: opens the payment provider's checkout page for `amount` and
/// answers where it is. Once paid, the provider's signed notice tops the credit up (once per
/// payment) and the payer returns to the portal's Billing page. Owners, admins and finance of a
/// tenant on prepaid credit that is not a partner's sub-tenant (its partner keeps its credit).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/billing/credit/checkout", tag = "billing",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id")),
    request_body = CreditCheckoutRequest,
    responses(
        (status = 201, description = "The checkout page to send the payer to", body = CreditCheckoutView),
        (status = 400, description = "A bad amount or currency, by field", body = Problem),
        (status = 403, description = "The caller's role may not see billing", body = Problem),
        (status = 404, description = "No such tenant for the caller", body = Problem),
        (status = 409, description = "Card payments are not configured, or the tenant is billed afterwards or is a partner's sub-tenant", body = Problem),
        (status = 503, description = "The payment provider failed: try again", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn credit_checkout(
    req: HttpRequest,
    path: web::Path<String>,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path)?;
    let body: CreditCheckoutRequest = json(&req, payload).await?;
    let started = state
        .manager
        .credit_checkout(
            &identity,
            tenant,
            CheckoutDraft {
                amount: body.amount,
                currency: body.currency,
            },
        )
        .await?;
    Ok(created(&CreditCheckoutView {
        url: started.url,
        expires_at: started.expires_at,
    }))
}
