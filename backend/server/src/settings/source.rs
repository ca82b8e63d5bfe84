//! Where values come from: the environment (through a function, so tests need not touch the
//! process's), located file errors, `env:NAME` secrets, and small value parsers.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;
use toml::Spanned;

use super::ConfigError;

/// Reads environment variables; a function so tests need not touch the process environment.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Where a value came from, for error messages.
pub(super) struct Source<'a> {
    pub(super) file: &'a str,
    pub(super) text: &'a str,
}

impl Source<'_> {
    pub(super) fn at<T>(
        &self,
        spanned: &Spanned<T>,
        key: &str,
        message: impl std::fmt::Display,
    ) -> ConfigError {
        self.at_span(spanned.span(), key, message)
    }

    /// As `at`, for a place known only by its span.
    pub(super) fn at_span(
        &self,
        span: std::ops::Range<usize>,
        key: &str,
        message: impl std::fmt::Display,
    ) -> ConfigError {
        let line = self.text[..span.start.min(self.text.len())]
            .bytes()
            .filter(|&b| b == b'\n')
            .count()
            + 1;
        ConfigError(format!("{}:{line}: `{key}`: {message}", self.file))
    }
}

pub(super) fn env_parse<T: std::str::FromStr>(
    env: Env<'_>,
    name: &str,
) -> Result<Option<T>, ConfigError> {
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
pub(super) fn secret(
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

/// `10.0.0.0/8`, `fd00::/8`, or a single address (`127.0.0.1`, `::1`).
pub(super) fn parse_network(raw: &str) -> Option<ipnet::IpNet> {
    let raw = raw.trim();
    raw.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| raw.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

/// `127.0.0.1:5353`, `[::1]:53`, or an address alone (port 53).
pub(super) fn parse_nameserver(raw: &str) -> Option<SocketAddr> {
    let raw = raw.trim();
    raw.parse::<SocketAddr>().ok().or_else(|| {
        raw.parse::<std::net::IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, 53))
    })
}

pub(super) fn millis(value: Option<u64>, default: Duration) -> Duration {
    value.map_or(default, Duration::from_millis)
}
