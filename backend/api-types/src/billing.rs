//! The management API's bills: a period's calls per tenant and model with what they were
//! charged. Money travels as decimal strings, exact to nine decimal places.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// The sums of a set of calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BillFiguresView {
    pub requests: u64,
    /// Calls that ended in an error for their client.
    pub errors: u64,
    /// Calls answered from the gateway's response cache.
    pub cache_hits: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Prompt tokens read from the provider's cache (included in `prompt_tokens`).
    pub cached_tokens: u64,
    /// Prompt tokens written to the provider's cache (included in `prompt_tokens`).
    pub cache_write_tokens: u64,
    /// Completion tokens spent on reasoning (included in `completion_tokens`).
    pub reasoning_tokens: u64,
    /// What the calls are charged, in the statement's currency.
    #[cfg_attr(feature = "openapi", schema(example = "12.5"))]
    pub price: String,
    /// A partner's statement only: what the platform charges the partner for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wholesale: Option<String>,
    /// A partner's statement only: `price` less `wholesale`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin: Option<String>,
    /// Calls that used tokens of a model with no price: not in `price`.
    pub unpriced: u64,
}

/// One model's calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BillLineView {
    /// The model alias the calls named.
    pub model: String,
    pub figures: BillFiguresView,
}

/// A correction to a tenant's bill: only ever added, never changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdjustmentView {
    pub id: Uuid,
    /// `credit` or `adjustment`.
    pub kind: String,
    /// The effect on what is owed: negative for every credit.
    #[cfg_attr(feature = "openapi", schema(example = "-12.5"))]
    pub amount: String,
    pub reason: String,
    /// The email of whoever made it.
    pub author: String,
    #[serde(with = "time::serde::rfc3339")]
    pub effective_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A credit (money given back) or an adjustment (either way) to add to a tenant's bill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddAdjustmentRequest {
    /// `credit` or `adjustment`.
    pub kind: String,
    /// Decimal text, at most nine places: a credit's is positive (what is given back), an
    /// adjustment's signed (positive charges more).
    #[cfg_attr(feature = "openapi", schema(example = "12.5"))]
    pub amount: String,
    /// ISO 4217; when given, it must be the platform's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Why: shown on the bill, kept in the audit log.
    pub reason: String,
    /// The time it counts at (the period it corrects); default now, never in the future, at
    /// most 366 days back.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub effective_at: Option<OffsetDateTime>,
}

/// One tenant's calls in a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantBillView {
    pub tenant_id: Uuid,
    pub tenant: String,
    /// By model name.
    pub lines: Vec<BillLineView>,
    pub totals: BillFiguresView,
    /// Credits and adjustments effective in the period, oldest first.
    pub adjustments: Vec<AdjustmentView>,
    /// Their sum.
    pub adjusted: String,
    /// What the tenant owes for the period: `totals.price` and `adjusted`.
    pub due: String,
}

/// A period's bill: a tenant's, or a partner's with a part per sub-tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatementView {
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
    /// ISO 4217.
    pub currency: String,
    pub tenants: Vec<TenantBillView>,
    pub totals: BillFiguresView,
    /// Every part's corrections.
    pub adjusted: String,
    /// `totals.price` and `adjusted`.
    pub due: String,
}

/// A correction as an invoice shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvoiceCorrectionView {
    pub id: Uuid,
    /// `credit` or `adjustment`.
    pub kind: String,
    /// The effect on what is owed: negative for every credit.
    #[cfg_attr(feature = "openapi", schema(example = "-12.5"))]
    pub amount: String,
    pub reason: String,
    pub author: String,
    #[serde(with = "time::serde::rfc3339")]
    pub effective_at: OffsetDateTime,
}

/// The tax an invoice shows (when the platform is configured to show one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvoiceTaxView {
    /// `VAT`, `Sales tax`, …
    pub label: String,
    /// Percent, as decimal text.
    #[cfg_attr(feature = "openapi", schema(example = "20"))]
    pub percent: String,
    pub amount: String,
}

