//! Tenants' own provider keys (bring your own key): validated, sealed under the master key
//! before they are stored, and never shown again except as a mask.

use domain::credential::ProviderCredential;
use domain::crypto::{Keyring, mask};
use domain::outbound::normalize_outbound_url;
use domain::{CredentialId, Permission, TenantId};
use time::OffsetDateTime;

use crate::{Error, Identity, Manager};

/// A configured provider tenants may bring their own key for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByokProvider {
    /// The provider's name in the configuration (`openai`, `azure-eu`).
    pub name: String,
    /// Its kind (`openai`, `azure_openai`, `openai_compatible`, `anthropic`).
    pub kind: String,
}

/// What a tenant submits.
#[derive(Debug, Clone)]
pub struct CredentialDraft {
    pub name: String,
    pub provider: String,
    pub secret: String,
    pub base_url: Option<String>,
}

/// Longest secret accepted; real provider keys are far shorter.
const MAX_SECRET_CHARS: usize = 4096;

/// Checks a draft and answers its base URL in the normalised form that is stored (the one the
/// connector will dial), so that what was checked is what is used.
fn check_draft(
    draft: &CredentialDraft,
    providers: &[ByokProvider],
    allow_private: bool,
) -> Result<Option<String>, Error> {
    let name = draft.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "name",
            "`name` must be 1 to 100 characters, without control characters",
        ));
    }
    if !providers.iter().any(|it| it.name == draft.provider) {
        let known: Vec<&str> = providers.iter().map(|it| it.name.as_str()).collect();
        return Err(Error::invalid(
            "provider",
            if known.is_empty() {
                "this installation has no provider that accepts a tenant's own key".to_owned()
            } else {
                format!(
                    "unknown provider `{}`; expected one of {}",
                    draft.provider.chars().take(100).collect::<String>(),
                    known.join(", ")
                )
            },
        ));
    }
    let secret = &draft.secret;
    // It travels as an HTTP header value: visible ASCII only.
    if secret.is_empty()
        || secret.len() > MAX_SECRET_CHARS
        || !secret.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(Error::invalid(
            "secret",
            format!(
                "`secret` must be 1 to {MAX_SECRET_CHARS} printable ASCII characters without spaces"
            ),
        ));
    }
    let Some(url) = &draft.base_url else {
        return Ok(None);
    };
    if url.len() > 2000 {
        return Err(Error::invalid(
            "base_url",
            "`base_url` must be at most 2000 characters",
        ));
    }
    let normalized = normalize_outbound_url(url, allow_private)
        .map_err(|e| Error::invalid("base_url", e.to_string()))?;
    Ok(Some(normalized.trim_end_matches('/').to_owned()))
}

/// What the audit log keeps about a credential: never the secret.
fn credential_json(credential: &ProviderCredential) -> String {
    serde_json::json!({
        "name": credential.name,
        "provider": credential.provider,
        "base_url": credential.base_url,
        "mask": credential.mask,
    })
    .to_string()
}

impl Manager {
    pub(crate) fn keyring(&self) -> Result<&Keyring, Error> {
        self.config.keyring.as_ref().ok_or_else(|| {
            Error::Unavailable(
                "stored secrets (provider credentials, webhook secrets) need a master key, which the operator has not configured"
                    .into(),
            )
        })
    }

    /// The configured providers a tenant may bring a key for.
    pub fn byok_providers(&self) -> &[ByokProvider] {
        &self.config.byok_providers
    }

    /// # Errors
    /// Missing permission.
    pub async fn credentials(
        &self,
        identity: &Identity,
        tenant: TenantId,
    ) -> Result<Vec<ProviderCredential>, Error> {
        self.authorize(identity, tenant, Permission::ManageProviderCredentials)
            .await?;
        Ok(self.store.list_credentials(tenant).await?)
    }

