//! Isolation, proven endpoint by endpoint: every tenant-scoped management endpoint is tried with
//! another tenant's session, another tenant's data-plane key, another partner's administrator,
//! and each member role that lacks its permission. Outsiders get 404 (the resource does not exist
//! for them), data-plane keys 401, lower roles 403; nothing changes.

use domain::{Permission, Role};
use it::harness::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::manage::Browser;

const CONFIG: &str = r#"
[providers.openai]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"

[providers.mock]
kind = "mock"

[[models]]
alias = "mock"
provider = "mock"
"#;

pub(crate) async fn invite(
    owner: &Browser,
    app: &TestApp,
    tenant: &str,
    email: &str,
    role: &str,
) -> Browser {
    let (status, invitation) = owner
        .post(
            &format!("/api/v1/tenants/{tenant}/invitations"),
            json!({"email": email, "role": role}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invitation}");
    let token = invitation["url"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_owned();
    let member = Browser::join(app, email).await;
    let (status, body) = member
        .post("/api/v1/invitations/accept", json!({"token": token}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    member
}

fn created_id(body: &Value, pointer: &str) -> String {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} in {body}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tenant_endpoint_refuses_outsiders_other_partners_and_lower_roles() {
    let app = TestApp::builder().config(CONFIG).spawn().await;
    // The first account is the platform operator; it creates a partner for the rival admin.
    let operator = Browser::join(&app, "operator@platform.example").await;
    let owner = Browser::join(&app, "owner@ours.example").await;
    let tenant = owner.create_tenant("Ours").await;
    let t = format!("/api/v1/tenants/{tenant}");

    let (_, key) = owner.post(&format!("{t}/keys"), json!({"name": "k"})).await;
    let key = created_id(&key, "/key/id");
    let (_, pending) = owner
        .post(
            &format!("{t}/invitations"),
            json!({"email": "pending@ours.example", "role": "viewer"}),
        )
        .await;
    let pending = created_id(&pending, "/invitation/id");
    let (_, credential) = owner
        .post(
            &format!("{t}/provider-credentials"),
            json!({"name": "c", "provider": "openai", "secret": "sk-ours"}),
        )
        .await;
    let credential = created_id(&credential, "/id");
    let (status, _) = owner
        .call(
            Method::PUT,
            &format!("{t}/routes/kept"),
            Some(json!({"deployments": [{"model": "mock"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, account) = owner
        .post(&format!("{t}/service-accounts"), json!({"name": "robot"}))
        .await;
    let account = created_id(&account, "/client_id");

    let mut members = Vec::new();
    for role in [Role::Admin, Role::Developer, Role::Finance, Role::Viewer] {
        let email = format!("{}@ours.example", role.as_str());
        members.push((
            role,
            invite(&owner, &app, &tenant, &email, role.as_str()).await,
        ));
    }
    let (_, listed) = owner.get(&format!("{t}/members")).await;
    // Member changes target the admin: nobody below admin may touch it (and leaving oneself is
    // allowed to everyone, so a member never targets itself).
    let admin_id = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["role"] == "admin")
        .map(|it| created_id(it, "/user_id"))
        .unwrap();

    // Outsiders: another tenant's owner, its data-plane key, another partner's administrator.
    let mallory = Browser::join(&app, "mallory@theirs.example").await;
    let theirs = mallory.create_tenant("Theirs").await;
    let (_, their_key) = mallory
        .post(&format!("/api/v1/tenants/{theirs}/keys"), json!({}))
        .await;
    let their_key = created_id(&their_key, "/secret");
    let rival = Browser::join(&app, "admin@rival.example").await;
    let (status, body) = operator
        .post(
            "/api/v1/partners",
            json!({"name": "Rival", "key_prefix": "sk-rival", "admin_email": "admin@rival.example",
                   "branding": {"display_name": "Rival", "primary_color": "#000000"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let endpoints: Vec<(Method, String, Option<Value>, Permission)> = vec![
        (Method::GET, t.clone(), None, Permission::ViewTenant),
        (
            Method::GET,
            format!("{t}/members"),
            None,
            Permission::ViewMembers,
        ),
        (
            Method::PATCH,
            format!("{t}/members/{admin_id}"),
            Some(json!({"role": "viewer"})),
            Permission::ManageMembers,
        ),
        (
            Method::DELETE,
            format!("{t}/members/{admin_id}"),
            None,
            Permission::ManageMembers,
        ),
        (
            Method::GET,
            format!("{t}/invitations"),
            None,
            Permission::ViewMembers,
        ),
        (
            Method::POST,
            format!("{t}/invitations"),
            Some(json!({"email": "x@ours.example", "role": "owner"})),
            Permission::ManageMembers,
        ),
        (
            Method::DELETE,
            format!("{t}/invitations/{pending}"),
            None,
            Permission::ManageMembers,
        ),
        (
            Method::GET,
            format!("{t}/audit-events"),
            None,
            Permission::ViewAudit,
        ),
        (Method::GET, format!("{t}/keys"), None, Permission::ViewKeys),
        (
            Method::POST,
            format!("{t}/keys"),
            Some(json!({})),
            Permission::ManageKeys,
        ),
        (
            Method::GET,
            format!("{t}/keys/{key}"),
            None,
            Permission::ViewKeys,
        ),
        (
            Method::PATCH,
            format!("{t}/keys/{key}"),
            Some(json!({"name": "pwned"})),
            Permission::ManageKeys,
        ),
        (
            Method::DELETE,
            format!("{t}/keys/{key}"),
            None,
            Permission::ManageKeys,
        ),
        (
            Method::POST,
            format!("{t}/keys/{key}/rotate"),
            Some(json!({})),
            Permission::ManageKeys,
        ),
        (
            Method::GET,
            format!("{t}/provider-credentials"),
            None,
            Permission::ManageProviderCredentials,
        ),
        (
            Method::POST,
            format!("{t}/provider-credentials"),
            Some(json!({"name": "x", "provider": "openai", "secret": "sk-x"})),
            Permission::ManageProviderCredentials,
        ),
        (
            Method::DELETE,
            format!("{t}/provider-credentials/{credential}"),
            None,
            Permission::ManageProviderCredentials,
        ),
        (
            Method::GET,
            format!("{t}/routes"),
            None,
            Permission::ViewTenant,
        ),
        (
            Method::PUT,
            format!("{t}/routes/kept"),
            Some(json!({"deployments": [{"model": "mock", "weight": 9}]})),
            Permission::ManageTenant,
        ),
        (
            Method::DELETE,
            format!("{t}/routes/kept"),
            None,
            Permission::ManageTenant,
        ),
        (
            Method::GET,
            format!("{t}/cache-settings"),
            None,
            Permission::ViewTenant,
        ),
        (
            Method::PUT,
            format!("{t}/cache-settings"),
            Some(json!({"semantic_threshold": 0.95})),
            Permission::ManageTenant,
        ),
        (
            Method::GET,
            format!("{t}/service-accounts"),
            None,
            Permission::ViewKeys,
        ),
        (
            Method::POST,
            format!("{t}/service-accounts"),
            Some(json!({"name": "x"})),
            Permission::ManageServiceAccounts,
        ),
        (
            Method::GET,
            format!("{t}/service-accounts/{account}"),
            None,
            Permission::ViewKeys,
        ),
        (
            Method::POST,
            format!("{t}/service-accounts/{account}/rotate-secret"),
            None,
            Permission::ManageServiceAccounts,
        ),
        (
            Method::DELETE,
            format!("{t}/service-accounts/{account}"),
            None,
            Permission::ManageServiceAccounts,
        ),
        (
            Method::GET,
            format!("{t}/sso-domains"),
            None,
            Permission::ViewTenant,
        ),
        (
            Method::PUT,
            format!("{t}/sso-domains/ours.example"),
            Some(json!({"provider": "x"})),
            Permission::ManageTenant,
        ),
        (
            Method::DELETE,
            format!("{t}/sso-domains/ours.example"),
            None,
            Permission::ManageTenant,
        ),
        (
            Method::POST,
            format!("{t}/explorer/token"),
            None,
            Permission::CallModels,
        ),
        (
            Method::GET,
            format!("{t}/usage/summary"),
            None,
            Permission::ViewUsage,
        ),
        (
            Method::GET,
            format!("{t}/usage/records"),
            None,
            Permission::ViewUsage,
        ),
    ];

    let mut checked = 0;
    for (method, path, body, permission) in &endpoints {
        for (who, outsider) in [("another tenant", &mallory), ("another partner", &rival)] {
            let (status, problem) = outsider.call(method.clone(), path, body.clone()).await;
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{who}: {method} {path}: {problem}"
            );
            assert_eq!(problem["code"], "not_found");
            checked += 1;
        }
        let mut request = app
            .client()
            .request(method.clone(), format!("{}{path}", app.url))
            .bearer_auth(&their_key);
        if let Some(body) = body {
            request = request.json(body);
        }
        let res = request.send().await.unwrap();
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "a data-plane key: {method} {path}"
        );
        checked += 1;
        for (role, member) in &members {
            if domain::roles::allows(*role, *permission) {
                continue;
            }
            let (status, problem) = member.call(method.clone(), path, body.clone()).await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{role:?}: {method} {path}: {problem}"
            );
            assert_eq!(problem["code"], "forbidden");
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked} refusals checked");

    // Nothing changed.
    let (_, key_now) = owner.get(&format!("{t}/keys/{key}")).await;
    assert_eq!(
        (key_now["name"].as_str(), key_now["status"].as_str()),
        (Some("k"), Some("active"))
    );
    let (_, listed) = owner.get(&format!("{t}/members")).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 5);
    let (_, accounts) = owner.get(&format!("{t}/service-accounts")).await;
    assert_eq!(accounts["items"].as_array().unwrap().len(), 1);
    assert_eq!(accounts["items"][0]["status"], "active");
    let (_, credentials) = owner.get(&format!("{t}/provider-credentials")).await;
    assert_eq!(credentials["items"].as_array().unwrap().len(), 1);
    let (_, routes) = owner.get(&format!("{t}/routes")).await;
    assert_eq!(routes[0]["deployments"][0]["weight"], 1, "{routes}");
    let (_, invitations) = owner.get(&format!("{t}/invitations")).await;
    assert_eq!(
        invitations["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|it| it["status"] == "pending")
            .count(),
        1
    );
}
