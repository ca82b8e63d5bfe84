//! What every limit over a tenant's (or one key's) calls holds now, as the portal shows it: one
//! labelled bar per limit (whose it is in plain words, never the platform's brand; used of
//! limit, money as amounts in the currency; the share used; when it resets), and the budget
//! alerts raised, newest first, with how their webhook delivery went.

use api_types::limits::{BudgetAlertView, LimitUsageView};
use time::{OffsetDateTime, UtcOffset};

use super::format;
use super::usage_figures::count;

/// Who is looking, which changes how owners are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// A tenant's page: the limits over all its calls.
    Tenant,
    /// One key's effective limits.
    Key,
    /// A partner's console: its shared budgets' alerts.
    Partner,
}

/// Whose limit it is, in words: the platform's is "your plan", never its brand.
pub fn owner_words(owner: &str, model: Option<&str>, viewer: Viewer) -> String {
    match (owner, viewer) {
        ("platform", _) => "Your plan".to_owned(),
        ("partner", Viewer::Partner) => "Shared by all your sub-tenants".to_owned(),
        ("partner", _) => "Shared with your provider's other customers".to_owned(),
        ("tenant", Viewer::Partner) => "The sub-tenant's own".to_owned(),
        ("tenant", _) => "This tenant".to_owned(),
        ("model", _) => format!("Model {}", model.unwrap_or("?")),
        ("key", Viewer::Key) => "This key".to_owned(),
        ("key", _) => "A key".to_owned(),
        (other, _) => other.to_owned(),
    }
}

fn period_words(period: Option<&str>) -> &'static str {
    match period {
        Some("day") => "per day",
        Some("week") => "per week",
        Some("month") => "per month",
        Some("rolling_30d") => "over a rolling 30 days",
        _ => "",
    }
}

/// What a limit counts, in words: `Requests per minute`, `Spend per month`.
pub fn kind_words(kind: &str, period: Option<&str>) -> String {
    match kind {
        "requests_per_minute" => "Requests per minute".to_owned(),
        "requests_per_day" => "Requests per day".to_owned(),
        "tokens_per_minute" => "Tokens per minute".to_owned(),
        "tokens_per_day" => "Tokens per day".to_owned(),
        "max_concurrent" => "Calls at once".to_owned(),
        "spend" => format!("Spend {}", period_words(period))
            .trim_end()
            .to_owned(),
        "tokens" => format!("Tokens {}", period_words(period))
            .trim_end()
            .to_owned(),
        other => other.replace('_', " "),
    }
}

fn unit(kind: &str) -> &'static str {
    match kind {
        "requests_per_minute" | "requests_per_day" => "requests",
        "max_concurrent" => "calls",
        _ => "tokens",
    }
}

/// How full a bar is, for its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Fine,
    /// 80 % or more.
    High,
    /// All used (or more, for a soft budget).
    Full,
}

impl Level {
    pub fn class(self) -> &'static str {
        match self {
            Level::Fine => "fine",
            Level::High => "high",
            Level::Full => "full",
        }
    }
}

/// When a limit's counter starts again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resets {
    At(OffsetDateTime),
    /// A rolling budget: each day drops out after 30.
    Rolling,
    /// Calls at once: it counts the calls in progress.
    InProgress,
}

/// One bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageLine {
    /// Whose: `Your plan`, `This tenant`, `Model gpt-4o`…
    pub owner: String,
    /// What: `Requests per minute`, `Spend per month`…
    pub what: String,
    /// `12 of 60 requests`, `1.25 of 250 USD`.
    pub used: String,
    /// Percent used, rounded down (may pass 100 for a soft budget).
    pub percent: u64,
    /// `5%`, `<1%` for a little.
    pub percent_text: String,
    pub level: Level,
    pub resets: Resets,
    /// A soft budget: it only alerts.
    pub soft: bool,
    /// `Alerts at 50%, 80%`.
    pub alerts: Option<String>,
}

impl UsageLine {
    /// The bar's filled width, in percent.
    pub fn width(&self) -> u64 {
        self.percent.min(100)
    }
}

