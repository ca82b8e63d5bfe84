//! The data-plane pipeline: authentication, routing, dispatch to providers, streaming with
//! accounting, and the usage writer. It talks in canonical types and `gateway::Error`, and
//! knows nothing of HTTP framing; `http-api` is its only caller on the request path.

pub mod access;
mod access_token;
mod accounting;
pub mod admin;
mod admit;
pub mod alerts;
pub mod breaker;
pub mod byok;
pub mod cache;
mod cache_stage;
mod call;
pub mod catalog;
pub mod ceiling;
mod chat;
mod completions;
mod dispatch;
mod embeddings;
mod error;
pub mod headers;
pub mod health;
pub mod limit_usage;
pub mod limits;
mod messages;
mod pricing;
pub mod routing;
pub mod semantic;
pub mod shadow;
mod stream;
pub mod telemetry;
pub mod tenant_routes;
pub mod tokens;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use domain::llm::{ChatRequest, CompletionRequest, EmbeddingRequest};
use store::Store;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use access::{Access, Principal};
pub use access_token::Verifiers;
pub use accounting::{Config as UsageConfig, Lifecycle as UsageLifecycle, UsageDraft};
pub use byok::ByokConfig;
pub use call::{Attempt, RequestCtx};
pub use catalog::{Catalog, Deployment, RetryPolicy, Route};
pub use domain::pricing::PriceBase;
pub use error::{Error, ErrorKind, ErrorSource};
pub use headers::{HeaderText, ResponseHeaders};
pub use messages::{MessagesItem, MessagesOutcome, MessagesStream};
pub use stream::{AccountedStream, StreamItem};

/// How long `/readyz` waits for the store: under a second, so a probe with a one-second
/// timeout gets a 503 rather than no answer, with room for the request itself.
pub const READY_TIMEOUT: Duration = Duration::from_millis(750);

/// Gateway settings that are not per-provider.
#[derive(Debug, Clone)]
pub struct Config {
    /// How often each node polls the store for key and tenant changes.
    pub refresh_interval: Duration,
    pub usage: UsageConfig,
    pub byok: ByokConfig,
    /// Issuer and audience of the OAuth access tokens the data plane accepts (the public URL).
    pub token_issuer: String,
    /// Bytes of answers the response cache keeps in process.
    pub cache_max_bytes: u64,
    /// Where the response cache shares answers with other nodes (Redis), if anywhere.
    pub shared_cache: Option<Arc<dyn store::SharedCache>>,
    /// The prices the node starts with (defaults and configuration).
    pub prices: PriceBase,
    /// Where every node's rate-limit and budget counters live (Redis), if they are shared.
    pub shared_limiter: Option<Arc<dyn store::SharedLimiter>>,
}

/// What a data-plane call answers: its body, and the headers the pipeline's stages added.
#[derive(Debug)]
pub struct Answer<B> {
    pub body: B,
    pub headers: ResponseHeaders,
}

/// The body of an answer to an OpenAI-shaped call.
#[derive(Debug)]
pub enum Outcome {
    /// A complete JSON body.
    Complete(Bytes),
    /// A committed stream of JSON chunks.
    Stream(Box<AccountedStream>),
}

/// Adds the `x-ratelimit-*` headers of a call under its key's limits to its answer, or to its
/// error (a refusal has them already).
fn with_limits<B>(ctx: &RequestCtx, res: Result<Answer<B>, Error>) -> Result<Answer<B>, Error> {
    let Some(limits) = ctx.limits.get() else {
        return res;
    };
    // Only the admit stage sets `x-ratelimit-*`: an answer has none yet.
    match res {
        Ok(mut answer) => {
            answer.headers.add_new_all(limits);
            Ok(answer)
        }
        Err(mut error) => {
            error.headers_mut().merge(limits);
            Err(error)
        }
    }
}

/// The running gateway: everything a data-plane request needs, shared by all workers.
#[derive(Debug)]
pub struct Gateway {
    pub access: Arc<Access>,
    catalog: Arc<Catalog>,
    usage: accounting::UsageSink,
    store: Arc<dyn Store>,
    cache: cache::ResponseCache,
    semantic: semantic::SemanticCache,
    /// Where background work of calls runs (shadow mirrors), so shutdown drains it.
    tasks: TaskTracker,
    /// The counters of every limit: shared through Redis when configured.
    limits: limits::Limiter,
    /// The counters of each key's calls, named once.
    plans: admit::BuiltPlans,
    /// Budget alerts on their way to the store.
    alerts: alerts::Alerts,
}

