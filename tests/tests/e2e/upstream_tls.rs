//! Upstreams behind TLS: a provider's own CA (`ca_file`), HTTP/2 when ALPN offers it, one
//! pooled connection for many calls, and streams reset or stalled on either side without
//! harming the connection.

use std::time::Duration;

use http::Version;
use it::fixtures;
use it::harness::{TestApp, eventually, hang_up_after, json_of};
use it::mock_upstream::{End, Recorded, Reply};
use it::tls_upstream::{Offers, TlsUpstream, ca_file};
use serde_json::{Value, json};

use crate::common::{UPSTREAM_KEY, assert_cut_after_three_frames};

/// Answers streamed calls with `stream` over `openai/stream_ok.sse`, others with a chat answer.
fn answering(
    stream: impl Fn(Reply) -> Reply + Send + Sync + 'static,
) -> impl Fn(&Recorded) -> Reply + Send + Sync + 'static {
    move |request| {
        if request.json()["stream"] == true {
            stream(Reply::sse(fixtures::sse_frames("openai/stream_ok.sse")))
        } else {
            Reply::json(fixtures::text("openai/chat_ok.json"))
        }
    }
}

async fn gateway(upstream: &TlsUpstream, ca_file: Option<&str>) -> TestApp {
    let ca = ca_file
        .map(|it| format!("ca_file = \"{it}\"\n"))
        .unwrap_or_default();
    TestApp::builder()
        .config(format!(
            r#"
[providers.internal]
kind = "openai_compatible"
flavor = "vllm"
base_url = "{}/v1"
api_key = "env:UPSTREAM_KEY"
{ca}first_byte_timeout_ms = 1500
idle_timeout_ms = 1500

[[models]]
alias = "llama"
provider = "internal"
model = "meta-llama/Llama-3.1-8B-Instruct"
"#,
            upstream.url
        ))
        .env("UPSTREAM_KEY", UPSTREAM_KEY)
        .spawn()
        .await
}

fn chat(stream: bool) -> Value {
    json!({"model": "llama", "stream": stream, "messages": [{"role": "user", "content": "héllo 世界"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_ca_upstream_is_called_over_http2_on_one_connection() {
    let upstream = TlsUpstream::start(Offers::H2, answering(|it| it)).await;
    let app = gateway(&upstream, Some(&ca_file())).await;

    let res = app.post("/v1/chat/completions", &chat(false)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.text().await.unwrap(),
        fixtures::text("openai/chat_ok.json")
    );
    let (status, transcript) = app.chat_stream(&chat(true)).await;
    assert_eq!(status, 200);
    assert!(transcript.ends_with_done(), "{:?}", transcript.data);
    let text: String = transcript
        .chunks()
        .iter()
        .filter_map(|it| it["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert!(!text.is_empty(), "{:?}", transcript.data);
    let (status, _) = app.chat(&chat(false)).await;
    assert_eq!(status, 200);

    let requests = upstream.requests();
    assert_eq!(requests.len(), 3);
    for (version, request) in &requests {
        assert_eq!(*version, Version::HTTP_2);
        assert_eq!(request.path, "/v1/chat/completions");
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {UPSTREAM_KEY}").as_str())
        );
        assert_eq!(request.json()["model"], "meta-llama/Llama-3.1-8B-Instruct");
        assert_eq!(request.json()["messages"][0]["content"], "héllo 世界");
    }
    assert_eq!(upstream.connections(), 1, "calls share one h2 connection");
    let usage = app.usage(3).await;
    assert!(
        usage
            .iter()
            .all(|it| it.http_status == 200 && !it.estimated)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_no_trusted_ca_issued_is_refused_before_anything_is_sent() {
    let upstream = TlsUpstream::start(Offers::H2, answering(|it| it)).await;
    // Without `ca_file` the system's roots apply, and they do not know the private CA.
    let app = gateway(&upstream, None).await;
    let (status, body) = json_of(app.post("/v1/chat/completions", &chat(false)).await).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "upstream_unavailable", "{body}");
    assert!(upstream.requests().is_empty());
    let usage = app.usage(1).await;
    assert_eq!(usage[0].http_status, 502);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_offering_only_http1_is_called_over_http1() {
    let upstream = TlsUpstream::start(Offers::Http1, answering(|it| it)).await;
    let app = gateway(&upstream, Some(&ca_file())).await;
    let (status, transcript) = app.chat_stream(&chat(true)).await;
    assert_eq!(status, 200);
    assert!(transcript.ends_with_done());
    let (status, _) = app.chat(&chat(false)).await;
    assert_eq!(status, 200);
    let versions: Vec<Version> = upstream.requests().iter().map(|it| it.0).collect();
    assert_eq!(versions, [Version::HTTP_11, Version::HTTP_11]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_disconnect_resets_only_its_http2_stream() {
    let upstream = TlsUpstream::start(
        Offers::H2,
        answering(|it| it.gap(Duration::from_millis(400))),
    )
    .await;
    let app = gateway(&upstream, Some(&ca_file())).await;
    let res = app.post("/v1/chat/completions", &chat(true)).await;
    assert_eq!(res.status(), 200);
    hang_up_after(res, "Hello").await;
    assert!(
        eventually(Duration::from_secs(3), || async {
            upstream.cancelled() == 1
        })
        .await,
        "the upstream stream was not cancelled"
    );
    // The connection itself stays up and serves the next call.
    let (status, _) = app.chat(&chat(false)).await;
    assert_eq!(status, 200);
    assert_eq!(upstream.connections(), 1);
    let usage = app.usage(2).await;
    let streamed = usage.iter().find(|it| it.stream).unwrap();
    assert_eq!(streamed.status, domain::UsageStatus::ClientClosed);
    assert!(streamed.completion_tokens >= 1, "{streamed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_stream_reset_mid_way_becomes_an_error_event_and_the_connection_lives_on() {
    let upstream = TlsUpstream::start(Offers::H2, answering(|it| it.cut_after(3, End::Drop))).await;
    let app = gateway(&upstream, Some(&ca_file())).await;
    let (status, transcript) = app.chat_stream(&chat(true)).await;
    assert_eq!(status, 200);
    assert_cut_after_three_frames(&app, &transcript).await;

    let (status, _) = app.chat(&chat(false)).await;
    assert_eq!(status, 200);
    assert_eq!(
        upstream.connections(),
        1,
        "the reset closed only its stream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_http2_stream_hits_the_idle_timeout() {
    let upstream = TlsUpstream::start(Offers::H2, |_| {
        Reply::sse(fixtures::sse_frames("openai/stream_ok.sse")).cut_after(2, End::Hang)
    })
    .await;
    let app = gateway(&upstream, Some(&ca_file())).await;
    let started = std::time::Instant::now();
    let (status, transcript) = app.chat_stream(&chat(true)).await;
    assert_eq!(status, 200);
    assert_eq!(transcript.content(), "Hello");
    assert_eq!(
        transcript.chunks().last().unwrap()["error"]["code"],
        "upstream_timeout"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // The gateway gave up on the stream: the upstream sees it reset.
    assert!(
        eventually(Duration::from_secs(3), || async {
            upstream.cancelled() == 1
        })
        .await
    );
}
