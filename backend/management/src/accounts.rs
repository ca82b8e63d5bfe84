//! Accounts: sign-up, email verification, sign-in with throttling and lockout, sessions,
//! password reset, and personal access tokens.

use domain::account::{LOCKOUT, MAX_FAILED_LOGINS, check_password, check_password_strength};
use domain::session::{
    EMAIL_TOKEN_LIFETIME, EmailPurpose, EmailToken, PersonalAccessToken, SESSION_LIFETIME, Session,
    random_token,
};
use domain::{AuditEntry, Email, KeyHash, NewKeySecret, TokenId, User, UserId};
use time::OffsetDateTime;

use crate::mail::Message;
use crate::{Credential, Error, Identity, Manager, password};

/// A sign-up request.
#[derive(Debug, Clone)]
pub struct Signup {
    pub email: String,
    pub password: String,
    pub display_name: Option<String>,
    /// The token of an invitation to this address: lets the invited person sign up when
    /// sign-up is closed, and proves the address (the invitation was mailed there).
    pub invitation_token: Option<String>,
    /// The host the request came through: on a partner's verified domain, the sign-up is the
    /// partner's, so its verification mail is branded and links there.
    pub host: Option<String>,
}

/// Where links in a mail point (scheme and host, no trailing slash) and the partner name
/// that signs it (`None`: the platform's mail, unsigned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MailOrigin {
    pub base: String,
    pub brand: Option<String>,
}

/// A successful sign-in: the cookie value (shown once) and its session.
#[derive(Debug, Clone)]
pub struct LoginOutcome {
    pub session_secret: String,
    pub session: Session,
    pub user: User,
}

/// A new personal access token and its secret, shown once.
#[derive(Debug, Clone)]
pub struct NewTokenSecret {
    pub token: PersonalAccessToken,
    pub secret: String,
}

/// The visible prefix of personal access tokens.
const TOKEN_PREFIX: &str = "pat";

fn clean_display_name(name: Option<String>) -> Result<Option<String>, Error> {
    let Some(name) = name
        .map(|it| it.trim().to_owned())
        .filter(|it| !it.is_empty())
    else {
        return Ok(None);
    };
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "display_name",
            "`display_name` must be at most 100 characters, without control characters",
        ));
    }
    Ok(Some(name))
}

impl Manager {
    /// Creates an account and mails a verification link.
    ///
    /// # Errors
    /// Closed sign-up, an invalid email or weak password (naming the field), a taken address.
    pub async fn signup(&self, request: Signup, ip: Option<String>) -> Result<User, Error> {
        let email =
            Email::parse(&request.email).map_err(|e| Error::invalid("email", e.to_string()))?;
        check_password(&request.password, &email)
            .map_err(|e| Error::invalid("password", e.to_string()))?;
        let display_name = clean_display_name(request.display_name)?;
        self.refuse_if_sso_required(&email).await?;
        let first = self.store.count_users().await? == 0;
        let bootstrapping = first && self.config.first_user_is_operator;
        let now = OffsetDateTime::now_utc();
        let invited = match request.invitation_token.as_deref().map(str::trim) {
            None | Some("") => false,
            Some(token) => {
                let invitation = self
                    .store
                    .find_invitation(KeyHash::of(token))
                    .await?
                    .filter(|it| it.is_open(now))
                    .ok_or_else(|| {
                        Error::invalid(
                            "invitation_token",
                            "the invitation is invalid, used, revoked or expired",
                        )
                    })?;
                if invitation.email != email {
                    return Err(Error::invalid(
                        "email",
                        "sign up with the address the invitation was sent to",
                    ));
                }
                true
            }
        };
        if !(self.config.open_signup || bootstrapping || invited) {
            return Err(Error::Forbidden(
                "sign-up is closed; ask for an invitation".into(),
            ));
        }
        let user = User {
            id: UserId::new(),
            email,
            display_name,
            password_hash: Some(password::hash(request.password).await?),
            email_verified_at: invited.then_some(now),
            is_operator: first && self.config.first_user_is_operator,
            failed_logins: 0,
            locked_until: None,
            created_at: now,
        };
        let audit = AuditEntry::new(
            None,
            domain::Actor {
                kind: "user".into(),
                id: Some(user.id.to_string()),
                label: Some(user.email.to_string()),
            },
            "user.signup",
            now,
        )
        .target("user", user.id)
        .from_ip(ip);
        self.store
            .create_user(&user, &audit)
            .await
            .map_err(|e| match e {
                store::Error::Conflict(_) => {
                    Error::Conflict("an account with this email address exists already".into())
                }
                other => other.into(),
            })?;
        if !invited {
            self.send_email_link(&user, EmailPurpose::VerifyEmail, request.host.as_deref())
                .await?;
        }
        Ok(user)
    }

