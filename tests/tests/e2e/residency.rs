//! Data residency: a tenant, or a key, keeps its calls to deployments in given regions. No
//! try, fallback or cached answer ever comes from elsewhere; a model with nothing there is
//! refused in words; another tenant is unaffected.

use std::time::Duration;

use it::harness::{eventually, json_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::byok::owner;
use crate::manage::Browser;
use crate::routes::{Fault, routing_headers, world};

const MODELS: &str = r#"
[[models]]
alias = "geo"
breaker = { enabled = false }
deployments = [
  { name = "east", provider = "primary", model = "gpt-4o-mini", region = "eu" },
  { name = "west", provider = "backup", model = "gpt-4o-mini", region = "us", priority = 1 },
]

[[models]]
alias = "mirrored"
breaker = { enabled = false }
deployments = [
  { name = "east", provider = "primary", model = "gpt-4o-mini", region = "eu" },
  { name = "copy", provider = "backup", model = "candidate", region = "us", shadow = true },
]

[[models]]
alias = "kept"
breaker = { enabled = false }
cache = { ttl_secs = 300 }
deployments = [
  { name = "west", provider = "backup", model = "gpt-4o-mini", region = "us" },
  { name = "east", provider = "primary", model = "gpt-4o-mini", region = "eu", priority = 1 },
]
"#;

fn hello(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}]})
}

async fn residency(browser: &Browser, tenant: &str, regions: Value) -> (StatusCode, Value) {
    browser
        .call(
            Method::PUT,
            &format!("/api/v1/tenants/{tenant}/residency"),
            Some(json!({ "regions": regions })),
        )
        .await
}

