//! Forwarded headers: ignored from peers that are not configured trusted proxies (the
//! default), believed from those that are, so a key's IP allow-list sees the real client behind
//! a load balancer and nobody else can claim an address.

use gateway::admin::NewKey;
use it::harness::{TestApp, json_of};
use serde_json::json;

use crate::common::mock_app;

const MOCK: &str = r#"
[providers.mock]
kind = "mock"

[[models]]
alias = "mock"
provider = "mock"
"#;

/// A key usable only from `network`, visible to the data plane once this returns.
async fn key_limited_to(app: &TestApp, network: &str) -> String {
    let (mut key, secret) = app.create_key(NewKey::default()).await;
    key.scopes.ip_allowlist = vec![network.parse().unwrap()];
    let audit = domain::AuditEntry::new(
        Some(app.tenant),
        domain::Actor::cli(),
        "key.update",
        time::OffsetDateTime::now_utc(),
    );
    app.store
        .update_key(app.tenant, &key, &audit)
        .await
        .unwrap();
    app.gateway.access.reload(app.store.as_ref()).await.unwrap();
    secret
}

/// The status and error code of a chat call with `headers`.
async fn chat_with(app: &TestApp, key: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut req = app
        .client()
        .post(format!("{}/v1/chat/completions", app.url))
        .bearer_auth(key)
        .json(&json!({"model": "mock", "messages": [{"role": "user", "content": "hi"}]}));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let (status, body) = json_of(req.send().await.unwrap()).await;
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_headers_from_an_untrusted_peer_are_ignored() {
    let app = mock_app().await;
    let remote = key_limited_to(&app, "203.0.113.0/24").await;
    let local = key_limited_to(&app, "127.0.0.0/8").await;
    let forged: [&[(&str, &str)]; 3] = [
        &[("x-forwarded-for", "203.0.113.9")],
        &[("forwarded", "for=203.0.113.9")],
        &[("x-real-ip", "203.0.113.9")],
    ];
    for headers in forged {
        assert_eq!(
            chat_with(&app, &remote, headers).await,
            (403, "ip_not_allowed".into()),
            "{headers:?} does not move the caller into the allowed network"
        );
        assert_eq!(
            chat_with(&app, &local, headers).await.0,
            200,
            "{headers:?} does not move the caller out of its own network"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_allow_list_sees_the_forwarded_client() {
    let app = TestApp::builder()
        .config(MOCK)
        .env("SLUICE_TRUSTED_PROXIES", "127.0.0.1/32")
        .spawn()
        .await;
    let remote = key_limited_to(&app, "203.0.113.0/24").await;
    assert_eq!(
        chat_with(&app, &remote, &[("x-forwarded-for", "203.0.113.9")])
            .await
            .0,
        200,
        "the client the proxy reports"
    );
    assert_eq!(
        chat_with(&app, &remote, &[("forwarded", "for=\"203.0.113.9:4711\"")])
            .await
            .0,
        200,
        "the same in RFC 7239's header"
    );
    assert_eq!(
        chat_with(&app, &remote, &[]).await,
        (403, "ip_not_allowed".into()),
        "without a forwarded client, the proxy itself is the caller"
    );
    assert_eq!(
        chat_with(
            &app,
            &remote,
            &[("x-forwarded-for", "203.0.113.9, 198.51.100.1")]
        )
        .await,
        (403, "ip_not_allowed".into()),
        "a client that writes an allowed address before its own does not pass"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_throttling_and_the_audit_trail_see_the_forwarded_client() {
    let app = TestApp::builder()
        .config(MOCK)
        .env("SLUICE_TRUSTED_PROXIES", "127.0.0.1/32")
        .spawn()
        .await;
    crate::manage::Browser::join(&app, "operator@platform.example").await;
    let res = app
        .client()
        .post(format!("{}/api/v1/auth/login", app.url))
        .header("x-forwarded-for", "203.0.113.77")
        .json(&json!({"email": "operator@platform.example", "password": "wrong password 123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let failures = app
        .store
        .list_audit(
            &store::AuditFilter {
                action_prefix: Some("user.login_failed".into()),
                ..store::AuditFilter::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(
        failures
            .iter()
            .map(|it| it.entry.ip.as_deref())
            .collect::<Vec<_>>(),
        [Some("203.0.113.77")],
        "the failed sign-in is recorded from the client's address"
    );
}

/// `GET /api/v1/branding`'s partner for a request from this machine with `headers`.
async fn partner_seen(app: &TestApp, headers: &[(&str, &str)]) -> Option<String> {
    let mut req = app.client().get(format!("{}/api/v1/branding", app.url));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let (status, body) = json_of(req.send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    body["partner_id"].as_str().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_host_counts_only_from_a_trusted_proxy() {
    let forwarded: [&[(&str, &str)]; 2] = [
        &[("x-forwarded-host", crate::partners::HOST)],
        &[("forwarded", "for=203.0.113.9;host=ai.acme.example")],
    ];
    let direct = mock_app().await;
    let direct_world = crate::partners::world(&direct).await;
    assert_eq!(
        partner_seen(&direct, &[("host", crate::partners::HOST)]).await,
        Some(direct_world.partner.clone()),
        "the Host header itself counts"
    );
    for headers in forwarded {
        assert_eq!(
            partner_seen(&direct, headers).await,
            None,
            "{headers:?} from an untrusted peer is ignored"
        );
    }
    let proxied = TestApp::builder()
        .config(MOCK)
        .env("SLUICE_TRUSTED_PROXIES", "127.0.0.1/32")
        .spawn()
        .await;
    let world = crate::partners::world(&proxied).await;
    for headers in forwarded {
        assert_eq!(
            partner_seen(&proxied, headers).await,
            Some(world.partner.clone()),
            "{headers:?} from the trusted proxy picks the partner"
        );
    }

    // A service account created through the proxy on the partner's domain over HTTPS is
    // told that domain's token endpoint, over HTTPS; without the proxy, the platform's.
    for (world, expected) in [
        (
            world,
            format!("https://{}/oauth/token", crate::partners::HOST),
        ),
        (
            direct_world,
            format!("{}/oauth/token", direct.manager.token_issuer()),
        ),
    ] {
        let partner = world.partner;
        let admin = world
            .admin
            .with_header("x-forwarded-host", crate::partners::HOST)
            .with_header("x-forwarded-proto", "https");
        let (_, tenant) = admin
            .post(
                &format!("/api/v1/partners/{partner}/tenants"),
                json!({"name": "Customer"}),
            )
            .await;
        let tenant = tenant["id"].as_str().unwrap();
        let (status, account) = admin
            .post(
                &format!("/api/v1/tenants/{tenant}/service-accounts"),
                json!({"name": "robot"}),
            )
            .await;
        assert_eq!(status, 201, "{account}");
        assert_eq!(account["token_url"], expected.as_str(), "{account}");
    }
}
