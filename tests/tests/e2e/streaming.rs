//! Streams are forwarded as they arrive, and a client that goes away cancels the upstream.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use it::fixtures;
use it::harness::{eventually, hang_up_after};
use it::mock_upstream::Reply;
use serde_json::json;

use crate::common::openai_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_are_forwarded_as_they_arrive_not_buffered() {
    let (app, _upstream) = openai_app(|_| {
        Reply::sse(fixtures::sse_frames("openai/stream_ok.sse")).gap(Duration::from_millis(300))
    })
    .await;
    let started = Instant::now();
    let res = app
        .post("/v1/chat/completions", &json!({"model": "gpt", "stream": true, "messages": [{"role": "user", "content": "x"}]}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut body = res.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    let first_at = started.elapsed();
    assert!(String::from_utf8_lossy(&first).starts_with("data: "));
    while body.next().await.is_some() {}
    let total = started.elapsed();
    // Six frames 300 ms apart: the first arrives long before the last is sent.
    assert!(total >= Duration::from_millis(1500), "{total:?}");
    assert!(
        first_at + Duration::from_millis(1000) < total,
        "first chunk at {first_at:?}, end at {total:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_disconnect_cancels_the_upstream_and_bills_what_was_delivered() {
    let (app, upstream) = openai_app(|_| {
        Reply::sse(fixtures::sse_frames("openai/stream_ok.sse")).gap(Duration::from_millis(400))
    })
    .await;
    let res = app
        .post("/v1/chat/completions", &json!({"model": "gpt", "stream": true, "messages": [{"role": "user", "content": "x"}]}))
        .await;
    hang_up_after(res, "Hello").await;
    assert!(
        eventually(Duration::from_secs(3), || async {
            upstream.hang_ups() == 1
        })
        .await,
        "the upstream call was cancelled"
    );
    let record = &app.usage(1).await[0];
    assert_eq!(record.status, domain::UsageStatus::ClientClosed);
    assert!(record.estimated);
    assert!(record.completion_tokens >= 1, "{record:?}");
    assert_eq!(record.http_status, 200);
    assert!(record.ttft_ms.is_some());
}
