//! `[[models]]`: public aliases and the deployments behind each, with how calls spread over
//! them and retry. The one-provider form (`provider`, `model`) is a route of one deployment.

use std::collections::BTreeMap;
use std::time::Duration;

use domain::tenant::SemanticThreshold;
use gateway::RetryPolicy;
use gateway::breaker::BreakerPolicy;
use gateway::cache::CachePolicy;
use gateway::health::HealthCheck;
use gateway::routing::Strategy;
use gateway::semantic::SemanticPolicy;
use toml::Spanned;

use super::raw::{RawBreaker, RawDeployment, RawModel, RawProvider, RawSemantic};
use super::{ConfigError, Source};

/// One deployment of a model alias.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeploymentSettings {
    pub name: String,
    pub provider: String,
    pub upstream_model: String,
    pub weight: u32,
    pub priority: u32,
    pub region: Option<String>,
    /// The operator's cost of a call here, in millionths (least-cost strategy).
    pub cost_micros: Option<u64>,
    /// Requests per minute this node may send it; `None`: unlimited.
    pub rpm: Option<u32>,
    /// Tokens per minute this node may send it; `None`: unlimited.
    pub tpm: Option<u64>,
    /// The experiment arm its calls are recorded under: as configured, or the name for a
    /// deployment of a `split` model; `None` records none.
    pub variant: Option<String>,
    /// Never answers callers; gets a copy of each chat call, recorded with status `shadow`.
    pub shadow: bool,
}

/// One public model alias.
#[derive(Debug, Clone)]
pub struct ModelSettings {
    pub alias: String,
    pub owned_by: String,
    /// Never empty.
    pub deployments: Vec<DeploymentSettings>,
    pub strategy: Strategy,
    pub retry: RetryPolicy,
    /// `None`: the deployments' breakers never open.
    pub breaker: Option<BreakerPolicy>,
    /// `None`: answers are never kept.
    pub cache: Option<CachePolicy>,
    /// `None`: answers are found again by their exact request only.
    pub semantic: Option<SemanticPolicy>,
    /// `None`: deployments are judged by live calls only.
    pub health_check: Option<HealthCheck>,
}

/// Most tries one call may take: each is a full upstream call.
const MAX_ATTEMPTS: i64 = 10;
/// Longest a route may keep an answer: a week.
const MAX_CACHE_TTL_SECS: i64 = 7 * 86_400;
/// Most entries a route's semantic cache keeps per tenant on one node.
const MAX_SEMANTIC_ENTRIES: i64 = 100_000;
/// A semantic tier's threshold when the table gives none.
const DEFAULT_SEMANTIC_THRESHOLD: f64 = 0.92;
/// A semantic tier's entries per tenant when the table gives none.
const DEFAULT_SEMANTIC_ENTRIES: usize = 1000;
/// Longest total deadline a route may set (ten minutes, like the providers' own).
const MAX_TIMEOUT_MS: i64 = 600_000;

