//! Single sign-on through the configured identity providers: the state kept between the two
//! legs (single-use, ten minutes), who may come in (verified addresses; new accounts only where
//! sign-up is open), and tenants' rules that their email domain signs in only through SSO.

use std::sync::Arc;

use domain::sso::{SsoDomain, SsoState, is_local_path};
use domain::{AuditEntry, Email, KeyHash, Permission, TenantId, User, UserId};
use time::OffsetDateTime;

use crate::{Error, Identity, LoginOutcome, Manager};

/// How long a sign-in may take at the identity provider.
const STATE_LIFETIME: time::Duration = time::Duration::minutes(10);

/// A configured identity provider, as the portal lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoProviderInfo {
    pub name: String,
    pub display_name: String,
}

/// Why the second leg failed, in a code the portal turns into words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoFailure {
    /// Unknown, used, expired or forged state.
    InvalidState,
    /// The person cancelled, or the provider refused.
    Denied,
    /// The code could not be exchanged (expired, reused, wrong verifier).
    ExchangeFailed,
    /// The ID token or profile did not prove who signed in.
    InvalidIdentity,
    /// The provider did not vouch for the address.
    EmailNotVerified,
    /// No account, and sign-up is closed.
    SignupClosed,
    /// The provider could not be reached or is misconfigured.
    ProviderUnavailable,
}

impl SsoFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            SsoFailure::InvalidState => "invalid_state",
            SsoFailure::Denied => "denied",
            SsoFailure::ExchangeFailed => "exchange_failed",
            SsoFailure::InvalidIdentity => "invalid_identity",
            SsoFailure::EmailNotVerified => "email_not_verified",
            SsoFailure::SignupClosed => "signup_closed",
            SsoFailure::ProviderUnavailable => "provider_unavailable",
        }
    }
}

/// Why the second leg ended without a session.
#[derive(Debug)]
pub enum SsoError {
    /// The browser brought back something wrong: the person is sent to the login page.
    Refused(SsoFailure),
    /// Our side failed (store, unknown provider): an ordinary error answer.
    Failed(Error),
}

impl From<SsoFailure> for SsoError {
    fn from(failure: SsoFailure) -> Self {
        SsoError::Refused(failure)
    }
}

impl From<Error> for SsoError {
    fn from(e: Error) -> Self {
        SsoError::Failed(e)
    }
}

impl From<store::Error> for SsoError {
    fn from(e: store::Error) -> Self {
        SsoError::Failed(e.into())
    }
}

/// The answer of the identity provider to the redirect URI.
#[derive(Debug, Clone, Default)]
pub struct SsoCallback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

impl Manager {
    fn sso_provider(&self, name: &str) -> Result<&Arc<::sso::Provider>, Error> {
        self.config
            .sso_providers
            .iter()
            .find(|it| it.name() == name)
            .ok_or(Error::NotFound("identity provider"))
    }

    fn redirect_uri(&self, provider: &str) -> String {
        format!(
            "{}/api/v1/auth/sso/{provider}/callback",
            self.config.public_url.trim_end_matches('/')
        )
    }

    /// The configured identity providers, for sign-in buttons.
    pub fn sso_providers(&self) -> Vec<SsoProviderInfo> {
        self.config
            .sso_providers
            .iter()
            .map(|it| SsoProviderInfo {
                name: it.name().to_owned(),
                display_name: it.display_name().to_owned(),
            })
            .collect()
    }

    /// `SsoRequired` when a tenant requires SSO for the address's domain.
    pub(crate) async fn refuse_if_sso_required(&self, email: &Email) -> Result<(), Error> {
        let Some(rule) = self.store.sso_domain(email.domain()).await? else {
            return Ok(());
        };
        let display_name = self
            .config
            .sso_providers
            .iter()
            .find(|it| it.name() == rule.provider)
            .map_or_else(|| rule.provider.clone(), |it| it.display_name().to_owned());
        Err(Error::SsoRequired {
            provider: rule.provider,
            display_name,
        })
    }

