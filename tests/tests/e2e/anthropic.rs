//! Anthropic upstream: OpenAI requests are translated to the Messages API and answers back.

use it::fixtures;
use it::mock_upstream::Reply;
use serde_json::json;

use crate::common::{UPSTREAM_KEY, anthropic_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_is_translated_both_ways() {
    let (app, upstream) =
        anthropic_app(|_| Reply::json(fixtures::text("anthropic/message_ok.json"))).await;
    let (status, body) = app
        .chat(&json!({
            "model": "claude",
            "messages": [
                {"role": "system", "content": [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}]},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello"},
                {"role": "user", "content": [{"type": "text", "text": "Describe"}, {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}}]}
            ],
            "max_tokens": 300,
            "stop": ["###"],
            "temperature": 0.5
        }))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Hello! How can I help you today? Ünïcödé ✓"
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 132, "completion_tokens": 12, "total_tokens": 144,
               "prompt_tokens_details": {"cached_tokens": 100, "cache_creation_tokens": 7},
               // 25 × 3 + 100 × 0.3 + 7 × 3.75 + 12 × 15 per million.
               "cost": 0.00031125})
    );

    let sent = upstream.last();
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some(UPSTREAM_KEY));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(
        sent.header("anthropic-beta"),
        Some("prompt-caching-2024-07-31")
    );
    assert_eq!(
        sent.json(),
        json!({
            "model": "claude-sonnet-4-5-20250929",
            "max_tokens": 300,
            "system": [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
                {"role": "assistant", "content": [{"type": "text", "text": "Hello"}]},
                {"role": "user", "content": [
                    {"type": "text", "text": "Describe"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}}
                ]}
            ],
            "stop_sequences": ["###"],
            "temperature": 0.5
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_tool_calls_and_results_translate() {
    let (app, upstream) =
        anthropic_app(|_| Reply::json(fixtures::text("anthropic/message_tools.json"))).await;
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]);
    let (status, body) = app
        .chat(&json!({"model": "claude", "messages": [{"role": "user", "content": "Paris and Oslo?"}], "tools": tools, "tool_choice": "required"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    let calls = &body["choices"][0]["message"]["tool_calls"];
    assert_eq!(
        calls[0],
        json!({"id": "toolu_01A", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}})
    );
    assert_eq!(calls[1]["id"], "toolu_01B");
    assert_eq!(
        upstream.last().json()["tool_choice"],
        json!({"type": "any"})
    );
    assert_eq!(
        upstream.last().json()["tools"][0]["input_schema"]["properties"]["city"]["type"],
        "string"
    );

    let (status, _) = app
        .chat(&json!({"model": "claude", "tools": tools, "messages": [
            {"role": "user", "content": "Paris and Oslo?"},
            {"role": "assistant", "content": "I'll check both cities.", "tool_calls": calls},
            {"role": "tool", "tool_call_id": "toolu_01A", "content": "18C"},
            {"role": "tool", "tool_call_id": "toolu_01B", "content": "4C"}
        ]}))
        .await;
    assert_eq!(status, 200);
    let sent = upstream.last().json();
    assert_eq!(
        sent["messages"][1]["content"],
        json!([
            {"type": "text", "text": "I'll check both cities."},
            {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_01B", "name": "get_weather", "input": {"city": "Oslo"}}
        ])
    );
    assert_eq!(
        sent["messages"][2],
        json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "18C"},
            {"type": "tool_result", "tool_use_id": "toolu_01B", "content": "4C"}
        ]})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_translates_text_and_reports_usage_when_asked() {
    let (app, upstream) = anthropic_app(|_| {
        Reply::sse(fixtures::sse_frames("anthropic/stream_ok.sse")).split_every(5)
    })
    .await;
    let (status, transcript) = app
        .chat_stream(
            &json!({"model": "claude", "stream": true, "stream_options": {"include_usage": true},
                             "messages": [{"role": "user", "content": "Hi"}]}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(upstream.last().json()["stream"], true);
    assert_eq!(
        transcript.content(),
        "Hello! How can I help you today? Ünïcödé ✓"
    );
    let chunks = transcript.chunks();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(
        chunks
            .iter()
            .all(|it| it["object"] == "chat.completion.chunk")
    );
    assert!(
        chunks
            .iter()
            .any(|it| it["choices"][0]["finish_reason"] == "stop")
    );
    assert_eq!(transcript.usage().unwrap()["prompt_tokens"], 132);
    assert_eq!(transcript.usage().unwrap()["completion_tokens"], 12);
    assert!(transcript.ends_with_done());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_tool_arguments_arrive_as_openai_deltas() {
    let (app, _upstream) = anthropic_app(|_| {
        Reply::sse(fixtures::sse_frames("anthropic/stream_tools.sse")).split_every(3)
    })
    .await;
    let (status, transcript) = app
        .chat_stream(&json!({"model": "claude", "stream": true, "messages": [{"role": "user", "content": "Paris and Oslo?"}],
                             "tools": [{"type": "function", "function": {"name": "get_weather"}}]}))
        .await;
    assert_eq!(status, 200);
    let mut calls: Vec<(String, String, String)> = Vec::new();
    for chunk in transcript.chunks() {
        for call in chunk["choices"][0]["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let index = usize::try_from(call["index"].as_u64().unwrap()).unwrap();
            if calls.len() <= index {
                calls.push((
                    call["id"].as_str().unwrap().to_owned(),
                    call["function"]["name"].as_str().unwrap().to_owned(),
                    String::new(),
                ));
            }
            calls[index]
                .2
                .push_str(call["function"]["arguments"].as_str().unwrap_or_default());
        }
    }
    assert_eq!(
        calls,
        vec![
            (
                "toolu_01A".into(),
                "get_weather".into(),
                r#"{"city": "Paris"}"#.into()
            ),
            (
                "toolu_01B".into(),
                "get_weather".into(),
                r#"{"city": "Oslo"}"#.into()
            ),
        ]
    );
    assert_eq!(transcript.content(), "I'll check both cities.");
    assert!(
        transcript
            .chunks()
            .iter()
            .any(|it| it["choices"][0]["finish_reason"] == "tool_calls")
    );
    assert!(
        transcript.usage().is_none(),
        "usage is stripped when not asked for"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thinking_streams_as_reasoning_content_with_its_signature() {
    let (app, upstream) =
        anthropic_app(|_| Reply::sse(fixtures::sse_frames("anthropic/stream_thinking.sse"))).await;
    let (status, transcript) = app
        .chat_stream(
            &json!({"model": "claude", "stream": true, "reasoning_effort": "low", "max_tokens": 500,
                             "messages": [{"role": "user", "content": "2+2?"}]}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        upstream.last().json()["thinking"],
        json!({"type": "enabled", "budget_tokens": 1024})
    );
    assert_eq!(upstream.last().json()["max_tokens"], 1524);
    let reasoning: String = transcript
        .chunks()
        .iter()
        .filter_map(|it| {
            it["choices"][0]["delta"]["reasoning_content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(reasoning, "The user asks for 2+2.");
    assert!(transcript.chunks().iter().any(
        |it| it["choices"][0]["delta"]["thinking_blocks"][0]["signature"]
            == "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
    ));
    assert_eq!(transcript.content(), "4");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_errors_keep_their_meaning() {
    let (app, _upstream) = anthropic_app(|req| {
        let text = req.json()["messages"][0]["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        match text.as_str() {
            "overloaded" => Reply::status(529, fixtures::text("anthropic/error_overloaded.json")),
            "too big" => Reply::status(400, fixtures::text("anthropic/error_400.json")),
            _ => Reply::status(429, fixtures::text("anthropic/error_429.json"))
                .with_header("retry-after", "7"),
        }
    })
    .await;
    let ask =
        |text: &str| json!({"model": "claude", "messages": [{"role": "user", "content": text}]});
    let (status, body) = app.chat(&ask("overloaded")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (502, Some("upstream_error"))
    );
    let (status, body) = app.chat(&ask("too big")).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["message"],
        "messages.0.content.0.image.source.base64: image exceeds 5 MB maximum"
    );
    let res = app.post("/v1/chat/completions", &ask("slow down")).await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "7");
    // n > 1 cannot be expressed for Anthropic: a clear 400 before any upstream call.
    let (status, body) = app
        .chat(&json!({"model": "claude", "n": 3, "messages": [{"role": "user", "content": "x"}]}))
        .await;
    assert_eq!((status, body["error"]["param"].as_str()), (400, Some("n")));
    // Embeddings do not exist on Anthropic.
    let (status, body) = it::harness::json_of(
        app.post("/v1/embeddings", &json!({"model": "claude", "input": "x"}))
            .await,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("unsupported_endpoint"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_event_mid_stream_ends_the_stream_with_an_error_chunk() {
    let (app, _upstream) =
        anthropic_app(|_| Reply::sse(fixtures::sse_frames("anthropic/stream_error_mid.sse"))).await;
    let (status, transcript) = app
        .chat_stream(&json!({"model": "claude", "stream": true, "messages": [{"role": "user", "content": "Hi"}]}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(transcript.content(), "Partial answer before");
    let last = transcript.chunks().last().cloned().unwrap();
    assert_eq!(last["error"]["code"], "upstream_error");
    assert!(!transcript.ends_with_done());
}
