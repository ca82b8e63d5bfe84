//! Prepaid credit: a tenant set to stop at zero is refused a call its balance cannot cover (the
//! call's most possible price), topped up it is served again, a top-up sent twice counts once,
//! and the balance is the top-ups less what calls were charged and the bill's corrections; on
//! the node's own counters and on Redis's. Who may set and top up; bad top-ups by field.

use std::time::Duration;

use domain::pricing::Money;
use reqwest::StatusCode;
use serde_json::{Value, json};

use it::harness::{TestApp, eventually};

use crate::isolation::invite;
use crate::manage::{Browser, assert_problem};

/// The mock model priced: a call of `max_tokens` 100 000 may cost 0.25 or more, one of 5
/// tokens a few millionths.
const CONFIG: &str = r#"
[providers.mock]
kind = "mock"

[[models]]
alias = "mock"
provider = "mock"
model = "echo-1"

[[pricing.cost]]
provider = "mock"
model = "echo-1"
input = "1.25"
output = "2.5"
"#;

async fn call(app: &TestApp, key: &str, max_tokens: u32) -> (u16, Value) {
    let res = app
        .post_as(
            key,
            "/v1/chat/completions",
            &json!({"model": "mock", "max_tokens": max_tokens,
                    "messages": [{"role": "user", "content": "spend"}]}),
        )
        .await;
    let status = res.status().as_u16();
    let retry = res
        .headers()
        .get("x-should-retry")
        .map(|it| it.to_str().unwrap().to_owned());
    let mut body: Value = res.json().await.unwrap_or(Value::Null);
    body["x-should-retry"] = json!(retry);
    (status, body)
}

async fn balance(operator: &Browser, tenant: &str) -> Money {
    let (status, credit) = operator
        .get(&format!("/api/v1/tenants/{tenant}/billing/credit"))
        .await;
    assert_eq!(status, StatusCode::OK, "{credit}");
    Money::parse(credit["balance"].as_str().unwrap()).unwrap()
}

