//! API keys through the management plane: scoped creation, edits, rotation with a grace
//! period, and revocation. Secrets are shown once and only their hashes are stored.

use domain::api_key::ENDPOINTS;
use domain::{ApiKey, ApiKeyId, KeyScopes, NewKeySecret, Permission, TenantId};
use time::OffsetDateTime;

use crate::{Error, Identity, Manager};

/// What a new key should be.
#[derive(Debug, Clone, Default)]
pub struct KeyDraft {
    pub name: Option<String>,
    pub models: Vec<String>,
    pub scopes: KeyScopes,
    pub expires_at: Option<OffsetDateTime>,
}

/// Changes to a key; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct KeyUpdate {
    pub name: Option<Option<String>>,
    pub models: Option<Vec<String>>,
    pub scopes: Option<KeyScopes>,
    pub expires_at: Option<Option<OffsetDateTime>>,
}

/// Longest grace period a rotation may leave the old key working.
const MAX_GRACE: time::Duration = time::Duration::days(30);

fn check_name(name: &Option<String>) -> Result<Option<String>, Error> {
    match name.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(name) if name.chars().count() > 100 || name.chars().any(char::is_control) => {
            Err(Error::invalid(
                "name",
                "`name` must be at most 100 characters, without control characters",
            ))
        }
        Some(name) => Ok(Some(name.to_owned())),
    }
}

pub(crate) fn check_models(models: &[String]) -> Result<(), Error> {
    if models.len() > 100 {
        return Err(Error::invalid("models", "at most 100 models"));
    }
    if let Some(bad) = models
        .iter()
        .find(|it| it.trim().is_empty() || it.len() > 200)
    {
        return Err(Error::invalid(
            "models",
            format!("invalid model name `{bad}`"),
        ));
    }
    Ok(())
}

pub(crate) fn check_scopes(scopes: &KeyScopes) -> Result<(), Error> {
    if let Some(bad) = scopes
        .endpoints
        .iter()
        .find(|it| !ENDPOINTS.contains(&it.as_str()))
    {
        return Err(Error::invalid(
            "endpoints",
            format!(
                "unknown endpoint `{bad}`; expected some of {}",
                ENDPOINTS.join(", ")
            ),
        ));
    }
    if scopes.ip_allowlist.len() > 100 {
        return Err(Error::invalid("ip_allowlist", "at most 100 networks"));
    }
    let limits = &scopes.limits;
    let zero = [
        (
            "requests_per_minute",
            limits.requests_per_minute.map(u64::from),
        ),
        ("requests_per_day", limits.requests_per_day.map(u64::from)),
        ("tokens_per_minute", limits.tokens_per_minute),
        ("tokens_per_day", limits.tokens_per_day),
        ("max_concurrent", limits.max_concurrent.map(u64::from)),
    ]
    .into_iter()
    .find(|(_, value)| *value == Some(0));
    if let Some((field, _)) = zero {
        return Err(Error::invalid(
            &format!("limits.{field}"),
            "a limit must be at least 1 (leave it out for none)",
        ));
    }
    if limits.monthly_budget_micros.is_some_and(|it| it < 0) {
        return Err(Error::invalid(
            "limits.monthly_budget_micros",
            "a budget cannot be negative",
        ));
    }
    domain::limits::validate_budgets(&limits.budgets, "limits.budgets")
        .map_err(|e| Error::invalid(&e.field, e.message))
}

fn check_expiry(expires_at: Option<OffsetDateTime>, now: OffsetDateTime) -> Result<(), Error> {
    if expires_at.is_some_and(|at| at <= now) {
        return Err(Error::invalid(
            "expires_at",
            "`expires_at` must be in the future",
        ));
    }
    Ok(())
}

/// What the audit log keeps about a key: everything but its hash.
fn key_json(key: &ApiKey) -> String {
    serde_json::json!({
        "name": key.name,
        "display_prefix": key.display_prefix,
        "models": key.allowed_models,
        "scopes": key.scopes,
        "expires_at": key.expires_at.map(|it| it.unix_timestamp()),
    })
    .to_string()
}

impl Manager {
    /// # Errors
    /// Missing permission.
    pub async fn keys(&self, identity: &Identity, tenant: TenantId) -> Result<Vec<ApiKey>, Error> {
        self.authorize(identity, tenant, Permission::ViewKeys)
            .await?;
        Ok(self.store.list_keys(tenant).await?)
    }

    /// # Errors
    /// Missing permission; `NotFound` for keys of other tenants.
    pub async fn key(
        &self,
        identity: &Identity,
        tenant: TenantId,
        id: ApiKeyId,
    ) -> Result<ApiKey, Error> {
        self.authorize(identity, tenant, Permission::ViewKeys)
            .await?;
        self.store
            .get_key(tenant, id)
            .await
            .map_err(Error::missing("key"))
    }

    /// Creates a key; returns it with its secret, which is never retrievable again.
    ///
    /// # Errors
    /// Missing permission and invalid fields.
    pub async fn create_key(
        &self,
        identity: &Identity,
        tenant: TenantId,
        draft: KeyDraft,
    ) -> Result<(ApiKey, String), Error> {
        self.authorize(identity, tenant, Permission::ManageKeys)
            .await?;
        let now = OffsetDateTime::now_utc();
        let name = check_name(&draft.name)?;
        check_models(&draft.models)?;
        check_scopes(&draft.scopes)?;
        check_expiry(draft.expires_at, now)?;
        let prefix = self.key_prefix_for(tenant).await?;
        let (key, secret) = self.new_key(
            &prefix,
            tenant,
            identity,
            name,
            draft.models,
            draft.scopes,
            draft.expires_at,
            None,
        )?;
        let audit = identity
            .audit(Some(tenant), "key.create")
            .target("api_key", key.id)
            .change(None, Some(key_json(&key)));
        self.store.insert_key(tenant, &key, &audit).await?;
        self.changed().await;
        Ok((key, secret))
    }

