//! Where a tenant's or a partner's budget alerts are sent: one webhook URL each, with a signing
//! secret made here (shown once, when made or rotated) and sealed under the master key. The
//! delivery itself (signed, retried) is `server::webhooks`.

use base64::Engine;
use domain::Permission;
use domain::limits::{AlertRecipient, WebhookEndpoint};
use domain::outbound::normalize_outbound_url;
use time::OffsetDateTime;

use crate::{Error, Identity, Manager};

/// What the secret starts with (the Standard Webhooks convention): the rest is its base64.
pub const SECRET_PREFIX: &str = "whsec_";

/// A recipient's webhook as the caller sees it.
#[derive(Debug, Clone)]
pub struct WebhookView {
    pub url: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// The signing secret: only in the answer that made or rotated it.
    pub secret: Option<String>,
}

impl Manager {
    async fn authorize_recipient(
        &self,
        identity: &Identity,
        recipient: AlertRecipient,
        write: bool,
    ) -> Result<(), Error> {
        match recipient {
            AlertRecipient::Tenant(tenant) => {
                let permission = if write {
                    Permission::ManageTenant
                } else {
                    Permission::ViewUsage
                };
                self.authorize(identity, tenant, permission).await.map(drop)
            }
            AlertRecipient::Partner(partner) => {
                self.authorize_partner(identity, partner).await.map(drop)
            }
        }
    }

    /// The recipient's webhook, without its secret.
    ///
    /// # Errors
    /// As for reading the tenant's usage or the partner.
    pub async fn webhook(
        &self,
        identity: &Identity,
        recipient: AlertRecipient,
    ) -> Result<Option<WebhookView>, Error> {
        self.authorize_recipient(identity, recipient, false).await?;
        Ok(self.store.webhook(recipient).await?.map(|it| WebhookView {
            url: it.url,
            created_at: it.created_at,
            updated_at: it.updated_at,
            secret: None,
        }))
    }

    /// Points the recipient's alerts at `url`. A new webhook, or `rotate`, gets a new secret
    /// (returned this once); otherwise the secret stays.
    ///
    /// # Errors
    /// As for managing the tenant or the partner; `Invalid` for a URL that is not public
    /// http(s); `Unavailable` without a master key to seal the secret.
    pub async fn set_webhook(
        &self,
        identity: &Identity,
        recipient: AlertRecipient,
        url: &str,
        rotate: bool,
    ) -> Result<WebhookView, Error> {
        self.authorize_recipient(identity, recipient, true).await?;
        let url = normalize_outbound_url(url, self.config.allow_private_upstreams)
            .map_err(|e| Error::invalid("url", e.to_string()))?;
        let keyring = self.keyring()?;
        let now = OffsetDateTime::now_utc();
        let before = self.store.webhook(recipient).await?;
        let (sealed, secret, created_at) = match before {
            Some(before) if !rotate => (before.secret, None, before.created_at),
            _ => {
                let mut bytes = [0u8; 32];
                ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
                    .map_err(|_| Error::Internal("no randomness for a webhook secret".into()))?;
                let secret = format!(
                    "{SECRET_PREFIX}{}",
                    base64::engine::general_purpose::STANDARD.encode(bytes)
                );
                let sealed = keyring
                    .seal(secret.as_bytes())
                    .map_err(|e| Error::Internal(Box::new(e)))?;
                (sealed, Some(secret), now)
            }
        };
        let endpoint = WebhookEndpoint {
            url: url.clone(),
            secret: sealed,
            created_at,
            updated_at: now,
        };
        let audit = identity
            .audit(tenant_of(recipient), "webhook.set")
            .target("webhook", label(recipient))
            .change(
                None,
                Some(
                    serde_json::json!({"url": url, "secret_rotated": secret.is_some()}).to_string(),
                ),
            );
        self.store
            .set_webhook(recipient, Some(&endpoint), &audit)
            .await?;
        Ok(WebhookView {
            url,
            created_at,
            updated_at: now,
            secret,
        })
    }

    /// Stops sending the recipient's alerts anywhere.
    ///
    /// # Errors
    /// As for managing the tenant or the partner; `NotFound` when it has no webhook.
    pub async fn remove_webhook(
        &self,
        identity: &Identity,
        recipient: AlertRecipient,
    ) -> Result<(), Error> {
        self.authorize_recipient(identity, recipient, true).await?;
        if self.store.webhook(recipient).await?.is_none() {
            return Err(Error::NotFound("webhook"));
        }
        let audit = identity
            .audit(tenant_of(recipient), "webhook.remove")
            .target("webhook", label(recipient));
        self.store.set_webhook(recipient, None, &audit).await?;
        Ok(())
    }
}

fn tenant_of(recipient: AlertRecipient) -> Option<domain::TenantId> {
    match recipient {
        AlertRecipient::Tenant(id) => Some(id),
        AlertRecipient::Partner(_) => None,
    }
}

fn label(recipient: AlertRecipient) -> String {
    match recipient {
        AlertRecipient::Tenant(id) => format!("tenant:{id}"),
        AlertRecipient::Partner(id) => format!("partner:{id}"),
    }
}