/// Validates the `[[models]]` tables against the configured providers.
pub(super) fn model_settings(
    source: &Source<'_>,
    raw: &[RawModel],
    providers: &BTreeMap<String, RawProvider>,
) -> Result<Vec<ModelSettings>, ConfigError> {
    let mut models: Vec<ModelSettings> = Vec::new();
    for (i, model) in raw.iter().enumerate() {
        let key = format!("models[{i}]");
        let alias = model.alias.get_ref().trim();
        if alias.is_empty() || alias.len() > 200 {
            return Err(source.at(
                &model.alias,
                &format!("{key}.alias"),
                "must be 1 to 200 characters",
            ));
        }
        if models.iter().any(|it| it.alias == alias) {
            return Err(source.at(
                &model.alias,
                &format!("{key}.alias"),
                format!("`{alias}` is defined twice"),
            ));
        }
        let deployments = match (&model.provider, &model.deployments) {
            (Some(provider), None) => {
                known_provider(source, provider, &format!("{key}.provider"), providers)?;
                vec![DeploymentSettings {
                    name: provider.get_ref().clone(),
                    provider: provider.get_ref().clone(),
                    upstream_model: model.model.clone().unwrap_or_else(|| alias.to_owned()),
                    weight: 1,
                    priority: 0,
                    region: None,
                    cost_micros: None,
                    ..DeploymentSettings::default()
                }]
            }
            (None, Some(list)) => {
                if model.model.is_some() {
                    return Err(source.at(
                        list,
                        &format!("{key}.model"),
                        "set `model` on each deployment, not on the alias",
                    ));
                }
                deployments(source, &key, alias, list, providers)?
            }
            (Some(provider), Some(_)) => {
                return Err(source.at(
                    provider,
                    &format!("{key}.provider"),
                    "give either `provider` (one deployment) or `deployments`, not both",
                ));
            }
            (None, None) => {
                return Err(source.at(
                    &model.alias,
                    &format!("{key}.provider"),
                    "missing: give `provider` or a list of `deployments`",
                ));
            }
        };
        let strategy = match &model.strategy {
            None => Strategy::Priority,
            Some(name) => Strategy::parse(name.get_ref()).ok_or_else(|| {
                source.at(
                    name,
                    &format!("{key}.strategy"),
                    format!(
                        "unknown strategy `{}` (one of: {})",
                        name.get_ref(),
                        Strategy::NAMES.join(", ")
                    ),
                )
            })?,
        };
        if matches!(strategy, Strategy::Weighted | Strategy::Split)
            && deployments.iter().all(|it| it.weight == 0)
        {
            let at = model
                .strategy
                .as_ref()
                .map_or(model.alias.span(), Spanned::span);
            return Err(source.at_span(
                at,
                &format!("{key}.deployments"),
                "every weight is 0: at least one deployment needs a positive weight",
            ));
        }
        if strategy == Strategy::UsageAware
            && deployments
                .iter()
                .all(|it| it.rpm.is_none() && it.tpm.is_none())
        {
            let at = model
                .strategy
                .as_ref()
                .map_or(model.alias.span(), Spanned::span);
            return Err(source.at_span(
                at,
                &format!("{key}.strategy"),
                "`usage_aware` ranks deployments by their ceilings: set `rpm` or `tpm` on at least one deployment",
            ));
        }
        if deployments.iter().all(|it| it.shadow) {
            let at = model
                .deployments
                .as_ref()
                .map_or(model.alias.span(), Spanned::span);
            return Err(source.at_span(
                at,
                &format!("{key}.deployments"),
                "every deployment is a shadow: at least one must answer callers",
            ));
        }
        let mut deployments = deployments;
        for it in &mut deployments {
            // Each arm of an experiment, and each shadow, is recorded under its own label or
            // its name.
            if strategy == Strategy::Split || it.shadow {
                it.variant.get_or_insert_with(|| it.name.clone());
            }
        }
        let mut retry = RetryPolicy::once_each(deployments.len());
        if let Some(n) = &model.max_attempts {
            retry.max_attempts =
                bounded(source, n, &format!("{key}.max_attempts"), 1, MAX_ATTEMPTS)?;
        }
        if let Some(ms) = &model.timeout_ms {
            let ms = bounded(source, ms, &format!("{key}.timeout_ms"), 1, MAX_TIMEOUT_MS)?;
            retry.total_timeout = Some(Duration::from_millis(u64::from(ms)));
        }
        retry.on_context_window = model.fallback_on_context_window.unwrap_or(false);
        if let Some(ms) = &model.backoff_ms {
            let ms = bounded(source, ms, &format!("{key}.backoff_ms"), 0, 60_000)?;
            retry.backoff = Duration::from_millis(u64::from(ms));
        }
        let breaker = match &model.breaker {
            None => Some(BreakerPolicy::default()),
            Some(raw) => breaker_policy(source, &format!("{key}.breaker"), raw)?,
        };
        let cache = match &model.cache {
            None => None,
            Some(raw) => {
                let secs = bounded(
                    source,
                    &raw.ttl_secs,
                    &format!("{key}.cache.ttl_secs"),
                    1,
                    MAX_CACHE_TTL_SECS,
                )?;
                Some(CachePolicy {
                    ttl: Duration::from_secs(u64::from(secs)),
                })
            }
        };
        let semantic = match model.cache.as_ref().and_then(|it| it.semantic.as_ref()) {
            None => None,
            Some(semantic) => Some(semantic_policy(
                source,
                &format!("{key}.cache.semantic"),
                alias,
                semantic.get_ref(),
                raw,
            )?),
        };
        let health_check = match &model.health_check {
            None => None,
            Some(raw) => {
                let interval = bounded(
                    source,
                    &raw.interval_secs,
                    &format!("{key}.health_check.interval_secs"),
                    1,
                    3600,
                )?;
                let timeout = match &raw.timeout_ms {
                    None => 5_000.min(u64::from(interval) * 1000),
                    Some(ms) => {
                        let max = i64::from(interval) * 1000;
                        u64::from(bounded(
                            source,
                            ms,
                            &format!("{key}.health_check.timeout_ms"),
                            100,
                            max,
                        )?)
                    }
                };
                Some(HealthCheck {
                    interval: Duration::from_secs(u64::from(interval)),
                    timeout: Duration::from_millis(timeout),
                })
            }
        };
        models.push(ModelSettings {
            alias: alias.to_owned(),
            owned_by: model.owned_by.clone().unwrap_or_else(|| {
                deployments
                    .first()
                    .map(|it| it.provider.clone())
                    .unwrap_or_default()
            }),
            deployments,
            strategy,
            retry,
            breaker,
            cache,
            semantic,
            health_check,
        });
    }
    Ok(models)
}

