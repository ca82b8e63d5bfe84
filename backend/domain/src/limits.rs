//! Limits above a key's: what the operator sets for every tenant (each counted on its own), a
//! partner's for all its sub-tenants together, a tenant's for all its keys together and per
//! model. Every limit that applies to a call must pass (platform → partner → tenant → key);
//! the data plane's admit stage takes them all in one step.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::pricing::Money;

/// Budgets one policy holds at most.
pub const MAX_BUDGETS: usize = 8;
/// Models one policy limits separately, at most.
pub const MAX_MODEL_LIMITS: usize = 64;
/// Names in one allow or deny list, at most.
pub const MAX_MODEL_NAMES: usize = 256;
/// Alert thresholds one budget has at most.
pub const MAX_THRESHOLDS: usize = 8;

/// Request and token rates and calls at once; `None` is no limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_day: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_minute: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_day: Option<u64>,
    /// Calls in progress at once, streams included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<u32>,
}

impl RateLimits {
    pub fn any(&self) -> bool {
        *self != RateLimits::default()
    }

    fn validate(&self, at: &str) -> Result<(), PolicyError> {
        let zero = |name: &str| PolicyError::new(format!("{at}{name}"), "must be at least 1");
        if self.requests_per_minute == Some(0) {
            return Err(zero("requests_per_minute"));
        }
        if self.requests_per_day == Some(0) {
            return Err(zero("requests_per_day"));
        }
        if self.tokens_per_minute == Some(0) {
            return Err(zero("tokens_per_minute"));
        }
        if self.tokens_per_day == Some(0) {
            return Err(zero("tokens_per_day"));
        }
        if self.max_concurrent == Some(0) {
            return Err(zero("max_concurrent"));
        }
        Ok(())
    }
}

/// How long a budget's count runs before it starts again (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetPeriod {
    /// A calendar day.
    Day,
    /// An ISO week, Monday to Sunday.
    Week,
    /// A calendar month.
    Month,
    /// The last 30 days, today's included: it never resets at once, each day drops out.
    #[serde(rename = "rolling_30d")]
    Rolling30Days,
}

impl BudgetPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetPeriod::Day => "day",
            BudgetPeriod::Week => "week",
            BudgetPeriod::Month => "month",
            BudgetPeriod::Rolling30Days => "rolling_30d",
        }
    }

    /// Parses `day`, `week`, `month` or `rolling_30d`.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "day" => BudgetPeriod::Day,
            "week" => BudgetPeriod::Week,
            "month" => BudgetPeriod::Month,
            "rolling_30d" => BudgetPeriod::Rolling30Days,
            _ => return None,
        })
    }
}

/// What a budget caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetAmount {
    /// What the calls are charged, in the platform's currency.
    Spend(Money),
    /// Tokens in and out.
    Tokens(u64),
}

/// A spend or token budget for a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    pub period: BudgetPeriod,
    pub amount: BudgetAmount,
    /// A hard budget refuses calls that would pass it (429 `insufficient_quota`); a soft one
    /// only alerts.
    #[serde(default = "yes")]
    pub hard: bool,
    /// Percentages of the budget (1–1000) at which an alert is sent, ascending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alert_at_percent: Vec<u16>,
}

fn yes() -> bool {
    true
}

impl Budget {
    /// The budget in the counters' unit: micro-units of money (rounded down: a budget never
    /// lets more through than it says) or tokens.
    pub fn counter_limit(&self) -> u64 {
        match self.amount {
            BudgetAmount::Spend(money) => u64::try_from(money.nanos().max(0) / 1_000).unwrap_or(0),
            BudgetAmount::Tokens(tokens) => tokens,
        }
    }

    pub fn is_spend(&self) -> bool {
        matches!(self.amount, BudgetAmount::Spend(_))
    }
}

/// When the shared counters cannot be reached, what happens to a tenant's calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountersDown {
    /// Rate limits fall back to each node's own counters; calls under a hard budget are
    /// refused (a budget must not be overspent).
    #[default]
    Default,
    /// Every call is refused (503) until the counters are back.
    Closed,
    /// Every limit, budgets included, falls back to each node's own counters; the node says
    /// so in its readiness answer and its metrics.
    Open,
}

