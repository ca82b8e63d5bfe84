//! How a statement reads: money with its currency (the API's exact decimal text, never a
//! float), the totals' cards, a row per model of a tenant's bill and a row per sub-tenant of a
//! partner's statement.

use api_types::billing::{BillFiguresView, BillLineView, StatementView};

use super::usage_figures::{count, counted, spend_text};

/// `12.5 USD`: the amount as the API wrote it (exact to the nano-unit), with the currency.
pub fn money(amount: &str, currency: &str) -> String {
    spend_text(amount, 0, currency)
}

/// A partner-only amount (wholesale, margin): `—` where the statement has none.
pub fn partner_money(amount: Option<&str>, currency: &str) -> String {
    amount.map_or_else(|| "—".to_owned(), |it| money(it, currency))
}

/// Whether the statement holds no call at all (every part without a line).
pub fn is_empty(statement: &StatementView) -> bool {
    statement.totals.requests == 0 && statement.tenants.iter().all(|it| it.lines.is_empty())
}

/// One of the totals' cards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotalCard {
    /// The element id of the figure (`bill-price`), for labels and tests.
    pub id: &'static str,
    pub label: &'static str,
    pub value: String,
    pub detail: String,
}

/// The cards over a bill: its price, requests, prompt and completion tokens, and the calls
/// left out of the price for lack of one (only when there are some).
pub fn total_cards(totals: &BillFiguresView, currency: &str) -> Vec<TotalCard> {
    let mut cards = vec![
        TotalCard {
            id: "bill-price",
            label: "Price",
            value: money(&totals.price, currency),
            detail: String::new(),
        },
        TotalCard {
            id: "bill-requests",
            label: "Requests",
            value: count(totals.requests),
            detail: counted(totals.errors, "error", "errors"),
        },
        TotalCard {
            id: "bill-prompt-tokens",
            label: "Prompt tokens",
            value: count(totals.prompt_tokens),
            detail: format!("{} cached", count(totals.cached_tokens)),
        },
        TotalCard {
            id: "bill-completion-tokens",
            label: "Completion tokens",
            value: count(totals.completion_tokens),
            detail: format!("{} reasoning", count(totals.reasoning_tokens)),
        },
    ];
    if totals.unpriced > 0 {
        cards.push(TotalCard {
            id: "bill-unpriced",
            label: "Unpriced calls",
            value: count(totals.unpriced),
            detail: "models without a price: not in the price above".to_owned(),
        });
    }
    cards
}

/// What is owed once the period's corrections are counted: a card only when there are some.
pub fn due_card(statement: &StatementView) -> Option<TotalCard> {
    let corrections: usize = statement
        .tenants
        .iter()
        .map(|it| it.adjustments.len())
        .sum();
    (corrections > 0).then(|| TotalCard {
        id: "bill-due",
        label: "Due",
        value: money(&statement.due, &statement.currency),
        detail: format!(
            "{} in {corrections} correction{}",
            money(&statement.adjusted, &statement.currency),
            if corrections == 1 { "" } else { "s" }
        ),
    })
}

/// A credit or an adjustment, as the bill lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdjustmentRow {
    /// `2026-11-03` (UTC).
    pub date: String,
    /// `Credit` or `Adjustment`.
    pub kind: &'static str,
    pub reason: String,
    pub author: String,
    pub amount: String,
}

/// Every part's corrections, oldest first within each part.
pub fn adjustment_rows(statement: &StatementView) -> Vec<AdjustmentRow> {
    statement
        .tenants
        .iter()
        .flat_map(|part| &part.adjustments)
        .map(|it| AdjustmentRow {
            date: it.effective_at.date().to_string(),
            kind: if it.kind == "credit" {
                "Credit"
            } else {
                "Adjustment"
            },
            reason: it.reason.clone(),
            author: it.author.clone(),
            amount: money(&it.amount, &statement.currency),
        })
        .collect()
}

/// One model's line of a tenant's bill, as its table shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRow {
    pub model: String,
    pub requests: String,
    pub errors: String,
    pub prompt_tokens: String,
    pub completion_tokens: String,
    pub cached_tokens: String,
    /// With `+ n unpriced` when some of its calls had no price.
    pub price: String,
}

