//! A fake identity provider over real HTTP: OpenID Connect (discovery, authorize, token with
//! PKCE, JWKS, userinfo) and GitHub's OAuth endpoints, with knobs to misbehave: expired codes,
//! a wrong nonce or audience, an unverified email.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

/// What the fake says and how it misbehaves; change it between steps of a test.
#[derive(Debug, Clone)]
pub struct Knobs {
    /// Who "signs in" at the authorize endpoint.
    pub email: String,
    pub email_verified: bool,
    /// The token endpoint treats every code as expired.
    pub expire_codes: bool,
    /// The ID token carries another nonce.
    pub wrong_nonce: bool,
    /// The ID token is for another client.
    pub wrong_audience: bool,
    /// The ID token is signed with a key the JWKS does not publish.
    pub foreign_key: bool,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            email: "ada@acme.example".into(),
            email_verified: true,
            expire_codes: false,
            wrong_nonce: false,
            wrong_audience: false,
            foreign_key: false,
        }
    }
}

#[derive(Debug, Clone)]
struct Grant {
    nonce: Option<String>,
    challenge: String,
    redirect_uri: String,
    email: String,
}

struct State {
    url: String,
    client_id: String,
    key: EncodingKey,
    foreign: EncodingKey,
    jwk: Jwk,
    knobs: Mutex<Knobs>,
    grants: Mutex<HashMap<String, Grant>>,
    tokens: Mutex<HashMap<String, String>>,
}

/// A running fake identity provider.
pub struct FakeIdp {
    pub url: String,
    pub client_id: String,
    pub client_secret: String,
    state: Arc<State>,
}

fn p256() -> EncodingKey {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &rng,
    )
    .unwrap();
    EncodingKey::from_ec_der(pkcs8.as_ref())
}

fn random() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

impl FakeIdp {
    /// Starts on a free port, on the current Tokio runtime.
    pub fn start() -> FakeIdp {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let key = p256();
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
        jwk.common.key_id = Some("idp-key-1".into());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = Some(KeyAlgorithm::ES256);
        let state = Arc::new(State {
            url: url.clone(),
            client_id: "gateway-client".into(),
            key,
            foreign: p256(),
            jwk,
            knobs: Mutex::new(Knobs::default()),
            grants: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
        });
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(discovery),
                )
                .route("/authorize", web::get().to(authorize))
                .route("/token", web::post().to(token))
                .route("/jwks", web::get().to(jwks))
                .route("/userinfo", web::get().to(userinfo))
                .route("/login/oauth/authorize", web::get().to(authorize))
                .route("/login/oauth/access_token", web::post().to(token))
                .route("/api/user", web::get().to(github_user))
                .route("/api/user/emails", web::get().to(github_emails))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        FakeIdp {
            url,
            client_id: "gateway-client".into(),
            client_secret: "idp-secret".into(),
            state,
        }
    }

    /// Changes how the fake behaves from now on.
    pub fn set(&self, change: impl FnOnce(&mut Knobs)) {
        change(&mut self.state.knobs.lock().unwrap());
    }
}

