//! Service accounts: a tenant's non-human clients. Each is an OAuth 2.0 client (its id is the
//! client id) whose secret is shown once and stored as a hash; its tokens carry its scopes.

use domain::service_account::{CLIENT_SECRET_PREFIX, ServiceAccount};
use domain::{KeyScopes, KeySecret, NewKeySecret, Permission, ServiceAccountId, TenantId};
use time::OffsetDateTime;

use crate::keys::{check_models, check_scopes};
use crate::{Error, Identity, Manager};

/// What a new service account should be.
#[derive(Debug, Clone, Default)]
pub struct ServiceAccountDraft {
    pub name: String,
    pub models: Vec<String>,
    pub scopes: KeyScopes,
}

fn check_name(name: &str) -> Result<String, Error> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "name",
            "`name` must be 1 to 100 characters, without control characters",
        ));
    }
    Ok(name.to_owned())
}

/// What the audit log keeps about an account: never its secret or hash.
fn account_json(account: &ServiceAccount) -> String {
    serde_json::json!({
        "name": account.name,
        "models": account.allowed_models,
        "scopes": account.scopes,
        "secret_last_four": account.secret_last_four,
    })
    .to_string()
}

fn new_secret() -> Result<NewKeySecret, Error> {
    NewKeySecret::generate(CLIENT_SECRET_PREFIX).map_err(|e| Error::Internal(Box::new(e)))
}

impl Manager {
    /// # Errors
    /// Missing permission.
    pub async fn service_accounts(
        &self,
        identity: &Identity,
        tenant: TenantId,
    ) -> Result<Vec<ServiceAccount>, Error> {
        self.authorize(identity, tenant, Permission::ViewKeys)
            .await?;
        Ok(self.store.list_service_accounts(tenant).await?)
    }

    /// # Errors
    /// Missing permission; `NotFound` for other tenants' accounts.
    pub async fn service_account(
        &self,
        identity: &Identity,
        tenant: TenantId,
        id: ServiceAccountId,
    ) -> Result<ServiceAccount, Error> {
        self.authorize(identity, tenant, Permission::ViewKeys)
            .await?;
        self.store
            .get_service_account(tenant, id)
            .await
            .map_err(Error::missing("service account"))
    }

    /// Creates an account; returns it with its client secret, which is never shown again.
    ///
    /// # Errors
    /// Missing permission and invalid fields.
    pub async fn create_service_account(
        &self,
        identity: &Identity,
        tenant: TenantId,
        draft: ServiceAccountDraft,
    ) -> Result<(ServiceAccount, KeySecret), Error> {
        self.authorize(identity, tenant, Permission::ManageServiceAccounts)
            .await?;
        let name = check_name(&draft.name)?;
        check_models(&draft.models)?;
        check_scopes(&draft.scopes)?;
        let secret = new_secret()?;
        let account = ServiceAccount {
            id: ServiceAccountId::new(),
            tenant_id: tenant,
            name,
            secret_hash: secret.hash,
            secret_last_four: secret.last_four,
            allowed_models: draft.models,
            scopes: draft.scopes,
            created_by: Some(identity.user.id),
            created_at: OffsetDateTime::now_utc(),
            revoked_at: None,
        };
        let audit = identity
            .audit(Some(tenant), "service_account.create")
            .target("service_account", account.id)
            .change(None, Some(account_json(&account)));
        self.store.create_service_account(&account, &audit).await?;
        self.changed().await;
        Ok((account, secret.secret))
    }

    /// Replaces the client secret; the old one stops working at once (tokens already issued
    /// run until they expire, at most the token lifetime).
    ///
    /// # Errors
    /// Missing permission; `NotFound` for other tenants' or revoked accounts.
    pub async fn rotate_service_account_secret(
        &self,
        identity: &Identity,
        tenant: TenantId,
        id: ServiceAccountId,
    ) -> Result<(ServiceAccount, KeySecret), Error> {
        self.authorize(identity, tenant, Permission::ManageServiceAccounts)
            .await?;
        let mut account = self
            .store
            .get_service_account(tenant, id)
            .await
            .map_err(Error::missing("service account"))?;
        let secret = new_secret()?;
        let before = account_json(&account);
        account.secret_hash = secret.hash;
        account.secret_last_four = secret.last_four;
        let audit = identity
            .audit(Some(tenant), "service_account.rotate_secret")
            .target("service_account", id)
            .change(Some(before), Some(account_json(&account)));
        self.store
            .replace_service_account_secret(
                tenant,
                id,
                account.secret_hash,
                &account.secret_last_four,
                &audit,
            )
            .await
            .map_err(Error::missing("service account"))?;
        self.changed().await;
        Ok((account, secret.secret))
    }

    /// Revokes an account: its secret and every token it holds stop working within a second.
    ///
    /// # Errors
    /// Missing permission; `NotFound` for other tenants' or already revoked accounts.
    pub async fn revoke_service_account(
        &self,
        identity: &Identity,
        tenant: TenantId,
        id: ServiceAccountId,
    ) -> Result<(), Error> {
        self.authorize(identity, tenant, Permission::ManageServiceAccounts)
            .await?;
        let existing = self
            .store
            .get_service_account(tenant, id)
            .await
            .map_err(Error::missing("service account"))?;
        let audit = identity
            .audit(Some(tenant), "service_account.revoke")
            .target("service_account", id)
            .change(Some(account_json(&existing)), None);
        self.store
            .revoke_service_account(tenant, id, OffsetDateTime::now_utc(), &audit)
            .await
            .map_err(Error::missing("service account"))?;
        self.changed().await;
        Ok(())
    }
}
