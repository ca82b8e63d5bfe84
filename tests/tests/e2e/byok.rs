//! Bring your own key: a tenant stores its provider key through the management API, the data
//! plane uses it for that tenant's calls only, the secret never comes back out, tenant URLs are
//! checked against SSRF, and master-key rotation keeps every credential working.

use std::time::Duration;

use it::fixtures;
use it::harness::{TestApp, eventually, json_of};
use it::mock_upstream::{MockUpstream, Reply};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::settings::MasterKeySource;

use crate::common::UPSTREAM_KEY;
use crate::manage::{Browser, assert_problem};

pub(crate) const TENANT_SECRET: &str = "sk-tenant-own-key-0123456789abcdef";

/// OpenAI and Anthropic upstreams behind one gateway, both with the platform's key.
fn config(openai: &str, anthropic: &str) -> String {
    format!(
        r#"
[providers.openai]
kind = "openai"
base_url = "{openai}/v1"
api_key = "env:UPSTREAM_KEY"

[providers.claude]
kind = "anthropic"
base_url = "{anthropic}"
api_key = "env:UPSTREAM_KEY"

[providers.mock]
kind = "mock"

[[models]]
alias = "gpt"
provider = "openai"
model = "gpt-4o-mini"

[[models]]
alias = "claude"
provider = "claude"
model = "claude-sonnet-4-5"

[[models]]
alias = "mock"
provider = "mock"
"#
    )
}

struct World {
    app: TestApp,
    openai: MockUpstream,
    anthropic: MockUpstream,
}

async fn world(env: &[(&str, &str)]) -> World {
    let openai = MockUpstream::start(|_| Reply::json(fixtures::text("openai/chat_ok.json"))).await;
    let anthropic =
        MockUpstream::start(|_| Reply::json(fixtures::text("anthropic/message_ok.json"))).await;
    let mut builder = TestApp::builder()
        .config(config(&openai.url, &anthropic.url))
        .env("UPSTREAM_KEY", UPSTREAM_KEY);
    for (name, value) in env {
        builder = builder.env(name, value);
    }
    World {
        app: builder.spawn().await,
        openai,
        anthropic,
    }
}

/// A signed-in owner of a fresh tenant, and a data-plane key of that tenant.
pub(crate) async fn owner(app: &TestApp, email: &str) -> (Browser, String, String) {
    owner_of(app, email, "Byok Inc").await
}