    /// Where links in mail about `user` point and whose name signs it: the domain of the one
    /// partner the account belongs to (its sub-tenants' memberships, its administration), the
    /// platform's public URL when it belongs to the platform, to several partners, to a partner
    /// without a verified domain, or is an operator. Never simply the requester's host: that
    /// is how a forged `Host` once put a genuine reset link on an attacker's domain.
    ///
    /// `signup_host` counts only for an account that belongs nowhere yet (a sign-up and its
    /// verification mail), and only when it is a partner's verified domain: then the sign-up
    /// is that partner's. Password resets never pass one.
    pub(crate) async fn account_mail_origin(
        &self,
        user: &User,
        signup_host: Option<&str>,
    ) -> Result<MailOrigin, Error> {
        if user.is_operator {
            return Ok(self.platform_origin());
        }
        let affiliations = self.store.partner_affiliations(user.id).await?;
        let partner = match (affiliations.as_slice(), signup_host) {
            ([Some(partner)], _) => Some(self.store.get_partner(*partner).await?),
            ([], Some(host)) => self.store.partner_by_host(host).await?,
            _ => None,
        };
        Ok(partner.map_or_else(|| self.platform_origin(), |it| self.partner_origin(&it)))
    }

    /// Where links in mail about a tenant (invitations) point: its partner's verified domain,
    /// else the platform's public URL.
    pub(crate) async fn tenant_mail_origin(
        &self,
        tenant: &domain::Tenant,
    ) -> Result<MailOrigin, Error> {
        Ok(match tenant.partner_id {
            Some(partner) => self.partner_origin(&self.store.get_partner(partner).await?),
            None => self.platform_origin(),
        })
    }

    fn platform_origin(&self) -> MailOrigin {
        MailOrigin {
            base: self.config.public_url.trim_end_matches('/').to_owned(),
            brand: None,
        }
    }

    /// The partner's oldest verified domain and its name; the platform's without one.
    fn partner_origin(&self, partner: &domain::partner::Partner) -> MailOrigin {
        match partner.primary_host() {
            Some(host) => {
                let scheme = if self.config.public_url.starts_with("https://") {
                    "https"
                } else {
                    "http"
                };
                MailOrigin {
                    base: format!("{scheme}://{host}"),
                    brand: Some(partner.branding.display_name.clone()),
                }
            }
            None => self.platform_origin(),
        }
    }

