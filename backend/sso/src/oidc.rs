//! OpenID Connect: discovery, the provider's signing keys, and ID-token verification
//! (signature, issuer, audience, expiry, nonce). Metadata and keys are cached; an unknown `kid`
//! refetches the keys, at most once a minute.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::RwLock;

use crate::{Error, SignedIn};

/// How long discovered metadata and keys are trusted before a refetch.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// The shortest wait between key refetches caused by unknown `kid`s.
const MIN_REFETCH: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Metadata {
    pub(crate) issuer: String,
    pub(crate) authorization_endpoint: String,
    pub(crate) token_endpoint: String,
    pub(crate) jwks_uri: String,
    #[serde(default)]
    pub(crate) userinfo_endpoint: Option<String>,
}

#[derive(Debug)]
struct Fetched {
    metadata: Metadata,
    keys: JwkSet,
    at: Instant,
}

#[derive(Debug, Default)]
pub(crate) struct Cache {
    fetched: RwLock<Option<std::sync::Arc<Fetched>>>,
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

#[derive(Debug, Deserialize)]
struct UserInfo {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
    #[serde(default)]
    name: Option<String>,
}

/// `email_verified` arrives as a boolean, or as a string from some providers.
fn truthy(value: Option<&serde_json::Value>) -> bool {
    match value {
        Some(serde_json::Value::Bool(it)) => *it,
        Some(serde_json::Value::String(it)) => it == "true",
        _ => false,
    }
}

async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    bearer: Option<&str>,
) -> Result<T, String> {
    let mut request = http.get(url).timeout(Duration::from_secs(15));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("{url} answered {}", response.status()));
    }
    response.json().await.map_err(|e| e.to_string())
}

impl Cache {
    async fn fetch(
        &self,
        http: &reqwest::Client,
        issuer: &str,
    ) -> Result<std::sync::Arc<Fetched>, Error> {
        let discovery = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let metadata: Metadata = get_json(http, &discovery, None)
            .await
            .map_err(Error::Discovery)?;
        if metadata.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
            return Err(Error::Discovery(format!(
                "the discovery document names issuer `{}`, not `{issuer}`",
                metadata.issuer
            )));
        }
        let keys: JwkSet = get_json(http, &metadata.jwks_uri, None)
            .await
            .map_err(Error::Discovery)?;
        let fetched = std::sync::Arc::new(Fetched {
            metadata,
            keys,
            at: Instant::now(),
        });
        *self.fetched.write().await = Some(fetched.clone());
        Ok(fetched)
    }

    async fn current(
        &self,
        http: &reqwest::Client,
        issuer: &str,
    ) -> Result<std::sync::Arc<Fetched>, Error> {
        if let Some(fetched) = self.fetched.read().await.as_ref()
            && fetched.at.elapsed() < METADATA_TTL
        {
            return Ok(fetched.clone());
        }
        self.fetch(http, issuer).await
    }

    pub(crate) async fn metadata(
        &self,
        http: &reqwest::Client,
        issuer: &str,
    ) -> Result<Metadata, Error> {
        Ok(self.current(http, issuer).await?.metadata.clone())
    }

    pub(crate) async fn verify(
        &self,
        http: &reqwest::Client,
        issuer: &str,
        client_id: &str,
        id_token: &str,
        nonce: &str,
        access_token: &str,
    ) -> Result<SignedIn, Error> {
        let header = jsonwebtoken::decode_header(id_token)
            .map_err(|e| Error::InvalidIdToken(e.to_string()))?;
        if !matches!(
            header.alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::ES256
                | Algorithm::ES384
                | Algorithm::PS256
                | Algorithm::EdDSA
        ) {
            return Err(Error::InvalidIdToken(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let mut fetched = self.current(http, issuer).await?;
        let kid = header.kid.clone().unwrap_or_default();
        if fetched.keys.find(&kid).is_none() && fetched.at.elapsed() >= MIN_REFETCH {
            fetched = self.fetch(http, issuer).await?;
        }
        let jwk = match header.kid.as_deref() {
            Some(kid) => fetched.keys.find(kid),
            None if fetched.keys.keys.len() == 1 => fetched.keys.keys.first(),
            None => None,
        }
        .ok_or_else(|| Error::InvalidIdToken(format!("no signing key `{kid}`")))?;
        let key = DecodingKey::from_jwk(jwk).map_err(|e| Error::InvalidIdToken(e.to_string()))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[fetched.metadata.issuer.as_str()]);
        validation.set_audience(&[client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 60;
        let claims = jsonwebtoken::decode::<Claims>(id_token, &key, &validation)
            .map_err(|e| Error::InvalidIdToken(e.to_string()))?
            .claims;
        if claims.nonce.as_deref() != Some(nonce) {
            return Err(Error::InvalidIdToken("the nonce does not match".into()));
        }
        let (email, verified, name) = match claims.email {
            Some(email) => (email, truthy(claims.email_verified.as_ref()), claims.name),
            None => {
                let endpoint = fetched
                    .metadata
                    .userinfo_endpoint
                    .as_deref()
                    .ok_or_else(|| {
                        Error::Profile("no email in the ID token and no userinfo endpoint".into())
                    })?;
                let info: UserInfo = get_json(http, endpoint, Some(access_token))
                    .await
                    .map_err(Error::Profile)?;
                let email = info
                    .email
                    .ok_or_else(|| Error::Profile("the userinfo has no email".into()))?;
                (
                    email,
                    truthy(info.email_verified.as_ref()),
                    info.name.or(claims.name),
                )
            }
        };
        Ok(SignedIn {
            subject: claims.sub,
            email,
            email_verified: verified,
            name,
        })
    }
}