/// `cache = { semantic = { ... } }`: the embedding model must be another configured alias
/// (any `[[models]]` table, before or after this one).
fn semantic_policy(
    source: &Source<'_>,
    key: &str,
    alias: &str,
    raw: &RawSemantic,
    models: &[RawModel],
) -> Result<SemanticPolicy, ConfigError> {
    let model = raw.embedding_model.get_ref().trim();
    if model == alias {
        return Err(source.at(
            &raw.embedding_model,
            &format!("{key}.embedding_model"),
            "must name another model: the one whose embeddings compare this model's prompts",
        ));
    }
    if !models.iter().any(|it| it.alias.get_ref().trim() == model) {
        let known: Vec<&str> = models
            .iter()
            .map(|it| it.alias.get_ref().trim())
            .filter(|it| *it != alias)
            .collect();
        return Err(source.at(
            &raw.embedding_model,
            &format!("{key}.embedding_model"),
            format!("unknown model `{model}` (configured: {})", known.join(", ")),
        ));
    }
    let threshold = match &raw.threshold {
        None => DEFAULT_SEMANTIC_THRESHOLD,
        Some(value) => *value.get_ref(),
    };
    let threshold = SemanticThreshold::from_fraction(threshold).map_err(|message| {
        let span = raw
            .threshold
            .as_ref()
            .map_or(raw.embedding_model.span(), Spanned::span);
        source.at_span(span, &format!("{key}.threshold"), message)
    })?;
    let max_entries = match &raw.max_entries {
        None => DEFAULT_SEMANTIC_ENTRIES,
        Some(n) => {
            let n = bounded(
                source,
                n,
                &format!("{key}.max_entries"),
                1,
                MAX_SEMANTIC_ENTRIES,
            )?;
            usize::try_from(n).unwrap_or(DEFAULT_SEMANTIC_ENTRIES)
        }
    };
    Ok(SemanticPolicy {
        embedding_model: model.into(),
        threshold,
        multi_turn: raw.multi_turn.unwrap_or(false),
        max_entries,
    })
}

/// `breaker = { ... }`: the defaults with what the table changes; `enabled = false`: none.
fn breaker_policy(
    source: &Source<'_>,
    key: &str,
    raw: &RawBreaker,
) -> Result<Option<BreakerPolicy>, ConfigError> {
    if raw.enabled == Some(false) {
        return Ok(None);
    }
    let mut res = BreakerPolicy::default();
    let field = |value: &Option<Spanned<i64>>, name: &str, min: i64, max: i64| {
        value
            .as_ref()
            .map(|it| bounded(source, it, &format!("{key}.{name}"), min, max))
            .transpose()
    };
    if let Some(n) = field(&raw.consecutive_failures, "consecutive_failures", 1, 1000)? {
        res.consecutive_failures = n;
    }
    if let Some(n) = field(&raw.error_rate_percent, "error_rate_percent", 1, 100)? {
        res.error_rate_percent = n;
    }
    if let Some(n) = field(&raw.min_calls, "min_calls", 1, 100_000)? {
        res.min_calls = n;
    }
    if let Some(n) = field(&raw.window_secs, "window_secs", 1, 3600)? {
        res.window = Duration::from_secs(u64::from(n));
    }
    if let Some(n) = field(&raw.cooldown_secs, "cooldown_secs", 1, 3600)? {
        res.cooldown = Duration::from_secs(u64::from(n));
    }
    Ok(Some(res))
}

