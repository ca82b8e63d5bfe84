//! Partners and white-label: an operator creates a partner, its administrator brands it, adds
//! a domain and proves it through DNS, creates a sub-tenant and issues partner-prefixed keys
//! that work on the data plane; the portal's branding follows the host, but only on proved
//! domains; nothing on a partner's domain names the platform; a reset link never lands on a
//! domain the account does not belong to (issue 16); other partners and tenants see nothing;
//! changes reach another node within a second.

use std::time::Duration;

use it::fake_dns::FakeDns;
use it::harness::{TestApp, eventually, json_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::manage::{Browser, assert_problem};

pub(crate) const CONFIG: &str = r#"
[providers.mock]
kind = "mock"

[[models]]
alias = "mock"
provider = "mock"
"#;

pub(crate) const HOST: &str = "ai.acme.example";

pub(crate) fn branding(name: &str, colour: &str) -> Value {
    json!({
        "display_name": name,
        "primary_color": colour,
        "logo_url": "data:image/svg+xml;base64,PHN2Zy8+",
        "support_url": "https://acme.example/help",
    })
}

pub(crate) struct World {
    pub(crate) operator: Browser,
    pub(crate) admin: Browser,
    pub(crate) partner: String,
}

impl World {
    /// A sub-tenant of the partner, created by its administrator; answers its id.
    pub(crate) async fn sub_tenant(&self, name: &str) -> String {
        let (status, tenant) = self
            .admin
            .post(
                &format!("/api/v1/partners/{}/tenants", self.partner),
                json!({"name": name}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{tenant}");
        tenant["id"].as_str().unwrap().to_owned()
    }
}

/// The first account (the operator) creates partner Acme, administered by a second account.
pub(crate) async fn world(app: &TestApp) -> World {
    let operator = Browser::join(app, "operator@platform.example").await;
    let admin = Browser::join(app, "admin@acme.example").await;
    let (status, partner) = operator
        .post(
            "/api/v1/partners",
            json!({
                "name": "Acme",
                "key_prefix": "sk-acme",
                "branding": branding("Acme AI", "#ff6600"),
                "domains": ["AI.Acme.Example"],
                "admin_email": "admin@acme.example",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{partner}");
    assert_eq!(
        partner["domains"]
            .as_array()
            .unwrap()
            .iter()
            .map(|it| (it["host"].as_str().unwrap(), it["status"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        [(HOST, "verified")],
        "hosts are normalised, and an operator's are verified"
    );
    World {
        operator,
        admin,
        partner: partner["id"].as_str().unwrap().to_owned(),
    }
}

/// A gateway that reads domain proofs from `dns`.
pub(crate) async fn app_with(dns: &FakeDns) -> TestApp {
    TestApp::builder()
        .config(CONFIG)
        .env("SLUICE_PARTNERS_DNS_RESOLVER", &dns.addr.to_string())
        .spawn()
        .await
}

/// The partner's domain `host` as the API shows it.
pub(crate) fn domain_in(partner: &Value, host: &str) -> Value {
    partner["domains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["host"] == host)
        .cloned()
        .unwrap_or_else(|| panic!("no {host} in {partner}"))
}

/// Asks the gateway to check the proof of `host`.
pub(crate) async fn verify(browser: &Browser, partner: &str, host: &str) -> (StatusCode, Value) {
    browser
        .post(
            &format!("/api/v1/partners/{partner}/domains/{host}/verify"),
            json!({}),
        )
        .await
}

pub(crate) async fn host_branding(app: &TestApp, host: Option<&str>) -> Value {
    let mut req = app.client().get(format!("{}/api/v1/branding", app.url));
    if let Some(host) = host {
        req = req.header("host", host);
    }
    let (status, body) = json_of(req.send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_brands_its_domain_and_issues_keys_for_its_customers() {
    let dns = FakeDns::start().await;
    let app = app_with(&dns).await;
    let World { admin, partner, .. } = world(&app).await;

    // The administrator sees its partner and edits the branding.
    let (_, me) = admin.get("/api/v1/me").await;
    assert_eq!(me["partners"][0]["id"], partner.as_str());
    let (status, body) = admin
        .call(
            Method::PUT,
            &format!("/api/v1/partners/{partner}/branding"),
            Some(branding("Acme Intelligence", "#123abc")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = admin
        .post(
            &format!("/api/v1/partners/{partner}/domains"),
            json!({"host": "portal.acme.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let added = domain_in(&body, "portal.acme.example");
    assert_eq!(added["status"], "pending", "{added}");
    assert_eq!(
        added["record_name"],
        "_domain-verification.portal.acme.example"
    );
    assert!(added.get("verified_at").is_none(), "{added}");
    assert_eq!(
        host_branding(&app, Some("portal.acme.example")).await["partner_id"],
        Value::Null,
        "an unproved domain is nobody's"
    );

    // Its owner publishes the TXT record and asks for the check.
    dns.set_txt(
        added["record_name"].as_str().unwrap(),
        &[added["record_value"].as_str().unwrap()],
    );
    let (status, proved) = verify(&admin, &partner, "portal.acme.example").await;
    assert_eq!(status, StatusCode::OK, "{proved}");
    assert_eq!(proved["status"], "verified");
    assert!(proved["verified_at"].is_string(), "{proved}");

    // Branding follows the host, within a second.
    assert!(
        eventually(Duration::from_secs(1), || async {
            host_branding(&app, Some("portal.acme.example:443")).await["branding"]["display_name"]
                == "Acme Intelligence"
        })
        .await
    );
    let theirs = host_branding(&app, Some(HOST)).await;
    assert_eq!(theirs["branding"]["primary_color"], "#123abc");
    assert_eq!(theirs["key_prefix"], "sk-acme");
    assert_eq!(theirs["partner_id"], partner.as_str());
    let ours = host_branding(&app, None).await;
    assert_eq!(ours["branding"]["display_name"], "Sluice");
    assert_eq!(ours["key_prefix"], "sk-sluice");
    assert!(ours.get("partner_id").is_none());
    assert_eq!(
        host_branding(&app, Some("unknown.example")).await,
        ours,
        "unknown hosts get the platform's look"
    );

    // A sub-tenant for a customer, managed by the partner, with partner-prefixed keys.
    let (status, tenant) = admin
        .post(
            &format!("/api/v1/partners/{partner}/tenants"),
            json!({"name": "Customer One"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{tenant}");
    assert_eq!(tenant["partner_id"], partner.as_str());
    let tenant = tenant["id"].as_str().unwrap().to_owned();
    let (status, key) = admin
        .post(
            &format!("/api/v1/tenants/{tenant}/keys"),
            json!({"name": "customer app", "models": ["mock"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let secret = key["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("sk-acme-"), "{secret}");
    assert!(
        key["key"]["prefix"]
            .as_str()
            .unwrap()
            .starts_with("sk-acme-")
    );
    let status = app
        .post_as(
            &secret,
            "/v1/chat/completions",
            &json!({"model": "mock", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await
        .status();
    assert_eq!(
        status, 200,
        "the partner's key works on the data plane at once"
    );
    let (status, rotated) = admin
        .post(
            &format!(
                "/api/v1/tenants/{tenant}/keys/{}/rotate",
                key["key"]["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{rotated}");
    assert!(rotated["secret"].as_str().unwrap().starts_with("sk-acme-"));
    let (_, tenants) = admin
        .get(&format!("/api/v1/partners/{partner}/tenants"))
        .await;
    assert_eq!(tenants["items"].as_array().unwrap().len(), 1);

    // The partner invites its customer as the sub-tenant's owner.
    let (status, invitation) = admin
        .post(
            &format!("/api/v1/tenants/{tenant}/invitations"),
            json!({"email": "cto@customer.example", "role": "owner"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invitation}");
    let customer = Browser::join(&app, "cto@customer.example").await;
    let token = invitation["url"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap();
    let (status, body) = customer
        .post("/api/v1/invitations/accept", json!({"token": token}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = customer
        .get(&format!("/api/v1/tenants/{tenant}/keys"))
        .await;
    assert_eq!(status, StatusCode::OK);
    // ...who does not thereby administer the partner.
    let (status, body) = customer.get(&format!("/api/v1/partners/{partner}")).await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");

    // The audit log records the partner's changes.
    let (_, audit) = admin
        .get(&format!("/api/v1/tenants/{tenant}/audit-events"))
        .await;
    assert!(audit.to_string().contains("key.create"), "{audit}");
}

/// Everything a customer's browser or program sees through a partner's domain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_on_a_partners_domain_names_the_platform() {
    let app = TestApp::builder().config(CONFIG).spawn().await;
    let World { admin, partner, .. } = world(&app).await;
    let (_, tenant) = admin
        .post(
            &format!("/api/v1/partners/{partner}/tenants"),
            json!({"name": "Customer"}),
        )
        .await;
    let tenant = tenant["id"].as_str().unwrap().to_owned();
    let on_domain = admin.on_host(HOST);
    let (_, key) = on_domain
        .post(
            &format!("/api/v1/tenants/{tenant}/keys"),
            json!({"name": "k"}),
        )
        .await;
    let secret = key["secret"].as_str().unwrap().to_owned();
    let (_, account) = on_domain
        .post(
            &format!("/api/v1/tenants/{tenant}/service-accounts"),
            json!({"name": "robot"}),
        )
        .await;

    assert_eq!(
        account["token_url"],
        format!("http://{HOST}/oauth/token"),
        "{account}"
    );
    let mut seen = vec![key.to_string(), account.to_string()];
    for path in [
        "/api/v1/branding".to_owned(),
        "/api/v1/me".to_owned(),
        format!("/api/v1/tenants/{tenant}"),
        format!("/api/v1/tenants/{tenant}/keys"),
        format!("/api/v1/tenants/{tenant}/audit-events"),
        format!("/api/v1/tenants/{tenant}/service-accounts"),
        format!("/api/v1/partners/{partner}"),
        "/api/v1/no-such-endpoint".to_owned(),
    ] {
        let (_, body) = on_domain.get(&path).await;
        seen.push(body.to_string());
    }
    let chat = json!({"model": "mock", "messages": [{"role": "user", "content": "hi"}]});
    let data_plane: Vec<(Method, &str, Option<&str>, Option<String>)> = vec![
        (
            Method::POST,
            "/v1/chat/completions",
            Some(secret.as_str()),
            Some(chat.to_string()),
        ),
        (
            Method::POST,
            "/v1/chat/completions",
            Some(secret.as_str()),
            Some(json!({"model": "nope", "messages": []}).to_string()),
        ),
        (
            Method::POST,
            "/v1/chat/completions",
            Some(secret.as_str()),
            Some("{not json".into()),
        ),
        (
            Method::POST,
            "/v1/chat/completions",
            Some("sk-acme-wrong"),
            Some(chat.to_string()),
        ),
        (
            Method::POST,
            "/v1/chat/completions",
            None,
            Some(chat.to_string()),
        ),
        (
            Method::POST,
            "/v1/embeddings",
            Some(secret.as_str()),
            Some(json!({"model": "mock", "input": "x"}).to_string()),
        ),
        (Method::GET, "/v1/models", Some(secret.as_str()), None),
        (Method::GET, "/v1/models/nope", Some(secret.as_str()), None),
        (Method::DELETE, "/v1/models", Some(secret.as_str()), None),
        (Method::GET, "/nowhere", None, None),
    ];
    for (method, path, key, body) in data_plane {
        let mut req = app
            .client()
            .request(method, format!("{}{path}", app.url))
            .header("host", HOST)
            .header("content-type", "application/json");
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        let res = req.send().await.unwrap();
        let headers = format!("{:?}", res.headers());
        seen.push(headers);
        seen.push(res.text().await.unwrap());
    }
    assert!(
        seen.iter().any(|it| it.contains("x-upstream-deployment")),
        "the routing headers are among what was checked"
    );
    let stream = app
        .client()
        .post(format!("{}/v1/chat/completions", app.url))
        .header("host", HOST)
        .bearer_auth(&secret)
        .json(&json!({"model": "mock", "stream": true, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    seen.push(stream.text().await.unwrap());
    // Mail caused on the partner's domain links there and is signed with the partner's name.
    let customer = Browser::new(&app).on_host(HOST);
    let (status, body) = customer
        .post(
            "/api/v1/auth/signup",
            json!({"email": "cto@customer.example", "password": crate::manage::PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    seen.push(body.to_string());
    let mail = app
        .mailer
        .sent()
        .into_iter()
        .rfind(|it| it.to.as_str() == "cto@customer.example")
        .unwrap();
    assert!(mail.subject.starts_with("Acme AI: "), "{}", mail.subject);
    assert!(
        mail.body
            .contains(&format!("http://{HOST}/verify-email?token=")),
        "{}",
        mail.body
    );
    seen.push(format!("{} {}", mail.subject, mail.body));
    let (status, invitation) = on_domain
        .post(
            &format!("/api/v1/tenants/{tenant}/invitations"),
            json!({"email": "dev@customer.example", "role": "developer"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invitation}");
    assert!(
        invitation["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("http://{HOST}/accept-invitation")),
        "{invitation}"
    );
    let invite_mail = app.mailer.sent().pop().unwrap();
    seen.push(format!("{} {}", invite_mail.subject, invite_mail.body));
    for text in seen {
        assert!(
            !text.to_lowercase().contains("sluice"),
            "the platform's name leaked on a partner's domain: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partners_see_only_their_own_and_bad_input_is_refused() {
    let app = TestApp::builder().config(CONFIG).spawn().await;
    let World {
        operator,
        admin,
        partner,
    } = world(&app).await;
    let rival = Browser::join(&app, "admin@rival.example").await;
    let (status, body) = operator
        .post(
            "/api/v1/partners",
            json!({"name": "Rival", "key_prefix": "sk-rival", "branding": branding("Rival", "#000000"), "admin_email": "admin@rival.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, tenant) = admin
        .post(
            &format!("/api/v1/partners/{partner}/tenants"),
            json!({"name": "Customer"}),
        )
        .await;
    let tenant = tenant["id"].as_str().unwrap().to_owned();
    let (_, admins) = admin
        .get(&format!("/api/v1/partners/{partner}/admins"))
        .await;
    let admin_id = admins["items"][0]["user_id"].as_str().unwrap().to_owned();
    let stranger = Browser::join(&app, "nobody@example.com").await;

    let p = format!("/api/v1/partners/{partner}");
    let calls: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, p.clone(), None),
        (
            Method::PUT,
            format!("{p}/branding"),
            Some(branding("Pwned", "#000000")),
        ),
        (
            Method::POST,
            format!("{p}/domains"),
            Some(json!({"host": "evil.example"})),
        ),
        (Method::DELETE, format!("{p}/domains/{HOST}"), None),
        (Method::POST, format!("{p}/domains/{HOST}/verify"), None),
        (Method::GET, format!("{p}/admins"), None),
        (
            Method::POST,
            format!("{p}/admins"),
            Some(json!({"email": "nobody@example.com"})),
        ),
        (Method::DELETE, format!("{p}/admins/{admin_id}"), None),
        (Method::GET, format!("{p}/tenants"), None),
        (
            Method::POST,
            format!("{p}/tenants"),
            Some(json!({"name": "x"})),
        ),
        (Method::GET, format!("/api/v1/tenants/{tenant}"), None),
        (Method::GET, format!("/api/v1/tenants/{tenant}/keys"), None),
        (
            Method::POST,
            format!("/api/v1/tenants/{tenant}/keys"),
            Some(json!({})),
        ),
    ];
    for who in [&rival, &stranger] {
        for (method, path, body) in &calls {
            let (status, problem) = who.call(method.clone(), path, body.clone()).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {problem}");
            assert_eq!(problem["code"], "not_found");
        }
    }
    let (_, list) = rival.get("/api/v1/partners").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "only its own");
    let (_, list) = operator.get("/api/v1/partners").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        2,
        "operators see all"
    );
    let (status, body) = admin
        .post(
            "/api/v1/partners",
            json!({"name": "Mine", "key_prefix": "sk-mine", "branding": branding("Mine", "#000000")}),
        )
        .await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");

    // Bad input, each refused by field; nothing half-written.
    let create = |patch: Value| {
        let mut body =
            json!({"name": "New", "key_prefix": "sk-new", "branding": branding("New", "#000000")});
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    for (body, status, needle) in [
        (
            create(json!({"key_prefix": "Bad Prefix"})),
            StatusCode::BAD_REQUEST,
            "key_prefix",
        ),
        (
            create(json!({"key_prefix": "sk-sluice"})),
            StatusCode::BAD_REQUEST,
            "key_prefix",
        ),
        (
            create(json!({"branding": branding("New", "red")})),
            StatusCode::BAD_REQUEST,
            "primary_color",
        ),
        (
            create(json!({"branding": {"display_name": "", "primary_color": "#000000"}})),
            StatusCode::BAD_REQUEST,
            "display_name",
        ),
        (
            create(
                json!({"branding": {"display_name": "x", "primary_color": "#000000", "logo_url": "javascript:alert(1)"}}),
            ),
            StatusCode::BAD_REQUEST,
            "logo_url",
        ),
        (
            create(json!({"domains": ["https://x.example/"]})),
            StatusCode::BAD_REQUEST,
            "domains[0]",
        ),
        (
            create(json!({"domains": [HOST]})),
            StatusCode::CONFLICT,
            "domain",
        ),
        (
            create(json!({"name": "Acme"})),
            StatusCode::CONFLICT,
            "name",
        ),
        (
            create(json!({"admin_email": "ghost@example.com"})),
            StatusCode::BAD_REQUEST,
            "admin_email",
        ),
        (
            create(json!({"colour": "red"})),
            StatusCode::BAD_REQUEST,
            "colour",
        ),
        (
            create(json!({"name": "💥".repeat(101)})),
            StatusCode::BAD_REQUEST,
            "name",
        ),
    ] {
        let (got, problem) = operator.post("/api/v1/partners", body).await;
        assert_eq!(got, status, "{problem}");
        assert!(problem.to_string().contains(needle), "{needle}: {problem}");
    }
    let (_, list) = operator.get("/api/v1/partners").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        2,
        "nothing half-written"
    );
    let (status, problem) = admin
        .post(&format!("{p}/domains"), json!({"host": "not a host"}))
        .await;
    assert_problem(status, &problem, StatusCode::BAD_REQUEST, "invalid_request");
    let (status, problem) = rival
        .post(
            &format!(
                "/api/v1/partners/{}/domains",
                list["items"][1]["id"].as_str().unwrap()
            ),
            json!({"host": HOST}),
        )
        .await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
    let (status, problem) = admin
        .call(Method::DELETE, &format!("{p}/admins/{admin_id}"), None)
        .await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_branding_and_changed_roles_reach_another_node_within_a_second() {
    let Some(first) = TestApp::builder()
        .config(CONFIG)
        .postgres()
        .try_spawn()
        .await
    else {
        return;
    };
    let second = first.another_node(CONFIG).await;
    let World { admin, partner, .. } = world(&first).await;
    assert!(
        eventually(Duration::from_secs(1), || async {
            host_branding(&second, Some(HOST)).await["branding"]["display_name"] == "Acme AI"
        })
        .await,
        "a new partner's domain is known to the other node within a second"
    );
    let (status, _) = admin
        .call(
            Method::PUT,
            &format!("/api/v1/partners/{partner}/branding"),
            Some(branding("Acme Rebranded", "#00ff00")),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        eventually(Duration::from_secs(1), || async {
            host_branding(&second, Some(HOST)).await["branding"]["display_name"] == "Acme Rebranded"
        })
        .await,
        "the other node shows the new branding within a second"
    );

    // A changed role: an admin demoted to viewer on the first node can no longer create keys
    // on the second.
    let owner = Browser::join(&first, "owner@customer.example").await;
    let tenant = owner.create_tenant("Team").await;
    let (_, invitation) = owner
        .post(
            &format!("/api/v1/tenants/{tenant}/invitations"),
            json!({"email": "dev@customer.example", "role": "admin"}),
        )
        .await;
    let dev = Browser::join(&first, "dev@customer.example").await;
    let token = invitation["url"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap();
    dev.post("/api/v1/invitations/accept", json!({"token": token}))
        .await;
    let dev_on_second = dev.on_node(&second);
    let keys = format!("/api/v1/tenants/{tenant}/keys");
    assert_eq!(
        dev_on_second.post(&keys, json!({})).await.0,
        StatusCode::CREATED
    );
    let (_, members) = owner
        .get(&format!("/api/v1/tenants/{tenant}/members"))
        .await;
    let dev_id = members["items"][1]["user_id"].as_str().unwrap();
    let (status, _) = owner
        .call(
            Method::PATCH,
            &format!("/api/v1/tenants/{tenant}/members/{dev_id}"),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        eventually(Duration::from_secs(1), || async {
            dev_on_second.post(&keys, json!({})).await.0 == StatusCode::FORBIDDEN
        })
        .await,
        "the changed role applies on the other node within a second"
    );
}
