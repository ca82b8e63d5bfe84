//! A tenant's invoice for a billing period. A draft shows what the ledger holds for its period
//! now; finalizing freezes that content (lines, corrections, late usage carried from earlier
//! invoices, tax, total) and gives the invoice the next number. A finalized invoice never
//! changes: it can only be voided, after which its period may be invoiced again.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ledger::Adjustment;
use crate::pricing::Money;
use crate::rollup::RollupFigures;
use crate::{AdjustmentId, InvoiceId, TenantId};

/// Where an invoice is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceStatus {
    /// Its content is read from the ledger whenever it is shown.
    Draft,
    /// Frozen and numbered: what the tenant is asked to pay.
    Finalized,
    /// Withdrawn: its period may be invoiced again.
    Void,
}

impl InvoiceStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Draft => "draft",
            InvoiceStatus::Finalized => "finalized",
            InvoiceStatus::Void => "void",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "draft" => Some(InvoiceStatus::Draft),
            "finalized" => Some(InvoiceStatus::Finalized),
            "void" => Some(InvoiceStatus::Void),
            _ => None,
        }
    }
}

/// One model's calls on an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    pub model: String,
    pub requests: u64,
    pub errors: u64,
    pub cache_hits: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cached_tokens: u64,
    pub cache_write_tokens: u64,
    pub reasoning_tokens: u64,
    pub price: Money,
    /// Calls of a model with no price: not in `price`.
    pub unpriced: u64,
}

impl InvoiceLine {
    pub fn new(model: String, sums: &RollupFigures) -> Self {
        Self {
            model,
            requests: sums.requests,
            errors: sums.errors,
            cache_hits: sums.cache_hits,
            prompt_tokens: sums.prompt_tokens,
            completion_tokens: sums.completion_tokens,
            cached_tokens: sums.cached_tokens,
            cache_write_tokens: sums.cache_write_tokens,
            reasoning_tokens: sums.reasoning_tokens,
            price: sums.price,
            unpriced: sums.unpriced,
        }
    }
}

/// A correction as an invoice shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceCorrection {
    pub id: AdjustmentId,
    /// `credit` or `adjustment`.
    pub kind: String,
    pub amount: Money,
    pub reason: String,
    pub author: String,
    #[serde(with = "time::serde::rfc3339")]
    pub effective_at: OffsetDateTime,
}

impl From<&Adjustment> for InvoiceCorrection {
    fn from(adjustment: &Adjustment) -> Self {
        Self {
            id: adjustment.id,
            kind: adjustment.kind.as_str().to_owned(),
            amount: adjustment.amount,
            reason: adjustment.reason.clone(),
            author: adjustment.author.clone(),
            effective_at: adjustment.effective_at,
        }
    }
}

/// The tax an invoice shows, when the platform is configured to show one (otherwise taxes are
/// left to the payment provider).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRule {
    /// `VAT`, `Sales tax`, …
    pub label: String,
    /// Hundredths of a percent: 2 000 is 20 %.
    pub basis_points: i32,
}

/// The tax on an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceTax {
    pub label: String,
    pub basis_points: i32,
    pub amount: Money,
}

/// What an invoice bills: read live for a draft, frozen (as JSON) when finalized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceContent {
    /// ISO 4217.
    pub currency: String,
    /// By model name.
    pub lines: Vec<InvoiceLine>,
    /// Corrections effective in the period, oldest first.
    pub corrections: Vec<InvoiceCorrection>,
    /// The lines' prices.
    pub subtotal: Money,
    /// The corrections' sum.
    pub adjusted: Money,
    /// Calls and corrections of earlier invoices' periods recorded after those were
    /// finalized (a record replayed late, a correction added since): billed here, once.
    pub carried: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax: Option<InvoiceTax>,
    /// `subtotal`, `adjusted`, `carried` and `tax`.
    pub total: Money,
    /// A partner's sub-tenant's invoice only: what the platform charges the partner for it
    /// (the same calls at the partner's wholesale price, what earlier invoices left unbilled at
    /// wholesale, and the tax; corrections are between the partner and its sub-tenant). This
    /// is what is collected, from the partner; never shown to the sub-tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wholesale: Option<Box<InvoiceContent>>,
}

