//! Which counters apply to a call: every limit from the platform's policy down to the key's
//! (platform → partner → tenant → the tenant's per model → key), each named under one Redis
//! Cluster hash tag so that one script takes them all.
//!
//! The tag is the partner's for a partner's sub-tenant (its counters are shared by all of
//! them), the tenant's otherwise.

use domain::limits::{Budget, BudgetAmount, BudgetPeriod, LimitPolicy, RateLimits};
use domain::pricing::Money;
use domain::{ApiKey, KeyLimits, PartnerId, TenantId};
use smallvec::SmallVec;
use store::limits::{Counter, DAY_MS, Window};
use time::OffsetDateTime;

use crate::access::TenantLimits;

pub(crate) const MINUTE_MS: u64 = 60_000;
/// How long an in-flight slot holds without being released when the call's route does not
/// say how long a call may last: a node that died mid-call frees its slots then.
pub(crate) const LEASE_MS: u64 = 15 * MINUTE_MS;
/// The longest lease: a route whose calls may run longer frees their slots early.
const MAX_LEASE_MS: u64 = 24 * 60 * MINUTE_MS;

/// How long a call on `route` may hold its in-flight slots: as long as the call can last (its
/// route's deadline, else every try at its provider's total timeout), and a minute more, so a
/// stream never loses its slot while it runs and a node that died frees it soon after.
pub(crate) fn lease_for(route: &crate::catalog::Route) -> u64 {
    let longest = match route.retry.total_timeout {
        Some(deadline) => deadline,
        None => {
            let each = route
                .deployments
                .iter()
                .map(|it| it.provider.timeouts().total)
                .max()
                .unwrap_or_default();
            each.saturating_mul(route.retry.max_attempts.max(1))
        }
    };
    u64::try_from(longest.as_millis())
        .unwrap_or(u64::MAX)
        .saturating_add(MINUTE_MS)
        .min(MAX_LEASE_MS)
}
/// A soft budget's counter limit: it counts but never refuses (the most the counters take).
const SOFT_LIMIT: u64 = 999_999_999_999_999;

/// How long a prepaid balance's counter is kept: far longer than the hour between rebases, so
/// only a node that lost its counters (a Redis restart) starts one over before then.
const CREDIT_COUNTER_MS: u64 = 40 * DAY_MS;

/// Whose limit a counter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    /// The operator's policy for every tenant.
    Platform,
    /// The partner's, shared by its sub-tenants.
    Partner,
    Tenant,
    /// The tenant's for one model.
    Model,
    Key,
}

impl Owner {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Owner::Platform => "platform",
            Owner::Partner => "partner",
            Owner::Tenant => "tenant",
            Owner::Model => "model",
            Owner::Key => "key",
        }
    }

    /// Whose limit, as an error message says it (never naming the platform's brand).
    fn possessive(self) -> &'static str {
        match self {
            Owner::Platform => "this tenant's plan's",
            Owner::Partner => "the account's shared",
            Owner::Tenant | Owner::Model => "this tenant's",
            Owner::Key => "this api key's",
        }
    }
}

