//! The "your own alias" editor: what it holds as typed, its checks (the server's rules, said
//! in words before anything is sent), the request it sends, and the preview of how calls
//! will spread over its rows.

use api_types::manage::{
    DeploymentView, ModelRouteView, RouteDeploymentRequest, RouteRequest, RouteView,
};

use super::errors::FieldErrors;
use super::route_split::shares;

/// The strategies, as (value, words) for a select.
pub const STRATEGIES: [(&str, &str); 7] = [
    (
        "priority",
        "Priority: the first listed, the others as fallbacks",
    ),
    ("weighted", "Weighted: split by weight"),
    ("round_robin", "Round robin: each in turn"),
    ("least_latency", "Least latency: the fastest first"),
    ("least_cost", "Least cost: the cheapest first"),
    (
        "usage_aware",
        "Usage aware: the least used of its ceilings first",
    ),
    (
        "split",
        "Experiment: each end user sticks to one, by weight",
    ),
];

/// What a row sends calls to.
pub const KIND_MODEL: &str = "model";
pub const KIND_OWN_KEY: &str = "own_key";

/// One row as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteRow {
    /// [`KIND_MODEL`] or [`KIND_OWN_KEY`].
    pub kind: String,
    pub model: String,
    /// Empty: every deployment of the model.
    pub deployment: String,
    pub provider: String,
    pub upstream_model: String,
    pub weight: String,
    pub priority: String,
}

impl RouteRow {
    /// A new row: a platform model, weight 1, priority 0.
    pub fn new(model: &str) -> Self {
        RouteRow {
            kind: KIND_MODEL.to_owned(),
            model: model.to_owned(),
            weight: "1".to_owned(),
            priority: "0".to_owned(),
            ..RouteRow::default()
        }
    }

    /// How the row is named in the preview.
    pub fn label(&self) -> String {
        if self.kind == KIND_OWN_KEY {
            format!(
                "{} / {} (your key)",
                self.provider,
                self.upstream_model.trim()
            )
        } else if self.deployment.is_empty() {
            self.model.clone()
        } else {
            format!("{} · {}", self.model, self.deployment)
        }
    }
}

/// The whole form as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteForm {
    pub alias: String,
    pub strategy: String,
    pub rows: Vec<RouteRow>,
    pub max_attempts: String,
    pub timeout_ms: String,
    pub cache_ttl_seconds: String,
    pub fallback_on_context_window: bool,
}

impl RouteForm {
    /// The form for an alias as stored.
    pub fn from_view(view: &RouteView) -> Self {
        let text = |it: Option<u64>| it.map(|n| n.to_string()).unwrap_or_default();
        RouteForm {
            alias: view.alias.clone(),
            strategy: view.strategy.clone(),
            rows: view
                .deployments
                .iter()
                .map(|it| RouteRow {
                    kind: if it.provider.is_some() {
                        KIND_OWN_KEY.to_owned()
                    } else {
                        KIND_MODEL.to_owned()
                    },
                    model: it.model.clone().unwrap_or_default(),
                    deployment: it.deployment.clone().unwrap_or_default(),
                    provider: it.provider.clone().unwrap_or_default(),
                    upstream_model: it.upstream_model.clone().unwrap_or_default(),
                    weight: it.weight.to_string(),
                    priority: it.priority.to_string(),
                })
                .collect(),
            max_attempts: text(view.max_attempts.map(u64::from)),
            timeout_ms: text(view.timeout_ms),
            cache_ttl_seconds: text(view.cache_ttl_seconds.map(u64::from)),
            fallback_on_context_window: view.fallback_on_context_window,
        }
    }

