//! Bad input gets a clear error in OpenAI's shape, with the right status, and never reaches
//! the upstream.

use it::harness::json_of;
use it::mock_upstream::Reply;
use serde_json::{Value, json};

use crate::common::openai_app;

async fn raw(
    app: &it::harness::TestApp,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (u16, Value, bool) {
    let mut req = app
        .client()
        .post(format!("{}/v1/chat/completions", app.url))
        .bearer_auth(&app.key)
        .body(body);
    if let Some(content_type) = content_type {
        req = req.header("content-type", content_type);
    }
    let res = req.send().await.unwrap();
    let has_id = res.headers().contains_key("x-request-id");
    let (status, body) = json_of(res).await;
    (status, body, has_id)
}

fn assert_error_shape(body: &Value) {
    let error = &body["error"];
    assert!(error["message"].is_string(), "{body}");
    assert!(error["type"].is_string(), "{body}");
    assert!(error.get("param").is_some(), "{body}");
    assert!(error["code"].is_string(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_are_400_naming_the_field() {
    let (app, upstream) = openai_app(|_| Reply::json("{}")).await;
    let json = Some("application/json");
    let cases: Vec<(&str, &str)> = vec![
        ("{\"model\": \"gpt\", \"messages\": [", ""),
        ("not json at all", ""),
        ("", ""),
        ("[]", ""),
        ("{\"model\": 12, \"messages\": []}", "model"),
        ("{\"messages\": []}", "model"),
        ("{\"model\": \"gpt\"}", "messages"),
        ("{\"model\": \"gpt\", \"messages\": \"hi\"}", "messages"),
        (
            "{\"model\": \"gpt\", \"messages\": [{\"role\": \"user\", \"content\": {\"x\": 1}}]}",
            "messages[0].content",
        ),
        (
            "{\"model\": \"gpt\", \"messages\": [{\"role\": \"wizard\", \"content\": \"x\"}]}",
            "messages[0].role",
        ),
        (
            "{\"model\": \"gpt\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"temperature\": \"warm\"}",
            "temperature",
        ),
        (
            "{\"model\": \"gpt\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"temperature\": 9}",
            "temperature",
        ),
        (
            "{\"model\": \"gpt\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"max_tokens\": -5}",
            "max_tokens",
        ),
        (
            "{\"model\": \"gpt\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"n\": 1.5}",
            "n",
        ),
        (
            "{\"model\": \"gpt\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"stream\": \"yes\"}",
            "stream",
        ),
        (
            "{\"model\": \"gpt\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"tools\": [{\"type\": \"function\"}]}",
            "tools[0].function",
        ),
        (
            "{\"model\": \"gpt\", \"messages\": [{\"role\": \"tool\", \"content\": \"x\"}]}",
            "messages[0].tool_call_id",
        ),
        ("{\"model\": \"gpt\", \"messages\": []}", "messages"),
    ];
    for (body, param) in cases {
        let (status, response, has_id) = raw(&app, json, body.to_owned()).await;
        assert_eq!(status, 400, "{body} → {response}");
        assert!(has_id);
        assert_error_shape(&response);
        assert_eq!(response["error"]["code"], "invalid_request", "{body}");
        assert_eq!(response["error"]["type"], "invalid_request_error");
        let got = response["error"]["param"].as_str().unwrap_or_default();
        assert_eq!(got, param, "{body} → {response}");
        if !param.is_empty() {
            assert!(
                response["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains(param),
                "{response}"
            );
        }
    }
    assert!(
        upstream.requests().is_empty(),
        "nothing invalid reaches the upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_not_declared_as_json_is_415_even_without_a_content_type() {
    let (app, upstream) =
        openai_app(|_| Reply::json(it::fixtures::text("openai/chat_ok.json"))).await;
    let body = r#"{"model": "gpt", "messages": [{"role": "user", "content": "x"}]}"#;
    // `curl -d` without `-H` sends a form type; some clients send none: both are refused, as
    // on the management API.
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let (status, response, _) = raw(&app, content_type, body).await;
        assert_eq!(
            (status, response["error"]["code"].as_str()),
            (415, Some("unsupported_media_type")),
            "{content_type:?}"
        );
        assert_error_shape(&response);
    }
    assert!(upstream.requests().is_empty());
    for content_type in ["application/json; charset=utf-8", "application/vnd.x+json"] {
        let (status, _, _) = raw(&app, Some(content_type), body).await;
        assert_eq!(status, 200, "{content_type}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_nested_too_deeply_is_400_saying_so() {
    let (app, upstream) = openai_app(|_| Reply::json("{}")).await;
    let deep = format!(
        r#"{{"model": "gpt", "messages": [{{"role": "user", "content": "x"}}], "x_nested": {}{}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    let (status, response, _) = raw(&app, Some("application/json"), deep).await;
    assert_eq!(status, 400, "{response}");
    assert_eq!(response["error"]["code"], "invalid_request");
    let message = response["error"]["message"].as_str().unwrap();
    assert!(message.contains("nested too deeply"), "{message}");
    assert!(!message.contains("not valid JSON"), "{message}");
    assert!(upstream.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_are_413_without_being_read() {
    let upstream = it::mock_upstream::MockUpstream::start(|_| Reply::json("{}")).await;
    let app = it::harness::TestApp::builder()
        .config(crate::common::openai_config(&upstream.url))
        .env("UPSTREAM_KEY", "k")
        .env("SLUICE_MAX_BODY_BYTES", "65536")
        .spawn()
        .await;
    let huge = format!(
        r#"{{"model": "gpt", "messages": [{{"role": "user", "content": "{}"}}]}}"#,
        "a".repeat(200_000)
    );
    let (status, response, _) = raw(&app, Some("application/json"), huge.clone()).await;
    assert_eq!(
        (status, response["error"]["code"].as_str()),
        (413, Some("payload_too_large"))
    );
    // Without a content-length (chunked), the limit holds too.
    let stream = futures_util::stream::iter(
        huge.into_bytes()
            .chunks(4096)
            .map(|it| Ok::<_, std::io::Error>(it.to_vec()))
            .collect::<Vec<_>>(),
    );
    let (status, _, _) = raw(
        &app,
        Some("application/json"),
        reqwest::Body::wrap_stream(stream),
    )
    .await;
    assert_eq!(status, 413);
    assert!(upstream.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_models_paths_and_methods_have_their_own_errors() {
    let (app, _upstream) = openai_app(|_| Reply::json("{}")).await;
    let (status, body) = app
        .chat(&json!({"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]}))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("model_not_found"))
    );
    assert_eq!(body["error"]["param"], "model");
    let long = "x".repeat(10_000);
    let (status, body) = app
        .chat(&json!({"model": long, "messages": [{"role": "user", "content": "x"}]}))
        .await;
    assert_eq!(status, 404);
    assert!(
        body["error"]["message"].as_str().unwrap().len() < 500,
        "client input is not echoed unbounded"
    );

    let res = app.get("/v1/chat/completions").await;
    assert_eq!(res.status(), 405);
    assert!(res.headers().contains_key("x-request-id"));
    assert_eq!(res.headers()["allow"], "POST");
    let (_, body) = json_of(res).await;
    assert_eq!(body["error"]["code"], "method_not_allowed");
    // Every other method a path does not answer, TRACE included, is 405 with `Allow` too.
    for (method, path, allow) in [
        ("TRACE", "/v1/models", "GET"),
        ("DELETE", "/healthz", "GET"),
        ("POST", "/.well-known/jwks.json", "GET"),
    ] {
        let res = app
            .client()
            .request(method.parse().unwrap(), format!("{}{path}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "{method} {path}");
        assert_eq!(res.headers()["allow"], allow, "{method} {path}");
    }
    let (status, body) = json_of(app.get("/v1/nothing/here").await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unicode_everywhere_is_fine() {
    let (app, upstream) =
        openai_app(|_| Reply::json(it::fixtures::text("openai/chat_ok.json"))).await;
    let text = "héllo 租户 🦀 \u{202e} \\u0000 \"quoted\"";
    let (status, _) = app
        .chat(&json!({"model": "gpt", "user": "ユーザー", "messages": [{"role": "user", "content": text, "name": "名前"}]}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(upstream.last().json()["messages"][0]["content"], text);
}
