//! The limits form, one for the three scopes that have one (a tenant's own, a partner's shared
//! by its sub-tenants, the platform's for every tenant): what it holds as typed, checked as the
//! server checks it (whole limits of at least 1, budgets of at most six decimals, one budget per
//! kind and period, thresholds from 1 to 1000 %, model names an alias can have), the
//! `LimitPolicyView` it sends, and why a form is read-only. Field names are the API's
//! (`budgets[0].spend`, `models.gpt-4o.requests_per_minute`), so the server's messages land on
//! the same inputs as the portal's own.

use std::collections::BTreeMap;

use api_types::limits::{BudgetView, LimitPolicyView, RateLimitsView};

use super::errors::FieldErrors;
use super::lists;
use super::price_form::{DecimalError, money_nanos};

/// Budgets one policy holds at most (the server's `MAX_BUDGETS`).
pub const MAX_BUDGETS: usize = 8;
/// Models one policy limits separately, at most.
pub const MAX_MODEL_LIMITS: usize = 64;
/// Names in one allow or deny list, at most.
pub const MAX_MODEL_NAMES: usize = 256;
/// Alert thresholds one budget has at most.
pub const MAX_THRESHOLDS: usize = 8;
/// The longest model name a policy may hold.
const MAX_MODEL_NAME: usize = 200;

/// The rates, in the order the form shows them: API field and label.
pub const RATES: [(&str, &str); 5] = [
    ("requests_per_minute", "Requests per minute"),
    ("requests_per_day", "Requests per day"),
    ("tokens_per_minute", "Tokens per minute"),
    ("tokens_per_day", "Tokens per day"),
    ("max_concurrent", "Calls at once"),
];

/// A budget's periods: API value and label.
pub const PERIODS: [(&str, &str); 4] = [
    ("day", "Per day"),
    ("week", "Per week (Monday to Sunday)"),
    ("month", "Per calendar month"),
    ("rolling_30d", "Rolling 30 days"),
];

/// A budget counts money…
pub const SPEND: &str = "spend";
/// …or tokens.
pub const TOKENS: &str = "tokens";

/// What happens to calls when the shared counters cannot be reached: API value and words.
pub const COUNTERS_DOWN: [(&str, &str); 3] = [
    (
        "default",
        "Rate limits on each node's own counters; calls under a hard budget refused",
    ),
    ("closed", "Every call refused until the counters are back"),
    (
        "open",
        "Every limit, budgets too, on each node's own counters",
    ),
];

/// The five rates as typed, in the order of [`RATES`]; empty is no limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RatesText(pub [String; 5]);

impl RatesText {
    fn of(rates: [Option<u64>; 5]) -> Self {
        RatesText(rates.map(|it| it.map(|n| n.to_string()).unwrap_or_default()))
    }

    fn from_view(view: &RateLimitsView) -> Self {
        RatesText::of([
            view.requests_per_minute.map(u64::from),
            view.requests_per_day.map(u64::from),
            view.tokens_per_minute,
            view.tokens_per_day,
            view.max_concurrent.map(u64::from),
        ])
    }

    fn is_blank(&self) -> bool {
        self.0.iter().all(|it| it.trim().is_empty())
    }

    /// The rates, with a message in `errors` under `{at}{field}` for each one at fault.
    fn check(&self, at: &str, errors: &mut FieldErrors) -> RateLimitsView {
        let mut value = |i: usize| {
            let (field, _) = RATES[i];
            // Requests and calls at once are 32-bit on the wire; tokens 64-bit.
            let max = if field.starts_with("tokens") {
                u64::MAX
            } else {
                u64::from(u32::MAX)
            };
            match whole(&self.0[i], max) {
                Ok(it) => it,
                Err(message) => {
                    errors.add(&format!("{at}{field}"), message);
                    None
                }
            }
        };
        let small = |it: Option<u64>| it.and_then(|n| u32::try_from(n).ok());
        RateLimitsView {
            requests_per_minute: small(value(0)),
            requests_per_day: small(value(1)),
            tokens_per_minute: value(2),
            tokens_per_day: value(3),
            max_concurrent: small(value(4)),
        }
    }
}