/// The limits one scope sets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitPolicy {
    #[serde(default, flatten)]
    pub rates: RateLimits,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub budgets: Vec<Budget>,
    /// Rates per model alias, on top of the policy's own (a tenant's only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub models: BTreeMap<String, RateLimits>,
    /// Aliases the scope's calls may use; empty: all (a tenant's only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_models: Vec<String>,
    /// Aliases the scope's calls may not use, even when allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denied_models: Vec<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub counters_down: CountersDown,
    /// Set by a partner or the operator over a tenant: the tenant's own administrators may
    /// read it but not change it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub locked: bool,
}

fn is_default(it: &CountersDown) -> bool {
    *it == CountersDown::Default
}

/// A policy that cannot be stored, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {message}")]
pub struct PolicyError {
    pub field: String,
    pub message: String,
}

impl PolicyError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        PolicyError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl LimitPolicy {
    /// Whether the policy limits anything a call's admission checks.
    pub fn any(&self) -> bool {
        self.rates.any()
            || !self.budgets.is_empty()
            || self.models.values().any(RateLimits::any)
            || !self.allowed_models.is_empty()
            || !self.denied_models.is_empty()
            || self.counters_down != CountersDown::Default
    }

    /// Whether the policy lets calls use `model`.
    pub fn allows_model(&self, model: &str) -> bool {
        (self.allowed_models.is_empty() || self.allowed_models.iter().any(|it| it == model))
            && !self.denied_models.iter().any(|it| it == model)
    }

    /// Checks every field.
    ///
    /// # Errors
    /// The first field that is out of bounds: a zero limit, a negative or zero budget, two
    /// budgets of the same kind and period, thresholds out of 1–1000 or not ascending, too
    /// many entries, a model name that cannot be an alias.
    pub fn validate(&self) -> Result<(), PolicyError> {
        self.rates.validate("")?;
        validate_budgets(&self.budgets, "budgets")?;
        if self.models.len() > MAX_MODEL_LIMITS {
            return Err(PolicyError::new(
                "models",
                format!("limits more than {MAX_MODEL_LIMITS} models"),
            ));
        }
        for (model, rates) in &self.models {
            check_model_name("models", model)?;
            rates.validate(&format!("models.{model}."))?;
        }
        for (field, names) in [
            ("allowed_models", &self.allowed_models),
            ("denied_models", &self.denied_models),
        ] {
            if names.len() > MAX_MODEL_NAMES {
                return Err(PolicyError::new(
                    field,
                    format!("has more than {MAX_MODEL_NAMES} names"),
                ));
            }
            for name in names {
                check_model_name(field, name)?;
            }
        }
        Ok(())
    }
}

/// Checks a list of budgets named `field` (`budgets`, `limits.budgets`).
///
/// # Errors
/// A negative or zero amount, spend finer than a micro-unit, two budgets of the same kind and
/// period, thresholds out of 1–1000 or not ascending, too many of either.
pub fn validate_budgets(budgets: &[Budget], field: &str) -> Result<(), PolicyError> {
    if budgets.len() > MAX_BUDGETS {
        return Err(PolicyError::new(
            field,
            format!("has more than {MAX_BUDGETS} budgets"),
        ));
    }
    for (i, budget) in budgets.iter().enumerate() {
        let at = |name: &str| format!("{field}[{i}].{name}");
        match budget.amount {
            BudgetAmount::Spend(money) if money.nanos() <= 0 => {
                return Err(PolicyError::new(at("spend"), "must be more than 0"));
            }
            BudgetAmount::Spend(money) if money.nanos() % 1_000 != 0 => {
                return Err(PolicyError::new(
                    at("spend"),
                    "has more than 6 decimal places, more than budgets are counted to",
                ));
            }
            BudgetAmount::Tokens(0) => {
                return Err(PolicyError::new(at("tokens"), "must be at least 1"));
            }
            _ => {}
        }
        if budgets[..i]
            .iter()
            .any(|it| it.period == budget.period && it.is_spend() == budget.is_spend())
        {
            return Err(PolicyError::new(
                at("period"),
                "repeats another budget of the same kind and period",
            ));
        }
        if budget.alert_at_percent.len() > MAX_THRESHOLDS {
            return Err(PolicyError::new(
                at("alert_at_percent"),
                format!("has more than {MAX_THRESHOLDS} thresholds"),
            ));
        }
        if budget
            .alert_at_percent
            .iter()
            .any(|it| !(1..=1000).contains(it))
        {
            return Err(PolicyError::new(
                at("alert_at_percent"),
                "must be percentages from 1 to 1000",
            ));
        }
        if budget.alert_at_percent.windows(2).any(|w| w[0] >= w[1]) {
            return Err(PolicyError::new(
                at("alert_at_percent"),
                "must be ascending, each once",
            ));
        }
    }
    Ok(())
}