/// What a counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    RequestsPerMinute,
    RequestsPerDay,
    TokensPerMinute,
    TokensPerDay,
    InFlight,
    /// Micro-units of the currency (counters are integers Redis's Lua keeps exact).
    Spend(BudgetPeriod),
    TokenBudget(BudgetPeriod),
    /// Prepaid credit left, in micro-units: what was spent since the balance was worked out.
    Credit,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::RequestsPerMinute => "requests_per_minute",
            Kind::RequestsPerDay => "requests_per_day",
            Kind::TokensPerMinute => "tokens_per_minute",
            Kind::TokensPerDay => "tokens_per_day",
            Kind::InFlight => "max_concurrent",
            Kind::Spend(_) => "spend",
            Kind::TokenBudget(_) => "tokens",
            Kind::Credit => "credit",
        }
    }

    pub(crate) fn period(self) -> Option<BudgetPeriod> {
        match self {
            Kind::Spend(period) | Kind::TokenBudget(period) => Some(period),
            _ => None,
        }
    }

    /// Budgets and prepaid credit: money or tokens that do not come back by waiting a
    /// minute, so they fail closed when the counters are down.
    pub(crate) fn is_budget(self) -> bool {
        self.period().is_some() || self == Kind::Credit
    }

    /// Whether the call's price is taken from it.
    fn takes_spend(self) -> bool {
        matches!(self, Kind::Spend(_) | Kind::Credit)
    }

    /// Whether the call's token reservation is taken from it.
    fn takes_tokens(self) -> bool {
        matches!(
            self,
            Kind::TokensPerMinute | Kind::TokensPerDay | Kind::TokenBudget(_)
        )
    }

    pub(crate) fn describe(self, limit: u64) -> String {
        let period = |period: BudgetPeriod| match period {
            BudgetPeriod::Day => "daily",
            BudgetPeriod::Week => "weekly",
            BudgetPeriod::Month => "monthly",
            BudgetPeriod::Rolling30Days => "30-day",
        };
        match self {
            Kind::RequestsPerMinute => format!("{limit} requests per minute"),
            Kind::RequestsPerDay => format!("{limit} requests per day"),
            Kind::TokensPerMinute => format!("{limit} tokens per minute"),
            Kind::TokensPerDay => format!("{limit} tokens per day"),
            Kind::InFlight => format!("{limit} calls at once"),
            Kind::Spend(p) => format!(
                "a {} budget of {}",
                period(p),
                Money::from_micros(i64::try_from(limit).unwrap_or(i64::MAX)).unwrap_or(Money::ZERO)
            ),
            Kind::TokenBudget(p) => format!("a {} budget of {limit} tokens", period(p)),
            Kind::Credit => format!(
                "prepaid credit of {}",
                Money::from_micros(i64::try_from(limit).unwrap_or(i64::MAX)).unwrap_or(Money::ZERO)
            ),
        }
    }
}

/// One counter's meaning, beside it in the plan.
#[derive(Debug, Clone)]
pub(crate) struct Meaning {
    pub(crate) owner: Owner,
    pub(crate) kind: Kind,
    /// The model a per-model limit is for.
    pub(crate) model: Option<String>,
    /// The limit as set: a soft budget's counter never refuses, so its own limit is here.
    pub(crate) limit: u64,
    /// A hard limit refuses; a soft budget only counts (and alerts).
    pub(crate) hard: bool,
    /// Percentages of `limit` at which an alert is sent.
    pub(crate) alert_at_percent: SmallVec<[u16; 3]>,
}

impl Meaning {
    /// Whose limit, as an error message says it.
    pub(crate) fn whose(&self) -> String {
        match &self.model {
            Some(model) => format!("{} limit for `{model}`", self.owner.possessive()),
            None => format!("{} limit", self.owner.possessive()),
        }
    }
}

/// Whose call (or whose limits, for a listing).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Who<'a> {
    pub(crate) tenant: TenantId,
    pub(crate) partner: Option<PartnerId>,
    /// `None`: the tenant's limits alone, for its listing.
    pub(crate) key: Option<&'a ApiKey>,
    pub(crate) limits: Option<&'a TenantLimits>,
}

/// Which per-model limits to include.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Models<'a> {
    /// The call's model.
    One(&'a str),
    /// Every model a policy limits (for a listing).
    All,
}

/// The counters that apply, each with its meaning; takes for tokens and spend are filled in
/// once the call's demand is known ([`Plan::fill`]).
#[derive(Debug, Default, Clone)]
pub(crate) struct Plan {
    pub(crate) counters: SmallVec<[Counter; 4]>,
    pub(crate) meanings: SmallVec<[Meaning; 4]>,
    lease_ms: u64,
}

/// What a call reserves from token and spend counters.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Reserve {
    pub(crate) tokens: u64,
    /// What the tenant is charged at most, in micro-units.
    pub(crate) price_micros: u64,
    /// What the partner is charged at most for its sub-tenant's call, in micro-units.
    pub(crate) wholesale_micros: u64,
}

