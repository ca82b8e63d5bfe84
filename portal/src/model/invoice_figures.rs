//! How invoices read: a row per invoice in the list (number, period, status, frozen total,
//! payment), an invoice's title, its lines and corrections, the sums down to its total, and how
//! its payment stands (and when to look at it again).

use std::time::Duration;

use api_types::billing::{
    InvoiceListView, InvoicePaymentView, InvoiceSummaryView, InvoiceView, PartnerInvoiceListView,
};
use time::OffsetDateTime;

use super::bill_figures::{AdjustmentRow, LineRow, line_row, money};
use super::billing_period::BillingPeriod;
use super::errors::FieldErrors;
use super::format;

/// How long after finalizing an invoice without a payment yet the portal expects it to be sent
/// (the server sends finalized invoices every few seconds when payments are configured).
const SENDING_WINDOW: time::Duration = time::Duration::minutes(2);
/// How often an invoice being sent is looked at again.
const SENDING_REFRESH: Duration = Duration::from_secs(2);
/// How often an invoice awaiting payment is looked at again (it may be paid meanwhile).
const DUE_REFRESH: Duration = Duration::from_secs(10);

/// `November 2026` for a whole calendar month, else `2026-11-03 to 2026-11-20` (the end
/// excluded, so the last day shown is the one before it).
pub fn period_label(from: OffsetDateTime, to: OffsetDateTime) -> String {
    let month = BillingPeriod::containing(from);
    if month.start() == from && month.next().start() == to {
        return month.label();
    }
    let last = (to - time::Duration::nanoseconds(1)).date();
    format!("{} to {}", from.date(), last)
}

/// `Draft`, `Finalized` or `Void`.
pub fn status_label(status: &str) -> &'static str {
    match status {
        "finalized" => "Finalized",
        "void" => "Void",
        _ => "Draft",
    }
}

/// `Invoice 42`, `Invoice 42 (void)`, or `Draft invoice`.
pub fn title(number: Option<i64>, status: &str) -> String {
    match (number, status) {
        (Some(n), "void") => format!("Invoice {n} (void)"),
        (Some(n), _) => format!("Invoice {n}"),
        (None, "void") => "Draft invoice (void)".to_owned(),
        (None, _) => "Draft invoice".to_owned(),
    }
}

/// One invoice as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceRow {
    pub id: uuid::Uuid,
    pub title: String,
    pub period: String,
    pub status: &'static str,
    /// The frozen total, or what a draft's is: it moves until finalized.
    pub total: String,
    /// How its payment stands, `—` while there is none.
    pub payment: String,
    /// The payment's status as the API names it, for styling.
    pub payment_status: Option<String>,
}

fn row(invoice: &InvoiceSummaryView, currency: &str) -> InvoiceRow {
    InvoiceRow {
        id: invoice.id,
        title: title(invoice.number, &invoice.status),
        period: period_label(invoice.from, invoice.to),
        status: status_label(&invoice.status),
        total: invoice.total.as_deref().map_or_else(
            || "open it to see it now".to_owned(),
            |it| money(it, currency),
        ),
        payment: invoice
            .payment
            .as_ref()
            .map_or_else(|| "—".to_owned(), |it| payment_label(&it.status)),
        payment_status: invoice.payment.as_ref().map(|it| it.status.clone()),
    }
}

/// The list's rows, latest period first (the API's order).
pub fn rows(list: &InvoiceListView) -> Vec<InvoiceRow> {
    list.invoices
        .iter()
        .map(|it| row(it, &list.currency))
        .collect()
}

/// The invoice's lines, by model.
pub fn lines(invoice: &InvoiceView) -> Vec<LineRow> {
    invoice
        .lines
        .iter()
        .map(|it| line_row(it, &invoice.currency))
        .collect()
}

/// The invoice's corrections, oldest first.
pub fn corrections(invoice: &InvoiceView) -> Vec<AdjustmentRow> {
    invoice
        .corrections
        .iter()
        .map(|it| AdjustmentRow {
            date: it.effective_at.date().to_string(),
            kind: if it.kind == "credit" {
                "Credit"
            } else {
                "Adjustment"
            },
            reason: it.reason.clone(),
            author: it.author.clone(),
            amount: money(&it.amount, &invoice.currency),
        })
        .collect()
}

