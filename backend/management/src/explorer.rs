//! The portal's API explorer calls the data plane as the signed-in person, so nobody pastes a
//! secret into a browser: a five-minute ES256 token from the same signing keys as OAuth tokens,
//! with `kind: explorer` and `sub` = the user. The data plane records its calls as usage under
//! the user's id. Who may mint one is checked here, on every mint; the short lifetime bounds how
//! long a removed member's last token keeps working.

use domain::service_account::TokenKind;
use domain::{Permission, TenantId, TenantStatus};

use crate::{Error, Identity, IssuedToken, Manager};

/// Lifetime of an explorer token; the portal mints a new one before it runs out.
pub const EXPLORER_TOKEN_TTL: time::Duration = time::Duration::minutes(5);

impl Manager {
    /// Mints a data-plane token for `identity` to call `tenant`'s models from the explorer.
    ///
    /// # Errors
    /// Missing permission (`call_models`), a suspended tenant, or no master key to sign with.
    pub async fn issue_explorer_token(
        &self,
        identity: &Identity,
        tenant: TenantId,
    ) -> Result<IssuedToken, Error> {
        self.authorize(identity, tenant, Permission::CallModels)
            .await?;
        if self.store.get_tenant(tenant).await?.status != TenantStatus::Active {
            return Err(Error::Forbidden("this tenant is suspended".into()));
        }
        let token = self
            .sign_access_token(
                TokenKind::Explorer,
                identity.user.id.to_string(),
                tenant,
                EXPLORER_TOKEN_TTL,
            )
            .await?;
        let audit = identity
            .audit(Some(tenant), "explorer.token_issue")
            .target("user", identity.user.id);
        self.store.record(&audit).await?;
        Ok(token)
    }
}
