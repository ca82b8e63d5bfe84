//! The "create API key" form and its conversion into a `CreateKeyRequest`, with the server's
//! rules checked first; its scopes (`ScopeText`) are shared with service accounts. The "edit
//! API key" form (`EditKeyForm`) starts from a key and sends only what changed, as an
//! `UpdateKeyRequest`. Field names are the API's, so server errors land on the same inputs.

use api_types::manage::{CreateKeyRequest, KeyLimitsView, KeyView, UpdateKeyRequest};
use time::OffsetDateTime;

use super::errors::FieldErrors;
use super::limit_form::{BudgetText, check_budgets};
use super::usage_figures::{count, counted};
use super::{expiry, lists, validate};

/// The data-plane endpoints a key can be limited to: API name and label.
pub const ENDPOINTS: &[(&str, &str)] = &[
    ("chat.completions", "Chat completions"),
    ("completions", "Completions"),
    ("embeddings", "Embeddings"),
    ("messages", "Messages (Anthropic API)"),
    ("models", "Model list"),
];

/// What the form holds, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyForm {
    /// The key's label.
    pub name: String,
    pub scopes: ScopeText,
    /// One of `expiry::CHOICES`.
    pub expiry: String,
    /// `YYYY-MM-DD` when `expiry` is `date`.
    pub expiry_date: String,
}

impl KeyForm {
    /// The request to send.
    ///
    /// # Errors
    /// A message per field that breaks a rule.
    pub fn to_request(&self, now: OffsetDateTime) -> Result<CreateKeyRequest, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = key_name(&self.name, &mut errors);
        let scopes = self.scopes.check(&mut errors);
        let expires_at = match expiry::expires_at(&self.expiry, &self.expiry_date, now) {
            Ok(at) => at,
            Err(message) => {
                errors.add("expires_at", message);
                None
            }
        };
        errors.into_result(CreateKeyRequest {
            name,
            models: scopes.models,
            endpoints: scopes.endpoints,
            ip_allowlist: scopes.ip_allowlist,
            limits: scopes.limits,
            regions: scopes.regions,
            expires_at,
        })
    }
}

/// A key's optional label: `None` when blank.
fn key_name(raw: &str, errors: &mut FieldErrors) -> Option<String> {
    let name = raw.trim();
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        errors.add(
            "name",
            "A name has at most 100 characters, without control characters.",
        );
    }
    (!name.is_empty()).then(|| name.to_owned())
}

/// The "edit API key" form, as typed: it starts from the key (`from_key`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EditKeyForm {
    /// The key's label; blank removes it.
    pub name: String,
    pub scopes: ScopeText,
}

impl EditKeyForm {
    /// The form filled in with `key` as it is.
    pub fn from_key(key: &KeyView) -> Self {
        EditKeyForm {
            name: key.name.clone().unwrap_or_default(),
            scopes: ScopeText {
                models: key.models.join(", "),
                endpoints: key.endpoints.clone(),
                ip_allowlist: key.ip_allowlist.join(", "),
                regions: key.regions.join(", "),
                requests_per_minute: key
                    .limits
                    .requests_per_minute
                    .map(|it| it.to_string())
                    .unwrap_or_default(),
                requests_per_day: key
                    .limits
                    .requests_per_day
                    .map(|it| it.to_string())
                    .unwrap_or_default(),
                tokens_per_minute: key
                    .limits
                    .tokens_per_minute
                    .map(|it| it.to_string())
                    .unwrap_or_default(),
                tokens_per_day: key
                    .limits
                    .tokens_per_day
                    .map(|it| it.to_string())
                    .unwrap_or_default(),
                max_concurrent: key
                    .limits
                    .max_concurrent
                    .map(|it| it.to_string())
                    .unwrap_or_default(),
                monthly_budget: key
                    .limits
                    .monthly_budget_micros
                    .map(micros_to_input)
                    .unwrap_or_default(),
                budgets: key
                    .limits
                    .budgets
                    .iter()
                    .map(BudgetText::from_view)
                    .collect(),
            },
        }
    }