/// Every part's lines, in the API's order (by model name); a tenant's statement has one part.
pub fn line_rows(statement: &StatementView) -> Vec<LineRow> {
    let currency = &statement.currency;
    statement
        .tenants
        .iter()
        .flat_map(|part| &part.lines)
        .map(|line| line_row(line, currency))
        .collect()
}

/// One model's line, of a statement or an invoice.
pub fn line_row(line: &BillLineView, currency: &str) -> LineRow {
    let f = &line.figures;
    LineRow {
        model: line.model.clone(),
        requests: count(f.requests),
        errors: count(f.errors),
        prompt_tokens: count(f.prompt_tokens),
        completion_tokens: count(f.completion_tokens),
        cached_tokens: count(f.cached_tokens),
        price: spend_text(&f.price, f.unpriced, currency),
    }
}

/// One sub-tenant's row of a partner's statement (or the totals' row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRow {
    pub tenant: String,
    pub requests: String,
    /// What the sub-tenant is charged.
    pub retail: String,
    /// What the platform charges the partner for the same calls.
    pub wholesale: String,
    pub margin: String,
}

fn tenant_row(tenant: String, figures: &BillFiguresView, currency: &str) -> TenantRow {
    TenantRow {
        tenant,
        requests: count(figures.requests),
        retail: spend_text(&figures.price, figures.unpriced, currency),
        wholesale: partner_money(figures.wholesale.as_deref(), currency),
        margin: partner_money(figures.margin.as_deref(), currency),
    }
}

/// A row per sub-tenant, in the API's order.
pub fn tenant_rows(statement: &StatementView) -> Vec<TenantRow> {
    statement
        .tenants
        .iter()
        .map(|part| tenant_row(part.tenant.clone(), &part.totals, &statement.currency))
        .collect()
}

/// The partner's totals, as the table's last row.
pub fn totals_row(statement: &StatementView) -> TenantRow {
    tenant_row("Total".to_owned(), &statement.totals, &statement.currency)
}

#[cfg(test)]
mod tests {
    use api_types::billing::{BillLineView, TenantBillView};
    use serde_json::json;
    use uuid::Uuid;

    use super::*;

    fn figures(requests: u64, price: &str) -> BillFiguresView {
        BillFiguresView {
            requests,
            errors: 0,
            cache_hits: 0,
            prompt_tokens: requests * 1_000,
            completion_tokens: requests * 10,
            cached_tokens: 0,
            cache_write_tokens: 0,
            reasoning_tokens: 0,
            price: price.to_owned(),
            wholesale: None,
            margin: None,
            unpriced: 0,
        }
    }

    /// A statement as the API sends it (read from its JSON, so that fields this page does not
    /// show, like the bill's corrections, are whatever the wire carries).
    fn statement(tenants: Vec<TenantBillView>, totals: BillFiguresView) -> StatementView {
        serde_json::from_value(json!({
            "from": "2026-12-01T00:00:00Z",
            "to": "2027-01-01T00:00:00Z",
            "currency": "EUR",
            "tenants": tenants,
            "due": totals.price,
            "totals": totals,
            "adjusted": "0",
        }))
        .unwrap()
    }

    fn part(name: &str, lines: Vec<BillLineView>, totals: BillFiguresView) -> TenantBillView {
        serde_json::from_value(json!({
            "tenant_id": Uuid::nil(),
            "tenant": name,
            "lines": lines,
            "due": totals.price,
            "totals": totals,
            "adjustments": [],
            "adjusted": "0",
        }))
        .unwrap()
    }

    #[test]
    fn corrections_are_listed_and_what_is_due_shown_only_with_some() {
        let plain = statement(
            vec![part("Acme", Vec::new(), figures(2, "3"))],
            figures(2, "3"),
        );
        assert_eq!(due_card(&plain), None);
        assert!(adjustment_rows(&plain).is_empty());
        let mut corrected = plain;
        corrected.tenants[0].adjustments = serde_json::from_value(json!([{
            "id": Uuid::nil(),
            "kind": "credit",
            "amount": "-1.5",
            "reason": "goodwill",
            "author": "ops@example.com",
            "effective_at": "2026-12-03T10:00:00Z",
            "created_at": "2026-12-04T10:00:00Z",
        }]))
        .unwrap();
        corrected.adjusted = "-1.5".into();
        corrected.due = "1.5".into();
        let card = due_card(&corrected).unwrap();
        assert_eq!(
            (card.id, card.value.as_str(), card.detail.as_str()),
            ("bill-due", "1.5 EUR", "-1.5 EUR in 1 correction")
        );
        assert_eq!(
            adjustment_rows(&corrected),
            [AdjustmentRow {
                date: "2026-12-03".into(),
                kind: "Credit",
                reason: "goodwill".into(),
                author: "ops@example.com".into(),
                amount: "-1.5 EUR".into(),
            }]
        );
    }

