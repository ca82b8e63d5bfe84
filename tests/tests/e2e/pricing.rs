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

/// The usage records of `tenant`, waiting (up to 5 s) for `n`.
async fn usage_of(app: &TestApp, tenant: &str, n: usize) -> Vec<domain::UsageRecord> {
    let tenant: domain::TenantId = tenant.parse().unwrap();
    for _ in 0..100 {
        let records = app.store.list_usage(tenant, 100).await.unwrap();
        if records.len() >= n {
            return records;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no {n} usage records for {tenant}");
}

/// `tokens` at `rate` nano-units per million, summed and rounded half up once.
fn charge(parts: &[(u64, i128)]) -> Money {
    let total: i128 = parts
        .iter()
        .map(|(tokens, rate)| i128::from(*tokens) * rate)
        .sum();
    Money::from_nanos(i64::try_from((total + 500_000) / 1_000_000).unwrap())
}

/// Calls `echo` with `key`: the told price and the token counts.
async fn priced_call(app: &TestApp, key: &str) -> (Money, u64, u64) {
    let res = app
        .post_as(
            key,
            "/v1/chat/completions",
            &json!({"model": "echo", "messages": [{"role": "user", "content": "how much is this one"}]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let told = money(res.headers()["x-request-cost"].to_str().unwrap());
    let (_, body) = json_of(res).await;
    (
        told,
        body["usage"]["prompt_tokens"].as_u64().unwrap(),
        body["usage"]["completion_tokens"].as_u64().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partners_rate_card_and_a_negotiated_price_are_charged_to_the_nano_unit() {
    use reqwest::{Method, StatusCode};

    let (app, _upstream) = app().await;
    let crate::partners::World {
        operator,
        admin,
        partner,
    } = crate::partners::world(&app).await;
    let (status, body) = admin
        .post(
            &format!("/api/v1/partners/{partner}/prices/markup"),
            json!({"percent": "33.33"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["percent"], "33.33");
    let (status, tenant) = admin
        .post(
            &format!("/api/v1/partners/{partner}/tenants"),
            json!({"name": "Customer One"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{tenant}");
    let tenant = tenant["id"].as_str().unwrap().to_owned();
    let (_, key) = admin
        .post(
            &format!("/api/v1/tenants/{tenant}/keys"),
            json!({"name": "app"}),
        )
        .await;
    let key = key["secret"].as_str().unwrap().to_owned();

    // Cost 1 and 2 per million; the platform's +10 %: 1.1 and 2.2 (what the partner pays);
    // the partner's +33.33 %: 1.46663 and 2.93326 (what its customer pays).
    let (told, prompt, completion) = priced_call(&app, &key).await;
    let retail = charge(&[(prompt, 1_466_630_000), (completion, 2_933_260_000)]);
    assert_eq!(told, retail);
    let record = &usage_of(&app, &tenant, 1).await[0];
    assert_eq!(record.price, Some(retail));
    assert_eq!(
        record.wholesale,
        Some(charge(&[
            (prompt, 1_100_000_000),
            (completion, 2_200_000_000)
        ]))
    );
    assert_eq!(
        record.cost,
        Some(charge(&[
            (prompt, 1_000_000_000),
            (completion, 2_000_000_000)
        ]))
    );
    let (status, list) = admin
        .get(&format!("/api/v1/tenants/{tenant}/price-list"))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let echo = list["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["model"] == "echo")
        .unwrap();
    assert_eq!(
        echo["deployments"][0]["price"],
        json!({"input": "1.46663", "output": "2.93326"})
    );

    // The operator negotiates a price for that customer: it applies at once, on every node.
    let (status, body) = operator
        .post(
            &format!("/api/v1/tenants/{tenant}/prices"),
            json!({"provider": "*", "model": "echo-1", "rates": {"input": "0.5", "output": "0.75"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["source"], "managed");
    let (told, prompt, completion) = priced_call(&app, &key).await;
    assert_eq!(
        told,
        charge(&[(prompt, 500_000_000), (completion, 750_000_000)])
    );
    let (status, list) = admin.get(&format!("/api/v1/tenants/{tenant}/prices")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["entries"].as_array().unwrap().len(), 1);
    assert_eq!(list["currency"], "USD");

    // A tenant's own members see what they pay but set nothing; the platform's lists are the
    // operators'; other partners and lists do not exist for them.
    let owner = crate::manage::Browser::join(&app, "owner@direct.example").await;
    let own = owner.create_tenant("Direct").await;
    let (status, body) = owner
        .post(
            &format!("/api/v1/tenants/{own}/prices"),
            json!({"provider": "*", "model": "echo-1", "rates": {"input": "0", "output": "0"}}),
        )
        .await;
    crate::manage::assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, list) = owner
        .get(&format!("/api/v1/tenants/{own}/price-list"))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let echo = list["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["model"] == "finetune")
        .unwrap();
    assert_eq!(
        echo["deployments"][0]["price"],
        Value::Null,
        "unpriced says so"
    );
    let (status, body) = owner.get("/api/v1/prices/cost").await;
    crate::manage::assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = owner
        .get(&format!("/api/v1/partners/{partner}/prices"))
        .await;
    crate::manage::assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (status, body) = admin.get(&format!("/api/v1/tenants/{own}/prices")).await;
    crate::manage::assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (status, body) = operator.get("/api/v1/prices/everything").await;
    crate::manage::assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (status, cost) = operator.get("/api/v1/prices/cost").await;
    assert_eq!(status, StatusCode::OK, "{cost}");
    assert!(
        cost["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|it| it["source"] == "defaults" && it["model"] == "gpt-4o-mini"),
        "the cost list shows the shipped defaults"
    );

    // Bad input changes nothing and names its field.
    let path = format!("/api/v1/tenants/{tenant}/prices");
    let line = |rates: Value, extra: Value| {
        let mut body = json!({"provider": "*", "model": "echo-1", "rates": rates});
        if let Value::Object(extra) = extra {
            body.as_object_mut().unwrap().extend(extra);
        }
        body
    };
    for (body, field) in [
        (
            line(json!({"input": "-1", "output": "1"}), json!({})),
            "rates.input",
        ),
        (
            line(json!({"input": "0.0000000001", "output": "1"}), json!({})),
            "rates.input",
        ),
        (
            line(json!({"input": "1", "output": "1e-3"}), json!({})),
            "rates.output",
        ),
        (
            line(
                json!({"input": "1", "output": "1", "reasoning": "١"}),
                json!({}),
            ),
            "rates.reasoning",
        ),
        (
            line(
                json!({"input": "1", "output": "1"}),
                json!({"effective_from": "2020-01-01T00:00:00Z"}),
            ),
            "effective_from",
        ),
        (
            json!({"provider": "", "model": "m", "rates": {"input": "1", "output": "1"}}),
            "provider",
        ),
    ] {
        let (status, problem) = operator.post(&path, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    for body in [
        line(json!({"input": 1, "output": "1"}), json!({})),
        line(
            json!({"input": "1", "output": "1", "currency": "EUR"}),
            json!({}),
        ),
        json!({"provider": "*", "model": "m"}),
    ] {
        let (status, problem) = operator.post(&path, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {problem}");
    }
    for percent in ["12.345", "-101", "ten", "1001"] {
        let (status, problem) = admin
            .post(
                &format!("/api/v1/partners/{partner}/prices/markup"),
                json!({"percent": percent}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{percent}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "percent");
    }
    let at = "2099-01-01T00:00:00Z";
    let dated = line(
        json!({"input": "1", "output": "1"}),
        json!({"effective_from": at}),
    );
    let (status, _) = operator.post(&path, dated.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = operator.post(&path, dated).await;
    crate::manage::assert_problem(status, &body, StatusCode::CONFLICT, "conflict");
    let (status, list) = admin.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        list["entries"].as_array().unwrap().len(),
        2,
        "only the two good entries were kept: {list}"
    );
    let (status, _) = operator.call(Method::DELETE, &path, None).await;
    assert_eq!(
        status,
        StatusCode::METHOD_NOT_ALLOWED,
        "a price is never deleted"
    );
    // A future price does not apply yet.
    let (told, prompt, completion) = priced_call(&app, &key).await;
    assert_eq!(
        told,
        charge(&[(prompt, 500_000_000), (completion, 750_000_000)])
    );
}