/// The sums from the calls down to the total: late usage and tax only when there are some.
pub fn sums(invoice: &InvoiceView) -> Vec<(String, String)> {
    let currency = &invoice.currency;
    let mut sums = vec![
        ("Calls".to_owned(), money(&invoice.subtotal, currency)),
        ("Corrections".to_owned(), money(&invoice.adjusted, currency)),
    ];
    if invoice.carried != "0" {
        sums.push((
            "Recorded late for earlier invoices".to_owned(),
            money(&invoice.carried, currency),
        ));
    }
    if let Some(tax) = &invoice.tax {
        sums.push((
            format!("{} ({} %)", tax.label, tax.percent),
            money(&tax.amount, currency),
        ));
    }
    sums.push(("Total".to_owned(), money(&invoice.total, currency)));
    sums
}

/// What the platform charges the tenant's partner for the invoice, as its card shows it (to
/// the partner and operators only: the API answers it to no one else).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerCharge {
    /// Model, requests, wholesale price.
    pub lines: Vec<(String, u64, String)>,
    /// From the calls down to what the partner pays.
    pub sums: Vec<(String, String)>,
}

/// The invoice's partner charge, when it has one.
pub fn partner_charge(invoice: &InvoiceView) -> Option<PartnerCharge> {
    let charge = invoice.partner_charge.as_ref()?;
    let currency = &invoice.currency;
    let mut sums = vec![(
        "Calls at wholesale".to_owned(),
        money(&charge.subtotal, currency),
    )];
    if charge.carried != "0" {
        sums.push((
            "Recorded late for earlier invoices".to_owned(),
            money(&charge.carried, currency),
        ));
    }
    if let Some(tax) = &charge.tax {
        sums.push((
            format!("{} ({} %)", tax.label, tax.percent),
            money(&tax.amount, currency),
        ));
    }
    sums.push((
        "The partner pays".to_owned(),
        money(&charge.total, currency),
    ));
    Some(PartnerCharge {
        lines: charge
            .lines
            .iter()
            .map(|it| (it.model.clone(), it.requests, money(&it.amount, currency)))
            .collect(),
        sums,
    })
}

/// A sub-tenant's invoice in its partner's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerInvoiceRow {
    pub tenant: String,
    pub invoice: InvoiceRow,
    /// What the partner pays for it (`—` for a draft, or one finalized before partners were
    /// billed).
    pub charge: String,
    /// Where the partner pays it, while it is due.
    pub pay_url: Option<String>,
}

/// The partner's list, latest period first (the API's order).
pub fn partner_rows(list: &PartnerInvoiceListView) -> Vec<PartnerInvoiceRow> {
    list.invoices
        .iter()
        .map(|it| PartnerInvoiceRow {
            tenant: it.tenant.clone(),
            invoice: row(&it.invoice, &list.currency),
            charge: it
                .invoice
                .partner_total
                .as_deref()
                .map_or_else(|| "—".to_owned(), |it| money(it, &list.currency)),
            pay_url: it.invoice.payment.as_ref().and_then(pay_link),
        })
        .collect()
}

/// `Awaiting payment`, `Paid`, …: how the payment provider's collection of an invoice stands.
/// A status this portal does not know yet reads as the API names it.
pub fn payment_label(status: &str) -> String {
    match status {
        "sending" => "Sending to Stripe",
        "open" => "Awaiting payment",
        "failed" => "Payment failed",
        "paid" => "Paid",
        "void" => "Withdrawn",
        "prepaid" => "Prepaid (not charged)",
        "partner" => "Billed by your partner",
        other => other,
    }
    .to_owned()
}

/// Where the invoice is paid, while it is due and the provider gave a web address.
fn pay_link(payment: &InvoicePaymentView) -> Option<String> {
    payment.pay_url.clone().filter(|url| {
        is_due(&payment.status) && (url.starts_with("https://") || url.starts_with("http://"))
    })
}

