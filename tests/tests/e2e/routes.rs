//! Routes over several deployments: failover on every endpoint and mode, never on the caller's
//! own mistakes, retries that back off and honour `retry-after`, the strategies' spread, and
//! the headers that say which deployment answered.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use it::fixtures;
use it::harness::{TestApp, eventually, json_of};
use it::mock_upstream::{End, MockUpstream, Recorded, Reply};
use it::sse::Transcript;
use serde_json::{Value, json};

use crate::byok::{TENANT_SECRET, any_endpoint, owner, owner_of, store_credential};
use crate::common::UPSTREAM_KEY;

fn config(primary: &str, backup: &str, extra: &str) -> String {
    format!(
        r#"
[providers.primary]
kind = "openai"
base_url = "{primary}/v1"
api_key = "env:UPSTREAM_KEY"
first_byte_timeout_ms = 400
idle_timeout_ms = 1000
total_timeout_ms = 8000

[providers.backup]
kind = "openai"
base_url = "{backup}/v1"
api_key = "env:UPSTREAM_KEY"
first_byte_timeout_ms = 1500
idle_timeout_ms = 1500
total_timeout_ms = 8000

# Breakers off: every call here must try the primary first.
[[models]]
alias = "gpt"
breaker = {{ enabled = false }}
deployments = [
  {{ name = "east", provider = "primary", model = "gpt-4o-mini" }},
  {{ name = "west", provider = "backup", model = "gpt-4o-mini", priority = 1 }},
]

[[models]]
alias = "embed"
breaker = {{ enabled = false }}
deployments = [
  {{ name = "east", provider = "primary", model = "text-embedding-3-small" }},
  {{ name = "west", provider = "backup", model = "text-embedding-3-small", priority = 1 }},
]

[[models]]
alias = "solo"
provider = "primary"
model = "gpt-4o-mini"
max_attempts = 3
backoff_ms = 20
{extra}
"#
    )
}

/// What the primary does with its next calls; `Ok` answers like any provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    Ok,
    Status500,
    Status503,
    RateLimited,
    Close,
    Hang,
    Unauthorized,
    BadRequest,
    ContextTooLong,
    CutStream,
}

fn faulty(fault: &Arc<Mutex<Fault>>) -> impl Fn(&Recorded) -> Reply + Send + Sync + 'static {
    let fault = fault.clone();
    move |req| match *fault.lock().unwrap() {
        Fault::Ok => any_endpoint(req),
        Fault::Status500 => Reply::status(500, fixtures::text("openai/error_500.json")),
        Fault::Status503 => Reply::status(503, "<html>Service Unavailable</html>"),
        Fault::RateLimited => Reply::status(429, fixtures::text("openai/error_429.json"))
            .with_header("retry-after", "1"),
        Fault::Close => Reply::Close,
        Fault::Hang => any_endpoint(req).delayed(Duration::from_secs(3)),
        Fault::Unauthorized => Reply::status(401, fixtures::text("openai/error_401.json")),
        Fault::BadRequest => Reply::status(400, fixtures::text("openai/error_400.json")),
        Fault::ContextTooLong => Reply::status(400, fixtures::text("openai/error_context.json")),
        Fault::CutStream => {
            Reply::sse(fixtures::sse_frames("openai/stream_ok.sse")).cut_after(3, End::Drop)
        }
    }
}

pub(crate) struct World {
    pub(crate) app: TestApp,
    pub(crate) primary: MockUpstream,
    pub(crate) backup: MockUpstream,
    pub(crate) fault: Arc<Mutex<Fault>>,
}

pub(crate) async fn world(extra: &str) -> World {
    let fault = Arc::new(Mutex::new(Fault::Ok));
    let primary = MockUpstream::start(faulty(&fault)).await;
    let backup = MockUpstream::start(any_endpoint).await;
    let app = TestApp::builder()
        .config(config(&primary.url, &backup.url, extra))
        .env("UPSTREAM_KEY", UPSTREAM_KEY)
        .spawn()
        .await;
    World {
        app,
        primary,
        backup,
        fault,
    }
}