/// How a finalized invoice is being collected by the payment provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvoicePaymentView {
    /// `sending` (being sent to the provider), `open` (awaiting payment), `failed` (a payment
    /// attempt failed; still awaiting payment), `paid`, `void`, `prepaid` (not sent: the tenant
    /// pays in advance) or `partner` (a partner's sub-tenant: the platform collects from the
    /// partner, the partner from the sub-tenant).
    pub status: String,
    /// Where the invoice is paid, at the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay_url: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub due_at: Option<OffsetDateTime>,
    /// From then on, while it is unpaid, the tenant's calls are refused.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub suspend_at: Option<OffsetDateTime>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub paid_at: Option<OffsetDateTime>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub failed_at: Option<OffsetDateTime>,
}

/// What a payment provider's notice did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentNoticeView {
    /// `invoice` (an invoice paid or failed), `top_up` (prepaid credit topped up) or `ignored`
    /// (not about anything this installation sent).
    pub outcome: String,
    /// Whether anything changed: a notice sent again changes nothing.
    pub changed: bool,
}

/// An invoice in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvoiceSummaryView {
    pub id: Uuid,
    /// Given when finalized, from one sequence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<i64>,
    /// `draft`, `finalized` or `void`.
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
    /// The frozen total; absent for a draft, whose total moves with the ledger until it is
    /// finalized (open it to see it now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub finalized_at: Option<OffsetDateTime>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub voided_at: Option<OffsetDateTime>,
    /// Its collection by the payment provider; absent until it is sent (or when payments are
    /// not configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<InvoicePaymentView>,
    /// A partner's sub-tenant's finalized invoice: what the platform charges the partner for
    /// it (wholesale, the partner's `partner_charge.total`). Shown only to those who write the
    /// tenant's bills (operators, the partner's administrators).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_total: Option<String>,
}

/// A tenant's invoices, latest period first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvoiceListView {
    /// ISO 4217: the totals' currency.
    pub currency: String,
    pub invoices: Vec<InvoiceSummaryView>,
}

/// An invoice with what it bills: frozen once finalized, as the ledger holds it now while a
/// draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvoiceView {
    pub id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<i64>,
    /// `draft`, `finalized` or `void`.
    pub status: String,
    pub tenant_id: Uuid,
    pub tenant: String,
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
    /// ISO 4217.
    pub currency: String,
    /// By model name.
    pub lines: Vec<BillLineView>,
    /// Corrections effective in the period, oldest first.
    pub corrections: Vec<InvoiceCorrectionView>,
    /// The lines' prices.
    pub subtotal: String,
    /// The corrections' sum.
    pub adjusted: String,
    /// Usage and corrections of earlier invoices' periods recorded after those were finalized
    /// (a record replayed late, a correction dated back): billed here, once.
    pub carried: String,
    /// Absent when taxes are left to the payment provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax: Option<InvoiceTaxView>,
    /// `subtotal`, `adjusted`, `carried` and `tax`.
    pub total: String,
    /// The email of whoever drafted it.
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub finalized_at: Option<OffsetDateTime>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub voided_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub void_reason: Option<String>,
    /// Its collection by the payment provider; absent until it is sent (or when payments are
    /// not configured). For a partner's sub-tenant, those who write its bills see how the
    /// partner pays `partner_charge`; the sub-tenant sees `partner`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<InvoicePaymentView>,
    /// A partner's sub-tenant's invoice: what the platform charges the partner for it. Shown
    /// only to those who write the tenant's bills (operators, the partner's administrators).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_charge: Option<PartnerChargeView>,
}

/// One model's calls at the partner's wholesale price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartnerChargeLineView {
    pub model: String,
    pub requests: u64,
    /// The calls' wholesale price.
    pub amount: String,
}

