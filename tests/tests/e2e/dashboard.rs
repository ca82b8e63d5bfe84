//! The dashboard's usage endpoints: a summary over a window (totals, buckets, by model or key,
//! latency percentiles) and the most recent requests with the tries they failed over from,
//! from the records the data plane wrote.

use std::time::Duration;

use it::harness::{TestApp, json_of};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::manage::{Browser, assert_problem};

const CONFIG: &str = r#"
[providers.mock]
kind = "mock"

[providers.down]
kind = "openai_compatible"
base_url = "http://127.0.0.1:9/v1"
connect_timeout_ms = 500

[[models]]
alias = "mock"
provider = "mock"
model = "echo-1"

[[pricing.cost]]
provider = "mock"
model = "echo-1"
input = "1"
output = "2"

[[models]]
alias = "broken"
provider = "down"
model = "x"

[[models]]
alias = "resilient"
backoff_ms = 0

[[models.deployments]]
name = "first"
provider = "down"
model = "x"

[[models.deployments]]
name = "second"
provider = "mock"
"#;

async fn chat(app: &TestApp, key: &str, model: &str) -> u16 {
    json_of(
        app.post_as(
            key,
            "/v1/chat/completions",
            &json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await,
    )
    .await
    .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_summarises_the_tenants_requests() {
    let app = TestApp::builder().config(CONFIG).spawn().await;
    let owner = Browser::join(&app, "owner@example.com").await;
    let tenant = owner.create_tenant("Dash").await;
    let mut keys = Vec::new();
    for name in ["web", "batch"] {
        let (_, key) = owner
            .post(
                &format!("/api/v1/tenants/{tenant}/keys"),
                json!({"name": name}),
            )
            .await;
        keys.push((
            key["key"]["id"].as_str().unwrap().to_owned(),
            key["secret"].as_str().unwrap().to_owned(),
        ));
    }
    for _ in 0..3 {
        assert_eq!(chat(&app, &keys[0].1, "mock").await, 200);
    }
    assert_eq!(chat(&app, &keys[1].1, "mock").await, 200);
    assert_eq!(chat(&app, &keys[1].1, "broken").await, 502);

    let path = format!("/api/v1/tenants/{tenant}/usage");
    let mut records = Value::Null;
    for _ in 0..100 {
        records = owner.get(&format!("{path}/records?limit=10")).await.1;
        if records.as_array().is_some_and(|it| it.len() == 5) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let listed = records.as_array().unwrap();
    assert_eq!(listed.len(), 5, "{records}");
    assert_eq!(listed[0]["model"], "broken", "newest first");
    assert_eq!(listed[0]["status"], "error");
    assert_eq!(listed[0]["http_status"], 502);

    let (status, summary) = owner.get(&format!("{path}/summary")).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["bucket_seconds"], 3600);
    assert_eq!(summary["series"].as_array().unwrap().len(), 24);
    assert_eq!(summary["totals"]["requests"], 5);
    assert_eq!(summary["totals"]["errors"], 1);
    assert!(summary["totals"]["prompt_tokens"].as_u64().unwrap() > 0);
    assert!(summary["totals"]["latency_p95_ms"].is_u64(), "{summary}");
    let last = summary["series"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["requests"], 5, "this hour's bucket: {summary}");
    assert_eq!(summary["groups"][0]["key"], "mock");
    assert_eq!(summary["groups"][0]["requests"], 4);
    // The mock model is priced: its calls' spend is summed in money.
    let spend = summary["groups"][0]["spend"].as_str().unwrap();
    assert!(
        domain::pricing::Money::parse(spend).unwrap().nanos() > 0,
        "{summary}"
    );
    assert_eq!(summary["groups"][0]["unpriced"], 0);
    assert_eq!(
        summary["totals"]["spend"], spend,
        "the failed call cost nothing"
    );
    assert_eq!(summary["groups"][1]["key"], "broken");
    assert_eq!(summary["groups"][1]["errors"], 1);
    let (_, by_key) = owner.get(&format!("{path}/summary?group_by=key")).await;
    assert_eq!(by_key["groups"][0]["key"], keys[0].0.as_str());
    assert_eq!(by_key["groups"][0]["requests"], 3);
    assert_eq!(by_key["groups"][1]["requests"], 2);

    // A window in the past is empty but complete.
    let (_, past) = owner
        .get(&format!(
            "{path}/summary?from=2026-01-01T00:00:00Z&to=2026-01-08T00:00:00Z"
        ))
        .await;
    assert_eq!(past["bucket_seconds"], 86400);
    assert_eq!(past["series"].as_array().unwrap().len(), 7);
    assert_eq!(past["totals"]["requests"], 0);
    assert!(past["totals"].get("latency_p50_ms").is_none());

    // Bad windows are refused by field.
    for (query, field) in [
        ("from=yesterday", "from"),
        ("from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to"),
        ("from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", "from"),
        ("bucket_seconds=1", "bucket_seconds"),
        ("group_by=colour", "group_by"),
        ("colour=red", "query"),
    ] {
        let (status, body) = owner.get(&format!("{path}/summary?{query}")).await;
        assert_problem(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
        assert!(body.to_string().contains(field), "{query}: {body}");
    }
    let (status, body) = owner.get(&format!("{path}/records?limit=0")).await;
    assert_problem(status, &body, StatusCode::BAD_REQUEST, "invalid_request");

    // Outsiders see nothing; data-plane keys are not management credentials.
    let stranger = Browser::join(&app, "stranger@example.com").await;
    let (status, body) = stranger.get(&format!("{path}/summary")).await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
    let res = app
        .client()
        .get(format!("{}{path}/records", app.url))
        .bearer_auth(&keys[0].1)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

/// A request that failed over is billed to the deployment that answered, and its record lists
/// the tries before it; one answered at its first try lists none. Streams fail over the same
/// way before their first byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_failed_over_lists_its_failed_tries() {
    let app = TestApp::builder().config(CONFIG).spawn().await;
    let owner = Browser::join(&app, "owner@example.com").await;
    let tenant = owner.create_tenant("Failover").await;
    let (_, key) = owner
        .post(
            &format!("/api/v1/tenants/{tenant}/keys"),
            json!({"name": "web"}),
        )
        .await;
    let key = key["secret"].as_str().unwrap().to_owned();
    assert_eq!(chat(&app, &key, "resilient").await, 200);
    let streamed = app
        .post_as(
            &key,
            "/v1/chat/completions",
            &json!({"model": "resilient", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(streamed.status(), StatusCode::OK);
    assert!(streamed.text().await.unwrap().contains("[DONE]"));
    assert_eq!(chat(&app, &key, "mock").await, 200);

    let path = format!("/api/v1/tenants/{tenant}/usage/records?limit=10");
    let mut records = Value::Null;
    for _ in 0..100 {
        records = owner.get(&path).await.1;
        if records.as_array().is_some_and(|it| it.len() == 3) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let listed = records.as_array().unwrap();
    assert_eq!(listed.len(), 3, "{records}");
    assert_eq!(listed[0]["model"], "mock", "newest first");
    assert_eq!(listed[0]["attempts"], json!([]), "{records}");
    for record in &listed[1..] {
        assert_eq!(record["model"], "resilient");
        assert_eq!(
            record["provider"], "mock",
            "billed to the one that answered"
        );
        assert_eq!(record["status"], "ok");
        let attempts = record["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 1, "{record}");
        assert_eq!(attempts[0]["deployment"], "first");
        assert_eq!(attempts[0]["http_status"], 502);
        assert_eq!(attempts[0]["error_code"], "upstream_unavailable");
        assert!(attempts[0]["latency_ms"].is_u64(), "{record}");
    }
    assert_eq!(
        (listed[1]["stream"].as_bool(), listed[2]["stream"].as_bool()),
        (Some(true), Some(false))
    );
}