/// An optional whole number from 1 to `max`; digit groups (`100_000`, `100,000`) are fine.
fn whole(raw: &str, max: u64) -> Result<Option<u64>, String> {
    let text: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, '_' | ',' | ' ' | '\u{202f}'))
        .collect();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<u64>() {
        Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
        Ok(0) => Err("Enter at least 1, or leave it empty for no limit.".into()),
        _ if text.bytes().all(|b| b.is_ascii_digit()) => Err(format!(
            "Enter at most {}.",
            super::usage_figures::count(max)
        )),
        _ => Err("Enter a whole number like 60, or leave it empty.".into()),
    }
}

/// One budget as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetText {
    /// One of [`PERIODS`].
    pub period: String,
    /// [`SPEND`] or [`TOKENS`].
    pub kind: String,
    /// Money (`250`, `19.99`) or tokens.
    pub amount: String,
    /// Refuses calls past it; a soft budget only alerts.
    pub hard: bool,
    /// Percentages, separated by commas or spaces: `50, 80, 100`.
    pub thresholds: String,
}

impl Default for BudgetText {
    /// A new row: a hard monthly spend budget.
    fn default() -> Self {
        BudgetText {
            period: "month".to_owned(),
            kind: SPEND.to_owned(),
            amount: String::new(),
            hard: true,
            thresholds: String::new(),
        }
    }
}

/// Budget rows as the API takes them, with a message per field that breaks a rule under `at`
/// (`budgets` for a policy, `limits.budgets` for a key: the API's names).
pub fn check_budgets(rows: &[BudgetText], at: &str, errors: &mut FieldErrors) -> Vec<BudgetView> {
    if rows.len() > MAX_BUDGETS {
        errors.add(at, format!("Use at most {MAX_BUDGETS} budgets."));
    }
    let mut budgets = Vec::with_capacity(rows.len());
    for (i, typed) in rows.iter().enumerate() {
        let row = format!("{at}[{i}]");
        let budget = typed.check(&row, errors);
        if rows[..i]
            .iter()
            .any(|it| it.period == typed.period && (it.kind == TOKENS) == (typed.kind == TOKENS))
        {
            errors.add(
                &format!("{row}.period"),
                "Another budget already counts the same for this period: change one, or remove it.",
            );
        }
        budgets.push(budget);
    }
    budgets
}

