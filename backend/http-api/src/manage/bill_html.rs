//! Statements and invoices as printable HTML pages: each one self-contained document (its style inline, a
//! print stylesheet, no script, nothing loaded from elsewhere), every text escaped. It names
//! no product, so a partner's customer never sees the platform's name on a bill.

use std::fmt::Write as _;

use domain::invoice::InvoiceStatus;
use domain::pricing::Money;
use domain::rollup::RollupFigures;
use management::billing::Statement;
use management::invoices::InvoiceDetail;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Text as HTML: the five characters that could end an element or an attribute escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;color:#111;margin:2rem auto;max-width:60rem;padding:0 1rem}\
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:2rem 0 .5rem}\
.muted{color:#555}table{border-collapse:collapse;width:100%;margin:.5rem 0}\
th,td{padding:.35rem .5rem;border-bottom:1px solid #ddd;text-align:left}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\
tfoot td{font-weight:600;border-top:2px solid #111}.due{font-size:1.2rem;font-weight:700;margin-top:1.5rem}\
@media print{body{margin:0;max-width:none;font-size:11pt}h2{break-after:avoid}tr{break-inside:avoid}a{color:inherit;text-decoration:none}}";

fn time(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

fn money(amount: Money, currency: &str) -> String {
    format!("{amount} {currency}")
}

fn row(out: &mut String, first: &str, sums: &RollupFigures, partner: bool, currency: &str) {
    let _ = write!(
        out,
        "<td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td>",
        escape(first),
        sums.requests,
        sums.prompt_tokens,
        sums.completion_tokens,
        money(sums.price, currency)
    );
    if partner {
        let margin = Money::from_nanos(sums.price.nanos().saturating_sub(sums.wholesale.nanos()));
        let _ = write!(
            out,
            "<td class=n>{}</td><td class=n>{}</td>",
            money(sums.wholesale, currency),
            money(margin, currency)
        );
    }
}

/// The page of `statement`.
pub(crate) fn statement(statement: &Statement) -> String {
    let currency = statement.currency.to_string();
    let partner = statement.partner;
    let mut out = String::from("<!doctype html><html lang=en><head><meta charset=utf-8>");
    let title = match statement.tenants.as_slice() {
        [one] if !partner => format!("Statement: {}", one.tenant.name),
        _ => "Statement".to_owned(),
    };
    let _ = write!(
        out,
        "<title>{}</title><meta name=viewport content=\"width=device-width\"><style>{STYLE}</style></head><body>",
        escape(&title)
    );
    let _ = write!(
        out,
        "<h1>{}</h1><p class=muted>From {} to {} (UTC, end excluded). Amounts in {}.</p>",
        escape(&title),
        time(statement.from),
        time(statement.to),
        escape(&currency)
    );
    let heads = if partner {
        "<th>Model</th><th class=n>Requests</th><th class=n>Input tokens</th><th class=n>Output tokens</th><th class=n>Price</th><th class=n>Wholesale</th><th class=n>Margin</th>"
    } else {
        "<th>Model</th><th class=n>Requests</th><th class=n>Input tokens</th><th class=n>Output tokens</th><th class=n>Price</th>"
    };
    for part in &statement.tenants {
        let _ = write!(out, "<h2>{}</h2>", escape(&part.tenant.name));
        if part.lines.is_empty() {
            out.push_str("<p class=muted>No calls in this period.</p>");
        } else {
            let _ = write!(out, "<table><thead><tr>{heads}</tr></thead><tbody>");
            for line in &part.lines {
                out.push_str("<tr>");
                row(&mut out, &line.model, &line.figures, partner, &currency);
                out.push_str("</tr>");
            }
            out.push_str("</tbody><tfoot><tr>");
            row(&mut out, "Total", &part.totals, partner, &currency);
            out.push_str("</tr></tfoot></table>");
        }
        if !part.adjustments.is_empty() {
            out.push_str("<table><thead><tr><th>Correction</th><th>Date</th><th>Reason</th><th class=n>Amount</th></tr></thead><tbody>");
            for it in &part.adjustments {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td></tr>",
                    it.kind.as_str(),
                    time(it.effective_at),
                    escape(&it.reason),
                    money(it.amount, &currency)
                );
            }
            out.push_str("</tbody></table>");
        }
        let _ = write!(
            out,
            "<p>Due for {}: <strong>{}</strong></p>",
            escape(&part.tenant.name),
            money(part.due(), &currency)
        );
    }
    let _ = write!(
        out,
        "<p class=due>Total due: {}</p></body></html>",
        money(statement.due(), &currency)
    );
    out
}

/// The page of an invoice.
pub(crate) fn invoice(detail: &InvoiceDetail) -> String {
    let invoice = &detail.invoice;
    let content = &detail.content;
    let currency = content.currency.as_str();
    let title = match (invoice.status, invoice.number) {
        (InvoiceStatus::Draft, _) => "Draft invoice".to_owned(),
        (InvoiceStatus::Void, Some(number)) => format!("Invoice {number} (void)"),
        (InvoiceStatus::Void, None) => "Draft invoice (void)".to_owned(),
        (InvoiceStatus::Finalized, number) => {
            format!("Invoice {}", number.unwrap_or_default())
        }
    };
    let mut out = String::from("<!doctype html><html lang=en><head><meta charset=utf-8>");
    let _ = write!(
        out,
        "<title>{}</title><meta name=viewport content=\"width=device-width\"><style>{STYLE}</style></head><body>",
        escape(&title)
    );
    let _ = write!(
        out,
        "<h1>{}</h1><p>{}</p><p class=muted>Period from {} to {} (UTC, end excluded). Amounts in {}.</p>",
        escape(&title),
        escape(&detail.tenant.name),
        time(invoice.from),
        time(invoice.to),
        escape(currency)
    );
    match invoice.status {
        InvoiceStatus::Draft => out.push_str(
            "<p class=muted>A draft: its amounts follow the usage recorded until it is finalized.</p>",
        ),
        InvoiceStatus::Finalized => {
            if let Some(at) = invoice.finalized_at {
                let _ = write!(out, "<p class=muted>Finalized {}.</p>", time(at));
            }
        }
        InvoiceStatus::Void => {
            let _ = write!(
                out,
                "<p><strong>Void</strong>: {}</p>",
                escape(invoice.void_reason.as_deref().unwrap_or_default())
            );
        }
    }
    if content.lines.is_empty() {
        out.push_str("<p class=muted>No calls in this period.</p>");
    } else {
        out.push_str("<table><thead><tr><th>Model</th><th class=n>Requests</th><th class=n>Input tokens</th><th class=n>Output tokens</th><th class=n>Price</th></tr></thead><tbody>");
        for line in &content.lines {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
                escape(&line.model),
                line.requests,
                line.prompt_tokens,
                line.completion_tokens,
                money(line.price, currency)
            );
        }
        out.push_str("</tbody></table>");
    }
    if !content.corrections.is_empty() {
        out.push_str("<table><thead><tr><th>Correction</th><th>Date</th><th>Reason</th><th class=n>Amount</th></tr></thead><tbody>");
        for it in &content.corrections {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td></tr>",
                escape(&it.kind),
                time(it.effective_at),
                escape(&it.reason),
                money(it.amount, currency)
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("<table><tbody>");
    let mut sum_row = |label: &str, amount: Money| {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=n>{}</td></tr>",
            escape(label),
            money(amount, currency)
        );
    };
    sum_row("Calls", content.subtotal);
    sum_row("Corrections", content.adjusted);
    if content.carried != Money::ZERO {
        sum_row("Recorded late for earlier invoices", content.carried);
    }
    if let Some(tax) = &content.tax {
        sum_row(
            &format!(
                "{} ({} %)",
                tax.label,
                domain::pricing::percent_of_basis_points(tax.basis_points)
            ),
            tax.amount,
        );
    }
    let _ = write!(
        out,
        "</tbody></table><p class=due>Total: {}</p></body></html>",
        money(content.total, currency)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(escape("Ünïcode"), "Ünïcode");
    }

    #[test]
    fn a_hostile_statement_renders_inert() {
        use management::billing::{StatementLine, TenantStatement};
        let tenant = domain::Tenant {
            id: domain::TenantId::new(),
            name: "<img src=x onerror=alert(1)>".into(),
            status: domain::TenantStatus::Active,
            partner_id: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
        };
        let figures = RollupFigures {
            requests: 3,
            price: Money::parse("1.5").unwrap(),
            ..RollupFigures::default()
        };
        let adjustment = domain::ledger::Adjustment {
            id: domain::AdjustmentId::new(),
            tenant_id: tenant.id,
            kind: domain::ledger::AdjustmentKind::Credit,
            amount: Money::parse("-0.5").unwrap(),
            reason: "</td><script>steal()</script>".into(),
            author_id: domain::UserId::new(),
            author: "ops@example.com".into(),
            effective_at: OffsetDateTime::UNIX_EPOCH,
            created_at: OffsetDateTime::UNIX_EPOCH,
        };
        let statement = Statement {
            from: OffsetDateTime::UNIX_EPOCH,
            to: OffsetDateTime::UNIX_EPOCH + time::Duration::days(30),
            currency: domain::pricing::Currency::USD,
            partner: false,
            tenants: vec![TenantStatement {
                tenant,
                lines: vec![StatementLine {
                    model: "\"><svg onload=x>".into(),
                    figures: figures.clone(),
                }],
                totals: figures.clone(),
                adjustments: vec![adjustment],
                adjusted: Money::parse("-0.5").unwrap(),
            }],
            totals: figures,
        };
        let page = super::statement(&statement);
        for raw in ["<img", "<script", "<svg", "onerror=alert(1)>"] {
            assert!(!page.contains(raw), "{raw} in {page}");
        }
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(page.contains("Total due: 1 USD"), "{page}");
        assert!(page.contains("@media print"));
    }

    #[test]
    fn a_hostile_invoice_renders_inert_with_its_sums() {
        use domain::invoice::{Invoice, InvoiceContent, TaxRule};
        let tenant = domain::Tenant {
            id: domain::TenantId::new(),
            name: "<b>Acme</b>".into(),
            status: domain::TenantStatus::Active,
            partner_id: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
        };
        let content = InvoiceContent::compose(
            "USD",
            vec![(
                "<script>x()</script>".into(),
                RollupFigures {
                    requests: 2,
                    price: Money::parse("10").unwrap(),
                    ..RollupFigures::default()
                },
            )],
            &[],
            Money::parse("0.5").unwrap(),
            Some(&TaxRule {
                label: "<i>VAT</i>".into(),
                basis_points: 2_000,
            }),
        );
        let detail = InvoiceDetail {
            invoice: Invoice {
                id: domain::InvoiceId::new(),
                tenant_id: tenant.id,
                status: InvoiceStatus::Void,
                number: Some(42),
                from: OffsetDateTime::UNIX_EPOCH,
                to: OffsetDateTime::UNIX_EPOCH + time::Duration::days(31),
                created_by: "ops@example.com".into(),
                created_at: OffsetDateTime::UNIX_EPOCH,
                finalized_at: None,
                voided_at: None,
                void_reason: Some("<img src=x>".into()),
                content: None,
            },
            tenant,
            content,
            payment: None,
        };
        let page = super::invoice(&detail);
        for raw in ["<b>", "<script", "<i>", "<img"] {
            assert!(!page.contains(raw), "{raw} in {page}");
        }
        assert!(page.contains("Invoice 42 (void)"), "{page}");
        assert!(
            page.contains("Recorded late for earlier invoices"),
            "{page}"
        );
        assert!(page.contains("&lt;i&gt;VAT&lt;/i&gt; (20 %)"), "{page}");
        assert!(page.contains("Total: 12.6 USD"), "{page}");
    }
}
