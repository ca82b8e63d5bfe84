//! Process settings: built-in defaults, then the TOML file (`--config`), then `SLUICE_*`
//! environment variables. Every error names the file, line and key (or the variable).
//!
//! Raw structs mirror the file (`deny_unknown_fields`, every field optional); `Settings` is
//! the validated result with defaults filled in.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use providers::openai::{Compat, Flavor};
use providers::{Timeouts, Trust, anthropic, mock, openai};
use secrecy::SecretString;
use serde::Deserialize;
use toml::Spanned;

/// A configuration problem, located as precisely as possible.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    server: Option<RawServer>,
    database: Option<RawDatabase>,
    redis: Option<RawRedis>,
    log: Option<RawLog>,
    usage: Option<RawUsage>,
    keys: Option<RawKeys>,
    portal: Option<RawPortal>,
    security: Option<RawSecurity>,
    oauth: Option<RawOauth>,
    sso: Option<RawSso>,
    mail: Option<RawMail>,
    partners: Option<RawPartners>,
    #[serde(default)]
    providers: BTreeMap<String, RawProvider>,
    #[serde(default)]
    models: Vec<RawModel>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<Spanned<String>>,
    workers: Option<usize>,
    max_body_bytes: Option<usize>,
    body_read_timeout_secs: Option<u64>,
    body_min_bytes_per_sec: Option<u64>,
    max_unauthenticated_per_client: Option<u32>,
    data_dir: Option<PathBuf>,
    shutdown_timeout_secs: Option<u64>,
    refresh_interval_ms: Option<u64>,
    bootstrap: Option<bool>,
    trusted_proxies: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPartners {
    dns_resolver: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: Option<Spanned<String>>,
    max_connections: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRedis {
    url: Option<Spanned<String>>,
    prefix: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    level: Option<String>,
    format: Option<Spanned<String>>,
    access_log: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUsage {
    queue_capacity: Option<usize>,
    batch_size: Option<usize>,
    flush_interval_ms: Option<u64>,
    replay_interval_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPortal {
    public_url: Option<Spanned<String>>,
    open_signup: Option<bool>,
    first_user_is_operator: Option<bool>,
    secure_cookies: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSecurity {
    master_key_file: Option<PathBuf>,
    allow_private_upstreams: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOauth {
    token_ttl_secs: Option<Spanned<u64>>,
    signing_key_rotation_days: Option<Spanned<u64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMail {
    smtp_url: Option<Spanned<String>>,
    from: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSso {
    #[serde(default)]
    providers: BTreeMap<String, RawSsoProvider>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSsoProvider {
    kind: Spanned<String>,
    display_name: Option<String>,
    issuer: Option<Spanned<String>>,
    client_id: Spanned<String>,
    client_secret: Spanned<String>,
    scopes: Option<Vec<String>>,
    authorize_url: Option<Spanned<String>>,
    token_url: Option<Spanned<String>>,
    api_url: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeys {
    prefix: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    kind: Spanned<String>,
    base_url: Option<Spanned<String>>,
    api_key: Option<Spanned<String>>,
    /// Azure: `2024-10-21`, or `v1` for the version-less API.
    api_version: Option<String>,
    /// openai_compatible: which server (`vllm`, `ollama`, `groq`, ...).
    flavor: Option<Spanned<String>>,
    /// anthropic: `anthropic-version`.
    version: Option<String>,
    /// anthropic: `anthropic-beta` values.
    #[serde(default)]
    beta: Vec<String>,
    /// anthropic: `max_tokens` when the client sends none.
    default_max_tokens: Option<u32>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// PEM file of the CAs the upstream's certificate must chain to (instead of the system's).
    ca_file: Option<Spanned<String>>,
    connect_timeout_ms: Option<u64>,
    first_byte_timeout_ms: Option<u64>,
    idle_timeout_ms: Option<u64>,
    total_timeout_ms: Option<u64>,
    /// mock: delay before answering.
    latency_ms: Option<u64>,
    /// mock: delay between streamed chunks.
    chunk_delay_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    alias: Spanned<String>,
    provider: Spanned<String>,
    /// The upstream's model name (or Azure deployment); the alias when absent.
    model: Option<String>,
    owned_by: Option<String>,
}

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

/// One public model alias.
#[derive(Debug, Clone)]
pub struct ModelSettings {
    pub alias: String,
    pub provider: String,
    pub upstream_model: String,
    pub owned_by: String,
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
    pub providers: Vec<ProviderSettings>,
    pub models: Vec<ModelSettings>,
}

/// Reads environment variables; a function so tests need not touch the process environment.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Where a value came from, for error messages.
struct Source<'a> {
    file: &'a str,
    text: &'a str,
}

impl Source<'_> {
    fn at<T>(
        &self,
        spanned: &Spanned<T>,
        key: &str,
        message: impl std::fmt::Display,
    ) -> ConfigError {
        let line = self.text[..spanned.span().start.min(self.text.len())]
            .bytes()
            .filter(|&b| b == b'\n')
            .count()
            + 1;
        ConfigError(format!("{}:{line}: `{key}`: {message}", self.file))
    }
}

fn env_parse<T: std::str::FromStr>(env: Env<'_>, name: &str) -> Result<Option<T>, ConfigError> {
    match env(name) {
        None => Ok(None),
        Some(value) => value.trim().parse().map(Some).map_err(|_| {
            ConfigError(format!(
                "environment variable {name}: invalid value `{value}`"
            ))
        }),
    }
}

/// Resolves `env:NAME` secrets; literal secrets are refused so they never sit in files.
fn secret(
    source: &Source<'_>,
    raw: &Spanned<String>,
    key: &str,
    env: Env<'_>,
) -> Result<SecretString, ConfigError> {
    let Some(name) = raw.get_ref().strip_prefix("env:") else {
        return Err(source.at(
            raw,
            key,
            "secrets are not written in files; put it in an environment variable and write `env:NAME`",
        ));
    };
    match env(name) {
        Some(value) if !value.is_empty() => Ok(SecretString::from(value)),
        _ => Err(source.at(
            raw,
            key,
            format!("environment variable `{name}` is not set"),
        )),
    }
}

/// One `[sso.providers.NAME]` table: `oidc` (by discovery), or the `google` and `github` presets.
fn sso_settings(
    source: &Source<'_>,
    name: &str,
    raw: &RawSsoProvider,
    env: Env<'_>,
) -> Result<sso::Config, ConfigError> {
    let key = |field: &str| format!("sso.providers.{name}.{field}");
    let valid_name = !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid_name {
        return Err(source.at(
            &raw.kind,
            &key("kind"),
            format!("provider name `{name}` must be lowercase letters, digits and `-`"),
        ));
    }
    let url = |value: &Option<Spanned<String>>, field: &str, default: Option<&str>| match value {
        Some(spanned)
            if spanned.get_ref().starts_with("https://")
                || spanned.get_ref().starts_with("http://") =>
        {
            Ok(spanned.get_ref().trim_end_matches('/').to_owned())
        }
        Some(spanned) => Err(source.at(spanned, &key(field), "expected an http(s) URL")),
        None => default.map(str::to_owned).ok_or_else(|| {
            source.at(
                &raw.kind,
                &key(field),
                format!("`{field}` is required for this kind"),
            )
        }),
    };
    let (kind, default_name, default_scopes): (sso::Kind, &str, &[&str]) =
        match raw.kind.get_ref().as_str() {
            "oidc" => (
                sso::Kind::Oidc {
                    issuer: url(&raw.issuer, "issuer", None)?,
                },
                name,
                &["openid", "email", "profile"],
            ),
            "google" => (
                sso::Kind::Oidc {
                    issuer: url(&raw.issuer, "issuer", Some("https://accounts.google.com"))?,
                },
                "Google",
                &["openid", "email", "profile"],
            ),
            "github" => (
                sso::Kind::Github {
                    authorize_url: url(
                        &raw.authorize_url,
                        "authorize_url",
                        Some("https://github.com/login/oauth/authorize"),
                    )?,
                    token_url: url(
                        &raw.token_url,
                        "token_url",
                        Some("https://github.com/login/oauth/access_token"),
                    )?,
                    api_url: url(&raw.api_url, "api_url", Some("https://api.github.com"))?,
                },
                "GitHub",
                &["read:user", "user:email"],
            ),
            other => {
                return Err(source.at(
                    &raw.kind,
                    &key("kind"),
                    format!("unknown kind `{other}`; expected oidc, google or github"),
                ));
            }
        };
    if raw.client_id.get_ref().trim().is_empty() {
        return Err(source.at(&raw.client_id, &key("client_id"), "must not be empty"));
    }
    Ok(sso::Config {
        name: name.to_owned(),
        display_name: raw
            .display_name
            .clone()
            .unwrap_or_else(|| default_name.to_owned()),
        kind,
        client_id: raw.client_id.get_ref().trim().to_owned(),
        client_secret: secret(source, &raw.client_secret, &key("client_secret"), env)?,
        scopes: raw
            .scopes
            .clone()
            .unwrap_or_else(|| default_scopes.iter().map(|it| (*it).to_owned()).collect()),
    })
}

/// `10.0.0.0/8`, `fd00::/8`, or a single address (`127.0.0.1`, `::1`).
fn parse_network(raw: &str) -> Option<ipnet::IpNet> {
    let raw = raw.trim();
    raw.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| raw.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

/// `127.0.0.1:5353`, `[::1]:53`, or an address alone (port 53).
fn parse_nameserver(raw: &str) -> Option<SocketAddr> {
    let raw = raw.trim();
    raw.parse::<SocketAddr>().ok().or_else(|| {
        raw.parse::<std::net::IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, 53))
    })
}

fn millis(value: Option<u64>, default: Duration) -> Duration {
    value.map_or(default, Duration::from_millis)
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
        let mut models = Vec::new();
        for (i, model) in raw.models.iter().enumerate() {
            let alias = model.alias.get_ref().trim();
            if alias.is_empty() || alias.len() > 200 {
                return Err(source.at(
                    &model.alias,
                    &format!("models[{i}].alias"),
                    "must be 1 to 200 characters",
                ));
            }
            if models.iter().any(|it: &ModelSettings| it.alias == alias) {
                return Err(source.at(
                    &model.alias,
                    &format!("models[{i}].alias"),
                    format!("`{alias}` is defined twice"),
                ));
            }
            let provider = model.provider.get_ref();
            if !raw.providers.contains_key(provider) {
                let known: Vec<&str> = raw.providers.keys().map(String::as_str).collect();
                return Err(source.at(
                    &model.provider,
                    &format!("models[{i}].provider"),
                    format!(
                        "unknown provider `{provider}` (configured: {})",
                        known.join(", ")
                    ),
                ));
            }
            models.push(ModelSettings {
                alias: alias.to_owned(),
                provider: provider.clone(),
                upstream_model: model.model.clone().unwrap_or_else(|| alias.to_owned()),
                owned_by: model.owned_by.clone().unwrap_or_else(|| provider.clone()),
            });
        }
        if builtin_models && providers.is_empty() {
            providers.push(ProviderSettings {
                name: "mock".into(),
                config: ProviderConfig::Mock(mock::Config::default()),
            });
            models.push(ModelSettings {
                alias: "mock".into(),
                provider: "mock".into(),
                upstream_model: "mock".into(),
                owned_by: "mock".into(),
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
                batch_size: usage.batch_size.unwrap_or(500).clamp(1, 5000),
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
            providers,
            models,
        })
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

fn provider_settings(
    source: &Source<'_>,
    name: &str,
    raw: &RawProvider,
    env: Env<'_>,
) -> Result<ProviderSettings, ConfigError> {
    let key = |field: &str| format!("providers.{name}.{field}");
    let timeouts = {
        let defaults = Timeouts::default();
        Timeouts {
            connect: millis(raw.connect_timeout_ms, defaults.connect),
            first_byte: millis(raw.first_byte_timeout_ms, defaults.first_byte),
            idle: millis(raw.idle_timeout_ms, defaults.idle),
            total: millis(raw.total_timeout_ms, defaults.total),
        }
    };
    let api_key = raw
        .api_key
        .as_ref()
        .map(|it| secret(source, it, &key("api_key"), env))
        .transpose()?;
    let base_url = |default: Option<&str>| -> Result<String, ConfigError> {
        match (&raw.base_url, default) {
            (Some(url), _) => {
                let value = url.get_ref();
                if !(value.starts_with("http://") || value.starts_with("https://")) {
                    return Err(source.at(
                        url,
                        &key("base_url"),
                        "expected an http:// or https:// URL",
                    ));
                }
                Ok(value.clone())
            }
            (None, Some(default)) => Ok(default.to_owned()),
            (None, None) => {
                Err(source.at(&raw.kind, &key("base_url"), "is required for this kind"))
            }
        }
    };
    let trust = match &raw.ca_file {
        None => Trust::System,
        Some(file) => Trust::from_pem_file(Path::new(file.get_ref()))
            .map_err(|e| source.at(file, &key("ca_file"), e))?,
    };
    let headers: Vec<(String, String)> = raw
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let config = match raw.kind.get_ref().as_str() {
        "openai" => ProviderConfig::OpenAi(openai::Config {
            flavor: Flavor::OpenAi,
            base_url: base_url(Some("https://api.openai.com/v1"))?,
            api_key,
            headers,
            timeouts,
            trust,
        }),
        "azure_openai" | "azure" => ProviderConfig::OpenAi(openai::Config {
            flavor: Flavor::Azure {
                api_version: raw
                    .api_version
                    .clone()
                    .unwrap_or_else(|| "2024-10-21".to_owned()),
            },
            base_url: base_url(None)?,
            api_key,
            headers,
            timeouts,
            trust,
        }),
        "openai_compatible" => {
            let flavor = match &raw.flavor {
                None => Compat::Generic,
                Some(flavor) => Compat::parse(flavor.get_ref()).ok_or_else(|| {
                    source.at(
                        flavor,
                        &key("flavor"),
                        format!("expected one of: {}", Compat::NAMES.join(", ")),
                    )
                })?,
            };
            ProviderConfig::OpenAi(openai::Config {
                flavor: Flavor::Compatible(flavor),
                base_url: base_url(None)?,
                api_key,
                headers,
                timeouts,
                trust,
            })
        }
        "anthropic" => ProviderConfig::Anthropic(anthropic::Config {
            base_url: base_url(Some(anthropic::DEFAULT_BASE_URL))?,
            api_key,
            version: raw
                .version
                .clone()
                .unwrap_or_else(|| anthropic::DEFAULT_VERSION.to_owned()),
            beta: raw.beta.clone(),
            default_max_tokens: raw.default_max_tokens.unwrap_or(4096).max(1),
            headers,
            timeouts,
            trust,
        }),
        "mock" => ProviderConfig::Mock(mock::Config {
            latency: millis(raw.latency_ms, Duration::ZERO),
            chunk_delay: millis(raw.chunk_delay_ms, Duration::ZERO),
        }),
        other => {
            return Err(source.at(
                &raw.kind,
                &key("kind"),
                format!("unknown kind `{other}`; expected openai, azure_openai, openai_compatible, anthropic or mock"),
            ));
        }
    };
    Ok(ProviderSettings {
        name: name.to_owned(),
        config,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn parse(text: &str) -> Result<Settings, String> {
        Settings::parse("sluice.toml", text, false, &no_env).map_err(|e| e.0)
    }

    #[test]
    fn sso_providers_take_presets_and_refuse_bad_values_by_line() {
        let env = |name: &str| (name == "IDP_SECRET").then(|| "s3cret".to_owned());
        let text = "[sso.providers.github]\nkind = \"github\"\nclient_id = \"abc\"\nclient_secret = \"env:IDP_SECRET\"\n\n[sso.providers.google]\nkind = \"google\"\nclient_id = \"g\"\nclient_secret = \"env:IDP_SECRET\"\n";
        let settings = Settings::parse("sluice.toml", text, false, &env).unwrap();
        assert_eq!(settings.sso.len(), 2);
        assert_eq!(settings.sso[0].display_name, "GitHub");
        assert!(
            matches!(&settings.sso[0].kind, sso::Kind::Github { api_url, .. } if api_url == "https://api.github.com")
        );
        assert!(
            matches!(&settings.sso[1].kind, sso::Kind::Oidc { issuer } if issuer == "https://accounts.google.com")
        );
        let e = Settings::parse(
            "sluice.toml",
            "[sso.providers.x]\nkind = \"saml\"\nclient_id = \"a\"\nclient_secret = \"env:IDP_SECRET\"\n",
            false,
            &env,
        )
        .unwrap_err()
        .0;
        assert!(
            e.starts_with("sluice.toml:2: `sso.providers.x.kind`: unknown kind `saml`"),
            "{e}"
        );
        let e = parse("[sso.providers.x]\nkind = \"oidc\"\nissuer = \"https://idp.example\"\nclient_id = \"a\"\nclient_secret = \"literal\"\n").unwrap_err();
        assert!(
            e.contains("`sso.providers.x.client_secret`: secrets are not written in files"),
            "{e}"
        );
        let e = parse(
            "[sso.providers.x]\nkind = \"oidc\"\nclient_id = \"a\"\nclient_secret = \"env:X\"\n",
        )
        .unwrap_err();
        assert!(e.contains("`sso.providers.x.issuer`"), "{e}");
    }

    #[test]
    fn trusted_proxies_and_the_dns_resolver_are_parsed_and_checked_by_line() {
        let settings = parse(
            "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"127.0.0.1\", \"fd00::/8\"]\n\n[partners]\ndns_resolver = \"127.0.0.1:5353\"\n",
        )
        .unwrap();
        let shown: Vec<String> = settings
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown, ["10.0.0.0/8", "127.0.0.1/32", "fd00::/8"]);
        assert_eq!(
            settings.partners.dns_resolver,
            Some("127.0.0.1:5353".parse().unwrap())
        );
        let e = parse("[server]\nworkers = 1\ntrusted_proxies = [\"10.0.0.0/33\"]\n").unwrap_err();
        assert!(
            e.starts_with("sluice.toml:3: `server.trusted_proxies`"),
            "{e}"
        );
        let e = parse("[partners]\ndns_resolver = \"dns.example\"\n").unwrap_err();
        assert!(
            e.starts_with("sluice.toml:2: `partners.dns_resolver`"),
            "{e}"
        );
        let env = |name: &str| {
            (name == "SLUICE_TRUSTED_PROXIES").then(|| " 127.0.0.1/32, ::1 ".to_owned())
        };
        let settings = Settings::parse("sluice.toml", "", false, &env).unwrap();
        assert_eq!(settings.trusted_proxies.len(), 2);
        let defaults = parse("").unwrap();
        assert!(
            defaults.trusted_proxies.is_empty(),
            "no proxy is trusted by default"
        );
        assert_eq!(defaults.partners.dns_resolver, None);
        let env =
            |name: &str| (name == "SLUICE_PARTNERS_DNS_RESOLVER").then(|| "10.0.0.2".to_owned());
        let settings = Settings::parse("sluice.toml", "", false, &env).unwrap();
        assert_eq!(
            settings.partners.dns_resolver,
            Some("10.0.0.2:53".parse().unwrap())
        );
    }

    #[test]
    fn defaults_give_the_quick_start() {
        let settings = Settings::parse("<defaults>", "", true, &no_env).unwrap();
        assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.database.url, "sqlite://sluice-data/sluice.db");
        assert_eq!(settings.models[0].alias, "mock");
        assert!(settings.redis_url.is_none());
        assert_eq!(settings.key_prefix, "sk-sluice");
    }

    #[test]
    fn environment_overrides_the_file() {
        let env = |name: &str| match name {
            "SLUICE_LISTEN" => Some("0.0.0.0:9000".to_owned()),
            "SLUICE_DATABASE_URL" => Some("postgres://u:secret@db/sluice".to_owned()),
            "SLUICE_WORKERS" => Some("3".to_owned()),
            _ => None,
        };
        let settings =
            Settings::parse("f", "[server]\nlisten = \"127.0.0.1:1\"\n", false, &env).unwrap();
        assert_eq!(settings.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(settings.workers, 3);
        assert!(!format!("{:?}", settings.database).contains("secret"));
        let bad = |name: &str| (name == "SLUICE_WORKERS").then(|| "many".to_owned());
        let e = Settings::parse("f", "", false, &bad).unwrap_err();
        assert_eq!(
            e.0,
            "environment variable SLUICE_WORKERS: invalid value `many`"
        );
    }

    #[test]
    fn a_provider_ca_file_is_read_at_start_and_named_when_unusable() {
        let ca = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../providers/src/http/testdata/ca.pem"
        );
        let settings = parse(&format!(
            "[providers.vllm]\nkind = \"openai_compatible\"\nbase_url = \"https://vllm.internal/v1\"\nca_file = \"{ca}\"\n"
        ))
        .unwrap();
        assert!(matches!(
            &settings.providers[0].config,
            ProviderConfig::OpenAi(openai::Config {
                trust: Trust::Roots(_),
                ..
            })
        ));
        let e = parse(
            "[providers.vllm]\nkind = \"openai_compatible\"\nbase_url = \"https://vllm.internal/v1\"\nca_file = \"/nonexistent/ca.pem\"\n",
        )
        .unwrap_err();
        assert!(
            e.starts_with(
                "sluice.toml:4: `providers.vllm.ca_file`: cannot read `/nonexistent/ca.pem`"
            ),
            "{e}"
        );
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let e = parse("[server]\nlisten = \"nowhere\"\n").unwrap_err();
        assert_eq!(
            e,
            "sluice.toml:2: `server.listen`: expected an address like `127.0.0.1:8080`"
        );
        let e = parse("[server]\nlistne = \"x\"\n").unwrap_err();
        assert!(
            e.starts_with("sluice.toml:2: unknown field `listne`"),
            "{e}"
        );
        let e = parse(
            "[providers.a]\nkind = \"mock\"\n\n[[models]]\nalias = \"x\"\nprovider = \"b\"\n",
        )
        .unwrap_err();
        assert_eq!(
            e,
            "sluice.toml:6: `models[0].provider`: unknown provider `b` (configured: a)"
        );
        let e = parse("[providers.openai]\nkind = \"openai\"\napi_key = \"sk-live-123\"\n")
            .unwrap_err();
        assert!(
            e.starts_with(
                "sluice.toml:3: `providers.openai.api_key`: secrets are not written in files"
            ),
            "{e}"
        );
        let e = parse(
            "[providers.openai]\nkind = \"openai\"\napi_key = \"env:SLUICE_TEST_UNSET_VARIABLE\"\n",
        )
        .unwrap_err();
        assert_eq!(
            e,
            "sluice.toml:3: `providers.openai.api_key`: environment variable `SLUICE_TEST_UNSET_VARIABLE` is not set"
        );
        let e = parse("[providers.x]\nkind = \"cohere\"\n").unwrap_err();
        assert!(
            e.starts_with("sluice.toml:2: `providers.x.kind`: unknown kind `cohere`"),
            "{e}"
        );
        let e = parse("[providers.x]\nkind = \"openai_compatible\"\nbase_url = \"http://h\"\nflavor = \"llamacpp\"\n").unwrap_err();
        assert!(
            e.starts_with("sluice.toml:4: `providers.x.flavor`: expected one of"),
            "{e}"
        );
        let e = parse("[server]\nworkers = \"two\"\n").unwrap_err();
        assert!(e.starts_with("sluice.toml:2: invalid type"), "{e}");
    }

    #[test]
    fn providers_and_models_are_built() {
        let env = |name: &str| (name == "OPENAI_API_KEY").then(|| "sk-123".to_owned());
        let settings = Settings::parse(
            "f",
            r#"
[providers.openai]
kind = "openai"
api_key = "env:OPENAI_API_KEY"
first_byte_timeout_ms = 1500

[providers.claude]
kind = "anthropic"

[providers.local]
kind = "openai_compatible"
flavor = "vllm"
base_url = "http://127.0.0.1:8000/v1"

[[models]]
alias = "gpt"
provider = "openai"
model = "gpt-4o-mini"

[[models]]
alias = "claude-sonnet"
provider = "claude"
"#,
            false,
            &env,
        )
        .unwrap();
        assert_eq!(settings.providers.len(), 3);
        assert_eq!(settings.models[0].upstream_model, "gpt-4o-mini");
        assert_eq!(settings.models[1].upstream_model, "claude-sonnet");
        let openai = settings
            .providers
            .iter()
            .find(|it| it.name == "openai")
            .unwrap();
        let ProviderConfig::OpenAi(config) = &openai.config else {
            panic!("openai kind")
        };
        assert_eq!(config.timeouts.first_byte, Duration::from_millis(1500));
        assert!(!format!("{config:?}").contains("sk-123"));
    }

    #[test]
    fn the_master_key_comes_from_the_environment_a_file_or_nowhere() {
        let settings = Settings::parse("<defaults>", "", true, &no_env).unwrap();
        assert!(
            matches!(&settings.security.master_key, MasterKeySource::File(path) if path.ends_with("sluice-data/master.key"))
        );
        assert!(!settings.security.allow_private_upstreams);
        let postgres =
            |name: &str| (name == "SLUICE_DATABASE_URL").then(|| "postgres://u@h/db".to_owned());
        let settings = Settings::parse("<defaults>", "", true, &postgres).unwrap();
        assert!(
            matches!(settings.security.master_key, MasterKeySource::Missing),
            "nodes sharing a database must not each invent a key"
        );
        let current = domain::crypto::MasterKey::generate();
        let old = domain::crypto::MasterKey::generate();
        let (current_b64, old_b64) = (current.to_base64(), old.to_base64());
        let env = |name: &str| match name {
            "SLUICE_MASTER_KEY" => Some(current_b64.clone()),
            "SLUICE_MASTER_KEY_PREVIOUS" => Some(format!(" {old_b64} ,")),
            _ => None,
        };
        let settings = Settings::parse("<defaults>", "", true, &env).unwrap();
        match settings.security.master_key {
            MasterKeySource::Env {
                current: got,
                previous,
            } => {
                assert_eq!(got.id(), current.id());
                assert_eq!(previous.len(), 1);
                assert_eq!(previous[0].id(), old.id());
            }
            other => panic!("{other:?}"),
        }
        let bad = |name: &str| (name == "SLUICE_MASTER_KEY").then(|| "c2hvcnQ=".to_owned());
        let e = Settings::parse("<defaults>", "", true, &bad).unwrap_err();
        assert!(
            e.0.contains("SLUICE_MASTER_KEY") && e.0.contains("32 bytes"),
            "{e}"
        );
        let e = parse("[security]\nallow_private = true\n").unwrap_err();
        assert!(e.contains("allow_private"), "{e}");
    }

    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:pw@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
