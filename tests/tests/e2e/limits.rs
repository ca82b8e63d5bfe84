//! A key's limits, enforced on every call: requests and tokens per minute, calls at once and
//! the monthly budget; refused calls get 429 in OpenAI's shape with `retry-after` and the
//! `x-ratelimit-*` headers (on answers too), never reach a provider and are recorded unbilled;
//! with Redis, every node counts against the same limit.

use std::time::Duration;

use it::harness::{TestApp, json_of};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::manage::Browser;

fn config(extra: &str) -> String {
    format!(
        r#"
[providers.mock]
kind = "mock"

[providers.slow]
kind = "mock"
latency_ms = 400

[[models]]
alias = "echo"
provider = "mock"
model = "echo-1"

[[models]]
alias = "slow"
provider = "slow"
model = "echo-1"

[[pricing.cost]]
provider = "mock"
model = "echo-1"
input = "1"
output = "2"
{extra}
"#
    )
}

/// A signed-in owner's tenant and a key with `limits`.
async fn key_with(app: &TestApp, email: &str, limits: Value) -> (Browser, String, String) {
    let browser = Browser::join(app, email).await;
    let tenant = browser.create_tenant("Limited").await;
    let (status, key) = browser
        .post(
            &format!("/api/v1/tenants/{tenant}/keys"),
            json!({"name": "limited", "limits": limits}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let secret = key["secret"].as_str().unwrap().to_owned();
    (browser, tenant, secret)
}

fn ask(model: &str, max_tokens: Option<u32>) -> Value {
    let mut body = json!({"model": model, "messages": [{"role": "user", "content": "count me"}]});
    if let Some(max) = max_tokens {
        body["max_tokens"] = json!(max);
    }
    body
}

fn header(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .map(|it| it.to_str().unwrap().to_owned())
}

async fn usage_of(app: &TestApp, tenant: &str, n: usize) -> Vec<domain::UsageRecord> {
    let tenant: domain::TenantId = tenant.parse().unwrap();
    for _ in 0..100 {
        let records = app.store.list_usage(tenant, 100).await.unwrap();
        if records.len() >= n {
            return records;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {n} usage records");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_per_minute_refuse_with_openais_shape_and_headers_and_reach_no_provider() {
    let app = TestApp::builder().config(config("")).spawn().await;
    let (_, tenant, key) =
        key_with(&app, "ada@example.com", json!({"requests_per_minute": 2})).await;
    for remaining in ["1", "0"] {
        let res = app
            .post_as(&key, "/v1/chat/completions", &ask("echo", None))
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            header(&res, "x-ratelimit-limit-requests").as_deref(),
            Some("2")
        );
        assert_eq!(
            header(&res, "x-ratelimit-remaining-requests").as_deref(),
            Some(remaining)
        );
        assert!(header(&res, "x-ratelimit-reset-requests").is_some());
        assert!(
            header(&res, "x-ratelimit-limit-tokens").is_none(),
            "no token limit"
        );
    }
    let res = app
        .post_as(&key, "/v1/chat/completions", &ask("echo", None))
        .await;
    assert_eq!(res.status(), 429);
    let retry: u64 = header(&res, "retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(
        header(&res, "x-ratelimit-remaining-requests").as_deref(),
        Some("0")
    );
    let (_, body) = json_of(res).await;
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    assert_eq!(body["error"]["type"], "rate_limit_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2 requests per minute"),
        "{body}"
    );
    let records = usage_of(&app, &tenant, 3).await;
    let refused = records.iter().find(|it| it.http_status == 429).unwrap();
    assert_eq!(refused.error_code.as_deref(), Some("rate_limited"));
    assert_eq!(
        (refused.prompt_tokens, refused.completion_tokens),
        (0, 0),
        "a refused call reached no provider"
    );
    assert_eq!(
        refused.price.map(|it| it.nanos()).unwrap_or(0),
        0,
        "and is not billed"
    );
    // The platform's other keys are not limited by this one.
    let res = app.post("/v1/chat/completions", &ask("echo", None)).await;
    assert_eq!(res.status(), 200);
    assert!(header(&res, "x-ratelimit-limit-requests").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_reserved_up_front_and_settled_on_what_was_used() {
    let app = TestApp::builder().config(config("")).spawn().await;
    let (_, _, key) = key_with(&app, "ada@example.com", json!({"tokens_per_minute": 1000})).await;
    // Asking for more than the whole limit can never pass: refused, not to be retried.
    let res = app
        .post_as(&key, "/v1/chat/completions", &ask("echo", Some(2_000)))
        .await;
    assert_eq!(res.status(), 429);
    assert_eq!(header(&res, "x-should-retry").as_deref(), Some("false"));
    let (_, body) = json_of(res).await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_tokens"),
        "{body}"
    );
    // A call reserving 600 passes; it used far less, so a second reserving 600 passes too.
    let res = app
        .post_as(&key, "/v1/chat/completions", &ask("echo", Some(590)))
        .await;
    assert_eq!(res.status(), 200);
    let remaining: u64 = header(&res, "x-ratelimit-remaining-tokens")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        remaining < 410,
        "the reservation is taken: {remaining} left"
    );
    let (_, body) = json_of(res).await;
    let used = body["usage"]["total_tokens"].as_u64().unwrap();
    assert!(used < 100, "{used}");
    let mut passed = false;
    for _ in 0..40 {
        let res = app
            .post_as(&key, "/v1/chat/completions", &ask("echo", Some(590)))
            .await;
        if res.status() == 200 {
            passed = true;
            break;
        }
        // The settlement rides on the next admission; give it a moment.
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(passed, "the first call's unused reservation came back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_monthly_budget_answers_insufficient_quota_which_sdks_do_not_retry() {
    let app = TestApp::builder().config(config("")).spawn().await;
    // At 1 and 2 per million tokens a call costs a micro-dollar a token or two: a budget of
    // 100 micro-dollars holds a handful of calls.
    let (_, tenant, key) = key_with(
        &app,
        "ada@example.com",
        json!({"monthly_budget_micros": 100}),
    )
    .await;
    let mut answered = 0;
    let mut refused = None;
    for _ in 0..50 {
        let res = app
            .post_as(&key, "/v1/chat/completions", &ask("echo", Some(5)))
            .await;
        if res.status() == 200 {
            answered += 1;
            continue;
        }
        refused = Some(res);
        break;
    }
    let res = refused.expect("the budget ran out");
    assert!(answered >= 2, "{answered} calls fit");
    assert_eq!(res.status(), 429);
    assert_eq!(header(&res, "x-should-retry").as_deref(), Some("false"));
    let (_, body) = json_of(res).await;
    assert_eq!(body["error"]["code"], "insufficient_quota", "{body}");
    assert_eq!(body["error"]["type"], "insufficient_quota");
    let records = usage_of(&app, &tenant, answered + 1).await;
    let billed: i64 = records
        .iter()
        .filter_map(|it| it.price)
        .map(|it| it.nanos())
        .sum();
    assert!(
        billed > 50_000 && billed <= 100_000,
        "used up to, never past, the budget: {billed} nanos in {answered} calls"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_at_once_are_bounded_and_a_finished_call_frees_its_slot() {
    let app = TestApp::builder().config(config("")).spawn().await;
    let (_, _, key) = key_with(&app, "ada@example.com", json!({"max_concurrent": 1})).await;
    let slow = {
        let (app_url, client, key) = (app.url.clone(), app.client().clone(), key.clone());
        async move {
            client
                .post(format!("{app_url}/v1/chat/completions"))
                .bearer_auth(key)
                .json(&ask("slow", None))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let meanwhile = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        app.post_as(&key, "/v1/chat/completions", &ask("echo", None))
            .await
            .status()
    };
    let (slow, meanwhile) = tokio::join!(slow, meanwhile);
    assert_eq!(meanwhile, 429, "the slow call holds the only slot");
    assert_eq!(slow, 200);
    let res = app
        .post_as(&key, "/v1/chat/completions", &ask("echo", None))
        .await;
    assert_eq!(res.status(), 200, "its slot is free again");
}

/// Three gateway nodes counting in one Redis, under a prefix of the test's own.
async fn three_nodes() -> [TestApp; 3] {
    let redis = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("it-{}", uuid::Uuid::now_v7());
    let extra = format!("\n[redis]\nurl = \"{redis}\"\nprefix = \"{prefix}\"\n");
    let first = TestApp::builder().config(config(&extra)).spawn().await;
    let second = first.another_node(config(&extra)).await;
    let third = first.another_node(config(&extra)).await;
    [first, second, third]
}

/// Waits until every node's snapshot knows `key` (asking `/v1/models`, which takes from no
/// limit).
async fn known_everywhere(nodes: &[TestApp], key: &str) {
    for node in nodes {
        let mut seen = false;
        for _ in 0..40 {
            if node.get_as(key, "/v1/models").await.status() == 200 {
                seen = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(seen, "the key reached every node");
    }
}

/// `count` chat calls with `key`, spread over `nodes` in turn and sent at once: each call's
/// status and body.
async fn calls_across(
    nodes: &[TestApp],
    key: &str,
    count: usize,
    max_tokens: Option<u32>,
) -> Vec<(u16, Value)> {
    let calls = (0..count).map(|i| {
        let node = &nodes[i % nodes.len()];
        let req = node
            .client()
            .post(format!("{}/v1/chat/completions", node.url))
            .bearer_auth(key)
            .json(&ask("echo", max_tokens));
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json().await.unwrap())
        }
    });
    futures_util::future::join_all(calls).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_sharing_redis_admit_exactly_the_limit() {
    let nodes = three_nodes().await;
    let (_, _, key) = key_with(
        &nodes[0],
        "ada@example.com",
        json!({"requests_per_minute": 20}),
    )
    .await;
    known_everywhere(&nodes, &key).await;
    let admitted = calls_across(&nodes, &key, 60, None)
        .await
        .iter()
        .filter(|(status, _)| *status == 200)
        .count();
    assert_eq!(admitted, 20, "exactly the limit, across three nodes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_sharing_redis_never_overspend_a_budget_under_concurrent_calls() {
    let nodes = three_nodes().await;
    // Each call reserves its most (about 20 micro-dollars) and costs less: a budget of 300
    // holds a dozen or more, whichever node they reach.
    let (_, tenant, key) = key_with(
        &nodes[0],
        "ada@example.com",
        json!({"monthly_budget_micros": 300}),
    )
    .await;
    known_everywhere(&nodes, &key).await;
    let answers = calls_across(&nodes, &key, 90, Some(5)).await;
    let admitted = answers.iter().filter(|(status, _)| *status == 200).count();
    for (status, body) in answers.iter().filter(|(status, _)| *status != 200) {
        assert_eq!(*status, 429, "{body}");
        assert_eq!(body["error"]["code"], "insufficient_quota", "{body}");
    }
    assert!(admitted >= 10, "{admitted} calls fit the budget");
    assert!(admitted < 90, "the budget ran out");
    // Every call is recorded, the refused ones unbilled; what was billed never passes the
    // budget, across the three nodes and whatever order the calls came in.
    let records = usage_of(&nodes[0], &tenant, 90).await;
    let billed: i64 = records
        .iter()
        .filter_map(|it| it.price)
        .map(|it| it.nanos())
        .sum();
    assert!(
        billed <= 300_000,
        "never past the budget: {billed} nanos in {admitted} calls"
    );
    assert_eq!(
        records.iter().filter(|it| it.http_status == 200).count(),
        admitted
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_clients_get_anthropics_rate_limit_headers_and_error_shape() {
    let app = TestApp::builder().config(config("")).spawn().await;
    let (_, _, key) = key_with(&app, "ada@example.com", json!({"requests_per_minute": 1})).await;
    let call = || {
        app.client()
            .post(format!("{}/v1/messages", app.url))
            .header("x-api-key", &key)
            .header("anthropic-version", "2023-06-01")
            .json(&json!({"model": "echo", "max_tokens": 10,
                          "messages": [{"role": "user", "content": "hi"}]}))
            .send()
    };
    let res = call().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        header(&res, "anthropic-ratelimit-requests-limit").as_deref(),
        Some("1")
    );
    assert_eq!(
        header(&res, "anthropic-ratelimit-requests-remaining").as_deref(),
        Some("0")
    );
    let reset = header(&res, "anthropic-ratelimit-requests-reset").unwrap();
    assert!(
        time::OffsetDateTime::parse(&reset, &time::format_description::well_known::Rfc3339).is_ok(),
        "{reset}"
    );
    assert!(header(&res, "x-ratelimit-limit-requests").is_none());
    let res = call().await.unwrap();
    assert_eq!(res.status(), 429);
    assert!(header(&res, "retry-after").is_some());
    let (_, body) = json_of(res).await;
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(body["error"]["type"], "rate_limit_error");
}
