//! Tenants' own model aliases: checked against the platform's models, the tenant's
//! credentials and its other aliases (no loops, nothing left unservable) before they are
//! stored; every node then serves them within a second, like keys.

use std::collections::HashMap;

use domain::route::{self, Flat, Platform, Problem, RouteSpec, Serves, TenantRoute};
use domain::{Permission, TenantId};
use time::OffsetDateTime;

use crate::{Error, Identity, Manager};

/// A stored alias and the deployments it flattens to now.
#[derive(Debug, Clone)]
pub struct RouteReport {
    pub route: TenantRoute,
    pub flat: Vec<Flat>,
    /// What the platform offers, to describe the flattened deployments.
    pub platform: std::sync::Arc<route::PlatformModels>,
}

fn invalid(problem: Problem) -> Error {
    Error::invalid(&problem.field, problem.message)
}

fn spec_json(spec: &RouteSpec) -> Option<String> {
    serde_json::to_string(spec).ok()
}

impl Manager {
    /// The tenant's aliases, each with what it flattens to now (an alias whose platform model
    /// was removed from the configuration flattens to nothing and is served as unknown).
    ///
    /// # Errors
    /// Missing permission.
    pub async fn routes(
        &self,
        identity: &Identity,
        tenant: TenantId,
    ) -> Result<Vec<RouteReport>, Error> {
        self.authorize(identity, tenant, Permission::ViewTenant)
            .await?;
        let routes = self.store.list_routes(tenant).await?;
        let specs: HashMap<String, RouteSpec> = routes
            .iter()
            .map(|it| (it.alias.clone(), it.spec.clone()))
            .collect();
        Ok(routes
            .into_iter()
            .map(|route| {
                let flat =
                    route::expand(&route.alias, &specs, self.config.platform_models.as_ref())
                        .unwrap_or_default();
                RouteReport {
                    route,
                    flat,
                    platform: self.config.platform_models.clone(),
                }
            })
            .collect())
    }

    /// Creates or replaces an alias. Answers it and whether it was created.
    ///
    /// # Errors
    /// Missing permission; `Invalid` naming the field (a name the platform uses, an unknown
    /// model, deployment or provider, a provider the tenant has no credential for, a loop, a
    /// change that would break another alias naming this one); too many aliases.
    pub async fn put_route(
        &self,
        identity: &Identity,
        tenant: TenantId,
        alias: &str,
        spec: RouteSpec,
    ) -> Result<(RouteReport, bool), Error> {
        self.authorize(identity, tenant, Permission::ManageTenant)
            .await?;
        route::check_alias(alias).map_err(invalid)?;
        let platform = self.config.platform_models.as_ref();
        if platform.models.contains_key(alias) {
            return Err(Error::invalid(
                "alias",
                format!("`{alias}` is one of the platform's models; choose another name"),
            ));
        }
        route::check_spec(&spec).map_err(invalid)?;
        let existing = self.store.list_routes(tenant).await?;
        let before = existing.iter().find(|it| it.alias == alias).cloned();
        if before.is_none() && existing.len() >= route::MAX_ROUTES {
            return Err(Error::invalid(
                "alias",
                format!("a tenant defines at most {} aliases", route::MAX_ROUTES),
            ));
        }
        let needs_credential: Vec<(usize, &str)> = spec
            .targets
            .iter()
            .enumerate()
            .filter_map(|(i, it)| match &it.serves {
                Serves::OwnCredential { provider, .. } => Some((i, provider.as_str())),
                Serves::Model { .. } => None,
            })
            .collect();
        if !needs_credential.is_empty() {
            let credentials = self.store.list_credentials(tenant).await?;
            for (i, provider) in needs_credential {
                if platform.accepts_own_credential(provider)
                    && !credentials.iter().any(|it| it.provider == provider)
                {
                    return Err(Error::invalid(
                        &format!("deployments[{i}].provider"),
                        format!(
                            "the tenant has no credential for provider `{provider}`; add one under provider keys first"
                        ),
                    ));
                }
            }
        }
        let mut specs: HashMap<String, RouteSpec> = existing
            .iter()
            .map(|it| (it.alias.clone(), it.spec.clone()))
            .collect();
        specs.insert(alias.to_owned(), spec.clone());
        let flat = route::expand(alias, &specs, platform).map_err(invalid)?;
        // Every other alias must still be servable with this one changed.
        for other in existing.iter().filter(|it| it.alias != alias) {
            if let Err(problem) = route::expand(&other.alias, &specs, platform) {
                return Err(Error::invalid(
                    "deployments",
                    format!(
                        "your alias `{}` names this one and would break: {}",
                        other.alias, problem.message
                    ),
                ));
            }
        }
        let now = OffsetDateTime::now_utc();
        let route = TenantRoute {
            tenant_id: tenant,
            alias: alias.to_owned(),
            spec,
            updated_by: Some(identity.user.id),
            created_at: before.as_ref().map_or(now, |it| it.created_at),
            updated_at: now,
        };
        let audit = identity
            .audit(
                Some(tenant),
                if before.is_some() {
                    "route.update"
                } else {
                    "route.create"
                },
            )
            .target("route", alias)
            .change(
                before.as_ref().and_then(|it| spec_json(&it.spec)),
                spec_json(&route.spec),
            );
        let created = self.store.put_route(&route, &audit).await?;
        self.changed().await;
        let report = RouteReport {
            route,
            flat,
            platform: self.config.platform_models.clone(),
        };
        Ok((report, created))
    }

