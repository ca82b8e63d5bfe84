//! The portal's API explorer: a signed-in person mints a five-minute data-plane token for a
//! tenant, calls models with it (plain and streamed), and the calls are recorded under that
//! person, named on the dashboard. Roles that may not call models, outsiders, tampered tokens,
//! removed members and suspended tenants are refused.

use base64::Engine;
use it::harness::{TestApp, eventually, json_of};
use it::sse::Transcript;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

use crate::manage::{Browser, assert_problem};

const CONFIG: &str = r#"
[providers.mock]
kind = "mock"

[[models]]
alias = "mock"
provider = "mock"

[[models]]
alias = "other"
provider = "mock"
"#;

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn mint(browser: &Browser, tenant: &str) -> (StatusCode, Value) {
    browser
        .post(
            &format!("/api/v1/tenants/{tenant}/explorer/token"),
            json!({}),
        )
        .await
}

async fn chat(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.client()
        .post(format!("{}/v1/chat/completions", app.url))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_in_member_calls_models_from_the_explorer_and_the_calls_are_theirs() {
    let app = TestApp::builder().config(CONFIG).spawn().await;
    // The first account is the platform operator; the owner below reaches the tenant only as
    // a member.
    Browser::join(&app, "operator@platform.example").await;
    let owner = Browser::join(&app, "owner@explore.example").await;
    let tenant = owner.create_tenant("Explorers").await;

    let (status, body) = mint(&owner, &tenant).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    let token = body["access_token"].as_str().unwrap().to_owned();
    let said = claims(&token);
    assert_eq!(said["kind"], "explorer");
    assert_eq!(said["tenant"], tenant.as_str());
    let user_id = owner.get("/api/v1/me").await.1["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(said["sub"], user_id.as_str());
    assert_eq!(
        said["exp"].as_i64().unwrap() - said["iat"].as_i64().unwrap(),
        300
    );

    // The model picker's list, a plain call and a streamed call with usage.
    let res = app
        .client()
        .get(format!("{}/v1/models", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let (status, models) = json_of(res).await;
    assert_eq!(status, 200, "{models}");
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"mock") && ids.contains(&"other"), "{ids:?}");
    let hello = json!({"model": "mock", "messages": [{"role": "user", "content": "héllo 👋"}]});
    let (status, answer) = json_of(chat(&app, &token, &hello).await).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    let mut streamed = hello.clone();
    streamed["stream"] = json!(true);
    streamed["stream_options"] = json!({"include_usage": true});
    let res = chat(&app, &token, &streamed).await;
    assert_eq!(res.status(), 200);
    let transcript = Transcript::parse(&res.text().await.unwrap());
    assert_eq!(transcript.data.last().map(String::as_str), Some("[DONE]"));
    assert!(
        transcript
            .chunks()
            .iter()
            .any(|it| it["usage"]["completion_tokens"]
                .as_u64()
                .is_some_and(|n| n > 0)),
        "{:?}",
        transcript.data
    );

    // Recorded under the person, and named so on the dashboard.
    let records_path = format!("/api/v1/tenants/{tenant}/usage/records?limit=10");
    assert!(
        eventually(Duration::from_secs(5), || async {
            owner.get(&records_path).await.1.as_array().map(Vec::len) == Some(2)
        })
        .await
    );
    let (_, records) = owner.get(&records_path).await;
    for record in records.as_array().unwrap() {
        assert_eq!(record["key_id"], user_id.as_str(), "{record}");
        assert_eq!(record["key_label"], "Explorer · owner@explore.example");
        assert_eq!(record["status"], "ok");
    }
    let (_, by_key) = owner
        .get(&format!(
            "/api/v1/tenants/{tenant}/usage/summary?group_by=key"
        ))
        .await;
    assert_eq!(by_key["groups"][0]["key"], user_id.as_str());
    assert_eq!(
        by_key["groups"][0]["label"],
        "Explorer · owner@explore.example"
    );
    assert_eq!(by_key["groups"][0]["requests"], 2);
    let (_, by_model) = owner
        .get(&format!("/api/v1/tenants/{tenant}/usage/summary"))
        .await;
    assert_eq!(by_model["groups"][0]["label"], "mock");

    // Minting is in the audit trail.
    let (_, audit) = owner
        .get(&format!(
            "/api/v1/tenants/{tenant}/audit-events?action=explorer."
        ))
        .await;
    assert_eq!(
        audit["items"][0]["action"], "explorer.token_issue",
        "{audit}"
    );

    // Data-plane errors keep the OpenAI shape for the explorer to show.
    let (status, body) = json_of(
        chat(
            &app,
            &token,
            &json!({"model": "nope", "messages": [{"role": "user", "content": "x"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "model_not_found");

    // The token is for the data plane only: the management API does not take it.
    let res = app
        .client()
        .get(format!("{}/api/v1/tenants/{tenant}", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explorer_tokens_are_refused_to_the_wrong_people_and_when_tampered_with() {
    let app = TestApp::builder().config(CONFIG).spawn().await;
    let owner = Browser::join(&app, "owner@explore.example").await;
    let tenant = owner.create_tenant("Explorers").await;
    let stranger = Browser::join(&app, "stranger@elsewhere.example").await;
    let theirs = stranger.create_tenant("Elsewhere").await;

    // Someone else's tenant does not exist for them; no session, no token.
    let (status, body) = mint(&stranger, &tenant).await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (status, body) = mint(&Browser::new(&app), &tenant).await;
    assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthenticated");
    let (status, body) = mint(&owner, "not-a-uuid").await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");

    // A token names one tenant: swapping the tenant claim breaks the signature.
    let (_, body) = mint(&owner, &tenant).await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut forged = claims(&token);
    forged["tenant"] = json!(theirs);
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&forged).unwrap());
    let hello = json!({"model": "mock", "messages": [{"role": "user", "content": "hi"}]});
    let (status, body) = json_of(chat(&app, &parts.join("."), &hello).await).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "invalid_api_key");

    // A member's explorer token follows their membership.
    let (status, invitation) = owner
        .post(
            &format!("/api/v1/tenants/{tenant}/invitations"),
            json!({"email": "dev@explore.example", "role": "developer"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invitation}");
    let invite_token = invitation["url"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_owned();
    let dev = Browser::join(&app, "dev@explore.example").await;
    let (status, _) = dev
        .post("/api/v1/invitations/accept", json!({"token": invite_token}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = mint(&dev, &tenant).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let dev_token = body["access_token"].as_str().unwrap().to_owned();
    let dev_id = dev.get("/api/v1/me").await.1["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(chat(&app, &dev_token, &hello).await.status(), 200);

    // Demoted to a role that may not call models: the token in hand stops at once (management
    // changes wait for this node's snapshot), and no new one is minted.
    let member_path = format!("/api/v1/tenants/{tenant}/members/{dev_id}");
    let (status, body) = owner
        .call(
            reqwest::Method::PATCH,
            &member_path,
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert!(status.is_success(), "{status}: {body}");
    let (status, body) = json_of(chat(&app, &dev_token, &hello).await).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "invalid_api_key");
    let (status, body) = mint(&dev, &tenant).await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = owner
        .call(
            reqwest::Method::PATCH,
            &member_path,
            Some(json!({"role": "developer"})),
        )
        .await;
    assert!(status.is_success(), "{status}: {body}");
    assert_eq!(chat(&app, &dev_token, &hello).await.status(), 200);

    let (status, body) = owner
        .call(reqwest::Method::DELETE, &member_path, None)
        .await;
    assert!(status.is_success(), "{status}: {body}");
    let (status, body) = mint(&dev, &tenant).await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(chat(&app, &dev_token, &hello).await.status(), 401);

    // A suspended tenant: no new tokens, and the ones out there stop working.
    gateway::admin::set_tenant_status(
        app.store.as_ref(),
        tenant.parse().unwrap(),
        domain::TenantStatus::Suspended,
    )
    .await
    .unwrap();
    app.gateway.access.reload(app.store.as_ref()).await.unwrap();
    let (status, body) = mint(&owner, &tenant).await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = json_of(chat(&app, &token, &hello).await).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "tenant_suspended");
}
