//! Usage records: one per request, the same for a streamed and a non-streamed call, with the
//! provider's raw detail kept.

use it::fixtures;
use it::harness::TestApp;
use it::mock_upstream::{MockUpstream, Reply};
use serde_json::json;

use crate::common::{UPSTREAM_KEY, anthropic_config, mock_app, openai_config};

/// Makes the same call streamed and not, and checks both records carry the same usage.
async fn streamed_and_plain_record_the_same(app: &TestApp, model: &str) {
    let body = json!({"model": model, "messages": [{"role": "user", "content": "Hello there"}]});
    let (status, plain) = app.chat(&body).await;
    assert_eq!(status, 200, "{plain}");
    let mut streamed_body = body.clone();
    streamed_body["stream"] = json!(true);
    let (status, transcript) = app.chat_stream(&streamed_body).await;
    assert_eq!(status, 200);
    assert!(transcript.ends_with_done());
    let records = app.usage(2).await;
    let (streamed, plain_record) = (&records[0], &records[1]);
    assert!(streamed.stream && !plain_record.stream);
    for record in [streamed, plain_record] {
        assert!(!record.estimated, "{record:?}");
        assert_eq!(record.status, domain::UsageStatus::Ok);
        assert_eq!(record.model_alias, model);
        assert_eq!(record.tenant_id, app.tenant);
        assert_eq!(record.key_id, app.key_id);
        assert_eq!(record.endpoint, "chat.completions");
    }
    let tokens = |r: &domain::UsageRecord| {
        (
            r.prompt_tokens,
            r.completion_tokens,
            r.cached_tokens,
            r.cache_write_tokens,
            r.reasoning_tokens,
        )
    };
    assert_eq!(tokens(streamed), tokens(plain_record));
    assert_eq!(streamed.raw_usage, plain_record.raw_usage);
    assert_eq!(plain["usage"]["prompt_tokens"], plain_record.prompt_tokens);
    assert!(streamed.ttft_ms.is_some() && plain_record.ttft_ms.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_streamed_and_plain_calls_record_the_same_usage() {
    let upstream = MockUpstream::start(|req| {
        if req.json()["stream"] == true {
            Reply::sse(fixtures::sse_frames("openai/stream_tools.sse"))
        } else {
            Reply::json(fixtures::text("openai/chat_tools.json"))
        }
    })
    .await;
    let app = TestApp::builder()
        .config(openai_config(&upstream.url))
        .env("UPSTREAM_KEY", UPSTREAM_KEY)
        .spawn()
        .await;
    streamed_and_plain_record_the_same(&app, "gpt").await;
    let record = &app.usage(2).await[0];
    assert_eq!(
        (
            record.prompt_tokens,
            record.completion_tokens,
            record.cached_tokens
        ),
        (82, 41, 64)
    );
    assert_eq!(record.provider, "openai");
    assert_eq!(record.upstream_model, "gpt-4o-mini");
    let raw: serde_json::Value =
        serde_json::from_str(record.raw_usage.as_deref().unwrap()).unwrap();
    assert_eq!(raw["prompt_tokens_details"]["cached_tokens"], 64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_streamed_and_plain_calls_record_the_same_usage() {
    let upstream = MockUpstream::start(|req| {
        if req.json()["stream"] == true {
            Reply::sse(fixtures::sse_frames("anthropic/stream_ok.sse"))
        } else {
            Reply::json(fixtures::text("anthropic/message_ok.json"))
        }
    })
    .await;
    let app = TestApp::builder()
        .config(anthropic_config(&upstream.url))
        .env("UPSTREAM_KEY", UPSTREAM_KEY)
        .spawn()
        .await;
    streamed_and_plain_record_the_same(&app, "claude").await;
    let record = &app.usage(2).await[0];
    // 25 uncached + 100 read from cache + 7 written to it.
    assert_eq!(
        (
            record.prompt_tokens,
            record.cached_tokens,
            record.cache_write_tokens,
            record.completion_tokens
        ),
        (132, 100, 7, 12)
    );
    let raw: serde_json::Value =
        serde_json::from_str(record.raw_usage.as_deref().unwrap()).unwrap();
    assert_eq!(raw["cache_read_input_tokens"], 100);
    assert_eq!(raw["output_tokens"], 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_streamed_and_plain_calls_record_the_same_usage() {
    let app = mock_app().await;
    streamed_and_plain_record_the_same(&app, "mock").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_calls_are_recorded_with_their_status_and_code() {
    let upstream =
        MockUpstream::start(|_| Reply::status(500, fixtures::text("openai/error_500.json"))).await;
    let app = TestApp::builder()
        .config(openai_config(&upstream.url))
        .env("UPSTREAM_KEY", UPSTREAM_KEY)
        .spawn()
        .await;
    let (status, _) = app
        .chat(&json!({"model": "gpt", "messages": [{"role": "user", "content": "x"}]}))
        .await;
    assert_eq!(status, 502);
    let record = &app.usage(1).await[0];
    assert_eq!(record.status, domain::UsageStatus::Error);
    assert_eq!(
        (record.http_status, record.error_code.as_deref()),
        (502, Some("upstream_error"))
    );
    assert_eq!((record.prompt_tokens, record.completion_tokens), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_is_written_to_postgres_and_flushed_on_shutdown() {
    let upstream =
        MockUpstream::start(|_| Reply::json(fixtures::text("openai/chat_ok.json"))).await;
    let Some(app) = TestApp::builder()
        .config(openai_config(&upstream.url))
        .env("UPSTREAM_KEY", UPSTREAM_KEY)
        // A long flush interval: only the shutdown drain can write these in time.
        .env("SLUICE_USAGE_FLUSH_INTERVAL_MS", "60000")
        .postgres()
        .try_spawn()
        .await
    else {
        return;
    };
    assert!(app.database_url.starts_with("postgres"));
    for _ in 0..5 {
        let (status, _) = app
            .chat(&json!({"model": "gpt", "messages": [{"role": "user", "content": "x"}]}))
            .await;
        assert_eq!(status, 200);
    }
    app.stop().await;
    let records = app.usage(5).await;
    assert_eq!(records.len(), 5);
    assert!(
        records
            .iter()
            .all(|it| it.prompt_tokens == 19 && it.completion_tokens == 10)
    );
}
