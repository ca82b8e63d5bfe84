//! The response cache: answers kept per route, replayed whole or as a correct stream, never
//! shared across parameters or tenants, steered by `cache-control`, and shared between nodes
//! through Redis.

use std::time::Duration;

use domain::UsageStatus;
use it::fixtures;
use it::harness::{TestApp, json_of};
use it::mock_upstream::{MockUpstream, Reply};
use it::sse::Transcript;
use serde_json::{Value, json};

use crate::byok::any_endpoint;
use crate::common::UPSTREAM_KEY;

fn config(url: &str, extra: &str) -> String {
    format!(
        r#"
[providers.openai]
kind = "openai"
base_url = "{url}/v1"
api_key = "env:UPSTREAM_KEY"

[[models]]
alias = "gpt"
provider = "openai"
model = "gpt-4o-mini"
cache = {{ ttl_secs = 60 }}

[[models]]
alias = "gpt-too"
provider = "openai"
model = "gpt-4o-mini"
cache = {{ ttl_secs = 60 }}

[[models]]
alias = "fresh"
provider = "openai"
model = "gpt-4o-mini"

[[models]]
alias = "embed"
provider = "openai"
model = "text-embedding-3-small"
cache = {{ ttl_secs = 60 }}
{extra}
"#
    )
}

async fn app(extra: &str) -> (TestApp, MockUpstream) {
    let upstream = MockUpstream::start(any_endpoint).await;
    let app = TestApp::builder()
        .config(config(&upstream.url, extra))
        .env("UPSTREAM_KEY", UPSTREAM_KEY)
        .spawn()
        .await;
    (app, upstream)
}

fn ask(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": text}], "temperature": 0.2})
}

fn cache_header(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get("x-cache")
        .map(|it| it.to_str().unwrap().to_owned())
}

