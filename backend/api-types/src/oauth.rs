//! OAuth 2.0 client credentials (RFC 6749 section 4.4): the token endpoint's request, answer
//! and error bodies, and the authorization server metadata (RFC 8414).

use serde::{Deserialize, Serialize};

/// The form body of `POST /oauth/token` (`application/x-www-form-urlencoded`). The client may
/// authenticate here (`client_secret_post`) or with HTTP Basic (`client_secret_basic`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenForm {
    /// `client_credentials`.
    #[serde(default)]
    pub grant_type: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Accepted and ignored: a token carries its service account's scopes.
    #[serde(default)]
    pub scope: Option<String>,
}

/// A successful token response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    /// A signed JWT; send it as `Authorization: Bearer <token>` to the data plane.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

/// The token endpoint's error body (RFC 6749 section 5.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `unsupported_grant_type`, `unauthorized_client`,
    /// `slow_down`, `temporarily_unavailable` or `server_error`.
    pub error: String,
    pub error_description: String,
}

/// Authorization server metadata, at `/.well-known/oauth-authorization-server`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerMetadata {
    pub issuer: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub grant_types_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub response_types_supported: Vec<String>,
}
