//! Access tokens on the data plane: ES256 JWTs issued to service accounts by `POST /oauth/token`
//! and to signed-in people for the portal's API explorer, verified against the signing keys of
//! the access snapshot.
//!
//! An ECDSA verification costs about half a millisecond, so a token verified once is
//! remembered per worker thread (by its SHA-256) until it expires; every request still checks
//! that its account is not revoked and its signing key not retired, against the current snapshot.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use domain::service_account::{AccessClaims, SigningKey, TokenKind, explorer_api_key};
use domain::{ApiKey, KeyHash, ServiceAccountId, TenantId, UserId};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use time::OffsetDateTime;

/// Verified tokens remembered per worker thread before the memory is cleared.
const CACHE_CAPACITY: usize = 4096;

/// Whom a verified token acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Subject {
    /// A service account; the snapshot says whether it is still live.
    ServiceAccount(ServiceAccountId),
    /// A person using the explorer, and the key their calls are recorded under; the snapshot
    /// says whether they still reach the tenant.
    Explorer { user: UserId, key: Arc<ApiKey> },
}

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verified {
    pub subject: Subject,
    pub tenant: TenantId,
    pub kid: Arc<str>,
    pub expires_at: i64,
}

thread_local! {
    static VERIFIED: RefCell<HashMap<KeyHash, Verified>> = RefCell::new(HashMap::new());
}

/// Whether a presented credential has the shape of a JWT (API keys never do).
pub(crate) fn looks_like_jwt(presented: &str) -> bool {
    presented.starts_with("eyJ") && presented.bytes().filter(|b| *b == b'.').count() == 2
}

struct VerifyingKey {
    kid: Arc<str>,
    key: DecodingKey,
    retired_at: Option<OffsetDateTime>,
}

/// The keys that verify tokens, and the JWKS document that publishes them.
pub struct Verifiers {
    keys: HashMap<Arc<str>, VerifyingKey>,
    validation: Validation,
    jwks: Arc<str>,
}

impl std::fmt::Debug for Verifiers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifiers")
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Default for Verifiers {
    fn default() -> Self {
        Verifiers::build(&[], "")
    }
}

impl Verifiers {
    /// Builds verifiers from the snapshot's signing keys; a key whose JWK does not parse is
    /// skipped with an error log rather than failing the whole snapshot.
    pub(crate) fn build(keys: &[SigningKey], issuer: &str) -> Self {
        let now = OffsetDateTime::now_utc();
        let mut published = Vec::new();
        let mut verifying = HashMap::new();
        for stored in keys.iter().filter(|it| it.verifies_at(now)) {
            let parsed = serde_json::from_str::<Jwk>(&stored.public_jwk)
                .map_err(|e| e.to_string())
                .and_then(|jwk| {
                    DecodingKey::from_jwk(&jwk)
                        .map(|key| (jwk, key))
                        .map_err(|e| e.to_string())
                });
            match parsed {
                Ok((jwk, key)) => {
                    let kid: Arc<str> = stored.kid.as_str().into();
                    published.push(jwk);
                    verifying.insert(
                        kid.clone(),
                        VerifyingKey {
                            kid,
                            key,
                            retired_at: stored.retired_at,
                        },
                    );
                }
                Err(e) => tracing::error!(kid = %stored.kid, error = %e, "unusable signing key"),
            }
        }
        let mut validation = Validation::new(Algorithm::ES256);
        validation.leeway = 30;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let jwks = serde_json::json!({ "keys": published }).to_string();
        Verifiers {
            keys: verifying,
            validation,
            jwks: jwks.into(),
        }
    }

    /// The public keys as a JWKS document.
    pub fn jwks(&self) -> Arc<str> {
        self.jwks.clone()
    }

    fn usable_key(&self, kid: &str, now: OffsetDateTime) -> Option<&VerifyingKey> {
        self.keys
            .get(kid)
            .filter(|it| it.retired_at.is_none_or(|at| at > now))
    }

    /// Checks signature, issuer, audience and expiry; `None` for any failure (callers answer
    /// every failure the same way).
    pub(crate) fn verify(&self, token: &str, now: OffsetDateTime) -> Option<Verified> {
        let hash = KeyHash::of(token);
        let cached = VERIFIED.with(|cache| cache.borrow().get(&hash).cloned());
        if let Some(hit) = cached {
            let fresh =
                hit.expires_at > now.unix_timestamp() && self.usable_key(&hit.kid, now).is_some();
            return fresh.then_some(hit);
        }
        let header = jsonwebtoken::decode_header(token).ok()?;
        let key = self.usable_key(header.kid.as_deref()?, now)?;
        let claims = jsonwebtoken::decode::<AccessClaims>(token, &key.key, &self.validation)
            .ok()?
            .claims;
        let tenant: TenantId = claims.tenant.parse().ok()?;
        let subject = match claims.kind {
            TokenKind::ServiceAccount => Subject::ServiceAccount(claims.sub.parse().ok()?),
            TokenKind::Explorer => {
                let user: UserId = claims.sub.parse().ok()?;
                Subject::Explorer {
                    user,
                    key: Arc::new(explorer_api_key(
                        user,
                        tenant,
                        hash,
                        OffsetDateTime::from_unix_timestamp(claims.iat).ok()?,
                        OffsetDateTime::from_unix_timestamp(claims.exp).ok()?,
                    )),
                }
            }
        };
        let verified = Verified {
            subject,
            tenant,
            kid: key.kid.clone(),
            expires_at: claims.exp,
        };
        VERIFIED.with(|cache| {
            let mut cache = cache.borrow_mut();
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
            cache.insert(hash, verified.clone());
        });
        Some(verified)
    }
}
