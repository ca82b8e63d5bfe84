//! Who may call the data plane: an in-memory snapshot of keys and tenants, swapped atomically
//! when the store's revision changes, so authentication costs a hash and a map lookup.
//!
//! Every node polls the revision (a one-row query) every `refresh_interval`; a change notice
//! (from this node's own admin actions, Postgres `NOTIFY` or Redis pub/sub) triggers an
//! immediate reload. A revoked key therefore stops working everywhere within one interval.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use domain::limits::{CountersDown, LimitPolicy, PolicyScope, ScopedPolicy};
use domain::partner::Partner;
use domain::pricing::PriceBook;
use domain::{
    ApiKey, KeyHash, PartnerId, Permission, ServiceAccountId, TenantId, TenantStatus, UserId,
};
use smallvec::SmallVec;
use store::Store;
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::access_token::{Subject, Verifiers, looks_like_jwt};
use crate::byok::{self, ByokConfig, TenantProviders};
use crate::catalog::{Catalog, Deployment, Route};
use crate::tenant_routes::{self, TenantRoutes};
use crate::{Error, ErrorKind};
use domain::pricing::PriceBase;
use providers::Provider;

/// The authenticated caller of one request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub key: Arc<ApiKey>,
    /// The tenant's own provider credentials, when it brought any.
    pub own_providers: Option<Arc<TenantProviders>>,
    /// The tenant's own aliases, when it defined any.
    pub routes: Option<Arc<TenantRoutes>>,
    /// The regions the tenant restricts its calls to, when it does.
    pub tenant_regions: Option<Arc<[String]>>,
    /// The tenant's own semantic-cache threshold, when it set one.
    pub semantic_threshold: Option<domain::tenant::SemanticThreshold>,
    /// The partner whose sub-tenant the tenant is: its rate card prices the call.
    pub partner: Option<PartnerId>,
    /// The price book in force when the call arrived.
    pub prices: Arc<PriceBook>,
    /// The limit policies above the key's that apply to the tenant's calls, when any does.
    pub limits: Option<Arc<TenantLimits>>,
}

/// The limit policies above a key's that apply to one tenant's calls: each must pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantLimits {
    /// The operator's, for every tenant (each counted on its own).
    pub platform: Option<Arc<LimitPolicy>>,
    /// The partner's, for all its sub-tenants together.
    pub partner: Option<Arc<LimitPolicy>>,
    /// The tenant's, for all its keys together.
    pub tenant: Option<Arc<LimitPolicy>>,
    /// Its prepaid credit, when it stops at zero: calls its balance cannot cover are refused.
    pub credit: Option<domain::credit::CreditAccount>,
}

impl TenantLimits {
    /// The policies, outermost first.
    pub fn each(&self) -> impl Iterator<Item = &LimitPolicy> {
        [&self.platform, &self.partner, &self.tenant]
            .into_iter()
            .filter_map(|it| it.as_deref())
    }

    /// What happens when the shared counters are down: the strictest policy's choice.
    pub fn counters_down(&self) -> CountersDown {
        let all: SmallVec<[CountersDown; 3]> = self.each().map(|it| it.counters_down).collect();
        if all.contains(&CountersDown::Closed) {
            CountersDown::Closed
        } else if all.contains(&CountersDown::Default) || all.is_empty() {
            CountersDown::Default
        } else {
            CountersDown::Open
        }
    }
}

impl Principal {
    pub fn tenant_id(&self) -> TenantId {
        self.key.tenant_id
    }

    /// Whether the key and every policy above it let the caller use the alias `model`.
    pub fn allows_model(&self, model: &str) -> bool {
        self.key.allows_model(model)
            && self
                .limits
                .as_deref()
                .is_none_or(|limits| limits.each().all(|it| it.allows_model(model)))
    }

    /// Whether the tenant or the key restricts calls to regions.
    pub fn restricted(&self) -> bool {
        self.tenant_regions.is_some() || !self.key.scopes.regions.is_empty()
    }

