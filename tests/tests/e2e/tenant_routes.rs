//! Tenants' own aliases: defined through the management API over the platform's deployments
//! and the tenant's own credentials, served on every node within a second, refused with the
//! field at fault when they cannot be served, and never visible to another tenant.

use std::time::Duration;

use it::harness::{TestApp, eventually, json_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::byok::{TENANT_SECRET, owner, owner_of, store_credential};
use crate::common::UPSTREAM_KEY;
use crate::manage::Browser;
use crate::routes::{Fault, routing_headers, world};

async fn put(browser: &Browser, tenant: &str, alias: &str, body: Value) -> (StatusCode, Value) {
    browser
        .call(
            Method::PUT,
            &format!("/api/v1/tenants/{tenant}/routes/{alias}"),
            Some(body),
        )
        .await
}

fn field(problem: &Value) -> String {
    problem["errors"][0]["field"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn hello(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_alias_spreads_over_platform_deployments_and_its_own_key() {
    let w = world("").await;
    let (ada, tenant, key) = owner(&w.app, "ada@example.com").await;
    let body = json!({
        "strategy": "priority",
        "deployments": [
            {"model": "gpt", "deployment": "east"},
            {"provider": "backup", "upstream_model": "gpt-4.1", "priority": 1},
        ],
        "max_attempts": 2,
    });
    let (status, problem) = put(&ada, &tenant, "fast", body.clone()).await;
    assert_eq!(status, 400, "no credential for the backup yet: {problem}");
    assert_eq!(field(&problem), "deployments[1].provider");

    store_credential(
        &ada,
        &tenant,
        json!({"name": "own", "provider": "backup", "secret": TENANT_SECRET}),
    )
    .await;
    let (status, view) = put(&ada, &tenant, "fast", body.clone()).await;
    assert_eq!(status, 201, "{view}");
    let resolved: Vec<(&str, &str, &str, bool)> = view["resolved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| {
            (
                it["name"].as_str().unwrap(),
                it["provider"].as_str().unwrap(),
                it["model"].as_str().unwrap(),
                it["own_credential"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        resolved,
        [
            ("east", "primary", "gpt-4o-mini", false),
            ("backup/gpt-4.1", "backup", "gpt-4.1", true),
        ]
    );

    // Served within a second of the change.
    assert!(
        eventually(Duration::from_secs(1), || async {
            w.app
                .post_as(&key, "/v1/chat/completions", &hello("fast"))
                .await
                .status()
                == 200
        })
        .await
    );
    let res = w
        .app
        .post_as(&key, "/v1/chat/completions", &hello("fast"))
        .await;
    assert_eq!(routing_headers(&res), ("east".into(), "1".into()));
    let first = w.primary.last();
    assert_eq!(first.json()["model"], "gpt-4o-mini");
    assert_eq!(
        first.header("authorization"),
        Some(format!("Bearer {UPSTREAM_KEY}").as_str()),
        "the platform's deployment, with the platform's key"
    );

    // The platform deployment fails: the tenant's own key takes over.
    *w.fault.lock().unwrap() = Fault::Status500;
    let res = w
        .app
        .post_as(&key, "/v1/chat/completions", &hello("fast"))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(routing_headers(&res), ("backup/gpt-4.1".into(), "2".into()));
    let second = w.backup.last();
    assert_eq!(second.json()["model"], "gpt-4.1");
    assert_eq!(
        second.header("authorization"),
        Some(format!("Bearer {TENANT_SECRET}").as_str())
    );

    // Listed for the tenant's keys, in /v1/models and the management API.
    let (_, models) = json_of(w.app.get_as(&key, "/v1/models").await).await;
    let fast = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["id"] == "fast")
        .cloned()
        .unwrap_or_default();
    assert_eq!(fast["owned_by"], "tenant", "{models}");
    let (_, listed) = ada.get(&format!("/api/v1/tenants/{tenant}/models")).await;
    let fast = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["alias"] == "fast")
        .cloned()
        .unwrap_or_default();
    assert_eq!(fast["tenant_defined"], true, "{listed}");
    assert_eq!(fast["deployments"][1]["own_credential"], true);
    let (status, routes) = ada.get(&format!("/api/v1/tenants/{tenant}/routes")).await;
    assert_eq!(status, 200);
    assert_eq!(routes[0]["alias"], "fast");
    assert_eq!(routes[0]["deployments"], view["deployments"]);

    // Nobody else's model: another tenant's key does not see it.
    let (_, _, eve_key) = owner_of(&w.app, "eve@example.com", "Eve Inc").await;
    let res = w
        .app
        .post_as(&eve_key, "/v1/chat/completions", &hello("fast"))
        .await;
    assert_eq!(res.status(), 404);
    let (_, models) = json_of(w.app.get_as(&eve_key, "/v1/models").await).await;
    assert!(!models.to_string().contains("\"fast\""), "{models}");

    // Replaced in place, then removed: callers get an unknown model within a second.
    let (status, _) = put(
        &ada,
        &tenant,
        "fast",
        json!({"deployments": [{"model": "gpt", "deployment": "west"}]}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        eventually(Duration::from_secs(1), || async {
            let res = w
                .app
                .post_as(&key, "/v1/chat/completions", &hello("fast"))
                .await;
            routing_headers(&res).0 == "west"
        })
        .await
    );
    let (status, _) = ada
        .call(
            Method::DELETE,
            &format!("/api/v1/tenants/{tenant}/routes/fast"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert!(
        eventually(Duration::from_secs(1), || async {
            w.app
                .post_as(&key, "/v1/chat/completions", &hello("fast"))
                .await
                .status()
                == 404
        })
        .await
    );
    let (_, audit) = ada
        .get(&format!(
            "/api/v1/tenants/{tenant}/audit-events?action=route.create"
        ))
        .await;
    assert!(audit.to_string().contains("route.create"), "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliases_that_cannot_be_served_are_refused_naming_the_field() {
    let w = world("").await;
    let (ada, tenant, key) = owner(&w.app, "ada@example.com").await;
    let refused = |body: Value, alias: &'static str, expected: &'static str| {
        let ada = &ada;
        let tenant = &tenant;
        async move {
            let (status, problem) = put(ada, tenant, alias, body).await;
            assert_eq!(status, 400, "{alias}: {problem}");
            assert_eq!(problem["code"], "invalid_request", "{problem}");
            assert_eq!(field(&problem), expected, "{problem}");
            problem
        }
    };
    let gpt = json!({"deployments": [{"model": "gpt"}]});
    refused(gpt.clone(), "gpt", "alias").await;
    refused(gpt.clone(), "has%20space", "alias").await;
    refused(json!({"deployments": []}), "x", "deployments").await;
    refused(
        json!({"deployments": [{"model": "nope"}]}),
        "x",
        "deployments[0].model",
    )
    .await;
    refused(
        json!({"deployments": [{"model": "gpt", "deployment": "north"}]}),
        "x",
        "deployments[0].deployment",
    )
    .await;
    refused(
        json!({"deployments": [{"model": "gpt", "provider": "backup", "upstream_model": "m"}]}),
        "x",
        "deployments[0]",
    )
    .await;
    refused(
        json!({"strategy": "weighted", "deployments": [{"model": "gpt", "weight": 0}]}),
        "x",
        "deployments",
    )
    .await;
    refused(
        json!({"strategy": "fastest", "deployments": [{"model": "gpt"}]}),
        "x",
        "strategy",
    )
    .await;
    refused(
        json!({"deployments": [{"model": "gpt"}], "cache_ttl_seconds": 0}),
        "x",
        "cache_ttl_seconds",
    )
    .await;
    refused(
        json!({"deployments": [{"provider": "nobody", "upstream_model": "m"}]}),
        "x",
        "deployments[0].provider",
    )
    .await;

    // A loop of aliases: a → gpt, b → a, then a → b.
    assert_eq!(put(&ada, &tenant, "a", gpt.clone()).await.0, 201);
    assert_eq!(
        put(&ada, &tenant, "b", json!({"deployments": [{"model": "a"}]}))
            .await
            .0,
        201
    );
    let problem = refused(
        json!({"deployments": [{"model": "b"}]}),
        "a",
        "deployments[0].model",
    )
    .await;
    assert!(
        problem.to_string().contains("a → b → a"),
        "the loop is spelled out: {problem}"
    );
    // What was serving keeps serving.
    assert!(
        eventually(Duration::from_secs(1), || async {
            w.app
                .post_as(&key, "/v1/chat/completions", &hello("b"))
                .await
                .status()
                == 200
        })
        .await
    );
    let (status, problem) = ada
        .call(
            Method::DELETE,
            &format!("/api/v1/tenants/{tenant}/routes/a"),
            None,
        )
        .await;
    assert_eq!(status, 409, "`b` names `a`: {problem}");
    let (status, _) = ada
        .call(
            Method::DELETE,
            &format!("/api/v1/tenants/{tenant}/routes/nope"),
            None,
        )
        .await;
    assert_eq!(status, 404);

    // Someone else's tenant: as if it did not exist.
    let (eve, _, _) = owner_of(&w.app, "eve@example.com", "Eve Inc").await;
    let (status, _) = put(&eve, &tenant, "mine", gpt).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alias_stored_through_one_node_is_served_by_another_within_a_second() {
    const MOCK: &str =
        "[providers.mock]\nkind = \"mock\"\n\n[[models]]\nalias = \"mock\"\nprovider = \"mock\"\n";
    let Some(first) = TestApp::builder().config(MOCK).postgres().try_spawn().await else {
        return;
    };
    let second = first.another_node(MOCK).await;
    let (key, secret) = first.create_key(gateway::admin::NewKey::default()).await;
    let now = time::OffsetDateTime::now_utc();
    let route = domain::route::TenantRoute {
        tenant_id: key.tenant_id,
        alias: "mine".into(),
        spec: domain::route::RouteSpec {
            strategy: "priority".into(),
            targets: vec![domain::route::RouteTarget {
                serves: domain::route::Serves::Model {
                    model: "mock".into(),
                    deployment: None,
                },
                weight: 1,
                priority: 0,
            }],
            max_attempts: None,
            timeout_ms: None,
            fallback_on_context_window: false,
            cache_ttl_seconds: None,
        },
        updated_by: None,
        created_at: now,
        updated_at: now,
    };
    let audit = domain::AuditEntry::new(
        Some(key.tenant_id),
        domain::Actor::cli(),
        "route.create",
        now,
    );
    first.store.put_route(&route, &audit).await.unwrap();
    for node in [&first, &second] {
        assert!(
            eventually(Duration::from_secs(1), || async {
                node.post_as(&secret, "/v1/chat/completions", &hello("mine"))
                    .await
                    .status()
                    == 200
            })
            .await,
            "served on every node within a second"
        );
    }
}

/// An alias over a platform model shares its deployments' ceilings (the upstream's budget is
/// one, whoever names it) and never includes its shadow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alias_shares_the_platforms_ceilings_and_leaves_its_shadows_out() {
    let w = world(
        r#"
[[models]]
alias = "capped"
breaker = { enabled = false }
deployments = [
  { name = "east", provider = "primary", model = "gpt-4o-mini", rpm = 1 },
  { name = "copy", provider = "backup", model = "candidate", shadow = true },
]
"#,
    )
    .await;
    let (ada, tenant, key) = owner(&w.app, "ada@example.com").await;
    let (status, view) = put(
        &ada,
        &tenant,
        "mine",
        json!({"deployments": [{"model": "capped"}]}),
    )
    .await;
    assert_eq!(status, 201, "{view}");
    let names: Vec<&str> = view["resolved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["east"],
        "the shadow is not a deployment of the alias"
    );
    let (status, problem) = put(
        &ada,
        &tenant,
        "copycat",
        json!({"deployments": [{"model": "capped", "deployment": "copy"}]}),
    )
    .await;
    assert_eq!(status, 400, "{problem}");

    // One call through the platform's name uses the minute's only request...
    let (status, _) = w.app.chat(&hello("capped")).await;
    assert_eq!(status, 200);
    // ...so the alias's call finds the deployment full.
    let res = w
        .app
        .post_as(&key, "/v1/chat/completions", &hello("mine"))
        .await;
    assert_eq!(res.status(), 429);
    let (_, body) = json_of(res).await;
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
}

/// A tenant runs its own experiment: each end user sticks to one arm of its alias.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_split_alias_keeps_each_end_user_on_one_arm() {
    let w = world("").await;
    let (ada, tenant, key) = owner(&w.app, "ada@example.com").await;
    let (status, view) = put(
        &ada,
        &tenant,
        "ab",
        json!({"strategy": "split", "deployments": [
            {"model": "gpt", "deployment": "east", "weight": 50},
            {"model": "gpt", "deployment": "west", "weight": 50},
        ]}),
    )
    .await;
    assert_eq!(status, 201, "{view}");
    let mut arms = std::collections::HashSet::new();
    for user in 0..20 {
        let ask = json!({"model": "ab", "user": format!("user-{user}"), "messages": [{"role": "user", "content": "hi"}]});
        let first = routing_headers(&w.app.post_as(&key, "/v1/chat/completions", &ask).await).0;
        for _ in 0..3 {
            let again = routing_headers(&w.app.post_as(&key, "/v1/chat/completions", &ask).await).0;
            assert_eq!(again, first, "user-{user} sticks to its arm");
        }
        arms.insert(first);
    }
    assert_eq!(arms.len(), 2, "twenty users land on both arms: {arms:?}");
}