impl Plan {
    /// Every counter that applies to `who`'s calls of `models` at `now`; in-flight slots are
    /// held for at most `lease_ms`.
    pub(crate) fn of(who: Who<'_>, models: Models<'_>, now: OffsetDateTime, lease_ms: u64) -> Plan {
        let mut plan = Plan {
            lease_ms,
            ..Plan::default()
        };
        let base = match who.partner {
            Some(partner) => format!("{{p:{partner}}}:t:{}", who.tenant),
            None => format!("{{t:{}}}", who.tenant),
        };
        if let Some(limits) = who.limits {
            if let Some(policy) = &limits.platform {
                plan.policy(policy, Owner::Platform, &format!("{base}:pl"), models, now);
            }
            if let (Some(policy), Some(partner)) = (&limits.partner, who.partner) {
                plan.policy(
                    policy,
                    Owner::Partner,
                    &format!("{{p:{partner}}}"),
                    models,
                    now,
                );
            }
            if let Some(policy) = &limits.tenant {
                plan.policy(policy, Owner::Tenant, &base, models, now);
            }
            if let Some(credit) = &limits.credit {
                plan.credit(credit, &base);
            }
        }
        if let Some(key) = who.key
            && key.scopes.limits.any()
        {
            plan.key(&key.scopes.limits, &format!("{base}:k:{}", key.id), now);
        }
        plan
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.counters.is_empty()
    }

    /// Holds the plan's in-flight slots for `lease_ms` (a kept plan serves calls of every
    /// route).
    pub(crate) fn set_lease(&mut self, lease_ms: u64) {
        self.lease_ms = lease_ms;
        for counter in &mut self.counters {
            if let Window::InFlight { lease_ms: held } = &mut counter.window {
                *held = lease_ms;
            }
        }
    }

    /// Whether any counter takes the call's tokens or spend (the demand is worth computing).
    pub(crate) fn needs_demand(&self) -> bool {
        self.meanings
            .iter()
            .any(|it| it.kind.takes_tokens() || it.kind.takes_spend())
    }

    /// Whether a hard budget applies: budgets fail closed when the counters are down.
    pub(crate) fn has_hard_budget(&self) -> bool {
        self.meanings
            .iter()
            .any(|it| it.kind.is_budget() && it.hard)
    }

    /// Sets the token and spend takes to what the call reserves.
    pub(crate) fn fill(&mut self, reserve: Reserve) {
        for (counter, meaning) in self.counters.iter_mut().zip(&self.meanings) {
            counter.take = match meaning.kind {
                kind if kind.takes_tokens() => reserve.tokens,
                Kind::Spend(_) if meaning.owner == Owner::Partner => reserve.wholesale_micros,
                Kind::Spend(_) | Kind::Credit => reserve.price_micros,
                _ => counter.take,
            };
        }
    }

    /// Every take set to 0: the counters are read, not taken from.
    pub(crate) fn read_only(&mut self) {
        for counter in &mut self.counters {
            counter.take = 0;
        }
    }

    fn push(&mut self, key: String, window: Window, meaning: Meaning, take: u64) {
        let limit = if meaning.hard {
            meaning.limit
        } else {
            SOFT_LIMIT
        };
        self.counters.push(Counter {
            key: key.into(),
            window,
            limit,
            take,
        });
        self.meanings.push(meaning);
    }

