//! The model catalog: public aliases, the deployments that serve each one, and how a call
//! spreads over them and retries.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use providers::Provider;

use crate::breaker::{Breaker, BreakerPolicy, BreakerState};
use crate::cache::CachePolicy;
use crate::ceiling::Ceiling;
use crate::routing::{DeploymentStats, Strategy};
use crate::shadow::Shadow;
use crate::telemetry::RouteMetrics;
use crate::{Error, ErrorKind};

/// One upstream that can answer for an alias: a provider, the upstream's model name, and
/// how it ranks against the alias's other deployments.
#[derive(Debug)]
pub struct Deployment {
    /// Unique within its route; shown to callers in a response header, so it is the
    /// operator's word for it, never the platform's name.
    pub name: Arc<str>,
    /// `name` as a header value, shared by every answer.
    pub name_header: bytes::Bytes,
    /// The configured provider's name (a bounded label: providers come from configuration).
    pub provider_name: Arc<str>,
    pub provider: Arc<Provider>,
    pub upstream_model: Arc<str>,
    /// Share of traffic among deployments of equal priority (weighted strategy).
    pub weight: u32,
    /// Lower goes first; higher priorities are fallbacks.
    pub priority: u32,
    pub region: Option<Arc<str>>,
    /// What the operator says a call costs here, in millionths of a unit of their choosing
    /// (the least-cost strategy ranks by it); `None`: unknown, ranked last.
    pub cost_micros: Option<u64>,
    /// Served only with the calling tenant's own credential for the provider, never the
    /// platform's key (a tenant's alias over its own credential).
    pub own_credential_only: bool,
    pub metrics: RouteMetrics,
    /// Live figures the strategies read (latency).
    pub stats: DeploymentStats,
    pub breaker: Breaker,
    /// Requests and tokens per minute it may take from this node; `None`: unlimited (and
    /// nothing is counted).
    /// Shared with every tenant alias built on this deployment: the upstream's budget is one.
    pub ceiling: Option<Arc<Ceiling>>,
    /// The experiment arm its calls are recorded under (`UsageRecord::variant`): set for the
    /// deployments of a `split` route (their name by default) and wherever the operator
    /// labelled one; `None` records nothing, so other calls' records stay as they were.
    pub variant: Option<Arc<str>>,
    /// Set for a shadow deployment: it never answers callers (routing leaves it out), and gets
    /// a mirror of each chat call instead (`shadow::mirror`).
    pub shadow: Option<Shadow>,
    /// `None` for a tenant's alias (see `for_tenant`).
    breaker_gauge: Option<metrics::Gauge>,
    /// Its tries and latency in `/metrics`; `None` for a tenant's alias (bounded labels).
    figures: Option<Figures>,
    alias: Arc<str>,
}

/// How many tries a call gets and how long it may take across them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, across deployments (at least one).
    pub max_attempts: u32,
    /// The whole call's deadline, over every try and wait; `None`: each provider's own
    /// total timeout, counted from the request's start.
    pub total_timeout: Option<Duration>,
    /// The first wait before trying a deployment again; doubles each time, with jitter.
    pub backoff: Duration,
    /// Whether a prompt too long for one deployment goes on to the next (which the operator
    /// lists after it because its context window is larger).
    pub on_context_window: bool,
}

impl RetryPolicy {
    /// One try per deployment, no waits beyond the providers' own timeouts.
    pub fn once_each(deployments: usize) -> Self {
        RetryPolicy {
            max_attempts: u32::try_from(deployments.max(1)).unwrap_or(u32::MAX),
            total_timeout: None,
            backoff: Duration::from_millis(200),
            on_context_window: false,
        }
    }
}

/// One servable model: a public alias and the deployments behind it.
#[derive(Debug)]
pub struct Route {
    pub alias: Arc<str>,
    /// The route's `model` label in metrics: its alias, or a fixed word for a tenant's own
    /// aliases (labels stay bounded whatever tenants name).
    pub metric_label: Arc<str>,
    /// Shown as `owned_by` in `/v1/models`.
    pub owned_by: Arc<str>,
    /// Unix seconds shown as `created` in `/v1/models`.
    pub created: i64,
    /// In configuration order; never empty.
    pub deployments: Vec<Deployment>,
    pub strategy: Strategy,
    pub retry: RetryPolicy,
    /// Whether, and how long, answers are kept; `None`: never.
    pub cache: Option<CachePolicy>,
    /// Whether answers are also found again by a similar prompt (needs `cache`); `None`: never.
    pub semantic: Option<crate::semantic::SemanticPolicy>,
    /// Whether its deployments are probed in the background; `None`: never.
    pub health_check: Option<crate::health::HealthCheck>,
    /// Next start of a round-robin route.
    pub(crate) turn: std::sync::atomic::AtomicUsize,
}

