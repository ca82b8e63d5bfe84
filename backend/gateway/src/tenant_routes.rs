//! Tenants' own aliases as routes: each stored spec flattened (`domain::route::expand`) over
//! the platform's catalog and the configured providers, when the access snapshot loads.
//!
//! A tenant's routes are rebuilt only when one of its aliases changed, so an unchanged
//! route keeps its breakers and latency figures across reloads.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use domain::TenantId;
use domain::route::{self, FlatSource, Platform, PlatformDeployment, RouteSpec, TenantRoute};

use crate::breaker::BreakerPolicy;
use crate::byok::ByokConfig;
use crate::cache::CachePolicy;
use crate::catalog::{Catalog, Deployment, RetryPolicy, Route};
use crate::routing::Strategy;

/// The `owned_by` of a tenant's alias in `/v1/models`.
pub const OWNED_BY: &str = "tenant";

/// The `model` label of a tenant's alias's own metrics (its deployments' carry the platform
/// model's name).
const METRIC_LABEL: &str = "tenant-alias";

/// One tenant's aliases.
#[derive(Debug, Default)]
pub struct TenantRoutes {
    routes: HashMap<Arc<str>, Arc<Route>>,
    /// Aliases in name order, for listings.
    order: Vec<Arc<str>>,
    /// What each alias was built from: (alias, updated_at), to know when to rebuild.
    stamp: Vec<(String, i128)>,
}

impl TenantRoutes {
    pub fn get(&self, alias: &str) -> Option<&Arc<Route>> {
        self.routes.get(alias)
    }

    /// In name order.
    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.order
            .iter()
            .filter_map(|alias| self.routes.get(alias).map(AsRef::as_ref))
    }
}

/// What tenants' aliases are built on: the catalog and the providers that take own keys.
struct Offer<'a> {
    catalog: &'a Catalog,
    byok: &'a ByokConfig,
}

impl Platform for Offer<'_> {
    fn model(&self, alias: &str) -> Option<Vec<PlatformDeployment>> {
        self.catalog.get(alias).map(|route| {
            // A shadow never answers callers, so no alias is built on it.
            route
                .deployments
                .iter()
                .filter(|it| it.shadow.is_none())
                .map(|it| PlatformDeployment {
                    name: it.name.to_string(),
                    provider: it.provider_name.to_string(),
                    provider_kind: it.provider.kind().as_str().to_owned(),
                    upstream_model: it.upstream_model.to_string(),
                    region: it.region.as_deref().map(str::to_owned),
                    weight: it.weight,
                    priority: it.priority,
                })
                .collect()
        })
    }

    fn accepts_own_credential(&self, provider: &str) -> bool {
        self.byok.providers.contains_key(provider)
    }
}

/// Builds every tenant's routes from the stored aliases, reusing `previous` where nothing of
/// a tenant changed.
pub(crate) fn build(
    catalog: &Catalog,
    byok: &ByokConfig,
    stored: Vec<TenantRoute>,
    previous: &HashMap<TenantId, Arc<TenantRoutes>>,
) -> HashMap<TenantId, Arc<TenantRoutes>> {
    let mut by_tenant: HashMap<TenantId, Vec<TenantRoute>> = HashMap::new();
    for it in stored {
        by_tenant.entry(it.tenant_id).or_default().push(it);
    }
    let offer = Offer { catalog, byok };
    by_tenant
        .into_iter()
        .map(|(tenant, mut routes)| {
            routes.sort_by(|a, b| a.alias.cmp(&b.alias));
            let stamp: Vec<(String, i128)> = routes
                .iter()
                .map(|it| (it.alias.clone(), it.updated_at.unix_timestamp_nanos()))
                .collect();
            if let Some(old) = previous.get(&tenant)
                && old.stamp == stamp
            {
                return (tenant, old.clone());
            }
            (
                tenant,
                Arc::new(build_tenant(&offer, tenant, &routes, stamp)),
            )
        })
        .collect()
}

