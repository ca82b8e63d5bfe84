//! OAuth 2.0 client credentials: service accounts trade their id and secret for a short-lived
//! ES256-signed JWT that the data plane accepts. Signing keys are generated here, sealed under
//! the master key, rotated on a schedule, and kept verifying until the tokens they signed
//! expire.

use std::sync::{Arc, RwLock};

use domain::crypto::Keyring;
use domain::service_account::{ALGORITHM, AccessClaims, SigningKey, TokenKind};
use domain::{Actor, AuditEntry, KeyHash, ServiceAccountId, TenantId, TenantStatus};
use jsonwebtoken::jwk::{Jwk, KeyAlgorithm, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use time::OffsetDateTime;

use crate::{Error, Manager};

/// A token handed to a client.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    pub expires_at: OffsetDateTime,
}

/// The opened key tokens are signed with now, cached by `kid`.
#[derive(Clone)]
pub(crate) struct Signer {
    kid: String,
    key: EncodingKey,
}

/// Shared between clones of the manager.
pub(crate) type SignerCache = Arc<RwLock<Option<Signer>>>;

fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Internal(Box::new(e))
}

fn invalid_client() -> Error {
    Error::Unauthenticated("client authentication failed".into())
}

/// A fresh P-256 key: its sealed PKCS#8 document and public JWK, `kid` = RFC 7638 thumbprint.
fn generate_signing_key(keyring: &Keyring, now: OffsetDateTime) -> Result<SigningKey, Error> {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map_err(|_| Error::Internal("could not generate a signing key".into()))?;
    let encoding = EncodingKey::from_ec_der(pkcs8.as_ref());
    let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256).map_err(internal)?;
    let kid = jwk.thumbprint(ThumbprintHash::SHA256).map_err(internal)?;
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    jwk.common.key_algorithm = Some(KeyAlgorithm::ES256);
    Ok(SigningKey {
        kid,
        algorithm: ALGORITHM.into(),
        private_key: keyring.seal(pkcs8.as_ref()).map_err(internal)?,
        public_jwk: serde_json::to_string(&jwk).map_err(internal)?,
        created_at: now,
        retired_at: None,
    })
}

impl Manager {
    fn signing_keyring(&self) -> Result<&Keyring, Error> {
        self.config.keyring.as_ref().ok_or_else(|| {
            Error::Unavailable(
                "access tokens need a master key, which the operator has not configured".into(),
            )
        })
    }

    /// The issuer and audience of access tokens: the public URL.
    pub fn token_issuer(&self) -> &str {
        self.config.public_url.trim_end_matches('/')
    }

    /// Makes sure a current signing key exists: creates one when there is none, when the newest
    /// is older than the rotation period, or when `force`. Keys it supersedes keep verifying for
    /// one token lifetime, or stop at once with `retire_now`. Returns the new key's id.
    ///
    /// # Errors
    /// No master key, or store failures.
    pub async fn ensure_signing_key(
        &self,
        force: bool,
        retire_now: bool,
    ) -> Result<Option<String>, Error> {
        let keyring = self.signing_keyring()?;
        let now = OffsetDateTime::now_utc();
        let keys = self.store.signing_keys().await?;
        let current = keys.iter().find(|it| it.retired_at.is_none());
        let due = current.is_none_or(|it| it.created_at + self.config.signing_key_rotation <= now);
        if !force && !due {
            return Ok(None);
        }
        let key = generate_signing_key(keyring, now)?;
        let retire_at = if retire_now {
            now
        } else {
            now + self.config.token_ttl
        };
        let audit = AuditEntry::new(None, Actor::system(), "signing_key.rotate", now)
            .target("signing_key", &key.kid)
            .change(
                current.map(|it| format!("{{\"kid\":\"{}\"}}", it.kid)),
                Some(format!("{{\"kid\":\"{}\"}}", key.kid)),
            );
        self.store
            .insert_signing_key(&key, retire_at, &audit)
            .await?;
        tracing::info!(kid = %key.kid, "new token signing key");
        self.changed().await;
        Ok(Some(key.kid))
    }