    /// The regions the tenant keeps its calls to (empty: any), and the regions the
    /// platform's deployments are in.
    ///
    /// # Errors
    /// Missing permission.
    pub async fn residency(
        &self,
        identity: &Identity,
        tenant: TenantId,
    ) -> Result<(Vec<String>, Vec<String>), Error> {
        self.authorize(identity, tenant, Permission::ViewTenant)
            .await?;
        let regions = self.store.tenant_regions(tenant).await?;
        Ok((regions, self.config.platform_models.regions()))
    }

    /// Keeps the tenant's calls to deployments in `regions` (empty: any): no try, fallback,
    /// copy or cached answer comes from elsewhere. Keys may narrow it further.
    ///
    /// # Errors
    /// Missing permission; `Invalid` for a malformed region or one no deployment is in.
    pub async fn set_residency(
        &self,
        identity: &Identity,
        tenant: TenantId,
        regions: &[String],
    ) -> Result<Vec<String>, Error> {
        self.authorize(identity, tenant, Permission::ManageTenant)
            .await?;
        let regions = domain::tenant::check_regions(regions)
            .map_err(|message| Error::invalid("regions", message))?;
        let offered = self.config.platform_models.regions();
        if let Some(unknown) = regions.iter().find(|it| !offered.contains(it)) {
            return Err(Error::invalid(
                "regions",
                if offered.is_empty() {
                    "no deployment of this platform names a region".to_owned()
                } else {
                    format!(
                        "no deployment is in `{unknown}`; the regions are {}",
                        offered.join(", ")
                    )
                },
            ));
        }
        let before = self.store.tenant_regions(tenant).await?;
        let audit = identity
            .audit(Some(tenant), "tenant.residency")
            .target("tenant", tenant)
            .change(
                serde_json::to_string(&before).ok(),
                serde_json::to_string(&regions).ok(),
            );
        self.store
            .set_tenant_regions(tenant, &regions, &audit)
            .await?;
        self.changed().await;
        Ok(regions)
    }

    /// # Errors
    /// Missing permission; `NotFound`; `Conflict` while another alias names this one.
    pub async fn delete_route(
        &self,
        identity: &Identity,
        tenant: TenantId,
        alias: &str,
    ) -> Result<(), Error> {
        self.authorize(identity, tenant, Permission::ManageTenant)
            .await?;
        let existing = self.store.list_routes(tenant).await?;
        let route = existing
            .iter()
            .find(|it| it.alias == alias)
            .ok_or(Error::NotFound("route"))?;
        if let Some(user) = existing.iter().find(|it| {
            it.spec.targets.iter().any(
                |target| matches!(&target.serves, Serves::Model { model, .. } if model == alias),
            )
        }) {
            return Err(Error::Conflict(format!(
                "your alias `{}` names `{alias}`; change it first",
                user.alias
            )));
        }
        let audit = identity
            .audit(Some(tenant), "route.delete")
            .target("route", alias)
            .change(spec_json(&route.spec), None);
        self.store
            .delete_route(tenant, alias, &audit)
            .await
            .map_err(Error::missing("route"))?;
        self.changed().await;
        Ok(())
    }
}