    /// The first leg: remembers a fresh state, nonce and PKCE verifier and returns the URL to
    /// send the browser to.
    ///
    /// # Errors
    /// An unknown provider, a `return_to` that is not a local path, an unreachable provider.
    pub async fn sso_start(
        &self,
        provider: &str,
        return_to: Option<&str>,
    ) -> Result<String, Error> {
        let idp = self.sso_provider(provider)?;
        let return_to = return_to.unwrap_or("/");
        if !is_local_path(return_to) {
            return Err(Error::invalid(
                "return_to",
                "`return_to` must be a path on this site, such as `/keys`",
            ));
        }
        let state = domain::session::random_token();
        let nonce = domain::session::random_token();
        let started = idp
            .start(&self.redirect_uri(provider), &state, &nonce)
            .await
            .map_err(|e| {
                tracing::error!(provider, error = %e, "single sign-on cannot start");
                Error::Unavailable(
                    "the identity provider cannot be reached; try again later".into(),
                )
            })?;
        let now = OffsetDateTime::now_utc();
        self.store
            .create_sso_state(&SsoState {
                state_hash: KeyHash::of(&state),
                provider: provider.to_owned(),
                nonce,
                pkce_verifier: started.pkce_verifier,
                return_to: return_to.to_owned(),
                created_at: now,
                expires_at: now + STATE_LIFETIME,
            })
            .await?;
        Ok(started.authorize_url)
    }

    /// The second leg: checks the state, exchanges the code, and signs the person in (creating
    /// a verified account where sign-up is open). Returns the session and where to go next.
    ///
    /// # Errors
    /// `SsoError::Refused` for everything the person's browser brought back wrong,
    /// `SsoError::Failed` for store failures and unknown providers.
    pub async fn sso_finish(
        &self,
        provider: &str,
        callback: SsoCallback,
        ip: Option<String>,
        user_agent: Option<String>,
    ) -> Result<(LoginOutcome, String), SsoError> {
        let idp = self.sso_provider(provider)?;
        let now = OffsetDateTime::now_utc();
        let state = match callback.state.as_deref() {
            Some(state) if !state.is_empty() && state.len() <= 200 => {
                self.store.take_sso_state(KeyHash::of(state)).await?
            }
            _ => None,
        };
        let state = state
            .filter(|it| it.provider == provider && it.expires_at > now)
            .ok_or(SsoFailure::InvalidState)?;
        if callback.error.is_some() {
            return Err(SsoFailure::Denied.into());
        }
        let code = callback
            .code
            .filter(|it| !it.is_empty() && it.len() <= 2000)
            .ok_or(SsoFailure::Denied)?;
        let signed_in = idp
            .finish(
                &self.redirect_uri(provider),
                &code,
                &state.pkce_verifier,
                &state.nonce,
            )
            .await
            .map_err(|e| {
                tracing::warn!(provider, error = %e, "single sign-on refused");
                match e {
                    ::sso::Error::Discovery(_) => SsoFailure::ProviderUnavailable,
                    ::sso::Error::Exchange(_) => SsoFailure::ExchangeFailed,
                    ::sso::Error::InvalidIdToken(_) | ::sso::Error::Profile(_) => {
                        SsoFailure::InvalidIdentity
                    }
                }
            })?;
        if !signed_in.email_verified {
            return Err(SsoFailure::EmailNotVerified.into());
        }
        let email = Email::parse(&signed_in.email).map_err(|_| SsoFailure::InvalidIdentity)?;
        let user = match self.store.find_user_by_email(&email).await? {
            Some(user) => {
                if user.email_verified_at.is_none() {
                    let audit =
                        AuditEntry::new(None, self.user_actor(&user), "user.verify_email", now)
                            .target("user", user.id)
                            .change(
                                None,
                                Some(serde_json::json!({ "via": provider }).to_string()),
                            );
                    self.store.mark_email_verified(user.id, now, &audit).await?;
                }
                user
            }
            None => {
                self.sso_signup(email, signed_in.name, provider, ip.clone(), now)
                    .await?
            }
        };
        let outcome = self
            .start_session(user, ip, user_agent, "user.login_sso")
            .await?;
        Ok((outcome, state.return_to))
    }

