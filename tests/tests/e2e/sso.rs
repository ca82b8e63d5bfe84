//! Single sign-on end to end against a fake identity provider over real HTTP: OpenID Connect
//! (discovery, PKCE, ID token) and the GitHub preset; forged and replayed state, expired codes,
//! bad ID tokens, unverified addresses, closed sign-up, open redirects, and a tenant requiring
//! SSO for its domain.

use it::fake_idp::FakeIdp;
use it::harness::{TestApp, json_of};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::manage::{Browser, PASSWORD, assert_problem};

fn config(idp: &FakeIdp) -> String {
    format!(
        r#"
[providers.mock]
kind = "mock"

[[models]]
alias = "mock"
provider = "mock"

[sso.providers.acme-idp]
kind = "oidc"
display_name = "Acme SSO"
issuer = "{url}"
client_id = "{client}"
client_secret = "env:IDP_SECRET"

[sso.providers.github]
kind = "github"
client_id = "{client}"
client_secret = "env:IDP_SECRET"
authorize_url = "{url}/login/oauth/authorize"
token_url = "{url}/login/oauth/access_token"
api_url = "{url}/api"
"#,
        url = idp.url,
        client = idp.client_id
    )
}

async fn world(extra_env: &[(&str, &str)]) -> (TestApp, FakeIdp) {
    let idp = FakeIdp::start();
    let mut builder = TestApp::builder()
        .config(config(&idp))
        .env("IDP_SECRET", &idp.client_secret);
    for (k, v) in extra_env {
        builder = builder.env(k, v);
    }
    (builder.spawn().await, idp)
}

/// A browser that does not follow redirects and keeps cookies, as the test walks the legs.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

fn location(res: &reqwest::Response) -> String {
    assert_eq!(res.status(), StatusCode::FOUND, "{res:?}");
    res.headers()["location"].to_str().unwrap().to_owned()
}

/// Starts at the gateway, consents at the identity provider, and returns the callback URL
/// (rebased on the test server, whose public URL differs).
async fn through_idp(
    app: &TestApp,
    client: &reqwest::Client,
    provider: &str,
    return_to: &str,
) -> String {
    let res = client
        .get(format!(
            "{}/api/v1/auth/sso/{provider}/start?return_to={return_to}",
            app.url
        ))
        .send()
        .await
        .unwrap();
    let authorize = location(&res);
    assert!(
        authorize.contains("code_challenge_method=S256"),
        "{authorize}"
    );
    assert!(authorize.contains("state="), "{authorize}");
    if provider != "github" {
        assert!(authorize.contains("nonce="), "{authorize}");
    }
    let res = client.get(&authorize).send().await.unwrap();
    let callback = location(&res);
    let path = &callback[callback.find("/api/v1/auth/sso/").unwrap()..];
    format!("{}{path}", app.url)
}