    /// Whether a deployment in `region` may serve this caller: any may when nothing
    /// restricts it; else only one in a region both the tenant and the key allow (a
    /// deployment without a region never does).
    pub fn allows_region(&self, region: Option<&str>) -> bool {
        if !self.restricted() {
            return true;
        }
        let Some(region) = region else {
            return false;
        };
        let key = &self.key.scopes.regions;
        (key.is_empty() || key.iter().any(|it| it == region))
            && self
                .tenant_regions
                .as_deref()
                .is_none_or(|tenant| tenant.iter().any(|it| it == region))
    }

    /// The provider this caller's call to `route` goes to.
    ///
    /// # Errors
    /// See [`TenantProviders::provider_for`].
    pub fn provider_for<'a>(
        &'a self,
        route: &Route,
        deployment: &'a Deployment,
    ) -> Result<&'a Provider, Error> {
        match &self.own_providers {
            None if deployment.own_credential_only => {
                Err(byok::no_own_credential(route, deployment))
            }
            None => Ok(deployment.provider.as_ref()),
            Some(own) => own.provider_for(route, deployment),
        }
    }
}

#[derive(Debug, Default)]
struct Snapshot {
    revision: i64,
    keys: HashMap<KeyHash, Arc<ApiKey>>,
    tenants: HashMap<TenantId, TenantState>,
    /// Every price list and markup: the base the node started with and the stored ones.
    prices: Arc<PriceBook>,
    own_providers: HashMap<TenantId, Arc<TenantProviders>>,
    /// The regions of tenants that restrict their calls.
    tenant_regions: HashMap<TenantId, Arc<[String]>>,
    /// The thresholds of tenants that set their own for the semantic cache.
    semantic_thresholds: HashMap<TenantId, domain::tenant::SemanticThreshold>,
    /// Tenants' own aliases, reused by the next snapshot where unchanged.
    routes: HashMap<TenantId, Arc<TenantRoutes>>,
    /// Providers built from credentials, reused by the next snapshot.
    built: byok::Built,
    /// Service accounts that are not revoked, as the keys their tokens act as.
    service_accounts: HashMap<ServiceAccountId, Arc<ApiKey>>,
    verifiers: Verifiers,
    /// Partners by each of their verified domains, for branding by host.
    partners_by_host: HashMap<String, Arc<Partner>>,
    /// Who may call a tenant's models from the explorer: members whose role allows it and
    /// partner administrators in their sub-tenants.
    model_callers: HashSet<(UserId, TenantId)>,
    /// Platform operators, who may in every tenant.
    operators: HashSet<UserId>,
}

/// What the data plane needs of a tenant.
#[derive(Debug, Clone)]
struct TenantState {
    status: TenantStatus,
    partner: Option<PartnerId>,
    limits: Option<Arc<TenantLimits>>,
    /// While an invoice is unpaid: when its grace period ends and calls are refused.
    payment_hold: Option<OffsetDateTime>,
}

impl Snapshot {
    fn may_call_models(&self, user: UserId, tenant: TenantId) -> bool {
        self.operators.contains(&user) || self.model_callers.contains(&(user, tenant))
    }
}

/// The stored limit policies by scope, while a snapshot is built.
#[derive(Default)]
struct Policies {
    platform: Option<Arc<LimitPolicy>>,
    partners: HashMap<PartnerId, Arc<LimitPolicy>>,
    tenants: HashMap<TenantId, Arc<LimitPolicy>>,
    /// Prepaid accounts that stop at zero.
    credit: HashMap<TenantId, domain::credit::CreditAccount>,
}

