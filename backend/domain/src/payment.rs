//! Collecting a finalized invoice through a payment provider (Stripe): what the provider is
//! sent (one item per line, correction, carried amount and tax, in the currency's minor units,
//! with a rounding item so the provider's total is the invoice's to the minor unit), how far a
//! sync got (so a retried one resumes instead of starting again), and whether the invoice is
//! paid — which decides, past the grace period, whether the tenant's calls are refused.

use time::OffsetDateTime;

use crate::invoice::InvoiceContent;
use crate::pricing::Money;
use crate::{InvoiceId, PartnerId, TenantId};

/// The longest item description sent, in characters.
const MAX_DESCRIPTION: usize = 250;

/// Where an invoice is with the payment provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    /// Being sent: the provider may hold part of it (see `InvoicePayment`'s progress).
    Sending,
    /// Sent and finalized at the provider, awaiting payment.
    Open,
    /// A payment attempt failed; still awaiting payment.
    Failed,
    Paid,
    /// Voided at the provider with the invoice.
    Void,
    /// Not sent: the tenant pays in advance (prepaid credit), so the invoice is a statement.
    Prepaid,
    /// A partner's sub-tenant's invoice, as the sub-tenant sees it: the platform collects
    /// from the partner (at wholesale), the partner from its sub-tenant. Stored only for an
    /// invoice finalized before partners were billed (it has no wholesale part: not sent).
    Partner,
}

impl PaymentStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Sending => "sending",
            PaymentStatus::Open => "open",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Paid => "paid",
            PaymentStatus::Void => "void",
            PaymentStatus::Prepaid => "prepaid",
            PaymentStatus::Partner => "partner",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            PaymentStatus::Sending,
            PaymentStatus::Open,
            PaymentStatus::Failed,
            PaymentStatus::Paid,
            PaymentStatus::Void,
            PaymentStatus::Prepaid,
            PaymentStatus::Partner,
        ]
        .into_iter()
        .find(|it| it.as_str() == text)
    }

    /// Whether the tenant still owes it.
    pub const fn is_due(self) -> bool {
        matches!(self, PaymentStatus::Open | PaymentStatus::Failed)
    }
}

/// An invoice's collection: one per finalized invoice once payments are configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoicePayment {
    pub invoice_id: InvoiceId,
    pub tenant_id: TenantId,
    pub status: PaymentStatus,
    /// The provider's invoice, once created there.
    pub provider_invoice: Option<String>,
    /// How many of `payment_items` the provider holds: a retried sync sends the rest.
    pub items_sent: u32,
    /// The provider's page where the invoice is paid.
    pub hosted_url: Option<String>,
    pub due_at: Option<OffsetDateTime>,
    /// `due_at` plus the grace period: from then on, while unpaid, the tenant is refused.
    pub suspend_at: Option<OffsetDateTime>,
    pub paid_at: Option<OffsetDateTime>,
    pub failed_at: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
}

impl InvoicePayment {
    /// A collection that is about to be sent.
    pub fn sending(invoice_id: InvoiceId, tenant_id: TenantId, now: OffsetDateTime) -> Self {
        Self {
            invoice_id,
            tenant_id,
            status: PaymentStatus::Sending,
            provider_invoice: None,
            items_sent: 0,
            hosted_url: None,
            due_at: None,
            suspend_at: None,
            paid_at: None,
            failed_at: None,
            updated_at: now,
        }
    }
}

/// Who pays an invoice at the provider, and so whose customer it is sent to: the tenant, or,
/// for a partner's sub-tenant, the partner (one customer for all its sub-tenants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Payer {
    Tenant(TenantId),
    Partner(PartnerId),
}

impl InvoicePayment {
    /// The collection as a partner's sub-tenant sees it: `partner`, with nothing of the
    /// partner's own invoice (its link, its dates).
    #[must_use]
    pub fn as_sub_tenant_sees_it(&self) -> Self {
        Self {
            status: PaymentStatus::Partner,
            provider_invoice: None,
            hosted_url: None,
            due_at: None,
            suspend_at: None,
            paid_at: None,
            failed_at: None,
            ..self.clone()
        }
    }
}

/// One item of an invoice as the provider is sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentItem {
    pub description: String,
    /// In the currency's minor units (cents for USD), negative for a credit.
    pub amount: i64,
}

/// How many decimals the provider counts a currency in (ISO 4217 as Stripe applies it).
pub fn minor_unit_decimals(currency: &str) -> u32 {
    const NONE: [&str; 16] = [
        "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
        "XAF", "XOF", "XPF",
    ];
    const THREE: [&str; 5] = ["BHD", "JOD", "KWD", "OMR", "TND"];
    let code = currency.to_ascii_uppercase();
    if NONE.contains(&code.as_str()) {
        0
    } else if THREE.contains(&code.as_str()) {
        3
    } else {
        2
    }
}

/// `money` in the currency's minor units, rounded half away from zero.
pub fn to_minor(money: Money, currency: &str) -> i64 {
    let unit = 10_i64.pow(9 - minor_unit_decimals(currency));
    let nanos = money.nanos();
    let whole = nanos / unit;
    let rest = nanos % unit;
    if rest.abs() * 2 >= unit {
        whole + rest.signum()
    } else {
        whole
    }
}

/// An amount in the currency's minor units as money.
pub fn from_minor(amount: i64, currency: &str) -> Money {
    let unit = 10_i64.pow(9 - minor_unit_decimals(currency));
    Money::from_nanos(amount.saturating_mul(unit))
}

