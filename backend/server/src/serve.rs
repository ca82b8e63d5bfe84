//! `sluice serve`: wires settings, store, providers, gateway and the HTTP server together, and
//! shuts them down in order (stop accepting, finish requests, flush usage).

use std::collections::HashMap;
use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use gateway::catalog::{Deployment, Route};
use gateway::{Catalog, Gateway};
use metrics_exporter_prometheus::PrometheusHandle;
use providers::Provider;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::settings::{ProviderConfig, Settings};
use crate::stores;

/// Builds one client per configured provider.
///
/// # Errors
/// A provider whose configuration cannot make a client (bad URL, bad header).
pub fn build_providers(settings: &Settings) -> anyhow::Result<HashMap<String, Arc<Provider>>> {
    let mut res = HashMap::new();
    for provider in &settings.providers {
        let built = match &provider.config {
            ProviderConfig::OpenAi(config) => Provider::OpenAi(
                providers::openai::OpenAi::new(config.clone())
                    .with_context(|| format!("provider `{}`", provider.name))?,
            ),
            ProviderConfig::Anthropic(config) => Provider::Anthropic(
                providers::anthropic::Anthropic::new(config.clone())
                    .with_context(|| format!("provider `{}`", provider.name))?,
            ),
            ProviderConfig::Mock(config) => {
                Provider::Mock(providers::mock::Mock::new(config.clone()))
            }
        };
        res.insert(provider.name.clone(), Arc::new(built));
    }
    Ok(res)
}

/// The configured providers tenants may bring their own key for: every real upstream.
/// The management plane's settings.
pub(crate) fn manager_config(
    settings: &Settings,
    keyring: Option<domain::crypto::Keyring>,
) -> management::Config {
    let sso_http = sso::http_client();
    management::Config {
        public_url: settings.portal.public_url.clone(),
        open_signup: settings.portal.open_signup,
        first_user_is_operator: settings.portal.first_user_is_operator,
        key_prefix: settings.key_prefix.clone(),
        keyring,
        byok_providers: byok_providers(settings),
        allow_private_upstreams: settings.security.allow_private_upstreams,
        token_ttl: time_duration(settings.oauth.token_ttl),
        signing_key_rotation: time_duration(settings.oauth.signing_key_rotation),
        sso_providers: settings
            .sso
            .iter()
            .map(|config| sso::Provider::new(config.clone(), sso_http.clone()))
            .collect(),
        dns_resolver: settings.partners.dns_resolver,
        platform_models: Arc::new(platform_models(settings)),
        prices: settings.prices.clone(),
        tax: settings.tax.clone(),
        billing_anchor: settings.invoicing.anchor,
    }
}

/// The configured models and own-key providers, which tenants build their aliases on.
fn platform_models(settings: &Settings) -> domain::route::PlatformModels {
    domain::route::PlatformModels {
        models: settings
            .models
            .iter()
            .map(|model| {
                // A shadow never answers callers, so no alias may be built on it.
                let deployments = model
                    .deployments
                    .iter()
                    .filter(|it| !it.shadow)
                    .map(|it| domain::route::PlatformDeployment {
                        name: it.name.clone(),
                        provider: it.provider.clone(),
                        provider_kind: provider_kind(settings, &it.provider).to_owned(),
                        upstream_model: it.upstream_model.clone(),
                        region: it.region.clone(),
                        weight: it.weight,
                        priority: it.priority,
                    })
                    .collect();
                (model.alias.clone(), deployments)
            })
            .collect(),
        own_credential_providers: byok_providers(settings)
            .into_iter()
            .map(|it| it.name)
            .collect(),
    }
}

/// The kind of the configured provider `name` (what default prices are listed under).
fn provider_kind<'a>(settings: &'a Settings, name: &str) -> &'a str {
    settings
        .providers
        .iter()
        .find(|it| it.name == name)
        .map_or("", |it| match &it.config {
            crate::settings::ProviderConfig::OpenAi(config) => config.flavor.kind().as_str(),
            crate::settings::ProviderConfig::Anthropic(_) => "anthropic",
            crate::settings::ProviderConfig::Mock(_) => "mock",
        })
}

/// How often each node checks whether the token signing key is due for rotation.
const SIGNING_KEY_CHECK: Duration = Duration::from_secs(3600);

fn time_duration(duration: Duration) -> time::Duration {
    time::Duration::try_from(duration).unwrap_or(time::Duration::MAX)
}

