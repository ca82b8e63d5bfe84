//! The OAuth 2.0 authorization server for service accounts: `POST /oauth/token`
//! (client-credentials grant), the signing keys at `/.well-known/jwks.json`, and the server
//! metadata at `/.well-known/oauth-authorization-server`. Errors here take RFC 6749's shape,
//! which OAuth client libraries expect, instead of the management API's problem documents.

use actix_web::http::StatusCode;
use actix_web::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE,
};
use actix_web::web::{self, Payload};
use actix_web::{HttpRequest, HttpResponse};
use api_types::oauth::{OAuthError, ServerMetadata, TokenForm, TokenResponse};
use base64::Engine;

use crate::AppState;

/// Largest token request body; real ones are a few hundred bytes.
const BODY_LIMIT: usize = 16 * 1024;

/// An RFC 6749 error answer.
struct Refusal {
    status: StatusCode,
    error: &'static str,
    description: String,
    /// Ask for HTTP Basic credentials (when the client tried them).
    challenge: bool,
    retry_after: Option<u64>,
}

impl Refusal {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Refusal {
            status,
            error,
            description: description.into(),
            challenge: false,
            retry_after: None,
        }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Refusal::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    fn into_response(self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        res.insert_header((CACHE_CONTROL, "no-store"))
            .insert_header((PRAGMA, "no-cache"));
        if self.challenge {
            res.insert_header((WWW_AUTHENTICATE, "Basic realm=\"oauth\""));
        }
        if let Some(seconds) = self.retry_after {
            res.insert_header(("retry-after", seconds.to_string()));
        }
        res.json(OAuthError {
            error: self.error.to_owned(),
            error_description: self.description,
        })
    }
}

/// A refusal of the token endpoint's own shape, for a failure found before its handler ran.
pub(crate) fn refused(e: management::Error) -> HttpResponse {
    refusal(e, false).into_response()
}

/// Maps the management plane's failures onto OAuth error codes, in this one place.
fn refusal(e: management::Error, basic: bool) -> Refusal {
    match e {
        management::Error::Unauthenticated(message) => Refusal {
            challenge: basic,
            ..Refusal::new(StatusCode::UNAUTHORIZED, "invalid_client", message)
        },
        management::Error::Forbidden(message) => {
            Refusal::new(StatusCode::BAD_REQUEST, "unauthorized_client", message)
        }
        management::Error::TooManyRequests {
            message,
            retry_after,
        } => Refusal {
            retry_after: Some(retry_after.as_secs().max(1)),
            ..Refusal::new(StatusCode::TOO_MANY_REQUESTS, "slow_down", message)
        },
        management::Error::Unavailable(message) => Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            message,
        ),
        management::Error::Invalid { message, .. } => Refusal::invalid_request(message),
        other => {
            tracing::error!(error = %other, source = ?std::error::Error::source(&other), "token request failed");
            Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the token could not be issued",
            )
        }
    }
}

/// Decodes one `application/x-www-form-urlencoded` component (as Basic credentials are).
fn form_decode(raw: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={raw}"))
        .ok()?
        .pop()
        .map(|(_, value)| value)
}

/// `client_secret_basic` credentials, when the request carries them.
fn basic_credentials(req: &HttpRequest) -> Result<Option<(String, String)>, Refusal> {
    let Some(header) = req.headers().get(AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || Refusal {
        challenge: true,
        ..Refusal::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "the Authorization header must be `Basic base64(client_id:client_secret)`",
        )
    };
    let value = header.to_str().map_err(|_| bad())?;
    let (scheme, encoded) = value.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    Ok(Some((
        form_decode(id).ok_or_else(bad)?,
        form_decode(secret).ok_or_else(bad)?,
    )))
}