/// A signed-in owner of a fresh tenant named `tenant`, and a data-plane key of it.
pub(crate) async fn owner_of(
    app: &TestApp,
    email: &str,
    tenant: &str,
) -> (Browser, String, String) {
    let browser = Browser::join(app, email).await;
    let tenant = browser.create_tenant(tenant).await;
    let (status, key) = browser
        .post(
            &format!("/api/v1/tenants/{tenant}/keys"),
            json!({"name": "app"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let key = key["secret"].as_str().unwrap().to_owned();
    (browser, tenant, key)
}

/// Stores a provider credential for `tenant` through the management API; the created view.
pub(crate) async fn store_credential(browser: &Browser, tenant: &str, body: Value) -> Value {
    let (status, created) = browser
        .post(
            &format!("/api/v1/tenants/{tenant}/provider-credentials"),
            body,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

async fn chat(app: &TestApp, key: &str, model: &str) -> (u16, Value) {
    json_of(
        app.post_as(
            key,
            "/v1/chat/completions",
            &json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await,
    )
    .await
}

fn bearer(upstream: &MockUpstream) -> String {
    upstream
        .last()
        .header("authorization")
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_own_key_serves_its_calls_and_no_one_elses() {
    let World {
        app,
        openai,
        anthropic,
    } = world(&[]).await;
    let (ada, tenant, key) = owner(&app, "ada@example.com").await;
    let path = format!("/api/v1/tenants/{tenant}/provider-credentials");

    let (status, providers) = ada.get("/api/v1/providers").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        providers,
        json!([{"name": "claude", "kind": "anthropic"}, {"name": "openai", "kind": "openai"}]),
        "the mock takes no key"
    );

    let (status, created) = ada
        .post(
            &path,
            json!({"name": "prod openai", "provider": "openai", "secret": TENANT_SECRET}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["mask"], "sk-t…cdef");
    assert!(!created.to_string().contains(TENANT_SECRET));
    let (status, _) = ada
        .post(
            &path,
            json!({"name": "claude", "provider": "claude", "secret": "sk-ant-tenant-key-42"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // The tenant's calls carry its own key, as soon as the snapshot has it.
    assert!(
        eventually(Duration::from_secs(2), || async {
            chat(&app, &key, "gpt").await.0 == 200
                && bearer(&openai) == format!("Bearer {TENANT_SECRET}")
        })
        .await,
        "the tenant's key is used"
    );
    assert!(
        eventually(Duration::from_secs(2), || async {
            chat(&app, &key, "claude").await.0 == 200
                && anthropic.last().header("x-api-key") == Some("sk-ant-tenant-key-42")
        })
        .await
    );
    // Everyone else's calls still carry the platform's key.
    assert_eq!(chat(&app, &app.key, "gpt").await.0, 200);
    assert_eq!(bearer(&openai), format!("Bearer {UPSTREAM_KEY}"));
    assert_eq!(chat(&app, &app.key, "claude").await.0, 200);
    assert_eq!(anthropic.last().header("x-api-key"), Some(UPSTREAM_KEY));

    // The secret never comes back: not in lists, not in the audit log, not in the database.
    let (status, list) = ada.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert_eq!(list["items"][0]["mask"], "sk-t…cdef");
    assert!(!list.to_string().contains(TENANT_SECRET));
    let (_, audit) = ada
        .get(&format!("/api/v1/tenants/{tenant}/audit-events"))
        .await;
    assert!(audit.to_string().contains("provider_credential.create"));
    assert!(!audit.to_string().contains(TENANT_SECRET));
    let database = std::fs::read(app.data_dir.join("sluice.db")).unwrap();
    let needle = TENANT_SECRET.as_bytes();
    assert!(
        !database.windows(needle.len()).any(|it| it == needle),
        "the secret is stored encrypted"
    );

    // Removing the credential sends the tenant back to the platform's key.
    let id = created["id"].as_str().unwrap();
    let (status, _) = ada
        .call(Method::DELETE, &format!("{path}/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        eventually(Duration::from_secs(2), || async {
            chat(&app, &key, "gpt").await.0 == 200
                && bearer(&openai) == format!("Bearer {UPSTREAM_KEY}")
        })
        .await
    );
    let (status, problem) = ada
        .call(Method::DELETE, &format!("{path}/{id}"), None)
        .await;
    assert_problem(status, &problem, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_and_internal_urls_are_refused_with_the_field_named() {
    let World { app, .. } = world(&[]).await;
    let (ada, tenant, _) = owner(&app, "ada@example.com").await;
    let path = format!("/api/v1/tenants/{tenant}/provider-credentials");
    let good = json!({"name": "n", "provider": "openai", "secret": "sk-abc"});
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let cases = [
        (with("provider", json!("mock")), "provider"),
        (with("provider", json!("nope")), "provider"),
        (with("provider", json!(7)), "provider"),
        (with("secret", json!("")), "secret"),
        (with("secret", json!("has space")), "secret"),
        (with("secret", json!("s".repeat(5000))), "secret"),
        (with("name", json!("")), "name"),
        (with("name", json!("ü".repeat(101))), "name"),
        (
            with("base_url", json!("http://127.0.0.1:8080/v1")),
            "base_url",
        ),
        (
            with("base_url", json!("http://169.254.169.254/latest")),
            "base_url",
        ),
        (with("base_url", json!("http://localhost/v1")), "base_url"),
        (with("base_url", json!("http://[::1]/v1")), "base_url"),
        (with("base_url", json!("http://10.0.0.8/v1")), "base_url"),
        (with("base_url", json!("file:///etc/passwd")), "base_url"),
        (with("surprise", json!(true)), "surprise"),
        (json!({"name": "n", "provider": "openai"}), "secret"),
    ];
    for (body, field) in cases {
        let (status, problem) = ada.post(&path, body.clone()).await;
        assert_problem(status, &problem, StatusCode::BAD_REQUEST, "invalid_request");
        let named = problem["errors"][0]["field"].as_str().unwrap_or_default();
        assert!(named.contains(field), "{body} -> {problem}");
    }
    let (_, list) = ada.get(&path).await;
    assert_eq!(list["items"], json!([]), "nothing was stored");

    let (status, _) = ada.post(&path, good.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, problem) = ada.post(&path, with("name", json!("other"))).await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");
    let (status, problem) = ada.post(&path, good.clone()).await;
    assert_problem(status, &problem, StatusCode::CONFLICT, "conflict");

    // Roles: a developer may not see or store provider keys; another tenant finds nothing.
    let (status, invitation) = ada
        .post(
            &format!("/api/v1/tenants/{tenant}/invitations"),
            json!({"email": "dev@example.com", "role": "developer"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invitation}");
    let dev = Browser::join(&app, "dev@example.com").await;
    let token = invitation["url"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap();
    let (status, _) = dev
        .post("/api/v1/invitations/accept", json!({"token": token}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, problem) = dev.get(&path).await;
    assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
    let (status, problem) = dev.post(&path, with("provider", json!("claude"))).await;
    assert_problem(status, &problem, StatusCode::FORBIDDEN, "forbidden");
    let mallory = Browser::join(&app, "mallory@example.com").await;
    mallory.create_tenant("Theirs").await;
    let (status, problem) = mallory.get(&path).await;
    assert_problem(status, &problem, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_url_reaches_private_addresses_only_when_the_operator_allows_it() {
    let own = MockUpstream::start(|_| Reply::json(fixtures::text("openai/chat_ok.json"))).await;
    let World { app, openai, .. } = world(&[("SLUICE_ALLOW_PRIVATE_UPSTREAMS", "true")]).await;
    let (ada, tenant, key) = owner(&app, "ada@example.com").await;
    let created = store_credential(
        &ada,
        &tenant,
        json!({"name": "self-hosted", "provider": "openai", "secret": TENANT_SECRET,
                   "base_url": format!("{}/v1/", own.url)}),
    )
    .await;
    assert_eq!(created["base_url"], format!("{}/v1", own.url));
    assert!(
        eventually(Duration::from_secs(2), || async {
            chat(&app, &key, "gpt").await.0 == 200 && !own.requests().is_empty()
        })
        .await,
        "the tenant's calls go to its own URL"
    );
    assert_eq!(own.last().path, "/v1/chat/completions");
    assert_eq!(bearer(&own), format!("Bearer {TENANT_SECRET}"));
    assert_eq!(own.last().json()["model"], "gpt-4o-mini");
    assert!(
        openai
            .requests()
            .iter()
            .all(|it| it.header("authorization") != Some(&format!("Bearer {TENANT_SECRET}"))),
        "the tenant's key never went to the platform's upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_without_the_master_key_refuses_rather_than_using_the_platform_key() {
    let World { app, openai, .. } = world(&[]).await;
    let (ada, tenant, key) = owner(&app, "ada@example.com").await;
    store_credential(
        &ada,
        &tenant,
        json!({"name": "n", "provider": "openai", "secret": TENANT_SECRET}),
    )
    .await;
    let stranger = domain::crypto::MasterKey::generate().to_base64();
    let other = app
        .another_node_with(
            config(&openai.url, &openai.url),
            &[
                ("SLUICE_MASTER_KEY", &stranger),
                ("UPSTREAM_KEY", UPSTREAM_KEY),
            ],
        )
        .await;
    let before = openai.requests().len();
    let (status, body) = chat(&other, &key, "gpt").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "service_unavailable");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("own credential for provider `openai`"),
        "{body}"
    );
    assert_eq!(openai.requests().len(), before, "nothing was sent upstream");
    // Models the tenant brought no key for still work on that node.
    assert_eq!(chat(&other, &key, "mock").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_master_key_reseals_every_secret_and_keeps_them_working() {
    let World { app, openai, .. } = world(&[]).await;
    let (ada, tenant, key) = owner(&app, "ada@example.com").await;
    store_credential(
        &ada,
        &tenant,
        json!({"name": "n", "provider": "openai", "secret": TENANT_SECRET}),
    )
    .await;
    let key_file = app.data_dir.join("master.key");
    let old = std::fs::read_to_string(&key_file).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "only the owner may read the master key");
    }

    let source = MasterKeySource::File(key_file.clone());
    let report = server::master_key::rotate(&source, app.store.as_ref())
        .await
        .unwrap();
    // The provider credential and the token signing key.
    assert!(report.contains("re-sealed 2 of 2"), "{report}");
    let new = std::fs::read_to_string(&key_file).unwrap();
    assert_ne!(new, old);
    let previous = std::fs::read_to_string(app.data_dir.join("master.key.previous")).unwrap();
    assert_eq!(previous, old);
    let sealed = app.store.sealed_secrets().await.unwrap();
    let current = domain::crypto::MasterKey::from_base64(&new).unwrap();
    assert!(sealed.iter().all(|(_, it)| it.kek == current.id()));
    let again = server::master_key::rotate(&source, app.store.as_ref())
        .await
        .unwrap();
    assert!(again.contains("re-sealed 2 of 2"), "{again}");
    let current =
        domain::crypto::MasterKey::from_base64(&std::fs::read_to_string(&key_file).unwrap())
            .unwrap();
    assert_eq!(
        std::fs::read_to_string(app.data_dir.join("master.key.previous"))
            .unwrap()
            .lines()
            .count(),
        2,
        "every older key is kept"
    );

    // A restarted node opens them with only the newest key.
    std::fs::remove_file(app.data_dir.join("master.key.previous")).unwrap();
    app.stop().await;
    let data_dir = app.data_dir.display().to_string();
    let restarted = app
        .another_node_with(
            config(&openai.url, &openai.url),
            &[
                ("SLUICE_DATA_DIR", &data_dir),
                ("UPSTREAM_KEY", UPSTREAM_KEY),
            ],
        )
        .await;
    assert_eq!(chat(&restarted, &key, "gpt").await.0, 200);
    assert_eq!(bearer(&openai), format!("Bearer {TENANT_SECRET}"));

    // With keys from the environment, the operator sets the new key first.
    let env_key = domain::crypto::MasterKey::generate();
    let without_previous = MasterKeySource::Env {
        current: env_key.clone(),
        previous: vec![],
    };
    let err = server::master_key::rotate(&without_previous, app.store.as_ref())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("SLUICE_MASTER_KEY_PREVIOUS"),
        "{err}"
    );
    let wrong_previous = MasterKeySource::Env {
        current: env_key.clone(),
        previous: vec![domain::crypto::MasterKey::generate()],
    };
    let err = server::master_key::rotate(&wrong_previous, app.store.as_ref())
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("not loaded"), "{err:#}");
    assert!(
        app.store
            .sealed_secrets()
            .await
            .unwrap()
            .iter()
            .all(|(_, it)| it.kek == current.id()),
        "a failed rotation changes nothing"
    );
    let with_previous = MasterKeySource::Env {
        current: env_key.clone(),
        previous: vec![current],
    };
    server::master_key::rotate(&with_previous, app.store.as_ref())
        .await
        .unwrap();
    assert!(
        app.store
            .sealed_secrets()
            .await
            .unwrap()
            .iter()
            .all(|(_, it)| it.kek == env_key.id())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_stored_through_one_node_serves_calls_on_another_within_a_second() {
    let openai = MockUpstream::start(|_| Reply::json(fixtures::text("openai/chat_ok.json"))).await;
    let shared = domain::crypto::MasterKey::generate().to_base64();
    let Some(first) = TestApp::builder()
        .config(config(&openai.url, &openai.url))
        .env("UPSTREAM_KEY", UPSTREAM_KEY)
        .env("SLUICE_MASTER_KEY", &shared)
        .postgres()
        .try_spawn()
        .await
    else {
        return;
    };
    let second = first.another_node(config(&openai.url, &openai.url)).await;
    let (ada, tenant, key) = owner(&first, "ada@example.com").await;
    store_credential(
        &ada,
        &tenant,
        json!({"name": "n", "provider": "openai", "secret": TENANT_SECRET}),
    )
    .await;
    assert!(
        eventually(Duration::from_secs(1), || async {
            chat(&second, &key, "gpt").await.0 == 200
                && bearer(&openai) == format!("Bearer {TENANT_SECRET}")
        })
        .await,
        "the other node uses the tenant's key within a second"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operators_private_ca_vouches_for_its_upstream_not_for_a_tenants_url() {
    use it::tls_upstream::{Offers, TlsUpstream, ca_file};
    let upstream = TlsUpstream::start(Offers::H2, |_| {
        Reply::json(fixtures::text("openai/chat_ok.json"))
    })
    .await;
    let app = TestApp::builder()
        .config(format!(
            r#"
[providers.openai]
kind = "openai"
base_url = "{}/v1"
api_key = "env:UPSTREAM_KEY"
ca_file = "{}"

[[models]]
alias = "gpt"
provider = "openai"
model = "gpt-4o-mini"
"#,
            upstream.url,
            ca_file()
        ))
        .env("UPSTREAM_KEY", UPSTREAM_KEY)
        .env("SLUICE_ALLOW_PRIVATE_UPSTREAMS", "true")
        .spawn()
        .await;
    let sent_with = |secret: &str| {
        upstream
            .requests()
            .iter()
            .filter(|(_, it)| it.header("authorization") == Some(&format!("Bearer {secret}")))
            .count()
    };

    // A tenant's key alone: the operator's URL, verified with the operator's CA.
    let (ada, tenant, key) = owner(&app, "ada@example.com").await;
    store_credential(
        &ada,
        &tenant,
        json!({"name": "own key", "provider": "openai", "secret": TENANT_SECRET}),
    )
    .await;
    assert!(
        eventually(Duration::from_secs(2), || async {
            chat(&app, &key, "gpt").await.0 == 200 && sent_with(TENANT_SECRET) > 0
        })
        .await,
        "the tenant's key reaches the operator's TLS upstream"
    );

    // A tenant's own URL, even one naming the same server, is verified against the system's
    // roots, which do not know the operator's CA: refused before anything is sent.
    let bob_secret = "sk-bob-own-key-0123456789abcdef";
    let (bob, tenant, key) = owner_of(&app, "bob@example.com", "Bob Ltd").await;
    store_credential(
        &bob,
        &tenant,
        json!({"name": "own url", "provider": "openai", "secret": bob_secret,
                   "base_url": format!("{}/v1", upstream.url)}),
    )
    .await;
    let mut last = (0, Value::Null);
    for _ in 0..40 {
        last = chat(&app, &key, "gpt").await;
        if last.0 == 502 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(last.0, 502, "{last:?}");
    assert_eq!(last.1["error"]["code"], "upstream_unavailable", "{last:?}");
    assert_eq!(sent_with(bob_secret), 0);
}

/// Every spelling of an internal address the issue found stored as public, with the canary's
/// port: each must be refused when stored, whatever maps it to an address.
fn internal_spellings(port: u16) -> Vec<String> {
    [
        "http://127.0.0.1:{port}/v1",
        "http://127.1:{port}/v1",
        "http://0177.0.0.1:{port}/v1",
        "http://2130706433:{port}/v1",
        "http://0x7f000001:{port}/v1",
        "http://0x7f.1:{port}/v1",
        "http://localhost:{port}/v1",
        "http://①②⑦.0.0.1:{port}/v1",
        "http://１２７.０.０.１:{port}/v1",
        "http://127。0。0。1:{port}/v1",
        "http://127．0．0．1:{port}/v1",
        "http://⓪x7f.1:{port}/v1",
        "http://②①③⓪⑦⓪⑥④③③:{port}/v1",
        "http://ｌｏｃａｌｈｏｓｔ:{port}/v1",
        "http://[::ffff:127.0.0.1]:{port}/v1",
        "http://[::127.0.0.1]:{port}/v1",
        "http://[64:ff9b::7f00:1]:{port}/v1",
        "http://[2002:7f00:1::]:{port}/v1",
        "http://198.18.0.1:{port}/v1",
        "http://240.0.0.1:{port}/v1",
        "http://224.0.0.1:{port}/v1",
        // The store-time and connect-time parsers used to disagree on this one.
        "http://[::ffff:①②⑦.0.0.1]:{port}/v1",
    ]
    .iter()
    .map(|it| it.replace("{port}", &port.to_string()))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_spelling_of_an_internal_host_is_stored_or_ever_reached() {
    let canary = MockUpstream::start(|_| Reply::json(fixtures::text("openai/chat_ok.json"))).await;
    let port: u16 = canary.url.rsplit(':').next().unwrap().parse().unwrap();
    let master = domain::crypto::MasterKey::generate();
    let World { app, .. } = world(&[("SLUICE_MASTER_KEY", &master.to_base64())]).await;
    let (ada, tenant, key) = owner(&app, "ada@example.com").await;
    let path = format!("/api/v1/tenants/{tenant}/provider-credentials");
    for url in internal_spellings(port) {
        let (status, problem) = ada
            .post(
                &path,
                json!({"name": "n", "provider": "openai", "secret": TENANT_SECRET, "base_url": url}),
            )
            .await;
        assert_problem(status, &problem, StatusCode::BAD_REQUEST, "invalid_request");
        assert_eq!(
            problem["errors"][0]["field"], "base_url",
            "{url}: {problem}"
        );
    }
    let (_, list) = ada.get(&path).await;
    assert_eq!(list["items"], json!([]), "nothing was stored");

    // Rows that got in before these rules (written straight to the store) are judged again
    // when the node loads them, and the connector refuses the address it would dial: the
    // tenant's calls fail and never reach the canary, nor fall back to the platform's key.
    let tenant_id: domain::TenantId = tenant.parse().unwrap();
    for url in internal_spellings(port).into_iter().take(3) {
        let credential = domain::credential::ProviderCredential {
            id: domain::CredentialId::new(),
            tenant_id,
            name: "legacy".into(),
            provider: "openai".into(),
            base_url: Some(url.clone()),
            sealed: domain::crypto::seal(&master, TENANT_SECRET.as_bytes()).unwrap(),
            mask: "sk-…cdef".into(),
            created_by: None,
            created_at: time::OffsetDateTime::now_utc(),
        };
        let audit = |action: &str| {
            domain::AuditEntry::new(
                Some(tenant_id),
                domain::Actor {
                    kind: "system".into(),
                    id: None,
                    label: None,
                },
                action,
                time::OffsetDateTime::now_utc(),
            )
        };
        app.store
            .create_credential(&credential, &audit("provider_credential.create"))
            .await
            .unwrap();
        assert!(
            eventually(Duration::from_secs(2), || async {
                chat(&app, &key, "gpt").await.0 == 503
            })
            .await,
            "{url}: the tenant's calls fail rather than reach inside"
        );
        app.store
            .delete_credential(
                tenant_id,
                credential.id,
                &audit("provider_credential.delete"),
            )
            .await
            .unwrap();
        assert!(
            eventually(Duration::from_secs(2), || async {
                chat(&app, &key, "gpt").await.0 == 200
            })
            .await,
            "without the row the platform's key serves again"
        );
    }
    assert!(canary.requests().is_empty(), "the canary was reached");
}

/// Answers every endpoint and mode as OpenAI and Anthropic do, so any call can be routed to it.
pub(crate) fn any_endpoint(req: &it::mock_upstream::Recorded) -> Reply {
    let stream = req.json()["stream"] == true;
    match (req.path.as_str(), stream) {
        ("/v1/messages", true) => Reply::sse(fixtures::sse_frames("anthropic/stream_ok.sse")),
        ("/v1/messages", false) => Reply::json(fixtures::text("anthropic/message_ok.json")),
        ("/v1/embeddings", _) => Reply::json(fixtures::text("openai/embeddings_ok.json")),
        ("/v1/completions", false) => Reply::json(fixtures::text("openai/completion_ok.json")),
        ("/v1/completions", true) => Reply::sse(vec![
            "data: {\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":1,\"model\":\"m\",\"choices\":[{\"text\":\"Hi\",\"index\":0,\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n".into(),
            "data: [DONE]\n\n".into(),
        ]),
        (_, true) => Reply::sse(fixtures::sse_frames("openai/stream_ok.sse")),
        (_, false) => Reply::json(fixtures::text("openai/chat_ok.json")),
    }
}

/// Every endpoint × streamed or not × a model on a native provider or one served through
/// translation: a tenant's call carries the tenant's own key, everyone else's the platform's.
/// (A non-streamed completion on a chat-only provider once went out with the platform's key.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_and_mode_uses_the_tenants_own_key() {
    let openai = MockUpstream::start(any_endpoint).await;
    let anthropic = MockUpstream::start(any_endpoint).await;
    let app = TestApp::builder()
        .config(config(&openai.url, &anthropic.url))
        .env("UPSTREAM_KEY", UPSTREAM_KEY)
        .spawn()
        .await;
    let (ada, tenant, key) = owner(&app, "ada@example.com").await;
    store_credential(
        &ada,
        &tenant,
        json!({"name": "o", "provider": "openai", "secret": TENANT_SECRET}),
    )
    .await;
    store_credential(
        &ada,
        &tenant,
        json!({"name": "a", "provider": "claude", "secret": "sk-ant-tenant-key-42"}),
    )
    .await;
    assert!(
        eventually(Duration::from_secs(2), || async {
            chat(&app, &key, "claude").await.0 == 200
                && anthropic.last().header("x-api-key") == Some("sk-ant-tenant-key-42")
                && chat(&app, &key, "gpt").await.0 == 200
                && bearer(&openai) == format!("Bearer {TENANT_SECRET}")
        })
        .await,
        "the snapshot has both credentials"
    );
    let call = |key: String, path: &'static str, body: Value| {
        let req = app
            .client()
            .post(format!("{}{path}", app.url))
            .header("x-api-key", key)
            .header("anthropic-version", "2023-06-01")
            .json(&body);
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let messages = json!([{"role": "user", "content": "hi"}]);
    for (model, upstream, platform, own) in [
        (
            "gpt",
            &openai,
            "authorization",
            format!("Bearer {TENANT_SECRET}"),
        ),
        (
            "claude",
            &anthropic,
            "x-api-key",
            "sk-ant-tenant-key-42".to_owned(),
        ),
    ] {
        for stream in [false, true] {
            let mut cases = vec![
                (
                    "/v1/chat/completions",
                    json!({"model": model, "stream": stream, "messages": messages}),
                ),
                (
                    "/v1/completions",
                    json!({"model": model, "stream": stream, "prompt": "hi", "max_tokens": 5}),
                ),
                (
                    "/v1/messages",
                    json!({"model": model, "stream": stream, "max_tokens": 5, "messages": messages}),
                ),
            ];
            if !stream && model == "gpt" {
                cases.push(("/v1/embeddings", json!({"model": model, "input": "hi"})));
            }
            for (path, body) in cases {
                let what = format!("{path} {model} stream={stream}");
                let (status, answer) = call(key.clone(), path, body.clone()).await;
                assert_eq!(status, 200, "{what}: {answer}");
                let sent = upstream.last();
                assert_eq!(
                    sent.header(platform),
                    Some(own.as_str()),
                    "{what}: the tenant's key"
                );
                let (status, answer) = call(app.key.clone(), path, body).await;
                assert_eq!(status, 200, "{what}: {answer}");
                let platform_key = if platform == "authorization" {
                    format!("Bearer {UPSTREAM_KEY}")
                } else {
                    UPSTREAM_KEY.to_owned()
                };
                assert_eq!(
                    upstream.last().header(platform),
                    Some(platform_key.as_str()),
                    "{what}: another tenant's call keeps the platform's key"
                );
            }
        }
    }
}