/// Posts `body` and returns the status, the `x-cache` header and the body's text.
async fn call(
    app: &TestApp,
    key: &str,
    path: &str,
    body: &Value,
    control: Option<&str>,
) -> (u16, Option<String>, String) {
    let mut req = app
        .client()
        .post(format!("{}{path}", app.url))
        .bearer_auth(key)
        .json(body);
    if let Some(control) = control {
        req = req.header("cache-control", control);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let header = cache_header(&res);
    (status, header, res.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_answer_is_replayed_whole_and_as_a_stream_and_billed_as_a_hit() {
    let (app, upstream) = app("").await;
    let key = app.key.clone();
    let (status, header, first) =
        call(&app, &key, "/v1/chat/completions", &ask("gpt", "hi"), None).await;
    assert_eq!((status, header.as_deref()), (200, Some("miss")));
    assert_eq!(first, fixtures::priced("openai/chat_ok.json", "0.00000885"));
    let (status, header, again) =
        call(&app, &key, "/v1/chat/completions", &ask("gpt", "hi"), None).await;
    assert_eq!((status, header.as_deref()), (200, Some("hit")));
    assert_eq!(
        again,
        fixtures::priced("openai/chat_ok.json", "0"),
        "the kept answer, byte for byte, charged nothing"
    );
    assert_eq!(upstream.requests().len(), 1);

    // The same request streamed: a correct stream of the kept answer, with its usage chunk.
    let mut streamed = ask("gpt", "hi");
    streamed["stream"] = json!(true);
    streamed["stream_options"] = json!({"include_usage": true});
    let (status, header, text) = call(&app, &key, "/v1/chat/completions", &streamed, None).await;
    assert_eq!((status, header.as_deref()), (200, Some("hit")));
    let transcript = Transcript::parse(&text);
    assert_eq!(transcript.content(), "Hello! How can I assist you today?");
    assert!(transcript.ends_with_done());
    let usage = transcript.usage().unwrap();
    assert_eq!(
        (
            usage["prompt_tokens"].clone(),
            usage["completion_tokens"].clone()
        ),
        (json!(19), json!(10))
    );
    let chunks = transcript.chunks();
    assert!(
        chunks
            .iter()
            .all(|it| it["object"] == "chat.completion.chunk")
    );
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(
        chunks
            .iter()
            .any(|it| it["choices"][0]["finish_reason"] == "stop")
    );
    // Without include_usage, no usage chunk.
    streamed.as_object_mut().unwrap().remove("stream_options");
    let (_, _, text) = call(&app, &key, "/v1/chat/completions", &streamed, None).await;
    assert!(Transcript::parse(&text).usage().is_none());
    assert_eq!(upstream.requests().len(), 1);

    // Anthropic's SDK asking the same model: its own key (endpoint), then kept too.
    let message =
        json!({"model": "gpt", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]});
    let (_, header, _) = call(&app, &key, "/v1/messages", &message, None).await;
    assert_eq!(header.as_deref(), Some("miss"));
    let (status, header, text) = call(&app, &key, "/v1/messages", &message, None).await;
    assert_eq!((status, header.as_deref()), (200, Some("hit")));
    assert!(text.contains("\"type\":\"message\""), "{text}");
    assert_eq!(upstream.requests().len(), 2);

    let records = app.usage(6).await;
    let hits: Vec<_> = records
        .iter()
        .filter(|it| it.status == UsageStatus::CacheHit)
        .collect();
    assert_eq!(hits.len(), 4, "{records:?}");
    assert!(
        hits.iter().all(|it| it.prompt_tokens == 19
            && it.completion_tokens == 10
            && it.provider == "openai")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_never_collide_across_parameters_models_or_tenants() {
    let (app, upstream) = app("").await;
    let key = app.key.clone();
    let (_, header, _) = call(&app, &key, "/v1/chat/completions", &ask("gpt", "hi"), None).await;
    assert_eq!(header.as_deref(), Some("miss"));
    let variants = [
        json!({"model": "gpt", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.3}),
        json!({"model": "gpt", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.2, "seed": 7}),
        json!({"model": "gpt", "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}], "temperature": 0.2}),
        json!({"model": "gpt", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.2, "response_format": {"type": "json_object"}}),
        json!({"model": "gpt", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.2, "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]}),
        ask("gpt-too", "hi"),
    ];
    for body in &variants {
        let (status, header, _) = call(&app, &key, "/v1/chat/completions", body, None).await;
        assert_eq!((status, header.as_deref()), (200, Some("miss")), "{body}");
    }
    // Another tenant asking exactly the same never gets the first tenant's answer.
    let tenant = gateway::admin::create_tenant(app.store.as_ref(), "other")
        .await
        .unwrap();
    let (_, other_key) = gateway::admin::create_key(
        app.store.as_ref(),
        tenant.id,
        "sk-sluice",
        gateway::admin::NewKey::default(),
    )
    .await
    .unwrap();
    let other_key = other_key.expose().to_owned();
    let mut seen = false;
    for _ in 0..40 {
        let (status, header, _) = call(
            &app,
            &other_key,
            "/v1/chat/completions",
            &ask("gpt", "hi"),
            None,
        )
        .await;
        if status == 200 {
            assert_eq!(header.as_deref(), Some("miss"));
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen, "the new tenant's key became usable");
    assert_eq!(upstream.requests().len(), 1 + variants.len() + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_control_refreshes_or_bypasses_and_uncached_models_say_nothing() {
    let (app, upstream) = app("").await;
    let key = app.key.clone();
    let body = ask("gpt", "hi");
    // no-store: neither read nor kept.
    let (_, header, _) = call(&app, &key, "/v1/chat/completions", &body, Some("no-store")).await;
    assert_eq!(header, None);
    let (_, header, _) = call(&app, &key, "/v1/chat/completions", &body, None).await;
    assert_eq!(header.as_deref(), Some("miss"));
    // no-cache: answered fresh, and the fresh answer kept.
    let (_, header, _) = call(&app, &key, "/v1/chat/completions", &body, Some("no-cache")).await;
    assert_eq!(header.as_deref(), Some("miss"));
    assert_eq!(upstream.requests().len(), 3);
    let (_, header, _) = call(&app, &key, "/v1/chat/completions", &body, None).await;
    assert_eq!(header.as_deref(), Some("hit"));
    assert_eq!(upstream.requests().len(), 3);

    for _ in 0..2 {
        let (status, header, _) = call(
            &app,
            &key,
            "/v1/chat/completions",
            &ask("fresh", "hi"),
            None,
        )
        .await;
        assert_eq!((status, header), (200, None));
    }
    assert_eq!(upstream.requests().len(), 5);

    // Embeddings are kept too.
    let embed = json!({"model": "embed", "input": "hello"});
    let (_, header, first) = call(&app, &key, "/v1/embeddings", &embed, None).await;
    assert_eq!(header.as_deref(), Some("miss"));
    assert!(first.ends_with(",\"cost\":0.00000016}}\n"), "{first}");
    let (_, header, again) = call(&app, &key, "/v1/embeddings", &embed, None).await;
    assert_eq!(
        (header.as_deref(), again),
        (Some("hit"), first.replace("0.00000016", "0"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_never_kept() {
    let upstream =
        MockUpstream::start(|_| Reply::status(500, fixtures::text("openai/error_500.json"))).await;
    let app = TestApp::builder()
        .config(config(&upstream.url, ""))
        .env("UPSTREAM_KEY", UPSTREAM_KEY)
        .spawn()
        .await;
    for _ in 0..2 {
        let res = app.post("/v1/chat/completions", &ask("gpt", "hi")).await;
        assert_eq!(
            cache_header(&res),
            None,
            "an error says nothing of the cache"
        );
        let (status, _) = json_of(res).await;
        assert_eq!(status, 502);
    }
    assert_eq!(upstream.requests().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_every_node_shares_the_kept_answers() {
    let redis = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("it-{}", uuid::Uuid::now_v7());
    let extra = format!("\n[redis]\nurl = \"{redis}\"\nprefix = \"{prefix}\"\n");
    let (first, upstream) = app(&extra).await;
    let second = first.another_node(config(&upstream.url, &extra)).await;
    let key = first.key.clone();
    let (_, header, answer) = call(
        &first,
        &key,
        "/v1/chat/completions",
        &ask("gpt", "shared"),
        None,
    )
    .await;
    assert_eq!(header.as_deref(), Some("miss"));
    // The shared copy is written in the background: wait until Redis holds it, so that the
    // other node's first call can only be answered from there.
    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut stored = false;
    for _ in 0..100 {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}:cache:*"))
            .query_async(&mut conn)
            .await
            .unwrap();
        if !keys.is_empty() {
            stored = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(stored, "the answer reached Redis");
    let (status, header, text) = call(
        &second,
        &key,
        "/v1/chat/completions",
        &ask("gpt", "shared"),
        None,
    )
    .await;
    assert_eq!(
        (status, header.as_deref(), text),
        (
            200,
            Some("hit"),
            answer.replace("\"cost\":0.00000885", "\"cost\":0")
        )
    );
    assert_eq!(
        upstream.requests().len(),
        1,
        "the second node never called the upstream"
    );
}