    /// The request that changes `key` into what the form holds: only the fields that differ
    /// are set, so an untouched form makes `UpdateKeyRequest::default()` (nothing to send).
    ///
    /// # Errors
    /// A message per field that breaks a rule.
    pub fn to_request(&self, key: &KeyView) -> Result<UpdateKeyRequest, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = key_name(&self.name, &mut errors);
        let scopes = self.scopes.check(&mut errors);
        let changed = |new: Vec<String>, old: &[String]| (!same_set(&new, old)).then_some(new);
        errors.into_result(UpdateKeyRequest {
            name: (name != key.name).then_some(name),
            models: changed(scopes.models, &key.models),
            endpoints: changed(scopes.endpoints, &key.endpoints),
            ip_allowlist: changed(scopes.ip_allowlist, &key.ip_allowlist),
            limits: (scopes.limits != key.limits).then_some(scopes.limits),
            regions: changed(scopes.regions, &key.regions),
            expires_at: None,
        })
    }
}

/// The same entries, in any order.
fn same_set(a: &[String], b: &[String]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort();
    b.sort();
    a.dedup();
    b.dedup();
    a == b
}

/// Scopes as typed, owned (what a form's inputs hold); `form` checks them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeText {
    /// Model aliases, separated by commas, spaces or lines; empty means all.
    pub models: String,
    /// Checked endpoints (API names); none means all.
    pub endpoints: Vec<String>,
    /// Addresses or CIDR networks; empty means anywhere.
    pub ip_allowlist: String,
    /// Regions whose deployments may serve the calls; empty means any.
    pub regions: String,
    pub requests_per_minute: String,
    pub requests_per_day: String,
    pub tokens_per_minute: String,
    pub tokens_per_day: String,
    /// Calls in progress at once.
    pub max_concurrent: String,
    /// Dollars, e.g. `25` or `12.50`.
    pub monthly_budget: String,
    /// The key's budgets per period (spend or tokens), one row each.
    pub budgets: Vec<BudgetText>,
}

/// Checked scopes, as the API takes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes {
    pub models: Vec<String>,
    pub endpoints: Vec<String>,
    pub ip_allowlist: Vec<String>,
    pub limits: KeyLimitsView,
    pub regions: Vec<String>,
}

impl ScopeText {
    /// The scopes, with a message in `errors` per field that breaks a rule (under the API's
    /// field names).
    pub fn check(&self, errors: &mut FieldErrors) -> Scopes {
        let models = lists::split(&self.models);
        if models.len() > 100 {
            errors.add("models", "At most 100 models.");
        } else if let Some(long) = models.iter().find(|it| it.len() > 200) {
            errors.add("models", format!("`{long}` is too long for a model name."));
        }
        let endpoints: Vec<String> = ENDPOINTS
            .iter()
            .map(|(api, _)| (*api).to_owned())
            .filter(|api| self.endpoints.contains(api))
            .collect();
        let ip_allowlist = lists::split(&self.ip_allowlist);
        if let Some(bad) = ip_allowlist.iter().find(|it| !validate::is_network(it)) {
            errors.add(
                "ip_allowlist",
                format!("`{bad}` is not an IP address or CIDR network (like 203.0.113.0/24)."),
            );
        } else if ip_allowlist.len() > 100 {
            errors.add("ip_allowlist", "At most 100 networks.");
        }
        let regions = lists::split(&self.regions);
        if let Some(bad) = regions.iter().find(|it| {
            it.len() > 32
                || !it
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }) {
            errors.add(
                "regions",
                format!("`{bad}` is not a region name (letters, digits, - or _, like eu-west)."),
            );
        } else if regions.len() > 16 {
            errors.add("regions", "At most 16 regions.");
        }
        let limits = KeyLimitsView {
            requests_per_minute: positive(
                &self.requests_per_minute,
                "limits.requests_per_minute",
                errors,
            )
            .and_then(|it| u32::try_from(it).ok()),
            requests_per_day: positive(&self.requests_per_day, "limits.requests_per_day", errors)
                .and_then(|it| u32::try_from(it).ok()),
            tokens_per_minute: positive(
                &self.tokens_per_minute,
                "limits.tokens_per_minute",
                errors,
            ),
            tokens_per_day: positive(&self.tokens_per_day, "limits.tokens_per_day", errors),
            max_concurrent: positive(&self.max_concurrent, "limits.max_concurrent", errors)
                .and_then(|it| u32::try_from(it).ok()),
            monthly_budget_micros: match dollars_to_micros(&self.monthly_budget) {
                Ok(it) => it,
                Err(message) => {
                    errors.add("limits.monthly_budget_micros", message);
                    None
                }
            },
            budgets: check_budgets(&self.budgets, "limits.budgets", errors),
        };
        Scopes {
            models,
            endpoints,
            ip_allowlist,
            limits,
            regions,
        }
    }
}