/// Whether the tenant still owes the invoice: sent and not paid (a failed attempt included).
fn is_due(status: &str) -> bool {
    matches!(status, "open" | "failed")
}

/// An invoice's payment as its card shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentFigures {
    /// The status as the API names it, for styling.
    pub status: String,
    pub label: String,
    /// Its dates, labelled: due, paid, failed (those it has).
    pub dates: Vec<(&'static str, String)>,
    /// When calls are (or will be) refused while it is unpaid, in a sentence.
    pub suspension: Option<String>,
    /// Whether calls are refused now because it is unpaid.
    pub suspended: bool,
    /// Where to pay it: only while it is due, and only a web address.
    pub pay_url: Option<String>,
}

/// How `payment` stands as of `now`.
pub fn payment(payment: &InvoicePaymentView, now: OffsetDateTime) -> PaymentFigures {
    let due = is_due(&payment.status);
    let dates = [
        ("Due", payment.due_at.map(format::date)),
        ("Paid", payment.paid_at.map(format::datetime)),
        ("Payment failed", payment.failed_at.map(format::datetime)),
    ]
    .into_iter()
    .filter_map(|(label, at)| at.map(|at| (label, at)))
    .collect();
    let suspend_at = payment.suspend_at.filter(|_| due);
    let suspended = suspend_at.is_some_and(|at| at <= now);
    let suspension = suspend_at.map(|at| {
        if suspended {
            format!(
                "Calls are suspended since {}: they resume once this invoice is paid.",
                format::datetime(at)
            )
        } else {
            format!(
                "Unless it is paid, calls will be suspended from {}.",
                format::datetime(at)
            )
        }
    });
    let pay_url = pay_link(payment);
    PaymentFigures {
        status: payment.status.clone(),
        label: payment_label(&payment.status),
        dates,
        suspension,
        suspended,
        pay_url,
    }
}

/// When to look at a shown invoice again, as of `now`, because its payment may change without
/// anyone here acting: soon while it is being sent (or was just finalized and not sent yet),
/// now and then while it awaits payment, never otherwise.
pub fn payment_refresh(invoice: &InvoiceView, now: OffsetDateTime) -> Option<Duration> {
    if invoice.status != "finalized" {
        return None;
    }
    match invoice.payment.as_ref().map(|it| it.status.as_str()) {
        Some("sending") => Some(SENDING_REFRESH),
        Some(status) if is_due(status) => Some(DUE_REFRESH),
        Some(_) => None,
        None => invoice
            .finalized_at
            .is_some_and(|at| now - at < SENDING_WINDOW)
            .then_some(SENDING_REFRESH),
    }
}

/// Whether the invoice may be voided: not once paid (a credit on the next one corrects it).
pub fn may_void(invoice: &InvoiceView) -> bool {
    invoice.status != "void"
        && invoice
            .payment
            .as_ref()
            .is_none_or(|it| it.status != "paid")
}

