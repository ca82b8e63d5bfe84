//! `sluice admin limits`: a scope's limit policy shown, replaced or cleared from the command
//! line, in the management API's JSON shape and with its checks.

use anyhow::Context;
use domain::limits::{LimitPolicy, PolicyScope};
use store::Store;

use crate::cli::{LimitsCommand, LimitsScope};

/// Runs `command`; the text to print, and whether the store changed (the nodes are told).
///
/// # Errors
/// An unknown tenant or partner, a policy that does not parse or is out of bounds (naming the
/// field), store failures.
pub(crate) async fn run(
    store: &dyn Store,
    command: LimitsCommand,
) -> anyhow::Result<(String, bool)> {
    match command {
        LimitsCommand::Show(scope) => {
            let scope = resolve(store, &scope).await?;
            let policy = store.limit_policy(scope).await?;
            let text = match policy {
                Some(policy) => {
                    serde_json::to_string_pretty(&http_api::manage::policy_view(&policy))? + "\n"
                }
                None => "no limits are set\n".to_owned(),
            };
            Ok((text, false))
        }
        LimitsCommand::Set { scope, json, file } => {
            let scope = resolve(store, &scope).await?;
            let text = match (json, file) {
                (Some(json), _) => json,
                (None, Some(file)) => std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?,
                (None, None) => anyhow::bail!("give the policy with --json or --file"),
            };
            let view: api_types::limits::LimitPolicyView =
                serde_json::from_str(&text).context("the policy is not valid JSON of its shape")?;
            let policy = http_api::manage::policy_of(view).map_err(|e| match e {
                http_api::manage::ApiProblem::Manage(management::Error::Invalid {
                    field,
                    message,
                }) => anyhow::anyhow!("`{field}`: {message}"),
                other => anyhow::anyhow!("{other}"),
            })?;
            policy.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
            if !matches!(scope, PolicyScope::Tenant(_)) && policy.locked {
                anyhow::bail!("`locked`: only a tenant's limits can be locked");
            }
            let policy = Some(policy).filter(LimitPolicy::any);
            store
                .set_limit_policy(scope, policy.as_ref(), &audit(scope, "limits.set"))
                .await?;
            Ok((
                match policy {
                    Some(_) => "limits set\n".to_owned(),
                    None => "the policy limits nothing: cleared\n".to_owned(),
                },
                true,
            ))
        }
        LimitsCommand::Clear(scope) => {
            let scope = resolve(store, &scope).await?;
            store
                .set_limit_policy(scope, None, &audit(scope, "limits.clear"))
                .await?;
            Ok(("limits cleared\n".to_owned(), true))
        }
    }
}

async fn resolve(store: &dyn Store, scope: &LimitsScope) -> anyhow::Result<PolicyScope> {
    if scope.platform {
        return Ok(PolicyScope::Platform);
    }
    if let Some(tenant) = &scope.tenant {
        let tenant = gateway::admin::find_tenant(store, tenant).await?;
        return Ok(PolicyScope::Tenant(tenant.id));
    }
    let partner = scope
        .partner
        .as_deref()
        .context("give --tenant, --partner or --platform")?;
    let id = partner
        .parse()
        .map_err(|_| anyhow::anyhow!("`{partner}` is not a partner id"))?;
    store
        .get_partner(id)
        .await
        .map_err(|_| anyhow::anyhow!("no partner `{partner}`"))?;
    Ok(PolicyScope::Partner(id))
}

fn audit(scope: PolicyScope, action: &str) -> domain::AuditEntry {
    let tenant = match scope {
        PolicyScope::Tenant(id) => Some(id),
        _ => None,
    };
    domain::AuditEntry::new(
        tenant,
        domain::Actor::cli(),
        action,
        time::OffsetDateTime::now_utc(),
    )
}
