//! Process settings: built-in defaults, then the TOML file (`--config`), then `SLUICE_*`
//! environment variables. Every error names the file, line and key (or the variable).
//!
//! Raw structs mirror the file (`raw`: `deny_unknown_fields`, every field optional);
//! `Settings` is the validated result with defaults filled in. Where values come from and how
//! errors are located is `source`; the sections with most rules have their own modules:
//! upstream providers (`upstreams`), models and their deployments (`routes`) and single
//! sign-on (`single_sign_on`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use providers::{anthropic, mock, openai};
use secrecy::SecretString;
use toml::Spanned;

/// A configuration problem, located as precisely as possible.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

mod payments;
mod pricing;
mod raw;
mod routes;
mod single_sign_on;
mod source;
#[cfg(test)]
mod tests;
mod upstreams;

pub use payments::StripeSettings;
use raw::*;
use routes::model_settings;
pub use routes::{DeploymentSettings, ModelSettings};
use single_sign_on::sso_settings;
pub use source::{Env, process_env};
use source::{Source, env_parse, millis, parse_nameserver, parse_network, secret};
use upstreams::provider_settings;

/// Which database, and how many connections.
#[derive(Clone)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// A URL with its password replaced, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone)]
pub struct LogSettings {
    pub level: String,
    pub format: LogFormat,
    pub access_log: bool,
}

/// The portal and management API.
#[derive(Debug, Clone)]
pub struct PortalSettings {
    /// Where users reach the portal, for links in emails.
    pub public_url: String,
    pub open_signup: bool,
    pub first_user_is_operator: bool,
    /// `Secure` on cookies: on unless the public URL is plain HTTP.
    pub secure_cookies: bool,
}

/// Where the master key that seals stored secrets comes from.
#[derive(Debug, Clone)]
pub enum MasterKeySource {
    /// `SLUICE_MASTER_KEY`, with `SLUICE_MASTER_KEY_PREVIOUS` during a rotation: what several
    /// nodes sharing one database use.
    Env {
        current: domain::crypto::MasterKey,
        previous: Vec<domain::crypto::MasterKey>,
    },
    /// A file, created on first use (the single-node default: `<data_dir>/master.key`).
    File(PathBuf),
    /// None configured (a shared database without `SLUICE_MASTER_KEY`): provider credentials
    /// are unavailable.
    Missing,
}

/// Secrets at rest and outbound reach.
#[derive(Debug, Clone)]
pub struct SecuritySettings {
    pub master_key: MasterKeySource,
    /// Whether tenants' upstream URLs may point at private, loopback or link-local addresses.
    pub allow_private_upstreams: bool,
}

/// Outgoing mail.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `smtps://user:pass@host:465`, `smtp://user:pass@host:587?tls=required` or
    /// `smtp://host:25`; `None` sends mail to the log.
    pub smtp_url: Option<SecretString>,
    /// The sender, `Name <address>` or an address.
    pub from: String,
}

/// OAuth 2.0 client credentials for service accounts.
#[derive(Debug, Clone)]
pub struct OauthSettings {
    /// Lifetime of access tokens.
    pub token_ttl: Duration,
    /// Age at which the token signing key is replaced.
    pub signing_key_rotation: Duration,
}

/// White-label partners.
#[derive(Debug, Clone, Default)]
pub struct PartnerSettings {
    /// The nameserver that checks partners' domain-proof TXT records; `None` uses the
    /// system's (`/etc/resolv.conf`).
    pub dns_resolver: Option<SocketAddr>,
}

/// Invoices made by the gateway itself (`[invoicing]`).
#[derive(Debug, Clone)]
pub struct InvoicingSettings {
    /// Whether every node drafts and finalizes each tenant's invoice for the last calendar
    /// month by itself (otherwise invoices are made through the API or the portal).
    pub monthly: bool,
    /// How long after a month ends its invoices are made: records replayed later are carried
    /// onto the next invoice, so this only makes that rarer.
    pub after: Duration,
    /// How often a node looks for periods to close.
    pub check: Duration,
    /// Where each tenant's monthly periods start: the calendar month, or its sign-up day.
    pub anchor: domain::invoice::BillingAnchor,
}