fn described(text: String) -> String {
    if text.chars().count() <= MAX_DESCRIPTION {
        text
    } else {
        text.chars()
            .take(MAX_DESCRIPTION - 1)
            .chain(['…'])
            .collect()
    }
}

/// What the provider is sent for a frozen invoice, in a fixed order (a retried sync resumes by
/// position): the priced lines, the corrections, what was carried, the tax, and a rounding
/// item when rounding each item to the minor unit does not add up to the rounded total.
/// Items of zero minor units are left out.
pub fn payment_items(content: &InvoiceContent) -> Vec<PaymentItem> {
    let currency = content.currency.as_str();
    let mut items = Vec::new();
    let mut push = |description: String, amount: Money| {
        let amount = to_minor(amount, currency);
        if amount != 0 {
            items.push(PaymentItem {
                description: described(description),
                amount,
            });
        }
    };
    for line in &content.lines {
        push(
            format!(
                "{}: {} calls, {} input and {} output tokens",
                line.model, line.requests, line.prompt_tokens, line.completion_tokens
            ),
            line.price,
        );
    }
    for correction in &content.corrections {
        push(
            format!("{}: {}", correction.kind, correction.reason),
            correction.amount,
        );
    }
    push(
        "Usage recorded after earlier invoices were finalized".to_owned(),
        content.carried,
    );
    if let Some(tax) = &content.tax {
        push(
            format!(
                "{} {}%",
                tax.label,
                crate::pricing::percent_of_basis_points(tax.basis_points)
            ),
            tax.amount,
        );
    }
    let sent: i64 = items.iter().map(|it| it.amount).sum();
    let rounding = to_minor(content.total, currency) - sent;
    if rounding != 0 {
        items.push(PaymentItem {
            description: "Rounding to the currency's smallest unit".to_owned(),
            amount: rounding,
        });
    }
    items
}

/// What a payment provider's notice says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentEvent {
    /// The provider's invoice was paid.
    InvoicePaid {
        provider_invoice: String,
        at: OffsetDateTime,
    },
    /// A payment attempt for the provider's invoice failed.
    InvoiceFailed {
        provider_invoice: String,
        at: OffsetDateTime,
    },
    /// A payment made to top up a tenant's prepaid credit (tagged with the tenant when it was
    /// set up); `reference` (the payment's id) makes it count once.
    TopUp {
        tenant: String,
        amount: i64,
        currency: String,
        reference: String,
    },
    /// Anything else: acknowledged, nothing changes.
    Ignored { kind: String },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AdjustmentId;
    use crate::invoice::{InvoiceContent, InvoiceCorrection, InvoiceLine, InvoiceTax};
    use crate::rollup::RollupFigures;

    fn money(text: &str) -> Money {
        Money::parse(text).unwrap()
    }

    #[test]
    fn minor_units_round_half_away_from_zero_per_currency() {
        assert_eq!(to_minor(money("1.005"), "usd"), 101);
        assert_eq!(to_minor(money("1.004999999"), "USD"), 100);
        assert_eq!(to_minor(money("-1.005"), "USD"), -101);
        assert_eq!(to_minor(money("1234.5"), "JPY"), 1235);
        assert_eq!(to_minor(money("1.2345"), "KWD"), 1235);
        assert_eq!(from_minor(101, "USD"), money("1.01"));
        assert_eq!(from_minor(7, "JPY"), money("7"));
    }

    #[test]
    fn items_add_up_to_the_rounded_total_and_skip_zero_amounts() {
        let mut line = InvoiceLine::new("gpt-4o".into(), &RollupFigures::default());
        line.price = money("0.004");
        let mut other = line.clone();
        other.model = "claude".into();
        let mut free = line.clone();
        free.model = "free".into();
        free.price = Money::ZERO;
        let content = InvoiceContent {
            currency: "USD".into(),
            lines: vec![line, other, free],
            corrections: vec![InvoiceCorrection {
                id: AdjustmentId::new(),
                kind: "credit".into(),
                amount: money("-0.50"),
                reason: "outage".into(),
                author: "ops@example.com".into(),
                effective_at: OffsetDateTime::UNIX_EPOCH,
            }],
            subtotal: money("0.008"),
            adjusted: money("-0.50"),
            carried: money("1"),
            tax: Some(InvoiceTax {
                label: "VAT".into(),
                basis_points: 2000,
                amount: money("0.1016"),
            }),
            total: money("0.6096"),
            wholesale: None,
        };
        let items = payment_items(&content);
        let amounts: Vec<i64> = items.iter().map(|it| it.amount).collect();
        // 0.004 rounds to 0 twice (left out), the rounding item brings the sum to 61 cents.
        assert_eq!(amounts, vec![-50, 100, 10, 1]);
        assert_eq!(amounts.iter().sum::<i64>(), 61);
        assert!(items[0].description.contains("outage"));
        assert_eq!(items[2].description, "VAT 20%");
    }

    #[test]
    fn statuses_round_trip_and_only_open_or_failed_are_due() {
        for status in [
            "sending", "open", "failed", "paid", "void", "prepaid", "partner",
        ] {
            let parsed = PaymentStatus::parse(status).unwrap();
            assert_eq!(parsed.as_str(), status);
            assert_eq!(parsed.is_due(), status == "open" || status == "failed");
        }
        assert_eq!(PaymentStatus::parse("PAID"), None);
    }
}