impl InvoiceContent {
    /// An invoice's content from its period's per-model sums and corrections, what earlier
    /// invoices left to carry, and the tax rule. Tax is charged only on a positive amount.
    pub fn compose(
        currency: &str,
        sums: Vec<(String, RollupFigures)>,
        adjustments: &[Adjustment],
        carried: Money,
        tax: Option<&TaxRule>,
    ) -> Self {
        let lines: Vec<InvoiceLine> = sums
            .into_iter()
            .map(|(model, sums)| InvoiceLine::new(model, &sums))
            .collect();
        let subtotal = lines
            .iter()
            .fold(Money::ZERO, |sum, it| sum.saturating_add(it.price));
        let adjusted = adjustments
            .iter()
            .fold(Money::ZERO, |sum, it| sum.saturating_add(it.amount));
        let before_tax = subtotal.saturating_add(adjusted).saturating_add(carried);
        let tax = tax.map(|rule| {
            let base = before_tax.max(Money::ZERO);
            InvoiceTax {
                label: rule.label.clone(),
                basis_points: rule.basis_points,
                amount: Money::from_nanos(
                    base.marked_up(rule.basis_points)
                        .nanos()
                        .saturating_sub(base.nanos()),
                ),
            }
        });
        let total = before_tax.saturating_add(tax.as_ref().map_or(Money::ZERO, |it| it.amount));
        Self {
            currency: currency.to_owned(),
            lines,
            corrections: adjustments.iter().map(InvoiceCorrection::from).collect(),
            subtotal,
            adjusted,
            carried,
            tax,
            total,
            wholesale: None,
        }
    }

    /// The per-model sums with each line's price replaced by its wholesale price: what a
    /// partner's part of an invoice is composed from.
    pub fn at_wholesale(sums: &[(String, RollupFigures)]) -> Vec<(String, RollupFigures)> {
        sums.iter()
            .map(|(model, figures)| {
                (
                    model.clone(),
                    RollupFigures {
                        price: figures.wholesale,
                        ..figures.clone()
                    },
                )
            })
            .collect()
    }

    /// What the invoice bills of its own period (its calls and corrections): what a later
    /// look at the same period is compared with to find what was recorded late.
    pub fn own(&self) -> Money {
        self.subtotal.saturating_add(self.adjusted)
    }
}

/// A tenant's invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    pub id: InvoiceId,
    pub tenant_id: TenantId,
    pub status: InvoiceStatus,
    /// Given when finalized, from one platform-wide sequence.
    pub number: Option<i64>,
    /// The period billed, `[from, to)`.
    pub from: OffsetDateTime,
    pub to: OffsetDateTime,
    /// The email of whoever drafted it (`system` for the scheduler).
    pub created_by: String,
    pub created_at: OffsetDateTime,
    pub finalized_at: Option<OffsetDateTime>,
    pub voided_at: Option<OffsetDateTime>,
    pub void_reason: Option<String>,
    /// Frozen when finalized; `None` for a draft.
    pub content: Option<InvoiceContent>,
}

/// The calendar month (UTC) `at` falls in: its first instant and the next month's, the default
/// billing period.
pub fn calendar_month(at: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
    let at = at.to_offset(time::UtcOffset::UTC);
    let month = at
        .replace_day(1)
        .map(|it| it.replace_time(time::Time::MIDNIGHT))
        .unwrap_or(at);
    let next_month = match month.month() {
        time::Month::December => month
            .replace_year(month.year() + 1)
            .and_then(|it| it.replace_month(time::Month::January)),
        other => month.replace_month(other.next()),
    }
    .unwrap_or(at);
    (month, next_month)
}

/// Where each tenant's monthly billing periods start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BillingAnchor {
    /// On the first of each calendar month (UTC).
    #[default]
    CalendarMonth,
    /// On the day of the month the tenant signed up (the last day of a shorter month), at
    /// 00:00 UTC.
    SignUp,
}

impl BillingAnchor {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "calendar_month" => Some(BillingAnchor::CalendarMonth),
            "sign_up" => Some(BillingAnchor::SignUp),
            _ => None,
        }
    }

    /// The tenant's monthly period that `at` falls in, `[from, to)`.
    pub fn period(
        self,
        signed_up: OffsetDateTime,
        at: OffsetDateTime,
    ) -> (OffsetDateTime, OffsetDateTime) {
        match self {
            BillingAnchor::CalendarMonth => calendar_month(at),
            BillingAnchor::SignUp => {
                monthly_period(signed_up.to_offset(time::UtcOffset::UTC).day(), at)
            }
        }
    }

    /// The tenant's last period that has ended by `now`.
    pub fn last_ended(
        self,
        signed_up: OffsetDateTime,
        now: OffsetDateTime,
    ) -> (OffsetDateTime, OffsetDateTime) {
        let (current, _) = self.period(signed_up, now);
        self.period(signed_up, current - time::Duration::minutes(1))
    }
}