    /// Seals and stores a credential; the secret is never readable through the API again.
    ///
    /// # Errors
    /// Missing permission, invalid fields, a name or provider already used, no master key.
    pub async fn create_credential(
        &self,
        identity: &Identity,
        tenant: TenantId,
        draft: CredentialDraft,
    ) -> Result<ProviderCredential, Error> {
        self.authorize(identity, tenant, Permission::ManageProviderCredentials)
            .await?;
        let base_url = check_draft(
            &draft,
            &self.config.byok_providers,
            self.config.allow_private_upstreams,
        )?;
        let sealed = self
            .keyring()?
            .seal(draft.secret.as_bytes())
            .map_err(|e| Error::Internal(Box::new(e)))?;
        let credential = ProviderCredential {
            id: CredentialId::new(),
            tenant_id: tenant,
            name: draft.name.trim().to_owned(),
            provider: draft.provider,
            base_url,
            sealed,
            mask: mask(&draft.secret),
            created_by: Some(identity.user.id),
            created_at: OffsetDateTime::now_utc(),
        };
        let audit = identity
            .audit(Some(tenant), "provider_credential.create")
            .target("provider_credential", credential.id)
            .change(None, Some(credential_json(&credential)));
        self.store.create_credential(&credential, &audit).await?;
        self.changed().await;
        Ok(credential)
    }

    /// # Errors
    /// Missing permission; `NotFound` for other tenants' credentials.
    pub async fn delete_credential(
        &self,
        identity: &Identity,
        tenant: TenantId,
        id: CredentialId,
    ) -> Result<(), Error> {
        self.authorize(identity, tenant, Permission::ManageProviderCredentials)
            .await?;
        let existing = self
            .store
            .list_credentials(tenant)
            .await?
            .into_iter()
            .find(|it| it.id == id)
            .ok_or(Error::NotFound("provider credential"))?;
        let audit = identity
            .audit(Some(tenant), "provider_credential.delete")
            .target("provider_credential", id)
            .change(Some(credential_json(&existing)), None);
        self.store
            .delete_credential(tenant, id, &audit)
            .await
            .map_err(Error::missing("provider credential"))?;
        self.changed().await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> CredentialDraft {
        CredentialDraft {
            name: "prod".into(),
            provider: "openai".into(),
            secret: "sk-proj-abcdefghijklmnop".into(),
            base_url: None,
        }
    }

    fn field(result: Result<Option<String>, Error>) -> String {
        match result {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn drafts_are_checked_field_by_field() {
        let providers = [ByokProvider {
            name: "openai".into(),
            kind: "openai".into(),
        }];
        assert!(check_draft(&draft(), &providers, false).is_ok());
        let with = |f: fn(&mut CredentialDraft)| {
            let mut it = draft();
            f(&mut it);
            check_draft(&it, &providers, false)
        };
        assert_eq!(field(with(|it| it.name = " ".into())), "name");
        assert_eq!(field(with(|it| it.name = "x".repeat(101))), "name");
        assert_eq!(field(with(|it| it.provider = "mock".into())), "provider");
        assert_eq!(field(with(|it| it.secret = String::new())), "secret");
        assert_eq!(field(with(|it| it.secret = "two words".into())), "secret");
        assert_eq!(field(with(|it| it.secret = "ключ".into())), "secret");
        assert_eq!(field(with(|it| it.secret = "k".repeat(4097))), "secret");
        assert_eq!(
            field(with(|it| it.base_url = Some("http://127.0.0.1:9/v1".into()))),
            "base_url"
        );
        assert_eq!(
            field(with(|it| it.base_url = Some("not a url".into()))),
            "base_url"
        );
        assert_eq!(
            with(|it| it.base_url = Some("https://Example.OpenAI.Azure.com/".into())).unwrap(),
            Some("https://example.openai.azure.com".into()),
            "stored as the connector will read it"
        );
        assert_eq!(
            field(with(|it| it.base_url = Some("http://①②⑦.0.0.1:9/v1".into()))),
            "base_url"
        );
        let mut local = draft();
        local.base_url = Some("http://127.0.0.1:9/v1".into());
        assert!(
            check_draft(&local, &providers, true).is_ok(),
            "the operator allows private targets"
        );
    }
}