    async fn sso_signup(
        &self,
        email: Email,
        name: Option<String>,
        provider: &str,
        ip: Option<String>,
        now: OffsetDateTime,
    ) -> Result<User, SsoError> {
        let first = self.store.count_users().await? == 0;
        let bootstrapping = first && self.config.first_user_is_operator;
        if !(self.config.open_signup || bootstrapping) {
            return Err(SsoFailure::SignupClosed.into());
        }
        let user = User {
            id: UserId::new(),
            email,
            display_name: name
                .map(|it| it.chars().filter(|c| !c.is_control()).take(100).collect())
                .filter(|it: &String| !it.trim().is_empty()),
            password_hash: None,
            email_verified_at: Some(now),
            is_operator: bootstrapping,
            failed_logins: 0,
            locked_until: None,
            created_at: now,
        };
        let audit = AuditEntry::new(None, self.user_actor(&user), "user.signup", now)
            .target("user", user.id)
            .change(
                None,
                Some(serde_json::json!({ "via": provider }).to_string()),
            )
            .from_ip(ip);
        self.store.create_user(&user, &audit).await?;
        Ok(user)
    }

    /// The tenant's SSO rules.
    ///
    /// # Errors
    /// Missing permission.
    pub async fn sso_domains(
        &self,
        identity: &Identity,
        tenant: TenantId,
    ) -> Result<Vec<SsoDomain>, Error> {
        self.authorize(identity, tenant, Permission::ViewTenant)
            .await?;
        Ok(self.store.list_sso_domains(tenant).await?)
    }

    /// Requires that addresses of `domain` sign in through `provider`. The domain must be the
    /// caller's own (operators excepted), and the caller must sign in through SSO from now on.
    ///
    /// # Errors
    /// Missing permission, an unknown provider, another domain than the caller's, a domain
    /// another tenant claimed.
    pub async fn require_sso(
        &self,
        identity: &Identity,
        tenant: TenantId,
        domain: &str,
        provider: &str,
    ) -> Result<SsoDomain, Error> {
        self.authorize(identity, tenant, Permission::ManageTenant)
            .await?;
        if self.sso_provider(provider).is_err() {
            return Err(Error::invalid(
                "provider",
                format!("no identity provider named `{provider}` is configured"),
            ));
        }
        let domain = domain.trim().to_ascii_lowercase();
        if !identity.user.is_operator && domain != identity.user.email.domain() {
            return Err(Error::invalid(
                "domain",
                "you can require single sign-on only for your own email domain",
            ));
        }
        domain::partner::normalize_host(&domain)
            .map_err(|_| Error::invalid("domain", "`domain` must be an email domain"))?;
        let rule = SsoDomain {
            domain,
            tenant_id: tenant,
            provider: provider.to_owned(),
            created_at: OffsetDateTime::now_utc(),
        };
        let audit = identity
            .audit(Some(tenant), "sso.require")
            .target("sso_domain", &rule.domain)
            .change(
                None,
                Some(
                    serde_json::json!({ "domain": rule.domain, "provider": rule.provider })
                        .to_string(),
                ),
            );
        self.store.set_sso_domain(&rule, &audit).await?;
        Ok(rule)
    }

    /// # Errors
    /// Missing permission; `NotFound` when the rule is not this tenant's.
    pub async fn drop_sso_requirement(
        &self,
        identity: &Identity,
        tenant: TenantId,
        domain: &str,
    ) -> Result<(), Error> {
        self.authorize(identity, tenant, Permission::ManageTenant)
            .await?;
        let domain = domain.trim().to_ascii_lowercase();
        let audit = identity
            .audit(Some(tenant), "sso.drop")
            .target("sso_domain", &domain)
            .change(
                Some(serde_json::json!({ "domain": domain }).to_string()),
                None,
            );
        self.store
            .remove_sso_domain(tenant, &domain, &audit)
            .await
            .map_err(Error::missing("single sign-on rule"))
    }
}