async fn me(app: &TestApp, client: &reqwest::Client) -> (u16, Value) {
    json_of(
        client
            .get(format!("{}/api/v1/me", app.url))
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_through_an_openid_provider_and_github() {
    let (app, _idp) = world(&[]).await;
    let (status, providers) = json_of(app.get("/api/v1/auth/sso").await).await;
    assert_eq!(status, 200);
    assert_eq!(
        providers,
        json!([
            {"name": "acme-idp", "display_name": "Acme SSO", "start_url": "/api/v1/auth/sso/acme-idp/start"},
            {"name": "github", "display_name": "GitHub", "start_url": "/api/v1/auth/sso/github/start"},
        ])
    );

    let client = browser();
    let callback = through_idp(&app, &client, "acme-idp", "/keys").await;
    let res = client.get(&callback).send().await.unwrap();
    assert_eq!(location(&res), "/keys");
    let cookies: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|it| it.to_str().unwrap().to_owned())
        .collect();
    assert!(
        cookies.iter().any(|it| it.contains("HttpOnly")),
        "{cookies:?}"
    );
    let (status, body) = me(&app, &client).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["email"], "ada@acme.example");
    assert!(
        body["user"]["email_verified"].as_bool().unwrap_or(true),
        "{body}"
    );

    // The same callback again: the state was used.
    let replay = browser();
    let res = replay.get(&callback).send().await.unwrap();
    assert_eq!(location(&res), "/login?sso_error=invalid_state");

    // GitHub: the verified primary address, same account.
    let client = browser();
    let callback = through_idp(&app, &client, "github", "/").await;
    let res = client.get(&callback).send().await.unwrap();
    assert_eq!(location(&res), "/");
    let (status, body) = me(&app, &client).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["email"], "ada@acme.example");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_state_expired_codes_and_bad_tokens_sign_no_one_in() {
    let (app, idp) = world(&[]).await;
    let app = &app;
    let failure = |expected: &'static str| async move {
        let client = browser();
        let callback = through_idp(app, &client, "acme-idp", "/").await;
        let res = client.get(&callback).send().await.unwrap();
        assert_eq!(location(&res), format!("/login?sso_error={expected}"));
        assert!(res.headers().get("set-cookie").is_none());
        assert_eq!(me(app, &client).await.0, 401);
    };

    // A forged state, a missing one, and a state from another provider.
    let client = browser();
    let callback = through_idp(app, &client, "acme-idp", "/").await;
    let forged = callback.replace("state=", "state=x");
    let res = client.get(&forged).send().await.unwrap();
    assert_eq!(location(&res), "/login?sso_error=invalid_state");
    let res = client
        .get(format!(
            "{}/api/v1/auth/sso/acme-idp/callback?code=abc",
            app.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/login?sso_error=invalid_state");
    let cross = callback.replace("/sso/acme-idp/", "/sso/github/");
    let res = client.get(&cross).send().await.unwrap();
    assert_eq!(location(&res), "/login?sso_error=invalid_state");
    // The person cancelled at the provider.
    let client = browser();
    let callback = through_idp(app, &client, "acme-idp", "/").await;
    let state = callback.split("state=").nth(1).unwrap();
    let res = client
        .get(format!(
            "{}/api/v1/auth/sso/acme-idp/callback?error=access_denied&state={state}",
            app.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/login?sso_error=denied");

    idp.set(|k| k.expire_codes = true);
    failure("exchange_failed").await;
    idp.set(|k| {
        k.expire_codes = false;
        k.wrong_nonce = true;
    });
    failure("invalid_identity").await;
    idp.set(|k| {
        k.wrong_nonce = false;
        k.wrong_audience = true;
    });
    failure("invalid_identity").await;
    idp.set(|k| {
        k.wrong_audience = false;
        k.foreign_key = true;
    });
    failure("invalid_identity").await;
    idp.set(|k| {
        k.foreign_key = false;
        k.email_verified = false;
    });
    failure("email_not_verified").await;

    // Unknown providers and open redirects.
    let (status, body) = json_of(app.get("/api/v1/auth/sso/nope/start").await).await;
    assert_eq!(status, 404, "{body}");
    for evil in [
        "https://evil.example/",
        "//evil.example",
        "/%5Cevil.example",
    ] {
        let res = browser()
            .get(format!(
                "{}/api/v1/auth/sso/acme-idp/start?return_to={}",
                app.url,
                evil.replace('/', "%2F").replace(':', "%3A")
            ))
            .send()
            .await
            .unwrap();
        let (status, body) = json_of(res).await;
        assert_eq!(status, 400, "{evil}: {body}");
        assert_eq!(body["errors"][0]["field"], "return_to", "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_sign_up_and_a_tenant_that_requires_sso() {
    let (app, idp) = world(&[("SLUICE_OPEN_SIGNUP", "false")]).await;
    // The first account bootstraps the install, with a password.
    let operator = Browser::join(&app, "root@platform.example").await;
    // Sign-up is closed: a stranger coming through SSO gets no account.
    idp.set(|k| k.email = "stranger@else.example".into());
    let client = browser();
    let callback = through_idp(&app, &client, "acme-idp", "/").await;
    let res = client.get(&callback).send().await.unwrap();
    assert_eq!(location(&res), "/login?sso_error=signup_closed");

    // An existing password account of acme.example signs in through SSO too.
    let owner = Browser::join_invited(&app, "owner@acme.example", &operator).await;
    let tenant = owner.create_tenant("Acme").await;
    idp.set(|k| k.email = "owner@acme.example".into());
    let client = browser();
    let callback = through_idp(&app, &client, "acme-idp", "/").await;
    assert_eq!(location(&client.get(&callback).send().await.unwrap()), "/");
    assert_eq!(me(&app, &client).await.0, 200);

    // The owner requires SSO for acme.example: passwords stop working for that domain.
    let rules = format!("/api/v1/tenants/{tenant}/sso-domains");
    let (status, body) = owner
        .call(
            reqwest::Method::PUT,
            &format!("{rules}/other.example"),
            Some(json!({"provider": "acme-idp"})),
        )
        .await;
    assert_problem(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
    let (status, body) = owner
        .call(
            reqwest::Method::PUT,
            &format!("{rules}/acme.example"),
            Some(json!({"provider": "nope"})),
        )
        .await;
    assert_problem(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
    let (status, body) = owner
        .call(
            reqwest::Method::PUT,
            &format!("{rules}/acme.example"),
            Some(json!({"provider": "acme-idp"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = Browser::new(&app)
        .post(
            "/api/v1/auth/login",
            json!({"email": "owner@acme.example", "password": PASSWORD}),
        )
        .await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "sso_required");
    assert!(
        body["detail"].as_str().unwrap().contains("Acme SSO"),
        "{body}"
    );
    let (status, body) = Browser::new(&app)
        .post(
            "/api/v1/auth/signup",
            json!({"email": "new@acme.example", "password": PASSWORD}),
        )
        .await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "sso_required");
    // SSO still works, and operators keep their password.
    let client = browser();
    let callback = through_idp(&app, &client, "acme-idp", "/").await;
    assert_eq!(location(&client.get(&callback).send().await.unwrap()), "/");
    let (status, list) = owner.get(&rules).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"][0]["domain"], "acme.example");
    // Another tenant cannot take the domain; the owner can drop the rule.
    let (status, body) = operator
        .call(
            reqwest::Method::PUT,
            &format!(
                "/api/v1/tenants/{}/sso-domains/acme.example",
                operator.create_tenant("Other").await
            ),
            Some(json!({"provider": "acme-idp"})),
        )
        .await;
    assert_problem(status, &body, StatusCode::CONFLICT, "conflict");
    let (status, _) = owner
        .call(
            reqwest::Method::DELETE,
            &format!("{rules}/acme.example"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = Browser::new(&app)
        .post(
            "/api/v1/auth/login",
            json!({"email": "owner@acme.example", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
