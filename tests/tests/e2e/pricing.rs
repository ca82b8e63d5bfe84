//! Every call's price: from the price book in force when it arrived (the shipped defaults, the
//! operator's lists and markup), recorded on its usage record, and told to the caller in
//! `usage.cost` and `x-request-cost`; the same whether streamed or not; unpriced models are
//! recorded as unpriced and counted, never as zero.

use domain::pricing::Money;
use it::harness::{TestApp, json_of};
use it::mock_upstream::MockUpstream;
use serde_json::{Value, json};

use crate::byok::{TENANT_SECRET, any_endpoint, owner, store_credential};
use crate::common::UPSTREAM_KEY;

fn config(url: &str) -> String {
    format!(
        r#"
[providers.mock]
kind = "mock"

[providers.openai]
kind = "openai"
base_url = "{url}/v1"
api_key = "env:UPSTREAM_KEY"

[[models]]
alias = "echo"
provider = "mock"
model = "echo-1"

[[models]]
alias = "gpt"
provider = "openai"
model = "gpt-4o-mini"

[[models]]
alias = "finetune"
provider = "openai"
model = "ft:gpt-4o-mini:acme::unlisted"

[pricing]
markup_percent = "10"

[[pricing.cost]]
provider = "mock"
model = "echo-1"
input = "1"
output = "2"
"#
    )
}

async fn app() -> (TestApp, MockUpstream) {
    let upstream = MockUpstream::start(any_endpoint).await;
    let app = TestApp::builder()
        .config(config(&upstream.url))
        .env("UPSTREAM_KEY", UPSTREAM_KEY)
        .spawn()
        .await;
    (app, upstream)
}

fn money(text: &str) -> Money {
    Money::parse(text).unwrap()
}

/// The body's `usage.cost` as its exact text (a JSON number read as `f64` would blur it).
fn told_cost(body: &str) -> Option<String> {
    let at = body.find("\"cost\":")? + "\"cost\":".len();
    let rest = &body[at..];
    let end = rest.find([',', '}'])?;
    Some(rest[..end].to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_is_priced_the_same_streamed_or_not_and_the_caller_is_told() {
    let (app, _upstream) = app().await;
    let ask = |stream: bool| {
        json!({"model": "echo", "stream": stream, "stream_options": if stream { json!({"include_usage": true}) } else { Value::Null },
               "messages": [{"role": "user", "content": "price me, exactly, to the last nano-unit"}]})
    };
    let res = app.post("/v1/chat/completions", &ask(false)).await;
    assert_eq!(res.status(), 200);
    let header = res.headers()["x-request-cost"].to_str().unwrap().to_owned();
    let body = res.text().await.unwrap();
    assert_eq!(told_cost(&body).as_deref(), Some(header.as_str()), "{body}");
    let usage: Value = serde_json::from_str::<Value>(&body).unwrap()["usage"].clone();
    let (prompt, completion) = (
        usage["prompt_tokens"].as_u64().unwrap(),
        usage["completion_tokens"].as_u64().unwrap(),
    );
    // 1 and 2 per million, plus the platform's 10 %: 1.1 and 2.2.
    let expected = Money::from_nanos(i64::try_from(prompt * 1_100 + completion * 2_200).unwrap());
    assert_eq!(money(&header), expected, "{prompt} + {completion} tokens");

    let res = app.post("/v1/chat/completions", &ask(true)).await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers().get("x-request-cost").is_none(),
        "a stream's headers leave before its price is known"
    );
    let text = res.text().await.unwrap();
    let usage_chunk = text
        .split("\n\n")
        .find(|it| it.contains("\"usage\":{"))
        .unwrap_or_else(|| panic!("no usage chunk in {text}"));
    assert_eq!(told_cost(usage_chunk).as_deref(), Some(header.as_str()));

    let records = app.usage(2).await;
    for record in &records {
        assert_eq!(record.price, Some(expected), "{record:?}");
        assert_eq!(
            record.cost,
            Some(Money::from_nanos(
                i64::try_from(prompt * 1_000 + completion * 2_000).unwrap()
            ))
        );
        assert_eq!(record.wholesale, None, "a tenant the platform bills itself");
    }
    assert!(records.iter().any(|it| it.stream) && records.iter().any(|it| !it.stream));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_defaults_price_known_models_and_unpriced_ones_are_counted_not_zeroed() {
    let (app, _upstream) = app().await;
    let res = app
        .post(
            "/v1/chat/completions",
            &json!({"model": "gpt", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    // gpt-4o-mini's default rates (0.15 and 0.6 per million) plus 10 %, for 19 and 10 tokens.
    assert_eq!(res.headers()["x-request-cost"], "0.000009735");
    let res = app
        .post(
            "/v1/chat/completions",
            &json!({"model": "finetune", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("x-request-cost").is_none());
    let body = res.text().await.unwrap();
    assert_eq!(
        told_cost(&body),
        None,
        "no price is told as none, not as 0: {body}"
    );

    let records = app.usage(2).await;
    let known = records.iter().find(|it| it.model_alias == "gpt").unwrap();
    assert_eq!(known.cost, Some(money("0.00000885")));
    assert_eq!(known.price, Some(money("0.000009735")));
    let unknown = records
        .iter()
        .find(|it| it.model_alias == "finetune")
        .unwrap();
    assert_eq!((unknown.cost, unknown.price), (None, None));
    assert_eq!(
        (unknown.prompt_tokens, unknown.completion_tokens),
        (19, 10),
        "the tokens are recorded all the same"
    );
    let metrics = app
        .client()
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("gateway_unpriced_calls_total{provider=\"openai\"} 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_on_the_tenants_own_credential_costs_the_platform_nothing() {
    let (app, upstream) = app().await;
    let (ada, tenant, key) = owner(&app, "ada@example.com").await;
    store_credential(
        &ada,
        &tenant,
        json!({"name": "o", "provider": "openai", "secret": TENANT_SECRET}),
    )
    .await;
    let ask = json!({"model": "gpt", "messages": [{"role": "user", "content": "hi"}]});
    let mut told = None;
    for _ in 0..100 {
        let res = app.post_as(&key, "/v1/chat/completions", &ask).await;
        let own =
            upstream.last().header("authorization") == Some(&format!("Bearer {TENANT_SECRET}"));
        let header = res
            .headers()
            .get("x-request-cost")
            .map(|it| it.to_str().unwrap().to_owned());
        let (status, body) = json_of(res).await;
        assert_eq!(status, 200, "{body}");
        if own {
            told = Some((header, body));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (header, body) = told.expect("the tenant's credential reached the snapshot");
    assert_eq!(header.as_deref(), Some("0"));
    assert_eq!(body["usage"]["cost"], 0);
}