fn byok_providers(settings: &Settings) -> Vec<management::ByokProvider> {
    settings
        .providers
        .iter()
        .filter_map(|provider| {
            let kind = match &provider.config {
                ProviderConfig::OpenAi(config) => match config.flavor {
                    providers::openai::Flavor::OpenAi => "openai",
                    providers::openai::Flavor::Azure { .. } => "azure_openai",
                    providers::openai::Flavor::Compatible(_) => "openai_compatible",
                },
                ProviderConfig::Anthropic(_) => "anthropic",
                ProviderConfig::Mock(_) => return None,
            };
            Some(management::ByokProvider {
                name: provider.name.clone(),
                kind: kind.to_owned(),
            })
        })
        .collect()
}

/// The catalog of configured models. Needs the metrics recorder installed first.
///
/// # Errors
/// A model naming a provider that does not exist (settings validation catches it first).
pub fn build_catalog(
    settings: &Settings,
    providers: &HashMap<String, Arc<Provider>>,
) -> anyhow::Result<Catalog> {
    let created = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|it| i64::try_from(it.as_secs()).unwrap_or(0))
        .unwrap_or(0);
    let mut routes = Vec::with_capacity(settings.models.len());
    for model in &settings.models {
        let mut deployments = Vec::with_capacity(model.deployments.len());
        for it in &model.deployments {
            let provider = providers.get(&it.provider).with_context(|| {
                format!(
                    "model `{}`: unknown provider `{}`",
                    model.alias, it.provider
                )
            })?;
            let mut deployment = Deployment::new(
                &model.alias,
                &it.name,
                &it.provider,
                provider.clone(),
                &it.upstream_model,
            );
            deployment.weight = it.weight;
            deployment.priority = it.priority;
            deployment.region = it.region.as_deref().map(Into::into);
            deployment.cost_micros = it.cost_micros;
            deployment.ceiling = gateway::ceiling::Ceiling::new(it.rpm, it.tpm).map(Arc::new);
            deployment.variant = it.variant.as_deref().map(Into::into);
            if it.shadow {
                deployment.shadow = Some(gateway::shadow::Shadow::new(&model.alias, &it.name));
            }
            deployments.push(deployment);
        }
        let mut route = Route::new(
            &model.alias,
            &model.owned_by,
            created,
            deployments,
            model.strategy,
            model.retry,
            model.breaker,
        );
        route.cache = model.cache;
        route.semantic = model.semantic.clone();
        route.health_check = model.health_check;
        routes.push(route);
    }
    Catalog::new(routes).map_err(|e| anyhow::anyhow!(e.message))
}

/// The response cache's shared tier: Redis when it is configured and answers at start.
async fn shared_cache(settings: &Settings) -> Option<Arc<dyn store::SharedCache>> {
    let url = settings.redis_url.as_ref()?;
    match store_redis::RedisCache::connect(url, &settings.redis_prefix).await {
        Ok(cache) => Some(Arc::new(cache)),
        Err(e) => {
            tracing::warn!(error = %e, "redis is unreachable; the response cache is this node's alone");
            None
        }
    }
}

/// The rate-limit and budget counters every node shares, when Redis is configured. Redis
/// down at start is no reason to count alone: the limiter connects when it can, and until
/// then each tenant's policy says what its calls do.
async fn shared_limiter(settings: &Settings) -> Option<Arc<dyn store::SharedLimiter>> {
    let url = settings.redis_url.as_ref()?;
    let timeout = store_redis::limits::DEFAULT_TIMEOUT;
    match store_redis::RedisLimiter::connect(url, timeout).await {
        Ok(limiter) => Some(Arc::new(limiter)),
        Err(e) => {
            tracing::error!(error = %e, "redis is unreachable at start: the limit counters connect when it answers; until then each tenant's policy applies (budgets fail closed)");
            match store_redis::RedisLimiter::lazy(url, timeout) {
                Ok(limiter) => Some(Arc::new(limiter)),
                Err(e) => {
                    tracing::error!(error = %e, "the redis url is invalid: limits are counted by this node alone");
                    None
                }
            }
        }
    }
}

