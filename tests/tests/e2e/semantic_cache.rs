//! The semantic cache: a near-duplicate prompt is answered from the kept answer of a similar
//! one (marked, billed as a hit, the embedding billed as the tenant's), never across tenants,
//! parameters or conversations, never when the caller opts out, never failing a call, and
//! still there after a restart.

use std::time::Duration;

use domain::UsageStatus;
use it::fixtures;
use it::harness::{TestApp, eventually};
use it::mock_upstream::{MockUpstream, Recorded, Reply};
use it::sse::Transcript;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::UPSTREAM_KEY;

/// Chat answers as OpenAI does; embeddings by the words in the text, so that two questions
/// about the weather are similar (about 0.988) and anything else is unrelated.
fn upstream(req: &Recorded) -> Reply {
    let body = req.json();
    if req.path != "/v1/embeddings" {
        return if body["stream"] == true {
            Reply::sse(fixtures::sse_frames("openai/stream_ok.sse"))
        } else {
            Reply::json(fixtures::text("openai/chat_ok.json"))
        };
    }
    match body["model"].as_str() {
        Some("broken-embedder") => return Reply::status(500, r#"{"error":{"message":"down"}}"#),
        Some("slow-embedder") => {
            return Reply::json(fixtures::text("openai/embeddings_ok.json"))
                .delayed(Duration::from_secs(6));
        }
        _ => {}
    }
    let text = body["input"].as_str().unwrap_or_default().to_lowercase();
    let vector = if text.contains("weather") {
        json!([1.0, 0.05, 0.0])
    } else if text.contains("forecast") {
        json!([0.96, 0.2, 0.0])
    } else {
        json!([0.0, 0.0, 1.0])
    };
    Reply::json(
        json!({
            "object": "list",
            "data": [{"object": "embedding", "index": 0, "embedding": vector}],
            "model": "text-embedding-3-small",
            "usage": {"prompt_tokens": 5, "total_tokens": 5}
        })
        .to_string(),
    )
}

fn config(url: &str) -> String {
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
cache = {{ ttl_secs = 300, semantic = {{ embedding_model = "embed", threshold = 0.92 }} }}

[[models]]
alias = "gpt-down"
provider = "openai"
model = "gpt-4o-mini"
cache = {{ ttl_secs = 300, semantic = {{ embedding_model = "embed-down" }} }}

[[models]]
alias = "gpt-slow"
provider = "openai"
model = "gpt-4o-mini"
cache = {{ ttl_secs = 300, semantic = {{ embedding_model = "embed-slow" }} }}

[[models]]
alias = "embed"
provider = "openai"
model = "text-embedding-3-small"

[[models]]
alias = "embed-down"
provider = "openai"
model = "broken-embedder"

[[models]]
alias = "embed-slow"
provider = "openai"
model = "slow-embedder"
"#
    )
}

async fn app() -> (TestApp, MockUpstream) {
    let upstream = MockUpstream::start(upstream).await;
    let app = TestApp::builder()
        .config(config(&upstream.url))
        .env("UPSTREAM_KEY", UPSTREAM_KEY)
        .spawn()
        .await;
    (app, upstream)
}

fn ask(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": text}], "temperature": 0.2})
}

/// What a call answered: status, `x-cache`, `x-cache-similarity` and the body's text.
struct Answered {
    status: u16,
    cache: Option<String>,
    similarity: Option<String>,
    text: String,
}

async fn call(
    app: &TestApp,
    key: &str,
    path: &str,
    body: &Value,
    control: Option<&str>,
) -> Answered {
    let mut req = app
        .client()
        .post(format!("{}{path}", app.url))
        .bearer_auth(key)
        .json(body);
    if let Some(control) = control {
        req = req.header("cache-control", control);
    }
    let res = req.send().await.unwrap();
    let header = |name: &str| {
        res.headers()
            .get(name)
            .map(|it| it.to_str().unwrap().to_owned())
    };
    Answered {
        status: res.status().as_u16(),
        cache: header("x-cache"),
        similarity: header("x-cache-similarity"),
        text: res.text().await.unwrap(),
    }
}

async fn chat(app: &TestApp, body: &Value) -> Answered {
    call(app, &app.key, "/v1/chat/completions", body, None).await
}

fn count(upstream: &MockUpstream, path: &str) -> usize {
    upstream
        .requests()
        .iter()
        .filter(|it| it.path == path)
        .count()
}