fn deployments(
    source: &Source<'_>,
    key: &str,
    alias: &str,
    list: &Spanned<Vec<RawDeployment>>,
    providers: &BTreeMap<String, RawProvider>,
) -> Result<Vec<DeploymentSettings>, ConfigError> {
    if list.get_ref().is_empty() {
        return Err(source.at(
            list,
            &format!("{key}.deployments"),
            "is empty: a model needs at least one deployment",
        ));
    }
    if list.get_ref().len() > 32 {
        return Err(source.at(
            list,
            &format!("{key}.deployments"),
            "has more than 32 deployments",
        ));
    }
    let mut res: Vec<DeploymentSettings> = Vec::new();
    for (j, raw) in list.get_ref().iter().enumerate() {
        let at = format!("{key}.deployments[{j}]");
        known_provider(source, &raw.provider, &format!("{at}.provider"), providers)?;
        let provider = raw.provider.get_ref().clone();
        let upstream_model = raw.model.clone().unwrap_or_else(|| alias.to_owned());
        let name = match &raw.name {
            Some(name) => {
                let text = name.get_ref().trim();
                if !header_safe(text) {
                    return Err(source.at(
                        name,
                        &format!("{at}.name"),
                        "must be 1 to 100 visible ASCII characters (it is sent in a response header)",
                    ));
                }
                text.to_owned()
            }
            None if list
                .get_ref()
                .iter()
                .filter(|it| it.provider.get_ref() == &provider)
                .count()
                == 1 =>
            {
                provider.clone()
            }
            None => format!("{provider}/{upstream_model}"),
        };
        if !header_safe(&name) {
            return Err(source.at(
                &raw.provider,
                &format!("{at}.name"),
                "missing: the default name (provider/model) is not a valid header value; set `name`",
            ));
        }
        if res.iter().any(|it| it.name == name) {
            let span = raw.name.as_ref().map_or(raw.provider.span(), Spanned::span);
            return Err(source.at_span(
                span,
                &format!("{at}.name"),
                format!(
                    "`{name}` names two deployments of this model; give each a distinct `name`"
                ),
            ));
        }
        let weight = match &raw.weight {
            None => 1,
            Some(w) => bounded(source, w, &format!("{at}.weight"), 0, 1_000_000)?,
        };
        let priority = match &raw.priority {
            None => 0,
            Some(p) => bounded(source, p, &format!("{at}.priority"), 0, 1000)?,
        };
        let region = match &raw.region {
            None => None,
            Some(region) => {
                let text = region.get_ref().trim();
                if text.is_empty() || text.len() > 64 || !header_safe(text) {
                    return Err(source.at(
                        region,
                        &format!("{at}.region"),
                        "must be 1 to 64 visible ASCII characters",
                    ));
                }
                Some(text.to_owned())
            }
        };
        let cost_micros = match &raw.cost {
            None => None,
            Some(cost) => {
                let value = *cost.get_ref();
                if !(0.0..=1e9).contains(&value) {
                    return Err(source.at(
                        cost,
                        &format!("{at}.cost"),
                        format!("must be a number from 0 to 1000000000, not {value}"),
                    ));
                }
                // A ranking figure, not money: millionths are precision enough to order by.
                #[expect(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "checked to be within 0..=1e9, so 1e15 at most"
                )]
                Some((value * 1e6).round() as u64)
            }
        };
        let rpm = raw
            .rpm
            .as_ref()
            .map(|it| bounded(source, it, &format!("{at}.rpm"), 1, i64::from(u32::MAX)))
            .transpose()?;
        let tpm = raw
            .tpm
            .as_ref()
            .map(|it| {
                bounded(source, it, &format!("{at}.tpm"), 1, i64::from(u32::MAX)).map(u64::from)
            })
            .transpose()?;
        let variant = match &raw.variant {
            None => None,
            Some(variant) => {
                let text = variant.get_ref().trim();
                if !header_safe(text) {
                    return Err(source.at(
                        variant,
                        &format!("{at}.variant"),
                        "must be 1 to 100 visible ASCII characters",
                    ));
                }
                Some(text.to_owned())
            }
        };
        res.push(DeploymentSettings {
            name,
            provider,
            upstream_model,
            weight,
            priority,
            region,
            cost_micros,
            rpm,
            tpm,
            variant,
            shadow: raw.shadow.unwrap_or(false),
        });
    }
    Ok(res)
}

fn known_provider(
    source: &Source<'_>,
    provider: &Spanned<String>,
    key: &str,
    providers: &BTreeMap<String, RawProvider>,
) -> Result<(), ConfigError> {
    if providers.contains_key(provider.get_ref()) {
        return Ok(());
    }
    let known: Vec<&str> = providers.keys().map(String::as_str).collect();
    Err(source.at(
        provider,
        key,
        format!(
            "unknown provider `{}` (configured: {})",
            provider.get_ref(),
            known.join(", ")
        ),
    ))
}

/// A value within `min..=max`, as a `u32`.
fn bounded(
    source: &Source<'_>,
    value: &Spanned<i64>,
    key: &str,
    min: i64,
    max: i64,
) -> Result<u32, ConfigError> {
    let n = *value.get_ref();
    if !(min..=max).contains(&n) {
        return Err(source.at(
            value,
            key,
            format!("must be between {min} and {max}, not {n}"),
        ));
    }
    u32::try_from(n).map_err(|_| source.at(value, key, format!("must be between {min} and {max}")))
}

/// Printable ASCII without spaces at the ends: a valid header value as it is.
fn header_safe(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 100
        && text.trim() == text
        && text.bytes().all(|b| (0x20..0x7f).contains(&b))
}
