//! `/api/v1/billing/stripe/webhook`: the payment provider's notices (invoices paid or failed,
//! prepaid top-ups paid). No session: a notice is believed only when its `Stripe-Signature`
//! matches the configured webhook secret and its timestamp is recent.

use actix_web::web::{self, Payload};
use actix_web::{HttpRequest, HttpResponse};
use api_types::billing::PaymentNoticeView;
use api_types::manage::Problem;
use management::payments::NoticeOutcome;

use super::{ApiProblem, ok};
use crate::AppState;

/// Largest notice: Stripe's events are a few kilobytes to a few hundred.
const NOTICE_LIMIT: usize = 1024 * 1024;

/// Stripe's webhook: `invoice.paid` and `invoice.payment_succeeded` mark the invoice paid
/// (and lift a suspension for non-payment), `invoice.payment_failed` marks it failed, and
/// `payment_intent.succeeded` with `metadata[sluice_tenant_id]` tops up that tenant's prepaid
/// credit once per payment. Other events are acknowledged and ignored. A notice sent again
/// changes nothing.
#[utoipa::path(post, path = "/api/v1/billing/stripe/webhook", tag = "billing",
    params(("stripe-signature" = String, Header, description = "`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"t.body\">`")),
    request_body(content = String, description = "A Stripe event, as Stripe sent it", content_type = "application/json"),
    responses(
        (status = 200, description = "Accepted", body = PaymentNoticeView),
        (status = 400, description = "A missing or wrong signature, a timestamp over five minutes from now, or an event that cannot be read (the field is named)", body = Problem),
        (status = 413, description = "Over 1 MiB", body = Problem),
        (status = 404, description = "Payments are not configured", body = Problem),
    ))]
pub(crate) async fn stripe_webhook(
    req: HttpRequest,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let body = crate::body::read_json_body(&req, payload, NOTICE_LIMIT).await?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| management::Error::invalid("body", "the notice is not UTF-8"))?;
    let signature = req
        .headers()
        .get("stripe-signature")
        .and_then(|it| it.to_str().ok());
    let outcome = state.manager.payment_notice(text, signature).await?;
    let (outcome, changed) = match outcome {
        NoticeOutcome::Invoice { changed, .. } => ("invoice", changed),
        NoticeOutcome::TopUp { added, .. } => ("top_up", added),
        NoticeOutcome::Ignored => ("ignored", false),
    };
    Ok(ok(&PaymentNoticeView {
        outcome: outcome.to_owned(),
        changed,
    }))
}