impl Policies {
    fn of(stored: Vec<ScopedPolicy>, credit: Vec<domain::credit::CreditAccount>) -> Self {
        let mut policies = Policies {
            credit: credit
                .into_iter()
                .filter(|it| it.stop_at_zero)
                .map(|it| (it.tenant_id, it))
                .collect(),
            ..Policies::default()
        };
        // A policy that limits nothing costs a tenant's calls nothing.
        for ScopedPolicy { scope, policy } in stored.into_iter().filter(|it| it.policy.any()) {
            let policy = Arc::new(policy);
            match scope {
                PolicyScope::Platform => policies.platform = Some(policy),
                PolicyScope::Partner(id) => {
                    policies.partners.insert(id, policy);
                }
                PolicyScope::Tenant(id) => {
                    policies.tenants.insert(id, policy);
                }
            }
        }
        policies
    }

    fn for_tenant(
        &self,
        tenant: TenantId,
        partner: Option<PartnerId>,
    ) -> Option<Arc<TenantLimits>> {
        let limits = TenantLimits {
            platform: self.platform.clone(),
            partner: partner.and_then(|it| self.partners.get(&it).cloned()),
            tenant: self.tenants.get(&tenant).cloned(),
            credit: self.credit.get(&tenant).cloned(),
        };
        (limits != TenantLimits::default()).then(|| Arc::new(limits))
    }
}

/// The live snapshot and what keeps it fresh.
#[derive(Debug)]
pub struct Access {
    current: ArcSwap<Snapshot>,
    changed: Notify,
    byok: ByokConfig,
    token_issuer: String,
    /// The platform's models, which tenants' aliases are built on.
    catalog: Arc<Catalog>,
    /// The prices the node started with (the shipped defaults and the configuration's).
    prices: PriceBase,
    /// One reload at a time, so an older load never replaces a newer snapshot.
    reloading: tokio::sync::Mutex<()>,
}