async fn discovery(state: web::Data<State>) -> HttpResponse {
    let url = &state.url;
    HttpResponse::Ok().json(json!({
        "issuer": url,
        "authorization_endpoint": format!("{url}/authorize"),
        "token_endpoint": format!("{url}/token"),
        "jwks_uri": format!("{url}/jwks"),
        "userinfo_endpoint": format!("{url}/userinfo"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

#[derive(Debug, Deserialize)]
struct AuthorizeQuery {
    response_type: String,
    client_id: String,
    redirect_uri: String,
    state: String,
    nonce: Option<String>,
    code_challenge: String,
    code_challenge_method: String,
}

/// Consents at once, as the configured person, and sends the browser back.
async fn authorize(state: web::Data<State>, query: web::Query<AuthorizeQuery>) -> HttpResponse {
    let q = query.into_inner();
    if q.response_type != "code"
        || q.client_id != state.client_id
        || q.code_challenge_method != "S256"
    {
        return HttpResponse::BadRequest().body("bad authorize request");
    }
    let code = random();
    let email = state.knobs.lock().unwrap().email.clone();
    state.grants.lock().unwrap().insert(
        code.clone(),
        Grant {
            nonce: q.nonce,
            challenge: q.code_challenge,
            redirect_uri: q.redirect_uri.clone(),
            email,
        },
    );
    HttpResponse::Found()
        .insert_header((
            "location",
            format!("{}?code={code}&state={}", q.redirect_uri, q.state),
        ))
        .finish()
}

#[derive(Debug, Deserialize)]
struct TokenForm {
    grant_type: String,
    code: String,
    redirect_uri: String,
    code_verifier: String,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn oauth_error(error: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({"error": error, "error_description": error}))
}

async fn token(
    req: HttpRequest,
    state: web::Data<State>,
    form: web::Form<TokenForm>,
) -> HttpResponse {
    let form = form.into_inner();
    let basic = req
        .headers()
        .get("authorization")
        .and_then(|it| it.to_str().ok())
        .and_then(|it| it.strip_prefix("Basic "))
        .and_then(|it| base64::engine::general_purpose::STANDARD.decode(it).ok())
        .and_then(|it| String::from_utf8(it).ok());
    let authenticated = basic.as_deref() == Some("gateway-client:idp-secret")
        || (form.client_id.as_deref() == Some("gateway-client")
            && form.client_secret.as_deref() == Some("idp-secret"));
    if !authenticated {
        return HttpResponse::Unauthorized().json(json!({"error": "invalid_client"}));
    }
    if form.grant_type != "authorization_code" {
        return oauth_error("unsupported_grant_type");
    }
    let knobs = state.knobs.lock().unwrap().clone();
    let Some(grant) = state.grants.lock().unwrap().remove(&form.code) else {
        return oauth_error("invalid_grant");
    };
    if knobs.expire_codes || grant.redirect_uri != form.redirect_uri {
        return oauth_error("invalid_grant");
    }
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(form.code_verifier.as_bytes()));
    if challenge != grant.challenge {
        return oauth_error("invalid_grant");
    }
    let access_token = random();
    state
        .tokens
        .lock()
        .unwrap()
        .insert(access_token.clone(), grant.email.clone());
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = json!({
        "iss": state.url,
        "aud": if knobs.wrong_audience { "someone-else" } else { state.client_id.as_str() },
        "sub": format!("sub-{}", grant.email),
        "email": grant.email,
        "email_verified": knobs.email_verified,
        "name": "Ada Lovelace",
        "nonce": if knobs.wrong_nonce { Some("not-the-nonce".to_owned()) } else { grant.nonce },
        "iat": now,
        "exp": now + 300,
    });
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("idp-key-1".into());
    let key = if knobs.foreign_key {
        &state.foreign
    } else {
        &state.key
    };
    let id_token = jsonwebtoken::encode(&header, &claims, key).unwrap();
    HttpResponse::Ok().json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
        "scope": "openid email profile",
    }))
}

async fn jwks(state: web::Data<State>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"keys": [state.jwk]}))
}

fn bearer_email(req: &HttpRequest, state: &State) -> Option<String> {
    let token = req
        .headers()
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?
        .to_owned();
    state.tokens.lock().unwrap().get(&token).cloned()
}

async fn userinfo(req: HttpRequest, state: web::Data<State>) -> HttpResponse {
    match bearer_email(&req, &state) {
        Some(email) => HttpResponse::Ok()
            .json(json!({"sub": format!("sub-{email}"), "email": email, "email_verified": true})),
        None => HttpResponse::Unauthorized().finish(),
    }
}

async fn github_user(req: HttpRequest, state: web::Data<State>) -> HttpResponse {
    match bearer_email(&req, &state) {
        Some(_) => {
            HttpResponse::Ok().json(json!({"id": 4242, "login": "ada", "name": "Ada Lovelace"}))
        }
        None => HttpResponse::Unauthorized().finish(),
    }
}

async fn github_emails(req: HttpRequest, state: web::Data<State>) -> HttpResponse {
    let verified = state.knobs.lock().unwrap().email_verified;
    match bearer_email(&req, &state) {
        Some(email) => HttpResponse::Ok().json(json!([
            {"email": "old@elsewhere.example", "primary": false, "verified": true},
            {"email": email, "primary": true, "verified": verified},
        ])),
        None => HttpResponse::Unauthorized().finish(),
    }
}