    /// The key to sign with now, opened once per `kid`.
    async fn current_signer(&self) -> Result<Signer, Error> {
        let mut keys = self.store.signing_keys().await?;
        if keys.first().is_none_or(|it| it.retired_at.is_some()) {
            self.ensure_signing_key(false, false).await?;
            keys = self.store.signing_keys().await?;
        }
        let newest = keys
            .into_iter()
            .find(|it| it.retired_at.is_none())
            .ok_or_else(|| Error::Internal("no current signing key".into()))?;
        if let Ok(cache) = self.signer.read()
            && let Some(signer) = cache.as_ref()
            && signer.kid == newest.kid
        {
            return Ok(signer.clone());
        }
        let der = self
            .signing_keyring()?
            .open(&newest.private_key)
            .map_err(internal)?;
        let signer = Signer {
            kid: newest.kid,
            key: EncodingKey::from_ec_der(&der),
        };
        if let Ok(mut cache) = self.signer.write() {
            *cache = Some(signer.clone());
        }
        Ok(signer)
    }

    /// The client-credentials grant: checks the client and signs a token carrying its tenant.
    ///
    /// # Errors
    /// `Unauthenticated` for an unknown client, wrong secret or revoked account (the caller
    /// cannot tell which), `Forbidden` when its tenant is suspended, `TooManyRequests` after
    /// repeated failures from one address, `Unavailable` without a master key.
    pub async fn issue_access_token(
        &self,
        client_id: &str,
        client_secret: &str,
        ip: Option<&str>,
    ) -> Result<IssuedToken, Error> {
        let address = format!("oauth:{}", ip.unwrap_or("unknown"));
        if let Some(wait) = self.throttle.blocked(&address) {
            return Err(Error::TooManyRequests {
                message: "too many failed client authentications; retry later".into(),
                retry_after: wait,
            });
        }
        let account = match client_id.trim().parse::<ServiceAccountId>() {
            Ok(id) => self.store.find_service_account(id).await?,
            Err(_) => None,
        };
        let Some(account) = account
            .filter(|it| it.revoked_at.is_none() && it.secret_hash == KeyHash::of(client_secret))
        else {
            // Spend an attempt only on failures, so busy clients are never throttled.
            let _ = self.throttle.attempt(&address);
            return Err(invalid_client());
        };
        let tenant = self.store.get_tenant(account.tenant_id).await?;
        if tenant.status != TenantStatus::Active {
            return Err(Error::Forbidden(
                "the tenant owning this client is suspended".into(),
            ));
        }
        let token = self
            .sign_access_token(
                TokenKind::ServiceAccount,
                account.id.to_string(),
                account.tenant_id,
                self.config.token_ttl,
            )
            .await?;
        tracing::debug!(client = %account.id, tenant = %account.tenant_id, "access token issued");
        Ok(token)
    }

    /// Signs an access token for `sub` in `tenant` with the current signing key.
    pub(crate) async fn sign_access_token(
        &self,
        kind: TokenKind,
        sub: String,
        tenant: TenantId,
        ttl: time::Duration,
    ) -> Result<IssuedToken, Error> {
        let signer = self.current_signer().await?;
        let now = OffsetDateTime::now_utc();
        let claims = AccessClaims {
            kind,
            iss: self.token_issuer().to_owned(),
            aud: self.token_issuer().to_owned(),
            sub,
            tenant: tenant.to_string(),
            iat: now.unix_timestamp(),
            exp: (now + ttl).unix_timestamp(),
            jti: uuid::Uuid::now_v7().simple().to_string(),
        };
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(signer.kid.clone());
        let access_token = jsonwebtoken::encode(&header, &claims, &signer.key).map_err(internal)?;
        Ok(IssuedToken {
            access_token,
            expires_in: u64::try_from(ttl.whole_seconds()).unwrap_or(0),
            expires_at: now + ttl,
        })
    }
}
