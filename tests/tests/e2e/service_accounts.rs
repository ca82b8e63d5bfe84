//! Service accounts and OAuth 2.0 client credentials: a tenant creates a client, trades its id
//! and secret for a signed JWT at `/oauth/token`, and calls the data plane with it. Forged,
//! expired and tampered tokens fail; revocation, secret rotation and signing-key rotation take
//! effect; the token endpoint answers bad requests in RFC 6749's shape.

use std::time::Duration;

use base64::Engine;
use it::harness::{TestApp, eventually, json_of};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::manage::{Browser, assert_problem};

const CONFIG: &str = r#"
[providers.mock]
kind = "mock"

[[models]]
alias = "mock"
provider = "mock"

[[models]]
alias = "other"
provider = "mock"
"#;

struct Client {
    tenant: String,
    id: String,
    secret: String,
    owner: Browser,
}

async fn app() -> TestApp {
    TestApp::builder().config(CONFIG).spawn().await
}

/// A tenant's owner and a service account limited to the `mock` model.
async fn client(app: &TestApp, email: &str) -> Client {
    let owner = Browser::join(app, email).await;
    let tenant = owner.create_tenant("Robots Inc").await;
    let (status, body) = owner
        .post(
            &format!("/api/v1/tenants/{tenant}/service-accounts"),
            json!({"name": "nightly-batch", "models": ["mock"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["client_id"], body["service_account"]["id"]);
    assert_eq!(
        body["token_url"].as_str().unwrap(),
        format!("{}/oauth/token", app.manager.token_issuer())
    );
    let secret = body["client_secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("cs-"), "{secret}");
    assert_eq!(
        body["service_account"]["secret_last_four"]
            .as_str()
            .unwrap(),
        &secret[secret.len() - 4..]
    );
    Client {
        tenant,
        id: body["client_id"].as_str().unwrap().to_owned(),
        secret,
        owner,
    }
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// `POST /oauth/token` with a form body and optional headers.
async fn token_call(
    app: &TestApp,
    form: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = app
        .client()
        .post(format!("{}/oauth/token", app.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(form));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let res = req.send().await.unwrap();
    let headers = res.headers().clone();
    let (status, body) = json_of(res).await;
    (status, headers, body)
}

fn form_body(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(k, v)| format!("{k}={}", percent(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn token(app: &TestApp, client: &Client) -> String {
    let (status, headers, body) = token_call(
        app,
        &[("grant_type", "client_credentials")],
        &[("authorization", &basic(&client.id, &client.secret))],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    body["access_token"].as_str().unwrap().to_owned()
}

async fn chat(app: &TestApp, bearer: &str, model: &str) -> (u16, Value) {
    json_of(
        app.post_as(
            bearer,
            "/v1/chat/completions",
            &json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await,
    )
    .await
}

fn assert_oauth_error(status: u16, body: &Value, expected_status: u16, error: &str) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert!(
        !body["error_description"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "{body}"
    );
}

/// The current signing key, opened with the node's master key file: what a thief of both
/// would hold, used here to mint tokens the gateway must still refuse.
async fn signing_key(app: &TestApp) -> (String, EncodingKey) {
    let master = domain::crypto::MasterKey::from_base64(
        &std::fs::read_to_string(app.data_dir.join("master.key")).unwrap(),
    )
    .unwrap();
    let key = app
        .store
        .signing_keys()
        .await
        .unwrap()
        .into_iter()
        .find(|it| it.retired_at.is_none())
        .unwrap();
    let der = domain::crypto::open(&[master], &key.private_key).unwrap();
    (key.kid, EncodingKey::from_ec_der(&der))
}

fn claims(app: &TestApp, client: &Client, exp_offset: i64) -> Value {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    json!({
        "iss": app.manager.token_issuer(),
        "aud": app.manager.token_issuer(),
        "sub": client.id,
        "tenant": client.tenant,
        "iat": now,
        "exp": now + exp_offset,
        "jti": "test",
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_account_token_calls_the_data_plane_with_its_scopes() {
    let app = app().await;
    let client = client(&app, "ops@example.com").await;
    let token = token(&app, &client).await;

    // The token names its key, and the JWKS publishes that key.
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::ES256);
    let (status, jwks) = json_of(app.get("/.well-known/jwks.json").await).await;
    assert_eq!(status, 200);
    let published: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["kid"].as_str().unwrap())
        .collect();
    assert!(
        published.contains(&header.kid.as_deref().unwrap()),
        "{jwks}"
    );
    assert!(jwks["keys"][0].get("d").is_none(), "never the private part");
    // Anyone can verify it with the published key.
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwks["keys"][0].clone()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(Algorithm::ES256);
    validation.set_audience(&[app.manager.token_issuer()]);
    let decoded = jsonwebtoken::decode::<Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap(),
        &validation,
    )
    .unwrap();
    assert_eq!(decoded.claims["sub"], client.id.as_str());
    assert_eq!(decoded.claims["tenant"], client.tenant.as_str());

    let (status, metadata) =
        json_of(app.get("/.well-known/oauth-authorization-server").await).await;
    assert_eq!(status, 200);
    assert_eq!(metadata["issuer"], app.manager.token_issuer());
    assert_eq!(
        metadata["grant_types_supported"],
        json!(["client_credentials"])
    );

    // The data plane accepts the token, with the account's model scope.
    let (status, body) = chat(&app, &token, "mock").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = chat(&app, &token, "other").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "model_not_allowed");
    let models = app
        .client()
        .get(format!("{}/v1/models", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let (status, models) = json_of(models).await;
    assert_eq!(status, 200);
    assert_eq!(models["data"].as_array().unwrap().len(), 1, "{models}");

    // Usage is recorded for the tenant, with the account as the key.
    let tenant: domain::TenantId = client.tenant.parse().unwrap();
    let mut records = Vec::new();
    for _ in 0..100 {
        records = app.store.list_usage(tenant, 10).await.unwrap();
        if !records.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].key_id.to_string(), client.id);

    // Form-field client authentication works too.
    let (status, _, body) = token_call(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client.id),
            ("client_secret", &client.secret),
            ("scope", "anything"),
        ],
        &[],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        chat(&app, body["access_token"].as_str().unwrap(), "mock")
            .await
            .0,
        200
    );

    // Listing shows the account without its secret.
    let (status, list) = client
        .owner
        .get(&format!(
            "/api/v1/tenants/{}/service-accounts",
            client.tenant
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"][0]["status"], "active");
    assert!(!list.to_string().contains(&client.secret));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_expired_and_tampered_tokens_are_refused() {
    let app = app().await;
    let client = client(&app, "ops@example.com").await;
    let good = token(&app, &client).await;
    let refused = |(status, body): (u16, Value)| {
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"]["code"], "invalid_api_key", "{body}");
    };

    // A flipped signature byte.
    let mut tampered = good.clone().into_bytes();
    let last = tampered.len() - 5;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    refused(chat(&app, &String::from_utf8(tampered).unwrap(), "mock").await);
    // Claims swapped for another tenant's, keeping the signature.
    let parts: Vec<&str> = good.split('.').collect();
    let mut other = claims(&app, &client, 600);
    other["tenant"] = json!(app.tenant.to_string());
    let swapped = format!(
        "{}.{}.{}",
        parts[0],
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(other.to_string()),
        parts[2]
    );
    refused(chat(&app, &swapped, "mock").await);
    // `alg: none`.
    let none = format!(
        "{}.{}.",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    refused(chat(&app, &none, "mock").await);
    // Signed by a key the gateway never published.
    let stranger = {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &rng,
        )
        .unwrap();
        EncodingKey::from_ec_der(pkcs8.as_ref())
    };
    let (kid, real) = signing_key(&app).await;
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.clone());
    let forged = jsonwebtoken::encode(&header, &claims(&app, &client, 600), &stranger).unwrap();
    refused(chat(&app, &forged, "mock").await);
    // With the real key: expired, wrong audience, other tenant, unknown kid.
    let expired = jsonwebtoken::encode(&header, &claims(&app, &client, -120), &real).unwrap();
    refused(chat(&app, &expired, "mock").await);
    let mut wrong_audience = claims(&app, &client, 600);
    wrong_audience["aud"] = json!("https://elsewhere.example.com");
    refused(
        chat(
            &app,
            &jsonwebtoken::encode(&header, &wrong_audience, &real).unwrap(),
            "mock",
        )
        .await,
    );
    let mut cross_tenant = claims(&app, &client, 600);
    cross_tenant["tenant"] = json!(app.tenant.to_string());
    refused(
        chat(
            &app,
            &jsonwebtoken::encode(&header, &cross_tenant, &real).unwrap(),
            "mock",
        )
        .await,
    );
    let mut unknown_kid = header.clone();
    unknown_kid.kid = Some("no-such-key".into());
    refused(
        chat(
            &app,
            &jsonwebtoken::encode(&unknown_kid, &claims(&app, &client, 600), &real).unwrap(),
            "mock",
        )
        .await,
    );
    // Garbage shaped like a JWT.
    refused(chat(&app, "eyJ.eyJ.x", "mock").await);
    refused(chat(&app, "eyJhbGciOiJFUzI1NiJ9.e30.c2ln", "mock").await);

    // The genuine one still works, and a token minted with the real key and fresh claims too.
    assert_eq!(chat(&app, &good, "mock").await.0, 200);
    let fresh = jsonwebtoken::encode(&header, &claims(&app, &client, 600), &real).unwrap();
    assert_eq!(chat(&app, &fresh, "mock").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_endpoint_refuses_bad_requests_in_oauth_shape() {
    let app = app().await;
    let client = client(&app, "ops@example.com").await;
    let grant = ("grant_type", "client_credentials");

    let (status, headers, body) = token_call(
        &app,
        &[grant],
        &[("authorization", &basic(&client.id, "cs-wrong"))],
    )
    .await;
    assert_oauth_error(status, &body, 401, "invalid_client");
    assert_eq!(headers["www-authenticate"], "Basic realm=\"oauth\"");
    let unknown = domain::ServiceAccountId::new().to_string();
    for (id, secret) in [
        (unknown.as_str(), client.secret.as_str()),
        ("not-a-uuid", client.secret.as_str()),
        (client.id.as_str(), ""),
        ("", ""),
    ] {
        let (status, _, body) = token_call(
            &app,
            &[grant, ("client_id", id), ("client_secret", secret)],
            &[],
        )
        .await;
        assert_oauth_error(status, &body, 401, "invalid_client");
    }
    let (status, _, body) = token_call(&app, &[grant], &[]).await;
    assert_oauth_error(status, &body, 401, "invalid_client");
    let (status, _, body) =
        token_call(&app, &[grant], &[("authorization", "Basic !!!not-base64")]).await;
    assert_oauth_error(status, &body, 401, "invalid_client");

    let (status, _, body) = token_call(
        &app,
        &[
            ("grant_type", "password"),
            ("client_id", &client.id),
            ("client_secret", &client.secret),
        ],
        &[],
    )
    .await;
    assert_oauth_error(status, &body, 400, "unsupported_grant_type");
    let (status, _, body) = token_call(
        &app,
        &[("client_id", &client.id), ("client_secret", &client.secret)],
        &[],
    )
    .await;
    assert_oauth_error(status, &body, 400, "invalid_request");
    let (status, _, body) = token_call(
        &app,
        &[grant, ("client_secret", &client.secret)],
        &[("authorization", &basic(&client.id, &client.secret))],
    )
    .await;
    assert_oauth_error(status, &body, 400, "invalid_request");

    // JSON instead of a form, a huge body, a broken form.
    let res = app
        .client()
        .post(format!("{}/oauth/token", app.url))
        .json(&json!({"grant_type": "client_credentials", "client_id": client.id, "client_secret": client.secret}))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(res).await;
    assert_oauth_error(status, &body, 400, "invalid_request");
    let res = app
        .client()
        .post(format!("{}/oauth/token", app.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&pad={}",
            "x".repeat(100_000)
        ))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(res).await;
    assert_oauth_error(status, &body, 400, "invalid_request");
    let res = app
        .client()
        .post(format!("{}/oauth/token", app.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0xfe, b'=', 0x80])
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(res).await;
    assert_oauth_error(status, &body, 400, "invalid_request");
    let res = app.get("/oauth/token").await;
    assert_eq!(res.headers()["allow"], "POST");
    let (status, body) = json_of(res).await;
    assert_oauth_error(status, &body, 405, "invalid_request");

    // Repeated failures from one address are slowed down; the right secret then waits too.
    let mut throttled = None;
    for _ in 0..20 {
        let (status, headers, body) = token_call(
            &app,
            &[grant, ("client_id", &client.id), ("client_secret", "wrong")],
            &[],
        )
        .await;
        if status == 429 {
            throttled = Some((headers, body));
            break;
        }
    }
    let (headers, body) = throttled.expect("failures are throttled");
    assert_eq!(body["error"], "slow_down");
    assert!(headers.contains_key("retry-after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_rotating_and_role_checks_take_effect() {
    let app = app().await;
    let client = client(&app, "ops@example.com").await;
    let path = format!("/api/v1/tenants/{}/service-accounts", client.tenant);

    // A new secret replaces the old one at once; tokens already issued keep working.
    let before = token(&app, &client).await;
    let (status, rotated) = client
        .owner
        .post(&format!("{path}/{}/rotate-secret", client.id), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_secret = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, client.secret);
    let (status, _, body) = token_call(
        &app,
        &[("grant_type", "client_credentials")],
        &[("authorization", &basic(&client.id, &client.secret))],
    )
    .await;
    assert_oauth_error(status, &body, 401, "invalid_client");
    let renewed = Client {
        secret: new_secret,
        tenant: client.tenant.clone(),
        id: client.id.clone(),
        owner: Browser::new(&app),
    };
    let after = token(&app, &renewed).await;
    assert_eq!(chat(&app, &before, "mock").await.0, 200);
    assert_eq!(chat(&app, &after, "mock").await.0, 200);

    // Other tenants and lower roles cannot see or touch it.
    let stranger = Browser::join(&app, "stranger@example.com").await;
    let (status, body) = stranger.get(&format!("{path}/{}", client.id)).await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (status, body) = stranger
        .call(
            reqwest::Method::DELETE,
            &format!("{path}/{}", client.id),
            None,
        )
        .await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");

    // Revocation stops the secret and every token within a second.
    let (status, body) = client
        .owner
        .call(
            reqwest::Method::DELETE,
            &format!("{path}/{}", client.id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        chat(&app, &after, "mock").await.0,
        401,
        "a revoked account's token stops working on this node as the API answers"
    );
    let (status, body) = chat(&app, &before, "mock").await;
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );
    let (status, _, body) = token_call(
        &app,
        &[("grant_type", "client_credentials")],
        &[("authorization", &basic(&renewed.id, &renewed.secret))],
    )
    .await;
    assert_oauth_error(status, &body, 401, "invalid_client");
    let (status, body) = client
        .owner
        .post(&format!("{path}/{}/rotate-secret", client.id), json!({}))
        .await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");

    // The audit log has every change, never a secret.
    let (status, audit) = client
        .owner
        .get(&format!(
            "/api/v1/tenants/{}/audit-events?action=service_account.",
            client.tenant
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "service_account.revoke",
            "service_account.rotate_secret",
            "service_account.create"
        ]
    );
    assert!(!audit.to_string().contains(&client.secret));

    // Invalid input is refused by field.
    for (body, field) in [
        (json!({"name": ""}), "name"),
        (json!({"name": "x", "endpoints": ["teleport"]}), "endpoints"),
        (
            json!({"name": "x", "ip_allowlist": ["not-a-net"]}),
            "ip_allowlist[0]",
        ),
        (json!({"name": "x", "colour": "red"}), "colour"),
        (json!({"name": 5}), "name"),
    ] {
        let (status, problem) = client.owner.post(&path, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
        assert!(problem.to_string().contains(field), "{field}: {problem}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_signing_key_keeps_issued_tokens_until_they_expire() {
    let app = app().await;
    let client = client(&app, "ops@example.com").await;
    let old_token = token(&app, &client).await;
    let old_kid = jsonwebtoken::decode_header(&old_token)
        .unwrap()
        .kid
        .unwrap();

    let new_kid = app
        .manager
        .ensure_signing_key(true, false)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(new_kid, old_kid);
    assert!(
        app.manager
            .ensure_signing_key(false, false)
            .await
            .unwrap()
            .is_none(),
        "a fresh key is not rotated again"
    );
    let new_token = token(&app, &client).await;
    assert_eq!(
        jsonwebtoken::decode_header(&new_token)
            .unwrap()
            .kid
            .unwrap(),
        new_kid
    );
    assert!(
        eventually(Duration::from_secs(1), || async {
            let (_, jwks) = json_of(app.get("/.well-known/jwks.json").await).await;
            jwks["keys"].as_array().unwrap().len() == 2
        })
        .await,
        "both keys are published during the grace period"
    );
    assert_eq!(chat(&app, &old_token, "mock").await.0, 200);
    assert_eq!(chat(&app, &new_token, "mock").await.0, 200);

    // After a suspected leak: retire every older key at once.
    let newest = app
        .manager
        .ensure_signing_key(true, true)
        .await
        .unwrap()
        .unwrap();
    assert!(
        eventually(Duration::from_secs(1), || async {
            chat(&app, &old_token, "mock").await.0 == 401
                && chat(&app, &new_token, "mock").await.0 == 401
        })
        .await,
        "tokens of retired keys stop working"
    );
    let (_, jwks) = json_of(app.get("/.well-known/jwks.json").await).await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, [newest.as_str()]);
    let fresh = token(&app, &client).await;
    assert_eq!(chat(&app, &fresh, "mock").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_master_key_the_token_endpoint_is_unavailable() {
    let Some(app) = TestApp::builder()
        .config(CONFIG)
        .postgres()
        .try_spawn()
        .await
    else {
        return;
    };
    let client = client(&app, "ops@example.com").await;
    let (status, _, body) = token_call(
        &app,
        &[("grant_type", "client_credentials")],
        &[("authorization", &basic(&client.id, &client.secret))],
    )
    .await;
    assert_oauth_error(status, &body, 503, "temporarily_unavailable");
    let (status, jwks) = json_of(app.get("/.well-known/jwks.json").await).await;
    assert_eq!((status, jwks), (200, json!({"keys": []})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_from_one_node_works_on_another_and_revocation_reaches_it() {
    let master = domain::crypto::MasterKey::generate().to_base64();
    let Some(first) = TestApp::builder()
        .config(CONFIG)
        .postgres()
        .env("SLUICE_MASTER_KEY", &master)
        .try_spawn()
        .await
    else {
        return;
    };
    let second = first.another_node(CONFIG).await;
    let client = client(&first, "ops@example.com").await;
    let token = token(&first, &client).await;
    assert!(
        eventually(Duration::from_secs(1), || async {
            chat(&second, &token, "mock").await.0 == 200
        })
        .await,
        "the other node verifies the token with the shared signing key"
    );
    let (status, _) = client
        .owner
        .call(
            reqwest::Method::DELETE,
            &format!(
                "/api/v1/tenants/{}/service-accounts/{}",
                client.tenant, client.id
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        eventually(Duration::from_secs(1), || async {
            chat(&second, &token, "mock").await.0 == 401
        })
        .await,
        "revocation reaches the other node within a second"
    );
}
