//! How invoices read: a row per invoice in the list (number, period, status, frozen total), an
//! invoice's title, its lines and corrections, and the sums down to its total.

use api_types::billing::{InvoiceListView, InvoiceSummaryView, InvoiceView};
use time::OffsetDateTime;

use super::bill_figures::{AdjustmentRow, LineRow, line_row, money};
use super::billing_period::BillingPeriod;
use super::errors::FieldErrors;

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
    use api_types::billing::{InvoiceTaxView, InvoiceView};
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
            }],
        };
        let rows = rows(&list);
        assert_eq!(rows[0].title, "Draft invoice");
        assert_eq!(rows[0].total, "open it to see it now");
    }
}