    /// The alias and the request to send.
    ///
    /// # Errors
    /// A message per field that breaks a rule (row problems under `deployments`).
    pub fn to_request(&self) -> Result<(String, RouteRequest), FieldErrors> {
        let mut errors = FieldErrors::new();
        let alias = self.alias.trim().to_owned();
        if alias.is_empty()
            || alias.len() > 64
            || !alias
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
        {
            errors.add(
                "alias",
                "Use 1 to 64 letters, digits, dots, underscores, colons or dashes.",
            );
        }
        if self.rows.is_empty() {
            errors.add("deployments", "Add at least one deployment.");
        } else if self.rows.len() > 16 {
            errors.add("deployments", "An alias lists at most 16 deployments.");
        }
        let mut deployments = Vec::with_capacity(self.rows.len());
        for (i, row) in self.rows.iter().enumerate() {
            let n = i + 1;
            let weight = number(&row.weight, 0, 1_000_000);
            let priority = number(&row.priority, 0, 1000);
            let (Some(weight), Some(priority)) = (weight, priority) else {
                errors.add(
                    "deployments",
                    format!(
                        "Row {n}: the weight is a whole number up to 1000000, the priority up to 1000."
                    ),
                );
                continue;
            };
            let mut request = RouteDeploymentRequest {
                model: None,
                deployment: None,
                provider: None,
                upstream_model: None,
                weight: u32::try_from(weight).unwrap_or(u32::MAX),
                priority: u32::try_from(priority).unwrap_or(u32::MAX),
            };
            if row.kind == KIND_OWN_KEY {
                let upstream = row.upstream_model.trim();
                if row.provider.is_empty() {
                    errors.add("deployments", format!("Row {n}: choose a provider."));
                } else if upstream.is_empty()
                    || upstream.len() > 200
                    || !upstream.bytes().all(|b| b.is_ascii_graphic())
                {
                    errors.add(
                        "deployments",
                        format!("Row {n}: name the provider's model, without spaces."),
                    );
                }
                request.provider = Some(row.provider.clone());
                request.upstream_model = Some(upstream.to_owned());
            } else {
                if row.model.is_empty() {
                    errors.add("deployments", format!("Row {n}: choose a model."));
                }
                request.model = Some(row.model.clone());
                request.deployment = Some(row.deployment.clone()).filter(|it| !it.is_empty());
            }
            deployments.push(request);
        }
        if (self.strategy == "weighted" || self.strategy == "split")
            && deployments.iter().all(|it| it.weight == 0)
        {
            errors.add(
                "deployments",
                "A weighted or experiment alias needs a deployment with a weight above 0.",
            );
        }
        let optional = |text: &str, field: &str, min: u64, max: u64, errors: &mut FieldErrors| {
            if text.trim().is_empty() {
                return None;
            }
            let value = number(text, min, max);
            if value.is_none() {
                errors.add(
                    field,
                    format!("A whole number from {min} to {max}, or empty."),
                );
            }
            value
        };
        let max_attempts = optional(&self.max_attempts, "max_attempts", 1, 10, &mut errors);
        let timeout_ms = optional(&self.timeout_ms, "timeout_ms", 100, 600_000, &mut errors);
        let cache_ttl_seconds = optional(
            &self.cache_ttl_seconds,
            "cache_ttl_seconds",
            1,
            86_400,
            &mut errors,
        );
        errors.into_result((
            alias,
            RouteRequest {
                strategy: self.strategy.clone(),
                deployments,
                max_attempts: max_attempts.and_then(|it| u32::try_from(it).ok()),
                timeout_ms,
                fallback_on_context_window: self.fallback_on_context_window,
                cache_ttl_seconds: cache_ttl_seconds.and_then(|it| u32::try_from(it).ok()),
            },
        ))
    }

    /// The share of calls each row gets first, in row order, as the strategy splits them
    /// (rows that name a model with several deployments count as one here).
    pub fn preview(&self) -> Vec<(String, String)> {
        let route = ModelRouteView {
            alias: self.alias.clone(),
            strategy: self.strategy.clone(),
            max_attempts: 1,
            cache_ttl_secs: None,
            semantic_threshold: None,
            semantic_embedding_model: None,
            tenant_defined: true,
            deployments: self
                .rows
                .iter()
                .enumerate()
                .map(|(i, row)| DeploymentView {
                    name: format!("{i}"),
                    provider: String::new(),
                    model: String::new(),
                    weight: number(&row.weight, 0, 1_000_000)
                        .and_then(|it| u32::try_from(it).ok())
                        .unwrap_or(0),
                    priority: number(&row.priority, 0, 1000)
                        .and_then(|it| u32::try_from(it).ok())
                        .unwrap_or(1000),
                    region: None,
                    cost: None,
                    own_credential: row.kind == KIND_OWN_KEY,
                    breaker: "closed".to_owned(),
                    latency_ms: None,
                    window_calls: 0,
                    window_failures: 0,
                    rpm: None,
                    tpm: None,
                    minute_requests: None,
                    minute_tokens: None,
                    shadow: false,
                })
                .collect(),
        };
        self.rows
            .iter()
            .map(RouteRow::label)
            .zip(shares(&route))
            .collect()
    }
}