/// A model alias as a policy may name it: 1–200 printable characters.
fn check_model_name(field: &str, name: &str) -> Result<(), PolicyError> {
    if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return Err(PolicyError::new(
            field,
            format!("names `{}`, which cannot be a model", name.escape_debug()),
        ));
    }
    Ok(())
}

/// Where a policy applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyScope {
    /// Every tenant, each counted on its own.
    Platform,
    /// All of the partner's sub-tenants together.
    Partner(crate::PartnerId),
    /// All of the tenant's keys together.
    Tenant(crate::TenantId),
}

/// A stored policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopedPolicy {
    pub scope: PolicyScope,
    pub policy: LimitPolicy,
}

/// Who receives a budget's alerts: the partner for its shared budgets, the tenant for every
/// other (its own, its keys', its plan's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertRecipient {
    Tenant(crate::TenantId),
    Partner(crate::PartnerId),
}

/// A budget passed one of its alert thresholds: raised once per budget, period and threshold,
/// whichever node saw it first, and delivered by webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetAlert {
    pub id: crate::AlertId,
    pub tenant_id: crate::TenantId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<crate::PartnerId>,
    /// Whose budget: `platform` (the tenant's plan), `partner`, `tenant` or `key`.
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<crate::ApiKeyId>,
    /// `spend` or `tokens`.
    pub budget: String,
    pub period: BudgetPeriod,
    /// The period's counter: `2026-12`, `2026-W49`, `2026-12-06`; for a rolling budget the
    /// day the threshold was passed.
    pub period_id: String,
    pub threshold_percent: u16,
    /// The budget and what it held once the call was counted: money as decimal text, tokens
    /// as a number.
    pub limit: String,
    pub used: String,
    pub hard: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub raised_at: time::OffsetDateTime,
}

impl BudgetAlert {
    pub fn recipient(&self) -> AlertRecipient {
        match (self.owner.as_str(), self.partner_id) {
            ("partner", Some(partner)) => AlertRecipient::Partner(partner),
            _ => AlertRecipient::Tenant(self.tenant_id),
        }
    }

    /// What makes an alert the same alert on every node.
    pub fn dedupe_key(&self) -> String {
        let whose = match (self.owner.as_str(), self.key_id, self.partner_id) {
            ("key", Some(key), _) => format!("key:{key}"),
            ("partner", _, Some(partner)) => format!("partner:{partner}"),
            (owner, _, _) => format!("{owner}:{}", self.tenant_id),
        };
        format!(
            "{whose}:{}:{}:{}:{}",
            self.budget,
            self.period.as_str(),
            self.period_id,
            self.threshold_percent
        )
    }
}

/// Where a budget alert's webhook stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Due (again) at its next attempt.
    Pending,
    Delivered,
    /// Out of attempts.
    Failed,
    /// The recipient had no webhook when it was due.
    NoEndpoint,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Pending => "pending",
            Delivery::Delivered => "delivered",
            Delivery::Failed => "failed",
            Delivery::NoEndpoint => "no_endpoint",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "pending" => Delivery::Pending,
            "delivered" => Delivery::Delivered,
            "failed" => Delivery::Failed,
            "no_endpoint" => Delivery::NoEndpoint,
            _ => return None,
        })
    }
}

/// A stored alert with its delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAlert {
    pub alert: BudgetAlert,
    pub delivery: Delivery,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub delivered_at: Option<time::OffsetDateTime>,
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered(time::OffsetDateTime),
    /// Try again at the time.
    Retry {
        at: time::OffsetDateTime,
        error: String,
    },
    Failed(String),
    NoEndpoint,
}

