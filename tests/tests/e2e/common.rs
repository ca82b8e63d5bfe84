//! Shared set-ups: configurations pointing at mock upstreams.

use it::harness::TestApp;
use it::mock_upstream::{MockUpstream, Recorded, Reply};

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