async fn stops_at_zero_and_serves_again_once_topped_up(config: String) {
    let app = TestApp::builder().config(config).spawn().await;
    let operator = Browser::join(&app, "ops@example.com").await;
    let tenant = operator.create_tenant("Prepaid").await;
    let (_, key) = operator
        .post(
            &format!("/api/v1/tenants/{tenant}/keys"),
            json!({"name": "k"}),
        )
        .await;
    let key = key["secret"].as_str().unwrap().to_owned();
    let credit = format!("/api/v1/tenants/{tenant}/billing/credit");
    let top_ups = format!("{credit}/top-ups");

    // Billed afterwards by default: calls are served.
    let (_, view) = operator.get(&credit).await;
    assert_eq!(view["prepaid"], false, "{view}");
    assert_eq!(call(&app, &key, 5).await.0, 200);

    // Stop at zero with nothing paid in (and a call already charged): refused, not retried.
    let (status, view) = operator.put(&credit, json!({"stop_at_zero": true})).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(
        (view["prepaid"].clone(), view["stop_at_zero"].clone()),
        (json!(true), json!(true))
    );
    assert!(
        eventually(Duration::from_secs(10), || async {
            call(&app, &key, 5).await.0 == 429
        })
        .await,
        "every node refuses once it loads the account"
    );
    let (_, refused) = call(&app, &key, 5).await;
    assert_eq!(refused["error"]["code"], "insufficient_quota", "{refused}");
    assert_eq!(refused["x-should-retry"], "false");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("prepaid credit"),
        "{refused}"
    );

    // Topped up: served again, and the same top-up sent twice counts once.
    let body = json!({"amount": "0.05", "reference": "wire-42", "reason": "first payment"});
    let (status, first) = operator.post(&top_ups, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["added"], true);
    let (status, again) = operator.post(&top_ups, body).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["added"], false);
    assert_eq!(again["top_up"]["id"], first["top_up"]["id"]);
    assert!(
        eventually(Duration::from_secs(10), || async {
            call(&app, &key, 5).await.0 == 200
        })
        .await,
        "served once topped up"
    );
    // A call whose most possible price the balance cannot cover is refused; a small one passes.
    let (status, big) = call(&app, &key, 100_000).await;
    assert_eq!(status, 429, "{big}");
    assert_eq!(big["error"]["code"], "insufficient_quota");
    assert_eq!(call(&app, &key, 5).await.0, 200);

    // The balance is the top-up less what calls were charged (the first call too).
    assert!(
        eventually(Duration::from_secs(10), || async {
            let left = balance(&operator, &tenant).await;
            left < Money::parse("0.05").unwrap() && left > Money::ZERO
        })
        .await,
        "calls draw the credit down"
    );
    let (_, view) = operator.get(&credit).await;
    assert_eq!(view["top_ups"].as_array().unwrap().len(), 1, "{view}");
    assert_eq!(view["top_ups"][0]["reference"], "wire-42");

    // A correction charging more overdraws it: once the balance is worked out again (here by
    // changing the setting), calls stop.
    // Added while the calls above are being written: the ledger's writer and a correction
    // share the database (on SQLite, a transaction that read first lost the race for the write
    // lock with a 500 here once).
    let (status, body) = operator
        .post(
            &format!("/api/v1/tenants/{tenant}/billing/adjustments"),
            json!({"kind": "adjustment", "amount": "1", "reason": "setup fee"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    operator.put(&credit, json!({"stop_at_zero": true})).await;
    assert!(balance(&operator, &tenant).await < Money::ZERO);
    assert!(
        eventually(Duration::from_secs(10), || async {
            call(&app, &key, 5).await.0 == 429
        })
        .await,
        "an overdrawn tenant is refused"
    );
    // Not stopping at zero: served, overdrawn.
    operator.put(&credit, json!({"stop_at_zero": false})).await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            call(&app, &key, 5).await.0 == 200
        })
        .await,
        "served when it does not stop at zero"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepaid_credit_stops_at_zero_on_the_nodes_own_counters() {
    stops_at_zero_and_serves_again_once_topped_up(CONFIG.to_owned()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepaid_credit_stops_at_zero_on_redis() {
    let redis = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("it-{}", uuid::Uuid::now_v7());
    stops_at_zero_and_serves_again_once_topped_up(format!(
        "{CONFIG}\n[redis]\nurl = \"{redis}\"\nprefix = \"{prefix}\"\n"
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_bill_writers_top_up_and_bad_top_ups_are_refused_by_field() {
    let app = TestApp::builder().config(CONFIG).spawn().await;
    let operator = Browser::join(&app, "ops@example.com").await;
    let tenant = operator.create_tenant("Prepaid").await;
    let credit = format!("/api/v1/tenants/{tenant}/billing/credit");
    let top_ups = format!("{credit}/top-ups");
    for (body, field) in [
        (json!({"amount": "0", "reason": "x"}), "amount"),
        (json!({"amount": "-5", "reason": "x"}), "amount"),
        (json!({"amount": "1e3", "reason": "x"}), "amount"),
        (json!({"amount": "0.0000000001", "reason": "x"}), "amount"),
        (json!({"amount": "1000000001", "reason": "x"}), "amount"),
        (json!({"amount": 5, "reason": "x"}), "amount"),
        (
            json!({"amount": "5", "currency": "EUR", "reason": "x"}),
            "currency",
        ),
        (
            json!({"amount": "5", "reference": "a b", "reason": "x"}),
            "reference",
        ),
        (
            json!({"amount": "5", "reference": "", "reason": "x"}),
            "reference",
        ),
        (json!({"amount": "5", "reason": " "}), "reason"),
        (json!({"amount": "5", "reason": "x", "paid": true}), "paid"),
    ] {
        let (status, problem) = operator.post(&top_ups, body.clone()).await;
        assert_problem(status, &problem, StatusCode::BAD_REQUEST, "invalid_request");
        assert!(problem.to_string().contains(field), "{body}: {problem}");
    }
    for (body, field) in [
        (json!({}), "stop_at_zero"),
        (json!({"stop_at_zero": "yes"}), "stop_at_zero"),
    ] {
        let (status, problem) = operator.put(&credit, body.clone()).await;
        assert_problem(status, &problem, StatusCode::BAD_REQUEST, "invalid_request");
        assert!(problem.to_string().contains(field), "{body}: {problem}");
    }
    let (_, view) = operator.get(&credit).await;
    assert_eq!(view["top_ups"], json!([]), "nothing was added");
    assert_eq!(view["prepaid"], false);

    // Many at once (each works the balance out again): none fails, each reference counts once.
    let settings = (0..6).map(|i| operator.put(&credit, json!({"stop_at_zero": i % 2 == 0})));
    for (status, body) in futures_util::future::join_all(settings).await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let top_up = |i: usize| {
        operator.post(
            &top_ups,
            json!({"amount": "1", "reference": format!("ref-{}", i % 3), "reason": "rush"}),
        )
    };
    for (status, body) in futures_util::future::join_all((0..9).map(top_up)).await {
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{status}: {body}"
        );
    }
    let (_, view) = operator.get(&credit).await;
    assert_eq!(view["top_ups"].as_array().unwrap().len(), 3, "{view}");
    assert_eq!(view["balance"], "3");

    // Finance reads the credit; no member tops up or changes it; a developer sees nothing.
    let finance = invite(&operator, &app, &tenant, "finance@example.com", "finance").await;
    let developer = invite(&operator, &app, &tenant, "dev@example.com", "developer").await;
    let (status, _) = finance.get(&credit).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = finance
        .post(&top_ups, json!({"amount": "5", "reason": "mine"}))
        .await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = finance.put(&credit, json!({"stop_at_zero": false})).await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = developer.get(&credit).await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = operator
        .get(&format!(
            "/api/v1/tenants/{}/billing/credit",
            uuid::Uuid::nil()
        ))
        .await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
}
