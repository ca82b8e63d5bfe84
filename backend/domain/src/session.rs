//! Sign-in state and the tokens that stand for a person: sessions, one-time email tokens,
//! personal access tokens, and invitations.

use time::OffsetDateTime;

use crate::api_key::KeyHash;
use crate::{Email, InvitationId, Role, TenantId, TokenId, UserId};

/// How long a portal session lasts.
pub const SESSION_LIFETIME: time::Duration = time::Duration::days(7);
/// How long an email verification or password reset link works.
pub const EMAIL_TOKEN_LIFETIME: time::Duration = time::Duration::hours(24);
/// How long an invitation can be accepted.
pub const INVITATION_LIFETIME: time::Duration = time::Duration::days(7);

/// A signed-in browser. Only the hash of its cookie value is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id_hash: KeyHash,
    pub user_id: UserId,
    /// Sent back in `x-csrf-token` on every mutating request.
    pub csrf_token: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// What a one-time email token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailPurpose {
    VerifyEmail,
    ResetPassword,
}

impl EmailPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailPurpose::VerifyEmail => "verify_email",
            EmailPurpose::ResetPassword => "reset_password",
        }
    }
}

/// A one-time link sent by email; only its hash is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailToken {
    pub hash: KeyHash,
    pub user_id: UserId,
    pub purpose: EmailPurpose,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A personal access token: a user's credential for scripts calling the management API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalAccessToken {
    pub id: TokenId,
    pub user_id: UserId,
    pub name: String,
    pub hash: KeyHash,
    pub display_prefix: String,
    pub last_four: String,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

impl PersonalAccessToken {
    pub fn is_usable(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

/// A member of a tenant, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub email: Email,
    pub display_name: Option<String>,
    pub role: Role,
    pub created_at: OffsetDateTime,
}

/// An invitation to join a tenant with a role; single-use and expiring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: InvitationId,
    pub tenant_id: TenantId,
    pub email: Email,
    pub role: Role,
    pub token_hash: KeyHash,
    pub invited_by: UserId,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub accepted_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

impl Invitation {
    pub fn is_open(&self, now: OffsetDateTime) -> bool {
        self.accepted_at.is_none() && self.revoked_at.is_none() && self.expires_at > now
    }
}

/// A random token for links and cookies: 256 bits, URL-safe.
pub fn random_token() -> String {
    use rand::Rng;
    rand::rng()
        .sample_iter(&rand::distr::Alphanumeric)
        .take(43)
        .map(char::from)
        .collect()
}
