//! Single sign-on: the OAuth 2.0 authorization-code flow with PKCE against OpenID Connect
//! providers (generic, by discovery, and the Google preset) and GitHub's OAuth apps. It builds
//! the authorize URL and, on the way back, exchanges the code and proves who signed in (a
//! verified ID token or GitHub's verified primary email). Accounts and sessions are the
//! management plane's business, not this crate's.

mod github;
mod http;
mod oidc;

use std::sync::Arc;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// The client identity providers are called with. They are configured by the operator, so an
/// ordinary client; redirects are not followed (OAuth endpoints answer directly).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// Which protocol a provider speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// OpenID Connect, endpoints found by discovery at `{issuer}/.well-known/openid-configuration`.
    Oidc { issuer: String },
    /// GitHub (or GitHub Enterprise) OAuth apps: no ID token; the verified primary email comes
    /// from the API.
    Github {
        authorize_url: String,
        token_url: String,
        api_url: String,
    },
}

/// One configured identity provider.
#[derive(Debug, Clone)]
pub struct Config {
    /// Its name in URLs and configuration (`okta`, `github`).
    pub name: String,
    /// What the sign-in button says.
    pub display_name: String,
    pub kind: Kind,
    pub client_id: String,
    pub client_secret: SecretString,
    pub scopes: Vec<String>,
}

/// Who signed in, as the provider vouches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    /// The provider's stable id for the person.
    pub subject: String,
    pub email: String,
    pub email_verified: bool,
    pub name: Option<String>,
}

/// Why a sign-in failed. Messages are fit for logs; callers show users a generic sentence.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the identity provider's configuration could not be read: {0}")]
    Discovery(String),
    #[error("the authorization code could not be exchanged: {0}")]
    Exchange(String),
    #[error("the ID token is not valid: {0}")]
    InvalidIdToken(String),
    #[error("the identity provider did not say who signed in: {0}")]
    Profile(String),
}

/// The `id_token` of an OpenID Connect token response.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenField {}

type Tokens = StandardTokenResponse<IdTokenField, BasicTokenType>;

type CodeClient = oauth2::Client<
    BasicErrorResponse,
    Tokens,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// The first leg's outcome: where to send the browser, and the PKCE verifier to keep until
/// it comes back.
#[derive(Debug)]
pub struct Started {
    pub authorize_url: String,
    pub pkce_verifier: String,
}

/// A configured provider, with its discovered endpoints and keys cached.
#[derive(Debug)]
pub struct Provider {
    config: Config,
    http: reqwest::Client,
    oidc: oidc::Cache,
}

impl Provider {
    pub fn new(config: Config, http: reqwest::Client) -> Arc<Self> {
        Arc::new(Provider {
            config,
            http,
            oidc: oidc::Cache::default(),
        })
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn display_name(&self) -> &str {
        &self.config.display_name
    }

    async fn client(&self, redirect_uri: &str) -> Result<CodeClient, Error> {
        let (auth, token) = match &self.config.kind {
            Kind::Oidc { issuer } => {
                let meta = self.oidc.metadata(&self.http, issuer).await?;
                (
                    meta.authorization_endpoint.clone(),
                    meta.token_endpoint.clone(),
                )
            }
            Kind::Github {
                authorize_url,
                token_url,
                ..
            } => (authorize_url.clone(), token_url.clone()),
        };
        let bad = |what: &str, e: oauth2::url::ParseError| {
            Error::Discovery(format!("invalid {what} URL: {e}"))
        };
        Ok(
            oauth2::Client::new(ClientId::new(self.config.client_id.clone()))
                .set_client_secret(ClientSecret::new(
                    self.config.client_secret.expose_secret().to_owned(),
                ))
                .set_auth_uri(AuthUrl::new(auth).map_err(|e| bad("authorization", e))?)
                .set_token_uri(TokenUrl::new(token).map_err(|e| bad("token", e))?)
                .set_redirect_uri(
                    RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| bad("redirect", e))?,
                ),
        )
    }

    /// Builds the authorize URL for `state` and `nonce` (both random, kept by the caller),
    /// with a fresh PKCE challenge.
    ///
    /// # Errors
    /// `Discovery` when an OpenID provider's configuration cannot be read.
    pub async fn start(
        &self,
        redirect_uri: &str,
        state: &str,
        nonce: &str,
    ) -> Result<Started, Error> {
        let client = self.client(redirect_uri).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = state.to_owned();
        let mut request = client
            .authorize_url(move || CsrfToken::new(state))
            .set_pkce_challenge(challenge);
        for scope in &self.config.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        if matches!(self.config.kind, Kind::Oidc { .. }) {
            request = request.add_extra_param("nonce", nonce.to_owned());
        }
        let (url, _) = request.url();
        Ok(Started {
            authorize_url: url.to_string(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// The second leg: exchanges `code` with the PKCE verifier and proves who signed in.
    ///
    /// # Errors
    /// `Exchange` (a refused, expired or reused code), `InvalidIdToken` (signature, issuer,
    /// audience, expiry or nonce), `Profile` (no email).
    pub async fn finish(
        &self,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<SignedIn, Error> {
        let client = self.client(redirect_uri).await?;
        let http_client = |request| http::send(&self.http, request);
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&http_client)
            .await
            .map_err(|e| Error::Exchange(describe(&e)))?;
        match &self.config.kind {
            Kind::Oidc { issuer } => {
                let id_token = tokens.extra_fields().id_token.as_deref().ok_or_else(|| {
                    Error::InvalidIdToken("the token response has no id_token".into())
                })?;
                self.oidc
                    .verify(
                        &self.http,
                        issuer,
                        &self.config.client_id,
                        id_token,
                        nonce,
                        tokens.access_token().secret(),
                    )
                    .await
            }
            Kind::Github { api_url, .. } => {
                github::signed_in(&self.http, api_url, tokens.access_token().secret()).await
            }
        }
    }
}

fn describe(e: &dyn std::error::Error) -> String {
    let mut res = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        res.push_str(": ");
        res.push_str(&inner.to_string());
        source = inner.source();
    }
    res
}