impl Access {
    /// Loads the first snapshot.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub async fn load(
        store: &dyn Store,
        byok: ByokConfig,
        token_issuer: String,
        catalog: Arc<Catalog>,
        prices: PriceBase,
    ) -> Result<Self, store::Error> {
        let res = Access {
            prices,
            current: ArcSwap::from_pointee(Snapshot::default()),
            changed: Notify::new(),
            byok,
            token_issuer,
            catalog,
            reloading: tokio::sync::Mutex::new(()),
        };
        res.reload(store).await?;
        Ok(res)
    }

    /// Checks a presented key.
    ///
    /// # Errors
    /// `MissingApiKey`, `InvalidApiKey` (unknown, revoked or expired), `IpNotAllowed` or
    /// `TenantSuspended`.
    pub fn authenticate(
        &self,
        presented: Option<&str>,
        client_ip: Option<std::net::IpAddr>,
    ) -> Result<Principal, Error> {
        let presented = presented.map(str::trim).filter(|it| !it.is_empty()).ok_or_else(|| {
            Error::new(
                ErrorKind::MissingApiKey,
                "no api key was sent; pass it as `Authorization: Bearer <key>` or `x-api-key: <key>`",
            )
        })?;
        let snapshot = self.current.load();
        let invalid = || {
            Error::new(
                ErrorKind::InvalidApiKey,
                "the api key is invalid, revoked or expired",
            )
        };
        let now = OffsetDateTime::now_utc();
        let explorer_key;
        let key: &Arc<ApiKey> = if looks_like_jwt(presented) {
            let verified = snapshot.verifiers.verify(presented, now).ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidApiKey,
                    "the access token is invalid or expired; get a new one from /oauth/token",
                )
            })?;
            match verified.subject {
                Subject::ServiceAccount(account) => snapshot
                    .service_accounts
                    .get(&account)
                    .filter(|it| it.tenant_id == verified.tenant)
                    .ok_or_else(|| {
                        Error::new(
                            ErrorKind::InvalidApiKey,
                            "the service account of this access token is revoked",
                        )
                    })?,
                Subject::Explorer { user, key } => {
                    if !snapshot.may_call_models(user, verified.tenant) {
                        return Err(Error::new(
                            ErrorKind::InvalidApiKey,
                            "this explorer token's user no longer has access to the tenant",
                        ));
                    }
                    explorer_key = key;
                    &explorer_key
                }
            }
        } else {
            let key = snapshot
                .keys
                .get(&KeyHash::of(presented))
                .ok_or_else(invalid)?;
            if key.check_usable(now).is_err() {
                return Err(invalid());
            }
            key
        };
        if let Some(ip) = client_ip
            && !key.scopes.allows_ip(ip)
        {
            return Err(Error::new(
                ErrorKind::IpNotAllowed,
                format!("this api key may not be used from `{ip}`"),
            ));
        }
        match snapshot.tenants.get(&key.tenant_id) {
            Some(TenantState {
                payment_hold: Some(hold),
                status: TenantStatus::Active,
                ..
            }) if *hold <= now => Err(Error::new(
                ErrorKind::TenantSuspended,
                "the tenant owning this api key is suspended: an invoice is unpaid past its \
                 due date and grace period; calls resume once it is paid",
            )),
            Some(TenantState {
                status: TenantStatus::Active,
                partner,
                limits,
                ..
            }) => Ok(Principal {
                key: key.clone(),
                own_providers: if snapshot.own_providers.is_empty() {
                    None
                } else {
                    snapshot.own_providers.get(&key.tenant_id).cloned()
                },
                routes: if snapshot.routes.is_empty() {
                    None
                } else {
                    snapshot.routes.get(&key.tenant_id).cloned()
                },
                tenant_regions: if snapshot.tenant_regions.is_empty() {
                    None
                } else {
                    snapshot.tenant_regions.get(&key.tenant_id).cloned()
                },
                semantic_threshold: if snapshot.semantic_thresholds.is_empty() {
                    None
                } else {
                    snapshot.semantic_thresholds.get(&key.tenant_id).copied()
                },
                partner: *partner,
                prices: snapshot.prices.clone(),
                limits: limits.clone(),
            }),
            Some(TenantState {
                status: TenantStatus::Suspended,
                ..
            })
            | None => Err(Error::new(
                ErrorKind::TenantSuspended,
                "the tenant owning this api key is suspended",
            )),
        }
    }

    /// `tenant`'s partner and the limit policies that apply to its calls (`None` for a tenant
    /// the snapshot does not know).
    pub fn tenant_limits(
        &self,
        tenant: TenantId,
    ) -> Option<(Option<PartnerId>, Option<Arc<TenantLimits>>)> {
        self.current
            .load()
            .tenants
            .get(&tenant)
            .map(|it| (it.partner, it.limits.clone()))
    }

    /// Whether `tenant` brought a usable key of its own for `provider`.
    pub fn tenant_has_own_credential(&self, tenant: TenantId, provider: &str) -> bool {
        self.current
            .load()
            .own_providers
            .get(&tenant)
            .is_some_and(|it| it.has_usable(provider))
    }

    /// `tenant`'s own semantic-cache threshold, if it set one.
    pub fn semantic_threshold(
        &self,
        tenant: TenantId,
    ) -> Option<domain::tenant::SemanticThreshold> {
        self.current
            .load()
            .semantic_thresholds
            .get(&tenant)
            .copied()
    }

    /// `tenant`'s own aliases, if it defined any.
    pub fn tenant_routes(&self, tenant: TenantId) -> Option<Arc<TenantRoutes>> {
        self.current.load().routes.get(&tenant).cloned()
    }

    /// Asks the refresher to reload now (after a local change, or a notice from another node).
    pub fn notify_changed(&self) {
        self.changed.notify_one();
    }

    pub fn revision(&self) -> i64 {
        self.current.load().revision
    }

    /// The partner whose verified domain `host` is (lowercase, no port).
    pub fn partner_for_host(&self, host: &str) -> Option<Arc<Partner>> {
        self.current.load().partners_by_host.get(host).cloned()
    }

    /// The token signing keys' public halves, as served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Arc<str> {
        self.current.load().verifiers.jwks()
    }

    /// Reloads the snapshot now (after a change this node just made, and from the refresher).
    ///
    /// # Errors
    /// When the store cannot be read.
    pub async fn reload(&self, store: &dyn Store) -> Result<(), store::Error> {
        let _one_at_a_time = self.reloading.lock().await;
        // Read the revision first: a change racing the load is seen again on the next poll.
        let revision = store.revision().await?;
        let data = store.load_access().await?;
        let previous = self.current.load();
        let (built, own_providers) = byok::build(&self.byok, data.credentials, &previous.built);
        let routes = tenant_routes::build(&self.catalog, &self.byok, data.routes, &previous.routes);
        let (prices, markups) = (data.prices, data.markups);
        let policies = Policies::of(data.limit_policies, data.credit_accounts);
        let holds: HashMap<TenantId, OffsetDateTime> = data.payment_holds.into_iter().collect();
        drop(previous);
        let snapshot = Snapshot {
            own_providers,
            routes,
            tenant_regions: data
                .tenant_regions
                .into_iter()
                .filter(|(_, regions)| !regions.is_empty())
                .map(|(tenant, regions)| (tenant, Arc::from(regions)))
                .collect(),
            semantic_thresholds: data.semantic_thresholds.into_iter().collect(),
            built,
            revision,
            verifiers: Verifiers::build(&data.signing_keys, &self.token_issuer),
            partners_by_host: data
                .partners
                .into_iter()
                .flat_map(|partner| {
                    let partner = Arc::new(partner);
                    // Pending claims are nobody's: only a proved domain brands anything.
                    partner
                        .verified_hosts()
                        .map(|host| (host.to_owned(), partner.clone()))
                        .collect::<Vec<_>>()
                })
                .collect(),
            model_callers: data
                .reach
                .iter()
                .filter(|it| {
                    it.role
                        .is_none_or(|role| domain::roles::allows(role, Permission::CallModels))
                })
                .map(|it| (it.user, it.tenant))
                .collect(),
            operators: data.operators.into_iter().collect(),
            service_accounts: data
                .service_accounts
                .iter()
                .map(|account| (account.id, Arc::new(account.as_api_key())))
                .collect(),
            keys: data
                .keys
                .into_iter()
                .map(|key| (key.hash, Arc::new(key)))
                .collect(),
            tenants: data
                .tenants
                .into_iter()
                .map(|it| {
                    let state = TenantState {
                        status: it.status,
                        partner: it.partner_id,
                        limits: policies.for_tenant(it.id, it.partner_id),
                        payment_hold: holds.get(&it.id).copied(),
                    };
                    (it.id, state)
                })
                .collect(),
            prices: Arc::new(self.prices.book_with(prices, markups)),
        };
        tracing::debug!(
            revision,
            keys = snapshot.keys.len(),
            "access snapshot loaded"
        );
        self.current.store(Arc::new(snapshot));
        Ok(())
    }

    /// Keeps the snapshot fresh until `cancel`: polls the revision every `interval` and
    /// reloads on a change or a notice.
    pub async fn refresh_loop(
        self: Arc<Self>,
        store: Arc<dyn Store>,
        interval: Duration,
        cancel: CancellationToken,
    ) {
        let mut failing = false;
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(interval) => {}
                () = self.changed.notified() => {}
            }
            let result = match store.revision().await {
                Ok(revision) if revision == self.revision() => Ok(()),
                Ok(_) => self.reload(store.as_ref()).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(()) if failing => {
                    failing = false;
                    tracing::info!("access snapshot refresh recovered");
                }
                Ok(()) => {}
                Err(e) if !failing => {
                    failing = true;
                    // Keep serving the last snapshot: a database outage must not lock everyone out.
                    tracing::error!(error = %providers::error_chain(&e), "access snapshot refresh failed; serving the last snapshot");
                }
                Err(_) => {}
            }
        }
    }
}