pub(crate) fn routing_headers(res: &reqwest::Response) -> (String, String) {
    let header = |name: &str| {
        res.headers()
            .get(name)
            .map(|it| it.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    (
        header("x-upstream-deployment"),
        header("x-upstream-attempts"),
    )
}

/// Every endpoint and mode the data plane has, as (path, body).
fn calls(model: &str) -> Vec<(&'static str, Value)> {
    let messages = json!([{"role": "user", "content": "hi"}]);
    vec![
        (
            "/v1/chat/completions",
            json!({"model": model, "messages": messages}),
        ),
        (
            "/v1/chat/completions",
            json!({"model": model, "stream": true, "messages": messages}),
        ),
        (
            "/v1/completions",
            json!({"model": model, "prompt": "hi", "max_tokens": 5}),
        ),
        (
            "/v1/completions",
            json!({"model": model, "prompt": "hi", "max_tokens": 5, "stream": true}),
        ),
        (
            "/v1/messages",
            json!({"model": model, "max_tokens": 5, "messages": messages}),
        ),
        (
            "/v1/messages",
            json!({"model": model, "max_tokens": 5, "stream": true, "messages": messages}),
        ),
        ("/v1/embeddings", json!({"model": "embed", "input": "hi"})),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_deployment_falls_over_on_every_endpoint_and_mode() {
    let w = world("").await;
    let faults = [
        Fault::Status500,
        Fault::Status503,
        Fault::RateLimited,
        Fault::Close,
        Fault::Hang,
        Fault::Unauthorized,
    ];
    let mut served = 0;
    for fault in faults {
        *w.fault.lock().unwrap() = fault;
        for (path, body) in calls("gpt") {
            let before = w.backup.requests().len();
            let res = w.app.post(path, &body).await;
            let status = res.status().as_u16();
            let headers = routing_headers(&res);
            let text = res.text().await.unwrap();
            assert_eq!(status, 200, "{fault:?} {path} {body}: {text}");
            assert_eq!(
                headers,
                ("west".to_owned(), "2".to_owned()),
                "{fault:?} {path}"
            );
            assert_eq!(w.backup.requests().len(), before + 1, "{fault:?} {path}");
            if body["stream"] == true {
                assert!(
                    text.contains("[DONE]") || text.contains("message_stop"),
                    "{fault:?} {path}: a whole stream from the backup: {text}"
                );
            }
            served += 1;
        }
    }
    // Each call is one usage record, billed to the deployment that answered.
    let records = w.app.usage(served).await;
    assert_eq!(records.len(), served);
    assert!(
        records
            .iter()
            .all(|it| it.provider == "backup" && it.status == domain::UsageStatus::Ok),
        "{records:?}"
    );

    // With the primary healthy again, it serves, at the first try.
    *w.fault.lock().unwrap() = Fault::Ok;
    for (path, body) in calls("gpt") {
        let res = w.app.post(path, &body).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(
            routing_headers(&res),
            ("east".to_owned(), "1".to_owned()),
            "{path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callers_own_mistake_is_never_tried_elsewhere() {
    let w = world("").await;
    for fault in [Fault::BadRequest, Fault::ContextTooLong] {
        *w.fault.lock().unwrap() = fault;
        for (path, body) in calls("gpt") {
            let res = w.app.post(path, &body).await;
            let headers = routing_headers(&res);
            let (status, answer) = json_of(res).await;
            assert_eq!(status, 400, "{fault:?} {path}: {answer}");
            assert_eq!(headers, ("east".to_owned(), "1".to_owned()), "{path}");
        }
    }
    // Nor is a request the gateway refuses itself.
    let res = w
        .app
        .post(
            "/v1/chat/completions",
            &json!({"model": "gpt", "messages": [], "temperature": 9}),
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(
        w.backup.requests().is_empty(),
        "the backup never saw a caller's 400"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_too_long_for_one_deployment_goes_to_the_next_where_the_route_says_so() {
    let w = world(
        r#"
[[models]]
alias = "long"
fallback_on_context_window = true
breaker = { consecutive_failures = 1, cooldown_secs = 600 }
deployments = [
  { name = "small", provider = "primary", model = "gpt-4o-mini" },
  { name = "large", provider = "backup", model = "gpt-4.1", priority = 1 },
]
"#,
    )
    .await;
    *w.fault.lock().unwrap() = Fault::ContextTooLong;
    for stream in [false, true, false] {
        let ask = json!({"model": "long", "stream": stream, "messages": [{"role": "user", "content": "a very long prompt"}]});
        let res = w.app.post("/v1/chat/completions", &ask).await;
        assert_eq!(res.status(), 200);
        // Every call tries the small one first: a long prompt is not the deployment's fault,
        // so its breaker stays closed.
        assert_eq!(routing_headers(&res), ("large".to_owned(), "2".to_owned()));
    }
    assert_eq!(w.backup.last().json()["model"], "gpt-4.1");
    // A caller's other mistakes still never go on.
    *w.fault.lock().unwrap() = Fault::BadRequest;
    let ask = json!({"model": "long", "messages": [{"role": "user", "content": "x"}]});
    let res = w.app.post("/v1/chat/completions", &ask).await;
    assert_eq!(res.status(), 400);
    assert_eq!(w.backup.requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_failed_after_its_first_byte_ends_with_an_error_and_is_not_tried_again() {
    let w = world("").await;
    *w.fault.lock().unwrap() = Fault::CutStream;
    let (status, transcript) = w
        .app
        .chat_stream(&json!({"model": "gpt", "stream": true, "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(status, 200);
    crate::common::assert_cut_after_three_frames(&w.app, &transcript).await;
    assert!(
        w.backup.requests().is_empty(),
        "no second answer spliced in"
    );
    assert_eq!(w.primary.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_every_deployment_fails_the_last_error_says_how_far_the_call_got() {
    let w = world("").await;
    *w.fault.lock().unwrap() = Fault::Status500;
    let backup_down = MockUpstream::start(|_| Reply::Close).await;
    let app = w
        .app
        .another_node(config(&w.primary.url, &backup_down.url, ""))
        .await;
    let res = app
        .post(
            "/v1/chat/completions",
            &json!({"model": "gpt", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    let headers = routing_headers(&res);
    let (status, body) = json_of(res).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (502, Some("upstream_unavailable")),
        "{body}"
    );
    assert_eq!(headers, ("west".to_owned(), "2".to_owned()));
    let record = &app.usage(1).await[0];
    assert_eq!(record.provider, "backup");
    assert_eq!(record.error_code.as_deref(), Some("upstream_unavailable"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_on_one_deployment_back_off_and_honour_retry_after() {
    let tries = Arc::new(AtomicUsize::new(0));
    let counted = tries.clone();
    // Rate-limited once with a 600 ms retry-after, then answers.
    let upstream = MockUpstream::start(move |req| {
        if counted.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::status(429, fixtures::text("openai/error_429.json"))
                .with_header("retry-after-ms", "600")
        } else {
            any_endpoint(req)
        }
    })
    .await;
    let unused = MockUpstream::start(any_endpoint).await;
    let app = TestApp::builder()
        .config(config(&upstream.url, &unused.url, ""))
        .env("UPSTREAM_KEY", UPSTREAM_KEY)
        .spawn()
        .await;
    let started = Instant::now();
    let res = app
        .post(
            "/v1/chat/completions",
            &json!({"model": "solo", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        routing_headers(&res),
        ("primary".to_owned(), "2".to_owned())
    );
    // A lower bound only: the second try waited at least what the upstream asked.
    assert!(started.elapsed() >= Duration::from_millis(600));
    assert_eq!(tries.load(Ordering::SeqCst), 2);

    // A retry-after beyond the call's deadline is not waited for: the caller gets the 429
    // and the upstream's wait at once, after one try.
    let long = MockUpstream::start(|_| {
        Reply::status(429, fixtures::text("openai/error_429.json"))
            .with_header("retry-after", "3600")
    })
    .await;
    let app = app.another_node(config(&long.url, &unused.url, "")).await;
    let res = app
        .post(
            "/v1/chat/completions",
            &json!({"model": "solo", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "3600");
    assert_eq!(
        routing_headers(&res),
        ("primary".to_owned(), "1".to_owned())
    );
    assert_eq!(long.requests().len(), 1);
    assert!(unused.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strategies_spread_calls_as_configured() {
    let a = MockUpstream::start(any_endpoint).await;
    // The backup is slow for the model `slow` only.
    let b = MockUpstream::start(|req| {
        if req.json()["model"] == "slow" {
            any_endpoint(req).delayed(Duration::from_millis(150))
        } else {
            any_endpoint(req)
        }
    })
    .await;
    let extra = r#"
[[models]]
alias = "rr"
strategy = "round_robin"
deployments = [{ provider = "primary" }, { provider = "backup" }]

[[models]]
alias = "weighted"
strategy = "weighted"
deployments = [{ provider = "primary", weight = 3 }, { provider = "backup", weight = 1 }]

[[models]]
alias = "cheapest"
strategy = "least_cost"
deployments = [{ provider = "primary", cost = 2.5 }, { provider = "backup", cost = 0.15 }]

[[models]]
alias = "fastest"
strategy = "least_latency"
deployments = [{ provider = "backup", model = "slow" }, { provider = "primary" }]
"#;
    let app = TestApp::builder()
        .config(config(&a.url, &b.url, extra))
        .env("UPSTREAM_KEY", UPSTREAM_KEY)
        .spawn()
        .await;
    let ask =
        |model: &str| json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
    let mut names = Vec::new();
    for _ in 0..10 {
        let res = app.post("/v1/chat/completions", &ask("rr")).await;
        names.push(routing_headers(&res).0);
    }
    assert!(
        names.windows(2).all(|it| it[0] != it[1]),
        "round robin alternates: {names:?}"
    );
    for _ in 0..4 {
        let res = app.post("/v1/chat/completions", &ask("cheapest")).await;
        assert_eq!(routing_headers(&res).0, "backup", "the cheaper one");
    }
    // The backup is measured slower at its first call; every later call goes to the primary.
    let mut names = Vec::new();
    for _ in 0..8 {
        let res = app.post("/v1/chat/completions", &ask("fastest")).await;
        names.push(routing_headers(&res).0);
    }
    assert_eq!(names[0], "backup", "{names:?}");
    assert!(names[1..].iter().all(|it| it == "primary"), "{names:?}");
    // 3:1 over 800 calls: 600 expected, ±60 is more than six standard deviations.
    let before = a.requests().len();
    for _ in 0..800 {
        let res = app.post("/v1/chat/completions", &ask("weighted")).await;
        assert_eq!(res.status(), 200);
    }
    let to_primary = a.requests().len() - before;
    assert!((540..=660).contains(&to_primary), "{to_primary} of 800");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_try_uses_the_tenants_own_key_for_its_provider() {
    let w = world("").await;
    let (ada, tenant, key) = owner(&w.app, "ada@example.com").await;
    // The tenant pays the backup itself; the primary is the platform's.
    store_credential(
        &ada,
        &tenant,
        json!({"name": "own", "provider": "backup", "secret": TENANT_SECRET}),
    )
    .await;
    *w.fault.lock().unwrap() = Fault::Status500;
    let chat = json!({"model": "gpt", "messages": [{"role": "user", "content": "hi"}]});
    assert!(
        eventually(Duration::from_secs(2), || async {
            let res = w.app.post_as(&key, "/v1/chat/completions", &chat).await;
            res.status() == 200
                && w.backup.last().header("authorization")
                    == Some(format!("Bearer {TENANT_SECRET}").as_str())
        })
        .await,
        "the snapshot has the credential"
    );
    assert_eq!(
        w.primary.last().header("authorization"),
        Some(format!("Bearer {UPSTREAM_KEY}").as_str()),
        "the first try went out with the platform's key"
    );
}

/// Relayed Messages calls fail over between Anthropic deployments, streamed or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relayed_messages_call_falls_over_between_anthropic_deployments() {
    let down = MockUpstream::start(|_| {
        Reply::status(529, fixtures::text("anthropic/error_overloaded.json"))
    })
    .await;
    let up = MockUpstream::start(any_endpoint).await;
    let config = format!(
        r#"
[providers.first]
kind = "anthropic"
base_url = "{}"
api_key = "env:UPSTREAM_KEY"

[providers.second]
kind = "anthropic"
base_url = "{}"
api_key = "env:UPSTREAM_KEY"

[[models]]
alias = "claude"
deployments = [{{ provider = "first", model = "claude-sonnet-4-5" }}, {{ provider = "second", model = "claude-sonnet-4-5" }}]
"#,
        down.url, up.url
    );
    let app = TestApp::builder()
        .config(config)
        .env("UPSTREAM_KEY", UPSTREAM_KEY)
        .spawn()
        .await;
    for stream in [false, true] {
        let res = app
            .post(
                "/v1/messages",
                &json!({"model": "claude", "max_tokens": 5, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}),
            )
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(routing_headers(&res), ("second".to_owned(), "2".to_owned()));
        let text = res.text().await.unwrap();
        if stream {
            let transcript = Transcript::parse(&text);
            assert!(text.contains("message_stop"), "{transcript:?}");
        } else {
            assert!(text.contains("\"type\":\"message\""), "{text}");
        }
        assert_eq!(up.last().path, "/v1/messages");
    }
}

async fn metrics_text(app: &TestApp) -> String {
    app.client()
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breaker_opens_on_failures_steers_calls_away_and_closes_after_a_good_probe() {
    let w = world(
        r#"
[[models]]
alias = "guarded"
breaker = { consecutive_failures = 2, cooldown_secs = 1 }
deployments = [
  { name = "east", provider = "primary", model = "gpt-4o-mini" },
  { name = "west", provider = "backup", model = "gpt-4o-mini", priority = 1 },
]
"#,
    )
    .await;
    let ask = json!({"model": "guarded", "messages": [{"role": "user", "content": "hi"}]});
    let gauge = "gateway_deployment_breaker_state{model=\"guarded\",deployment=\"east\"}";
    *w.fault.lock().unwrap() = Fault::Status500;
    for _ in 0..2 {
        let res = w.app.post("/v1/chat/completions", &ask).await;
        assert_eq!(routing_headers(&res), ("west".to_owned(), "2".to_owned()));
    }
    assert_eq!(w.primary.requests().len(), 2);
    assert!(metrics_text(&w.app).await.contains(&format!("{gauge} 1")));
    // Open: the primary is passed over, not tried and failed.
    for _ in 0..5 {
        let res = w.app.post("/v1/chat/completions", &ask).await;
        assert_eq!(res.status(), 200);
        assert_eq!(routing_headers(&res), ("west".to_owned(), "1".to_owned()));
    }
    assert_eq!(w.primary.requests().len(), 2);
    // Healthy again: after the cool-down one probe goes through, and it closes the breaker.
    *w.fault.lock().unwrap() = Fault::Ok;
    assert!(
        eventually(Duration::from_secs(5), || async {
            let res = w.app.post("/v1/chat/completions", &ask).await;
            routing_headers(&res).0 == "east"
        })
        .await
    );
    assert_eq!(w.primary.requests().len(), 3, "exactly one probe");
    assert!(metrics_text(&w.app).await.contains(&format!("{gauge} 0")));
    let res = w.app.post("/v1/chat/completions", &ask).await;
    assert_eq!(routing_headers(&res), ("east".to_owned(), "1".to_owned()));
    let text = metrics_text(&w.app).await;
    assert!(
        text.contains(
            "gateway_breaker_transitions_total{model=\"guarded\",deployment=\"east\",to=\"open\"} 1"
        ),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_breaker_open_calls_still_go_out() {
    let w = world("").await;
    *w.fault.lock().unwrap() = Fault::Status500;
    let ask = json!({"model": "solo", "messages": [{"role": "user", "content": "hi"}]});
    for _ in 0..8 {
        let res = w.app.post("/v1/chat/completions", &ask).await;
        assert_eq!(res.status(), 502);
    }
    // The only deployment's breaker is open, yet the call is made, and succeeds.
    *w.fault.lock().unwrap() = Fault::Ok;
    let res = w.app.post("/v1/chat/completions", &ask).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_api_lists_each_models_deployments_and_their_health() {
    let w = world(
        r#"
[[models]]
alias = "guarded"
strategy = "weighted"
breaker = { consecutive_failures = 1, cooldown_secs = 600 }
cache = { ttl_secs = 120 }
deployments = [
  { name = "east", provider = "primary", model = "gpt-4o-mini", weight = 3, region = "eu" },
  { name = "west", provider = "backup", model = "gpt-4o-mini", weight = 1 },
]
"#,
    )
    .await;
    let (ada, tenant, _) = owner(&w.app, "ada@example.com").await;
    store_credential(
        &ada,
        &tenant,
        json!({"name": "own", "provider": "backup", "secret": TENANT_SECRET}),
    )
    .await;
    *w.fault.lock().unwrap() = Fault::Status500;
    // The primary fails once (its breaker opens); the backup answers.
    let mut opened = false;
    for i in 0..20 {
        // A new question each time: the model's answers are cached.
        let ask = json!({"model": "guarded", "messages": [{"role": "user", "content": format!("hi {i}")}]});
        let res = w.app.post("/v1/chat/completions", &ask).await;
        assert_eq!(res.status(), 200);
        if routing_headers(&res) == ("west".to_owned(), "2".to_owned()) {
            opened = true;
            break;
        }
    }
    assert!(
        opened,
        "a call tried the primary first (3:1) and failed over"
    );
    let (status, models) = ada.get(&format!("/api/v1/tenants/{tenant}/models")).await;
    assert_eq!(status, 200, "{models}");
    let guarded = models
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["alias"] == "guarded")
        .unwrap();
    assert_eq!(guarded["strategy"], "weighted");
    assert_eq!(guarded["max_attempts"], 2);
    assert_eq!(guarded["cache_ttl_secs"], 120);
    let east = &guarded["deployments"][0];
    assert_eq!(
        (
            &east["name"],
            &east["provider"],
            &east["weight"],
            &east["region"],
            &east["breaker"],
            &east["own_credential"]
        ),
        (
            &json!("east"),
            &json!("primary"),
            &json!(3),
            &json!("eu"),
            &json!("open"),
            &json!(false)
        ),
        "{guarded}"
    );
    let west = &guarded["deployments"][1];
    assert_eq!(
        (&west["breaker"], &west["own_credential"]),
        (&json!("closed"), &json!(true))
    );
    assert!(west["latency_ms"].as_f64().is_some(), "{west}");
    let gpt = models
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["alias"] == "gpt")
        .unwrap();
    assert_eq!(gpt["deployments"][0]["breaker"], "disabled");
    assert!(gpt.get("cache_ttl_secs").is_none());

    // Someone else's tenant: as if it did not exist (Ada, the first account, is an operator).
    let (eve, _, _) = owner_of(&w.app, "eve@example.com", "Eve Inc").await;
    let (status, _) = eve.get(&format!("/api/v1/tenants/{tenant}/models")).await;
    assert_eq!(status, 404);

    // The operator's view of every deployment: nobody's own keys; others may not look.
    let (status, all) = ada.get("/api/v1/deployments").await;
    assert_eq!(status, 200, "{all}");
    let guarded = all
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["alias"] == "guarded")
        .unwrap();
    assert_eq!(guarded["deployments"][0]["breaker"], "open");
    assert_eq!(guarded["deployments"][1]["own_credential"], false);
    let (status, _) = eve.get("/api/v1/deployments").await;
    assert_eq!(status, 403);
}

/// A route of Anthropic first and another provider after: the Anthropic SDK's call is relayed
/// while Anthropic answers, and translated to the fallback (and its answer told back in
/// Anthropic's shape) when it does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_messages_call_falls_over_from_anthropic_to_another_provider() {
    let down = MockUpstream::start(|_| {
        Reply::status(529, fixtures::text("anthropic/error_overloaded.json"))
    })
    .await;
    let openai = MockUpstream::start(any_endpoint).await;
    let config = format!(
        r#"
[providers.claude]
kind = "anthropic"
base_url = "{}"
api_key = "env:UPSTREAM_KEY"

[providers.openai]
kind = "openai"
base_url = "{}/v1"
api_key = "env:UPSTREAM_KEY"

[[models]]
alias = "claude"
breaker = {{ enabled = false }}
deployments = [
  {{ name = "anthropic", provider = "claude", model = "claude-sonnet-4-5" }},
  {{ name = "gpt", provider = "openai", model = "gpt-4o-mini", priority = 1 }},
]
"#,
        down.url, openai.url
    );
    let app = TestApp::builder()
        .config(config)
        .env("UPSTREAM_KEY", UPSTREAM_KEY)
        .spawn()
        .await;
    let ask = |stream: bool| {
        json!({"model": "claude", "max_tokens": 50, "stream": stream, "system": "be brief",
               "messages": [{"role": "user", "content": "hi"}]})
    };
    let res = app.post("/v1/messages", &ask(false)).await;
    assert_eq!(routing_headers(&res), ("gpt".to_owned(), "2".to_owned()));
    let (status, message) = json_of(res).await;
    assert_eq!(status, 200, "{message}");
    assert_eq!(message["type"], "message");
    assert_eq!(
        message["content"][0]["text"],
        "Hello! How can I assist you today?"
    );
    assert_eq!(message["usage"]["input_tokens"], 19);
    let sent = openai.last();
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.json()["messages"][0]["content"], "be brief");

    let res = app.post("/v1/messages", &ask(true)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(routing_headers(&res), ("gpt".to_owned(), "2".to_owned()));
    let text = res.text().await.unwrap();
    for event in [
        "event: message_start",
        "event: content_block_delta",
        "event: message_delta",
        "event: message_stop",
    ] {
        assert!(text.contains(event), "{event} in {text}");
    }
    assert!(
        !text.contains("chat.completion.chunk"),
        "only Anthropic's events: {text}"
    );
    assert_eq!(down.requests().len(), 2);
    let records = app.usage(2).await;
    assert!(
        records
            .iter()
            .all(|it| it.provider == "openai" && it.endpoint == "messages"),
        "{records:?}"
    );
}

/// Active health checks: a deployment that goes down has its breaker opened by the probes
/// before any caller's call fails on it, and one that comes back is closed by the next probe,
/// long before the breaker's own cool-down would let a caller try it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_checks_open_a_breaker_before_callers_notice_and_close_it_when_it_is_back() {
    let w = world(
        r#"
[[models]]
alias = "watched"
breaker = { consecutive_failures = 2, cooldown_secs = 600 }
health_check = { interval_secs = 1, timeout_ms = 500 }
deployments = [
  { name = "east", provider = "primary", model = "gpt-4o-mini" },
  { name = "west", provider = "backup", model = "gpt-4o-mini", priority = 1 },
]
"#,
    )
    .await;
    let (ada, tenant, _) = owner(&w.app, "ada@example.com").await;
    let breaker_of_east = || async {
        let (_, models) = ada.get(&format!("/api/v1/tenants/{tenant}/models")).await;
        models
            .as_array()
            .unwrap()
            .iter()
            .find(|it| it["alias"] == "watched")
            .map(|it| it["deployments"][0]["breaker"].as_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    *w.fault.lock().unwrap() = Fault::Status500;
    assert!(
        eventually(Duration::from_secs(6), || async {
            breaker_of_east().await == "open"
        })
        .await,
        "two failed probes open it"
    );
    // Nobody called: everything the primary saw was a one-token probe.
    let probes = w.primary.requests();
    assert!(probes.len() >= 2);
    for probe in &probes {
        let body = probe.json();
        let tokens = if body["max_tokens"].is_null() {
            &body["max_completion_tokens"]
        } else {
            &body["max_tokens"]
        };
        assert_eq!(tokens, 1, "{body}");
        assert_eq!(body["model"], "gpt-4o-mini");
    }
    // A caller now goes straight to the backup.
    let ask = json!({"model": "watched", "messages": [{"role": "user", "content": "hi"}]});
    let res = w.app.post("/v1/chat/completions", &ask).await;
    assert_eq!(routing_headers(&res), ("west".to_owned(), "1".to_owned()));

    // Back: the next probe closes the breaker (its cool-down is ten minutes).
    *w.fault.lock().unwrap() = Fault::Ok;
    assert!(
        eventually(Duration::from_secs(6), || async {
            breaker_of_east().await == "closed"
        })
        .await
    );
    let res = w.app.post("/v1/chat/completions", &ask).await;
    assert_eq!(routing_headers(&res).0, "east");
    let text = metrics_text(&w.app).await;
    assert!(
        text.contains(
            "gateway_health_checks_total{model=\"watched\",deployment=\"east\",outcome=\"failed\"}"
        ),
        "{text}"
    );
    // Each deployment's tries and latency, as the operator's dashboards read them.
    assert!(
        text.contains(
            "gateway_deployment_tries_total{model=\"watched\",deployment=\"west\",outcome=\"answered\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains("gateway_deployment_ttfb_seconds{model=\"watched\",deployment=\"east\"}"),
        "{text}"
    );
}
