//! Traffic management beyond failover: per-deployment ceilings (`rpm`, `tpm`) and the
//! `usage_aware` strategy, sticky `split` experiments, and shadow deployments that get a copy
//! of the traffic without ever answering.

use it::harness::{TestApp, json_of};
use it::mock_upstream::MockUpstream;
use serde_json::{Value, json};

use crate::byok::any_endpoint;
use crate::common::UPSTREAM_KEY;

fn providers(a: &str, b: &str) -> String {
    format!(
        r#"
[providers.a]
kind = "openai"
base_url = "{a}/v1"
api_key = "env:UPSTREAM_KEY"

[providers.b]
kind = "openai"
base_url = "{b}/v1"
api_key = "env:UPSTREAM_KEY"
"#
    )
}

async fn app_with(a: &MockUpstream, b: &MockUpstream, models: &str) -> TestApp {
    TestApp::builder()
        .config(format!("{}\n{models}", providers(&a.url, &b.url)))
        .env("UPSTREAM_KEY", UPSTREAM_KEY)
        .spawn()
        .await
}

fn ask(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}]})
}

fn deployment_of(res: &reqwest::Response) -> String {
    res.headers()
        .get("x-upstream-deployment")
        .map(|it| it.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_at_its_ceiling_is_passed_over_and_a_full_route_answers_429() {
    let a = MockUpstream::start(any_endpoint).await;
    let b = MockUpstream::start(any_endpoint).await;
    let app = app_with(
        &a,
        &b,
        r#"
[[models]]
alias = "capped"
deployments = [
  { name = "small", provider = "a", model = "m", rpm = 2 },
  { name = "big", provider = "b", model = "m", rpm = 3, priority = 1 },
]
"#,
    )
    .await;
    let mut names = Vec::new();
    for _ in 0..5 {
        let res = app.post("/v1/chat/completions", &ask("capped")).await;
        assert_eq!(res.status(), 200);
        names.push(deployment_of(&res));
    }
    assert_eq!(names, ["small", "small", "big", "big", "big"]);
    assert_eq!((a.requests().len(), b.requests().len()), (2, 3));

    let res = app.post("/v1/chat/completions", &ask("capped")).await;
    assert_eq!(res.status(), 429);
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let (_, body) = json_of(res).await;
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(body["error"]["type"], "rate_limit_error");
    assert_eq!(
        (a.requests().len(), b.requests().len()),
        (2, 3),
        "nothing sent"
    );
    let records = app.usage(6).await;
    assert_eq!(records[0].http_status, 429);
    assert_eq!(records[0].error_code.as_deref(), Some("rate_limited"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_aware_sends_calls_to_the_least_used_deployment_and_the_view_shows_the_counts() {
    let a = MockUpstream::start(any_endpoint).await;
    let b = MockUpstream::start(any_endpoint).await;
    let app = app_with(
        &a,
        &b,
        r#"
[[models]]
alias = "balanced"
strategy = "usage_aware"
deployments = [
  { name = "small", provider = "a", model = "m", rpm = 10 },
  { name = "big", provider = "b", model = "m", rpm = 30, tpm = 100000 },
]
"#,
    )
    .await;
    for _ in 0..20 {
        let res = app.post("/v1/chat/completions", &ask("balanced")).await;
        assert_eq!(res.status(), 200);
    }
    // Each goes to whichever has used less of its ceiling: 1:3, as the ceilings are.
    assert_eq!((a.requests().len(), b.requests().len()), (5, 15));

    let (ada, tenant, _) = crate::byok::owner(&app, "ada@example.com").await;
    let (status, views) = ada.get(&format!("/api/v1/tenants/{tenant}/models")).await;
    assert_eq!(status, 200, "{views}");
    let route = views
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["alias"] == "balanced")
        .unwrap();
    let big = &route["deployments"][1];
    assert_eq!(route["strategy"], "usage_aware");
    assert_eq!(
        (big["rpm"].as_u64(), big["tpm"].as_u64()),
        (Some(30), Some(100_000))
    );
    assert_eq!(big["minute_requests"], 15);
    assert!(big["minute_tokens"].as_u64().unwrap() > 0, "{big}");
    assert!(route["deployments"][0].get("tpm").is_none());
}

/// A 50/50 experiment: an end user named in `user` always lands on the same arm, a caller
/// without one is kept on one arm by its key, and each record says which arm answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_keeps_each_end_user_on_one_arm_and_records_the_variant() {
    let a = MockUpstream::start(any_endpoint).await;
    let b = MockUpstream::start(any_endpoint).await;
    let app = app_with(
        &a,
        &b,
        r#"
[[models]]
alias = "exp"
strategy = "split"
deployments = [
  { name = "control", provider = "a", model = "m", weight = 50 },
  { name = "treatment", provider = "b", model = "m", weight = 50, variant = "new-prompt" },
]
"#,
    )
    .await;
    let mut arms = std::collections::BTreeMap::new();
    for user in 0..20 {
        let body = json!({"model": "exp", "user": format!("user-{user}"), "messages": [{"role": "user", "content": "hi"}]});
        let first = deployment_of(&app.post("/v1/chat/completions", &body).await);
        for _ in 0..3 {
            let again = deployment_of(&app.post("/v1/chat/completions", &body).await);
            assert_eq!(again, first, "user-{user} stays on its arm");
        }
        *arms.entry(first).or_insert(0) += 1;
    }
    assert_eq!(arms.len(), 2, "20 users land on both arms: {arms:?}");

    // No `user`: the key decides, streamed or not, and another key may land elsewhere.
    let first = deployment_of(&app.post("/v1/chat/completions", &ask("exp")).await);
    for stream in [false, true, false] {
        let mut body = ask("exp");
        body["stream"] = json!(stream);
        let res = app.post("/v1/chat/completions", &body).await;
        assert_eq!(res.status(), 200);
        assert_eq!(deployment_of(&res), first, "sticky per key");
    }
    let records = app.usage(84).await;
    for record in &records {
        let expected = match record.provider.as_str() {
            "a" => "control",
            _ => "new-prompt",
        };
        assert_eq!(record.variant.as_deref(), Some(expected), "{record:?}");
    }
}