    fn rates(
        &mut self,
        rates: &RateLimits,
        owner: Owner,
        model: Option<&str>,
        prefix: &str,
        budget: Option<i64>,
        now: OffsetDateTime,
    ) {
        let meaning = |kind: Kind, limit: u64| Meaning {
            owner,
            kind,
            model: model.map(str::to_owned),
            limit,
            hard: true,
            alert_at_percent: SmallVec::new(),
        };
        let minute = || Window::Sliding { span_ms: MINUTE_MS };
        let day = || Window::Sliding {
            span_ms: store::limits::DAY_MS,
        };
        if let Some(limit) = rates.requests_per_minute {
            let m = meaning(Kind::RequestsPerMinute, u64::from(limit));
            self.push(format!("{prefix}:rpm"), minute(), m, 1);
        }
        if let Some(limit) = rates.requests_per_day {
            let m = meaning(Kind::RequestsPerDay, u64::from(limit));
            self.push(format!("{prefix}:rpd"), day(), m, 1);
        }
        if let Some(limit) = rates.tokens_per_minute {
            self.push(
                format!("{prefix}:tpm"),
                minute(),
                meaning(Kind::TokensPerMinute, limit),
                0,
            );
        }
        if let Some(limit) = rates.tokens_per_day {
            self.push(
                format!("{prefix}:tpd"),
                day(),
                meaning(Kind::TokensPerDay, limit),
                0,
            );
        }
        if let Some(limit) = rates.max_concurrent {
            self.push(
                format!("{prefix}:concurrent"),
                Window::InFlight {
                    lease_ms: self.lease_ms,
                },
                meaning(Kind::InFlight, u64::from(limit)),
                1,
            );
        }
        if let Some(micros) = budget {
            let (window, _) = window_of(BudgetPeriod::Month, now);
            self.push(
                format!("{prefix}:budget"),
                window,
                meaning(
                    Kind::Spend(BudgetPeriod::Month),
                    u64::try_from(micros.max(0)).unwrap_or(0),
                ),
                0,
            );
        }
    }

    fn key(&mut self, limits: &KeyLimits, prefix: &str, now: OffsetDateTime) {
        let rates = RateLimits {
            requests_per_minute: limits.requests_per_minute,
            requests_per_day: limits.requests_per_day,
            tokens_per_minute: limits.tokens_per_minute,
            tokens_per_day: limits.tokens_per_day,
            max_concurrent: limits.max_concurrent,
        };
        self.rates(
            &rates,
            Owner::Key,
            None,
            prefix,
            limits.monthly_budget_micros,
            now,
        );
        for budget in &limits.budgets {
            self.budget(budget, Owner::Key, prefix, now);
        }
    }

    fn policy(
        &mut self,
        policy: &LimitPolicy,
        owner: Owner,
        prefix: &str,
        models: Models<'_>,
        now: OffsetDateTime,
    ) {
        self.rates(&policy.rates, owner, None, prefix, None, now);
        for budget in &policy.budgets {
            self.budget(budget, owner, prefix, now);
        }
        match models {
            Models::One(model) => {
                if let Some(rates) = policy.models.get(model) {
                    let prefix = format!("{prefix}:m:{model}");
                    self.rates(rates, Owner::Model, Some(model), &prefix, None, now);
                }
            }
            Models::All => {
                for (model, rates) in &policy.models {
                    let prefix = format!("{prefix}:m:{model}");
                    self.rates(rates, Owner::Model, Some(model), &prefix, None, now);
                }
            }
        }
    }

    /// The prepaid balance as a hard spend counter of its own instant: named by `as_of`, so a
    /// new balance starts a new count on every node that loads it.
    fn credit(&mut self, credit: &domain::credit::CreditAccount, prefix: &str) {
        let as_of_ms = credit.as_of.unix_timestamp_nanos() / 1_000_000;
        let window = Window::Period {
            id: as_of_ms.to_string().into(),
            ends_at_ms: u64::try_from(as_of_ms)
                .unwrap_or(0)
                .saturating_add(CREDIT_COUNTER_MS),
        };
        let meaning = Meaning {
            owner: Owner::Tenant,
            kind: Kind::Credit,
            model: None,
            // Nano-units down to the micro-units counters keep; nothing when overdrawn.
            limit: u64::try_from(credit.balance.nanos() / 1_000).unwrap_or(0),
            hard: true,
            alert_at_percent: SmallVec::new(),
        };
        self.push(format!("{prefix}:credit"), window, meaning, 0);
    }

