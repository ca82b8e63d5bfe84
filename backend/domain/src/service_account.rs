//! Service accounts: non-human clients of a tenant that obtain short-lived signed access tokens
//! with the OAuth 2.0 client-credentials grant, and the keys those tokens are signed with.

use time::OffsetDateTime;

use crate::crypto::Sealed;
use crate::{KeyHash, KeyScopes, ServiceAccountId, TenantId, UserId};

/// Visible prefix of client secrets.
pub const CLIENT_SECRET_PREFIX: &str = "cs";

/// A service account; its client id is its id. The client secret is stored only as a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccount {
    pub id: ServiceAccountId,
    pub tenant_id: TenantId,
    pub name: String,
    pub secret_hash: KeyHash,
    /// The secret's last characters, shown in listings.
    pub secret_last_four: String,
    /// Model aliases its tokens may use; empty means every model.
    pub allowed_models: Vec<String>,
    pub scopes: KeyScopes,
    pub created_by: Option<UserId>,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

/// A key that signs access tokens (ES256). The private half is sealed under the master key;
/// the public half is published at `/.well-known/jwks.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// The `kid` header of tokens it signs.
    pub kid: String,
    /// `ES256`.
    pub algorithm: String,
    /// The PKCS#8 private key, sealed.
    pub private_key: Sealed,
    /// The public key as a JWK (JSON text).
    pub public_jwk: String,
    pub created_at: OffsetDateTime,
    /// From then on it verifies nothing and is no longer published.
    pub retired_at: Option<OffsetDateTime>,
}

/// The only algorithm tokens are signed with: ECDSA P-256 with SHA-256.
pub const ALGORITHM: &str = "ES256";

/// Who an access token acts for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// Issued by `POST /oauth/token`; `sub` is the service account (client) id. Tokens without
    /// a `kind` claim are of this kind.
    #[default]
    ServiceAccount,
    /// Minted for a signed-in person's portal API explorer; `sub` is the user id.
    Explorer,
}

impl TokenKind {
    fn is_service_account(&self) -> bool {
        *self == TokenKind::ServiceAccount
    }
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccessClaims {
    /// Whom `sub` names.
    #[serde(default, skip_serializing_if = "TokenKind::is_service_account")]
    pub kind: TokenKind,
    pub iss: String,
    pub aud: String,
    pub sub: String,
    /// The tenant the account belongs to, so a token names its tenant without a lookup.
    pub tenant: String,
    pub iat: i64,
    pub exp: i64,
    /// A unique id per token, for audit and revocation lists.
    pub jti: String,
}

impl ServiceAccount {
    /// The data plane treats a service account like an API key with the same scopes; its key
    /// id (in usage records) is the account id.
    pub fn as_api_key(&self) -> crate::ApiKey {
        crate::ApiKey {
            id: crate::ApiKeyId(self.id.0),
            tenant_id: self.tenant_id,
            name: Some(self.name.clone()),
            display_prefix: "service-account".into(),
            last_four: self.secret_last_four.clone(),
            hash: self.secret_hash,
            allowed_models: self.allowed_models.clone(),
            scopes: self.scopes.clone(),
            created_by: self.created_by,
            rotated_from: None,
            created_at: self.created_at,
            expires_at: None,
            revoked_at: self.revoked_at,
        }
    }
}

/// The data plane treats an explorer token like an API key of its tenant that may use every
/// model; its key id (in usage records) is the user's id, so the dashboard shows the person.
pub fn explorer_api_key(
    user: UserId,
    tenant: TenantId,
    token_hash: KeyHash,
    issued_at: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> crate::ApiKey {
    crate::ApiKey {
        id: crate::ApiKeyId(user.0),
        tenant_id: tenant,
        name: Some("API explorer".into()),
        display_prefix: "explorer".into(),
        last_four: String::new(),
        hash: token_hash,
        allowed_models: Vec::new(),
        scopes: KeyScopes::default(),
        created_by: Some(user),
        rotated_from: None,
        created_at: issued_at,
        expires_at: Some(expires_at),
        revoked_at: None,
    }
}

impl SigningKey {
    /// Whether tokens signed with it still verify at `now`.
    pub fn verifies_at(&self, now: OffsetDateTime) -> bool {
        self.retired_at.is_none_or(|at| at > now)
    }
}