/// Percent of `limit` that `used` is, rounded down.
pub fn percent(used: u64, limit: u64) -> u64 {
    if limit == 0 {
        return if used == 0 { 0 } else { 100 };
    }
    u64::try_from(u128::from(used) * 100 / u128::from(limit)).unwrap_or(u64::MAX)
}

/// The bar for one limit; `currency` is the unit of spend.
pub fn usage_line(view: &LimitUsageView, currency: &str, viewer: Viewer) -> UsageLine {
    let percent = percent(view.used, view.limit);
    let used = if view.kind == "spend" {
        let amount = |text: &Option<String>, micros: u64| {
            text.clone()
                .unwrap_or_else(|| super::key_form::micros_to_input(micros_i64(micros)))
        };
        format!(
            "{} of {} {currency}",
            amount(&view.used_amount, view.used),
            amount(&view.limit_amount, view.limit)
        )
    } else {
        format!(
            "{} of {} {}",
            count(view.used),
            count(view.limit),
            unit(&view.kind)
        )
    };
    let budget = matches!(view.kind.as_str(), "spend" | "tokens");
    UsageLine {
        owner: owner_words(&view.owner, view.model.as_deref(), viewer),
        what: kind_words(&view.kind, view.period.as_deref()),
        used,
        percent,
        percent_text: if percent == 0 && view.used > 0 {
            "<1%".to_owned()
        } else {
            format!("{percent}%")
        },
        level: if percent >= 100 || (view.remaining == 0 && view.limit > 0) {
            Level::Full
        } else if percent >= 80 {
            Level::High
        } else {
            Level::Fine
        },
        resets: if view.kind == "max_concurrent" {
            Resets::InProgress
        } else if view.period.as_deref() == Some("rolling_30d") {
            Resets::Rolling
        } else {
            Resets::At(view.resets_at)
        },
        soft: budget && !view.hard,
        alerts: (!view.alert_at_percent.is_empty()).then(|| {
            format!(
                "Alerts at {}",
                view.alert_at_percent
                    .iter()
                    .map(|it| format!("{it}%"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }),
    }
}

fn micros_i64(micros: u64) -> i64 {
    i64::try_from(micros).unwrap_or(i64::MAX)
}

/// When the bar's counter starts again, in the viewer's time (`offset` at that moment), to the
/// nearest minute (the API's instant is now plus what is left, a moment before the boundary).
pub fn resets_text(resets: Resets, offset: UtcOffset) -> String {
    match resets {
        Resets::At(at) => format!(
            "resets at {}",
            format::local_datetime(at + time::Duration::seconds(30), offset)
        ),
        Resets::Rolling => "rolling: each day's use drops out after 30 days".to_owned(),
        Resets::InProgress => "calls in progress now".to_owned(),
    }
}

/// The bars, in the order the API lists them (plan, partner, tenant, models, key).
pub fn usage_lines(usage: &[LimitUsageView], currency: &str, viewer: Viewer) -> Vec<UsageLine> {
    usage
        .iter()
        .map(|it| usage_line(it, currency, viewer))
        .collect()
}

/// One alert, as a row of the alerts table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertLine {
    pub raised_at: OffsetDateTime,
    /// `This tenant · Spend per month`.
    pub budget: String,
    /// The period it was raised in: `2026-12`, `2026-W49`, `2026-12-06`.
    pub period: String,
    /// `80%`.
    pub threshold: String,
    /// `200 of 250 USD`, `80 000 of 100 000 tokens`.
    pub used: String,
    pub hard: bool,
    pub tenant_id: uuid::Uuid,
    /// How its webhook delivery went: `Delivered`, `Retrying (2 attempts): timed out`…
    pub delivery: String,
}

/// How an alert's webhook delivery went, in plain words (the API's `delivery`, `attempts` and
/// `last_error`).
pub fn delivery_words(delivery: &str, attempts: u32, last_error: Option<&str>) -> String {
    let why = |words: String| match last_error {
        Some(error) if !error.trim().is_empty() => format!("{words}: {}", error.trim()),
        _ => words,
    };
    match delivery {
        "delivered" => "Delivered".to_owned(),
        "no_endpoint" => "No webhook".to_owned(),
        "failed" => why("Failed".to_owned()),
        "pending" if attempts == 0 => "Sending".to_owned(),
        "pending" => why(format!(
            "Retrying ({attempts} attempt{})",
            if attempts == 1 { "" } else { "s" }
        )),
        other => other.replace('_', " "),
    }
}

/// The alerts, newest first, with `currency` as the unit of spend.
pub fn alert_lines(alerts: &[BudgetAlertView], currency: &str, viewer: Viewer) -> Vec<AlertLine> {
    let mut lines: Vec<AlertLine> = alerts
        .iter()
        .map(|alert| {
            let used = if alert.budget == "spend" {
                format!("{} of {} {currency}", alert.used, alert.limit)
            } else {
                let tokens =
                    |text: &str| text.parse::<u64>().map_or_else(|_| text.to_owned(), count);
                format!("{} of {} tokens", tokens(&alert.used), tokens(&alert.limit))
            };
            AlertLine {
                raised_at: alert.raised_at,
                budget: format!(
                    "{} · {}",
                    owner_words(&alert.owner, None, viewer),
                    kind_words(&alert.budget, Some(&alert.period))
                ),
                period: alert.period_id.clone(),
                threshold: format!("{}%", alert.threshold_percent),
                used,
                hard: alert.hard,
                tenant_id: alert.tenant_id,
                delivery: delivery_words(
                    &alert.delivery,
                    alert.attempts,
                    alert.last_error.as_deref(),
                ),
            }
        })
        .collect();
    lines.sort_by_key(|it| std::cmp::Reverse(it.raised_at));
    lines
}

#[cfg(test)]
mod tests {
    use time::macros::{datetime, offset};

    use super::*;

    fn usage(owner: &str, kind: &str, limit: u64, used: u64) -> LimitUsageView {
        LimitUsageView {
            owner: owner.into(),
            kind: kind.into(),
            period: None,
            model: None,
            limit,
            used,
            remaining: limit.saturating_sub(used),
            limit_amount: None,
            used_amount: None,
            remaining_amount: None,
            resets_at: datetime!(2026-11-25 12:01 UTC),
            hard: true,
            alert_at_percent: vec![],
        }
    }

    #[test]
    fn owners_are_named_in_plain_words_never_by_brand() {
        assert_eq!(owner_words("platform", None, Viewer::Tenant), "Your plan");
        assert_eq!(
            owner_words("partner", None, Viewer::Tenant),
            "Shared with your provider's other customers"
        );
        assert_eq!(owner_words("tenant", None, Viewer::Tenant), "This tenant");
        assert_eq!(
            owner_words("model", Some("gpt-4o"), Viewer::Tenant),
            "Model gpt-4o"
        );
        assert_eq!(owner_words("key", None, Viewer::Key), "This key");
        assert_eq!(
            owner_words("partner", None, Viewer::Partner),
            "Shared by all your sub-tenants"
        );
    }

    #[test]
    fn a_rate_reads_as_used_of_limit_with_its_reset() {
        let line = usage_line(
            &usage("tenant", "requests_per_minute", 60, 3),
            "USD",
            Viewer::Tenant,
        );
        assert_eq!(line.owner, "This tenant");
        assert_eq!(line.what, "Requests per minute");
        assert_eq!(line.used, "3 of 60 requests");
        assert_eq!((line.percent, line.percent_text.as_str()), (5, "5%"));
        assert_eq!(line.level, Level::Fine);
        assert!(!line.soft);
        assert_eq!(
            resets_text(line.resets, offset!(+1)),
            "resets at 2026-11-25 13:01",
            "in the viewer's time"
        );
        assert_eq!(
            resets_text(
                Resets::At(datetime!(2026-11-30 23:59:59.6 UTC)),
                UtcOffset::UTC
            ),
            "resets at 2026-12-01 00:00",
            "to the nearest minute"
        );
        let busy = usage_line(&usage("key", "max_concurrent", 4, 4), "USD", Viewer::Key);
        assert_eq!(busy.used, "4 of 4 calls");
        assert_eq!(busy.level, Level::Full);
        assert_eq!(
            resets_text(busy.resets, offset!(+1)),
            "calls in progress now"
        );
        let big = usage_line(
            &usage("platform", "tokens_per_day", 1_000_000, 1),
            "USD",
            Viewer::Tenant,
        );
        assert_eq!(big.used, "1 of 1\u{202f}000\u{202f}000 tokens");
        assert_eq!(big.percent_text, "<1%");
    }

    #[test]
    fn spend_reads_as_money_and_soft_budgets_say_so() {
        let mut spend = usage("tenant", "spend", 250_000_000, 212_500_000);
        spend.period = Some("month".into());
        spend.limit_amount = Some("250".into());
        spend.used_amount = Some("212.5".into());
        spend.hard = false;
        spend.alert_at_percent = vec![50, 80];
        let line = usage_line(&spend, "EUR", Viewer::Tenant);
        assert_eq!(line.what, "Spend per month");
        assert_eq!(line.used, "212.5 of 250 EUR");
        assert_eq!(line.percent, 85);
        assert_eq!(line.level, Level::High);
        assert!(line.soft);
        assert_eq!(line.alerts.as_deref(), Some("Alerts at 50%, 80%"));

        spend.used = 300_000_000;
        spend.used_amount = None;
        let over = usage_line(&spend, "EUR", Viewer::Tenant);
        assert_eq!((over.percent, over.width()), (120, 100));
        assert_eq!(over.used, "300.00 of 250 EUR");
        assert_eq!(over.level, Level::Full);

        spend.period = Some("rolling_30d".into());
        let rolling = usage_line(&spend, "EUR", Viewer::Tenant);
        assert_eq!(rolling.what, "Spend over a rolling 30 days");
        assert!(resets_text(rolling.resets, UtcOffset::UTC).starts_with("rolling"));
    }

    #[test]
    fn alerts_come_newest_first_in_words() {
        let alert = |at, budget: &str, threshold| BudgetAlertView {
            id: uuid::Uuid::nil(),
            tenant_id: uuid::Uuid::nil(),
            owner: "tenant".into(),
            key_id: None,
            budget: budget.into(),
            period: "month".into(),
            period_id: "2026-11".into(),
            threshold_percent: threshold,
            limit: if budget == "spend" { "250" } else { "100000" }.into(),
            used: if budget == "spend" { "200.5" } else { "80000" }.into(),
            hard: true,
            raised_at: at,
            delivery: "delivered".into(),
            attempts: 1,
            last_error: None,
            delivered_at: Some(at),
        };
        let lines = alert_lines(
            &[
                alert(datetime!(2026-11-20 10:00 UTC), "tokens", 80),
                alert(datetime!(2026-11-25 10:00 UTC), "spend", 80),
            ],
            "USD",
            Viewer::Tenant,
        );
        assert_eq!(lines[0].budget, "This tenant · Spend per month");
        assert_eq!(lines[0].used, "200.5 of 250 USD");
        assert_eq!(lines[0].threshold, "80%");
        assert_eq!(lines[1].used, "80\u{202f}000 of 100\u{202f}000 tokens");
        assert_eq!(lines[1].period, "2026-11");
        assert_eq!(lines[0].delivery, "Delivered");
    }

    #[test]
    fn deliveries_read_in_plain_words_with_why_the_last_try_failed() {
        assert_eq!(delivery_words("delivered", 1, None), "Delivered");
        assert_eq!(delivery_words("no_endpoint", 0, None), "No webhook");
        assert_eq!(delivery_words("pending", 0, None), "Sending");
        assert_eq!(
            delivery_words("pending", 1, Some("timed out")),
            "Retrying (1 attempt): timed out"
        );
        assert_eq!(
            delivery_words("pending", 3, Some("answered 500")),
            "Retrying (3 attempts): answered 500"
        );
        assert_eq!(
            delivery_words("failed", 8, Some("answered 404")),
            "Failed: answered 404"
        );
        assert_eq!(delivery_words("failed", 8, None), "Failed");
    }
}