/// The instant `day` of `year`'s `month` starts (UTC), the month's last day when it is shorter.
fn day_of(year: i32, month: time::Month, day: u8) -> Option<OffsetDateTime> {
    let day = day.min(month.length(year));
    time::Date::from_calendar_date(year, month, day)
        .ok()
        .map(|it| it.midnight().assume_utc())
}

/// The monthly period `at` falls in whose boundaries are on `day` of each month at 00:00 UTC
/// (the last day of a shorter month): with day 1, the calendar month.
pub fn monthly_period(day: u8, at: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
    let at = at.to_offset(time::UtcOffset::UTC);
    let next = |year: i32, month: time::Month| match month {
        time::Month::December => (year + 1, time::Month::January),
        other => (year, other.next()),
    };
    let previous = |year: i32, month: time::Month| match month {
        time::Month::January => (year - 1, time::Month::December),
        other => (year, other.previous()),
    };
    let (mut year, mut month) = (at.year(), at.month());
    let Some(mut from) = day_of(year, month, day) else {
        return calendar_month(at);
    };
    if from > at {
        (year, month) = previous(year, month);
        from = day_of(year, month, day).unwrap_or(from);
    }
    let (to_year, to_month) = next(year, month);
    let to = day_of(to_year, to_month, day).unwrap_or(at);
    (from, to)
}

