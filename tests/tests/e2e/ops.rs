//! Operations endpoints and metrics.

use std::time::{Duration, Instant};

use it::harness::{TestApp, json_of};
use it::tcp_proxy::TcpProxy;
use serde_json::json;

use crate::common::mock_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics_answer() {
    let app = mock_app().await;
    let client = app.client();
    let (status, body) = json_of(
        client
            .get(format!("{}/healthz", app.url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body), (200, json!({"status": "ok"})));
    let (status, body) = json_of(
        client
            .get(format!("{}/readyz", app.url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body),
        (200, json!({"status": "ready", "limits": "local"}))
    );

    let (status, _) = app
        .chat(&json!({"model": "mock", "messages": [{"role": "user", "content": "x"}]}))
        .await;
    assert_eq!(status, 200);
    let _ = app
        .chat(&json!({"model": "nope", "messages": [{"role": "user", "content": "x"}]}))
        .await;
    let res = client
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = res.text().await.unwrap();
    for needle in [
        "gateway_requests_total{endpoint=\"chat.completions\",model=\"mock\",provider=\"mock\",outcome=\"ok\"}",
        "gateway_request_duration_seconds_bucket{endpoint=\"chat.completions\",model=\"mock\",provider=\"mock\",le=\"0.005\"}",
        "gateway_tokens_total{endpoint=\"chat.completions\",model=\"mock\",provider=\"mock\",kind=\"prompt\"}",
        "http_requests_total{route=\"/v1/chat/completions\",status=\"404\"}",
    ] {
        assert!(text.contains(needle), "missing {needle} in:\n{text}");
    }
    assert!(
        !text.contains("model=\"nope\""),
        "unknown models never become labels"
    );
    assert!(
        !text.contains(&app.tenant.to_string()),
        "tenants never become labels"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_has_a_unique_request_id() {
    let app = mock_app().await;
    let mut ids = std::collections::HashSet::new();
    for path in ["/healthz", "/v1/models", "/nowhere", "/v1/chat/completions"] {
        let res = app
            .client()
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .unwrap();
        let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(id.len(), 36);
        assert!(ids.insert(id));
    }
    let res = app.post("/v1/chat/completions", &json!({"model": "mock", "stream": true, "messages": [{"role": "user", "content": "x"}]})).await;
    assert!(res.headers().contains_key("x-request-id"));
    // OpenAI-shaped calls carry only `x-request-id`.
    assert!(!res.headers().contains_key("request-id"));

    // Anthropic-shaped ones also `request-id`, which Anthropic's SDKs report: the Messages
    // paths, answered or refused, and any call with `anthropic-version`.
    let messages =
        json!({"model": "mock", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]});
    let answered = app.post("/v1/messages", &messages).await;
    let refused = app
        .client()
        .post(format!("{}/v1/messages", app.url))
        .json(&messages)
        .send()
        .await
        .unwrap();
    let models = app
        .client()
        .get(format!("{}/v1/models", app.url))
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap();
    for (res, status) in [(answered, 200), (refused, 401), (models, 401)] {
        assert_eq!(res.status(), status);
        let id = &res.headers()["request-id"];
        assert_eq!(id, &res.headers()["x-request-id"]);
        assert!(ids.insert(id.to_str().unwrap().to_owned()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_says_503_within_a_second_when_the_database_stops_answering() {
    let Some(database) = store_pg::testing::fresh_database_url().await else {
        return;
    };
    // The gateway reaches Postgres through a proxy that the test can turn into a black hole.
    let (proxy, url) = TcpProxy::in_front_of(&database).await;
    let app = TestApp::builder()
        .env("SLUICE_DATABASE_URL", &url)
        .spawn()
        .await;
    let readyz = || async {
        json_of(
            app.client()
                .get(format!("{}/readyz", app.url))
                .send()
                .await
                .unwrap(),
        )
        .await
    };
    assert_eq!(
        readyz().await,
        (200, json!({"status": "ready", "limits": "local"}))
    );

    // Connections go silent, and new ones are accepted but never answered: the pool would wait
    // 5 s.
    proxy.black_hole();
    let started = Instant::now();
    let (status, body) = readyz().await;
    let took = started.elapsed();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "unavailable");
    // The check gives up after `READY_TIMEOUT` (750 ms); the bound leaves room for a busy
    // machine and is still well below the pool's 5 s.
    assert!(took < Duration::from_secs(2), "readyz took {took:?}");
}