/// Budget alerts' webhook deliveries.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// The wait before the first retry of a failed delivery; each later one waits longer
    /// (×6, ×24, ×180, ×720, ×2880, ×8640: 5 s, 30 s, 2 min, 15 min, 1 h, 4 h, 12 h by default).
    pub first_retry: Duration,
}

/// One configured upstream.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    pub name: String,
    pub config: ProviderConfig,
}

#[derive(Debug, Clone)]
pub enum ProviderConfig {
    OpenAi(openai::Config),
    Anthropic(anthropic::Config),
    Mock(mock::Config),
}

/// The validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub workers: usize,
    pub max_body_bytes: usize,
    /// How fast request bodies must arrive.
    pub body_pace: http_api::body::BodyPace,
    /// Requests in flight per client address on the endpoints that need no credentials.
    pub max_unauthenticated_per_client: u32,
    pub data_dir: PathBuf,
    pub shutdown_timeout: Duration,
    pub refresh_interval: Duration,
    /// Create a first tenant and key when the store has no tenant.
    pub bootstrap: bool,
    /// Peers whose forwarded headers (`Forwarded`, `X-Forwarded-For`, `-Host`, `-Proto`) are
    /// believed; empty: none.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub database: DatabaseSettings,
    pub redis_url: Option<String>,
    pub redis_prefix: String,
    /// Bytes of answers the response cache keeps in each process.
    pub cache_max_bytes: u64,
    pub log: LogSettings,
    pub usage: gateway::UsageConfig,
    pub key_prefix: String,
    pub portal: PortalSettings,
    pub security: SecuritySettings,
    pub oauth: OauthSettings,
    /// Identity providers for single sign-on.
    pub sso: Vec<sso::Config>,
    pub mail: MailSettings,
    pub partners: PartnerSettings,
    pub webhooks: WebhookSettings,
    pub invoicing: InvoicingSettings,
    /// Where finalized invoices are collected (`[stripe]`); `None`: nowhere.
    pub stripe: Option<StripeSettings>,
    pub providers: Vec<ProviderSettings>,
    pub models: Vec<ModelSettings>,
    /// The prices the node starts with: the shipped defaults and `[pricing]`.
    pub prices: gateway::PriceBase,
    /// The tax invoices show (`[pricing] tax_percent`); `None` leaves taxes to the payment
    /// provider.
    pub tax: Option<domain::invoice::TaxRule>,
}