const CHAT: &str = "/v1/chat/completions";
const EMBEDDINGS: &str = "/v1/embeddings";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_near_duplicate_is_answered_from_the_cache_whole_or_streamed_and_billed_as_a_hit() {
    let (app, upstream) = app().await;
    let first = chat(&app, &ask("gpt", "What is the weather in Paris?")).await;
    assert_eq!((first.status, first.cache.as_deref()), (200, Some("miss")));
    assert_eq!(first.similarity, None);
    assert_eq!(
        first.text,
        fixtures::priced("openai/chat_ok.json", "0.00000885")
    );

    let near = chat(&app, &ask("gpt", "Paris forecast, please")).await;
    assert_eq!((near.status, near.cache.as_deref()), (200, Some("hit")));
    assert_eq!(near.similarity.as_deref(), Some("0.9879"));
    assert_eq!(
        near.text,
        fixtures::priced("openai/chat_ok.json", "0"),
        "the kept answer, byte for byte, charged nothing"
    );
    assert_eq!(
        count(&upstream, CHAT),
        1,
        "the chat upstream is not called again"
    );
    assert_eq!(count(&upstream, EMBEDDINGS), 2, "each prompt embedded once");
    let embedded = upstream
        .requests()
        .into_iter()
        .filter(|it| it.path == EMBEDDINGS)
        .map(|it| it.json())
        .collect::<Vec<_>>();
    assert_eq!(embedded[1]["input"], "Paris forecast, please");
    assert_eq!(embedded[1]["model"], "text-embedding-3-small");

    // A streamed near-duplicate: the kept answer replayed as a correct stream.
    let mut streamed = ask("gpt", "Is there a forecast for Paris?");
    streamed["stream"] = json!(true);
    streamed["stream_options"] = json!({"include_usage": true});
    let replay = chat(&app, &streamed).await;
    assert_eq!((replay.status, replay.cache.as_deref()), (200, Some("hit")));
    assert_eq!(replay.similarity.as_deref(), Some("0.9879"));
    let transcript = Transcript::parse(&replay.text);
    assert_eq!(transcript.content(), "Hello! How can I assist you today?");
    assert!(transcript.ends_with_done());
    assert_eq!(transcript.usage().unwrap()["completion_tokens"], json!(10));
    assert_eq!(count(&upstream, CHAT), 1);

    // A key that may use only the chat model: embedding is the gateway's own step, so the
    // embedding model need not be in the key's scope.
    let (_, narrow) = app
        .create_key(gateway::admin::NewKey {
            allowed_models: vec!["gpt".into()],
            ..Default::default()
        })
        .await;
    app.gateway.access.reload(app.store.as_ref()).await.unwrap();
    let scoped = call(
        &app,
        &narrow,
        CHAT,
        &ask("gpt", "Forecast for Paris tomorrow"),
        None,
    )
    .await;
    assert_eq!((scoped.status, scoped.cache.as_deref()), (200, Some("hit")));
    let refused = call(
        &app,
        &narrow,
        EMBEDDINGS,
        &json!({"model": "embed", "input": "x"}),
        None,
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(count(&upstream, CHAT), 1);

    // An unrelated question misses, and its answer is kept too.
    let other = chat(&app, &ask("gpt", "Tell me a joke")).await;
    assert_eq!(other.cache.as_deref(), Some("miss"));
    assert_eq!(count(&upstream, CHAT), 2);

    // Anthropic's Messages API, translated through chat, takes part the same way.
    let message = |text: &str| json!({"model": "gpt", "max_tokens": 50, "messages": [{"role": "user", "content": text}]});
    let asked = call(
        &app,
        &app.key,
        "/v1/messages",
        &message("weather in Rome?"),
        None,
    )
    .await;
    assert_eq!(asked.cache.as_deref(), Some("miss"));
    let again = call(
        &app,
        &app.key,
        "/v1/messages",
        &message("Rome forecast?"),
        None,
    )
    .await;
    assert_eq!((again.status, again.cache.as_deref()), (200, Some("hit")));
    assert!(
        again.text.contains("\"type\":\"message\""),
        "{}",
        again.text
    );
    assert_eq!(count(&upstream, CHAT), 3);

    let records = app.usage(13).await;
    let chats: Vec<_> = records
        .iter()
        .filter(|it| it.endpoint != "embeddings")
        .collect();
    let hits = chats
        .iter()
        .filter(|it| it.status == UsageStatus::CacheHit)
        .count();
    assert_eq!(hits, 4, "{chats:?}");
    let embeddings: Vec<_> = records
        .iter()
        .filter(|it| it.endpoint == "embeddings" && it.http_status == 200)
        .collect();
    assert_eq!(embeddings.len(), 7, "{records:?}");
    assert!(embeddings.iter().all(|it| it.status == UsageStatus::Ok
        && it.model_alias == "embed"
        && it.tenant_id == app.tenant
        && it.prompt_tokens == 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_never_match_across_tenants_parameters_conversations_or_opt_outs() {
    let (app, upstream) = app().await;
    let kept = chat(&app, &ask("gpt", "What is the weather in Paris?")).await;
    assert_eq!(kept.cache.as_deref(), Some("miss"));

    // Another parameter: another scope.
    let mut warmer = ask("gpt", "Paris forecast, please");
    warmer["temperature"] = json!(0.9);
    assert_eq!(chat(&app, &warmer).await.cache.as_deref(), Some("miss"));
    // Another system prompt: another scope.
    let pirate = json!({"model": "gpt", "temperature": 0.2, "messages": [
        {"role": "system", "content": "Talk like a pirate."},
        {"role": "user", "content": "Paris forecast, please"}]});
    assert_eq!(chat(&app, &pirate).await.cache.as_deref(), Some("miss"));
    assert_eq!(count(&upstream, CHAT), 3);

    // A conversation is not embedded at all (single-turn prompts only by default).
    let embedded = count(&upstream, EMBEDDINGS);
    let conversation = json!({"model": "gpt", "temperature": 0.2, "messages": [
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "assistant", "content": "Sunny."},
        {"role": "user", "content": "And the forecast?"}]});
    let answered = chat(&app, &conversation).await;
    assert_eq!(
        (answered.status, answered.cache.as_deref()),
        (200, Some("miss"))
    );
    assert_eq!(count(&upstream, EMBEDDINGS), embedded);
    assert_eq!(count(&upstream, CHAT), 4);

    // The caller's cache-control: nothing read, nothing embedded.
    for control in ["no-store", "no-cache"] {
        let answered = call(
            &app,
            &app.key,
            CHAT,
            &ask("gpt", "Paris forecast, please"),
            Some(control),
        )
        .await;
        assert_eq!(answered.status, 200);
        assert_ne!(answered.cache.as_deref(), Some("hit"), "{control}");
        assert_eq!(answered.similarity, None);
    }
    assert_eq!(count(&upstream, EMBEDDINGS), embedded);
    assert_eq!(count(&upstream, CHAT), 6);

    // Another tenant asking the near-duplicate never gets the first tenant's answer.
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
    app.gateway.access.reload(app.store.as_ref()).await.unwrap();
    let theirs = call(
        &app,
        &other_key,
        CHAT,
        &ask("gpt", "Paris forecast, please"),
        None,
    )
    .await;
    assert_eq!(
        (theirs.status, theirs.cache.as_deref()),
        (200, Some("miss"))
    );
    assert_eq!(count(&upstream, CHAT), 7);
    // ... and the first tenant still does.
    let ours = chat(&app, &ask("gpt", "A forecast for Paris today?")).await;
    assert_eq!(ours.cache.as_deref(), Some("hit"));
    assert_eq!(ours.similarity.as_deref(), Some("0.9879"));
    assert_eq!(count(&upstream, CHAT), 7);
    // The other tenant's embedding is billed to it.
    let store = app.store.clone();
    let billed = eventually(Duration::from_secs(10), || {
        let store = store.clone();
        async move {
            let theirs = store.list_usage(tenant.id, 10).await.unwrap();
            theirs.iter().any(|it| it.endpoint == "embeddings")
        }
    })
    .await;
    assert!(billed, "the other tenant's embedding is in its usage");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_own_threshold_wins_over_the_models() {
    let (app, upstream) = app().await;
    chat(&app, &ask("gpt", "What is the weather in Paris?")).await;
    let threshold = domain::tenant::SemanticThreshold::from_fraction(0.999).unwrap();
    let audit = domain::AuditEntry::new(
        None,
        domain::Actor::cli(),
        "tenant.cache_settings",
        time::OffsetDateTime::now_utc(),
    );
    app.store
        .set_tenant_semantic_threshold(app.tenant, Some(threshold), &audit)
        .await
        .unwrap();
    app.gateway.access.reload(app.store.as_ref()).await.unwrap();
    let near = chat(&app, &ask("gpt", "Paris forecast, please")).await;
    assert_eq!((near.status, near.cache.as_deref()), (200, Some("miss")));
    assert_eq!(count(&upstream, CHAT), 2);
    // The same wording is still a hit at 0.999.
    let same = chat(&app, &ask("gpt", "The weather in Paris?")).await;
    assert_eq!(same.cache.as_deref(), Some("hit"));
    assert_eq!(same.similarity.as_deref(), Some("1.0000"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedding_model_that_fails_or_hangs_leaves_the_call_answered_uncached() {
    let (app, upstream) = app().await;
    for model in ["gpt-down", "gpt-slow"] {
        for city in ["Paris", "Rome"] {
            let started = std::time::Instant::now();
            let question = format!("What is the weather in {city}?");
            let answered = chat(&app, &ask(model, &question)).await;
            assert_eq!(answered.status, 200, "{model}: {}", answered.text);
            assert_eq!(answered.cache.as_deref(), Some("miss"), "{model}");
            assert_eq!(answered.similarity, None);
            assert_eq!(
                answered.text,
                fixtures::priced("openai/chat_ok.json", "0.00000885")
            );
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{model}: the 2 s limit"
            );
        }
    }
    assert_eq!(count(&upstream, CHAT), 4);
    let records = app.usage(4).await;
    assert!(
        records
            .iter()
            .any(|it| it.endpoint == "embeddings" && it.status == UsageStatus::Error),
        "{records:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_survives_a_restart() {
    let (app, upstream) = app().await;
    let kept = chat(&app, &ask("gpt", "What is the weather in Paris?")).await;
    assert_eq!(kept.cache.as_deref(), Some("miss"));
    let store = app.store.clone();
    let stored = eventually(Duration::from_secs(10), || {
        let store = store.clone();
        async move {
            !store
                .load_semantic_entries(time::OffsetDateTime::now_utc(), 10)
                .await
                .unwrap()
                .is_empty()
        }
    })
    .await;
    assert!(stored, "the entry reached the store");
    app.stop().await;

    let restarted = app.another_node(config(&upstream.url)).await;
    let near = chat(&restarted, &ask("gpt", "Paris forecast, please")).await;
    assert_eq!((near.status, near.cache.as_deref()), (200, Some("hit")));
    assert_eq!(near.similarity.as_deref(), Some("0.9879"));
    assert_eq!(near.text, kept.text.replace("0.00000885", "0"));
    assert_eq!(count(&upstream, CHAT), 1, "served from the persisted entry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_sets_its_threshold_through_the_management_api() {
    let (app, upstream) = app().await;
    let (ada, tenant, key) = crate::byok::owner(&app, "ada@example.com").await;
    let path = format!("/api/v1/tenants/{tenant}/cache-settings");
    let (status, view) = ada.get(&path).await;
    assert_eq!(status, 200);
    assert_eq!(view, json!({"semantic_threshold": null}));
    for bad in [json!(0.3), json!(1.5), json!("high")] {
        let (status, problem) = ada
            .call(Method::PUT, &path, Some(json!({"semantic_threshold": bad})))
            .await;
        assert_eq!(status, 400, "{bad}: {problem}");
        if bad.is_number() {
            assert_eq!(problem["errors"][0]["field"], "semantic_threshold");
        }
    }
    let (status, view) = ada
        .call(
            Method::PUT,
            &path,
            Some(json!({"semantic_threshold": 0.999})),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view, json!({"semantic_threshold": 0.999}));
    assert_eq!(ada.get(&path).await.1, view);

    // The models view shows each model's effective threshold and its embedding model.
    let (_, models) = ada.get(&format!("/api/v1/tenants/{tenant}/models")).await;
    let gpt = models
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["alias"] == "gpt")
        .unwrap();
    assert_eq!(gpt["semantic_threshold"], json!(0.999));
    assert_eq!(gpt["semantic_embedding_model"], "embed");
    let embed = models
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["alias"] == "embed")
        .unwrap();
    assert!(embed.get("semantic_threshold").is_none(), "{embed}");

    // Within a second, every node applies it: the near-duplicate misses.
    let ask_as = |text: &str| {
        let (app, key, body) = (&app, key.clone(), ask("gpt", text));
        async move { call(app, &key, CHAT, &body, None).await }
    };
    assert_eq!(
        ask_as("What is the weather in Oslo?")
            .await
            .cache
            .as_deref(),
        Some("miss")
    );
    assert!(
        eventually(Duration::from_secs(2), || async {
            let near = ask_as("Oslo forecast?").await;
            near.cache.as_deref() == Some("miss")
        })
        .await
    );
    // Back to the model's own 0.92: a hit.
    let (status, view) = ada
        .call(
            Method::PUT,
            &path,
            Some(json!({"semantic_threshold": null})),
        )
        .await;
    assert_eq!(
        (status, view),
        (StatusCode::OK, json!({"semantic_threshold": null}))
    );
    assert!(
        eventually(Duration::from_secs(2), || async {
            ask_as("A forecast for Oslo?").await.cache.as_deref() == Some("hit")
        })
        .await
    );
    let (_, audit) = ada
        .get(&format!(
            "/api/v1/tenants/{tenant}/audit-events?action=tenant.cache_settings"
        ))
        .await;
    assert!(
        audit.to_string().contains("tenant.cache_settings"),
        "{audit}"
    );
    assert!(count(&upstream, CHAT) >= 2);
}