fn is_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|it| it.to_str().ok())
        .and_then(|it| it.split(';').next())
        .is_some_and(|it| {
            it.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

async fn token_grant(
    req: &HttpRequest,
    payload: Payload,
    state: &AppState,
) -> Result<TokenResponse, Refusal> {
    if !is_form(req) {
        return Err(Refusal::invalid_request(
            "send the request as `content-type: application/x-www-form-urlencoded`",
        ));
    }
    let body = crate::body::read_bounded(req, payload, BODY_LIMIT)
        .await
        .map_err(|e| {
            // RFC 6749 answers 400 `invalid_request`; a body that trickled in gets 408 (and its
            // connection closed), as on every endpoint.
            let status = if e.kind == gateway::ErrorKind::RequestTimeout {
                StatusCode::REQUEST_TIMEOUT
            } else {
                StatusCode::BAD_REQUEST
            };
            Refusal::new(status, "invalid_request", e.message.to_string())
        })?;
    let form: TokenForm = serde_urlencoded::from_bytes(&body)
        .map_err(|e| Refusal::invalid_request(format!("the form body is malformed: {e}")))?;
    match form.grant_type.as_deref() {
        Some("client_credentials") => {}
        None => return Err(Refusal::invalid_request("`grant_type` is missing")),
        Some(_) => {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only the `client_credentials` grant is supported",
            ));
        }
    }
    let basic = basic_credentials(req)?;
    let (client_id, client_secret) = match (basic.clone(), form.client_id, form.client_secret) {
        (Some(_), _, Some(_)) => {
            return Err(Refusal::invalid_request(
                "authenticate with HTTP Basic or with form fields, not both",
            ));
        }
        (Some((id, secret)), form_id, None) => {
            if form_id.is_some_and(|it| it != id) {
                return Err(Refusal::invalid_request(
                    "`client_id` differs from the Basic credentials",
                ));
            }
            (id, secret)
        }
        (None, Some(id), Some(secret)) => (id, secret),
        (None, _, _) => {
            return Err(Refusal {
                challenge: true,
                ..Refusal::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "client authentication is missing: send HTTP Basic credentials or `client_id` and `client_secret`",
                )
            });
        }
    };
    let ip = crate::origin::origin(req, &state.trusted_proxies)
        .ip
        .map(|it| it.to_string());
    let issued = state
        .manager
        .issue_access_token(&client_id, &client_secret, ip.as_deref())
        .await
        .map_err(|e| refusal(e, basic.is_some()))?;
    Ok(TokenResponse {
        access_token: issued.access_token,
        token_type: "Bearer".into(),
        expires_in: issued.expires_in,
    })
}

/// Exchange a service account's client id and secret for a short-lived access token
/// (`grant_type=client_credentials`; HTTP Basic or form-field client authentication).
#[utoipa::path(post, path = "/oauth/token", tag = "oauth",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A signed JWT access token", body = TokenResponse),
        (status = 400, description = "`invalid_request`, `unsupported_grant_type` or `unauthorized_client` (suspended tenant)", body = OAuthError),
        (status = 401, description = "`invalid_client`: unknown client, wrong secret or revoked account", body = OAuthError),
        (status = 408, description = "`invalid_request`: the body arrived more slowly than the minimum rate; the connection is closed", body = OAuthError),
        (status = 429, description = "`slow_down`: too many failed attempts from this address, or too many requests in flight from it (then the connection is closed)", body = OAuthError),
        (status = 503, description = "`temporarily_unavailable`: no master key to sign with", body = OAuthError),
    ))]
pub(crate) async fn token(
    req: HttpRequest,
    payload: Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    match token_grant(&req, payload, &state).await {
        Ok(token) => HttpResponse::Ok()
            .insert_header((CACHE_CONTROL, "no-store"))
            .insert_header((PRAGMA, "no-cache"))
            .json(token),
        Err(refusal) => refusal.into_response(),
    }
}

/// Wrong methods on the OAuth paths: 405 with `Allow`, in RFC 6749's error shape like every
/// other answer of the authorization server.
pub(crate) async fn method_not_allowed(
    req: HttpRequest,
    methods: &'static [&'static str],
) -> HttpResponse {
    let refusal = Refusal::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request",
        crate::method_error(&req, methods).message,
    );
    crate::with_allow(refusal.into_response(), methods)
}

/// The public keys access tokens are signed with (JWKS, RFC 7517).
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "oauth",
    responses((status = 200, description = "`{\"keys\": [...]}`, ES256 public keys by `kid`")))]
pub(crate) async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((CACHE_CONTROL, "public, max-age=300"))
        .body(state.gateway.access.jwks().to_string())
}

/// Authorization server metadata (RFC 8414).
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "oauth",
    responses((status = 200, description = "Issuer, token endpoint and JWKS location", body = ServerMetadata)))]
pub(crate) async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    let issuer = state.manager.token_issuer();
    HttpResponse::Ok().json(ServerMetadata {
        issuer: issuer.to_owned(),
        token_endpoint: format!("{issuer}/oauth/token"),
        jwks_uri: format!("{issuer}/.well-known/jwks.json"),
        grant_types_supported: vec!["client_credentials".into()],
        token_endpoint_auth_methods_supported: vec![
            "client_secret_basic".into(),
            "client_secret_post".into(),
        ],
        response_types_supported: vec!["token".into()],
    })
}