impl Settings {
    /// Loads settings from an optional file and the environment.
    ///
    /// # Errors
    /// Unreadable or invalid files and invalid values, located by file, line and key.
    pub fn load(path: Option<&Path>, env: Env<'_>) -> Result<Self, ConfigError> {
        let (file, text) = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError(format!(
                        "cannot read configuration file {}: {e}",
                        path.display()
                    ))
                })?;
                (path.display().to_string(), text)
            }
            None => ("<defaults>".to_owned(), String::new()),
        };
        Self::parse(&file, &text, path.is_none(), env)
    }

    /// Parses settings from TOML text; `builtin_models` adds the mock provider and its model
    /// (the no-configuration quick start).
    ///
    /// # Errors
    /// As for [`Settings::load`].
    pub fn parse(
        file: &str,
        text: &str,
        builtin_models: bool,
        env: Env<'_>,
    ) -> Result<Self, ConfigError> {
        let raw: RawSettings = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|span| {
                text[..span.start.min(text.len())]
                    .bytes()
                    .filter(|&b| b == b'\n')
                    .count()
                    + 1
            });
            let message = e.message().to_owned();
            match line {
                Some(line) => ConfigError(format!("{file}:{line}: {message}")),
                None => ConfigError(format!("{file}: {message}")),
            }
        })?;
        let source = Source { file, text };
        let server = raw.server.unwrap_or_default();
        let database = raw.database.unwrap_or_default();
        let redis = raw.redis.unwrap_or_default();
        let cache = raw.cache.unwrap_or_default();
        let log = raw.log.unwrap_or_default();
        let usage = raw.usage.unwrap_or_default();
        let keys = raw.keys.unwrap_or_default();
        let portal = raw.portal.unwrap_or_default();
        let security = raw.security.unwrap_or_default();
        let oauth = raw.oauth.unwrap_or_default();

        let listen = match env("SLUICE_LISTEN") {
            Some(value) => value.parse().map_err(|_| {
                ConfigError(format!("environment variable SLUICE_LISTEN: `{value}` is not an address like 127.0.0.1:8080"))
            })?,
            None => match &server.listen {
                Some(listen) => listen.get_ref().parse().map_err(|_| {
                    source.at(listen, "server.listen", "expected an address like `127.0.0.1:8080`")
                })?,
                None => SocketAddr::from(([127, 0, 0, 1], 8080)),
            },
        };
        let workers = env_parse::<usize>(env, "SLUICE_WORKERS")?
            .or(server.workers)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |it| it.get()))
            .max(1);
        let max_body_bytes = env_parse::<usize>(env, "SLUICE_MAX_BODY_BYTES")?
            .or(server.max_body_bytes)
            .unwrap_or(10 * 1024 * 1024);
        if max_body_bytes < 1024 {
            return Err(ConfigError(
                "`server.max_body_bytes` must be at least 1024".into(),
            ));
        }
        let trusted_proxies = match env("SLUICE_TRUSTED_PROXIES") {
            Some(value) => value
                .split(',')
                .map(str::trim)
                .filter(|it| !it.is_empty())
                .map(|it| {
                    parse_network(it).ok_or_else(|| {
                        ConfigError(format!(
                            "environment variable SLUICE_TRUSTED_PROXIES: `{it}` is not an address or network like 10.0.0.0/8"
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => server
                .trusted_proxies
                .iter()
                .flatten()
                .map(|it| {
                    parse_network(it.get_ref()).ok_or_else(|| {
                        source.at(
                            it,
                            "server.trusted_proxies",
                            "expected an address or network like `10.0.0.0/8`",
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let dns_resolver = match env("SLUICE_PARTNERS_DNS_RESOLVER") {
            Some(value) => Some(parse_nameserver(&value).ok_or_else(|| {
                ConfigError(format!(
                    "environment variable SLUICE_PARTNERS_DNS_RESOLVER: `{value}` is not an address like 127.0.0.1:53"
                ))
            })?),
            None => raw
                .partners
                .as_ref()
                .and_then(|it| it.dns_resolver.as_ref())
                .map(|it| {
                    parse_nameserver(it.get_ref()).ok_or_else(|| {
                        source.at(
                            it,
                            "partners.dns_resolver",
                            "expected an address like `127.0.0.1:53` or `10.0.0.2`",
                        )
                    })
                })
                .transpose()?,
        };
        let data_dir = env("SLUICE_DATA_DIR")
            .map(PathBuf::from)
            .or(server.data_dir)
            .unwrap_or_else(|| PathBuf::from("sluice-data"));
        let database_url = match env("SLUICE_DATABASE_URL") {
            Some(url) => url,
            None => match &database.url {
                Some(url) => {
                    let value = url.get_ref();
                    if !(value.starts_with("sqlite:")
                        || value.starts_with("postgres://")
                        || value.starts_with("postgresql://"))
                    {
                        return Err(source.at(
                            url,
                            "database.url",
                            "expected `sqlite://PATH` or `postgres://...`",
                        ));
                    }
                    value.clone()
                }
                None => format!("sqlite://{}", data_dir.join("sluice.db").display()),
            },
        };
        let batch_size = default_batch_size(&database_url);
        let redis_url = env("SLUICE_REDIS_URL")
            .or_else(|| redis.url.map(Spanned::into_inner))
            .filter(|it| !it.is_empty());
        let format = match env("SLUICE_LOG_FORMAT")
            .or_else(|| log.format.as_ref().map(|it| it.get_ref().clone()))
        {
            None => LogFormat::Json,
            Some(value) => {
                match value.as_str() {
                    "json" => LogFormat::Json,
                    "pretty" => LogFormat::Pretty,
                    _ => {
                        return Err(match &log.format {
                        Some(spanned) if env("SLUICE_LOG_FORMAT").is_none() => {
                            source.at(spanned, "log.format", "expected `json` or `pretty`")
                        }
                        _ => ConfigError("environment variable SLUICE_LOG_FORMAT: expected `json` or `pretty`".into()),
                    });
                    }
                }
            }
        };
        let raw_anchor = raw.invoicing.as_ref().and_then(|it| it.anchor.as_ref());
        let anchor = match env("SLUICE_INVOICING_ANCHOR")
            .or_else(|| raw_anchor.map(|it| it.get_ref().clone()))
        {
            None => domain::invoice::BillingAnchor::CalendarMonth,
            Some(value) => domain::invoice::BillingAnchor::parse(&value).ok_or_else(|| {
                let expected = "expected `calendar_month` or `sign_up`";
                match raw_anchor {
                    Some(spanned) if env("SLUICE_INVOICING_ANCHOR").is_none() => {
                        source.at(spanned, "invoicing.anchor", expected)
                    }
                    _ => ConfigError(format!(
                        "environment variable SLUICE_INVOICING_ANCHOR: {expected}"
                    )),
                }
            })?,
        };
        let key_prefix = env("SLUICE_KEY_PREFIX")
            .or_else(|| keys.prefix.as_ref().map(|it| it.get_ref().clone()))
            .unwrap_or_else(|| "sk-sluice".to_owned());
        if let Err(e) = domain::api_key::validate_prefix(&key_prefix) {
            return Err(match &keys.prefix {
                Some(spanned) => source.at(spanned, "keys.prefix", e),
                None => ConfigError(format!("environment variable SLUICE_KEY_PREFIX: {e}")),
            });
        }

        let public_url = match env("SLUICE_PUBLIC_URL") {
            Some(url) => url,
            None => match &portal.public_url {
                Some(url) => url.get_ref().clone(),
                None if listen.ip().is_unspecified() => {
                    format!("http://localhost:{}", listen.port())
                }
                None => format!("http://{listen}"),
            },
        };
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(match &portal.public_url {
                Some(url) if env("SLUICE_PUBLIC_URL").is_none() => source.at(
                    url,
                    "portal.public_url",
                    "expected an http:// or https:// URL",
                ),
                _ => ConfigError(
                    "environment variable SLUICE_PUBLIC_URL: expected an http:// or https:// URL"
                        .into(),
                ),
            });
        }
        let portal = PortalSettings {
            secure_cookies: portal
                .secure_cookies
                .unwrap_or(public_url.starts_with("https://")),
            public_url: public_url.trim_end_matches('/').to_owned(),
            open_signup: env_parse::<bool>(env, "SLUICE_OPEN_SIGNUP")?
                .or(portal.open_signup)
                .unwrap_or(true),
            first_user_is_operator: portal.first_user_is_operator.unwrap_or(true),
        };

        let master_key =
            master_key_source(env, security.master_key_file, &data_dir, &database_url)?;
        let security = SecuritySettings {
            master_key,
            allow_private_upstreams: env_parse::<bool>(env, "SLUICE_ALLOW_PRIVATE_UPSTREAMS")?
                .or(security.allow_private_upstreams)
                .unwrap_or(false),
        };

        let ranged = |value: &Option<Spanned<u64>>,
                      key: &str,
                      range: std::ops::RangeInclusive<u64>,
                      default: u64| {
            match value {
                None => Ok(default),
                Some(spanned) if range.contains(spanned.get_ref()) => Ok(*spanned.get_ref()),
                Some(spanned) => Err(source.at(
                    spanned,
                    key,
                    format!("expected {} to {}", range.start(), range.end()),
                )),
            }
        };
        let oauth = OauthSettings {
            token_ttl: Duration::from_secs(ranged(
                &oauth.token_ttl_secs,
                "oauth.token_ttl_secs",
                60..=86_400,
                900,
            )?),
            signing_key_rotation: Duration::from_secs(
                86_400
                    * ranged(
                        &oauth.signing_key_rotation_days,
                        "oauth.signing_key_rotation_days",
                        1..=365,
                        30,
                    )?,
            ),
        };

        let raw_mail = raw.mail.as_ref();
        let smtp_url = match env("SLUICE_SMTP_URL").filter(|it| !it.is_empty()) {
            Some(url) => Some(SecretString::from(url)),
            None => raw_mail
                .and_then(|it| it.smtp_url.as_ref())
                .map(|url| secret(&source, url, "mail.smtp_url", env))
                .transpose()?,
        };
        let mail = MailSettings {
            smtp_url,
            from: env("SLUICE_MAIL_FROM")
                .or_else(|| raw_mail.and_then(|it| it.from.clone()))
                .unwrap_or_else(|| "no-reply@localhost".to_owned()),
        };

        let mut sso = Vec::new();
        for (name, provider) in raw
            .sso
            .as_ref()
            .map(|it| &it.providers)
            .into_iter()
            .flatten()
        {
            sso.push(sso_settings(&source, name, provider, env)?);
        }

        let mut providers = Vec::new();
        for (name, provider) in &raw.providers {
            providers.push(provider_settings(&source, name, provider, env)?);
        }
        let mut models = model_settings(&source, &raw.models, &raw.providers)?;
        let mut prices = pricing::price_base(&source, raw.pricing.as_ref())?;
        let tax = pricing::tax_rule(&source, raw.pricing.as_ref())?;
        if builtin_models && providers.is_empty() {
            // The quick start's mock model is priced like a small hosted one, so its answers
            // show what a real model's would (`usage.cost`, `x-request-cost`).
            prices.entries.push(domain::pricing::PriceEntry {
                scope: domain::pricing::PriceScope::Cost,
                source: domain::pricing::PriceSource::Config,
                provider: "mock".into(),
                model: "mock".into(),
                effective_from: time::OffsetDateTime::UNIX_EPOCH,
                rates: domain::pricing::Rates {
                    input: domain::pricing::Money::from_nanos(150_000_000),
                    output: domain::pricing::Money::from_nanos(600_000_000),
                    cached_input: None,
                    cache_write: None,
                    reasoning: None,
                },
            });
            providers.push(ProviderSettings {
                name: "mock".into(),
                config: ProviderConfig::Mock(mock::Config::default()),
            });
            models.push(ModelSettings {
                alias: "mock".into(),
                owned_by: "mock".into(),
                deployments: vec![DeploymentSettings {
                    name: "mock".into(),
                    provider: "mock".into(),
                    upstream_model: "mock".into(),
                    weight: 1,
                    priority: 0,
                    region: None,
                    cost_micros: None,
                    ..DeploymentSettings::default()
                }],
                strategy: gateway::routing::Strategy::Priority,
                retry: gateway::RetryPolicy::once_each(1),
                breaker: Some(gateway::breaker::BreakerPolicy::default()),
                cache: None,
                semantic: None,
                health_check: None,
            });
        }

        Ok(Settings {
            listen,
            workers,
            max_body_bytes,
            body_pace: http_api::body::BodyPace {
                grace: Duration::from_secs(server.body_read_timeout_secs.unwrap_or(10).max(1)),
                min_bytes_per_sec: server.body_min_bytes_per_sec.unwrap_or(1024).max(1),
            },
            max_unauthenticated_per_client: server
                .max_unauthenticated_per_client
                .unwrap_or(16)
                .max(1),
            shutdown_timeout: Duration::from_secs(server.shutdown_timeout_secs.unwrap_or(30)),
            refresh_interval: millis(server.refresh_interval_ms, Duration::from_millis(250))
                .max(Duration::from_millis(10)),
            bootstrap: env_parse::<bool>(env, "SLUICE_BOOTSTRAP")?
                .or(server.bootstrap)
                .unwrap_or(true),
            trusted_proxies,
            database: DatabaseSettings {
                url: database_url,
                max_connections: env_parse::<u32>(env, "SLUICE_DATABASE_MAX_CONNECTIONS")?
                    .or(database.max_connections)
                    .unwrap_or(10)
                    .max(1),
            },
            redis_url,
            redis_prefix: redis
                .prefix
                .unwrap_or_else(|| store_redis::DEFAULT_PREFIX.to_owned()),
            cache_max_bytes: ranged(
                &cache.max_bytes,
                "cache.max_bytes",
                0..=(1 << 40),
                16 * 1024 * 1024,
            )?,
            log: LogSettings {
                level: env("SLUICE_LOG_LEVEL")
                    .or(log.level)
                    .unwrap_or_else(|| "info".to_owned()),
                format,
                access_log: env_parse::<bool>(env, "SLUICE_ACCESS_LOG")?
                    .or(log.access_log)
                    .unwrap_or(true),
            },
            usage: gateway::UsageConfig {
                queue_capacity: usage.queue_capacity.unwrap_or(10_000).max(1),
                batch_size: usage.batch_size.unwrap_or(batch_size).clamp(1, 5000),
                flush_interval: millis(
                    env_parse::<u64>(env, "SLUICE_USAGE_FLUSH_INTERVAL_MS")?
                        .or(usage.flush_interval_ms),
                    Duration::from_millis(50),
                ),
                spill_dir: data_dir.clone(),
                replay_interval: Duration::from_secs(
                    usage.replay_interval_secs.unwrap_or(30).max(1),
                ),
            },
            data_dir,
            key_prefix,
            portal,
            security,
            oauth,
            sso,
            mail,
            partners: PartnerSettings { dns_resolver },
            webhooks: WebhookSettings {
                first_retry: millis(
                    env_parse::<u64>(env, "SLUICE_WEBHOOKS_FIRST_RETRY_MS")?
                        .or(raw.webhooks.as_ref().and_then(|it| it.first_retry_ms)),
                    Duration::from_secs(5),
                ),
            },
            invoicing: InvoicingSettings {
                monthly: env_parse::<bool>(env, "SLUICE_INVOICING_MONTHLY")?
                    .or(raw.invoicing.as_ref().and_then(|it| it.monthly))
                    .unwrap_or(false),
                after: Duration::from_secs(
                    60 * env_parse::<u64>(env, "SLUICE_INVOICING_AFTER_MINUTES")?
                        .or(raw.invoicing.as_ref().and_then(|it| it.after_minutes))
                        .unwrap_or(60)
                        .min(60 * 24 * 27),
                ),
                check: millis(
                    env_parse::<u64>(env, "SLUICE_INVOICING_CHECK_MS")?
                        .or(raw.invoicing.as_ref().and_then(|it| it.check_ms)),
                    Duration::from_secs(300),
                )
                .max(Duration::from_millis(100)),
                anchor,
            },
            stripe: payments::stripe_settings(&source, raw.stripe.as_ref(), env)?,
            providers,
            models,
            prices,
            tax,
        })
    }
}

/// How many usage records the writer inserts at once; it writes as soon as that many wait (or
/// every `flush_interval`). The embedded SQLite runs on the gateway's own cores, where a batch
/// is SQLite holding a core for as long as it takes: at 30 000 calls a second, 50 ms of records
/// held it 4 ms at a stretch and every call in flight waited. 128 keeps its runs near a
/// millisecond; Postgres, on its own machine, takes fewer, larger batches better.
fn default_batch_size(database_url: &str) -> usize {
    if database_url.starts_with("sqlite:") {
        128
    } else {
        500
    }
}

/// The environment wins; then a configured file; then, for the embedded database only, a file
/// in the data directory (nodes sharing a database must share the key, so they get none by
/// default rather than one each).
fn master_key_source(
    env: Env<'_>,
    file: Option<PathBuf>,
    data_dir: &Path,
    database_url: &str,
) -> Result<MasterKeySource, ConfigError> {
    let parse = |name: &str, value: &str| {
        domain::crypto::MasterKey::from_base64(value).map_err(|e| {
            ConfigError(format!(
                "environment variable {name}: {e} (make one with `openssl rand -base64 32`)"
            ))
        })
    };
    if let Some(current) = env("SLUICE_MASTER_KEY").filter(|it| !it.trim().is_empty()) {
        let current = parse("SLUICE_MASTER_KEY", &current)?;
        let previous = env("SLUICE_MASTER_KEY_PREVIOUS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|it| !it.is_empty())
            .map(|it| parse("SLUICE_MASTER_KEY_PREVIOUS", it))
            .collect::<Result<_, _>>()?;
        return Ok(MasterKeySource::Env { current, previous });
    }
    if let Some(file) = env("SLUICE_MASTER_KEY_FILE").map(PathBuf::from).or(file) {
        return Ok(MasterKeySource::File(file));
    }
    if database_url.starts_with("sqlite:") {
        return Ok(MasterKeySource::File(data_dir.join("master.key")));
    }
    Ok(MasterKeySource::Missing)
}