fn number(text: &str, min: u64, max: u64) -> Option<u64> {
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|it| (min..=max).contains(it))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> RouteForm {
        RouteForm {
            alias: "fast".into(),
            strategy: "weighted".into(),
            rows: vec![
                RouteRow {
                    weight: "3".into(),
                    ..RouteRow::new("gpt-4o")
                },
                RouteRow {
                    kind: KIND_OWN_KEY.into(),
                    provider: "openai".into(),
                    upstream_model: " gpt-4.1 ".into(),
                    ..RouteRow::new("")
                },
            ],
            ..RouteForm::default()
        }
    }

    #[test]
    fn a_filled_form_becomes_the_request_and_back() {
        let (alias, request) = form().to_request().unwrap();
        assert_eq!(alias, "fast");
        assert_eq!(request.deployments[0].model.as_deref(), Some("gpt-4o"));
        assert_eq!(request.deployments[0].deployment, None);
        assert_eq!(request.deployments[0].weight, 3);
        assert_eq!(request.deployments[1].provider.as_deref(), Some("openai"));
        assert_eq!(
            request.deployments[1].upstream_model.as_deref(),
            Some("gpt-4.1")
        );
        assert_eq!(request.deployments[1].model, None);
        let view = RouteView {
            alias,
            strategy: request.strategy.clone(),
            deployments: request.deployments.clone(),
            max_attempts: Some(2),
            timeout_ms: None,
            fallback_on_context_window: true,
            cache_ttl_seconds: Some(60),
            resolved: Vec::new(),
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            updated_at: time::OffsetDateTime::UNIX_EPOCH,
        };
        let again = RouteForm::from_view(&view);
        assert_eq!(again.rows[1].kind, KIND_OWN_KEY);
        assert_eq!(again.max_attempts, "2");
        assert_eq!(again.cache_ttl_seconds, "60");
        assert_eq!(
            again.to_request().unwrap().1.deployments,
            request.deployments
        );
    }

    #[test]
    fn each_rule_lands_on_its_field() {
        let failing = |f: fn(&mut RouteForm)| {
            let mut it = form();
            f(&mut it);
            let errors = it.to_request().unwrap_err();
            [
                "alias",
                "deployments",
                "max_attempts",
                "timeout_ms",
                "cache_ttl_seconds",
            ]
            .into_iter()
            .find(|field| errors.get(field).is_some())
            .unwrap_or("none")
        };
        assert_eq!(failing(|it| it.alias = "has space".into()), "alias");
        assert_eq!(failing(|it| it.alias = "a/b".into()), "alias");
        assert_eq!(failing(|it| it.rows.clear()), "deployments");
        assert_eq!(failing(|it| it.rows[0].weight = "-1".into()), "deployments");
        assert_eq!(failing(|it| it.rows[0].model.clear()), "deployments");
        assert_eq!(
            failing(|it| it.rows[1].upstream_model = "two words".into()),
            "deployments"
        );
        assert_eq!(
            failing(|it| {
                it.rows[0].weight = "0".into();
                it.rows[1].weight = "0".into();
            }),
            "deployments"
        );
        assert_eq!(failing(|it| it.max_attempts = "0".into()), "max_attempts");
        assert_eq!(failing(|it| it.timeout_ms = "5".into()), "timeout_ms");
        assert_eq!(
            failing(|it| it.cache_ttl_seconds = "a day".into()),
            "cache_ttl_seconds"
        );
    }

    #[test]
    fn the_preview_splits_by_weight_and_names_fallbacks() {
        let mut it = form();
        assert_eq!(
            it.preview(),
            [
                ("gpt-4o".to_owned(), "75%".to_owned()),
                ("openai / gpt-4.1 (your key)".to_owned(), "25%".to_owned()),
            ]
        );
        it.rows[1].priority = "1".into();
        assert_eq!(it.preview()[1].1, "fallback");
        it.strategy = "priority".into();
        it.rows[1].priority = "0".into();
        assert_eq!(it.preview()[0].1, "100%");
    }
}
