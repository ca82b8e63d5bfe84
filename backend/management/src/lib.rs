//! The management plane's rules: accounts and sign-in, sessions and tokens, tenants, members
//! and invitations, API keys, and the audit trail every change leaves.
//!
//! Handlers in `http-api` (and later the portal, through them) call these functions; every
//! permission check goes through [`Manager::authorize`] and the matrix in `domain::roles`.

mod accounts;
pub mod billing;
mod cache_settings;
mod credentials;
pub mod credit;
pub mod domain_proof;
mod error;
mod explorer;
pub mod export;
pub mod invoices;
mod keys;
mod limits;
pub mod mail;
mod oauth;
mod partners;
mod password;
pub mod payments;
mod prices;
mod routes;
mod service_accounts;
mod smtp;
mod sso;
mod tenants;
mod throttle;
mod usage;
mod webhooks;

use std::sync::Arc;

use domain::{Actor, AuditEntry, Permission, Role, TenantId, User};
use store::Store;
use time::OffsetDateTime;

pub use accounts::{LoginOutcome, NewTokenSecret, Signup};
pub use credentials::{ByokProvider, CredentialDraft};
pub use error::Error;
pub use explorer::EXPLORER_TOKEN_TTL;
pub use keys::{KeyDraft, KeyUpdate};
pub use limits::PolicyView;
pub use mail::{LogMailer, Mailer, MemoryMailer};
pub use oauth::IssuedToken;
pub use partners::PartnerDraft;
pub use prices::{PriceDraft, PriceList, PricedDeployment, TenantPrices};
pub use routes::RouteReport;
pub use service_accounts::ServiceAccountDraft;
pub use smtp::{SmtpConfigError, SmtpMailer};
pub use sso::{SsoCallback, SsoError, SsoFailure, SsoProviderInfo};
pub use tenants::InvitationLink;
pub use usage::{KeyLabels, SummaryRequest, UsageReport};
pub use webhooks::{SECRET_PREFIX, WebhookView};

/// Settings of the management plane.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the portal is reached, for links in emails (`https://gateway.example.com`).
    pub public_url: String,
    /// Whether anyone may sign up (otherwise only invited people).
    pub open_signup: bool,
    /// Whether the very first account of an installation becomes a platform operator.
    pub first_user_is_operator: bool,
    /// Visible prefix of new API keys.
    pub key_prefix: String,
    /// Seals tenants' provider credentials; `None` when no master key is configured.
    pub keyring: Option<domain::crypto::Keyring>,
    /// The configured providers tenants may bring their own key for.
    pub byok_providers: Vec<ByokProvider>,
    /// Whether tenant-supplied upstream URLs may point at private addresses.
    pub allow_private_upstreams: bool,
    /// Lifetime of OAuth access tokens.
    pub token_ttl: time::Duration,
    /// Age at which the token signing key is replaced.
    pub signing_key_rotation: time::Duration,
    /// Identity providers for single sign-on.
    pub sso_providers: Vec<std::sync::Arc<::sso::Provider>>,
    /// The nameserver that reads partners' domain proofs; `None`: the system's.
    pub dns_resolver: Option<std::net::SocketAddr>,
    /// The platform's models and own-key providers, which tenants' aliases are built on.
    pub platform_models: Arc<domain::route::PlatformModels>,
    /// The prices every node starts with (the shipped defaults and the configuration's); the
    /// stored lists join them.
    pub prices: domain::pricing::PriceBase,
    /// The tax invoices show; `None` leaves taxes to the payment provider.
    pub tax: Option<domain::invoice::TaxRule>,
    /// Where each tenant's monthly billing periods start: the default period of an invoice
    /// drafted without one, and what automatic invoicing closes.
    pub billing_anchor: domain::invoice::BillingAnchor,
}

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A portal session; mutating requests must carry its CSRF token.
    Session { csrf_token: String },
    /// A personal access token.
    Token,
}

/// An authenticated caller of the management API.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user: User,
    pub credential: Credential,
    /// The caller's address, for the audit trail.
    pub ip: Option<String>,
}