impl BudgetText {
    /// A budget as the API answered it, as its row shows it.
    pub fn from_view(view: &BudgetView) -> Self {
        let (kind, amount) = match (&view.spend, view.tokens) {
            (Some(spend), _) => (SPEND, spend.clone()),
            (None, Some(tokens)) => (TOKENS, tokens.to_string()),
            (None, None) => (SPEND, String::new()),
        };
        BudgetText {
            period: view.period.clone(),
            kind: kind.to_owned(),
            amount,
            hard: view.hard,
            thresholds: view
                .alert_at_percent
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    fn check(&self, at: &str, errors: &mut FieldErrors) -> BudgetView {
        if !PERIODS.iter().any(|(value, _)| *value == self.period) {
            errors.add(&format!("{at}.period"), "Choose a period.");
        }
        let (spend, tokens) = if self.kind == TOKENS {
            let tokens = match whole(&self.amount, u64::MAX) {
                Ok(Some(it)) => Some(it),
                Ok(None) => {
                    errors.add(
                        &format!("{at}.tokens"),
                        "Enter a number of tokens, or remove this budget.",
                    );
                    None
                }
                Err(message) => {
                    errors.add(&format!("{at}.tokens"), message);
                    None
                }
            };
            (None, tokens)
        } else {
            match spend(&self.amount) {
                Ok(it) => (Some(it), None),
                Err(message) => {
                    errors.add(&format!("{at}.spend"), message);
                    (Some(self.amount.trim().to_owned()), None)
                }
            }
        };
        let alert_at_percent = match thresholds(&self.thresholds) {
            Ok(it) => it,
            Err(message) => {
                errors.add(&format!("{at}.alert_at_percent"), message);
                Vec::new()
            }
        };
        BudgetView {
            period: self.period.clone(),
            spend,
            tokens,
            hard: self.hard,
            alert_at_percent,
        }
    }
}

/// A spend budget as typed: more than 0, at most six decimals (the counters keep micro-units).
///
/// # Errors
/// A sentence saying what is wrong, for the field.
pub fn spend(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err("Enter an amount like 250 or 19.99, or remove this budget.".into());
    }
    match money_nanos(text) {
        Ok(nanos) if nanos <= 0 => Err("A budget must be more than 0.".into()),
        Ok(nanos) if nanos % 1_000 != 0 => Err(precision()),
        Ok(_) => Ok(text.to_owned()),
        Err(DecimalError::TooPrecise) => Err(precision()),
        Err(DecimalError::TooLarge) => Err("This amount is too large.".into()),
        Err(DecimalError::NotANumber) => {
            Err("Enter a plain amount like 250 or 19.99: digits and an optional point.".into())
        }
    }
}

fn precision() -> String {
    "Use at most six decimal places: budgets are counted to the millionth.".into()
}

/// Alert thresholds as typed (`50, 80%, 100`): percentages from 1 to 1000, sorted, each once.
///
/// # Errors
/// A sentence saying what is wrong, for the field.
pub fn thresholds(raw: &str) -> Result<Vec<u16>, String> {
    let mut out = Vec::new();
    for part in raw.split(|c: char| c == ',' || c == ';' || c.is_whitespace()) {
        let part = part.trim().trim_end_matches('%').trim();
        if part.is_empty() {
            continue;
        }
        match part.parse::<u16>() {
            Ok(n) if (1..=1000).contains(&n) => out.push(n),
            _ => {
                return Err(format!(
                    "`{part}` is not a percentage from 1 to 1000: enter them like 50, 80, 100."
                ));
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    if out.len() > MAX_THRESHOLDS {
        return Err(format!(
            "Use at most {MAX_THRESHOLDS} thresholds per budget."
        ));
    }
    Ok(out)
}

/// One model's own rates as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelRatesText {
    /// The model alias the calls name.
    pub model: String,
    pub rates: RatesText,
}

/// The whole form as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitForm {
    pub rates: RatesText,
    pub budgets: Vec<BudgetText>,
    pub models: Vec<ModelRatesText>,
    /// Aliases separated by commas or lines; empty: every model.
    pub allowed_models: String,
    pub denied_models: String,
    /// One of [`COUNTERS_DOWN`].
    pub counters_down: String,
    /// A tenant's limits its own administrators may not change (set by its partner or an
    /// operator only).
    pub locked: bool,
}

impl Default for LimitForm {
    fn default() -> Self {
        LimitForm {
            rates: RatesText::default(),
            budgets: Vec::new(),
            models: Vec::new(),
            allowed_models: String::new(),
            denied_models: String::new(),
            counters_down: "default".to_owned(),
            locked: false,
        }
    }
}

impl LimitForm {
    /// The form filled in with a stored policy.
    pub fn from_view(policy: &LimitPolicyView) -> Self {
        LimitForm {
            rates: RatesText::of([
                policy.requests_per_minute.map(u64::from),
                policy.requests_per_day.map(u64::from),
                policy.tokens_per_minute,
                policy.tokens_per_day,
                policy.max_concurrent.map(u64::from),
            ]),
            budgets: policy.budgets.iter().map(BudgetText::from_view).collect(),
            models: policy
                .models
                .iter()
                .map(|(model, rates)| ModelRatesText {
                    model: model.clone(),
                    rates: RatesText::from_view(rates),
                })
                .collect(),
            allowed_models: policy.allowed_models.join(", "),
            denied_models: policy.denied_models.join(", "),
            // A scope without a policy answers `LimitPolicyView::default()`, whose
            // `counters_down` is empty rather than serde's `default`.
            counters_down: if policy.counters_down.is_empty() {
                "default".to_owned()
            } else {
                policy.counters_down.clone()
            },
            locked: policy.locked,
        }
    }

    /// The policy to send.
    ///
    /// # Errors
    /// A message per field at fault, under the API's field names.
    pub fn to_request(&self) -> Result<LimitPolicyView, FieldErrors> {
        let mut errors = FieldErrors::new();
        let rates = self.rates.check("", &mut errors);

        let budgets = check_budgets(&self.budgets, "budgets", &mut errors);

        if self.models.len() > MAX_MODEL_LIMITS {
            errors.add(
                "models",
                format!("Limit at most {MAX_MODEL_LIMITS} models separately."),
            );
        }
        let mut models = BTreeMap::new();
        for (n, row) in self.models.iter().enumerate() {
            let name = row.model.trim();
            if name.is_empty() {
                errors.add(
                    "models",
                    format!("Row {}: enter the model's name, or remove the row.", n + 1),
                );
                continue;
            }
            if let Err(message) = model_name(name) {
                errors.add("models", message);
                continue;
            }
            if models.contains_key(name) {
                errors.add("models", format!("`{name}` is listed twice."));
                continue;
            }
            if row.rates.is_blank() {
                errors.add(
                    "models",
                    format!("Set at least one rate for `{name}`, or remove its row."),
                );
            }
            let rates = row.rates.check(&format!("models.{name}."), &mut errors);
            models.insert(name.to_owned(), rates);
        }

        let allowed_models = names("allowed_models", &self.allowed_models, &mut errors);
        let denied_models = names("denied_models", &self.denied_models, &mut errors);
        if !COUNTERS_DOWN
            .iter()
            .any(|(value, _)| *value == self.counters_down)
        {
            errors.add("counters_down", "Choose what happens then.");
        }
        errors.into_result(LimitPolicyView {
            requests_per_minute: rates.requests_per_minute,
            requests_per_day: rates.requests_per_day,
            tokens_per_minute: rates.tokens_per_minute,
            tokens_per_day: rates.tokens_per_day,
            max_concurrent: rates.max_concurrent,
            budgets,
            models,
            allowed_models,
            denied_models,
            counters_down: self.counters_down.clone(),
            locked: self.locked,
        })
    }
}

/// A name a policy may hold: 1 to 200 characters, none of them control characters.
fn model_name(name: &str) -> Result<(), String> {
    if name.len() > MAX_MODEL_NAME || name.chars().any(char::is_control) {
        return Err(format!(
            "`{}` cannot be a model's name: use at most {MAX_MODEL_NAME} characters.",
            name.chars().take(40).collect::<String>()
        ));
    }
    Ok(())
}

/// An allow or deny list as typed.
fn names(field: &str, raw: &str, errors: &mut FieldErrors) -> Vec<String> {
    let names = lists::split(raw);
    if names.len() > MAX_MODEL_NAMES {
        errors.add(field, format!("List at most {MAX_MODEL_NAMES} models."));
    } else if let Some(message) = names.iter().find_map(|it| model_name(it).err()) {
        errors.add(field, message);
    }
    names
}

/// Whose policy a form edits, for the words around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyOwner {
    /// The platform's, for every tenant (operators).
    Platform,
    /// A partner's, shared by its sub-tenants.
    Partner,
    /// A tenant's own; `managed` when a partner manages the tenant.
    Tenant { managed: bool },
}

/// Why the caller may read but not change a policy (`LimitsView::editable` is false).
pub fn read_only_reason(owner: PolicyOwner, locked: bool) -> &'static str {
    match owner {
        PolicyOwner::Tenant { managed: true } if locked => {
            "Your provider has locked these limits: only they can change them."
        }
        PolicyOwner::Tenant { managed: false } if locked => {
            "The platform's operators have locked these limits: only they can change them."
        }
        PolicyOwner::Tenant { .. } => {
            "Only the tenant's owners and admins can change its limits; you can read them here."
        }
        PolicyOwner::Partner => "The platform's operators set these limits: ask them for a change.",
        PolicyOwner::Platform => "Only platform operators can change these limits.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates(values: [&str; 5]) -> RatesText {
        RatesText(values.map(str::to_owned))
    }

