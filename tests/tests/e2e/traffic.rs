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

/// The usage summary at `path` once `ready` holds of it (records are written in the
/// background), within five seconds.
async fn summary_when(
    browser: &crate::manage::Browser,
    path: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let mut summary = Value::Null;
    for _ in 0..100 {
        summary = browser.get(path).await.1;
        if ready(&summary) {
            return summary;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the summary never got there: {summary}");
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

    // The dashboard's breakdown by variant, for a tenant of its own.
    let (ada, tenant, key) = crate::byok::owner(&app, "ada@example.com").await;
    for user in 0..6 {
        let body = json!({"model": "exp", "user": format!("user-{user}"), "messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(
            app.post_as(&key, "/v1/chat/completions", &body)
                .await
                .status(),
            200
        );
    }
    let path = format!("/api/v1/tenants/{tenant}/usage/summary?group_by=variant");
    let summary = summary_when(&ada, &path, |it| it["totals"]["requests"] == 6).await;
    assert_eq!(summary["group_by"], "variant");
    let groups = summary["groups"].as_array().unwrap();
    assert!(
        groups
            .iter()
            .all(|it| it["key"] == "control" || it["key"] == "new-prompt"),
        "{summary}"
    );
    let counted: u64 = groups
        .iter()
        .map(|it| it["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, 6);
}

/// What the shadow upstream does with its next mirrors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ShadowMode {
    Other,
    Fails,
    Hangs,
}

/// A shadow deployment gets a copy of each chat call (streamed callers' as one non-streamed
/// call, Messages calls served through chat too) and never changes or slows the caller's
/// answer, whether it answers otherwise, fails or hangs; its usage is recorded as `shadow`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shadow_gets_a_copy_of_each_call_and_never_touches_the_callers_answer() {
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use domain::UsageStatus;
    use it::fixtures;
    use it::harness::eventually;
    use it::mock_upstream::Reply;

    let a = MockUpstream::start(any_endpoint).await;
    let mode = Arc::new(Mutex::new(ShadowMode::Other));
    let shadow_mode = mode.clone();
    let b = MockUpstream::start(move |_| match *shadow_mode.lock().unwrap() {
        ShadowMode::Other => Reply::json(
            r#"{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"SOMETHING ELSE"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#,
        ),
        ShadowMode::Fails => Reply::status(500, fixtures::text("openai/error_500.json")),
        ShadowMode::Hangs => {
            Reply::json(fixtures::text("openai/chat_ok.json")).delayed(Duration::from_secs(4))
        }
    })
    .await;
    let app = app_with(
        &a,
        &b,
        r#"
[[models]]
alias = "shadowed"
deployments = [
  { name = "live", provider = "a", model = "m" },
  { name = "mirror", provider = "b", model = "candidate", shadow = true },
]
"#,
    )
    .await;
    let primary_answer = fixtures::text("openai/chat_ok.json");
    let body = json!({"model": "shadowed", "user": "u-1", "temperature": 0.5, "messages": [{"role": "user", "content": "compare me"}]});

    // A different answer from the shadow: the caller gets the primary's, byte for byte.
    let res = app.post("/v1/chat/completions", &body).await;
    assert_eq!(res.status(), 200);
    assert_eq!(deployment_of(&res), "live");
    assert_eq!(res.text().await.unwrap(), primary_answer);
    assert!(eventually(Duration::from_secs(5), || async { b.requests().len() == 1 }).await);
    let mirrored = b.last().json();
    assert_eq!(mirrored["model"], "candidate");
    assert_eq!(mirrored["messages"], body["messages"]);
    assert_eq!(
        (&mirrored["user"], &mirrored["temperature"]),
        (&body["user"], &body["temperature"])
    );

    // A streamed caller's call is mirrored as one non-streamed call.
    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    streamed["stream_options"] = json!({"include_usage": true});
    let (status, transcript) = app.chat_stream(&streamed).await;
    assert_eq!(status, 200);
    assert!(transcript.ends_with_done(), "{transcript:?}");
    assert!(eventually(Duration::from_secs(5), || async { b.requests().len() == 2 }).await);
    let mirrored = b.last().json();
    assert!(
        mirrored.get("stream").is_none() && mirrored.get("stream_options").is_none(),
        "{mirrored}"
    );

    // A Messages call served through chat is mirrored too.
    let res = app
        .post(
            "/v1/messages",
            &json!({"model": "shadowed", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(eventually(Duration::from_secs(5), || async { b.requests().len() == 3 }).await);
    assert_eq!(b.last().path, "/v1/chat/completions");

    // A failing shadow changes nothing for the caller.
    *mode.lock().unwrap() = ShadowMode::Fails;
    let res = app.post("/v1/chat/completions", &body).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), primary_answer);

    // Nor does a hanging one slow it down.
    *mode.lock().unwrap() = ShadowMode::Hangs;
    let started = Instant::now();
    let res = app.post("/v1/chat/completions", &body).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), primary_answer);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // Five callers' records, and a shadow record for each finished mirror, told apart.
    let records = app.usage(9).await;
    let (shadows, callers): (Vec<_>, Vec<_>) = records
        .iter()
        .partition(|it| it.status == UsageStatus::Shadow);
    assert_eq!(callers.len(), 5, "{callers:?}");
    assert!(
        callers
            .iter()
            .all(|it| it.provider == "a" && it.variant.is_none())
    );
    assert_eq!(
        shadows.len(),
        4,
        "the hanging mirror is still out: {shadows:?}"
    );
    for record in &shadows {
        assert_eq!(
            (record.provider.as_str(), record.variant.as_deref()),
            ("b", Some("mirror"))
        );
        assert_eq!(record.upstream_model, "candidate");
        assert!(!record.stream);
    }
    assert_eq!(
        shadows.iter().filter(|it| it.error_code.is_some()).count(),
        1,
        "the failed mirror: {shadows:?}"
    );
    assert!(
        shadows
            .iter()
            .any(|it| it.prompt_tokens == 3 && it.completion_tokens == 2)
    );

    // The dashboard counts the tenant's own call only, and shows the mirror apart.
    *mode.lock().unwrap() = ShadowMode::Other;
    let (ada, tenant, key) = crate::byok::owner(&app, "ada@example.com").await;
    assert_eq!(
        app.post_as(&key, "/v1/chat/completions", &body)
            .await
            .status(),
        200
    );
    let path = format!("/api/v1/tenants/{tenant}/usage/summary");
    let summary = summary_when(&ada, &path, |it| it["shadow"]["requests"] == 1).await;
    assert_eq!(summary["totals"]["requests"], 1, "{summary}");
    assert_eq!(
        summary["totals"]["prompt_tokens"],
        summary["groups"][0]["prompt_tokens"]
    );
    assert_eq!(summary["shadow"]["prompt_tokens"], 3);
    let (_, records) = ada
        .get(&format!("/api/v1/tenants/{tenant}/usage/records"))
        .await;
    let statuses: Vec<&str> = records
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["status"].as_str().unwrap())
        .collect();
    assert!(
        statuses.contains(&"shadow") && statuses.contains(&"ok"),
        "{records}"
    );
}