impl Route {
    /// A route served by one deployment, tried once: the form `[[models]]` with a single
    /// `provider` has always meant.
    pub fn single(
        alias: &str,
        owned_by: &str,
        created: i64,
        provider_name: &str,
        provider: Arc<Provider>,
        upstream_model: &str,
    ) -> Self {
        Route::new(
            alias,
            owned_by,
            created,
            vec![Deployment::new(
                alias,
                provider_name,
                provider_name,
                provider,
                upstream_model,
            )],
            Strategy::Priority,
            RetryPolicy::once_each(1),
            Some(BreakerPolicy::default()),
        )
    }

    pub fn new(
        alias: &str,
        owned_by: &str,
        created: i64,
        deployments: Vec<Deployment>,
        strategy: Strategy,
        retry: RetryPolicy,
        breaker: Option<BreakerPolicy>,
    ) -> Self {
        let mut deployments = deployments;
        for it in &mut deployments {
            it.breaker = Breaker::new(breaker);
        }
        let alias: Arc<str> = alias.into();
        Route {
            metric_label: alias.clone(),
            alias,
            owned_by: owned_by.into(),
            created,
            deployments,
            strategy,
            retry,
            cache: None,
            semantic: None,
            health_check: None,
            turn: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// The deployment tried first when nothing has failed: what decides how a call is
    /// shaped when the shapes differ (a Messages call relayed or translated).
    /// `None` only for a route without deployments, which `Catalog::new` refuses.
    pub fn primary(&self) -> Option<&Deployment> {
        self.deployments
            .iter()
            .enumerate()
            .filter(|(_, it)| it.shadow.is_none())
            .min_by_key(|(i, it)| (it.priority, *i))
            .map(|(_, it)| it)
    }
}

impl Deployment {
    /// A deployment with weight 1 and priority 0; set the rest on the value.
    pub fn new(
        alias: &str,
        name: &str,
        provider_name: &str,
        provider: Arc<Provider>,
        upstream_model: &str,
    ) -> Self {
        Deployment {
            name: name.into(),
            name_header: bytes::Bytes::copy_from_slice(name.as_bytes()),
            provider_name: provider_name.into(),
            provider,
            upstream_model: upstream_model.into(),
            weight: 1,
            priority: 0,
            region: None,
            cost_micros: None,
            own_credential_only: false,
            metrics: RouteMetrics::new(alias, provider_name),
            stats: DeploymentStats::default(),
            breaker: Breaker::new(Some(BreakerPolicy::default())),
            ceiling: None,
            variant: None,
            shadow: None,
            breaker_gauge: Some(metrics::gauge!(
                "gateway_deployment_breaker_state",
                "model" => alias.to_owned(),
                "deployment" => name.to_owned(),
            )),
            figures: Some(Figures::new(alias, name)),
            alias: alias.into(),
        }
    }

    /// A deployment of a tenant's alias: its metrics carry the bounded `metric_model` (the
    /// platform model it is built on), and its breaker reports to the log only, so nothing a
    /// tenant names becomes a metric label or writes over a platform deployment's gauge.
    pub(crate) fn for_tenant(
        metric_model: &str,
        name: &str,
        provider_name: &str,
        provider: Arc<Provider>,
        upstream_model: &str,
    ) -> Self {
        Deployment {
            name: name.into(),
            name_header: bytes::Bytes::copy_from_slice(name.as_bytes()),
            provider_name: provider_name.into(),
            provider,
            upstream_model: upstream_model.into(),
            weight: 1,
            priority: 0,
            region: None,
            cost_micros: None,
            own_credential_only: false,
            metrics: RouteMetrics::new(metric_model, provider_name),
            stats: DeploymentStats::default(),
            breaker: Breaker::new(Some(BreakerPolicy::default())),
            ceiling: None,
            variant: None,
            shadow: None,
            breaker_gauge: None,
            figures: None,
            alias: metric_model.into(),
        }
    }

    /// Counts a try it answered, and its moving average time to first byte, in `/metrics`.
    pub(crate) fn answered(&self) {
        if let Some(figures) = &self.figures {
            figures.answered.increment(1);
            figures.ttfb.set(self.stats.ttfb().as_secs_f64());
        }
    }

    /// Counts a try it failed through its own fault.
    pub(crate) fn failed_try(&self) {
        if let Some(figures) = &self.figures {
            figures.failed.increment(1);
        }
    }

    /// The `model` label of its metrics (a configured alias: bounded).
    pub(crate) fn metric_model(&self) -> &str {
        &self.alias
    }

    /// Reports a change of its breaker's state: the gauge (0 closed, 1 open, 2 half-open), a
    /// count of changes, and a log line an operator can alert on.
    pub(crate) fn breaker_changed(&self, state: BreakerState) {
        if let Some(gauge) = &self.breaker_gauge {
            gauge.set(state.gauge());
            metrics::counter!(
                "gateway_breaker_transitions_total",
                "model" => self.alias.to_string(),
                "deployment" => self.name.to_string(),
                "to" => state.as_str(),
            )
            .increment(1);
        }
        match state {
            BreakerState::Open => tracing::warn!(
                model = %self.alias,
                deployment = %self.name,
                "circuit breaker opened: calls go to the model's other deployments"
            ),
            BreakerState::Closed | BreakerState::HalfOpen => tracing::info!(
                model = %self.alias,
                deployment = %self.name,
                state = state.as_str(),
                "circuit breaker changed"
            ),
        }
    }
}

/// A platform deployment's own figures in `/metrics`, registered once so a try costs an atomic
/// add: tries answered and failed (its error rate) and its time to first byte.
#[derive(Debug)]
struct Figures {
    answered: metrics::Counter,
    failed: metrics::Counter,
    ttfb: metrics::Gauge,
}

impl Figures {
    fn new(alias: &str, name: &str) -> Self {
        let tries = |outcome: &'static str| {
            metrics::counter!(
                "gateway_deployment_tries_total",
                "model" => alias.to_owned(),
                "deployment" => name.to_owned(),
                "outcome" => outcome,
            )
        };
        Figures {
            answered: tries("answered"),
            failed: tries("failed"),
            ttfb: metrics::gauge!(
                "gateway_deployment_ttfb_seconds",
                "model" => alias.to_owned(),
                "deployment" => name.to_owned(),
            ),
        }
    }
}

/// Every configured model, looked up by alias on each request.
#[derive(Debug, Default)]
pub struct Catalog {
    routes: HashMap<Arc<str>, Arc<Route>>,
    /// Aliases in configuration order, for stable listings.
    order: Vec<Arc<str>>,
}

impl Catalog {
    /// # Errors
    /// `Internal` when an alias is listed twice or has no deployment (configuration
    /// validation catches both first).
    pub fn new(routes: Vec<Route>) -> Result<Self, Error> {
        let mut res = Catalog::default();
        for route in routes {
            if res.routes.contains_key(&route.alias) {
                return Err(Error::internal(format!(
                    "model `{}` defined twice",
                    route.alias
                )));
            }
            if route.deployments.is_empty() {
                return Err(Error::internal(format!(
                    "model `{}` has no deployment",
                    route.alias
                )));
            }
            res.order.push(route.alias.clone());
            res.routes.insert(route.alias.clone(), Arc::new(route));
        }
        Ok(res)
    }

    /// The route of a configured alias.
    pub fn get(&self, alias: &str) -> Option<&Arc<Route>> {
        self.routes.get(alias)
    }

    /// # Errors
    /// `ModelNotFound` naming the model.
    pub fn resolve(&self, alias: &str) -> Result<&Arc<Route>, Error> {
        self.routes.get(alias).ok_or_else(|| {
            Error::new(
                ErrorKind::ModelNotFound,
                format!(
                    "the model `{}` does not exist; list the available models with GET /v1/models",
                    truncate(alias, 100)
                ),
            )
            .with_param("model")
        })
    }

    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.order
            .iter()
            .filter_map(|alias| self.routes.get(alias).map(|it| it.as_ref()))
    }
}

/// Echoing client input in messages is bounded, so a huge `model` cannot bloat an error.
pub(crate) fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_owned()
    } else {
        let mut res: String = text.chars().take(max_chars).collect();
        res.push('…');
        res
    }
}