    fn budget(period: &str, kind: &str, amount: &str, thresholds: &str) -> BudgetText {
        BudgetText {
            period: period.into(),
            kind: kind.into(),
            amount: amount.into(),
            hard: true,
            thresholds: thresholds.into(),
        }
    }

    #[test]
    fn an_empty_form_sets_nothing() {
        let unset = LimitForm::from_view(&LimitPolicyView::default());
        assert_eq!(
            unset,
            LimitForm::default(),
            "what the API answers without a policy"
        );
        let policy = unset.to_request().unwrap();
        assert_eq!(
            serde_json::to_value(&policy).unwrap(),
            serde_json::json!({
                "budgets": [], "models": {}, "allowed_models": [], "denied_models": [],
                "counters_down": "default", "locked": false,
            })
        );
    }

    #[test]
    fn a_full_form_becomes_the_policy_and_reads_back_the_same() {
        let form = LimitForm {
            rates: rates(["60", "", "100_000", "1,000,000", "4"]),
            budgets: vec![
                budget("month", SPEND, " 250.50 ", "80%, 50 100"),
                BudgetText {
                    hard: false,
                    ..budget("rolling_30d", TOKENS, "5000000", "")
                },
            ],
            models: vec![ModelRatesText {
                model: " gpt-4o ".into(),
                rates: rates(["10", "", "", "", ""]),
            }],
            allowed_models: "gpt-4o, mock\nslow-mock".into(),
            denied_models: "o1".into(),
            counters_down: "closed".into(),
            locked: true,
        };
        let policy = form.to_request().unwrap();
        assert_eq!(policy.requests_per_minute, Some(60));
        assert_eq!(policy.requests_per_day, None);
        assert_eq!(policy.tokens_per_minute, Some(100_000));
        assert_eq!(policy.tokens_per_day, Some(1_000_000));
        assert_eq!(policy.max_concurrent, Some(4));
        assert_eq!(
            policy.budgets,
            [
                BudgetView {
                    period: "month".into(),
                    spend: Some("250.50".into()),
                    tokens: None,
                    hard: true,
                    alert_at_percent: vec![50, 80, 100],
                },
                BudgetView {
                    period: "rolling_30d".into(),
                    spend: None,
                    tokens: Some(5_000_000),
                    hard: false,
                    alert_at_percent: vec![],
                },
            ]
        );
        assert_eq!(
            policy.models["gpt-4o"],
            RateLimitsView {
                requests_per_minute: Some(10),
                ..RateLimitsView::default()
            }
        );
        assert_eq!(policy.allowed_models, ["gpt-4o", "mock", "slow-mock"]);
        assert_eq!(policy.denied_models, ["o1"]);
        assert_eq!(policy.counters_down, "closed");
        assert!(policy.locked);

        let again = LimitForm::from_view(&policy);
        assert_eq!(again.budgets[0].thresholds, "50, 80, 100");
        assert_eq!(again.rates.0[2], "100000");
        assert_eq!(
            again.to_request().unwrap(),
            policy,
            "a stored policy saves unchanged"
        );
    }