/// Creates a tenant and a first key when the store has none, and prints the key once.
async fn bootstrap(store: &dyn store::Store, settings: &Settings) -> anyhow::Result<()> {
    if !store.list_tenants().await?.is_empty() {
        return Ok(());
    }
    let tenant = match gateway::admin::create_tenant(store, "default").await {
        Ok(tenant) => tenant,
        // Another node bootstrapped at the same moment.
        Err(gateway::admin::AdminError::Conflict(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let (_, secret) = gateway::admin::create_key(
        store,
        tenant.id,
        &settings.key_prefix,
        gateway::admin::NewKey {
            name: Some("bootstrap".into()),
            ..gateway::admin::NewKey::default()
        },
    )
    .await?;
    let model = settings
        .models
        .first()
        .map_or("mock", |it| it.alias.as_str());
    let base = format!("http://{}", settings.listen);
    let banner = format!(
        "\nCreated tenant `default` and its first API key. It is shown only this once:\n\n    {key}\n\n\
         Try it:\n\n    curl {base}/v1/chat/completions \\\n      -H \"Authorization: Bearer {key}\" \\\n      \
         -H \"Content-Type: application/json\" \\\n      -d '{{\"model\": \"{model}\", \"messages\": [{{\"role\": \"user\", \"content\": \"Hello\"}}]}}'\n\n\
         More keys: sluice admin key create --tenant default\n\n",
        key = secret.expose(),
    );
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(banner.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

/// Runs the gateway until SIGINT/SIGTERM.
///
/// # Errors
/// Start-up failures (store, providers, address in use).
pub async fn run(settings: Settings, metrics: PrometheusHandle) -> anyhow::Result<()> {
    let listener = TcpListener::bind(settings.listen)
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    run_on(settings, metrics, listener).await
}

/// Runs the gateway on an already bound listener (tests bind port 0 first).
///
/// # Errors
/// As for [`run`].
pub async fn run_on(
    settings: Settings,
    metrics: PrometheusHandle,
    listener: TcpListener,
) -> anyhow::Result<()> {
    let server = start(settings, metrics, listener).await?;
    server.wait().await
}

/// A started gateway: the HTTP server plus the background tasks to drain after it.
pub struct Running {
    server: actix_web::dev::Server,
    tracker: TaskTracker,
    cancel: CancellationToken,
    shutdown_timeout: Duration,
    /// Asks for the same stop as `SIGTERM` (tests use it).
    stop: CancellationToken,
    pub gateway: Arc<Gateway>,
    pub manager: Arc<management::Manager>,
}

/// The share of the shutdown grace period kept for the usage flush after open streams are cut:
/// a quarter, between one and five seconds.
fn flush_reserve(grace: Duration) -> Duration {
    (grace / 4)
        .clamp(Duration::from_secs(1), Duration::from_secs(5))
        .min(grace)
}

/// Resolves on `SIGTERM` or `SIGINT`.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => {
                tracing::error!("cannot listen for stop signals; stop with SIGKILL");
                std::future::pending::<()>().await;
            }
        }
    }
    #[cfg(not(unix))]
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

impl Running {
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// A token that, when cancelled, stops the gateway exactly as `SIGTERM` does.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Serves until `SIGTERM`, `SIGINT` or [`Running::stop_token`], then stops within the
    /// shutdown grace period: it stops accepting at once, lets calls in flight finish, ends the
    /// streams still open (with an error event) when only the flush's reserve is left, and
    /// then stores or spills every usage record before the grace period ends.
    ///
    /// # Errors
    /// When the HTTP server fails, or when usage records could not be saved anywhere.
    pub async fn wait(self) -> anyhow::Result<()> {
        let Running {
            mut server,
            tracker,
            cancel,
            shutdown_timeout: grace,
            stop,
            gateway,
            manager: _,
        } = self;
        let handle = server.handle();
        let lifecycle = gateway.usage_lifecycle();
        let served = tokio::select! {
            served = &mut server => served,
            () = async {
                tokio::select! {
                    () = stop_signal() => {}
                    () = stop.cancelled() => {}
                }
            } => {
                let stop_by = Instant::now() + grace;
                lifecycle.shutdown_by(stop_by);
                tracing::info!(grace_secs = grace.as_secs_f64(), "stopping: no new connections; calls in flight may finish");
                let cut_at = stop_by - flush_reserve(grace);
                // The server future runs the stop, so it is polled throughout.
                drop(handle.stop(true));
                let cut = tokio::time::sleep_until(cut_at.into());
                tokio::pin!(cut);
                let mut cut_done = false;
                let mut forced = false;
                loop {
                    tokio::select! {
                        served = &mut server => break served,
                        () = &mut cut, if !cut_done => {
                            cut_done = true;
                            tracing::warn!("the grace period is ending: open streams are cut");
                            lifecycle.draining.cancel();
                        }
                        () = stop_signal(), if !forced => {
                            forced = true;
                            tracing::warn!("second stop signal: closing every connection now");
                            lifecycle.draining.cancel();
                            drop(handle.stop(false));
                        }
                    }
                }
            }
        };
        // Whatever stopped the server, nothing may wait past the deadline from here on.
        let stop_by = lifecycle
            .deadline()
            .unwrap_or_else(|| Instant::now() + grace);
        lifecycle.shutdown_by(stop_by);
        lifecycle.draining.cancel();
        tracing::info!("http server stopped; flushing usage");
        cancel.cancel();
        tracker.close();
        // Spilling is quick, so even a deadline already past gets a moment for it.
        let flush_until = stop_by.max(Instant::now() + Duration::from_secs(1));
        if tokio::time::timeout_at(flush_until.into(), tracker.wait())
            .await
            .is_err()
        {
            tracing::error!("background tasks did not finish within the shutdown grace period");
        }
        tracing::debug!("background tasks finished");
        gateway.close_usage_journal();
        tracing::debug!("usage journal closed");
        served.context("http server failed")?;
        match lifecycle.unsaved() {
            0 => Ok(()),
            lost => Err(anyhow::anyhow!(
                "{lost} usage records could not be saved to the store, the spill file or the journal"
            )),
        }
    }
}

/// Starts everything and returns once the server accepts connections.
///
/// # Errors
/// As for [`run`].
pub async fn start(
    settings: Settings,
    metrics: PrometheusHandle,
    listener: TcpListener,
) -> anyhow::Result<Running> {
    let mailer = mailer(&settings)?;
    start_with_mailer(settings, metrics, listener, mailer).await
}

/// The SMTP relay when one is configured, else the log.
fn mailer(settings: &Settings) -> anyhow::Result<Arc<dyn management::Mailer>> {
    use secrecy::ExposeSecret;
    match &settings.mail.smtp_url {
        Some(url) => {
            let smtp = management::SmtpMailer::new(url.expose_secret(), &settings.mail.from)
                .context("mail settings")?;
            tracing::info!(from = %settings.mail.from, "mail goes through the SMTP relay");
            Ok(Arc::new(smtp))
        }
        None => {
            tracing::info!("mail goes to the log (no SMTP relay configured)");
            Ok(Arc::new(management::LogMailer))
        }
    }
}

/// As [`start`], with the mail sender given (tests read links from an in-memory one).
///
/// # Errors
/// As for [`run`].
pub async fn start_with_mailer(
    settings: Settings,
    metrics: PrometheusHandle,
    listener: TcpListener,
    mailer: Arc<dyn management::Mailer>,
) -> anyhow::Result<Running> {
    let opened = stores::open(&settings.database).await?;
    let store = opened.store.clone();
    if settings.bootstrap {
        bootstrap(store.as_ref(), &settings).await?;
    }
    let providers = build_providers(&settings)?;
    let catalog = build_catalog(&settings, &providers)?;
    if settings.models.is_empty() {
        tracing::warn!(
            "no models are configured; every data-plane call will answer model_not_found"
        );
    }
    let keyring = crate::master_key::load(&settings.security.master_key)?;
    if keyring.is_none() {
        tracing::warn!(
            "no master key is configured (SLUICE_MASTER_KEY): tenants cannot store their own provider keys"
        );
    }
    let tracker = TaskTracker::new();
    let cancel = CancellationToken::new();
    let config = gateway::Config {
        refresh_interval: settings.refresh_interval,
        usage: settings.usage.clone(),
        byok: gateway::ByokConfig {
            keyring: keyring.clone(),
            providers: providers.clone(),
            allow_private_upstreams: settings.security.allow_private_upstreams,
        },
        token_issuer: settings.portal.public_url.clone(),
        cache_max_bytes: settings.cache_max_bytes,
        shared_cache: shared_cache(&settings).await,
        prices: settings.prices.clone(),
        shared_limiter: shared_limiter(&settings).await,
    };
    let gateway = Gateway::start(store.clone(), catalog, &config, &tracker, cancel.clone())
        .await
        .context("cannot load keys and tenants")?;

    if let Some(pg) = opened.postgres.clone() {
        let (access, cancel) = (gateway.access.clone(), cancel.clone());
        tracker.spawn(async move { pg.listen_changes(|| access.notify_changed(), cancel).await });
    }
    if let Some(url) = &settings.redis_url {
        match store_redis::ChangeBus::connect(url, &settings.redis_prefix).await {
            Ok(bus) => {
                let (access, cancel) = (gateway.access.clone(), cancel.clone());
                tracker.spawn(async move {
                    let on_change = || access.notify_changed();
                    bus.listen(on_change, on_change, cancel).await;
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "redis is unreachable; changes propagate by polling")
            }
        }
    }
    {
        let (metrics, cancel) = (metrics.clone(), cancel.clone());
        tracker.spawn(async move {
            loop {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(crate::telemetry::METRICS_UPKEEP) => metrics.run_upkeep(),
                }
            }
        });
    }

    let manager = {
        let access = gateway.access.clone();
        let manager =
            management::Manager::new(store.clone(), mailer, manager_config(&settings, keyring), {
                let store = store.clone();
                Arc::new(move || {
                    let (access, store) = (access.clone(), store.clone());
                    Box::pin(async move {
                        if let Err(e) = access.reload(store.as_ref()).await {
                            // The refresher retries; other nodes learn by polling anyway.
                            tracing::warn!(error = %e, "snapshot reload after a change failed");
                            access.notify_changed();
                        }
                    })
                })
            });
        Arc::new(match &settings.stripe {
            Some(stripe) => manager.with_payments(crate::payments::payments(stripe)?),
            None => manager,
        })
    };
    crate::webhooks::Deliverer::new(
        store.clone(),
        manager.config().keyring.clone(),
        settings.security.allow_private_upstreams,
        settings.webhooks.first_retry,
    )?
    .start(&tracker, cancel.clone());
    crate::invoicing::start(
        manager.clone(),
        &settings.invoicing,
        &tracker,
        cancel.clone(),
    );
    crate::credit::start(manager.clone(), &tracker, cancel.clone());
    crate::payments::start(
        manager.clone(),
        settings.stripe.as_ref(),
        &tracker,
        cancel.clone(),
    );
    if manager.config().keyring.is_some() {
        // Once before serving, so the first token request finds a key; then on a schedule.
        if let Err(e) = manager.ensure_signing_key(false, false).await {
            tracing::error!(error = %e, "token signing key check failed");
        }
        let (manager, cancel) = (manager.clone(), cancel.clone());
        tracker.spawn(async move {
            loop {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(SIGNING_KEY_CHECK) => {}
                }
                if let Err(e) = manager.ensure_signing_key(false, false).await {
                    tracing::error!(error = %e, "token signing key check failed");
                }
            }
        });
    }
    let keep_manager = manager.clone();
    let state = actix_web::web::Data::new(http_api::AppState {
        gateway: gateway.clone(),
        manager,
        secure_cookies: settings.portal.secure_cookies,
        max_body_bytes: settings.max_body_bytes,
        body_pace: settings.body_pace,
        client_slots: http_api::client_slots::ClientSlots::new(
            settings.max_unauthenticated_per_client,
        ),
        render_metrics: Arc::new(move || metrics.render()),
        trusted_proxies: http_api::origin::TrustedProxies::new(settings.trusted_proxies.clone()),
    });
    let open_files = crate::open_files::raise_limit();
    let address = listener.local_addr()?;
    let server = actix_web::HttpServer::new(move || http_api::app(state.clone()))
        // Streams are many small writes: without TCP_NODELAY, Nagle's algorithm and the
        // client's delayed ACKs hold chunks back for tens of milliseconds.
        .on_connect(|connection, _| {
            if let Some(tcp) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
                let _ = tcp.set_nodelay(true);
            }
        })
        .workers(settings.workers)
        // Signals are ours (`Running::wait`): it cuts streams before connections are dropped.
        .disable_signals()
        // Connections still open when the streams were cut (and a moment after) are closed.
        .shutdown_timeout(
            (settings.shutdown_timeout - flush_reserve(settings.shutdown_timeout)).as_secs() + 1,
        )
        .listen(listener)?
        .run();
    tracing::info!(
        %address,
        workers = settings.workers,
        store = store.backend(),
        models = settings.models.len(),
        open_files,
        "sluice is serving"
    );
    Ok(Running {
        server,
        tracker,
        cancel,
        shutdown_timeout: settings.shutdown_timeout,
        stop: CancellationToken::new(),
        gateway,
        manager: keep_manager,
    })
}