async fn key_in(browser: &Browser, tenant: &str, regions: Value) -> String {
    let (status, created) = browser
        .post(
            &format!("/api/v1/tenants/{tenant}/keys"),
            json!({"name": "kept", "regions": regions}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["key"]["regions"], regions);
    created["secret"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_kept_to_a_region_never_falls_over_or_is_answered_from_elsewhere() {
    let w = world(MODELS).await;
    let (ada, tenant, key) = owner(&w.app, "ada@example.com").await;
    let (status, view) = ada
        .get(&format!("/api/v1/tenants/{tenant}/residency"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(view, json!({"regions": [], "available": ["eu", "us"]}));
    let (status, problem) = residency(&ada, &tenant, json!(["mars"])).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "regions");
    let (status, view) = residency(&ada, &tenant, json!(["eu"])).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["regions"], json!(["eu"]));

    // Within a second: models with nothing in the region are not listed, nor served.
    assert!(
        eventually(Duration::from_secs(1), || async {
            let (_, models) = json_of(w.app.get_as(&key, "/v1/models").await).await;
            !models.to_string().contains("\"gpt\"")
        })
        .await,
        "`gpt` has no deployment in a region"
    );
    let (status, refused) = json_of(
        w.app
            .post_as(&key, "/v1/chat/completions", &hello("gpt"))
            .await,
    )
    .await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["error"]["code"], "region_not_allowed");
    assert_eq!(refused["error"]["type"], "permission_error");

    let res = w
        .app
        .post_as(&key, "/v1/chat/completions", &hello("geo"))
        .await;
    assert_eq!(routing_headers(&res), ("east".into(), "1".into()));
    // The eu deployment fails: the us one would answer, but the call stays in the eu.
    *w.fault.lock().unwrap() = Fault::Status500;
    let before = w.backup.requests().len();
    let res = w
        .app
        .post_as(&key, "/v1/chat/completions", &hello("geo"))
        .await;
    assert_eq!(res.status(), 502);
    // The route's two tries both went to the eu deployment.
    assert_eq!(routing_headers(&res), ("east".into(), "2".into()));
    assert_eq!(w.backup.requests().len(), before, "nothing reached the us");

    // Nor does a shadow copy: the us candidate never sees this tenant's calls.
    *w.fault.lock().unwrap() = Fault::Ok;
    let res = w
        .app
        .post_as(&key, "/v1/chat/completions", &hello("mirrored"))
        .await;
    assert_eq!(routing_headers(&res).0, "east");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.backup.requests().len(), before, "no copy reached the us");
    *w.fault.lock().unwrap() = Fault::Status500;

    // Another tenant's calls still fall over.
    let (_, _, other) = crate::byok::owner_of(&w.app, "eve@example.com", "Eve Inc").await;
    let res = w
        .app
        .post_as(&other, "/v1/chat/completions", &hello("geo"))
        .await;
    assert_eq!(routing_headers(&res), ("west".into(), "2".into()));

    // An answer kept for a caller free to go anywhere (it came from the us) is not one for
    // a caller kept to the eu.
    *w.fault.lock().unwrap() = Fault::Ok;
    let res = w
        .app
        .post_as(&other, "/v1/chat/completions", &hello("kept"))
        .await;
    assert_eq!(routing_headers(&res).0, "west");
    let res = w
        .app
        .post_as(&other, "/v1/chat/completions", &hello("kept"))
        .await;
    assert_eq!(res.headers()["x-cache"], "hit");
    let (zoe, zoe_tenant, _) = crate::byok::owner_of(&w.app, "zoe@example.com", "Zoe Inc").await;
    let kept_key = key_in(&zoe, &zoe_tenant, json!(["eu"])).await;
    let eu_only = w
        .app
        .post_as(&kept_key, "/v1/chat/completions", &hello("kept"))
        .await;
    assert_eq!(eu_only.status(), 200);
    assert_eq!(routing_headers(&eu_only).0, "east");
    assert_eq!(eu_only.headers()["x-cache"], "miss");

    // Lifted: the tenant's calls fall over again.
    let (status, _) = residency(&ada, &tenant, json!([])).await;
    assert_eq!(status, 200);
    *w.fault.lock().unwrap() = Fault::Status500;
    assert!(
        eventually(Duration::from_secs(1), || async {
            let res = w
                .app
                .post_as(&key, "/v1/chat/completions", &hello("geo"))
                .await;
            routing_headers(&res).0 == "west"
        })
        .await
    );
    let (_, audit) = ada
        .get(&format!(
            "/api/v1/tenants/{tenant}/audit-events?action=tenant.residency"
        ))
        .await;
    assert!(audit.to_string().contains("tenant.residency"), "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_narrows_its_tenants_regions() {
    let w = world(MODELS).await;
    let (ada, tenant, _) = owner(&w.app, "ada@example.com").await;
    let us = key_in(&ada, &tenant, json!(["us"])).await;
    // The eu deployment is healthy and first, but this key's calls go to the us only.
    let res = w
        .app
        .post_as(&us, "/v1/chat/completions", &hello("geo"))
        .await;
    assert_eq!(routing_headers(&res), ("west".into(), "1".into()));

    // A key kept to the us in a tenant kept to the eu: nothing is left.
    let (status, _) = residency(&ada, &tenant, json!(["eu"])).await;
    assert_eq!(status, 200);
    assert!(
        eventually(Duration::from_secs(1), || async {
            w.app
                .post_as(&us, "/v1/chat/completions", &hello("geo"))
                .await
                .status()
                == 403
        })
        .await
    );
    // A bad region in a key is refused with the field.
    let (status, problem) = ada
        .post(
            &format!("/api/v1/tenants/{tenant}/keys"),
            json!({"regions": ["e u"]}),
        )
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "regions");
    // Editing a key's regions takes effect too.
    let (_, keys) = ada.get(&format!("/api/v1/tenants/{tenant}/keys")).await;
    let id = keys["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["regions"] == json!(["us"]))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, edited) = ada
        .call(
            Method::PATCH,
            &format!("/api/v1/tenants/{tenant}/keys/{id}"),
            Some(json!({"regions": ["eu"]})),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert!(
        eventually(Duration::from_secs(1), || async {
            let res = w
                .app
                .post_as(&us, "/v1/chat/completions", &hello("geo"))
                .await;
            routing_headers(&res).0 == "east"
        })
        .await
    );
}
