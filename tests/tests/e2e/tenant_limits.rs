//! Limits above keys: a tenant's shared by all its keys and per model, which models it may
//! use, its budgets by period (hard refuse, soft only alert, each threshold once), a partner's
//! shared by its sub-tenants, the platform's for every tenant; what each holds now through the
//! management API; bad policies refused naming the field, changing nothing; and what happens
//! when the shared counters are down, as each tenant's policy says.

use std::time::Duration;

use it::harness::{TestApp, json_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::manage::Browser;

const CONFIG: &str = r#"
[providers.mock]
kind = "mock"

[[models]]
alias = "echo"
provider = "mock"
model = "echo-1"

[[models]]
alias = "other"
provider = "mock"
model = "echo-2"

[[pricing.cost]]
provider = "mock"
model = "echo-1"
input = "1"
output = "2"

[[pricing.cost]]
provider = "mock"
model = "echo-2"
input = "1"
output = "2"
"#;

fn ask(model: &str) -> Value {
    json!({"model": model, "max_tokens": 5,
           "messages": [{"role": "user", "content": "count me"}]})
}

async fn key_of(browser: &Browser, tenant: &str) -> String {
    let (status, key) = browser
        .post(
            &format!("/api/v1/tenants/{tenant}/keys"),
            json!({"name": "app"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    key["secret"].as_str().unwrap().to_owned()
}

async fn put(browser: &Browser, path: &str, policy: Value) -> (StatusCode, Value) {
    browser.call(Method::PUT, path, Some(policy)).await
}

/// Calls `model` until a call is refused (at most `most` calls): how many were answered, and
/// the refusal.
async fn until_refused(
    app: &TestApp,
    key: &str,
    model: &str,
    most: usize,
) -> (usize, Option<(u16, Value)>) {
    for answered in 0..most {
        let res = app.post_as(key, "/v1/chat/completions", &ask(model)).await;
        if res.status() != 200 {
            let (status, body) = json_of(res).await;
            return (answered, Some((status, body)));
        }
    }
    (most, None)
}

/// Waits until a policy written on this node reaches its snapshot (a call sees it).
async fn settle() {
    tokio::time::sleep(Duration::from_millis(100)).await;
}

fn usage_of<'a>(view: &'a Value, owner: &str, kind: &str) -> &'a Value {
    view["usage"]
        .as_array()
        .or(view["limits"].as_array())
        .unwrap()
        .iter()
        .find(|it| it["owner"] == owner && it["kind"] == kind)
        .unwrap_or_else(|| panic!("no {owner} {kind} in {view}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_limit_is_shared_by_its_keys_and_shown_with_what_remains() {
    let app = TestApp::builder().config(CONFIG).spawn().await;
    let owner = Browser::join(&app, "ada@example.com").await;
    let tenant = owner.create_tenant("Shared").await;
    let (first, second) = (key_of(&owner, &tenant).await, key_of(&owner, &tenant).await);
    let path = format!("/api/v1/tenants/{tenant}/limits");
    let (status, view) = put(&owner, &path, json!({"requests_per_minute": 3})).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["set"], true);
    assert_eq!(view["editable"], true);
    settle().await;

    for key in [&first, &second, &first] {
        let res = app.post_as(key, "/v1/chat/completions", &ask("echo")).await;
        assert_eq!(res.status(), 200);
    }
    let res = app
        .post_as(&second, "/v1/chat/completions", &ask("echo"))
        .await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let (_, body) = json_of(res).await;
    assert_eq!(body["error"]["code"], "rate_limited");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("this tenant's limit of 3 requests per minute"),
        "{message}"
    );

    let (status, view) = owner.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let rpm = usage_of(&view, "tenant", "requests_per_minute");
    assert_eq!(
        (rpm["limit"].as_u64(), rpm["used"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(rpm["remaining"], 0);
    assert!(rpm["resets_at"].as_str().is_some());

    // A key's effective limits show the tenant's with the key's own.
    let (_, keys) = owner.get(&format!("/api/v1/tenants/{tenant}/keys")).await;
    let key_id = keys["items"][0]["id"].as_str().unwrap();
    let (status, effective) = owner
        .get(&format!("/api/v1/tenants/{tenant}/keys/{key_id}/limits"))
        .await;
    assert_eq!(status, StatusCode::OK, "{effective}");
    assert_eq!(
        usage_of(&effective, "tenant", "requests_per_minute")["used"],
        3
    );

    // Removing the policy lifts the limit.
    let (status, _) = owner.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    settle().await;
    let res = app
        .post_as(&second, "/v1/chat/completions", &ask("echo"))
        .await;
    assert_eq!(res.status(), 200);
    let (_, view) = owner.get(&path).await;
    assert_eq!(view["set"], false);
    assert_eq!(view["usage"], json!([]));
    assert_eq!(view["policy"]["counters_down"], "default");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_limits_one_model_and_keeps_its_keys_from_another() {
    let app = TestApp::builder().config(CONFIG).spawn().await;
    let owner = Browser::join(&app, "ada@example.com").await;
    let tenant = owner.create_tenant("Models").await;
    let key = key_of(&owner, &tenant).await;
    let path = format!("/api/v1/tenants/{tenant}/limits");
    let (status, view) = put(
        &owner,
        &path,
        json!({"models": {"echo": {"requests_per_minute": 1}}, "denied_models": ["other"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    settle().await;

    let (answered, refused) = until_refused(&app, &key, "echo", 5).await;
    assert_eq!(answered, 1);
    let (status, body) = refused.unwrap();
    assert_eq!(status, 429);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("limit for `echo`"), "{message}");

    let res = app
        .post_as(&key, "/v1/chat/completions", &ask("other"))
        .await;
    let (status, body) = json_of(res).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("model_not_allowed")),
        "{body}"
    );
    let res = app
        .client()
        .get(format!("{}/v1/models", app.url))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    let (_, models) = json_of(res).await;
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"echo") && !ids.contains(&"other"), "{ids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hard_budgets_refuse_soft_ones_alert_once_per_threshold() {
    let app = TestApp::builder().config(CONFIG).spawn().await;
    let owner = Browser::join(&app, "ada@example.com").await;
    let tenant = owner.create_tenant("Budgets").await;
    let key = key_of(&owner, &tenant).await;
    let path = format!("/api/v1/tenants/{tenant}/limits");
    // A call reserves its prompt and 5 tokens of answer; 60 tokens a day hold a few calls.
    // The soft spend budget of 1 micro-dollar a week is passed by the first call.
    let (status, view) = put(
        &owner,
        &path,
        json!({"budgets": [
            {"period": "day", "tokens": 60},
            {"period": "week", "spend": "0.000001", "hard": false, "alert_at_percent": [50, 100, 1000]},
        ]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    settle().await;
    let (answered, refused) = until_refused(&app, &key, "echo", 30).await;
    assert!((2..30).contains(&answered), "{answered} calls fit");
    let (status, body) = refused.unwrap();
    assert_eq!(status, 429);
    assert_eq!(body["error"]["code"], "insufficient_quota", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("a daily budget of 60 tokens") && message.contains("midnight"),
        "{message}"
    );

    let (_, view) = owner.get(&path).await;
    let tokens = usage_of(&view, "tenant", "tokens");
    assert_eq!(tokens["period"], "day");
    assert!(tokens["used"].as_u64().unwrap() <= 60, "{tokens}");
    let spend = usage_of(&view, "tenant", "spend");
    assert_eq!(spend["hard"], false);
    assert_eq!(spend["limit_amount"], "0.000001");
    assert!(
        spend["used"].as_u64().unwrap() > 1,
        "a soft budget counts past its limit: {spend}"
    );

    // Each threshold the soft budget passed raised one alert, however many calls passed it.
    let mut thresholds = Vec::new();
    for _ in 0..50 {
        let (status, alerts) = owner.get(&format!("/api/v1/tenants/{tenant}/alerts")).await;
        assert_eq!(status, StatusCode::OK, "{alerts}");
        thresholds = alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|it| {
                assert_eq!(it["budget"], "spend");
                assert_eq!(it["owner"], "tenant");
                it["threshold_percent"].as_u64().unwrap()
            })
            .collect::<Vec<_>>();
        if thresholds.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    thresholds.sort_unstable();
    assert_eq!(thresholds, [50, 100, 1000]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partners_limit_is_shared_by_its_tenants_and_set_by_operators_only() {
    let app = TestApp::builder().config(CONFIG).spawn().await;
    let crate::partners::World {
        operator,
        admin,
        partner,
    } = crate::partners::world(&app).await;
    let mut keys = Vec::new();
    for name in ["Customer One", "Customer Two"] {
        let (status, tenant) = admin
            .post(
                &format!("/api/v1/partners/{partner}/tenants"),
                json!({"name": name}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{tenant}");
        keys.push(key_of(&admin, tenant["id"].as_str().unwrap()).await);
    }
    let path = format!("/api/v1/partners/{partner}/limits");
    let (status, problem) = put(&admin, &path, json!({"requests_per_minute": 100})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, view) = put(&operator, &path, json!({"requests_per_minute": 3})).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let (status, view) = admin.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(
        (
            view["policy"]["requests_per_minute"].as_u64(),
            view["editable"].as_bool()
        ),
        (Some(3), Some(false))
    );
    settle().await;

    for key in [&keys[0], &keys[1], &keys[0]] {
        let res = app.post_as(key, "/v1/chat/completions", &ask("echo")).await;
        assert_eq!(res.status(), 200);
    }
    let res = app
        .post_as(&keys[1], "/v1/chat/completions", &ask("echo"))
        .await;
    let (status, body) = json_of(res).await;
    assert_eq!(status, 429, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("shared limit"), "{message}");
    let (_, view) = admin.get(&path).await;
    let shared = usage_of(&view, "partner", "requests_per_minute");
    assert_eq!(
        (shared["used"].as_u64(), shared["limit"].as_u64()),
        (Some(3), Some(3)),
        "{view}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platforms_limit_holds_for_each_tenant_on_its_own_and_locks_hold() {
    let app = TestApp::builder().config(CONFIG).spawn().await;
    let operator = Browser::join(&app, "operator@example.com").await;
    let (status, problem) = put(
        &operator,
        "/api/v1/platform/limits",
        json!({"requests_per_minute": 2, "locked": true}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "only a tenant's lock: {problem}"
    );
    let (status, view) = put(
        &operator,
        "/api/v1/platform/limits",
        json!({"requests_per_minute": 2}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let owner = Browser::join(&app, "ada@example.com").await;
    let (status, problem) = owner.get("/api/v1/platform/limits").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (a, b) = (
        owner.create_tenant("A").await,
        owner.create_tenant("B").await,
    );
    let (key_a, key_b) = (key_of(&owner, &a).await, key_of(&owner, &b).await);
    settle().await;
    assert_eq!(until_refused(&app, &key_a, "echo", 5).await.0, 2);
    assert_eq!(
        until_refused(&app, &key_b, "echo", 5).await.0,
        2,
        "each on its own"
    );
    let (_, view) = owner.get(&format!("/api/v1/tenants/{a}/limits")).await;
    assert_eq!(
        usage_of(&view, "platform", "requests_per_minute")["used"],
        2
    );

    // The operator locks tenant A's limits: its owner reads them but cannot change them.
    let path = format!("/api/v1/tenants/{a}/limits");
    let (status, problem) = put(
        &owner,
        &path,
        json!({"requests_per_day": 5, "locked": true}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "locked", "{problem}");
    let (status, _) = put(
        &operator,
        &path,
        json!({"requests_per_day": 500, "locked": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, view) = owner.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["editable"], false);
    let (status, problem) = put(&owner, &path, json!({"requests_per_day": 5000})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, _) = owner.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, view) = owner.get(&path).await;
    assert_eq!(view["policy"]["requests_per_day"], 500, "nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_policies_are_400_naming_the_field_and_change_nothing() {
    let app = TestApp::builder().config(CONFIG).spawn().await;
    let owner = Browser::join(&app, "ada@example.com").await;
    let tenant = owner.create_tenant("Careful").await;
    let path = format!("/api/v1/tenants/{tenant}/limits");
    let (status, _) = put(&owner, &path, json!({"requests_per_minute": 7})).await;
    assert_eq!(status, StatusCode::OK);
    let cases = [
        (json!({"requests_per_minute": 0}), "requests_per_minute"),
        (json!({"requests_per_minute": -1}), "requests_per_minute"),
        (json!({"tokens_per_day": 1.5}), "tokens_per_day"),
        (
            json!({"budgets": [{"period": "fortnight", "tokens": 5}]}),
            "budgets[0].period",
        ),
        (
            json!({"budgets": [{"period": "month", "spend": 5.5}]}),
            "budgets[0].spend",
        ),
        (
            json!({"budgets": [{"period": "month", "spend": "1.0000001"}]}),
            "budgets[0].spend",
        ),
        (
            json!({"budgets": [{"period": "month", "spend": "-5"}]}),
            "budgets[0].spend",
        ),
        (
            json!({"budgets": [{"period": "month", "spend": "5", "tokens": 5}]}),
            "budgets[0].spend",
        ),
        (
            json!({"budgets": [{"period": "month", "spend": "5", "currency": "EUR"}]}),
            "budgets[0].currency",
        ),
        (
            json!({"budgets": [{"period": "day", "tokens": 5, "alert_at_percent": [80, 50]}]}),
            "budgets[0].alert_at_percent",
        ),
        (
            json!({"budgets": [{"period": "day", "tokens": 5}, {"period": "day", "tokens": 9}]}),
            "budgets[1].period",
        ),
        (
            json!({"models": {"echo": {"max_concurrent": 0}}}),
            "models.echo.max_concurrent",
        ),
        (json!({"counters_down": "sometimes"}), "counters_down"),
        (json!({"denied_models": ["a\u{0}b"]}), "denied_models"),
        (json!({"requests_per_hour": 5}), "requests_per_hour"),
    ];
    for (body, field) in cases {
        let (status, problem) = put(&owner, &path, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {problem}");
        let named = problem["errors"][0]["field"].as_str().unwrap_or_default();
        assert!(
            named == field || named.ends_with(field),
            "{body}: expected `{field}`, got {problem}"
        );
    }
    let (_, view) = owner.get(&path).await;
    assert_eq!(
        view["policy"],
        json!({"requests_per_minute": 7, "budgets": [], "models": {}, "allowed_models": [],
               "denied_models": [], "counters_down": "default", "locked": false}),
        "nothing changed"
    );
}

/// Nodes whose shared counters are unreachable (nothing listens at the Redis address).
async fn app_without_counters() -> TestApp {
    let extra = "\n[redis]\nurl = \"redis://127.0.0.1:9\"\n";
    TestApp::builder()
        .config(format!("{CONFIG}{extra}"))
        .spawn()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_counters_down_each_tenant_fails_open_or_closed_as_it_says() {
    let app = app_without_counters().await;
    let owner = Browser::join(&app, "ada@example.com").await;
    let cases = [
        // Rates alone fall back to the node's own counters by default.
        (json!({"requests_per_minute": 100}), 200),
        // A hard budget fails closed by default.
        (
            json!({"budgets": [{"period": "month", "spend": "10"}]}),
            503,
        ),
        (
            json!({"budgets": [{"period": "month", "spend": "10"}], "counters_down": "open"}),
            200,
        ),
        (
            json!({"requests_per_minute": 100, "counters_down": "closed"}),
            503,
        ),
    ];
    for (i, (policy, expected)) in cases.into_iter().enumerate() {
        let tenant = owner.create_tenant(&format!("T{i}")).await;
        let key = key_of(&owner, &tenant).await;
        let (status, view) = put(
            &owner,
            &format!("/api/v1/tenants/{tenant}/limits"),
            policy.clone(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{view}");
        assert_eq!(
            (view["counters_reachable"].as_bool(), view["usage"].clone()),
            (Some(false), json!([])),
            "the counters cannot be read, and the view says so"
        );
        settle().await;
        let res = app
            .post_as(&key, "/v1/chat/completions", &ask("echo"))
            .await;
        let status = res.status().as_u16();
        let (_, body) = json_of(res).await;
        assert_eq!(status, expected, "{policy}: {body}");
        if expected == 503 {
            assert_eq!(body["error"]["code"], "service_unavailable", "{body}");
        }
    }
    // The node stays ready, and says where it counts.
    let res = app
        .client()
        .get(format!("{}/readyz", app.url))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(res).await;
    assert_eq!(
        (status, body),
        (200, json!({"status": "ready", "limits": "unreachable"}))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_the_webhook_signed_and_a_failed_delivery_is_retried() {
    use base64::Engine;
    use it::mock_upstream::{MockUpstream, Reply};
    use std::sync::atomic::{AtomicUsize, Ordering};

    let seen = std::sync::Arc::new(AtomicUsize::new(0));
    let receiver = {
        let seen = seen.clone();
        MockUpstream::start(move |_| {
            // The first delivery fails; the retry succeeds.
            if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                Reply::status(503, "{}")
            } else {
                Reply::json("{}")
            }
        })
        .await
    };
    let app = TestApp::builder()
        .config(CONFIG)
        .env("SLUICE_ALLOW_PRIVATE_UPSTREAMS", "true")
        .env("SLUICE_WEBHOOKS_FIRST_RETRY_MS", "100")
        .spawn()
        .await;
    let owner = Browser::join(&app, "ada@example.com").await;
    let tenant = owner.create_tenant("Hooked").await;
    let key = key_of(&owner, &tenant).await;
    let hook = format!("/api/v1/tenants/{tenant}/webhook");
    let (status, _) = owner.get(&hook).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no webhook yet");
    for bad in ["ftp://example.com/", "not a url", " http://example.com/"] {
        let (status, problem) = put(&owner, &hook, json!({"url": bad})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "url");
    }
    let url = format!("{}/hooks/budget", receiver.url);
    let (status, made) = put(&owner, &hook, json!({"url": url})).await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let secret = made["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let (_, shown) = owner.get(&hook).await;
    assert_eq!(shown["url"], url);
    assert!(shown.get("secret").is_none(), "the secret is shown once");
    let (_, same) = put(&owner, &hook, json!({"url": url})).await;
    assert!(
        same.get("secret").is_none(),
        "the secret stays unless rotated"
    );

    let (status, _) = put(
        &owner,
        &format!("/api/v1/tenants/{tenant}/limits"),
        json!({"budgets": [{"period": "month", "spend": "0.000001", "hard": false,
                            "alert_at_percent": [100]}]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let res = app
        .post_as(&key, "/v1/chat/completions", &ask("echo"))
        .await;
    assert_eq!(res.status(), 200, "a soft budget never refuses");

    let mut delivered = None;
    for _ in 0..100 {
        let (_, alerts) = owner.get(&format!("/api/v1/tenants/{tenant}/alerts")).await;
        if alerts["alerts"][0]["delivery"] == "delivered" {
            delivered = Some(alerts["alerts"][0].clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let alert = delivered.expect("the alert was delivered");
    assert_eq!(alert["attempts"], 2, "{alert}");
    assert_eq!(alert["threshold_percent"], 100);
    assert!(
        alert["last_error"].as_str().unwrap().contains("503"),
        "{alert}"
    );

    let requests = receiver.requests();
    assert_eq!(requests.len(), 2, "one failure, one delivery");
    let last = requests.last().unwrap();
    assert_eq!(last.path, "/hooks/budget");
    assert_eq!(last.method, "POST");
    let (id, timestamp) = (
        last.header("webhook-id").unwrap(),
        last.header("webhook-timestamp").unwrap(),
    );
    assert_eq!(id, alert["id"].as_str().unwrap());
    assert_eq!(
        requests[0].header("webhook-id"),
        Some(id),
        "a retry is the same message"
    );
    let key_bytes = base64::engine::general_purpose::STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap();
    let mac = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key_bytes);
    let signed = [id.as_bytes(), b".", timestamp.as_bytes(), b".", &last.body].concat();
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(ring::hmac::sign(&mac, &signed))
    );
    assert_eq!(last.header("webhook-signature"), Some(expected.as_str()));
    let body = last.json();
    assert_eq!(body["type"], "budget.threshold_reached");
    assert_eq!(body["data"]["tenant_id"], tenant.as_str());
    assert_eq!(body["data"]["budget"], "spend");
    assert_eq!(body["data"]["limit"], "0.000001");

    // A rotated secret is new, and removing the webhook stops deliveries.
    let (_, rotated) = put(&owner, &hook, json!({"url": url, "rotate_secret": true})).await;
    assert_ne!(rotated["secret"].as_str().unwrap(), secret);
    let (status, _) = owner.call(Method::DELETE, &hook, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = owner.call(Method::DELETE, &hook, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A tenant's counters as its limits page reads them: `kind` → used.
async fn used(owner: &Browser, tenant: &str, kind: &str) -> u64 {
    let (_, view) = owner.get(&format!("/api/v1/tenants/{tenant}/limits")).await;
    usage_of(&view, "tenant", kind)["used"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservations_come_back_when_the_upstream_fails_or_the_client_leaves() {
    use it::mock_upstream::{MockUpstream, Reply};

    let failing =
        MockUpstream::start(|_| Reply::status(500, r#"{"error": {"message": "down"}}"#)).await;
    let config = format!(
        r#"{CONFIG}
[providers.failing]
kind = "openai"
base_url = "{}/v1"
api_key = "env:UPSTREAM_KEY"

[providers.streamy]
kind = "mock"
chunk_delay_ms = 200

[[models]]
alias = "broken"
provider = "failing"
model = "gpt-4o-mini"

[[models]]
alias = "long"
provider = "streamy"
model = "echo-1"
"#,
        failing.url
    );
    let app = TestApp::builder()
        .config(config)
        .env("UPSTREAM_KEY", crate::common::UPSTREAM_KEY)
        .spawn()
        .await;
    let owner = Browser::join(&app, "ada@example.com").await;
    let tenant = owner.create_tenant("Released").await;
    let key = key_of(&owner, &tenant).await;
    let (status, _) = put(
        &owner,
        &format!("/api/v1/tenants/{tenant}/limits"),
        json!({"max_concurrent": 1, "tokens_per_day": 1000000,
               "budgets": [{"period": "day", "spend": "100"}]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // An upstream failure gives back everything the call reserved.
    let res = app
        .post_as(&key, "/v1/chat/completions", &ask("broken"))
        .await;
    assert!(res.status().is_server_error(), "{}", res.status());
    let mut back = false;
    for _ in 0..50 {
        if used(&owner, &tenant, "tokens_per_day").await == 0
            && used(&owner, &tenant, "spend").await == 0
            && used(&owner, &tenant, "max_concurrent").await == 0
        {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(back, "the failed call's tokens, spend and slot came back");

    // A client that leaves mid-stream frees its slot; what streamed is still counted.
    let mut body = ask("long");
    body["stream"] = json!(true);
    let res = app.post_as(&key, "/v1/chat/completions", &body).await;
    assert_eq!(res.status(), 200);
    let mut stream = res.bytes_stream();
    let first = futures_util::StreamExt::next(&mut stream).await;
    assert!(first.is_some(), "the stream started");
    let refused = app
        .post_as(&key, "/v1/chat/completions", &ask("echo"))
        .await;
    assert_eq!(refused.status(), 429, "the stream holds the only slot");
    drop(stream);
    let mut freed = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if app
            .post_as(&key, "/v1/chat/completions", &ask("echo"))
            .await
            .status()
            == 200
        {
            freed = true;
            break;
        }
    }
    assert!(freed, "the slot came back when the client left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_running_when_its_budget_runs_out_finishes_and_is_billed() {
    let config = format!(
        r#"{CONFIG}
[providers.streamy]
kind = "mock"
chunk_delay_ms = 100

[[models]]
alias = "long"
provider = "streamy"
model = "echo-1"
"#
    );
    let app = TestApp::builder().config(config).spawn().await;
    let owner = Browser::join(&app, "ada@example.com").await;
    let tenant = owner.create_tenant("Streaming").await;
    let key = key_of(&owner, &tenant).await;
    // A call reserves its prompt (5 tokens) and 5 tokens of answer at 1 and 2 per million:
    // 15 micro-dollars. A budget of 25 holds one call in flight and not a second.
    let (status, _) = put(
        &owner,
        &format!("/api/v1/tenants/{tenant}/limits"),
        json!({"budgets": [{"period": "month", "spend": "0.000025"}]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut body = ask("long");
    body["stream"] = json!(true);
    let res = app.post_as(&key, "/v1/chat/completions", &body).await;
    assert_eq!(res.status(), 200);
    let streaming = async { res.text().await.unwrap() };
    let meanwhile = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let res = app
            .post_as(&key, "/v1/chat/completions", &ask("echo"))
            .await;
        json_of(res).await
    };
    let (text, (status, refusal)) = tokio::join!(streaming, meanwhile);
    assert_eq!(status, 429, "{refusal}");
    assert_eq!(refusal["error"]["code"], "insufficient_quota");
    assert!(
        text.contains("data: [DONE]"),
        "the running stream finished: {text}"
    );
    let tenant_id: domain::TenantId = tenant.parse().unwrap();
    let mut billed = None;
    for _ in 0..100 {
        let records = app.store.list_usage(tenant_id, 10).await.unwrap();
        if let Some(record) = records.iter().find(|it| it.stream && it.price.is_some()) {
            billed = record.price;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let billed = billed.expect("the stream was billed");
    assert!(billed.nanos() > 0);
    assert!(
        used(&owner, &tenant, "spend").await <= 25,
        "the budget holds what was billed, never more than its limit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_redis_stops_mid_run_budgets_fail_closed_rates_fall_back_and_both_recover() {
    let redis = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let (proxy, through) = it::tcp_proxy::TcpProxy::in_front_of(&redis).await;
    let prefix = format!("it-{}", uuid::Uuid::now_v7());
    let app = TestApp::builder()
        .config(format!(
            "{CONFIG}\n[redis]\nurl = \"{through}\"\nprefix = \"{prefix}\"\n"
        ))
        .spawn()
        .await;
    let owner = Browser::join(&app, "ada@example.com").await;
    let rates = owner.create_tenant("Rates").await;
    let budget = owner.create_tenant("Budget").await;
    let (rates_key, budget_key) = (key_of(&owner, &rates).await, key_of(&owner, &budget).await);
    let (status, _) = put(
        &owner,
        &format!("/api/v1/tenants/{rates}/limits"),
        json!({"requests_per_minute": 1000}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = put(
        &owner,
        &format!("/api/v1/tenants/{budget}/limits"),
        json!({"budgets": [{"period": "month", "spend": "100"}]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let call = |key: &str| {
        let req = app
            .client()
            .post(format!("{}/v1/chat/completions", app.url))
            .bearer_auth(key)
            .json(&ask("echo"));
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(
        (call(&rates_key).await, call(&budget_key).await),
        (200, 200)
    );

    proxy.black_hole();
    assert_eq!(
        call(&rates_key).await,
        200,
        "rates fall back to this node's counters"
    );
    assert_eq!(
        call(&budget_key).await,
        503,
        "a hard budget is not spent unchecked"
    );

    proxy.restore();
    let mut recovered = false;
    for _ in 0..60 {
        if call(&budget_key).await == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "the budget is checked again once Redis is back");
    let res = app
        .client()
        .get(format!("{}/readyz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(res).await.1["limits"], "shared");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keys_own_budgets_by_period_hold_and_bad_ones_are_refused() {
    let app = TestApp::builder().config(CONFIG).spawn().await;
    let owner = Browser::join(&app, "ada@example.com").await;
    let tenant = owner.create_tenant("Keyed").await;
    let keys = format!("/api/v1/tenants/{tenant}/keys");
    for (budgets, field) in [
        (
            json!([{"period": "hourly", "tokens": 5}]),
            "limits.budgets[0].period",
        ),
        (
            json!([{"period": "day", "spend": 1.5}]),
            "limits.budgets[0].spend",
        ),
        (
            json!([{"period": "day", "tokens": 0}]),
            "limits.budgets[0].tokens",
        ),
        (
            json!([{"period": "week", "spend": "1", "alert_at_percent": [0]}]),
            "limits.budgets[0].alert_at_percent",
        ),
    ] {
        let (status, problem) = owner
            .post(
                &keys,
                json!({"name": "bad", "limits": {"budgets": budgets}}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{budgets}: {problem}");
        let named = problem["errors"][0]["field"].as_str().unwrap_or_default();
        assert!(
            named.ends_with(field),
            "{budgets}: expected {field}, got {problem}"
        );
    }
    let (status, made) = owner
        .post(
            &keys,
            json!({"name": "budgeted", "limits": {"budgets": [{"period": "day", "tokens": 40}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["key"]["limits"]["budgets"][0]["tokens"], 40);
    let secret = made["secret"].as_str().unwrap();
    let (answered, refused) = until_refused(&app, secret, "echo", 20).await;
    assert!((1..20).contains(&answered), "{answered}");
    let (status, body) = refused.unwrap();
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("insufficient_quota"))
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("this api key's limit of a daily budget of 40 tokens"),
        "{message}"
    );
}
