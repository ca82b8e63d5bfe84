//! Anthropic's Messages API served by the gateway (`POST /v1/messages`), in front of an
//! Anthropic upstream, an OpenAI upstream and the built-in mock: answers, event streams,
//! usage records and errors in Anthropic's shape.

use std::time::Duration;

use it::fixtures;
use it::harness::{TestApp, eventually};
use it::mock_upstream::{End, Reply};
use serde_json::{Value, json};

use crate::common::{UPSTREAM_KEY, anthropic_app, mock_app, openai_app};

/// A Messages call the way Anthropic's SDK makes it: `x-api-key` and `anthropic-version`.
async fn call(app: &TestApp, key: &str, body: &Value) -> reqwest::Response {
    call_with_betas(app, key, &[], body).await
}

/// The same with `anthropic-beta` headers, one per value.
async fn call_with_betas(
    app: &TestApp,
    key: &str,
    betas: &[&str],
    body: &Value,
) -> reqwest::Response {
    let mut req = app
        .client()
        .post(format!("{}/v1/messages", app.url))
        .header("x-api-key", key)
        .header("anthropic-version", "2023-06-01");
    for value in betas {
        // From bytes: non-ASCII values are sent as they are, as a careless client would.
        let value = reqwest::header::HeaderValue::from_bytes(value.as_bytes()).unwrap();
        req = req.header("anthropic-beta", value);
    }
    req.json(body).send().await.unwrap()
}

async fn message(app: &TestApp, body: &Value) -> (u16, Value) {
    it::harness::json_of(call(app, &app.key, body).await).await
}

/// The events of an Anthropic stream, as (name, data).
async fn events(app: &TestApp, body: &Value) -> (u16, Vec<(String, Value)>) {
    let res = call(app, &app.key, body).await;
    let status = res.status().as_u16();
    assert!(
        status != 200
            || res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
    );
    let text = res.text().await.unwrap();
    let events = text
        .split("\n\n")
        .filter(|it| !it.trim().is_empty())
        .map(|frame| {
            let mut name = String::new();
            let mut data = Value::Null;
            for line in frame.lines() {
                if let Some(rest) = line.strip_prefix("event: ") {
                    name = rest.to_owned();
                } else if let Some(rest) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(rest).unwrap();
                }
            }
            assert_eq!(data["type"], name.as_str(), "{frame}");
            (name, data)
        })
        .collect();
    (status, events)
}

/// What a usage record bills: prompt, completion and cached tokens, and whether estimated.
fn billed(record: &domain::UsageRecord) -> (u64, u64, u64, bool) {
    (
        record.prompt_tokens,
        record.completion_tokens,
        record.cached_tokens,
        record.estimated,
    )
}

