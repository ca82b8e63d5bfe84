//! `sluice admin ...`: operator commands that work on the store directly, so a deployment
//! can be bootstrapped and repaired without the portal.

use std::io::Write;

use anyhow::Context;
use domain::{ApiKeyId, TenantStatus};
use gateway::admin::{self, NewKey};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::{AdminCommand, AuditCommand, KeyCommand, TenantCommand, UserCommand};
use crate::settings::Settings;
use crate::stores;

fn out(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

fn time(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// Parses `--expires`: RFC 3339, or a positive duration in `d`, `h` or `m`.
///
/// # Errors
/// Anything else.
pub fn parse_expiry(value: &str, now: OffsetDateTime) -> anyhow::Result<OffsetDateTime> {
    if let Ok(at) = OffsetDateTime::parse(value, &Rfc3339) {
        return Ok(at);
    }
    let (number, unit) = value.split_at(value.len().saturating_sub(1));
    let n: i64 = number.parse().ok().filter(|it| *it > 0).with_context(|| {
        format!("`{value}` is neither an RFC 3339 time nor a duration like 30d")
    })?;
    let duration = match unit {
        "d" => time::Duration::days(n),
        "h" => time::Duration::hours(n),
        "m" => time::Duration::minutes(n),
        _ => anyhow::bail!("`{value}`: the unit must be d, h or m"),
    };
    Ok(now + duration)
}

/// Tells running nodes about a change at once (they would notice by polling anyway).
async fn announce(settings: &Settings) {
    if let Some(url) = &settings.redis_url
        && let Ok(bus) = store_redis::ChangeBus::connect(url, &settings.redis_prefix).await
        && let Err(e) = bus.publish().await
    {
        tracing::warn!(error = %e, "could not announce the change on redis");
    }
}

/// # Errors
/// Store failures and invalid input, in words.
pub async fn run(settings: &Settings, command: AdminCommand) -> anyhow::Result<()> {
    let opened = stores::open(&settings.database).await?;
    let store = opened.store.as_ref();
    match command {
        AdminCommand::Tenant(TenantCommand::Create { name }) => {
            let tenant = admin::create_tenant(store, &name).await?;
            out(&format!(
                "created tenant `{}` ({})\n",
                tenant.name, tenant.id
            ))?;
            announce(settings).await;
        }
        AdminCommand::RotateMasterKey => {
            let report = crate::master_key::rotate(&settings.security.master_key, store).await?;
            out(&report)?;
        }
        AdminCommand::RotateSigningKey { retire_now } => {
            let keyring = crate::master_key::load(&settings.security.master_key)?;
            let manager = management::Manager::new(
                opened.store.clone(),
                std::sync::Arc::new(management::LogMailer),
                crate::serve::manager_config(settings, keyring),
                std::sync::Arc::new(|| Box::pin(async {})),
            );
            let kid = manager
                .ensure_signing_key(true, retire_now)
                .await?
                .context("no signing key was created")?;
            let old = if retire_now {
                "tokens signed by older keys are rejected from now on"
            } else {
                "tokens signed by older keys keep working until they expire"
            };
            out(&format!("new token signing key {kid}; {old}\n"))?;
            announce(settings).await;
        }
        AdminCommand::Limits(command) => {
            let (text, changed) = crate::admin_limits::run(store, command).await?;
            out(&text)?;
            if changed {
                announce(settings).await;
            }
        }
        AdminCommand::Tenant(TenantCommand::List) => {
            let mut text = format!("{:<38} {:<10} {:<26} NAME\n", "ID", "STATUS", "CREATED");
            for tenant in store.list_tenants().await? {
                text.push_str(&format!(
                    "{:<38} {:<10} {:<26} {}\n",
                    tenant.id.to_string(),
                    tenant.status.as_str(),
                    time(tenant.created_at),
                    tenant.name
                ));
            }
            out(&text)?;
        }
        AdminCommand::Tenant(TenantCommand::Suspend { tenant }) => {
            let tenant = admin::find_tenant(store, &tenant).await?;
            admin::set_tenant_status(store, tenant.id, TenantStatus::Suspended).await?;
            out(&format!("suspended tenant `{}`\n", tenant.name))?;
            announce(settings).await;
        }
        AdminCommand::Tenant(TenantCommand::Activate { tenant }) => {
            let tenant = admin::find_tenant(store, &tenant).await?;
            admin::set_tenant_status(store, tenant.id, TenantStatus::Active).await?;
            out(&format!("activated tenant `{}`\n", tenant.name))?;
            announce(settings).await;
        }
        AdminCommand::Key(KeyCommand::Create(args)) => {
            let tenant = admin::find_tenant(store, &args.tenant).await?;
            let now = OffsetDateTime::now_utc();
            let expires_at = args
                .expires
                .as_deref()
                .map(|it| parse_expiry(it, now))
                .transpose()?;
            let models: Vec<String> = args
                .models
                .iter()
                .map(|it| it.trim().to_owned())
                .filter(|it| !it.is_empty())
                .collect();
            let unknown: Vec<&String> = models
                .iter()
                .filter(|model| !settings.models.iter().any(|it| &it.alias == *model))
                .collect();
            if !unknown.is_empty() {
                tracing::warn!(?unknown, "the key allows models that are not configured");
            }
            let monthly_budget_micros = args
                .monthly_budget
                .as_deref()
                .map(|text| {
                    let money = domain::pricing::Money::parse_non_negative(text)
                        .map_err(|e| anyhow::anyhow!("--monthly-budget `{text}` {e}"))?;
                    anyhow::ensure!(
                        money.nanos() % 1_000 == 0,
                        "--monthly-budget `{text}` has more than six decimal places"
                    );
                    Ok(money.nanos() / 1_000)
                })
                .transpose()?;
            let (key, secret) = admin::create_key(
                store,
                tenant.id,
                &settings.key_prefix,
                NewKey {
                    name: args.name,
                    allowed_models: models,
                    expires_at,
                    limits: domain::KeyLimits {
                        requests_per_minute: args.rpm,
                        requests_per_day: args.rpd,
                        tokens_per_minute: args.tpm,
                        tokens_per_day: args.tpd,
                        max_concurrent: args.concurrent,
                        monthly_budget_micros,
                        budgets: Vec::new(),
                    },
                },
            )
            .await?;
            out(&format!(
                "{}\n\ncreated key {} for tenant `{}`; the secret above is shown only once\n",
                secret.expose(),
                key.id,
                tenant.name
            ))?;
            announce(settings).await;
        }
        AdminCommand::Key(KeyCommand::List { tenant }) => {
            let tenants = match tenant {
                Some(tenant) => vec![admin::find_tenant(store, &tenant).await?],
                None => store.list_tenants().await?,
            };
            let mut text = format!(
                "{:<38} {:<16} {:<24} {:<10} {:<26} {:<20} NAME\n",
                "ID", "TENANT", "KEY", "STATUS", "EXPIRES", "MODELS"
            );
            let now = OffsetDateTime::now_utc();
            for tenant in tenants {
                for key in store.list_keys(tenant.id).await? {
                    let status = match key.check_usable(now) {
                        Ok(()) => "active",
                        Err(domain::api_key::KeyUnusable::Revoked) => "revoked",
                        Err(domain::api_key::KeyUnusable::Expired) => "expired",
                    };
                    let models = if key.allowed_models.is_empty() {
                        "*".to_owned()
                    } else {
                        key.allowed_models.join(",")
                    };
                    text.push_str(&format!(
                        "{:<38} {:<16} {:<24} {:<10} {:<26} {:<20} {}\n",
                        key.id.to_string(),
                        tenant.name,
                        domain::api_key::masked(&key.display_prefix, &key.last_four),
                        status,
                        key.expires_at.map(time).unwrap_or_else(|| "never".into()),
                        models,
                        key.name.unwrap_or_default()
                    ));
                }
            }
            out(&text)?;
        }
        AdminCommand::Key(KeyCommand::Revoke { key_id }) => {
            let id: ApiKeyId = key_id.parse().with_context(|| {
                format!("`{key_id}` is not a key id (see `sluice admin key list`)")
            })?;
            admin::revoke_key(store, id).await?;
            out(&format!("revoked key {id}\n"))?;
            announce(settings).await;
        }
        AdminCommand::User(UserCommand::Create { email, operator }) => {
            let email = domain::Email::parse(&email).map_err(|e| anyhow::anyhow!("{e}"))?;
            let now = OffsetDateTime::now_utc();
            let user = domain::User {
                id: domain::UserId::new(),
                email: email.clone(),
                display_name: None,
                password_hash: None,
                email_verified_at: Some(now),
                is_operator: operator,
                failed_logins: 0,
                locked_until: None,
                created_at: now,
            };
            let audit = domain::AuditEntry::new(None, domain::Actor::cli(), "user.create", now)
                .target("user", user.id);
            store.create_user(&user, &audit).await?;
            let secret = domain::session::random_token();
            store
                .create_email_token(&domain::session::EmailToken {
                    hash: domain::KeyHash::of(&secret),
                    user_id: user.id,
                    purpose: domain::session::EmailPurpose::ResetPassword,
                    created_at: now,
                    expires_at: now + domain::session::EMAIL_TOKEN_LIFETIME,
                })
                .await?;
            out(&format!(
                "created {}account {email}\nset its password within 24 hours at:\n\n    {}/reset-password?token={secret}\n",
                if operator { "operator " } else { "" },
                settings.portal.public_url
            ))?;
        }
        AdminCommand::User(UserCommand::Operator { email, revoke }) => {
            let email = domain::Email::parse(&email).map_err(|e| anyhow::anyhow!("{e}"))?;
            let user = store
                .find_user_by_email(&email)
                .await?
                .with_context(|| format!("no account `{email}`"))?;
            let action = if revoke {
                "user.operator_revoke"
            } else {
                "user.operator_grant"
            };
            let audit = domain::AuditEntry::new(
                None,
                domain::Actor::cli(),
                action,
                OffsetDateTime::now_utc(),
            )
            .target("user", user.id);
            store.set_operator(user.id, !revoke, &audit).await?;
            out(&format!(
                "{email} is {}a platform operator\n",
                if revoke { "no longer " } else { "" }
            ))?;
        }
        AdminCommand::Audit(AuditCommand::Verify) => {
            let mut prev = (0_i64, domain::audit::GENESIS.to_owned());
            loop {
                let events = store.audit_chain(prev.0, 1000).await?;
                if events.is_empty() {
                    break;
                }
                prev = domain::audit::verify_chain((prev.0, &prev.1), &events)
                    .map_err(|e| anyhow::anyhow!("the audit log is NOT intact: {e}"))?;
            }
            out(&format!(
                "the audit log is intact: {} events, last hash {}\n",
                prev.0, prev.1
            ))?;
        }
        AdminCommand::Usage(args) => {
            let tenant = admin::find_tenant(store, &args.tenant).await?;
            let mut text = format!(
                "{:<26} {:<18} {:<16} {:>8} {:>8} {:>6} {:<14} {:>8}\n",
                "TIME", "ENDPOINT", "MODEL", "PROMPT", "COMPL", "EST", "STATUS", "MS"
            );
            for record in store.list_usage(tenant.id, args.limit).await? {
                text.push_str(&format!(
                    "{:<26} {:<18} {:<16} {:>8} {:>8} {:>6} {:<14} {:>8}\n",
                    time(record.created_at),
                    record.endpoint,
                    record.model_alias,
                    record.prompt_tokens,
                    record.completion_tokens,
                    if record.estimated { "yes" } else { "no" },
                    record.status.as_str(),
                    record.latency_ms
                ));
            }
            out(&text)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_accepts_times_and_durations() {
        let now = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(
            parse_expiry("30d", now).unwrap(),
            now + time::Duration::days(30)
        );
        assert_eq!(
            parse_expiry("12h", now).unwrap(),
            now + time::Duration::hours(12)
        );
        assert_eq!(
            parse_expiry("2026-12-31T00:00:00Z", now).unwrap().year(),
            2026
        );
        assert!(parse_expiry("0d", now).is_err());
        assert!(parse_expiry("soon", now).is_err());
        assert!(parse_expiry("5y", now).is_err());
        assert!(parse_expiry("", now).is_err());
    }
}