    #[test]
    fn spend_budgets_are_exact_decimals_of_at_most_six_places() {
        assert_eq!(spend("19.99"), Ok("19.99".into()));
        assert_eq!(spend("0.000001"), Ok("0.000001".into()));
        assert_eq!(
            spend("1.0000010"),
            Ok("1.0000010".into()),
            "trailing zeros are no precision"
        );
        assert_eq!(
            spend("1.0000001").unwrap_err(),
            "Use at most six decimal places: budgets are counted to the millionth."
        );
        assert_eq!(
            spend("1.0000000001").unwrap_err(),
            "Use at most six decimal places: budgets are counted to the millionth."
        );
        for zero in ["0", "0.0", "-0"] {
            assert_eq!(spend(zero).unwrap_err(), "A budget must be more than 0.");
        }
        assert_eq!(spend("-5").unwrap_err(), "A budget must be more than 0.");
        assert_eq!(
            spend("9223372037").unwrap_err(),
            "This amount is too large."
        );
        for bad in ["", "1e3", "+1", "1,5", ".5", "5.", "$5", "ten"] {
            assert!(spend(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn thresholds_are_percentages_sorted_once() {
        assert_eq!(thresholds(""), Ok(vec![]));
        assert_eq!(thresholds("100, 50%,50 ; 80"), Ok(vec![50, 80, 100]));
        assert_eq!(thresholds("1000"), Ok(vec![1000]));
        for bad in ["0", "1001", "50.5", "half", "-10"] {
            assert!(thresholds(bad).is_err(), "{bad}");
        }
        assert!(
            thresholds("10 20 30 40 50 60 70 80 90")
                .unwrap_err()
                .contains("at most 8")
        );
    }

    #[test]
    fn every_field_at_fault_is_named_as_the_server_names_it() {
        let form = LimitForm {
            rates: rates(["0", "5000000000", "many", "", ""]),
            budgets: vec![
                budget("month", SPEND, "1.0000001", ""),
                budget("month", SPEND, "20", "0"),
                budget("week", TOKENS, "", ""),
                budget("fortnight", TOKENS, "10", ""),
            ],
            models: vec![
                ModelRatesText {
                    model: "gpt".into(),
                    rates: rates(["", "", "", "", "0"]),
                },
                ModelRatesText::default(),
            ],
            allowed_models: format!("ok, {}", "m".repeat(201)),
            counters_down: "sometimes".into(),
            ..LimitForm::default()
        };
        let errors = form.to_request().unwrap_err();
        for field in [
            "requests_per_minute",
            "requests_per_day",
            "tokens_per_minute",
            "budgets[0].spend",
            "budgets[1].period",
            "budgets[1].alert_at_percent",
            "budgets[2].tokens",
            "budgets[3].period",
            "models.gpt.max_concurrent",
            "models",
            "allowed_models",
            "counters_down",
        ] {
            assert!(errors.get(field).is_some(), "{field}");
        }
        assert_eq!(errors.get("tokens_per_day"), None);
        assert_eq!(errors.get("budgets[0].period"), None);
        assert_eq!(errors.get("denied_models"), None);
        assert_eq!(
            errors.get("requests_per_day").as_deref(),
            Some("Enter at most 4\u{202f}294\u{202f}967\u{202f}295.")
        );
    }

    #[test]
    fn model_rows_need_a_name_once_and_a_rate() {
        let row = |model: &str, rpm: &str| ModelRatesText {
            model: model.into(),
            rates: rates([rpm, "", "", "", ""]),
        };
        let message = |models| {
            LimitForm {
                models,
                ..LimitForm::default()
            }
            .to_request()
            .unwrap_err()
            .get("models")
            .unwrap()
        };
        assert!(message(vec![row("a", "1"), row(" a", "2")]).contains("`a` is listed twice"));
        assert!(message(vec![row("a", "")]).contains("at least one rate for `a`"));
        assert!(message(vec![row("", "5")]).starts_with("Row 1:"));
        let too_many = (0..=MAX_MODEL_LIMITS)
            .map(|n| row(&format!("m{n}"), "1"))
            .collect();
        assert!(message(too_many).contains("at most 64"));
    }

    #[test]
    fn read_only_forms_say_why() {
        assert!(read_only_reason(PolicyOwner::Tenant { managed: true }, true).contains("provider"));
        assert!(
            read_only_reason(PolicyOwner::Tenant { managed: false }, true).contains("operators")
        );
        assert!(read_only_reason(PolicyOwner::Tenant { managed: true }, false).contains("admins"));
        assert!(read_only_reason(PolicyOwner::Partner, false).contains("operators"));
    }
}