impl Identity {
    /// The audit actor for this caller.
    pub fn actor(&self) -> Actor {
        Actor {
            kind: match self.credential {
                Credential::Session { .. } => "user".into(),
                Credential::Token => "token".into(),
            },
            id: Some(self.user.id.to_string()),
            label: Some(self.user.email.to_string()),
        }
    }

    /// An audit entry for an action of this caller.
    pub fn audit(&self, tenant: Option<TenantId>, action: &str) -> AuditEntry {
        AuditEntry::new(tenant, self.actor(), action, OffsetDateTime::now_utc())
            .from_ip(self.ip.clone())
    }
}

/// What the caller may do in a tenant, once authorized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub tenant: TenantId,
    /// The caller's role; `None` for platform operators who are not members.
    pub role: Option<Role>,
}

impl Access {
    /// Whether this access may give or take `role`: operators and owners may touch owners.
    pub fn may_assign(&self, role: Role) -> bool {
        match self.role {
            None => true,
            Some(mine) => domain::roles::may_assign(mine, role),
        }
    }
}

/// The management plane.
#[derive(Clone)]
pub struct Manager {
    store: Arc<dyn Store>,
    mailer: Arc<dyn Mailer>,
    config: Config,
    throttle: Arc<throttle::LoginThrottle>,
    signer: oauth::SignerCache,
    /// Reads the TXT records that prove partners' domains.
    txt_lookup: Arc<dyn domain_proof::TxtLookup>,
    /// Called after changes that running data-plane snapshots must see (keys, members).
    on_change: OnChange,
    /// Where finalized invoices are collected; `None`: they are not sent anywhere.
    payments: Option<payments::Payments>,
}

/// Makes running data-plane snapshots see a change; resolves once this node's has.
pub type OnChange =
    Arc<dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send + Sync>;

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Manager {
    pub fn new(
        store: Arc<dyn Store>,
        mailer: Arc<dyn Mailer>,
        config: Config,
        on_change: OnChange,
    ) -> Self {
        Manager {
            store,
            mailer,
            throttle: Arc::new(throttle::LoginThrottle::default()),
            signer: oauth::SignerCache::default(),
            txt_lookup: Arc::new(domain_proof::DnsTxtLookup::new(config.dns_resolver)),
            config,
            on_change,
            payments: None,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Checks that `identity` may do `permission` in `tenant`.
    ///
    /// # Errors
    /// `NotFound` when the caller is not a member (another tenant's resources do not exist for
    /// them), `Forbidden` when the caller's role lacks the permission.
    pub async fn authorize(
        &self,
        identity: &Identity,
        tenant: TenantId,
        permission: Permission,
    ) -> Result<Access, Error> {
        if identity.user.is_operator {
            // Operators reach every tenant that exists.
            self.store.get_tenant(tenant).await?;
            let role = self.store.role_of(tenant, identity.user.id).await?;
            return Ok(Access { tenant, role });
        }
        let Some(role) = self.store.role_of(tenant, identity.user.id).await? else {
            // A partner's administrators manage its sub-tenants with an operator's reach.
            let found = self
                .store
                .get_tenant(tenant)
                .await
                .map_err(Error::missing("tenant"))?;
            return match found.partner_id {
                Some(partner)
                    if self
                        .store
                        .is_partner_admin(partner, identity.user.id)
                        .await? =>
                {
                    Ok(Access { tenant, role: None })
                }
                _ => Err(Error::NotFound("tenant")),
            };
        };
        if domain::roles::allows(role, permission) {
            Ok(Access {
                tenant,
                role: Some(role),
            })
        } else {
            Err(Error::Forbidden(format!(
                "your role `{}` does not allow `{}` in this tenant",
                role.as_str(),
                permission.as_str()
            )))
        }
    }

    /// Waits until this node's snapshot includes the change just made, so a key created
    /// through the API works on this node the moment the API answers.
    async fn changed(&self) {
        (self.on_change)().await;
    }
}