    /// The visible prefix of keys issued in `tenant`: its partner's, or the platform's.
    pub(crate) async fn key_prefix_for(&self, tenant: TenantId) -> Result<String, Error> {
        match self.store.get_tenant(tenant).await?.partner_id {
            Some(partner) => Ok(self.store.get_partner(partner).await?.key_prefix),
            None => Ok(self.config.key_prefix.clone()),
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the fields of a key, named at the call sites"
    )]
    fn new_key(
        &self,
        prefix: &str,
        tenant: TenantId,
        identity: &Identity,
        name: Option<String>,
        models: Vec<String>,
        scopes: KeyScopes,
        expires_at: Option<OffsetDateTime>,
        rotated_from: Option<ApiKeyId>,
    ) -> Result<(ApiKey, String), Error> {
        let generated = NewKeySecret::generate(prefix).map_err(|e| Error::Internal(Box::new(e)))?;
        let key = ApiKey {
            id: ApiKeyId::new(),
            tenant_id: tenant,
            name,
            display_prefix: generated.display_prefix,
            last_four: generated.last_four,
            hash: generated.hash,
            allowed_models: models,
            scopes,
            created_by: Some(identity.user.id),
            rotated_from,
            created_at: OffsetDateTime::now_utc(),
            expires_at,
            revoked_at: None,
        };
        Ok((key, generated.secret.expose().to_owned()))
    }

    /// Changes a key's name, models, scopes or expiry.
    ///
    /// # Errors
    /// Missing permission, invalid fields, unknown or revoked keys.
    pub async fn update_key(
        &self,
        identity: &Identity,
        tenant: TenantId,
        id: ApiKeyId,
        update: KeyUpdate,
    ) -> Result<ApiKey, Error> {
        self.authorize(identity, tenant, Permission::ManageKeys)
            .await?;
        let before = self.key(identity, tenant, id).await?;
        if before.revoked_at.is_some() {
            return Err(Error::Conflict("a revoked key cannot be changed".into()));
        }
        let mut key = before.clone();
        if let Some(name) = update.name {
            key.name = check_name(&name)?;
        }
        if let Some(models) = update.models {
            check_models(&models)?;
            key.allowed_models = models;
        }
        if let Some(scopes) = update.scopes {
            check_scopes(&scopes)?;
            key.scopes = scopes;
        }
        if let Some(expires_at) = update.expires_at {
            check_expiry(expires_at, OffsetDateTime::now_utc())?;
            key.expires_at = expires_at;
        }
        let audit = identity
            .audit(Some(tenant), "key.update")
            .target("api_key", key.id)
            .change(Some(key_json(&before)), Some(key_json(&key)));
        self.store
            .update_key(tenant, &key, &audit)
            .await
            .map_err(Error::missing("key"))?;
        self.changed().await;
        Ok(key)
    }

    /// Replaces a key with a new one of the same scopes; the old key keeps working for
    /// `grace`, so deployed clients can switch over.
    ///
    /// # Errors
    /// Missing permission, a grace period over 30 days, unknown or revoked keys.
    pub async fn rotate_key(
        &self,
        identity: &Identity,
        tenant: TenantId,
        id: ApiKeyId,
        grace: time::Duration,
    ) -> Result<(ApiKey, String), Error> {
        self.authorize(identity, tenant, Permission::ManageKeys)
            .await?;
        if grace.is_negative() || grace > MAX_GRACE {
            return Err(Error::invalid(
                "grace_period_seconds",
                "the grace period must be between 0 and 30 days",
            ));
        }
        let old = self.key(identity, tenant, id).await?;
        if old.revoked_at.is_some() {
            return Err(Error::Conflict("a revoked key cannot be rotated".into()));
        }
        let prefix = self.key_prefix_for(tenant).await?;
        let (key, secret) = self.new_key(
            &prefix,
            tenant,
            identity,
            old.name.clone(),
            old.allowed_models.clone(),
            old.scopes.clone(),
            old.expires_at,
            Some(old.id),
        )?;
        let audit = identity
            .audit(Some(tenant), "key.rotate")
            .target("api_key", old.id)
            .change(Some(key_json(&old)), Some(key_json(&key)));
        self.store
            .rotate_key(
                tenant,
                old.id,
                OffsetDateTime::now_utc() + grace,
                &key,
                &audit,
            )
            .await
            .map_err(Error::missing("key"))?;
        self.changed().await;
        Ok((key, secret))
    }

    /// Revokes a key at once; every node refuses it within a second.
    ///
    /// # Errors
    /// Missing permission, unknown keys.
    pub async fn revoke_key(
        &self,
        identity: &Identity,
        tenant: TenantId,
        id: ApiKeyId,
    ) -> Result<(), Error> {
        self.authorize(identity, tenant, Permission::ManageKeys)
            .await?;
        let audit = identity
            .audit(Some(tenant), "key.revoke")
            .target("api_key", id);
        self.store
            .revoke_key(tenant, id, OffsetDateTime::now_utc(), &audit)
            .await
            .map_err(Error::missing("key"))?;
        self.changed().await;
        Ok(())
    }
}