/// What earlier finalized invoices left unbilled: their periods' calls and corrections as the
/// ledger holds them now (`now_own`, one per invoice, in the same order), less what they billed
/// of their own periods and less what invoices have carried already.
pub fn carried(finalized: &[&InvoiceContent], now_own: &[Money]) -> Money {
    let now = now_own
        .iter()
        .fold(Money::ZERO, |sum, it| sum.saturating_add(*it));
    let billed = finalized.iter().fold(Money::ZERO, |sum, it| {
        sum.saturating_add(it.own()).saturating_add(it.carried)
    });
    Money::from_nanos(now.nanos().saturating_sub(billed.nanos()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UserId;
    use crate::ledger::AdjustmentKind;

    fn money(text: &str) -> Money {
        Money::parse(text).unwrap()
    }

    fn priced(requests: u64, price: &str) -> RollupFigures {
        RollupFigures {
            requests,
            price: money(price),
            ..RollupFigures::default()
        }
    }

    fn credit(amount: &str) -> Adjustment {
        Adjustment {
            id: AdjustmentId::new(),
            tenant_id: TenantId::new(),
            kind: AdjustmentKind::Credit,
            amount: money(amount),
            reason: "outage".into(),
            author_id: UserId::new(),
            author: "ops@example.com".into(),
            effective_at: OffsetDateTime::UNIX_EPOCH,
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_total_is_its_lines_corrections_carried_usage_and_tax() {
        let rule = TaxRule {
            label: "VAT".into(),
            basis_points: 2_000,
        };
        let content = InvoiceContent::compose(
            "USD",
            vec![
                ("big".into(), priced(3, "10.000000001")),
                ("small".into(), priced(7, "0.000000002")),
            ],
            &[credit("-1")],
            money("0.5"),
            Some(&rule),
        );
        assert_eq!(content.subtotal, money("10.000000003"));
        assert_eq!(content.adjusted, money("-1"));
        assert_eq!(content.own(), money("9.000000003"));
        // 20 % of 9.500000003, rounded half away from zero to the nano-unit.
        assert_eq!(content.tax.as_ref().unwrap().amount, money("1.900000001"));
        assert_eq!(content.total, money("11.400000004"));
        assert_eq!(content.lines[1].requests, 7);
        assert_eq!(content.corrections[0].kind, "credit");

        // Credits beyond the calls: no tax on a negative amount.
        let owed_back =
            InvoiceContent::compose("USD", vec![], &[credit("-5")], Money::ZERO, Some(&rule));
        assert_eq!(owed_back.tax.unwrap().amount, Money::ZERO);
        assert_eq!(owed_back.total, money("-5"));
    }

    #[test]
    fn periods_fall_on_the_calendar_or_on_the_sign_up_day() {
        use time::macros::datetime;
        let at = datetime!(2027-03-20 12:00 UTC);
        let signed_up = datetime!(2026-01-31 18:45 UTC);
        assert_eq!(
            BillingAnchor::CalendarMonth.period(signed_up, at),
            (
                datetime!(2027-03-01 0:00 UTC),
                datetime!(2027-04-01 0:00 UTC)
            )
        );
        // The 31st: the last day of shorter months.
        assert_eq!(
            BillingAnchor::SignUp.period(signed_up, at),
            (
                datetime!(2027-02-28 0:00 UTC),
                datetime!(2027-03-31 0:00 UTC)
            )
        );
        assert_eq!(
            BillingAnchor::SignUp.last_ended(signed_up, at),
            (
                datetime!(2027-01-31 0:00 UTC),
                datetime!(2027-02-28 0:00 UTC)
            )
        );
        assert_eq!(
            BillingAnchor::SignUp.period(signed_up, datetime!(2028-03-01 0:00 UTC)),
            (
                datetime!(2028-02-29 0:00 UTC),
                datetime!(2028-03-31 0:00 UTC)
            ),
            "a leap year's February"
        );
        // On the boundary itself: the period that starts there.
        let signed_up = datetime!(2026-06-15 9:00 UTC);
        assert_eq!(
            BillingAnchor::SignUp.period(signed_up, datetime!(2026-12-15 0:00 UTC)),
            (
                datetime!(2026-12-15 0:00 UTC),
                datetime!(2027-01-15 0:00 UTC)
            )
        );
        assert_eq!(
            BillingAnchor::SignUp.last_ended(signed_up, datetime!(2026-12-15 0:00 UTC)),
            (
                datetime!(2026-11-15 0:00 UTC),
                datetime!(2026-12-15 0:00 UTC)
            )
        );
        // The first period holds the sign-up; day 1 is the calendar month.
        let (from, to) = BillingAnchor::SignUp.period(signed_up, signed_up);
        assert!(from <= signed_up && signed_up < to);
        assert_eq!(monthly_period(1, at), calendar_month(at));
        assert_eq!(BillingAnchor::parse("sign_up"), Some(BillingAnchor::SignUp));
        assert_eq!(BillingAnchor::parse("weekly"), None);
    }

    #[test]
    fn what_was_recorded_after_finalizing_is_carried_once() {
        let first = InvoiceContent::compose(
            "USD",
            vec![("m".into(), priced(1, "2"))],
            &[],
            Money::ZERO,
            None,
        );
        // Nothing late: nothing carried.
        assert_eq!(carried(&[&first], &[money("2")]), Money::ZERO);
        // A replayed record of 0.25 and a credit of 1 arrived for the first period since.
        assert_eq!(carried(&[&first], &[money("1.25")]), money("-0.75"));
        // The next invoice carried it: nothing more to carry.
        let second = InvoiceContent::compose("USD", vec![], &[], money("-0.75"), None);
        assert_eq!(
            carried(&[&first, &second], &[money("1.25"), Money::ZERO]),
            Money::ZERO
        );
    }

    #[test]
    fn calendar_months_are_utc_and_roll_over_the_year() {
        let at = |text: &str| {
            OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
        };
        assert_eq!(
            calendar_month(at("2026-12-31T23:59:59.999Z")),
            (at("2026-12-01T00:00:00Z"), at("2027-01-01T00:00:00Z"))
        );
        // Still November in UTC.
        assert_eq!(
            calendar_month(at("2026-12-01T00:30:00+01:00")),
            (at("2026-11-01T00:00:00Z"), at("2026-12-01T00:00:00Z"))
        );
        assert_eq!(
            calendar_month(at("2028-02-29T12:00:00Z")).1,
            at("2028-03-01T00:00:00Z")
        );
    }

    #[test]
    fn content_survives_its_json() {
        let content = InvoiceContent::compose(
            "EUR",
            vec![("m".into(), priced(1, "0.000000001"))],
            &[credit("-2")],
            Money::ZERO,
            None,
        );
        let text = serde_json::to_string(&content).unwrap();
        assert!(text.contains("\"0.000000001\""), "{text}");
        assert_eq!(
            serde_json::from_str::<InvoiceContent>(&text).unwrap(),
            content
        );
    }
}