    fn budget(&mut self, budget: &Budget, owner: Owner, prefix: &str, now: OffsetDateTime) {
        let (window, name) = window_of(budget.period, now);
        let (kind, unit) = match budget.amount {
            BudgetAmount::Spend(_) => (Kind::Spend(budget.period), "spend"),
            BudgetAmount::Tokens(_) => (Kind::TokenBudget(budget.period), "tokens"),
        };
        let meaning = Meaning {
            owner,
            kind,
            model: None,
            limit: budget.counter_limit(),
            hard: budget.hard,
            alert_at_percent: budget.alert_at_percent.iter().copied().collect(),
        };
        self.push(format!("{prefix}:{unit}:{name}"), window, meaning, 0);
    }
}

/// A budget period's counter window at `now`, and the name its counter carries.
pub(crate) fn window_of(period: BudgetPeriod, now: OffsetDateTime) -> (Window, &'static str) {
    let date = now.date();
    let (id, ends) = match period {
        BudgetPeriod::Rolling30Days => return (Window::Rolling { days: 30 }, "30d"),
        BudgetPeriod::Day => (
            format!("{date}"),
            date.next_day().unwrap_or(time::Date::MAX),
        ),
        BudgetPeriod::Week => {
            let monday =
                date - time::Duration::days(i64::from(date.weekday().number_days_from_monday()));
            let (year, week, _) = monday.to_iso_week_date();
            (
                format!("{year}-W{week:02}"),
                monday + time::Duration::days(7),
            )
        }
        BudgetPeriod::Month => {
            let (year, month) = (date.year(), date.month());
            let next = match time::Date::from_calendar_date(year, month.next(), 1) {
                Ok(next) if month != time::Month::December => next,
                _ => time::Date::from_calendar_date(year + 1, time::Month::January, 1)
                    .unwrap_or(time::Date::MAX),
            };
            (format!("{year}-{:02}", u8::from(month)), next)
        }
    };
    let ends_at_ms = ends.midnight().assume_utc().unix_timestamp_nanos() / 1_000_000;
    let name = period.as_str();
    (
        Window::Period {
            id: id.into(),
            ends_at_ms: u64::try_from(ends_at_ms).unwrap_or(u64::MAX),
        },
        name,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn period(window: Window) -> (String, u64) {
        match window {
            Window::Period { id, ends_at_ms } => (id.to_string(), ends_at_ms),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn periods_end_at_the_next_ones_midnight() {
        let now = datetime!(2026-12-06 10:00 UTC);
        let (month, _) = window_of(BudgetPeriod::Month, now);
        assert_eq!(
            period(month),
            ("2026-12".into(), 1_798_761_600_000),
            "2027-01-01T00:00:00Z"
        );
        let (month, _) = window_of(BudgetPeriod::Month, datetime!(2026-02-28 23:59 UTC));
        assert_eq!(period(month), ("2026-02".into(), 1_772_323_200_000));
        let (day, _) = window_of(BudgetPeriod::Day, now);
        assert_eq!(
            period(day),
            ("2026-12-06".into(), 1_796_601_600_000),
            "2026-12-07T00:00:00Z"
        );
        // 2026-12-06 is a Sunday: its ISO week began on Monday 2026-11-30 and ends at the
        // next Monday's midnight.
        let (week, _) = window_of(BudgetPeriod::Week, now);
        assert_eq!(period(week), ("2026-W49".into(), 1_796_601_600_000));
        let (week, _) = window_of(BudgetPeriod::Week, datetime!(2026-12-07 00:00 UTC));
        assert_eq!(period(week).0, "2026-W50");
        // The first days of January can belong to the previous year's last week.
        let (week, _) = window_of(BudgetPeriod::Week, datetime!(2027-01-01 12:00 UTC));
        assert_eq!(period(week).0, "2026-W53");
        assert_eq!(
            window_of(BudgetPeriod::Rolling30Days, now).0,
            Window::Rolling { days: 30 }
        );
    }
}