    async fn send_email_link(
        &self,
        user: &User,
        purpose: EmailPurpose,
        signup_host: Option<&str>,
    ) -> Result<(), Error> {
        let secret = random_token();
        let now = OffsetDateTime::now_utc();
        self.store
            .create_email_token(&EmailToken {
                hash: KeyHash::of(&secret),
                user_id: user.id,
                purpose,
                created_at: now,
                expires_at: now + EMAIL_TOKEN_LIFETIME,
            })
            .await?;
        let MailOrigin { base, brand } = self.account_mail_origin(user, signup_host).await?;
        let (subject, path, what) = match purpose {
            EmailPurpose::VerifyEmail => (
                "Verify your email address",
                "verify-email",
                "verify your email address",
            ),
            EmailPurpose::ResetPassword => (
                "Reset your password",
                "reset-password",
                "choose a new password",
            ),
        };
        let mut body = format!(
            "Hello,\n\nfollow this link to {what}:\n\n{base}/{path}?token={secret}\n\nThe link works once, for 24 hours.\n"
        );
        let subject = match &brand {
            Some(name) => {
                body.push_str(&format!("\n{name}\n"));
                format!("{name}: {subject}")
            }
            None => subject.to_owned(),
        };
        self.mailer
            .send(Message {
                to: user.email.clone(),
                subject,
                body,
            })
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "mail could not be sent");
                Error::Unavailable(
                    "the email could not be sent just now; ask for a new link in a moment".into(),
                )
            })
    }

    /// Marks the address of the token's account verified.
    ///
    /// # Errors
    /// `Invalid` (`token`) when the token is unknown, used or expired.
    pub async fn verify_email(&self, token: &str, ip: Option<String>) -> Result<User, Error> {
        let now = OffsetDateTime::now_utc();
        let user_id = self
            .store
            .use_email_token(KeyHash::of(token.trim()), EmailPurpose::VerifyEmail, now)
            .await
            .map_err(|e| match e {
                store::Error::NotFound => Error::invalid(
                    "token",
                    "the link is invalid, used or expired; ask for a new one",
                ),
                other => other.into(),
            })?;
        let user = self.store.get_user(user_id).await?;
        let audit = AuditEntry::new(None, self.user_actor(&user), "user.verify_email", now)
            .target("user", user.id)
            .from_ip(ip);
        self.store.mark_email_verified(user.id, now, &audit).await?;
        Ok(self.store.get_user(user_id).await?)
    }

    /// Sends a new verification link, if the account exists and is not verified. Silent
    /// either way, so that it reveals nothing about which addresses have accounts. `host` is
    /// the request's, which counts as for a sign-up (see [`Manager::account_mail_origin`]).
    ///
    /// # Errors
    /// Only store or mail failures.
    pub async fn resend_verification(&self, email: &str, host: Option<&str>) -> Result<(), Error> {
        let Ok(email) = Email::parse(email) else {
            return Ok(());
        };
        if let Some(user) = self.store.find_user_by_email(&email).await?
            && !user.is_verified()
        {
            self.send_email_link(&user, EmailPurpose::VerifyEmail, host)
                .await?;
        }
        Ok(())
    }

    pub(crate) fn user_actor(&self, user: &User) -> domain::Actor {
        domain::Actor {
            kind: "user".into(),
            id: Some(user.id.to_string()),
            label: Some(user.email.to_string()),
        }
    }

    /// Signs in with email and password.
    ///
    /// # Errors
    /// `TooManyRequests` (throttled address or locked account), `Unauthenticated` for a wrong
    /// email or password (the same message for both), `EmailNotVerified`.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        ip: Option<String>,
        user_agent: Option<String>,
    ) -> Result<LoginOutcome, Error> {
        if let Err(wait) = self.throttle.attempt(ip.as_deref().unwrap_or("unknown")) {
            return Err(Error::TooManyRequests {
                message: "too many sign-in attempts from this address; wait and try again".into(),
                retry_after: wait,
            });
        }
        let wrong = || Error::Unauthenticated("the email address or password is wrong".into());
        let now = OffsetDateTime::now_utc();
        let user = match Email::parse(email) {
            Ok(email) => self.store.find_user_by_email(&email).await?,
            Err(_) => None,
        };
        if let Some(user) = &user
            && user.is_locked(now)
        {
            let wait = user
                .locked_until
                .map_or(time::Duration::ZERO, |it| it - now);
            return Err(Error::TooManyRequests {
                message: "this account is locked after too many failed sign-ins; try again later"
                    .into(),
                retry_after: std::time::Duration::try_from(wait).unwrap_or_default(),
            });
        }
        if let Some(user) = &user
            && !user.is_operator
        {
            self.refuse_if_sso_required(&user.email).await?;
        }
        let matched = password::verify(
            password.to_owned(),
            user.as_ref().and_then(|it| it.password_hash.clone()),
        )
        .await;
        let Some(user) = user else {
            return Err(wrong());
        };
        if !matched {
            let failures = self
                .store
                .record_failed_login(user.id, MAX_FAILED_LOGINS, now + LOCKOUT)
                .await?;
            let audit = AuditEntry::new(None, self.user_actor(&user), "user.login_failed", now)
                .target("user", user.id)
                .from_ip(ip);
            self.store.record(&audit).await?;
            if failures >= MAX_FAILED_LOGINS {
                return Err(Error::TooManyRequests {
                    message:
                        "this account is locked after too many failed sign-ins; try again later"
                            .into(),
                    retry_after: std::time::Duration::try_from(LOCKOUT).unwrap_or_default(),
                });
            }
            return Err(wrong());
        }
        if !user.is_verified() {
            return Err(Error::EmailNotVerified);
        }
        self.start_session(user, ip, user_agent, "user.login").await
    }

    /// Opens a session for a user who has proved who they are, and records `action`.
    pub(crate) async fn start_session(
        &self,
        user: User,
        ip: Option<String>,
        user_agent: Option<String>,
        action: &str,
    ) -> Result<LoginOutcome, Error> {
        let now = OffsetDateTime::now_utc();
        self.store.record_successful_login(user.id).await?;
        let secret = random_token();
        let session = Session {
            id_hash: KeyHash::of(&secret),
            user_id: user.id,
            csrf_token: random_token(),
            created_at: now,
            expires_at: now + SESSION_LIFETIME,
            ip: ip.clone(),
            user_agent: user_agent.map(|it| it.chars().take(300).collect()),
        };
        self.store.create_session(&session).await?;
        let audit = AuditEntry::new(None, self.user_actor(&user), action, now)
            .target("user", user.id)
            .from_ip(ip);
        self.store.record(&audit).await?;
        Ok(LoginOutcome {
            session_secret: secret,
            session,
            user,
        })
    }

    /// Ends a session.
    ///
    /// # Errors
    /// Store failures.
    pub async fn logout(&self, session_secret: &str) -> Result<(), Error> {
        self.store
            .delete_session(KeyHash::of(session_secret))
            .await?;
        Ok(())
    }

    /// The caller behind a session cookie.
    ///
    /// # Errors
    /// `Unauthenticated` for unknown or expired sessions.
    pub async fn authenticate_session(
        &self,
        session_secret: &str,
        ip: Option<String>,
    ) -> Result<Identity, Error> {
        let now = OffsetDateTime::now_utc();
        let session = self
            .store
            .get_session(KeyHash::of(session_secret), now)
            .await?
            .ok_or_else(|| Error::Unauthenticated("the session has ended; sign in again".into()))?;
        let user = self.store.get_user(session.user_id).await?;
        Ok(Identity {
            user,
            credential: Credential::Session {
                csrf_token: session.csrf_token,
            },
            ip,
        })
    }

    /// The caller behind a personal access token.
    ///
    /// # Errors
    /// `Unauthenticated` for unknown, revoked or expired tokens.
    pub async fn authenticate_token(
        &self,
        secret: &str,
        ip: Option<String>,
    ) -> Result<Identity, Error> {
        let now = OffsetDateTime::now_utc();
        let token = self
            .store
            .find_token(KeyHash::of(secret.trim()))
            .await?
            .filter(|it| it.is_usable(now))
            .ok_or_else(|| {
                Error::Unauthenticated("the access token is invalid, revoked or expired".into())
            })?;
        let user = self.store.get_user(token.user_id).await?;
        Ok(Identity {
            user,
            credential: Credential::Token,
            ip,
        })
    }

    /// Mails a password-reset link when the account exists; silent either way. The link is on
    /// the domain the account belongs to, whoever asks and through whichever host.
    ///
    /// # Errors
    /// Only store or mail failures.
    pub async fn request_password_reset(&self, email: &str) -> Result<(), Error> {
        let Ok(email) = Email::parse(email) else {
            return Ok(());
        };
        if let Some(user) = self.store.find_user_by_email(&email).await? {
            // Never the requester's host: anyone can ask for anyone's reset.
            self.send_email_link(&user, EmailPurpose::ResetPassword, None)
                .await?;
        }
        Ok(())
    }

    /// Sets a new password with a reset token; every session of the account ends.
    ///
    /// # Errors
    /// `Invalid` for a used or expired token (`token`) or a weak password (`password`).
    pub async fn reset_password(
        &self,
        token: &str,
        new_password: &str,
        ip: Option<String>,
    ) -> Result<(), Error> {
        let now = OffsetDateTime::now_utc();
        // Check what can be checked before using up the link, so a weak password can be retried.
        check_password_strength(new_password)
            .map_err(|e| Error::invalid("password", e.to_string()))?;
        let user_id = self
            .store
            .use_email_token(KeyHash::of(token.trim()), EmailPurpose::ResetPassword, now)
            .await
            .map_err(|e| match e {
                store::Error::NotFound => Error::invalid(
                    "token",
                    "the link is invalid, used or expired; ask for a new one",
                ),
                other => other.into(),
            })?;
        let user = self.store.get_user(user_id).await?;
        check_password(new_password, &user.email)
            .map_err(|e| Error::invalid("password", e.to_string()))?;
        let phc = password::hash(new_password.to_owned()).await?;
        let audit = AuditEntry::new(None, self.user_actor(&user), "user.password_reset", now)
            .target("user", user.id)
            .from_ip(ip);
        self.store.set_password(user.id, &phc, &audit).await?;
        // A reset also proves the address.
        if !user.is_verified() {
            let audit = AuditEntry::new(None, self.user_actor(&user), "user.verify_email", now)
                .target("user", user.id);
            self.store.mark_email_verified(user.id, now, &audit).await?;
        }
        Ok(())
    }

    /// Creates a personal access token for the caller.
    ///
    /// # Errors
    /// An invalid name or expiry.
    pub async fn create_token(
        &self,
        identity: &Identity,
        name: &str,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<NewTokenSecret, Error> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(Error::invalid(
                "name",
                "`name` must be 1 to 100 characters, without control characters",
            ));
        }
        let now = OffsetDateTime::now_utc();
        if expires_at.is_some_and(|at| at <= now) {
            return Err(Error::invalid(
                "expires_at",
                "`expires_at` must be in the future",
            ));
        }
        let generated =
            NewKeySecret::generate(TOKEN_PREFIX).map_err(|e| Error::Internal(Box::new(e)))?;
        let token = PersonalAccessToken {
            id: TokenId::new(),
            user_id: identity.user.id,
            name: name.to_owned(),
            hash: generated.hash,
            display_prefix: generated.display_prefix,
            last_four: generated.last_four,
            created_at: now,
            expires_at,
            revoked_at: None,
        };
        let audit = identity
            .audit(None, "token.create")
            .target("token", token.id);
        self.store.create_token(&token, &audit).await?;
        Ok(NewTokenSecret {
            token,
            secret: generated.secret.expose().to_owned(),
        })
    }

    /// The caller's personal access tokens.
    ///
    /// # Errors
    /// Store failures.
    pub async fn list_tokens(
        &self,
        identity: &Identity,
    ) -> Result<Vec<PersonalAccessToken>, Error> {
        Ok(self.store.list_tokens(identity.user.id).await?)
    }

    /// Revokes one of the caller's tokens.
    ///
    /// # Errors
    /// `NotFound` for tokens that are not the caller's.
    pub async fn revoke_token(&self, identity: &Identity, id: TokenId) -> Result<(), Error> {
        let audit = identity.audit(None, "token.revoke").target("token", id);
        self.store
            .revoke_token(identity.user.id, id, OffsetDateTime::now_utc(), &audit)
            .await
            .map_err(Error::missing("token"))
    }
}