    #[test]
    fn money_is_the_apis_exact_text_with_the_currency() {
        assert_eq!(money("0.0000015", "USD"), "0.0000015 USD");
        assert_eq!(partner_money(Some("12.5"), "EUR"), "12.5 EUR");
        assert_eq!(partner_money(None, "EUR"), "—");
    }

    #[test]
    fn the_totals_name_unpriced_calls_only_when_there_are_some() {
        let mut totals = figures(1_234, "3.5");
        totals.errors = 1;
        let cards = total_cards(&totals, "USD");
        let shown: Vec<(&str, &str, &str)> = cards
            .iter()
            .map(|it| (it.id, it.value.as_str(), it.detail.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("bill-price", "3.5 USD", ""),
                ("bill-requests", "1\u{202f}234", "1 error"),
                ("bill-prompt-tokens", "1\u{202f}234\u{202f}000", "0 cached"),
                ("bill-completion-tokens", "12\u{202f}340", "0 reasoning"),
            ]
        );
        totals.unpriced = 2;
        let cards = total_cards(&totals, "USD");
        assert_eq!(cards.len(), 5);
        assert_eq!(cards[4].id, "bill-unpriced");
        assert_eq!(cards[4].value, "2");
    }

    #[test]
    fn a_tenants_lines_are_one_row_per_model() {
        let mut mock = figures(3, "0.0000042");
        mock.unpriced = 1;
        mock.cached_tokens = 5;
        let bill = statement(
            vec![part(
                "Acme",
                vec![BillLineView {
                    model: "mock".to_owned(),
                    figures: mock.clone(),
                }],
                mock.clone(),
            )],
            mock,
        );
        assert!(!is_empty(&bill));
        assert_eq!(
            line_rows(&bill),
            [LineRow {
                model: "mock".to_owned(),
                requests: "3".to_owned(),
                errors: "0".to_owned(),
                prompt_tokens: "3\u{202f}000".to_owned(),
                completion_tokens: "30".to_owned(),
                cached_tokens: "5".to_owned(),
                price: "0.0000042 EUR + 1 unpriced".to_owned(),
            }]
        );
    }

    #[test]
    fn a_period_without_calls_is_empty() {
        let bill = statement(vec![part("Acme", vec![], figures(0, "0"))], figures(0, "0"));
        assert!(is_empty(&bill));
        assert!(line_rows(&bill).is_empty());
        assert!(is_empty(&statement(vec![], figures(0, "0"))));
    }

    #[test]
    fn a_partners_statement_has_a_row_per_sub_tenant_with_its_margin() {
        let mut globex = figures(2, "1.25");
        globex.wholesale = Some("1".to_owned());
        globex.margin = Some("0.25".to_owned());
        let mut idle = figures(0, "0");
        idle.wholesale = Some("0".to_owned());
        idle.margin = Some("0".to_owned());
        let bill = statement(
            vec![
                part("Globex", vec![], globex.clone()),
                part("Initech", vec![], idle),
            ],
            globex,
        );
        let rows = tenant_rows(&bill);
        assert_eq!(
            rows[0],
            TenantRow {
                tenant: "Globex".to_owned(),
                requests: "2".to_owned(),
                retail: "1.25 EUR".to_owned(),
                wholesale: "1 EUR".to_owned(),
                margin: "0.25 EUR".to_owned(),
            }
        );
        assert_eq!(rows[1].requests, "0");
        let total = totals_row(&bill);
        assert_eq!(
            (total.tenant.as_str(), total.margin.as_str()),
            ("Total", "0.25 EUR")
        );
    }
}