impl Gateway {
    /// Loads the access snapshot and starts the background tasks (snapshot refresh, usage
    /// writer, spill replay) on `tracker`; they stop, after draining, when `cancel` fires.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub async fn start(
        store: Arc<dyn Store>,
        catalog: Catalog,
        config: &Config,
        tracker: &TaskTracker,
        cancel: CancellationToken,
    ) -> Result<Arc<Self>, store::Error> {
        let catalog = Arc::new(catalog);
        let access = Arc::new(
            Access::load(
                store.as_ref(),
                config.byok.clone(),
                config.token_issuer.clone(),
                catalog.clone(),
                config.prices.clone(),
            )
            .await?,
        );
        tracker.spawn(access.clone().refresh_loop(
            store.clone(),
            config.refresh_interval,
            cancel.clone(),
        ));
        health::start(&catalog, tracker, &cancel);
        let semantic = semantic::SemanticCache::new(store.clone(), tracker.clone());
        semantic.start(&catalog, cancel.clone()).await;
        let local = limits::LocalLimiter::default();
        let limits = match &config.shared_limiter {
            Some(shared) => limits::Limiter::shared(
                shared.clone(),
                local,
                limits::Config::default(),
                tracker,
                cancel.clone(),
            ),
            None => limits::Limiter::local(local),
        };
        let alerts = alerts::Alerts::start(store.clone(), tracker, cancel.clone());
        let usage = accounting::start(&config.usage, store.clone(), tracker, cancel);
        Ok(Arc::new(Gateway {
            access,
            catalog,
            usage,
            store,
            cache: cache::ResponseCache::new(
                config.cache_max_bytes,
                config.shared_cache.clone(),
                tracker.clone(),
            ),
            semantic,
            tasks: tracker.clone(),
            limits,
            plans: admit::BuiltPlans::default(),
            alerts,
        }))
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// What shutdown steers: the signal that ends open streams, the usage writer's deadline,
    /// and what would be lost if the process ended now.
    pub fn usage_lifecycle(&self) -> &UsageLifecycle {
        self.usage.lifecycle()
    }

    /// Syncs the usage journal to disk and closes its segment: the last step of a clean
    /// shutdown, once the usage writer has finished.
    pub fn close_usage_journal(&self) {
        self.usage.close_journal();
    }

    /// # Errors
    /// Missing, unknown, revoked or expired keys and suspended tenants.
    pub fn authenticate(
        &self,
        presented: Option<&str>,
        client_ip: Option<std::net::IpAddr>,
    ) -> Result<Principal, Error> {
        self.access.authenticate(presented, client_ip)
    }

    /// Checks the key may call `endpoint`.
    ///
    /// # Errors
    /// `EndpointNotAllowed`.
    pub fn check_endpoint(
        principal: &Principal,
        endpoint: telemetry::Endpoint,
    ) -> Result<(), Error> {
        Self::check_endpoint_name(principal, endpoint.as_str())
    }

    fn check_endpoint_name(principal: &Principal, endpoint: &str) -> Result<(), Error> {
        if principal.key.scopes.allows_endpoint(endpoint) {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::EndpointNotAllowed,
                format!("this api key may not call `{endpoint}`"),
            ))
        }
    }

    /// Checks the key may list models.
    ///
    /// # Errors
    /// `EndpointNotAllowed`.
    pub fn check_models_endpoint(principal: &Principal) -> Result<(), Error> {
        Self::check_endpoint_name(principal, "models")
    }

    /// # Errors
    /// See [`chat::handle`].
    pub async fn chat(&self, ctx: &RequestCtx, req: ChatRequest) -> Result<Answer<Outcome>, Error> {
        with_limits(
            ctx,
            chat::handle(self, ctx, req, telemetry::Endpoint::ChatCompletions).await,
        )
    }

    /// # Errors
    /// See [`messages::handle`].
    pub async fn messages(
        &self,
        ctx: &RequestCtx,
        req: domain::llm::messages::MessagesRequest,
    ) -> Result<Answer<MessagesOutcome>, Error> {
        with_limits(ctx, messages::handle(self, ctx, req).await)
    }

    /// # Errors
    /// See [`messages::count_tokens`].
    pub async fn count_message_tokens(
        &self,
        ctx: &RequestCtx,
        req: domain::llm::messages::MessagesRequest,
    ) -> Result<u64, Error> {
        messages::count_tokens(self, ctx, req).await
    }

    /// # Errors
    /// See [`completions::handle`].
    pub async fn completion(
        &self,
        ctx: &RequestCtx,
        req: CompletionRequest,
    ) -> Result<Answer<Outcome>, Error> {
        with_limits(ctx, completions::handle(self, ctx, req).await)
    }

    /// # Errors
    /// See [`embeddings::handle`].
    pub async fn embeddings(
        &self,
        ctx: &RequestCtx,
        req: EmbeddingRequest,
    ) -> Result<Answer<Bytes>, Error> {
        with_limits(ctx, embeddings::handle(self, ctx, req).await)
    }

    /// Every configured model, in configuration order: for the management API's listing.
    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.catalog.routes()
    }

    /// Whether `tenant` has a usable credential of its own for `provider`.
    pub fn tenant_has_own_credential(&self, tenant: domain::TenantId, provider: &str) -> bool {
        self.access.tenant_has_own_credential(tenant, provider)
    }

    /// The models this caller may use: the platform's in configuration order, then the
    /// tenant's own aliases by name.
    pub fn models<'a>(&'a self, principal: &'a Principal) -> impl Iterator<Item = &'a Route> + 'a {
        let own = principal.routes.iter().flat_map(|it| it.routes());
        self.catalog
            .routes()
            .filter(|route| {
                principal
                    .routes
                    .as_ref()
                    .is_none_or(|own| own.get(&route.alias).is_none())
            })
            .chain(own)
            .filter(|route| principal.allows_model(&route.alias))
            .filter(|route| {
                !principal.restricted()
                    || route
                        .deployments
                        .iter()
                        .any(|it| principal.allows_region(it.region.as_deref()))
            })
    }

    /// The route `model` names for this caller: the tenant's own alias of that name, else the
    /// platform's.
    fn resolve<'a>(
        &'a self,
        principal: &'a Principal,
        model: &str,
    ) -> Result<&'a Arc<Route>, Error> {
        if let Some(route) = principal.routes.as_ref().and_then(|it| it.get(model)) {
            return Ok(route);
        }
        self.catalog.resolve(model)
    }

    /// The semantic-cache threshold `tenant` set for itself, if any: for the management API's
    /// listing.
    pub fn tenant_semantic_threshold(
        &self,
        tenant: domain::TenantId,
    ) -> Option<domain::tenant::SemanticThreshold> {
        self.access.semantic_threshold(tenant)
    }

    /// Every tenant's own aliases of `tenant`, by name: for the management API's listing.
    pub fn tenant_routes(
        &self,
        tenant: domain::TenantId,
    ) -> Option<Arc<tenant_routes::TenantRoutes>> {
        self.access.tenant_routes(tenant)
    }

    /// One model, if this caller may use it.
    ///
    /// # Errors
    /// `ModelNotFound` for unknown models and for models outside the key's scope (a listing
    /// must not reveal what a key cannot use).
    pub fn model<'a>(&'a self, principal: &'a Principal, id: &str) -> Result<&'a Route, Error> {
        let route: &Route = self.resolve(principal, id)?;
        if principal.allows_model(&route.alias) {
            Ok(route)
        } else {
            Err(Error::new(
                ErrorKind::ModelNotFound,
                format!("the model `{}` does not exist", catalog::truncate(id, 100)),
            )
            .with_param("model"))
        }
    }

    /// Checks the key may call `endpoint`, resolves `model` and checks the key may use it.
    fn authorize<'a>(
        &'a self,
        ctx: &'a RequestCtx,
        endpoint: telemetry::Endpoint,
        model: &str,
    ) -> Result<&'a Arc<Route>, Error> {
        Self::check_endpoint(&ctx.principal, endpoint)?;
        let route = self.resolve(&ctx.principal, model)?;
        if !ctx.principal.key.allows_model(&route.alias) {
            return Err(Error::new(
                ErrorKind::ModelNotAllowed,
                format!("this api key may not use the model `{}`", route.alias),
            )
            .with_param("model"));
        }
        if !ctx.principal.allows_model(&route.alias) {
            return Err(Error::new(
                ErrorKind::ModelNotAllowed,
                format!("this tenant may not use the model `{}`", route.alias),
            )
            .with_param("model"));
        }
        Ok(route)
    }

    /// Where limits are counted now (`shared`, `local`, `unreachable`), for `/readyz`.
    pub fn limits_state(&self) -> &'static str {
        self.limits.state()
    }

    /// Whether the store answers, for `/readyz`, within [`READY_TIMEOUT`].
    ///
    /// A store that is down does not fail fast: the pool waits for a connection up to its
    /// acquire timeout (5 s on Postgres), and an unreachable host may not answer at all. A
    /// load balancer's probe needs its answer sooner, so a check that takes longer counts as a
    /// failure.
    ///
    /// # Errors
    /// `Unavailable` with the cause, or when the store took too long to answer.
    pub async fn ready(&self) -> Result<(), Error> {
        match tokio::time::timeout(READY_TIMEOUT, self.store.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(
                Error::new(ErrorKind::Unavailable, "the store is unreachable")
                    .with_detail(providers::error_chain(&e)),
            ),
            Err(_) => Err(
                Error::new(ErrorKind::Unavailable, "the store did not answer in time")
                    .with_detail(format!("no answer within {READY_TIMEOUT:?}")),
            ),
        }
    }
}