fn build_tenant(
    offer: &Offer<'_>,
    tenant: TenantId,
    stored: &[TenantRoute],
    stamp: Vec<(String, i128)>,
) -> TenantRoutes {
    let specs: HashMap<String, RouteSpec> = stored
        .iter()
        .map(|it| (it.alias.clone(), it.spec.clone()))
        .collect();
    let mut res = TenantRoutes {
        stamp,
        ..TenantRoutes::default()
    };
    for it in stored {
        match build_route(offer, it, &specs) {
            Ok(route) => {
                res.order.push(route.alias.clone());
                res.routes.insert(route.alias.clone(), Arc::new(route));
            }
            // Checked when stored; only a configuration change (a model removed) gets here.
            Err(reason) => tracing::warn!(
                %tenant,
                alias = %it.alias,
                %reason,
                "a tenant's alias cannot be served and is left out"
            ),
        }
    }
    res
}

fn build_route(
    offer: &Offer<'_>,
    stored: &TenantRoute,
    specs: &HashMap<String, RouteSpec>,
) -> Result<Route, String> {
    let flat = route::expand(&stored.alias, specs, offer).map_err(|it| it.to_string())?;
    let spec_is_split = Strategy::parse(&stored.spec.strategy) == Some(Strategy::Split);
    let mut deployments = Vec::with_capacity(flat.len());
    for it in flat {
        let deployment = match &it.source {
            FlatSource::Platform { model, deployment } => {
                let base = offer
                    .catalog
                    .get(model)
                    .and_then(|route| route.deployments.iter().find(|d| *d.name == **deployment))
                    .ok_or_else(|| {
                        format!("the model `{model}` has no deployment `{deployment}`")
                    })?;
                // Metric labels stay the platform model's: bounded, whatever tenants name.
                let mut res = Deployment::for_tenant(
                    model,
                    &it.name,
                    &base.provider_name,
                    base.provider.clone(),
                    &base.upstream_model,
                );
                res.region = base.region.clone();
                res.cost_micros = base.cost_micros;
                // The platform deployment's ceiling counts the tenant's calls too.
                res.ceiling = base.ceiling.clone();
                res
            }
            FlatSource::Own {
                provider,
                upstream_model,
            } => {
                let base = offer
                    .byok
                    .providers
                    .get(provider)
                    .ok_or_else(|| format!("no provider `{provider}`"))?;
                let mut res = Deployment::for_tenant(
                    "tenant-own-credential",
                    &it.name,
                    provider,
                    base.clone(),
                    upstream_model,
                );
                res.own_credential_only = true;
                res
            }
        };
        let mut deployment = deployment;
        deployment.weight = it.weight;
        deployment.priority = it.priority;
        // An experiment's arms are recorded by name, as the configuration's are.
        if spec_is_split {
            deployment.variant = Some(deployment.name.clone());
        }
        deployments.push(deployment);
    }
    let spec = &stored.spec;
    let retry = RetryPolicy {
        max_attempts: spec
            .max_attempts
            .unwrap_or_else(|| u32::try_from(deployments.len()).unwrap_or(u32::MAX))
            .max(1),
        total_timeout: spec.timeout_ms.map(Duration::from_millis),
        backoff: RetryPolicy::once_each(1).backoff,
        on_context_window: spec.fallback_on_context_window,
    };
    let mut route = Route::new(
        &stored.alias,
        OWNED_BY,
        stored.created_at.unix_timestamp(),
        deployments,
        Strategy::parse(&spec.strategy).unwrap_or_default(),
        retry,
        Some(BreakerPolicy::default()),
    );
    route.metric_label = METRIC_LABEL.into();
    route.cache = spec.cache_ttl_seconds.map(|secs| CachePolicy {
        ttl: Duration::from_secs(u64::from(secs)),
    });
    Ok(route)
}