/// A recipient's webhook: where its alerts go and the secret that signs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub url: String,
    pub secret: crate::crypto::Sealed,
    pub created_at: time::OffsetDateTime,
    pub updated_at: time::OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(amount: BudgetAmount, period: BudgetPeriod) -> Budget {
        Budget {
            period,
            amount,
            hard: true,
            alert_at_percent: vec![],
        }
    }

    #[test]
    fn a_policy_reads_as_the_api_writes_it() {
        let policy: LimitPolicy = serde_json::from_str(
            r#"{"requests_per_minute": 60, "budgets": [{"period": "rolling_30d",
                "amount": {"spend": "25.50"}, "alert_at_percent": [50, 80, 100]}],
                "models": {"gpt-4o": {"tokens_per_minute": 1000}},
                "denied_models": ["o1"], "counters_down": "open"}"#,
        )
        .unwrap();
        assert_eq!(policy.rates.requests_per_minute, Some(60));
        assert_eq!(policy.budgets[0].period, BudgetPeriod::Rolling30Days);
        assert!(policy.budgets[0].hard, "budgets are hard unless said");
        assert_eq!(policy.budgets[0].counter_limit(), 25_500_000);
        assert!(!policy.allows_model("o1"));
        assert!(policy.allows_model("gpt-4o"));
        assert_eq!(policy.validate(), Ok(()));
        let again: LimitPolicy =
            serde_json::from_str(&serde_json::to_string(&policy).unwrap()).unwrap();
        assert_eq!(again, policy);
    }

    #[test]
    fn bad_policies_name_their_field() {
        let field = |policy: LimitPolicy| policy.validate().unwrap_err().field;
        let mut zero = LimitPolicy::default();
        zero.rates.tokens_per_day = Some(0);
        assert_eq!(field(zero), "tokens_per_day");

        let mut twice = LimitPolicy {
            budgets: vec![
                budget(BudgetAmount::Tokens(5), BudgetPeriod::Day),
                budget(BudgetAmount::Tokens(9), BudgetPeriod::Day),
            ],
            ..LimitPolicy::default()
        };
        assert_eq!(field(twice.clone()), "budgets[1].period");
        twice.budgets[1].amount = BudgetAmount::Spend(Money::from_nanos(1_000));
        assert_eq!(
            twice.validate(),
            Ok(()),
            "spend and tokens may share a period"
        );

        let fine = LimitPolicy {
            budgets: vec![budget(
                BudgetAmount::Spend(Money::from_nanos(1)),
                BudgetPeriod::Month,
            )],
            ..LimitPolicy::default()
        };
        assert_eq!(field(fine), "budgets[0].spend");

        let thresholds = LimitPolicy {
            budgets: vec![Budget {
                alert_at_percent: vec![80, 50],
                ..budget(BudgetAmount::Tokens(5), BudgetPeriod::Week)
            }],
            ..LimitPolicy::default()
        };
        assert_eq!(field(thresholds), "budgets[0].alert_at_percent");

        let mut model = LimitPolicy::default();
        model.models.insert(
            "gpt".into(),
            RateLimits {
                max_concurrent: Some(0),
                ..Default::default()
            },
        );
        assert_eq!(field(model), "models.gpt.max_concurrent");

        let name = LimitPolicy {
            denied_models: vec!["a\nb".into()],
            ..LimitPolicy::default()
        };
        assert_eq!(field(name), "denied_models");
    }

    #[test]
    fn unknown_periods_and_float_budgets_are_refused_when_read() {
        assert!(
            serde_json::from_str::<Budget>(r#"{"period": "fortnight", "amount": {"tokens": 5}}"#)
                .is_err()
        );
        assert!(
            serde_json::from_str::<Budget>(r#"{"period": "day", "amount": {"tokens": 5.5}}"#)
                .is_err()
        );
        assert!(
            serde_json::from_str::<Budget>(r#"{"period": "day", "amount": {"spend": 5.5}}"#)
                .is_err(),
            "money is text, never a float"
        );
    }
}
