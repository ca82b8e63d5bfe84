//! Legacy text completions: native on OpenAI-compatible upstreams, through chat on Anthropic.

use it::fixtures;
use it::mock_upstream::Reply;
use serde_json::json;

use crate::common::{anthropic_app, mock_app, openai_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_completions_pass_through() {
    let (app, upstream) =
        openai_app(|_| Reply::json(fixtures::text("openai/completion_ok.json"))).await;
    let (status, body) = it::harness::json_of(
        app.post("/v1/completions", &json!({"model": "gpt", "prompt": "Say this is a test", "max_tokens": 7, "echo": false})).await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["choices"][0]["text"], "\n\nThis is indeed a test");
    assert_eq!(upstream.last().path, "/v1/completions");
    assert_eq!(
        upstream.last().json(),
        json!({"model": "gpt-4o-mini", "prompt": "Say this is a test", "max_tokens": 7, "echo": false})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_serves_completions_through_chat_streamed_or_not() {
    let (app, upstream) = anthropic_app(|req| {
        if req.json()["stream"] == true {
            Reply::sse(fixtures::sse_frames("anthropic/stream_ok.sse"))
        } else {
            Reply::json(fixtures::text("anthropic/message_ok.json"))
        }
    })
    .await;
    let (status, body) = it::harness::json_of(
        app.post(
            "/v1/completions",
            &json!({"model": "claude", "prompt": "Hi", "max_tokens": 20}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "text_completion");
    assert_eq!(
        body["choices"][0]["text"],
        "Hello! How can I help you today? Ünïcödé ✓"
    );
    assert_eq!(body["usage"]["completion_tokens"], 12);
    assert_eq!(
        upstream.last().json()["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "Hi"}]}])
    );

    let (status, transcript) = app
        .stream_at("/v1/completions", &json!({"model": "claude", "prompt": "Hi", "stream": true, "stream_options": {"include_usage": true}}))
        .await;
    assert_eq!(status, 200);
    let text: String = transcript
        .chunks()
        .iter()
        .filter_map(|it| it["choices"][0]["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(text, "Hello! How can I help you today? Ünïcödé ✓");
    assert!(
        transcript
            .chunks()
            .iter()
            .all(|it| it["object"] == "text_completion")
    );
    assert_eq!(transcript.usage().unwrap()["completion_tokens"], 12);
    assert!(transcript.ends_with_done());

    let (status, body) = it::harness::json_of(
        app.post(
            "/v1/completions",
            &json!({"model": "claude", "prompt": [1, 2, 3]}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["error"]["param"].as_str()),
        (400, Some("prompt"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mock_model_serves_every_endpoint() {
    let app = mock_app().await;
    let (status, body) = app
        .chat(&json!({"model": "mock", "messages": [{"role": "user", "content": "ping"}]}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "This is a mock reply to: ping"
    );
    let (status, body) = it::harness::json_of(
        app.post(
            "/v1/completions",
            &json!({"model": "mock", "prompt": "ping"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["choices"][0]["text"],
        "This is a mock completion of: ping"
    );
    let (status, body) = it::harness::json_of(
        app.post(
            "/v1/embeddings",
            &json!({"model": "mock", "input": ["a", "b"], "dimensions": 8}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    assert_eq!(body["data"][1]["embedding"].as_array().unwrap().len(), 8);
    let (status, body) = it::harness::json_of(
        app.post(
            "/v1/embeddings",
            &json!({"model": "mock", "input": "a", "encoding_format": "base64"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["data"][0]["embedding"].as_str().unwrap().len(),
        88,
        "16 f32 as base64"
    );
}
