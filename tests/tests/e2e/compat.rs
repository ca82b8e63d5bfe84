//! Azure OpenAI and OpenAI-compatible servers: each one's quirks on the wire.

use it::fixtures;
use it::harness::TestApp;
use it::mock_upstream::{MockUpstream, Reply};
use serde_json::json;

use crate::common::UPSTREAM_KEY;

async fn app_with(provider: &str, upstream: &MockUpstream) -> TestApp {
    TestApp::builder()
        .config(format!(
            r#"
[providers.up]
{provider}
api_key = "env:UPSTREAM_KEY"

[[models]]
alias = "m"
provider = "up"
model = "upstream-model"
"#,
            provider = provider.replace("URL", &upstream.url)
        ))
        .env("UPSTREAM_KEY", UPSTREAM_KEY)
        .spawn()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_uses_deployment_urls_api_version_and_api_key_header() {
    let upstream = MockUpstream::start(|req| {
        if req.path.ends_with("/embeddings") {
            Reply::json(fixtures::text("openai/embeddings_ok.json"))
        } else {
            Reply::json(fixtures::text("openai/chat_ok.json"))
        }
    })
    .await;
    let app = app_with(
        "kind = \"azure_openai\"\nbase_url = \"URL\"\napi_version = \"2024-10-21\"",
        &upstream,
    )
    .await;
    let (status, _) = app
        .chat(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(status, 200);
    let sent = upstream.last();
    assert_eq!(
        sent.path,
        "/openai/deployments/upstream-model/chat/completions"
    );
    assert_eq!(sent.query.as_deref(), Some("api-version=2024-10-21"));
    assert_eq!(sent.header("api-key"), Some(UPSTREAM_KEY));
    assert_eq!(sent.header("authorization"), None);
    let res = app
        .post("/v1/embeddings", &json!({"model": "m", "input": "x"}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        upstream.last().path,
        "/openai/deployments/upstream-model/embeddings"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groq_usage_is_read_from_x_groq_and_stream_options_are_not_sent() {
    let upstream =
        MockUpstream::start(|_| Reply::sse(fixtures::sse_frames("openai/stream_groq.sse"))).await;
    let app = app_with(
        "kind = \"openai_compatible\"\nflavor = \"groq\"\nbase_url = \"URL/openai/v1\"",
        &upstream,
    )
    .await;
    let (status, transcript) = app
        .chat_stream(&json!({"model": "m", "stream": true, "logprobs": true, "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(transcript.content(), "Hi!");
    let sent = upstream.last();
    assert_eq!(sent.path, "/openai/v1/chat/completions");
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {UPSTREAM_KEY}").as_str())
    );
    assert!(sent.json().get("stream_options").is_none());
    assert!(sent.json().get("logprobs").is_none());
    let records = app.usage(1).await;
    assert_eq!(
        (records[0].prompt_tokens, records[0].completion_tokens),
        (12, 3)
    );
    assert!(!records[0].estimated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mistral_gets_random_seed_and_no_fields_it_rejects() {
    let upstream =
        MockUpstream::start(|_| Reply::json(fixtures::text("openai/chat_ok.json"))).await;
    let app = app_with(
        "kind = \"openai_compatible\"\nflavor = \"mistral\"\nbase_url = \"URL/v1\"",
        &upstream,
    )
    .await;
    let (status, _) = app
        .chat(&json!({"model": "m", "seed": 7, "user": "u", "max_completion_tokens": 20, "safe_prompt": true,
                      "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        upstream.last().json(),
        json!({"model": "upstream-model", "random_seed": 7, "max_tokens": 20, "safe_prompt": true,
               "messages": [{"role": "user", "content": "hi"}]})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_server_without_a_key_or_usage_is_billed_by_tokenizer_estimate() {
    let upstream =
        MockUpstream::start(|_| Reply::sse(fixtures::sse_frames("openai/stream_no_usage.sse")))
            .await;
    let app = TestApp::builder()
        .config(format!(
            "[providers.local]\nkind = \"openai_compatible\"\nflavor = \"ollama\"\nbase_url = \"{}/v1\"\n\n[[models]]\nalias = \"llama\"\nprovider = \"local\"\nmodel = \"llama3\"\n",
            upstream.url
        ))
        .spawn()
        .await;
    let (status, transcript) = app
        .chat_stream(&json!({"model": "llama", "stream": true, "messages": [{"role": "user", "content": "Tell me about foxes"}]}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        transcript.content(),
        "The quick brown fox jumps over the lazy dog."
    );
    assert_eq!(upstream.last().header("authorization"), None);
    let record = &app.usage(1).await[0];
    assert!(record.estimated);
    // o200k_base: "The quick brown fox jumps over the lazy dog." is 10 tokens.
    assert_eq!(record.completion_tokens, 10);
    assert!(record.prompt_tokens > 0);
}
