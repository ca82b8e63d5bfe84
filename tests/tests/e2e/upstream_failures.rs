//! Upstream failures become the right client errors, before and after the commit point.

use std::time::Duration;

use it::fixtures;
use it::harness::{TestApp, json_of};
use it::mock_upstream::{End, Reply};
use serde_json::json;

use crate::common::{UPSTREAM_KEY, assert_cut_after_three_frames, openai_app};

fn ask(text: &str) -> serde_json::Value {
    json!({"model": "gpt", "messages": [{"role": "user", "content": text}]})
}

fn ask_stream(text: &str) -> serde_json::Value {
    json!({"model": "gpt", "stream": true, "messages": [{"role": "user", "content": text}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_error_statuses_map_to_client_statuses() {
    let (app, _upstream) = openai_app(|req| {
        let text = req.json()["messages"][0]["content"].as_str().unwrap_or_default().to_owned();
        match text.as_str() {
            "400" => Reply::status(400, fixtures::text("openai/error_400.json")),
            "context" => Reply::status(400, fixtures::text("openai/error_context.json")),
            "401" => Reply::status(401, fixtures::text("openai/error_401.json")),
            "404" => Reply::status(404, r#"{"error":{"message":"The model `gpt-4o-mini` does not exist","type":"invalid_request_error","code":"model_not_found"}}"#),
            "429" => Reply::status(429, fixtures::text("openai/error_429.json")).with_header("retry-after-ms", "2500"),
            "500" => Reply::status(500, fixtures::text("openai/error_500.json")),
            "503" => Reply::status(503, "<html>Service Unavailable</html>"),
            "200-error" => Reply::json(r#"{"error":{"message":"model is loading","type":"server_error"}}"#),
            "200-garbage" => Reply::json("<html>not json</html>"),
            _ => Reply::Close,
        }
    })
    .await;
    let cases = [
        (
            "400",
            400,
            "invalid_request",
            Some("Invalid value for 'temperature': expected a number between 0 and 2."),
        ),
        (
            "context",
            400,
            "invalid_request",
            Some(
                "This model's maximum context length is 128000 tokens. However, your messages resulted in 130412 tokens. Please reduce the length of the messages.",
            ),
        ),
        ("401", 502, "upstream_error", None),
        ("404", 502, "upstream_error", None),
        ("429", 429, "upstream_rate_limited", None),
        ("500", 502, "upstream_error", None),
        ("503", 502, "upstream_error", None),
        ("200-error", 502, "upstream_error", None),
        ("200-garbage", 502, "upstream_error", None),
        ("close", 502, "upstream_unavailable", None),
    ];
    for (text, status, code, message) in cases {
        let res = app.post("/v1/chat/completions", &ask(text)).await;
        let retry_after = res
            .headers()
            .get("retry-after")
            .map(|it| it.to_str().unwrap().to_owned());
        let (got, body) = json_of(res).await;
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{text}: {body}"
        );
        if let Some(message) = message {
            assert_eq!(body["error"]["message"], message);
        }
        let rendered = body.to_string();
        assert!(
            !rendered.contains("sk-proj"),
            "upstream credential hints never reach clients"
        );
        assert!(!rendered.contains(UPSTREAM_KEY));
        assert!(
            !rendered.contains("<html>"),
            "raw upstream bodies never reach clients"
        );
        if text == "429" {
            assert_eq!(retry_after.as_deref(), Some("3"));
        }
    }
    assert_eq!(
        app.post("/v1/chat/completions", &ask("400"))
            .await
            .json::<serde_json::Value>()
            .await
            .unwrap()["error"]["param"],
        "temperature"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_upstreams_time_out_with_504() {
    let (app, upstream) = openai_app(|req| {
        if req.json()["stream"] == true {
            Reply::sse(fixtures::sse_frames("openai/stream_ok.sse")).delayed(Duration::from_secs(5))
        } else {
            Reply::json(fixtures::text("openai/chat_ok.json")).delayed(Duration::from_secs(5))
        }
    })
    .await;
    let started = std::time::Instant::now();
    let (status, body) = app.chat(&ask("slow")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (504, Some("upstream_timeout"))
    );
    let res = app.post("/v1/chat/completions", &ask_stream("slow")).await;
    assert_eq!(
        res.status(),
        504,
        "no stream was committed, so the client gets a plain error"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "first_byte_timeout_ms = 1500 applies"
    );
    assert!(
        it::harness::eventually(Duration::from_secs(2), || async {
            upstream.hang_ups() == 2
        })
        .await,
        "the upstream request was abandoned"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_upstream_is_502_upstream_unavailable() {
    let app = TestApp::builder()
        .config(crate::common::openai_config("http://127.0.0.1:1"))
        .env("UPSTREAM_KEY", "k")
        .spawn()
        .await;
    let (status, body) = app.chat(&ask("x")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (502, Some("upstream_unavailable"))
    );
    assert_eq!(body["error"]["type"], "api_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_before_the_first_chunk_is_a_plain_http_error() {
    let (app, _upstream) =
        openai_app(|_| Reply::sse(fixtures::sse_frames("openai/stream_error_first.sse"))).await;
    let res = app.post("/v1/chat/completions", &ask_stream("x")).await;
    assert_eq!(res.status(), 502);
    assert_eq!(res.headers()["content-type"], "application/json");
    let records = app.usage(1).await;
    assert_eq!(records[0].status, domain::UsageStatus::Error);
    assert_eq!(records[0].http_status, 502);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_dropped_mid_stream_ends_with_an_error_event_and_bills_what_was_delivered() {
    let (app, _upstream) = openai_app(|_| {
        Reply::sse(fixtures::sse_frames("openai/stream_ok.sse"))
            .split_every(11)
            .cut_after(3, End::Drop)
    })
    .await;
    let (status, transcript) = app.chat_stream(&ask_stream("x")).await;
    assert_eq!(status, 200);
    assert_cut_after_three_frames(&app, &transcript).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_stream_hits_the_idle_timeout() {
    let (app, _upstream) = openai_app(|_| {
        Reply::sse(fixtures::sse_frames("openai/stream_ok.sse")).cut_after(2, End::Hang)
    })
    .await;
    let started = std::time::Instant::now();
    let (status, transcript) = app.chat_stream(&ask_stream("x")).await;
    assert_eq!(status, 200);
    assert_eq!(transcript.content(), "Hello");
    assert_eq!(
        transcript.chunks().last().unwrap()["error"]["code"],
        "upstream_timeout"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_chunk_mid_stream_ends_the_stream_cleanly() {
    let (app, _upstream) = openai_app(|_| {
        let mut frames = fixtures::sse_frames("openai/stream_ok.sse");
        frames.insert(2, "data: {\"choices\": [{\"delta\": \n\n".to_owned());
        Reply::sse(frames)
    })
    .await;
    let (status, transcript) = app.chat_stream(&ask_stream("x")).await;
    assert_eq!(status, 200);
    assert_eq!(transcript.content(), "Hello");
    assert_eq!(
        transcript.chunks().last().unwrap()["error"]["code"],
        "upstream_error"
    );
}