/// An optional whole number of at least 1.
fn positive(raw: &str, field: &str, errors: &mut FieldErrors) -> Option<u64> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match raw.replace('_', "").parse::<u64>() {
        Ok(n) if n >= 1 && (field != "limits.requests_per_minute" || n <= u64::from(u32::MAX)) => {
            Some(n)
        }
        _ => {
            errors.add(
                field,
                "Enter a whole number of at least 1, or leave it empty.",
            );
            None
        }
    }
}

/// `12.5` dollars → 12 500 000 micro-dollars, exactly (no floating point for money).
///
/// # Errors
/// A sentence, for anything but a non-negative amount with at most six decimals.
pub fn dollars_to_micros(raw: &str) -> Result<Option<i64>, String> {
    let raw = raw.trim().trim_start_matches('$').replace(',', "");
    if raw.is_empty() {
        return Ok(None);
    }
    let bad = || "Enter an amount in dollars, like 25 or 12.50.".to_owned();
    let (whole, fraction) = raw.split_once('.').unwrap_or((&raw, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > 6
    {
        return Err(bad());
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let fraction: i64 = format!("{fraction:0<6}").parse().map_err(|_| bad())?;
    whole
        .checked_mul(1_000_000)
        .and_then(|it| it.checked_add(fraction))
        .map(Some)
        .ok_or_else(bad)
}

/// A key's or service account's limits in one line (`Limits: 60 requests/min, $25.00/month`);
/// `None` without any.
pub fn limits_summary(limits: &KeyLimitsView) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(rpm) = limits.requests_per_minute {
        parts.push(format!(
            "{}/min",
            counted(u64::from(rpm), "request", "requests")
        ));
    }
    if let Some(rpd) = limits.requests_per_day {
        parts.push(format!(
            "{}/day",
            counted(u64::from(rpd), "request", "requests")
        ));
    }
    if let Some(tpm) = limits.tokens_per_minute {
        parts.push(format!("{}/min", counted(tpm, "token", "tokens")));
    }
    if let Some(tpd) = limits.tokens_per_day {
        parts.push(format!("{}/day", counted(tpd, "token", "tokens")));
    }
    if let Some(concurrent) = limits.max_concurrent {
        parts.push(format!("{} at once", count(u64::from(concurrent))));
    }
    if let Some(budget) = limits.monthly_budget_micros {
        parts.push(format!("{}/month", micros_to_dollars(budget)));
    }
    for budget in &limits.budgets {
        let amount = match (&budget.spend, budget.tokens) {
            (Some(spend), _) => spend.clone(),
            (None, Some(tokens)) => counted(tokens, "token", "tokens"),
            (None, None) => continue,
        };
        let period = match budget.period.as_str() {
            "rolling_30d" => "30 days",
            other => other,
        };
        let soft = if budget.hard { "" } else { " (soft)" };
        parts.push(format!("{amount}/{period}{soft}"));
    }
    (!parts.is_empty()).then(|| format!("Limits: {}", parts.join(", ")))
}

/// Micro-dollars as an amount to edit, exactly (`12.50`, `0.000001`), so that it reads back
/// as the same number.
pub fn micros_to_input(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let micros = micros.unsigned_abs();
    let fraction = format!("{:06}", micros % 1_000_000);
    let fraction = fraction.trim_end_matches('0');
    format!("{sign}{}.{fraction:0<2}", micros / 1_000_000)
}

/// Micro-dollars as `$12.50`.
pub fn micros_to_dollars(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let micros = micros.unsigned_abs();
    // Cents at least, and every digit a smaller amount has: $0.001 is not $0.01.
    let fraction = format!("{:06}", micros % 1_000_000);
    let fraction = fraction.trim_end_matches('0');
    let fraction = format!("{fraction:0<2}");
    format!("{sign}${}.{fraction}", micros / 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-25 12:00 UTC);

    #[test]
    fn an_empty_form_makes_an_unrestricted_key() {
        let form = KeyForm {
            expiry: "never".into(),
            ..KeyForm::default()
        };
        assert_eq!(form.to_request(NOW), Ok(CreateKeyRequest::default()));
    }

    #[test]
    fn a_full_form_becomes_every_scope() {
        let form = KeyForm {
            name: " ci ".into(),
            scopes: ScopeText {
                models: "mock, gpt-4o\nmock".into(),
                endpoints: vec!["embeddings".into(), "chat.completions".into()],
                ip_allowlist: "10.0.0.0/8 203.0.113.7".into(),
                regions: "eu, eu-west eu".into(),
                requests_per_minute: "60".into(),
                requests_per_day: "5000".into(),
                tokens_per_minute: "100_000".into(),
                tokens_per_day: String::new(),
                max_concurrent: "4".into(),
                monthly_budget: "$12.50".into(),
                budgets: Vec::new(),
            },
            expiry: "30".into(),
            expiry_date: String::new(),
        };
        let request = form.to_request(NOW).unwrap();
        assert_eq!(request.name.as_deref(), Some("ci"));
        assert_eq!(request.models, ["mock", "gpt-4o"]);
        assert_eq!(request.regions, ["eu", "eu-west"]);
        assert_eq!(
            request.endpoints,
            ["chat.completions", "embeddings"],
            "in the API's order"
        );
        assert_eq!(request.ip_allowlist, ["10.0.0.0/8", "203.0.113.7"]);
        assert_eq!(request.expires_at, Some(datetime!(2026-12-25 12:00 UTC)));
        assert_eq!(
            request.limits,
            KeyLimitsView {
                requests_per_minute: Some(60),
                requests_per_day: Some(5_000),
                tokens_per_minute: Some(100_000),
                tokens_per_day: None,
                max_concurrent: Some(4),
                monthly_budget_micros: Some(12_500_000),
                budgets: Vec::new(),
            }
        );
    }

    #[test]
    fn every_broken_field_gets_its_message() {
        let form = KeyForm {
            name: "x".repeat(101),
            scopes: ScopeText {
                ip_allowlist: "10.0.0.0/8, example.com".into(),
                requests_per_minute: "0".into(),
                tokens_per_minute: "many".into(),
                monthly_budget: "1.2345678".into(),
                ..ScopeText::default()
            },
            expiry: "date".into(),
            expiry_date: "2020-01-01".into(),
        };
        let errors = form.to_request(NOW).unwrap_err();
        for field in [
            "name",
            "ip_allowlist",
            "expires_at",
            "limits.requests_per_minute",
            "limits.tokens_per_minute",
            "limits.monthly_budget_micros",
        ] {
            assert!(errors.get(field).is_some(), "{field}");
        }
        assert!(errors.get("ip_allowlist").unwrap().contains("example.com"));
        assert_eq!(errors.get("models"), None);
    }

    fn key() -> KeyView {
        KeyView {
            id: uuid::Uuid::nil(),
            name: Some("ci".into()),
            prefix: "sk-sluice-AbCd".into(),
            last_four: "wxyz".into(),
            models: vec!["mock".into(), "gpt-4o".into()],
            endpoints: vec!["embeddings".into(), "chat.completions".into()],
            ip_allowlist: vec!["10.0.0.0/8".into()],
            limits: KeyLimitsView {
                requests_per_minute: Some(60),
                tokens_per_minute: None,
                monthly_budget_micros: Some(12_500_001),
                ..Default::default()
            },
            regions: Vec::new(),
            status: "active".into(),
            created_at: NOW,
            expires_at: None,
            revoked_at: None,
            rotated_from: None,
        }
    }

    #[test]
    fn an_untouched_edit_form_changes_nothing() {
        let form = EditKeyForm::from_key(&key());
        assert_eq!(form.name, "ci");
        assert_eq!(form.scopes.models, "mock, gpt-4o");
        assert_eq!(form.scopes.monthly_budget, "12.500001");
        assert_eq!(form.to_request(&key()), Ok(UpdateKeyRequest::default()));

        let reordered = EditKeyForm {
            scopes: ScopeText {
                models: "gpt-4o\nmock mock".into(),
                monthly_budget: "$12.500001".into(),
                ..form.scopes.clone()
            },
            ..form
        };
        assert_eq!(
            reordered.to_request(&key()),
            Ok(UpdateKeyRequest::default()),
            "the same entries in another order are no change"
        );
    }

    #[test]
    fn an_edit_sends_only_what_changed() {
        let mut form = EditKeyForm::from_key(&key());
        form.name = " billing ".into();
        form.scopes.models = "mock".into();
        assert_eq!(
            form.to_request(&key()),
            Ok(UpdateKeyRequest {
                name: Some(Some("billing".into())),
                models: Some(vec!["mock".into()]),
                ..UpdateKeyRequest::default()
            })
        );

        let mut form = EditKeyForm::from_key(&key());
        form.scopes.endpoints = vec![];
        form.scopes.ip_allowlist = "203.0.113.7".into();
        form.scopes.tokens_per_minute = "1000".into();
        let request = form.to_request(&key()).unwrap();
        assert_eq!(request.name, None);
        assert_eq!(request.models, None);
        assert_eq!(
            request.endpoints,
            Some(vec![]),
            "unchecking all means every endpoint"
        );
        assert_eq!(request.ip_allowlist, Some(vec!["203.0.113.7".into()]));
        assert_eq!(
            request.limits,
            Some(KeyLimitsView {
                tokens_per_minute: Some(1000),
                ..key().limits
            }),
            "limits go as a whole"
        );
        assert_eq!(request.expires_at, None);
    }

    #[test]
    fn a_blank_name_clears_it() {
        let mut form = EditKeyForm::from_key(&key());
        form.name = "  ".into();
        let request = form.to_request(&key()).unwrap();
        assert_eq!(request.name, Some(None));
        let body = serde_json::to_value(&request).unwrap();
        assert_eq!(body, serde_json::json!({ "name": null }));

        let unnamed = KeyView {
            name: None,
            ..key()
        };
        let form = EditKeyForm::from_key(&unnamed);
        assert_eq!(form.name, "");
        assert_eq!(form.to_request(&unnamed), Ok(UpdateKeyRequest::default()));
    }

    #[test]
    fn a_keys_budgets_are_edited_as_rows() {
        let budgeted = KeyView {
            limits: KeyLimitsView {
                budgets: vec![api_types::limits::BudgetView {
                    period: "week".into(),
                    spend: Some("19.99".into()),
                    tokens: None,
                    hard: false,
                    alert_at_percent: vec![50, 100],
                }],
                ..key().limits
            },
            ..key()
        };
        let mut form = EditKeyForm::from_key(&budgeted);
        assert_eq!(form.scopes.budgets[0].amount, "19.99");
        assert_eq!(form.scopes.budgets[0].thresholds, "50, 100");
        assert_eq!(form.to_request(&budgeted), Ok(UpdateKeyRequest::default()));

        form.scopes.budgets.push(BudgetText {
            period: "day".into(),
            kind: crate::model::limit_form::TOKENS.into(),
            amount: "5000".into(),
            ..BudgetText::default()
        });
        let request = form.to_request(&budgeted).unwrap();
        let budgets = request.limits.unwrap().budgets;
        assert_eq!(budgets.len(), 2);
        assert_eq!(
            (budgets[1].period.as_str(), budgets[1].tokens),
            ("day", Some(5000))
        );

        form.scopes.budgets[1].amount = "1.5".into();
        form.scopes.budgets.push(BudgetText {
            amount: "-3".into(),
            ..BudgetText::default()
        });
        let errors = form.to_request(&budgeted).unwrap_err();
        for field in ["limits.budgets[1].tokens", "limits.budgets[2].spend"] {
            assert!(errors.get(field).is_some(), "{field}");
        }
    }

    #[test]
    fn a_broken_edit_is_not_sent() {
        let mut form = EditKeyForm::from_key(&key());
        form.name = "x".repeat(101);
        form.scopes.ip_allowlist = "example.com".into();
        form.scopes.requests_per_minute = "0".into();
        let errors = form.to_request(&key()).unwrap_err();
        for field in ["name", "ip_allowlist", "limits.requests_per_minute"] {
            assert!(errors.get(field).is_some(), "{field}");
        }
    }

    #[test]
    fn limits_read_as_one_line() {
        assert_eq!(limits_summary(&KeyLimitsView::default()), None);
        let limits = KeyLimitsView {
            requests_per_minute: Some(60),
            tokens_per_minute: None,
            monthly_budget_micros: Some(25_000_000),
            ..Default::default()
        };
        assert_eq!(
            limits_summary(&limits).as_deref(),
            Some("Limits: 60 requests/min, $25.00/month")
        );
        let budgeted = KeyLimitsView {
            budgets: vec![
                api_types::limits::BudgetView {
                    period: "week".into(),
                    spend: Some("19.99".into()),
                    tokens: None,
                    hard: true,
                    alert_at_percent: Vec::new(),
                },
                api_types::limits::BudgetView {
                    period: "rolling_30d".into(),
                    spend: None,
                    tokens: Some(5000),
                    hard: false,
                    alert_at_percent: Vec::new(),
                },
            ],
            ..Default::default()
        };
        assert_eq!(
            limits_summary(&budgeted).as_deref(),
            Some("Limits: 19.99/week, 5\u{202f}000 tokens/30 days (soft)")
        );
        let one = KeyLimitsView {
            requests_per_minute: Some(1),
            tokens_per_day: Some(1),
            monthly_budget_micros: Some(1_000),
            ..Default::default()
        };
        assert_eq!(
            limits_summary(&one).as_deref(),
            Some("Limits: 1 request/min, 1 token/day, $0.001/month")
        );
    }

    #[test]
    fn money_is_exact() {
        assert_eq!(dollars_to_micros(""), Ok(None));
        assert_eq!(dollars_to_micros("25"), Ok(Some(25_000_000)));
        assert_eq!(dollars_to_micros("0.000001"), Ok(Some(1)));
        assert_eq!(dollars_to_micros(".5"), Ok(Some(500_000)));
        assert_eq!(dollars_to_micros("1,000.10"), Ok(Some(1_000_100_000)));
        for bad in ["-1", "1.2.3", "abc", ".", "99999999999999999999"] {
            assert!(dollars_to_micros(bad).is_err(), "{bad}");
        }
        assert_eq!(micros_to_dollars(12_500_000), "$12.50");
        assert_eq!(
            micros_to_dollars(1_000),
            "$0.001",
            "not rounded up to a cent"
        );
        assert_eq!(micros_to_dollars(1), "$0.000001");
        assert_eq!(micros_to_dollars(1_234_567), "$1.234567");
        assert_eq!(micros_to_dollars(0), "$0.00");
        assert_eq!(micros_to_dollars(-2_500_000), "-$2.50");
        for (micros, typed) in [
            (25_000_000, "25.00"),
            (12_500_000, "12.50"),
            (1, "0.000001"),
            (1_000_100_000, "1000.10"),
        ] {
            assert_eq!(micros_to_input(micros), typed);
            assert_eq!(
                dollars_to_micros(typed),
                Ok(Some(micros)),
                "{typed} reads back"
            );
        }
    }
}