/// What the platform charges a partner for its sub-tenant's invoice: the invoice's calls at
/// the partner's wholesale price, what earlier invoices left unbilled at wholesale, and the
/// tax. The sub-tenant's corrections are between it and its partner: not here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartnerChargeView {
    /// By model name.
    pub lines: Vec<PartnerChargeLineView>,
    pub subtotal: String,
    pub carried: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax: Option<InvoiceTaxView>,
    /// `subtotal`, `carried` and `tax`: what the partner pays.
    pub total: String,
}

/// A sub-tenant's invoice in its partner's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartnerInvoiceView {
    pub tenant_id: Uuid,
    pub tenant: String,
    /// `total` is what the sub-tenant is billed; `partner_total` what the partner pays, and
    /// `payment` how that payment stands.
    pub invoice: InvoiceSummaryView,
}

/// What the platform bills a partner for its sub-tenants: their invoices, latest period
/// first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartnerInvoiceListView {
    /// ISO 4217: the totals' currency.
    pub currency: String,
    pub invoices: Vec<PartnerInvoiceView>,
}

/// The period to invoice: whole minutes, at most 366 days, started already; default the
/// tenant's last billing period that has ended (the last calendar month, UTC, unless the
/// platform anchors periods at each tenant's sign-up day).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DraftInvoiceRequest {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub from: Option<OffsetDateTime>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub to: Option<OffsetDateTime>,
}

/// Why an invoice is voided: kept on it and in the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VoidInvoiceRequest {
    /// 1 to 500 printable characters.
    pub reason: String,
}

/// Money added to a tenant's prepaid credit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TopUpView {
    pub id: Uuid,
    #[cfg_attr(feature = "openapi", schema(example = "100"))]
    pub amount: String,
    /// What makes it count once (a payment's id, a receipt number).
    pub reference: String,
    pub reason: String,
    /// The email of whoever added it.
    pub author: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A tenant's prepaid credit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreditView {
    /// Whether the tenant is on prepaid credit (otherwise it is billed afterwards).
    pub prepaid: bool,
    /// Whether calls its balance cannot cover are refused (429 `insufficient_quota`).
    pub stop_at_zero: bool,
    /// ISO 4217.
    pub currency: String,
    /// Top-ups less what calls were charged and the bill's corrections, until now (negative
    /// when overdrawn).
    #[cfg_attr(feature = "openapi", schema(example = "42.5"))]
    pub balance: String,
    /// The newest 50, newest first.
    pub top_ups: Vec<TopUpView>,
    /// Whether the tenant's members may buy credit by card here (`POST …/credit/checkout`):
    /// card payments are configured, the tenant is on prepaid credit and is not a partner's
    /// sub-tenant (whose partner keeps its credit).
    #[serde(default)]
    pub can_pay: bool,
}

/// Prepaid credit to buy by card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreditCheckoutRequest {
    /// Decimal text in whole cents (at most two places), from 0.50 to 999999.99.
    #[cfg_attr(feature = "openapi", schema(example = "25"))]
    pub amount: String,
    /// ISO 4217; when given, it must be the platform's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// The payment provider's checkout page: send the payer there. Paid, it tops the credit up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreditCheckoutView {
    pub url: String,
    /// After then the page no longer takes the payment: open another.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub expires_at: Option<OffsetDateTime>,
}

/// Put a tenant on prepaid credit, or change whether its calls stop at zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreditSettingsRequest {
    pub stop_at_zero: bool,
}

/// Money to add to a tenant's prepaid credit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddTopUpRequest {
    /// Decimal text, positive, at most nine places.
    #[cfg_attr(feature = "openapi", schema(example = "100"))]
    pub amount: String,
    /// ISO 4217; when given, it must be the platform's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// 1 to 200 letters, digits and `-_.:/#`: a top-up sent again with the same reference
    /// adds nothing. Default: a new one each time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Kept with it and in the audit log.
    pub reason: String,
}

/// A top-up and whether this request added it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TopUpResult {
    /// `false` when its reference was seen before: nothing was added, and this is the first.
    pub added: bool,
    pub top_up: TopUpView,
}
