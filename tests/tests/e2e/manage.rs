//! The management API end to end: accounts, sessions and CSRF, tenants, members and roles,
//! invitations, API keys through their whole life, access tokens, the audit log, isolation
//! between tenants, and bad input.

use std::time::Duration;

use it::harness::{TestApp, eventually, json_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::mock_app;

pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// A browser-like client: cookies kept, CSRF token sent on changes.
pub(crate) struct Browser {
    client: reqwest::Client,
    base: String,
    csrf: Option<String>,
    /// A `Host` header to send, as a browser on a partner's domain would.
    host: Option<String>,
    /// More headers on every request (what a proxy in front of the gateway adds).
    extra: Vec<(String, String)>,
}

impl Browser {
    pub(crate) fn new(app: &TestApp) -> Self {
        Browser {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .no_proxy()
                .build()
                .unwrap(),
            base: app.url.clone(),
            csrf: None,
            host: None,
            extra: Vec::new(),
        }
    }

    /// This browser as if it had reached the gateway through `host`.
    pub(crate) fn on_host(mut self, host: &str) -> Self {
        self.host = Some(host.to_owned());
        self
    }

    /// This browser with `name: value` added to every request, as a proxy would add it.
    pub(crate) fn with_header(mut self, name: &str, value: &str) -> Self {
        self.extra.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The same signed-in session, talking to another node.
    pub(crate) fn on_node(&self, app: &TestApp) -> Self {
        Browser {
            client: self.client.clone(),
            base: app.url.clone(),
            csrf: self.csrf.clone(),
            host: self.host.clone(),
            extra: self.extra.clone(),
        }
    }

    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(csrf) = &self.csrf
            && method != Method::GET
        {
            req = req.header("x-csrf-token", csrf);
        }
        if let Some(host) = &self.host {
            req = req.header("host", host);
        }
        for (name, value) in &self.extra {
            req = req.header(name, value);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub(crate) async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub(crate) async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }

    /// A GET whose answer is not JSON (an export): its status, content type, disposition and
    /// body.
    pub(crate) async fn get_text(&self, path: &str) -> (StatusCode, String, String, String) {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let header = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|it| it.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let (content_type, disposition) = (header("content-type"), header("content-disposition"));
        let status = res.status();
        (status, content_type, disposition, res.text().await.unwrap())
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    /// Signs up, verifies through the mailed link, and signs in.
    pub(crate) async fn join(app: &TestApp, email: &str) -> Self {
        let mut browser = Browser::new(app);
        let (status, _) = browser
            .post(
                "/api/v1/auth/signup",
                json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let link = app.mailer.last_link_to(email).unwrap();
        let token = link.split("token=").nth(1).unwrap().to_owned();
        let (status, _) = browser
            .post("/api/v1/auth/verify-email", json!({"token": token}))
            .await;
        assert_eq!(status, StatusCode::OK);
        browser.login(email, PASSWORD).await;
        browser
    }

    /// Joins while sign-up is closed: an operator invites the address into a throwaway tenant
    /// first, and the person signs up with the invitation.
    pub(crate) async fn join_invited(app: &TestApp, email: &str, operator: &Browser) -> Self {
        let tenant = operator.create_tenant(&format!("invite {email}")).await;
        let (_, invitation) = operator
            .post(
                &format!("/api/v1/tenants/{tenant}/invitations"),
                json!({"email": email, "role": "viewer"}),
            )
            .await;
        let token = invitation["url"]
            .as_str()
            .unwrap()
            .split("token=")
            .nth(1)
            .unwrap()
            .to_owned();
        let mut browser = Browser::new(app);
        let (status, body) = browser
            .post(
                "/api/v1/auth/signup",
                json!({"email": email, "password": PASSWORD, "invitation_token": token}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        browser.login(email, PASSWORD).await;
        browser
    }

    pub(crate) async fn login(&mut self, email: &str, password: &str) {
        let (status, body) = self
            .post(
                "/api/v1/auth/login",
                json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        self.csrf = Some(body["csrf_token"].as_str().unwrap().to_owned());
    }

    pub(crate) async fn create_tenant(&self, name: &str) -> String {
        let (status, body) = self.post("/api/v1/tenants", json!({"name": name})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }
}

pub(crate) fn assert_problem(status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], expected.as_u16());
    assert!(body["type"].as_str().unwrap().ends_with(code));
    assert!(body["detail"].is_string());
}

async fn data_plane_status(app: &TestApp, key: &str) -> u16 {
    app.post_as(
        key,
        "/v1/chat/completions",
        &json!({"model": "mock", "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await
    .status()
    .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_signs_up_verifies_creates_a_tenant_and_a_key_that_works() {
    let app = mock_app().await;
    let mut browser = Browser::new(&app);
    let (status, user) = browser
        .post(
            "/api/v1/auth/signup",
            json!({"email": "Ada@Example.com", "password": PASSWORD, "display_name": "Ada"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["email_verified"], false);
    assert_eq!(
        user["is_operator"], true,
        "the first account of an install operates it"
    );

    let (status, body) = browser
        .post(
            "/api/v1/auth/login",
            json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "email_not_verified");

    let link = app.mailer.last_link_to("ada@example.com").unwrap();
    assert!(
        link.starts_with("http://") && link.contains("/verify-email?token="),
        "{link}"
    );
    let token = link.split("token=").nth(1).unwrap();
    let (status, _) = browser
        .post("/api/v1/auth/verify-email", json!({"token": token}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = browser
        .post("/api/v1/auth/verify-email", json!({"token": token}))
        .await;
    assert_problem(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(body["errors"][0]["field"], "token");

    browser.login("ada@example.com", PASSWORD).await;
    let (status, me) = browser.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"]["email_verified"], true);

    // A change without the CSRF token is refused, even with the session cookie.
    let csrf = browser.csrf.take();
    let (status, body) = browser
        .post("/api/v1/tenants", json!({"name": "Ada Corp"}))
        .await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "csrf_token_mismatch");
    browser.csrf = Some("forged".into());
    let (status, _) = browser
        .post("/api/v1/tenants", json!({"name": "Ada Corp"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    browser.csrf = csrf;
    let tenant = browser.create_tenant("Ada Corp").await;

    let (status, created) = browser
        .post(
            &format!("/api/v1/tenants/{tenant}/keys"),
            json!({"name": "ci", "models": ["mock"], "endpoints": ["chat.completions"], "ip_allowlist": ["127.0.0.1"], "limits": {"requests_per_minute": 60}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("sk-sluice-"));
    assert_eq!(created["key"]["ip_allowlist"], json!(["127.0.0.1/32"]));
    assert!(
        eventually(Duration::from_secs(1), || async {
            data_plane_status(&app, &secret).await == 200
        })
        .await
    );

    let (status, keys) = browser.get(&format!("/api/v1/tenants/{tenant}/keys")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys["items"].as_array().unwrap().len(), 1);
    assert!(
        !keys.to_string().contains(&secret),
        "listings never show secrets"
    );

    // Rotation: both work during the grace period; revoking the old one leaves the new.
    let key_id = created["key"]["id"].as_str().unwrap();
    let (status, rotated) = browser
        .post(
            &format!("/api/v1/tenants/{tenant}/keys/{key_id}/rotate"),
            json!({"grace_period_seconds": 3600}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{rotated}");
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_eq!(rotated["key"]["rotated_from"], key_id);
    assert_eq!(
        rotated["key"]["models"],
        json!(["mock"]),
        "scopes carry over"
    );
    assert!(
        eventually(Duration::from_secs(1), || async {
            data_plane_status(&app, &new_secret).await == 200
        })
        .await
    );
    assert_eq!(
        data_plane_status(&app, &secret).await,
        200,
        "the old key works during the grace period"
    );
    let (status, _) = browser
        .call(
            Method::DELETE,
            &format!("/api/v1/tenants/{tenant}/keys/{key_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        eventually(Duration::from_secs(1), || async {
            data_plane_status(&app, &secret).await == 401
        })
        .await
    );
    assert_eq!(data_plane_status(&app, &new_secret).await, 200);

    let (status, audit) = browser
        .get(&format!("/api/v1/tenants/{tenant}/audit-events"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["key.revoke", "key.rotate", "key.create", "tenant.create"]
    );
    let create = &audit["items"][2];
    assert_eq!(create["actor"]["label"], "ada@example.com");
    assert_eq!(create["ip"], "127.0.0.1");
    assert_eq!(create["after"]["name"], "ci");
    assert!(!audit.to_string().contains(&secret));
    let (_, filtered) = browser
        .get(&format!(
            "/api/v1/tenants/{tenant}/audit-events?action=key.&limit=2"
        ))
        .await;
    assert_eq!(filtered["items"].as_array().unwrap().len(), 2);
    let cursor = filtered["next_cursor"].as_str().unwrap();
    let (_, next) = browser
        .get(&format!(
            "/api/v1/tenants/{tenant}/audit-events?action=key.&limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(next["items"][0]["action"], "key.create");
    assert!(next.get("next_cursor").is_none());

    // Signing out ends the session.
    let (status, _) = browser.post("/api/v1/auth/logout", json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = browser.get("/api/v1/me").await;
    assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invited_colleagues_get_their_roles_and_nothing_more() {
    let app = mock_app().await;
    let owner = Browser::join(&app, "owner@example.com").await;
    let tenant = owner.create_tenant("Team").await;
    let invite = |email: &'static str, role: &'static str| {
        let owner = &owner;
        let tenant = tenant.clone();
        async move {
            let (status, body) = owner
                .post(
                    &format!("/api/v1/tenants/{tenant}/invitations"),
                    json!({"email": email, "role": role}),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            body["url"]
                .as_str()
                .unwrap()
                .split("token=")
                .nth(1)
                .unwrap()
                .to_owned()
        }
    };
    let dev_token = invite("dev@example.com", "developer").await;
    let viewer_token = invite("viewer@example.com", "viewer").await;
    let finance_token = invite("finance@example.com", "finance").await;
    assert!(
        app.mailer
            .last_link_to("dev@example.com")
            .unwrap()
            .contains(&dev_token),
        "the invitation is mailed"
    );

    let dev = Browser::join(&app, "dev@example.com").await;
    let (status, body) = dev
        .post("/api/v1/invitations/accept", json!({"token": viewer_token}))
        .await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = dev
        .post("/api/v1/invitations/accept", json!({"token": dev_token}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["role"], "developer");
    let (status, body) = dev
        .post("/api/v1/invitations/accept", json!({"token": dev_token}))
        .await;
    assert_problem(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
    let viewer = Browser::join(&app, "viewer@example.com").await;
    viewer
        .post("/api/v1/invitations/accept", json!({"token": viewer_token}))
        .await;
    let finance = Browser::join(&app, "finance@example.com").await;
    finance
        .post(
            "/api/v1/invitations/accept",
            json!({"token": finance_token}),
        )
        .await;

    let keys = format!("/api/v1/tenants/{tenant}/keys");
    let audit = format!("/api/v1/tenants/{tenant}/audit-events");
    let invitations = format!("/api/v1/tenants/{tenant}/invitations");
    // Developers manage keys, not people, and do not read the audit log.
    assert_eq!(
        dev.post(&keys, json!({"name": "dev key"})).await.0,
        StatusCode::CREATED
    );
    assert_problem_code(
        dev.post(
            &invitations,
            json!({"email": "x@example.com", "role": "viewer"}),
        )
        .await,
        StatusCode::FORBIDDEN,
    );
    assert_problem_code(dev.get(&audit).await, StatusCode::FORBIDDEN);
    // Viewers read, and change nothing.
    assert_eq!(viewer.get(&keys).await.0, StatusCode::OK);
    assert_problem_code(viewer.post(&keys, json!({})).await, StatusCode::FORBIDDEN);
    // Finance reads the audit log but not keys.
    assert_eq!(finance.get(&audit).await.0, StatusCode::OK);
    assert_problem_code(finance.get(&keys).await, StatusCode::FORBIDDEN);
    // Service accounts follow keys: developers create them, viewers only look, finance neither.
    let accounts = format!("/api/v1/tenants/{tenant}/service-accounts");
    assert_eq!(
        dev.post(&accounts, json!({"name": "ci"})).await.0,
        StatusCode::CREATED
    );
    assert_eq!(viewer.get(&accounts).await.0, StatusCode::OK);
    assert_problem_code(
        viewer.post(&accounts, json!({"name": "x"})).await,
        StatusCode::FORBIDDEN,
    );
    assert_problem_code(finance.get(&accounts).await, StatusCode::FORBIDDEN);

    let (_, members) = owner
        .get(&format!("/api/v1/tenants/{tenant}/members"))
        .await;
    let roles: Vec<(&str, &str)> = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| (it["email"].as_str().unwrap(), it["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        [
            ("owner@example.com", "owner"),
            ("dev@example.com", "developer"),
            ("viewer@example.com", "viewer"),
            ("finance@example.com", "finance")
        ]
    );
    let owner_id = members["items"][0]["user_id"].as_str().unwrap();
    let dev_id = members["items"][1]["user_id"].as_str().unwrap();
    // Promote the developer to admin; an admin still cannot touch the owner.
    let (status, _) = owner
        .call(
            Method::PATCH,
            &format!("/api/v1/tenants/{tenant}/members/{dev_id}"),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_problem_code(
        dev.call(
            Method::PATCH,
            &format!("/api/v1/tenants/{tenant}/members/{owner_id}"),
            Some(json!({"role": "viewer"})),
        )
        .await,
        StatusCode::FORBIDDEN,
    );
    // The last owner cannot leave.
    assert_problem_code(
        owner
            .call(
                Method::DELETE,
                &format!("/api/v1/tenants/{tenant}/members/{owner_id}"),
                None,
            )
            .await,
        StatusCode::CONFLICT,
    );
}

fn assert_problem_code((status, body): (StatusCode, Value), expected: StatusCode) {
    assert_eq!(status, expected, "{body}");
    assert!(body["code"].is_string(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenant_sees_nothing_of_ours() {
    let app = TestApp::builder()
        .config(
            r#"
[providers.openai]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"

[providers.mock]
kind = "mock"

[[models]]
alias = "mock"
provider = "mock"
"#,
        )
        .spawn()
        .await;
    let ada = Browser::join(&app, "ada@example.com").await;
    let mallory = Browser::join(&app, "mallory@example.com").await;
    let ours = ada.create_tenant("Ours").await;
    mallory.create_tenant("Theirs").await;
    let (_, key) = ada
        .post(
            &format!("/api/v1/tenants/{ours}/keys"),
            json!({"name": "k"}),
        )
        .await;
    let key = key["key"]["id"].as_str().unwrap().to_owned();
    let (_, invitation) = ada
        .post(
            &format!("/api/v1/tenants/{ours}/invitations"),
            json!({"email": "x@example.com", "role": "viewer"}),
        )
        .await;
    let invitation = invitation["invitation"]["id"].as_str().unwrap().to_owned();
    let (_, credential) = ada
        .post(
            &format!("/api/v1/tenants/{ours}/provider-credentials"),
            json!({"name": "c", "provider": "openai", "secret": "sk-ours"}),
        )
        .await;
    let credential = credential["id"].as_str().unwrap().to_owned();
    let (_, account) = ada
        .post(
            &format!("/api/v1/tenants/{ours}/service-accounts"),
            json!({"name": "robot"}),
        )
        .await;
    let account = account["client_id"].as_str().unwrap().to_owned();
    let (_, members) = ada.get(&format!("/api/v1/tenants/{ours}/members")).await;
    let ada_id = members["items"][0]["user_id"].as_str().unwrap().to_owned();
    let t = format!("/api/v1/tenants/{ours}");
    let calls: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, t.clone(), None),
        (Method::GET, format!("{t}/members"), None),
        (
            Method::PATCH,
            format!("{t}/members/{ada_id}"),
            Some(json!({"role": "viewer"})),
        ),
        (Method::DELETE, format!("{t}/members/{ada_id}"), None),
        (Method::GET, format!("{t}/invitations"), None),
        (
            Method::POST,
            format!("{t}/invitations"),
            Some(json!({"email": "m@example.com", "role": "owner"})),
        ),
        (
            Method::DELETE,
            format!("{t}/invitations/{invitation}"),
            None,
        ),
        (Method::GET, format!("{t}/audit-events"), None),
        (Method::GET, format!("{t}/keys"), None),
        (Method::POST, format!("{t}/keys"), Some(json!({}))),
        (Method::GET, format!("{t}/keys/{key}"), None),
        (
            Method::PATCH,
            format!("{t}/keys/{key}"),
            Some(json!({"name": "pwned"})),
        ),
        (Method::DELETE, format!("{t}/keys/{key}"), None),
        (
            Method::POST,
            format!("{t}/keys/{key}/rotate"),
            Some(json!({})),
        ),
        (Method::GET, format!("{t}/provider-credentials"), None),
        (
            Method::POST,
            format!("{t}/provider-credentials"),
            Some(json!({"name": "x", "provider": "openai", "secret": "sk-theirs"})),
        ),
        (
            Method::DELETE,
            format!("{t}/provider-credentials/{credential}"),
            None,
        ),
        (Method::GET, format!("{t}/service-accounts"), None),
        (
            Method::POST,
            format!("{t}/service-accounts"),
            Some(json!({"name": "x"})),
        ),
        (Method::GET, format!("{t}/service-accounts/{account}"), None),
        (
            Method::POST,
            format!("{t}/service-accounts/{account}/rotate-secret"),
            None,
        ),
        (
            Method::DELETE,
            format!("{t}/service-accounts/{account}"),
            None,
        ),
    ];
    for (method, path, body) in calls {
        let (status, problem) = mallory.call(method.clone(), &path, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {problem}");
        assert_eq!(problem["code"], "not_found");
    }
    // And nothing changed.
    let (_, key_now) = ada.get(&format!("{t}/keys/{key}")).await;
    assert_eq!(
        (key_now["name"].as_str(), key_now["status"].as_str()),
        (Some("k"), Some("active"))
    );
    let (_, credentials) = ada.get(&format!("{t}/provider-credentials")).await;
    assert_eq!(credentials["items"].as_array().unwrap().len(), 1);
    let (_, accounts) = ada.get(&format!("{t}/service-accounts")).await;
    assert_eq!(accounts["items"][0]["status"], "active", "{accounts}");
    let (_, tenants) = mallory.get("/api/v1/tenants").await;
    assert_eq!(tenants["items"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_problems_and_writes_nothing() {
    let app = mock_app().await;
    let browser = Browser::new(&app);
    let signup = |body: Value| browser.post("/api/v1/auth/signup", body);
    let (status, body) = signup(json!({"email": "not-an-email", "password": PASSWORD})).await;
    assert_problem(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(body["errors"][0]["field"], "email");
    let (status, body) = signup(json!({"email": "a@example.com", "password": "short"})).await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("password"))
    );
    let (status, body) =
        signup(json!({"email": "a@example.com", "password": PASSWORD, "role": "admin"})).await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("role")),
        "{body}"
    );
    let (status, body) = signup(json!({"email": 5, "password": PASSWORD})).await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("email"))
    );
    let (status, body) = signup(
        json!({"email": "a@example.com", "password": PASSWORD, "display_name": "x".repeat(500)}),
    )
    .await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("display_name"))
    );
    assert_eq!(
        app.mailer.sent().len(),
        0,
        "nothing half-written: no account, no mail"
    );

    let (status, _) = signup(json!({"email": "a@example.com", "password": PASSWORD})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = signup(json!({"email": "A@EXAMPLE.COM", "password": PASSWORD})).await;
    assert_problem(status, &body, StatusCode::CONFLICT, "conflict");

    let raw = |content_type: Option<&str>, body: Vec<u8>| {
        let mut req = browser
            .client
            .post(format!("{}/api/v1/auth/login", app.url))
            .body(body);
        if let Some(content_type) = content_type {
            req = req.header("content-type", content_type);
        }
        async move { json_of(req.send().await.unwrap()).await }
    };
    let (status, body) = raw(Some("text/plain"), b"{}".to_vec()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );
    let (status, body) = raw(None, b"{}".to_vec()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );
    let (status, body) = raw(Some("application/json"), vec![b'a'; 200_000]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("payload_too_large"))
    );
    let (status, body) = raw(Some("application/json"), b"{\"email\": ".to_vec()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, body) = browser.get("/api/v1/nothing").await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
    // A method a path does not answer: 405 naming the ones it does, as a problem document.
    for (method, path, allow) in [
        ("TRACE", "/api/v1/tenants", "GET, POST"),
        ("PUT", "/api/v1/auth/login", "POST"),
        (
            "POST",
            "/api/v1/tenants/not-a-uuid/keys/x",
            "GET, PATCH, DELETE",
        ),
    ] {
        let res = browser
            .client
            .request(method.parse().unwrap(), format!("{}{path}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["allow"], allow, "{method} {path}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let (status, body) = json_of(res).await;
        assert_problem(
            StatusCode::from_u16(status).unwrap(),
            &body,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        );
    }
    let (status, body) = browser.get("/api/v1/tenants").await;
    assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthenticated");
    let (status, body) = browser.get("/api/v1/tenants/not-a-uuid").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_wrong_passwords_lock_the_account() {
    let app = mock_app().await;
    let mut ada = Browser::join(&app, "ada@example.com").await;
    let attacker = Browser::new(&app);
    for _ in 0..4 {
        let (status, body) = attacker
            .post(
                "/api/v1/auth/login",
                json!({"email": "ada@example.com", "password": "wrong wrong wrong"}),
            )
            .await;
        assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    let res = attacker
        .client
        .post(format!("{}/api/v1/auth/login", app.url))
        .json(&json!({"email": "ada@example.com", "password": "wrong wrong wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    let (status, body) = attacker
        .post(
            "/api/v1/auth/login",
            json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
    );
    // An unknown account answers like a wrong password: no enumeration.
    let (status, body) = attacker
        .post(
            "/api/v1/auth/login",
            json!({"email": "nobody@example.com", "password": PASSWORD}),
        )
        .await;
    assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthenticated");
    // The real owner resets the password, which also unlocks the account.
    let (status, _) = ada
        .post(
            "/api/v1/auth/password-reset",
            json!({"email": "ada@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let token = app
        .mailer
        .last_link_to("ada@example.com")
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_owned();
    let (status, body) = ada
        .post(
            "/api/v1/auth/password-reset/confirm",
            json!({"token": token, "password": "short"}),
        )
        .await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("password"))
    );
    let (status, _) = ada
        .post(
            "/api/v1/auth/password-reset/confirm",
            json!({"token": token, "password": "a brand new passphrase"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = ada.get("/api/v1/me").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a new password ends every session"
    );
    ada.login("ada@example.com", "a brand new passphrase").await;
    assert_eq!(ada.get("/api/v1/me").await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_guess_across_many_accounts() {
    let app = mock_app().await;
    let attacker = Browser::new(&app);
    let mut statuses = Vec::new();
    for i in 0..12 {
        let (status, _) = attacker
            .post(
                "/api/v1/auth/login",
                json!({"email": format!("user{i}@example.com"), "password": "guess guess guess"}),
            )
            .await;
        statuses.push(status.as_u16());
    }
    assert_eq!(statuses[..10], [401; 10]);
    assert_eq!(
        statuses[10..],
        [429, 429],
        "the address is throttled after a burst of ten"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_access_tokens_drive_the_api_without_cookies_or_csrf() {
    let app = mock_app().await;
    let ada = Browser::join(&app, "ada@example.com").await;
    let (status, created) = ada
        .post("/api/v1/me/tokens", json!({"name": "script"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    let script = reqwest::Client::builder().no_proxy().build().unwrap();
    let res = script
        .post(format!("{}/api/v1/tenants", app.url))
        .bearer_auth(&secret)
        .json(&json!({"name": "Scripted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let (_, tokens) = ada.get("/api/v1/me/tokens").await;
    assert_eq!(tokens["items"][0]["name"], "script");
    assert!(!tokens.to_string().contains(&secret));
    let id = created["token"]["id"].as_str().unwrap();
    let (status, _) = ada
        .call(Method::DELETE, &format!("/api/v1/me/tokens/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let res = script
        .get(format!("{}/api/v1/me", app.url))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_reference_is_served_offline() {
    let app = mock_app().await;
    let (status, spec) = json_of(
        app.client()
            .get(format!("{}/api/v1/openapi.json", app.url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(spec["paths"]["/api/v1/tenants/{tenant}/keys"].is_object());
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../openapi/openapi.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(spec, committed);
    let page = app
        .client()
        .get(format!("{}/api/docs/", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger"), "{html}");
    assert!(!html.contains("https://"), "no CDN assets");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_sign_up_closed_only_invited_people_join() {
    let app = TestApp::builder()
        .config(
            r#"
[providers.mock]
kind = "mock"

[[models]]
alias = "mock"
provider = "mock"
"#,
        )
        .env("SLUICE_OPEN_SIGNUP", "false")
        .spawn()
        .await;
    // The very first account still bootstraps the installation.
    let operator = Browser::join(&app, "operator@example.com").await;
    let tenant = operator.create_tenant("Closed shop").await;
    let stranger = Browser::new(&app);
    let signup = |email: &str, token: Option<&str>| json!({"email": email, "password": PASSWORD, "invitation_token": token});
    let (status, body) = stranger
        .post("/api/v1/auth/signup", signup("walk-in@example.com", None))
        .await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");

    let (_, invitation) = operator
        .post(
            &format!("/api/v1/tenants/{tenant}/invitations"),
            json!({"email": "invited@example.com", "role": "developer"}),
        )
        .await;
    let token = invitation["url"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_owned();
    for (email, token, field) in [
        ("invited@example.com", "forged", "invitation_token"),
        ("someone-else@example.com", token.as_str(), "email"),
    ] {
        let (status, body) = stranger
            .post("/api/v1/auth/signup", signup(email, Some(token)))
            .await;
        assert_problem(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
        assert_eq!(body["errors"][0]["field"], field, "{body}");
    }
    let mails_before = app.mailer.sent().len();
    let (status, body) = stranger
        .post(
            "/api/v1/auth/signup",
            signup("invited@example.com", Some(&token)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        app.mailer.sent().len(),
        mails_before,
        "no verification mail: the invitation proved the address"
    );
    let mut invited = Browser::new(&app);
    invited.login("invited@example.com", PASSWORD).await;
    let (status, body) = invited
        .post("/api/v1/invitations/accept", json!({"token": token}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["role"], "developer");
    // A used invitation opens no second account.
    let (status, body) = stranger
        .post(
            "/api/v1/auth/signup",
            signup("invited@example.com", Some(&token)),
        )
        .await;
    assert_problem(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_filter_by_status_role_provider_and_text() {
    let app = mock_app().await;
    let owner = Browser::join(&app, "owner@example.com").await;
    let tenant = owner.create_tenant("Filters").await;
    let keys = format!("/api/v1/tenants/{tenant}/keys");
    for name in ["Billing job", "billing export", "chatbot"] {
        let (status, _) = owner.post(&keys, json!({"name": name})).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (_, all) = owner.get(&keys).await;
    let chatbot = all["items"][2]["id"].as_str().unwrap().to_owned();
    owner
        .call(Method::DELETE, &format!("{keys}/{chatbot}"), None)
        .await;
    let names = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|it| it["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, revoked) = owner.get(&format!("{keys}?status=revoked")).await;
    assert_eq!(names(&revoked), ["chatbot"]);
    let (_, billing) = owner.get(&format!("{keys}?q=BILLING&status=active")).await;
    assert_eq!(names(&billing), ["Billing job", "billing export"]);
    let (_, paged) = owner.get(&format!("{keys}?q=billing&limit=1")).await;
    assert_eq!(names(&paged), ["Billing job"]);
    let cursor = paged["next_cursor"].as_str().unwrap();
    let (_, rest) = owner
        .get(&format!("{keys}?q=billing&limit=1&cursor={cursor}"))
        .await;
    assert_eq!(names(&rest), ["billing export"]);
    assert!(rest.get("next_cursor").is_none_or(Value::is_null));
    // Unnamed keys are found by their prefix.
    let (_, unnamed) = owner.post(&keys, json!({})).await;
    let prefix = unnamed["key"]["prefix"].as_str().unwrap().to_owned();
    let (status, found) = owner
        .get(&format!("{keys}?q={}", prefix.to_uppercase()))
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["items"][0]["prefix"], prefix.as_str());
    let (status, body) = owner.get(&format!("{keys}?role=owner")).await;
    assert_problem(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(body["errors"][0]["field"], "role");
    let (status, body) = owner.get(&format!("{keys}?colour=red")).await;
    assert_problem(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
    let (_, members) = owner
        .get(&format!("/api/v1/tenants/{tenant}/members?role=owner"))
        .await;
    assert_eq!(members["items"].as_array().unwrap().len(), 1);
    let (_, members) = owner
        .get(&format!("/api/v1/tenants/{tenant}/members?role=viewer"))
        .await;
    assert!(members["items"].as_array().unwrap().is_empty());
}