/// Rebuilds the content blocks a client assembles from the events.
fn assemble(events: &[(String, Value)]) -> Vec<Value> {
    let mut blocks: Vec<Value> = Vec::new();
    let mut partial_json: Vec<String> = Vec::new();
    for (name, data) in events {
        let index = data["index"].as_u64().unwrap_or(0) as usize;
        match name.as_str() {
            "content_block_start" => {
                assert_eq!(index, blocks.len(), "blocks start in order");
                blocks.push(data["content_block"].clone());
                partial_json.push(String::new());
            }
            "content_block_delta" => {
                let delta = &data["delta"];
                let block = &mut blocks[index];
                match delta["type"].as_str().unwrap() {
                    "text_delta" => {
                        let text = block["text"].as_str().unwrap().to_owned();
                        block["text"] = json!(text + delta["text"].as_str().unwrap());
                    }
                    "input_json_delta" => {
                        partial_json[index].push_str(delta["partial_json"].as_str().unwrap());
                    }
                    other => panic!("unexpected delta {other}"),
                }
            }
            "content_block_stop"
                if blocks[index]["type"] == "tool_use" && !partial_json[index].is_empty() =>
            {
                blocks[index]["input"] = serde_json::from_str(&partial_json[index]).unwrap();
            }
            _ => {}
        }
    }
    blocks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anthropic_client_reaches_an_anthropic_upstream_with_nothing_lost() {
    let (app, upstream) =
        anthropic_app(|_| Reply::json(fixtures::text("anthropic/message_ok.json"))).await;
    let sent = json!({
        "model": "claude",
        "max_tokens": 300,
        "system": [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": [
                {"type": "text", "text": "Describe"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}},
                {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "notes"}, "title": "Notes", "citations": {"enabled": true}}
            ]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_9", "name": "look", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_9", "is_error": true, "content": "blurry"}]}
        ],
        "stop_sequences": ["###"],
        "temperature": 0.5,
        "top_k": 40,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 2}],
        "metadata": {"user_id": "user-7"},
        "container": "container_011"
    });
    let (status, body) = message(&app, &sent).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        fixtures::with_cost(
            serde_json::from_str::<Value>(&fixtures::text("anthropic/message_ok.json")).unwrap(),
            // 25 × 3 + 100 × 0.3 + 7 × 3.75 + 12 × 15 per million.
            "0.00031125"
        ),
        "the upstream's message comes back as it was, with its price"
    );
    let mut relayed = sent.clone();
    relayed["model"] = json!("claude-sonnet-4-5-20250929");
    assert_eq!(
        upstream.last().json(),
        relayed,
        "the upstream gets the call as the client made it, but for the model's upstream name"
    );
    let record = &app.usage(1).await[0];
    assert_eq!(record.endpoint, "messages");
    assert_eq!(
        (
            record.prompt_tokens,
            record.cached_tokens,
            record.cache_write_tokens
        ),
        (132, 100, 7)
    );
}

/// An answer with block types the gateway does not model: a server tool's call and result,
/// and a cited text.
fn cited_answer() -> Value {
    json!({
        "id": "msg_cite", "type": "message", "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [
            {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "Oslo weather"}},
            {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": [
                {"type": "web_search_result", "url": "https://example.com/oslo", "title": "Oslo", "encrypted_content": "EqgfCioIARgB", "page_age": "1 day"}
            ]},
            {"type": "text", "text": "Mild, 12 °C.", "citations": [
                {"type": "web_search_result_location", "url": "https://example.com/oslo", "title": "Oslo", "encrypted_index": "Eo8BCioIAhgB", "cited_text": "12 °C"}
            ]}
        ],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 410, "cache_read_input_tokens": 20, "output_tokens": 31,
                  "server_tool_use": {"web_search_requests": 1}}
    })
}

