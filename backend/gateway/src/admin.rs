//! Operator actions on tenants and keys, shared by the `sluice admin` commands and (later) the
//! management API. Every server-owned value (ids, times, secrets) is generated here.

use domain::api_key::{NewKeySecret, validate_prefix};
use domain::{Actor, ApiKey, ApiKeyId, AuditEntry, KeySecret, Tenant, TenantId, TenantStatus};
use store::Store;
use time::OffsetDateTime;

/// Why an admin action failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("no tenant `{0}`")]
    UnknownTenant(String),
    #[error("no key `{0}`")]
    UnknownKey(String),
    #[error("{0}")]
    Conflict(String),
    #[error("storage failed")]
    Store(#[source] store::Error),
}

impl From<store::Error> for AdminError {
    fn from(e: store::Error) -> Self {
        match e {
            store::Error::Conflict(message) => AdminError::Conflict(message),
            other => AdminError::Store(other),
        }
    }
}

/// Creates an active tenant.
///
/// # Errors
/// An invalid or taken name.
pub async fn create_tenant(store: &dyn Store, name: &str) -> Result<Tenant, AdminError> {
    let tenant = Tenant::new(name, OffsetDateTime::now_utc())
        .map_err(|e| AdminError::Invalid(e.to_string()))?;
    let audit = AuditEntry::new(
        Some(tenant.id),
        Actor::cli(),
        "tenant.create",
        tenant.created_at,
    )
    .target("tenant", tenant.id)
    .change(None, Some(format!("{{\"name\":{:?}}}", tenant.name)));
    store.create_tenant(&tenant, &audit).await?;
    Ok(tenant)
}

/// Finds a tenant by id or by exact name.
///
/// # Errors
/// `UnknownTenant` when neither matches.
pub async fn find_tenant(store: &dyn Store, id_or_name: &str) -> Result<Tenant, AdminError> {
    if let Ok(id) = id_or_name.parse::<TenantId>() {
        match store.get_tenant(id).await {
            Ok(tenant) => return Ok(tenant),
            Err(store::Error::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    store
        .find_tenant_by_name(id_or_name)
        .await?
        .ok_or_else(|| AdminError::UnknownTenant(id_or_name.to_owned()))
}

/// Suspends or reactivates a tenant.
///
/// # Errors
/// `UnknownTenant`.
pub async fn set_tenant_status(
    store: &dyn Store,
    tenant: TenantId,
    status: TenantStatus,
) -> Result<(), AdminError> {
    let audit = AuditEntry::new(
        Some(tenant),
        Actor::cli(),
        "tenant.status_change",
        OffsetDateTime::now_utc(),
    )
    .target("tenant", tenant)
    .change(
        None,
        Some(format!("{{\"status\":\"{}\"}}", status.as_str())),
    );
    store
        .set_tenant_status(tenant, status, &audit)
        .await
        .map_err(|e| match e {
            store::Error::NotFound => AdminError::UnknownTenant(tenant.to_string()),
            other => other.into(),
        })
}

/// What a new key should be.
#[derive(Debug, Clone, Default)]
pub struct NewKey {
    pub name: Option<String>,
    /// Model aliases the key may use; empty means all.
    pub allowed_models: Vec<String>,
    pub expires_at: Option<OffsetDateTime>,
    /// Enforced by the admit stage on every call.
    pub limits: domain::KeyLimits,
}

/// Creates a key and returns it with its secret, which is never retrievable again.
///
/// # Errors
/// Invalid names, prefixes or expiry, or an unknown tenant.
pub async fn create_key(
    store: &dyn Store,
    tenant: TenantId,
    prefix: &str,
    new: NewKey,
) -> Result<(ApiKey, KeySecret), AdminError> {
    validate_prefix(prefix).map_err(|e| AdminError::Invalid(e.to_string()))?;
    let now = OffsetDateTime::now_utc();
    if new.expires_at.is_some_and(|at| at <= now) {
        return Err(AdminError::Invalid(
            "the expiry must be in the future".into(),
        ));
    }
    if let Some(name) = &new.name
        && (name.chars().count() > 100 || name.chars().any(char::is_control))
    {
        return Err(AdminError::Invalid(
            "a key name must be at most 100 characters, without control characters".into(),
        ));
    }
    for model in &new.allowed_models {
        if model.trim().is_empty() || model.len() > 200 {
            return Err(AdminError::Invalid(format!("invalid model name `{model}`")));
        }
    }
    let generated =
        NewKeySecret::generate(prefix).map_err(|e| AdminError::Invalid(e.to_string()))?;
    let key = ApiKey {
        id: ApiKeyId::new(),
        tenant_id: tenant,
        name: new.name,
        display_prefix: generated.display_prefix,
        last_four: generated.last_four,
        hash: generated.hash,
        allowed_models: new.allowed_models,
        scopes: domain::KeyScopes {
            limits: new.limits,
            ..domain::KeyScopes::default()
        },
        created_by: None,
        rotated_from: None,
        created_at: now,
        expires_at: new.expires_at,
        revoked_at: None,
    };
    let audit =
        AuditEntry::new(Some(tenant), Actor::cli(), "key.create", now).target("api_key", key.id);
    store
        .insert_key(tenant, &key, &audit)
        .await
        .map_err(|e| match e {
            store::Error::NotFound => AdminError::UnknownTenant(tenant.to_string()),
            other => other.into(),
        })?;
    Ok((key, generated.secret))
}

/// Revokes a key by id, looking up its tenant.
///
/// # Errors
/// `UnknownKey`.
pub async fn revoke_key(store: &dyn Store, key: ApiKeyId) -> Result<TenantId, AdminError> {
    let tenant = store
        .key_owner(key)
        .await?
        .ok_or_else(|| AdminError::UnknownKey(key.to_string()))?;
    let now = OffsetDateTime::now_utc();
    let audit =
        AuditEntry::new(Some(tenant), Actor::cli(), "key.revoke", now).target("api_key", key);
    store
        .revoke_key(tenant, key, now, &audit)
        .await
        .map_err(|e| match e {
            store::Error::NotFound => AdminError::UnknownKey(key.to_string()),
            other => other.into(),
        })?;
    Ok(tenant)
}
