//! OpenAI upstream: requests go out in OpenAI's exact format, answers come back untouched.

use it::fixtures;
use it::mock_upstream::Reply;
use serde_json::{Value, json};

use crate::common::{UPSTREAM_KEY, openai_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_completion_is_forwarded_with_upstream_model_and_credentials() {
    let (app, upstream) = openai_app(|_| Reply::json(fixtures::text("openai/chat_ok.json"))).await;
    let body = json!({
        "model": "gpt",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [
                {"type": "text", "text": "what is in this image? 租户"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}
            ]}
        ],
        "temperature": 0.2,
        "max_tokens": 50,
        "n": 1,
        "seed": 42,
        "stop": ["END"],
        "logprobs": true,
        "top_logprobs": 2,
        "user": "user-123",
        "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": true}},
        "metadata": {"trace": "abc"},
        "prediction": {"type": "content", "content": "x"},
        "store": false
    });
    let res = app.post("/v1/chat/completions", &body).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("x-request-id").is_some());
    let text = res.text().await.unwrap();
    // The answer is the upstream's, byte for byte, with its price added to `usage`:
    // gpt-4o-mini's default rates, 19 × 0.15 + 10 × 0.6 per million.
    assert_eq!(text, fixtures::priced("openai/chat_ok.json", "0.00000885"));

    let sent = upstream.last();
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {UPSTREAM_KEY}").as_str())
    );
    let mut expected = body.clone();
    expected["model"] = json!("gpt-4o-mini");
    // OpenAI's reasoning models reject `max_tokens`; the gateway always sends the modern field.
    expected.as_object_mut().unwrap().remove("max_tokens");
    expected["max_completion_tokens"] = json!(50);
    assert_eq!(sent.json(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_calls_and_tool_results_round_trip() {
    let (app, upstream) =
        openai_app(|_| Reply::json(fixtures::text("openai/chat_tools.json"))).await;
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "description": "weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}, "strict": true}}]);
    let (status, body) = app
        .chat(&json!({
            "model": "gpt",
            "messages": [{"role": "user", "content": "weather in Paris and Oslo"}],
            "tools": tools,
            "tool_choice": "auto",
            "parallel_tool_calls": true
        }))
        .await;
    assert_eq!(status, 200);
    let calls = body["choices"][0]["message"]["tool_calls"]
        .as_array()
        .unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(upstream.last().json()["tools"], tools);
    assert_eq!(upstream.last().json()["parallel_tool_calls"], true);

    let followup = json!({
        "model": "gpt",
        "messages": [
            {"role": "user", "content": "weather in Paris and Oslo"},
            {"role": "assistant", "content": null, "tool_calls": body["choices"][0]["message"]["tool_calls"]},
            {"role": "tool", "tool_call_id": "call_paris", "content": "18C"},
            {"role": "tool", "tool_call_id": "call_oslo", "content": "4C"}
        ],
        "tools": tools,
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}}
    });
    let (status, _) = app.chat(&followup).await;
    assert_eq!(status, 200);
    let sent = upstream.last().json();
    assert_eq!(
        sent["messages"][2],
        json!({"role": "tool", "tool_call_id": "call_paris", "content": "18C"})
    );
    assert_eq!(sent["messages"][1]["tool_calls"][1]["id"], "call_oslo");
    assert_eq!(sent["tool_choice"], followup["tool_choice"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeddings_pass_through_as_floats_and_base64() {
    let (app, upstream) = openai_app(|req| {
        if req.json()["encoding_format"] == "base64" {
            Reply::json(fixtures::text("openai/embeddings_base64.json"))
        } else {
            Reply::json(fixtures::text("openai/embeddings_ok.json"))
        }
    })
    .await;
    let res = app
        .post(
            "/v1/embeddings",
            &json!({"model": "embed", "input": ["hello", "world"], "dimensions": 4}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"][0]["embedding"][3], json!(0.017185114));
    let sent = upstream.last();
    assert_eq!(sent.path, "/v1/embeddings");
    assert_eq!(
        sent.json(),
        json!({"model": "text-embedding-3-small", "input": ["hello", "world"], "dimensions": 4})
    );

    let (status, body) = it::harness::json_of(
        app.post(
            "/v1/embeddings",
            &json!({"model": "embed", "input": [1, 2, 3], "encoding_format": "base64"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"][0]["embedding"], "AACAPwAAAEAAAEBA");
    assert_eq!(upstream.last().json()["input"], json!([1, 2, 3]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_chunks_arrive_unchanged_and_usage_is_asked_for() {
    let (app, upstream) =
        openai_app(|_| Reply::sse(fixtures::sse_frames("openai/stream_ok.sse"))).await;
    let (status, transcript) = app
        .chat_stream(&json!({"model": "gpt", "stream": true, "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(status, 200);
    // The gateway asked for usage although the client did not...
    assert_eq!(
        upstream.last().json()["stream_options"],
        json!({"include_usage": true})
    );
    // ...and strips the usage chunk the client did not ask for.
    assert!(transcript.usage().is_none());
    assert!(transcript.ends_with_done());
    assert_eq!(
        transcript.content(),
        "Hello! How can I assist you today? Ünïcödé ✓ 租户"
    );
    let upstream_chunks: Vec<String> = fixtures::sse_frames("openai/stream_ok.sse")
        .iter()
        .map(|it| it.trim().trim_start_matches("data: ").to_owned())
        .filter(|it| it != "[DONE]")
        .collect();
    assert_eq!(
        transcript.data[..5],
        upstream_chunks[..5],
        "chunks are forwarded byte for byte"
    );

    let (_, transcript) = app
        .chat_stream(
            &json!({"model": "gpt", "stream": true, "stream_options": {"include_usage": true},
                             "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(transcript.usage().unwrap()["total_tokens"], 29);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_tool_call_arguments_are_forwarded_in_order() {
    let (app, _upstream) =
        openai_app(|_| Reply::sse(fixtures::sse_frames("openai/stream_tools.sse")).split_every(7))
            .await;
    let (status, transcript) = app
        .chat_stream(&json!({"model": "gpt", "stream": true, "messages": [{"role": "user", "content": "weather"}],
                             "tools": [{"type": "function", "function": {"name": "get_weather"}}]}))
        .await;
    assert_eq!(status, 200);
    let mut arguments = vec![String::new(), String::new()];
    for chunk in transcript.chunks() {
        for call in chunk["choices"][0]["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let index = usize::try_from(call["index"].as_u64().unwrap()).unwrap();
            arguments[index].push_str(call["function"]["arguments"].as_str().unwrap_or_default());
        }
    }
    assert_eq!(
        arguments,
        vec![r#"{"city": "Paris"}"#, r#"{"city": "Oslo"}"#]
    );
    assert_eq!(
        transcript.chunks()[4]["choices"][0]["finish_reason"],
        "tool_calls"
    );
}
