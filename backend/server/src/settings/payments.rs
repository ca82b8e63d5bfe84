//! The `[stripe]` table: collecting finalized invoices through Stripe. Off unless a secret key
//! is set; then the webhook secret and `since` (which invoices are sent: an installation that
//! billed by other means before must not send its history) are required.

use std::time::Duration;

use secrecy::SecretString;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::ConfigError;
use super::raw::RawStripe;
use super::source::{Env, Source, env_parse, millis, secret};

/// Stripe, when configured.
#[derive(Debug, Clone)]
pub struct StripeSettings {
    pub secret_key: SecretString,
    /// Signs the webhook's notices (`whsec_…`).
    pub webhook_secret: SecretString,
    /// `https://api.stripe.com/`, or a fake in tests.
    pub api_base: String,
    /// Only invoices finalized from then on are sent.
    pub since: OffsetDateTime,
    /// `None` (`days_until_due = 0`): charge the customer's saved payment method; otherwise
    /// email the invoice with this many days to pay (default 30).
    pub days_until_due: Option<u32>,
    /// After the due date, how long an unpaid invoice leaves the tenant's calls alone
    /// (default 14 days).
    pub grace: time::Duration,
    /// How often a node sends the invoices not sent yet.
    pub sync: Duration,
}

fn secret_of(
    source: &Source<'_>,
    env: Env<'_>,
    variable: &str,
    raw: Option<&toml::Spanned<String>>,
    key: &str,
) -> Result<Option<SecretString>, ConfigError> {
    match env(variable).filter(|it| !it.is_empty()) {
        Some(value) => Ok(Some(SecretString::from(value))),
        None => raw.map(|it| secret(source, it, key, env)).transpose(),
    }
}

/// `[stripe]` and its `SLUICE_STRIPE_*` variables.
pub(super) fn stripe_settings(
    source: &Source<'_>,
    raw: Option<&RawStripe>,
    env: Env<'_>,
) -> Result<Option<StripeSettings>, ConfigError> {
    let Some(secret_key) = secret_of(
        source,
        env,
        "SLUICE_STRIPE_SECRET_KEY",
        raw.and_then(|it| it.secret_key.as_ref()),
        "stripe.secret_key",
    )?
    else {
        return Ok(None);
    };
    let missing = |key: &str, variable: &str| {
        ConfigError(format!(
            "{}: `stripe.{key}` (or {variable}) is required when Stripe is configured",
            source.file
        ))
    };
    let webhook_secret = secret_of(
        source,
        env,
        "SLUICE_STRIPE_WEBHOOK_SECRET",
        raw.and_then(|it| it.webhook_secret.as_ref()),
        "stripe.webhook_secret",
    )?
    .ok_or_else(|| missing("webhook_secret", "SLUICE_STRIPE_WEBHOOK_SECRET"))?;
    let since = match env("SLUICE_STRIPE_SINCE") {
        Some(text) => OffsetDateTime::parse(text.trim(), &Rfc3339).map_err(|_| {
            ConfigError(format!(
                "environment variable SLUICE_STRIPE_SINCE: `{text}` is not an RFC 3339 time \
                 (2027-01-01T00:00:00Z)"
            ))
        })?,
        None => {
            let raw_since = raw
                .and_then(|it| it.since.as_ref())
                .ok_or_else(|| missing("since", "SLUICE_STRIPE_SINCE"))?;
            OffsetDateTime::parse(raw_since.get_ref().trim(), &Rfc3339).map_err(|_| {
                source.at(
                    raw_since,
                    "stripe.since",
                    "is not an RFC 3339 time (2027-01-01T00:00:00Z)",
                )
            })?
        }
    };
    let api_base = env("SLUICE_STRIPE_API_BASE")
        .or_else(|| raw.and_then(|it| it.api_base.clone()))
        .unwrap_or_else(|| "https://api.stripe.com/".to_owned());
    if !(api_base.starts_with("https://") || api_base.starts_with("http://")) {
        return Err(ConfigError(format!(
            "{}: `stripe.api_base`: `{api_base}` is not an http(s) URL",
            source.file
        )));
    }
    let days = env_parse::<u32>(env, "SLUICE_STRIPE_DAYS_UNTIL_DUE")?
        .or(raw.and_then(|it| it.days_until_due))
        .unwrap_or(30);
    if days > 365 {
        return Err(ConfigError(format!(
            "{}: `stripe.days_until_due`: {days} is over 365",
            source.file
        )));
    }
    let grace_days = env_parse::<u32>(env, "SLUICE_STRIPE_GRACE_DAYS")?
        .or(raw.and_then(|it| it.grace_days))
        .unwrap_or(14);
    if grace_days > 365 {
        return Err(ConfigError(format!(
            "{}: `stripe.grace_days`: {grace_days} is over 365",
            source.file
        )));
    }
    Ok(Some(StripeSettings {
        secret_key,
        webhook_secret,
        api_base,
        since,
        days_until_due: (days > 0).then_some(days),
        grace: time::Duration::days(i64::from(grace_days)),
        sync: millis(
            env_parse::<u64>(env, "SLUICE_STRIPE_SYNC_MS")?.or(raw.and_then(|it| it.sync_ms)),
            Duration::from_secs(60),
        )
        .max(Duration::from_millis(100)),
    }))
}