/// The same answer as Anthropic streams it, event by event.
fn cited_events() -> Vec<Value> {
    let answer = cited_answer();
    let content = answer["content"].as_array().unwrap();
    let mut start = answer.clone();
    start["content"] = json!([]);
    start["stop_reason"] = Value::Null;
    start["usage"] =
        json!({"input_tokens": 410, "cache_read_input_tokens": 20, "output_tokens": 1});
    vec![
        json!({"type": "message_start", "message": start}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"query\": \"Oslo weather\"}"}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "content_block_start", "index": 1, "content_block": content[1]}),
        json!({"type": "content_block_stop", "index": 1}),
        json!({"type": "content_block_start", "index": 2, "content_block": {"type": "text", "text": "", "citations": []}}),
        json!({"type": "content_block_delta", "index": 2, "delta": {"type": "citations_delta", "citation": content[2]["citations"][0]}}),
        json!({"type": "content_block_delta", "index": 2, "delta": {"type": "text_delta", "text": "Mild, 12 °C."}}),
        json!({"type": "content_block_stop", "index": 2}),
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
               "usage": {"output_tokens": 31, "server_tool_use": {"web_search_requests": 1}}}),
        json!({"type": "message_stop"}),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anthropic_upstreams_own_blocks_and_events_reach_the_client_untouched() {
    let (app, _upstream) = anthropic_app(|req| {
        if req.json()["stream"] == true {
            let frames = cited_events()
                .iter()
                .map(|it| format!("event: {}\ndata: {it}\n\n", it["type"].as_str().unwrap()))
                .collect();
            Reply::sse(frames).split_every(5)
        } else {
            Reply::json(cited_answer().to_string())
        }
    })
    .await;
    let ask = |stream: bool| {
        json!({"model": "claude", "max_tokens": 200, "stream": stream,
        "tools": [{"type": "web_search_20250305", "name": "web_search"}],
        "messages": [{"role": "user", "content": "Weather in Oslo?"}]})
    };

    let (status, plain) = message(&app, &ask(false)).await;
    assert_eq!(status, 200, "{plain}");
    // 390 uncached × 3 + 20 cached × 0.3 + 31 × 15 per million (Sonnet 4.5's defaults).
    assert_eq!(plain, fixtures::with_cost(cited_answer(), "0.001701"));

    let (status, events) = events(&app, &ask(true)).await;
    assert_eq!(status, 200);
    let data: Vec<Value> = events.into_iter().map(|it| it.1).collect();
    assert_eq!(
        data,
        cited_events(),
        "every event, in order, as the upstream sent it"
    );

    // Both calls are billed alike, from the upstream's own usage.
    let records = app.usage(2).await;
    assert_eq!(billed(&records[0]), (430, 31, 20, false));
    assert_eq!(billed(&records[0]), billed(&records[1]));
    assert!(records[0].stream && !records[1].stream);
    assert!(records.iter().all(|it| it.endpoint == "messages"));
    let raw: Value = serde_json::from_str(records[0].raw_usage.as_deref().unwrap()).unwrap();
    assert_eq!(raw["server_tool_use"]["web_search_requests"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relayed_stream_cut_short_bills_its_input_and_estimates_its_output() {
    let (app, _upstream) = anthropic_app(|_| {
        Reply::sse(fixtures::sse_frames("anthropic/stream_ok.sse")).cut_after(5, End::Drop)
    })
    .await;
    let (status, events) = events(
        &app,
        &json!({"model": "claude", "max_tokens": 50, "stream": true,
                "messages": [{"role": "user", "content": "Hi"}]}),
    )
    .await;
    assert_eq!(status, 200);
    let names: Vec<&str> = events.iter().map(|it| it.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "error"
        ]
    );
    assert_eq!(events[5].1["error"]["type"], "api_error");
    let record = &app.usage(1).await[0];
    assert_eq!(record.status, domain::UsageStatus::Error);
    assert!(record.estimated);
    assert_eq!(
        record.prompt_tokens, 132,
        "input and cache tokens from message_start"
    );
    assert!(
        record.completion_tokens > 0,
        "the delivered text is counted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_and_their_results_cross_to_an_openai_upstream_and_back() {
    let (app, upstream) =
        openai_app(|_| Reply::json(fixtures::text("openai/chat_tools.json"))).await;
    let tools = json!([{"name": "get_weather", "description": "Weather in a city",
                        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]);
    let (status, body) = message(
        &app,
        &json!({"model": "gpt", "max_tokens": 100, "tools": tools, "tool_choice": {"type": "any"},
                "messages": [{"role": "user", "content": "Paris and Oslo?"}]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stop_reason"], "tool_use");
    assert_eq!(
        body["content"],
        json!([
            {"type": "tool_use", "id": "call_paris", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "call_oslo", "name": "get_weather", "input": {"city": "Oslo"}}
        ])
    );
    assert_eq!(
        body["usage"],
        json!({"input_tokens": 18, "output_tokens": 41, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 64})
    );
    let sent = upstream.last().json();
    assert_eq!(sent["tool_choice"], "required");
    assert_eq!(sent["tools"][0]["function"]["name"], "get_weather");
    assert_eq!(
        sent["tools"][0]["function"]["parameters"]["properties"]["city"]["type"],
        "string"
    );

    // The client sends the results back, Anthropic-style, in one user turn.
    let (status, _) = message(
        &app,
        &json!({"model": "gpt", "max_tokens": 100, "tools": tools, "messages": [
            {"role": "user", "content": "Paris and Oslo?"},
            {"role": "assistant", "content": body["content"]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_paris", "content": "18C"},
                {"type": "tool_result", "tool_use_id": "call_oslo", "content": [{"type": "text", "text": "4C"}]}
            ]}
        ]}),
    )
    .await;
    assert_eq!(status, 200);
    let sent = upstream.last().json();
    assert_eq!(
        sent["messages"][1]["tool_calls"][1]["function"]["arguments"],
        "{\"city\":\"Oslo\"}"
    );
    assert_eq!(
        sent["messages"][2],
        json!({"role": "tool", "tool_call_id": "call_paris", "content": "18C"})
    );
    assert_eq!(sent["messages"][3]["role"], "tool");
    assert_eq!(sent["messages"][3]["content"][0]["text"], "4C");
    assert_eq!(
        sent["max_tokens"]
            .as_u64()
            .or(sent["max_completion_tokens"].as_u64()),
        Some(100)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_anthropic_answer_arrives_as_anthropic_events() {
    let (app, _upstream) = anthropic_app(|_| {
        Reply::sse(fixtures::sse_frames("anthropic/stream_tools.sse")).split_every(3)
    })
    .await;
    let (status, events) = events(
        &app,
        &json!({"model": "claude", "max_tokens": 100, "stream": true,
                "messages": [{"role": "user", "content": "Paris and Oslo?"}]}),
    )
    .await;
    assert_eq!(status, 200);
    let names: Vec<&str> = events.iter().map(|it| it.0.as_str()).collect();
    assert_eq!(names.first(), Some(&"message_start"));
    assert_eq!(&names[names.len() - 2..], ["message_delta", "message_stop"]);
    let blocks = assemble(&events);
    assert_eq!(
        blocks[0],
        json!({"type": "text", "text": "I'll check both cities."})
    );
    assert_eq!(
        blocks[1],
        json!({"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris"}})
    );
    assert_eq!(blocks[2]["id"], "toolu_01B");
    assert_eq!(blocks[2]["input"], json!({"city": "Oslo"}));
    let delta = &events[events.len() - 2].1;
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
    assert!(delta["usage"]["output_tokens"].as_u64().unwrap() > 0);
    // Relayed as Anthropic sends it: input tokens come with message_start.
    assert_eq!(events[0].1["message"]["usage"]["input_tokens"], 380);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_and_plain_messages_record_the_same_usage() {
    let (app, _upstream) = openai_app(|req| {
        if req.json()["stream"] == true {
            Reply::sse(fixtures::sse_frames("openai/stream_tools.sse")).split_every(7)
        } else {
            Reply::json(fixtures::text("openai/chat_tools.json"))
        }
    })
    .await;
    let body = json!({"model": "gpt", "max_tokens": 50, "messages": [{"role": "user", "content": "Weather?"}]});
    let (status, plain) = message(&app, &body).await;
    assert_eq!(status, 200);
    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let (status, events) = events(&app, &streamed).await;
    assert_eq!(status, 200);
    // The client asked for no usage chunk, but the gateway asked the upstream for one.
    let delta = &events[events.len() - 2].1;
    assert_eq!(
        delta["usage"]["output_tokens"],
        plain["usage"]["output_tokens"]
    );
    assert_eq!(
        delta["usage"]["input_tokens"],
        plain["usage"]["input_tokens"]
    );
    assert_eq!(
        assemble(&events),
        plain["content"].as_array().unwrap().clone()
    );
    let records = app.usage(2).await;
    assert_eq!(billed(&records[0]), billed(&records[1]));
    assert!(!records[0].estimated);
    assert!(records.iter().all(|it| it.endpoint == "messages"));
    assert!(records[0].stream && !records[1].stream);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anthropic_upstream_counts_the_tokens_itself() {
    let (app, upstream) = anthropic_app(|req| {
        if req.json()["messages"][0]["content"] == "busy" {
            Reply::status(429, fixtures::text("anthropic/error_429.json"))
                .with_header("retry-after", "3")
        } else {
            Reply::json(r#"{"input_tokens": 2095}"#)
        }
    })
    .await;
    let count = |content: &str| {
        app.client()
            .post(format!("{}/v1/messages/count_tokens", app.url))
            .header("x-api-key", &app.key)
            .header("anthropic-version", "2023-06-01")
            .header("anthropic-beta", "token-efficient-tools-2025-02-19")
            .json(&json!({"model": "claude", "system": "Be brief.",
                "messages": [{"role": "user", "content": content}],
                "tools": [{"name": "f", "input_schema": {"type": "object"}}]}))
            .send()
    };
    let (status, body) = it::harness::json_of(count("Hi").await.unwrap()).await;
    assert_eq!((status, body), (200, json!({"input_tokens": 2095})));
    let seen = upstream.last();
    assert_eq!(seen.path, "/v1/messages/count_tokens");
    assert_eq!(
        seen.json(),
        json!({"model": "claude-sonnet-4-5-20250929", "system": "Be brief.",
            "messages": [{"role": "user", "content": "Hi"}],
            "tools": [{"name": "f", "input_schema": {"type": "object"}}]}),
        "only the prompt's fields, under the upstream's model name"
    );
    assert_eq!(seen.header("x-api-key"), Some(UPSTREAM_KEY));
    assert_eq!(
        seen.header("anthropic-beta"),
        Some("prompt-caching-2024-07-31,token-efficient-tools-2025-02-19")
    );

    let res = count("busy").await.unwrap();
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "3");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_error");

    // A bad count never reaches the upstream.
    let before = upstream.requests().len();
    let res = app
        .client()
        .post(format!("{}/v1/messages/count_tokens", app.url))
        .header("x-api-key", &app.key)
        .json(&json!({"model": "claude", "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(upstream.requests().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mock_model_answers_and_counts_tokens() {
    let app = mock_app().await;
    let (status, body) = message(
        &app,
        &json!({"model": "mock", "max_tokens": 20, "messages": [{"role": "user", "content": "Hello"}]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["content"][0]["text"], "This is a mock reply to: Hello");
    assert!(body["id"].as_str().unwrap().starts_with("msg_"));
    let res = app
        .client()
        .post(format!("{}/v1/messages/count_tokens", app.url))
        .header("x-api-key", &app.key)
        .json(&json!({"model": "mock", "system": "be brief", "messages": [{"role": "user", "content": "Hello there, how are you?"}]}))
        .send()
        .await
        .unwrap();
    let (status, body) = it::harness::json_of(res).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["input_tokens"].as_u64().unwrap() >= 7, "{body}");

    // Anthropic's SDKs list models in their own shape; OpenAI's get theirs, unchanged.
    let models = |anthropic: bool| {
        let mut req = app
            .client()
            .get(format!("{}/v1/models", app.url))
            .header("x-api-key", &app.key);
        if anthropic {
            req = req.header("anthropic-version", "2023-06-01");
        }
        async move { it::harness::json_of(req.send().await.unwrap()).await.1 }
    };
    let anthropic = models(true).await;
    assert_eq!(anthropic["data"][0]["type"], "model");
    assert_eq!(anthropic["data"][0]["display_name"], "mock");
    assert!(
        anthropic["data"][0]["created_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(
        (
            anthropic["has_more"].as_bool(),
            anthropic["first_id"].as_str()
        ),
        (Some(false), Some("mock"))
    );
    let openai = models(false).await;
    assert_eq!(openai["object"], "list");
    assert!(openai["data"][0].get("display_name").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_calls_get_anthropic_errors_and_nothing_reaches_the_upstream() {
    let (app, upstream) =
        anthropic_app(|_| Reply::json(fixtures::text("anthropic/message_ok.json"))).await;
    let error_of = |body: &Value| {
        assert_eq!(body["type"], "error", "{body}");
        (
            body["error"]["type"].as_str().unwrap().to_owned(),
            body["error"]["message"].as_str().unwrap().to_owned(),
        )
    };
    let hello = json!({"model": "claude", "max_tokens": 10, "messages": [{"role": "user", "content": "Hi"}]});

    let (status, body) = it::harness::json_of(call(&app, "sk-sluice-wrong", &hello).await).await;
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (401, "authentication_error")
    );

    let mut unknown = hello.clone();
    unknown["model"] = json!("claude-9");
    let (status, body) = message(&app, &unknown).await;
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (404, "not_found_error")
    );

    let (status, body) = message(
        &app,
        &json!({"model": "claude", "messages": [{"role": "user", "content": "Hi"}]}),
    )
    .await;
    let (kind, text) = error_of(&body);
    assert_eq!((status, kind.as_str()), (400, "invalid_request_error"));
    assert!(text.contains("max_tokens"), "{text}");

    let (status, body) = message(
        &app,
        &json!({"model": "claude", "max_tokens": 5, "messages": [{"role": "user", "content": 42}]}),
    )
    .await;
    let (_, text) = error_of(&body);
    assert_eq!(status, 400);
    assert!(text.contains("messages[0].content"), "{text}");

    let (status, body) = message(&app, &json!({"model": "claude", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "tool_result"}]}]})).await;
    assert_eq!(status, 400);
    assert!(
        error_of(&body)
            .1
            .contains("messages[0].content[0].tool_use_id"),
        "{body}"
    );

    let res = app
        .client()
        .post(format!("{}/v1/messages", app.url))
        .header("x-api-key", &app.key)
        .header("content-type", "application/json")
        .body("{\"model\": \"claude\", \"max_tokens\": 5, \"messages\": [")
        .send()
        .await
        .unwrap();
    let (status, body) = it::harness::json_of(res).await;
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (400, "invalid_request_error")
    );

    let huge = json!({"model": "claude", "max_tokens": 5, "messages": [{"role": "user", "content": "x".repeat(11 * 1024 * 1024)}]});
    let (status, body) = message(&app, &huge).await;
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (413, "request_too_large")
    );

    let res = app
        .client()
        .get(format!("{}/v1/messages", app.url))
        .header("x-api-key", &app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["allow"], "POST");
    let (status, body) = it::harness::json_of(res).await;
    assert_eq!(status, 405);
    error_of(&body);

    assert!(
        upstream.requests().is_empty(),
        "no bad call reached the upstream"
    );

    // A key limited to chat completions may not use the Messages API. The
    // narrowing reaches the gateway's snapshot a moment later; calls in that
    // moment are still allowed, so only calls after it are counted.
    let (mut chat_only, secret) = app.create_key(gateway::admin::NewKey::default()).await;
    chat_only.scopes.endpoints = vec!["chat.completions".into()];
    let audit = domain::AuditEntry::new(
        Some(app.tenant),
        domain::Actor::cli(),
        "key.update",
        time::OffsetDateTime::now_utc(),
    );
    app.store
        .update_key(app.tenant, &chat_only, &audit)
        .await
        .unwrap();
    let refused = eventually(Duration::from_secs(5), || async {
        call(&app, &secret, &hello).await.status() == 403
    })
    .await;
    assert!(refused, "the chat-only key was not refused");
    let reached_before = upstream.requests().len();
    let (status, body) = it::harness::json_of(call(&app, &secret, &hello).await).await;
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (403, "permission_error")
    );
    assert_eq!(
        upstream.requests().len(),
        reached_before,
        "a refused call reached the upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_failures_keep_their_meaning_in_anthropics_shape() {
    let (app, _upstream) = anthropic_app(|req| {
        let content = &req.json()["messages"][0]["content"];
        let text = content
            .as_str()
            .or(content[0]["text"].as_str())
            .unwrap_or_default()
            .to_owned();
        match text.as_str() {
            "slow down" => Reply::status(429, fixtures::text("anthropic/error_429.json"))
                .with_header("retry-after", "7"),
            "mid-stream" => Reply::sse(fixtures::sse_frames("anthropic/stream_error_mid.sse")),
            "overloaded" => Reply::status(529, fixtures::text("anthropic/error_overloaded.json")),
            "broken" => Reply::status(500, "<html>Internal Server Error</html>"),
            "close" => Reply::Close,
            "stall" => Reply::sse(fixtures::sse_frames("anthropic/stream_ok.sse"))
                .gap(Duration::from_secs(3)),
            "slow" => Reply::json(fixtures::text("anthropic/message_ok.json"))
                .delayed(Duration::from_secs(5)),
            _ => {
                Reply::sse(fixtures::sse_frames("anthropic/stream_ok.sse")).cut_after(3, End::Drop)
            }
        }
    })
    .await;
    let ask = |text: &str, stream: bool| json!({"model": "claude", "max_tokens": 10, "stream": stream, "messages": [{"role": "user", "content": text}]});
    let res = call(&app, &app.key, &ask("slow down", false)).await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "7");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_error");

    // Failures before anything was sent: a plain error with the right status and Anthropic's
    // type, for plain and streamed calls alike (no stream was committed).
    let started = std::time::Instant::now();
    for (text, status, kind) in [
        ("overloaded", 502, "api_error"),
        ("broken", 502, "api_error"),
        ("close", 502, "api_error"),
        ("slow", 504, "timeout_error"),
    ] {
        for stream in [false, true] {
            let res = call(&app, &app.key, &ask(text, stream)).await;
            assert_eq!(res.status(), status, "{text} stream={stream}");
            // Anthropic's SDKs read `request-id`: the same id as `x-request-id`.
            assert_eq!(
                res.headers().get("request-id"),
                res.headers().get("x-request-id")
            );
            assert!(res.headers().contains_key("x-request-id"));
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["type"], "error", "{text}: {body}");
            assert_eq!(body["error"]["type"], kind, "{text}: {body}");
            assert!(
                !body.to_string().contains(UPSTREAM_KEY),
                "the upstream credential never reaches clients"
            );
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "first_byte_timeout_ms = 1500 cut both slow calls short"
    );
    // Each failed call is still accounted for, under the Messages endpoint.
    let records = app.usage(9).await;
    let failed: Vec<_> = records
        .iter()
        .filter(|it| it.status == domain::UsageStatus::Error)
        .map(|it| (it.endpoint.as_str(), it.http_status))
        .collect();
    assert_eq!(
        failed.iter().filter(|it| *it == &("messages", 502)).count(),
        6,
        "{failed:?}"
    );
    assert_eq!(
        failed.iter().filter(|it| *it == &("messages", 504)).count(),
        2,
        "{failed:?}"
    );

    // A stream that stalls after its first event hits idle_timeout_ms = 1500.
    let (status, stalled) = events(&app, &ask("stall", true)).await;
    assert_eq!(status, 200);
    assert_eq!(stalled[0].0, "message_start");
    let (name, data) = stalled.last().unwrap();
    assert_eq!(
        (name.as_str(), &data["error"]["type"]),
        ("error", &json!("timeout_error"))
    );

    for text in ["mid-stream", "dropped"] {
        let (status, events) = events(&app, &ask(text, true)).await;
        assert_eq!(status, 200);
        let (name, data) = events.last().unwrap();
        assert_eq!(name, "error", "{text}: {events:?}");
        assert_eq!(data["error"]["type"], "api_error");
        assert!(!events.iter().any(|it| it.0 == "message_stop"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clients_beta_features_reach_an_anthropic_upstream_after_the_configured_ones() {
    let (app, upstream) = anthropic_app(|req| {
        if req.json()["stream"] == json!(true) {
            Reply::sse(fixtures::sse_frames("anthropic/stream_ok.sse"))
        } else {
            Reply::json(fixtures::text("anthropic/message_ok.json"))
        }
    })
    .await;
    let hello = json!({"model": "claude", "max_tokens": 10, "messages": [{"role": "user", "content": "Hi"}]});

    let res = call_with_betas(
        &app,
        &app.key,
        &[
            "context-1m-2025-08-07, prompt-caching-2024-07-31",
            "token-efficient-tools-2025-02-19",
        ],
        &hello,
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        upstream.last().header("anthropic-beta"),
        Some("prompt-caching-2024-07-31,context-1m-2025-08-07,token-efficient-tools-2025-02-19"),
        "configured first, each once"
    );

    let mut streamed = hello.clone();
    streamed["stream"] = json!(true);
    let res = call_with_betas(&app, &app.key, &["context-1m-2025-08-07"], &streamed).await;
    assert_eq!(res.status(), 200);
    res.text().await.unwrap();
    assert_eq!(
        upstream.last().header("anthropic-beta"),
        Some("prompt-caching-2024-07-31,context-1m-2025-08-07")
    );

    let res = call_with_betas(&app, &app.key, &[], &hello).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        upstream.last().header("anthropic-beta"),
        Some("prompt-caching-2024-07-31"),
        "without a client header the configured betas still apply"
    );

    let sent = upstream.requests().len();
    let long = "a,".repeat(700);
    let refusals = [
        ("context 1m", "`context 1m` is not one"),
        ("beta=1", "`beta=1` is not one"),
        ("x;y", "`x;y` is not one"),
        ("x,ünï", "is not one"),
        (long.as_str(), "longer than 1024 bytes"),
    ];
    for (bad, says) in refusals {
        let res = call_with_betas(&app, &app.key, &[bad], &hello).await;
        let (status, body) = it::harness::json_of(res).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["type"], "invalid_request_error");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("anthropic-beta") && message.contains(says),
            "{bad}: {message}"
        );
    }
    assert_eq!(
        upstream.requests().len(),
        sent,
        "no refused call went upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beta_features_are_not_sent_to_an_openai_upstream() {
    let (app, upstream) = openai_app(|_| Reply::json(fixtures::text("openai/chat_ok.json"))).await;
    let res = call_with_betas(
        &app,
        &app.key,
        &["prompt-caching-2024-07-31"],
        &json!({"model": "gpt", "max_tokens": 10, "messages": [{"role": "user", "content": "Hi"}]}),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(upstream.last().header("anthropic-beta"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn huge_token_counts_never_stall_other_calls() {
    let app = mock_app().await;
    let count = |text: String| {
        let req = app
            .client()
            .post(format!("{}/v1/messages/count_tokens", app.url))
            .header("x-api-key", &app.key)
            .json(&json!({"model": "mock", "messages": [{"role": "user", "content": text}]}));
        async move { it::harness::json_of(req.send().await.unwrap()).await }
    };
    let chat = || async {
        let started = std::time::Instant::now();
        let (status, body) = message(
            &app,
            &json!({"model": "mock", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        started.elapsed()
    };

    // A 9 MB prompt is over what the gateway counts, and it says so.
    let (one, two) = tokio::join!(
        count("c".repeat(9 * 1024 * 1024)),
        count("d".repeat(9 * 1024 * 1024))
    );
    for (status, body) in [one, two] {
        assert_eq!(status, 413, "{body}");
        assert_eq!(body["error"]["type"], "request_too_large", "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("MiB"),
            "{body}"
        );
    }

    // One letter repeated is the tokenizer's worst case (one "word" of millions of bytes).
    // While four such counts run, on a gateway with a single request worker, other calls keep
    // being answered: the counting happens elsewhere. Judged against the counts' own duration,
    // not a clock figure, so a slow or busy machine slows both sides alike.
    let done = std::sync::atomic::AtomicBool::new(false);
    let counted = async {
        let started = std::time::Instant::now();
        let results = futures_util::future::join_all(
            ["a", "b", "e", "f"].map(|letter| count(letter.repeat(6 * 1024 * 1024))),
        )
        .await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        for (status, body) in results {
            assert_eq!(status, 200, "{body}");
            assert!(body["input_tokens"].as_u64().unwrap() > 100_000, "{body}");
        }
        started.elapsed()
    };
    let others = async {
        let (mut slowest, mut answered) = (Duration::ZERO, 0);
        // Let the counts' bodies arrive first.
        tokio::time::sleep(Duration::from_millis(300)).await;
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            slowest = slowest.max(chat().await);
            answered += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (slowest, answered)
    };
    let (counting, (slowest, answered)) = tokio::join!(counted, others);
    assert!(
        slowest * 4 < counting && answered >= 10,
        "while the counts took {counting:?}, {answered} calls were answered, the slowest in {slowest:?}"
    );
}
