//! Bring your own key: a tenant's stored credential replaces the platform's key (and, when
//! given, URL) of one configured provider for that tenant's calls.
//!
//! Credentials are opened and turned into provider clients when the access snapshot loads, not
//! per request. They are immutable (created or deleted, never edited), so a client built once is
//! reused by every later snapshot while its credential exists; a master-key rotation, which
//! re-seals stored secrets, therefore needs no reload.

use std::collections::HashMap;
use std::sync::Arc;

use domain::credential::ProviderCredential;
use domain::crypto::Keyring;
use domain::{CredentialId, TenantId};
use providers::{Provider, Reach};
use secrecy::SecretString;

use crate::catalog::{Deployment, Route};
use crate::{Error, ErrorKind};

/// What the gateway needs to use tenants' credentials.
#[derive(Debug, Clone)]
pub struct ByokConfig {
    /// `None` when no master key is configured: stored credentials cannot be opened.
    pub keyring: Option<Keyring>,
    /// The configured providers by name, to derive tenant variants from.
    pub providers: HashMap<String, Arc<Provider>>,
    /// Whether tenant URLs may reach private addresses (operator's choice; off by default).
    pub allow_private_upstreams: bool,
}

/// A tenant's provider, or why its credential cannot be used on this node.
pub(crate) type Derived = Result<Arc<Provider>, Arc<str>>;

/// One tenant's replacements, by configured provider name.
#[derive(Debug, Default)]
pub struct TenantProviders {
    by_provider: HashMap<Arc<str>, Derived>,
}

impl TenantProviders {
    /// Whether the tenant brought a usable key for `provider`.
    pub fn has_usable(&self, provider: &str) -> bool {
        self.by_provider.get(provider).is_some_and(Result::is_ok)
    }

    /// The provider to call for `route`: the tenant's variant when it brought a key for the
    /// route's provider, the configured one otherwise.
    ///
    /// # Errors
    /// `Unavailable` when the tenant's credential exists but cannot be used here (no master
    /// key, or sealed under a key this node does not have). The platform key is never used
    /// in its place: the tenant chose to pay its provider itself.
    pub fn provider_for<'a>(
        &'a self,
        route: &Route,
        deployment: &'a Deployment,
    ) -> Result<&'a Provider, Error> {
        match self.by_provider.get(&deployment.provider_name) {
            None if deployment.own_credential_only => Err(no_own_credential(route, deployment)),
            None => Ok(deployment.provider.as_ref()),
            Some(Ok(provider)) => Ok(provider.as_ref()),
            Some(Err(reason)) => Err(Error::new(
                ErrorKind::Unavailable,
                format!(
                    "this tenant's own credential for provider `{}` (model `{}`) cannot be used: {reason}",
                    deployment.provider_name, route.alias
                ),
            )),
        }
    }
}

/// The error of a call to a deployment that only the tenant's own credential may serve, when
/// the tenant has none (any more) for its provider: never the platform's key instead.
pub(crate) fn no_own_credential(route: &Route, deployment: &Deployment) -> Error {
    Error::new(
        ErrorKind::Unavailable,
        format!(
            "the model `{}` is served with this tenant's own credential for provider `{}`, and the tenant has none; add one under provider keys",
            route.alias, deployment.provider_name
        ),
    )
}

/// Derived providers of the current snapshot, by credential.
pub(crate) type Built = HashMap<CredentialId, (TenantId, Arc<str>, Derived)>;

/// Opens every credential not built before and groups the results by tenant.
pub(crate) fn build(
    config: &ByokConfig,
    credentials: Vec<ProviderCredential>,
    previous: &Built,
) -> (Built, HashMap<TenantId, Arc<TenantProviders>>) {
    let mut built = Built::with_capacity(credentials.len());
    for credential in credentials {
        let entry = match previous.get(&credential.id) {
            Some(entry) if entry.2.is_ok() => entry.clone(),
            _ => {
                let derived = derive(config, &credential).map_err(|reason| {
                    tracing::error!(
                        tenant = %credential.tenant_id,
                        credential = %credential.id,
                        provider = %credential.provider,
                        %reason,
                        "a tenant's provider credential cannot be used"
                    );
                    Arc::<str>::from(reason)
                });
                (
                    credential.tenant_id,
                    credential.provider.as_str().into(),
                    derived,
                )
            }
        };
        built.insert(credential.id, entry);
    }
    let mut by_tenant: HashMap<TenantId, TenantProviders> = HashMap::new();
    for (tenant, provider, derived) in built.values() {
        by_tenant
            .entry(*tenant)
            .or_default()
            .by_provider
            .insert(provider.clone(), derived.clone());
    }
    let by_tenant = by_tenant
        .into_iter()
        .map(|(tenant, providers)| (tenant, Arc::new(providers)))
        .collect();
    (built, by_tenant)
}

fn derive(config: &ByokConfig, credential: &ProviderCredential) -> Result<Arc<Provider>, String> {
    let keyring = config
        .keyring
        .as_ref()
        .ok_or("no master key is configured on this node")?;
    let base = config
        .providers
        .get(&credential.provider)
        .ok_or("the provider is no longer configured")?;
    let secret = keyring
        .open(&credential.sealed)
        .map_err(|e| e.to_string())?;
    let secret =
        String::from_utf8(secret).map_err(|_| "the stored secret is not text".to_owned())?;
    // Only a URL the tenant chose is confined to public addresses; without one the calls go
    // where the operator configured the provider. Rows stored before a rule existed are judged
    // again, in the form the connector will dial.
    let (base_url, reach) = match &credential.base_url {
        Some(url) => {
            let normalized =
                domain::outbound::normalize_outbound_url(url, config.allow_private_upstreams)
                    .map_err(|e| e.to_string())?;
            let reach = if config.allow_private_upstreams {
                Reach::Any
            } else {
                Reach::PublicOnly
            };
            (Some(normalized), reach)
        }
        None => (None, Reach::Any),
    };
    let provider = base
        .with_credential(SecretString::from(secret), base_url.as_deref(), reach)
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(provider))
}
