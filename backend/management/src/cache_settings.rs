//! A tenant's response-cache settings: its own semantic-cache threshold, which every node
//! applies within a second (it travels in the access snapshot, like residency).

use domain::tenant::SemanticThreshold;
use domain::{Permission, TenantId};

use crate::{Error, Identity, Manager};

impl Manager {
    /// The tenant's own semantic-cache threshold; `None`: each model's.
    ///
    /// # Errors
    /// Missing permission.
    pub async fn semantic_threshold(
        &self,
        identity: &Identity,
        tenant: TenantId,
    ) -> Result<Option<f64>, Error> {
        self.authorize(identity, tenant, Permission::ViewTenant)
            .await?;
        let threshold = self.store.tenant_semantic_threshold(tenant).await?;
        Ok(threshold.map(SemanticThreshold::fraction))
    }

    /// Sets (or, with `None`, clears) the tenant's own semantic-cache threshold: the least
    /// similarity at which a similar prompt's kept answer is served to it, on every model
    /// with a semantic cache. Stored to four decimals.
    ///
    /// # Errors
    /// Missing permission; `Invalid` naming `semantic_threshold` outside 0.5 to 1.0.
    pub async fn set_semantic_threshold(
        &self,
        identity: &Identity,
        tenant: TenantId,
        threshold: Option<f64>,
    ) -> Result<Option<f64>, Error> {
        self.authorize(identity, tenant, Permission::ManageTenant)
            .await?;
        let threshold = threshold
            .map(SemanticThreshold::from_fraction)
            .transpose()
            .map_err(|message| Error::invalid("semantic_threshold", message))?;
        let before = self.store.tenant_semantic_threshold(tenant).await?;
        let audit = identity
            .audit(Some(tenant), "tenant.cache_settings")
            .target("tenant", tenant)
            .change(
                Some(threshold_json(before)),
                Some(threshold_json(threshold)),
            );
        self.store
            .set_tenant_semantic_threshold(tenant, threshold, &audit)
            .await?;
        self.changed().await;
        Ok(threshold.map(SemanticThreshold::fraction))
    }
}

/// How the audit log shows a threshold: `{"semantic_threshold":0.95}` or `null` in it.
fn threshold_json(threshold: Option<SemanticThreshold>) -> String {
    serde_json::json!({ "semantic_threshold": threshold.map(SemanticThreshold::fraction) })
        .to_string()
}
