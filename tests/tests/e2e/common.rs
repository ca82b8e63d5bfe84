//! Shared set-ups: configurations pointing at mock upstreams.

use it::harness::TestApp;
use it::mock_upstream::{MockUpstream, Recorded, Reply};
use it::sse::Transcript;

/// The secret the gateway sends upstream; tests check it arrives and never leaks back.
pub(crate) const UPSTREAM_KEY: &str = "sk-upstream-secret-123";

pub(crate) fn openai_config(url: &str) -> String {
    format!(
        r#"
[providers.openai]
kind = "openai"
base_url = "{url}/v1"
api_key = "env:UPSTREAM_KEY"
first_byte_timeout_ms = 1500
idle_timeout_ms = 1500
total_timeout_ms = 10000

[[models]]
alias = "gpt"
provider = "openai"
model = "gpt-4o-mini"

[[models]]
alias = "embed"
provider = "openai"
model = "text-embedding-3-small"
"#
    )
}

pub(crate) fn anthropic_config(url: &str) -> String {
    format!(
        r#"
[providers.claude]
kind = "anthropic"
base_url = "{url}"
api_key = "env:UPSTREAM_KEY"
beta = ["prompt-caching-2024-07-31"]
first_byte_timeout_ms = 1500
idle_timeout_ms = 1500

[[models]]
alias = "claude"
provider = "claude"
model = "claude-sonnet-4-5-20250929"
"#
    )
}

/// A gateway in front of one OpenAI mock upstream.
pub(crate) async fn openai_app(
    script: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
) -> (TestApp, MockUpstream) {
    let upstream = MockUpstream::start(script).await;
    let app = TestApp::builder()
        .config(openai_config(&upstream.url))
        .env("UPSTREAM_KEY", UPSTREAM_KEY)
        .spawn()
        .await;
    (app, upstream)
}

/// A gateway in front of one Anthropic mock upstream.
pub(crate) async fn anthropic_app(
    script: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
) -> (TestApp, MockUpstream) {
    let upstream = MockUpstream::start(script).await;
    let app = TestApp::builder()
        .config(anthropic_config(&upstream.url))
        .env("UPSTREAM_KEY", UPSTREAM_KEY)
        .spawn()
        .await;
    (app, upstream)
}

/// The gateway with only the built-in mock provider.
pub(crate) async fn mock_app() -> TestApp {
    TestApp::builder()
        .config(
            r#"
[providers.mock]
kind = "mock"

[[models]]
alias = "mock"
provider = "mock"
"#,
        )
        .spawn()
        .await
}

/// What a client and the usage record show for `openai/stream_ok.sse` cut after three frames
/// by the upstream: the delivered text, an error event instead of `[DONE]`, and a failed call
/// billed by estimate for what was delivered.
pub(crate) async fn assert_cut_after_three_frames(app: &TestApp, transcript: &Transcript) {
    assert_eq!(transcript.content(), "Hello! How can I");
    let last = transcript.chunks().last().cloned().unwrap();
    assert_eq!(last["error"]["code"], "upstream_unavailable", "{last}");
    assert!(!transcript.ends_with_done());
    let record = &app.usage(1).await[0];
    assert_eq!(record.status, domain::UsageStatus::Error);
    assert_eq!(record.error_code.as_deref(), Some("upstream_unavailable"));
    assert!(record.estimated);
    // "Hello! How can I" is 5 tokens in o200k_base.
    assert_eq!(record.completion_tokens, 5);
    assert!(record.prompt_tokens > 0);
}