/// A reason for voiding as the API will take it, or what is wrong with it under `reason`.
pub fn void_reason(text: &str) -> Result<String, FieldErrors> {
    let mut errors = FieldErrors::new();
    let reason = super::validate::reason(text).unwrap_or_else(|message| {
        errors.add("reason", message);
        String::new()
    });
    errors.into_result(reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use api_types::billing::{InvoicePaymentView, InvoiceTaxView, InvoiceView};
    use time::macros::datetime;
    use uuid::Uuid;

    fn invoice(carried: &str, tax: bool) -> InvoiceView {
        InvoiceView {
            id: Uuid::nil(),
            number: Some(7),
            status: "finalized".into(),
            tenant_id: Uuid::nil(),
            tenant: "Acme".into(),
            from: datetime!(2026-11-01 0:00 UTC),
            to: datetime!(2026-12-01 0:00 UTC),
            currency: "USD".into(),
            lines: vec![],
            corrections: vec![],
            subtotal: "10".into(),
            adjusted: "-1".into(),
            carried: carried.into(),
            tax: tax.then(|| InvoiceTaxView {
                label: "VAT".into(),
                percent: "20".into(),
                amount: "1.8".into(),
            }),
            total: "10.8".into(),
            created_by: "ops@example.com".into(),
            created_at: datetime!(2026-12-01 0:00 UTC),
            finalized_at: None,
            voided_at: None,
            void_reason: None,
            payment: None,
            partner_charge: None,
        }
    }

    #[test]
    fn a_partner_charge_reads_down_to_what_the_partner_pays() {
        let mut shown = invoice("0", false);
        assert_eq!(partner_charge(&shown), None);
        shown.partner_charge = Some(api_types::billing::PartnerChargeView {
            lines: vec![api_types::billing::PartnerChargeLineView {
                model: "gpt-4o".into(),
                requests: 3,
                amount: "6".into(),
            }],
            subtotal: "6".into(),
            carried: "0.5".into(),
            tax: None,
            total: "6.5".into(),
        });
        let charge = partner_charge(&shown).unwrap();
        assert_eq!(charge.lines, vec![("gpt-4o".into(), 3, money("6", "USD"))]);
        assert_eq!(
            charge.sums.last().unwrap(),
            &("The partner pays".to_owned(), money("6.5", "USD"))
        );
        assert_eq!(charge.sums.len(), 3);
    }

    #[test]
    fn a_partners_list_shows_its_charge_and_a_pay_link_only_while_due() {
        let summary = |status: &str, partner_total: Option<&str>| InvoiceSummaryView {
            id: Uuid::nil(),
            number: Some(3),
            status: "finalized".into(),
            from: datetime!(2026-11-01 0:00 UTC),
            to: datetime!(2026-12-01 0:00 UTC),
            total: Some("10".into()),
            created_at: datetime!(2026-12-01 0:00 UTC),
            finalized_at: None,
            voided_at: None,
            payment: Some(collection(status)),
            partner_total: partner_total.map(str::to_owned),
        };
        let list = PartnerInvoiceListView {
            currency: "USD".into(),
            invoices: vec![
                api_types::billing::PartnerInvoiceView {
                    tenant_id: Uuid::nil(),
                    tenant: "Customer One".into(),
                    invoice: summary("open", Some("7")),
                },
                api_types::billing::PartnerInvoiceView {
                    tenant_id: Uuid::nil(),
                    tenant: "Customer Two".into(),
                    invoice: summary("paid", None),
                },
            ],
        };
        let rows = partner_rows(&list);
        assert_eq!(rows[0].charge, money("7", "USD"));
        assert!(rows[0].pay_url.is_some());
        assert_eq!(rows[1].charge, "—");
        assert_eq!(rows[1].pay_url, None);
        assert_eq!(rows[1].invoice.payment, "Paid");
    }

    fn collection(status: &str) -> InvoicePaymentView {
        InvoicePaymentView {
            status: status.into(),
            pay_url: Some("https://invoice.stripe.com/i/acct_1/in_1".into()),
            due_at: Some(datetime!(2026-12-31 10:00 UTC)),
            suspend_at: Some(datetime!(2027-01-14 10:00 UTC)),
            paid_at: None,
            failed_at: None,
        }
    }

    #[test]
    fn periods_read_as_months_or_as_days() {
        assert_eq!(
            period_label(
                datetime!(2026-11-01 0:00 UTC),
                datetime!(2026-12-01 0:00 UTC)
            ),
            "November 2026"
        );
        assert_eq!(
            period_label(
                datetime!(2026-11-03 0:00 UTC),
                datetime!(2026-11-21 0:00 UTC)
            ),
            "2026-11-03 to 2026-11-20"
        );
    }

    #[test]
    fn a_void_reason_is_checked_as_the_api_checks_it() {
        assert_eq!(
            void_reason("  wrong rate card ").unwrap(),
            "wrong rate card"
        );
        for bad in ["", "   ", "tab\tinside", &"x".repeat(501)] {
            let errors = void_reason(bad).unwrap_err();
            assert!(errors.get("reason").is_some(), "{bad:?}");
        }
        assert!(
            void_reason(&"ü".repeat(500)).is_ok(),
            "characters, not bytes"
        );
    }

    #[test]
    fn titles_say_draft_and_void() {
        assert_eq!(title(None, "draft"), "Draft invoice");
        assert_eq!(title(Some(3), "finalized"), "Invoice 3");
        assert_eq!(title(Some(3), "void"), "Invoice 3 (void)");
        assert_eq!(status_label("void"), "Void");
    }

    #[test]
    fn sums_show_late_usage_and_tax_only_when_there_are_some() {
        let labels = |it: &InvoiceView| sums(it).into_iter().map(|(l, _)| l).collect::<Vec<_>>();
        assert_eq!(
            labels(&invoice("0", false)),
            ["Calls", "Corrections", "Total"]
        );
        assert_eq!(
            labels(&invoice("0.5", true)),
            [
                "Calls",
                "Corrections",
                "Recorded late for earlier invoices",
                "VAT (20 %)",
                "Total"
            ]
        );
        assert_eq!(sums(&invoice("0", false))[2].1, "10.8 USD");
    }

    #[test]
    fn a_drafts_total_is_not_shown_in_the_list() {
        let list = InvoiceListView {
            currency: "USD".into(),
            invoices: vec![InvoiceSummaryView {
                id: Uuid::nil(),
                number: None,
                status: "draft".into(),
                from: datetime!(2026-11-01 0:00 UTC),
                to: datetime!(2026-12-01 0:00 UTC),
                total: None,
                created_at: datetime!(2026-12-01 0:00 UTC),
                finalized_at: None,
                voided_at: None,
                payment: None,
                partner_total: None,
            }],
        };
        let rows = rows(&list);
        assert_eq!(rows[0].title, "Draft invoice");
        assert_eq!(rows[0].total, "open it to see it now");
        assert_eq!(rows[0].payment, "—", "a draft is not sent");
        assert_eq!(rows[0].payment_status, None);
    }

    #[test]
    fn the_list_says_how_each_invoice_is_paid() {
        let summary = |payment: Option<InvoicePaymentView>| InvoiceSummaryView {
            id: Uuid::nil(),
            number: Some(4),
            status: "finalized".into(),
            from: datetime!(2026-11-01 0:00 UTC),
            to: datetime!(2026-12-01 0:00 UTC),
            total: Some("12.5".into()),
            created_at: datetime!(2026-12-01 0:00 UTC),
            finalized_at: Some(datetime!(2026-12-01 0:00 UTC)),
            voided_at: None,
            payment,
            partner_total: None,
        };
        let list = InvoiceListView {
            currency: "USD".into(),
            invoices: vec![
                summary(Some(collection("open"))),
                summary(Some(collection("prepaid"))),
                summary(None),
            ],
        };
        let payments: Vec<_> = rows(&list).into_iter().map(|it| it.payment).collect();
        assert_eq!(payments, ["Awaiting payment", "Prepaid (not charged)", "—"]);
        assert_eq!(rows(&list)[0].payment_status.as_deref(), Some("open"));
    }

    #[test]
    fn every_payment_status_has_words() {
        for (status, label) in [
            ("sending", "Sending to Stripe"),
            ("open", "Awaiting payment"),
            ("failed", "Payment failed"),
            ("paid", "Paid"),
            ("void", "Withdrawn"),
            ("prepaid", "Prepaid (not charged)"),
            ("partner", "Billed by your partner"),
            ("refunded", "refunded"),
        ] {
            assert_eq!(payment_label(status), label);
        }
    }

    #[test]
    fn an_open_invoice_says_when_it_is_due_and_when_calls_stop() {
        let before = payment(&collection("open"), datetime!(2026-12-20 0:00 UTC));
        assert_eq!(before.label, "Awaiting payment");
        assert_eq!(before.dates, [("Due", "2026-12-31".to_owned())]);
        assert_eq!(
            before.suspension.as_deref(),
            Some("Unless it is paid, calls will be suspended from 2027-01-14 10:00 UTC.")
        );
        assert!(!before.suspended);
        assert_eq!(
            before.pay_url.as_deref(),
            Some("https://invoice.stripe.com/i/acct_1/in_1")
        );

        let mut failed = collection("failed");
        failed.failed_at = Some(datetime!(2027-01-02 8:30 UTC));
        let after = payment(&failed, datetime!(2027-01-14 10:00 UTC));
        assert!(after.suspended, "from the instant itself");
        assert_eq!(
            after.suspension.as_deref(),
            Some(
                "Calls are suspended since 2027-01-14 10:00 UTC: they resume once this invoice is paid."
            )
        );
        assert_eq!(
            after.dates[1],
            ("Payment failed", "2027-01-02 08:30 UTC".to_owned())
        );
        assert!(after.pay_url.is_some(), "still to pay");
    }

    #[test]
    fn a_settled_invoice_neither_suspends_nor_offers_to_pay() {
        let mut paid = collection("paid");
        paid.paid_at = Some(datetime!(2027-01-20 9:15 UTC));
        let shown = payment(&paid, datetime!(2027-02-01 0:00 UTC));
        assert_eq!(shown.label, "Paid");
        assert_eq!(shown.suspension, None, "past its suspension, but paid");
        assert!(!shown.suspended);
        assert_eq!(shown.pay_url, None);
        assert_eq!(
            shown.dates,
            [
                ("Due", "2026-12-31".to_owned()),
                ("Paid", "2027-01-20 09:15 UTC".to_owned())
            ]
        );
        let withdrawn = payment(&collection("void"), datetime!(2027-02-01 0:00 UTC));
        assert_eq!(
            (withdrawn.label.as_str(), withdrawn.suspended),
            ("Withdrawn", false)
        );
        assert_eq!(withdrawn.pay_url, None);
    }

    #[test]
    fn only_web_addresses_are_offered_to_pay() {
        for url in [
            "javascript:alert(1)",
            "data:text/html,x",
            "//evil.test/pay",
            "ftp://x",
            "",
        ] {
            let mut open = collection("open");
            open.pay_url = Some(url.into());
            assert_eq!(
                payment(&open, datetime!(2026-12-20 0:00 UTC)).pay_url,
                None,
                "{url}"
            );
        }
        let mut open = collection("open");
        open.pay_url = Some("http://127.0.0.1:9/i/in_1".into());
        assert!(
            payment(&open, datetime!(2026-12-20 0:00 UTC))
                .pay_url
                .is_some()
        );
    }

    #[test]
    fn a_shown_invoice_is_looked_at_again_while_its_payment_may_move() {
        let now = datetime!(2026-12-01 12:00 UTC);
        let mut it = invoice("0", false);
        it.finalized_at = Some(now - time::Duration::seconds(5));
        assert_eq!(
            payment_refresh(&it, now),
            Some(SENDING_REFRESH),
            "not sent yet"
        );
        assert_eq!(
            payment_refresh(&it, now + time::Duration::minutes(5)),
            None,
            "payments are not configured: never sent"
        );
        it.payment = Some(collection("sending"));
        assert_eq!(
            payment_refresh(&it, now + time::Duration::hours(1)),
            Some(SENDING_REFRESH)
        );
        it.payment = Some(collection("open"));
        assert_eq!(payment_refresh(&it, now), Some(DUE_REFRESH));
        for settled in ["paid", "void", "prepaid", "partner"] {
            it.payment = Some(collection(settled));
            assert_eq!(payment_refresh(&it, now), None, "{settled}");
        }
        it.payment = None;
        it.status = "draft".into();
        it.finalized_at = None;
        assert_eq!(payment_refresh(&it, now), None);
    }

    #[test]
    fn a_paid_invoice_is_not_voided() {
        let mut it = invoice("0", false);
        assert!(may_void(&it));
        it.payment = Some(collection("open"));
        assert!(may_void(&it), "withdrawn from the provider first");
        it.payment = Some(collection("paid"));
        assert!(!may_void(&it));
        it.payment = None;
        it.status = "void".into();
        assert!(!may_void(&it));
    }
}
