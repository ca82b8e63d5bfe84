//! Authentication on the data plane: which keys work, where from, and for which models.

use std::time::Duration;

use gateway::admin::NewKey;
use it::harness::{eventually, json_of};
use it::mock_upstream::Reply;
use serde_json::json;

use crate::common::{mock_app, openai_app};

fn hello() -> serde_json::Value {
    json!({"model": "mock", "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_accepted_from_bearer_and_x_api_key_and_refused_otherwise() {
    let app = mock_app().await;
    let url = format!("{}/v1/chat/completions", app.url);
    let res = app
        .client()
        .post(&url)
        .header("x-api-key", &app.key)
        .json(&hello())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let (status, body) =
        json_of(app.client().post(&url).json(&hello()).send().await.unwrap()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("missing_api_key"))
    );
    assert_eq!(body["error"]["type"], "authentication_error");
    for bad in [
        "sk-sluice-nope",
        "",
        " ",
        &app.key[..app.key.len() - 1],
        &format!("{}x", app.key),
    ] {
        let res = app
            .client()
            .post(&url)
            .bearer_auth(bad)
            .json(&hello())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{bad:?}");
    }
    let (status, body) = json_of(
        app.client()
            .post(&url)
            .basic_auth("u", Some(&app.key))
            .json(&hello())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("missing_api_key"))
    );
    // Authentication comes before body parsing: no diagnostics for strangers.
    let (status, _) = json_of(
        app.client()
            .post(&url)
            .bearer_auth("wrong")
            .body("{not json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_stops_working_within_a_second() {
    let app = mock_app().await;
    let (key, secret) = app.create_key(NewKey::default()).await;
    let works = |secret: String| {
        let app = &app;
        async move {
            app.post_as(&secret, "/v1/chat/completions", &hello())
                .await
                .status()
                .as_u16()
        }
    };
    assert!(
        eventually(Duration::from_secs(1), || async {
            works(secret.clone()).await == 200
        })
        .await,
        "a new key works within a second"
    );
    let started = std::time::Instant::now();
    gateway::admin::revoke_key(app.store.as_ref(), key.id)
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(1), || async {
            works(secret.clone()).await == 401
        })
        .await
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(works(app.key.clone()).await, 200, "other keys still work");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_keys_and_suspended_tenants_are_refused() {
    let app = mock_app().await;
    let (_, secret) = app
        .create_key(NewKey {
            expires_at: Some(time::OffsetDateTime::now_utc() + time::Duration::seconds(1)),
            ..NewKey::default()
        })
        .await;
    assert!(
        eventually(Duration::from_secs(1), || async {
            app.post_as(&secret, "/v1/chat/completions", &hello())
                .await
                .status()
                == 200
        })
        .await
    );
    assert!(
        eventually(Duration::from_secs(3), || async {
            app.post_as(&secret, "/v1/chat/completions", &hello())
                .await
                .status()
                == 401
        })
        .await
    );

    gateway::admin::set_tenant_status(
        app.store.as_ref(),
        app.tenant,
        domain::TenantStatus::Suspended,
    )
    .await
    .unwrap();
    assert!(
        eventually(Duration::from_secs(1), || async {
            let (status, body) = json_of(app.post("/v1/chat/completions", &hello()).await).await;
            status == 403 && body["error"]["code"] == "tenant_suspended"
        })
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_scopes_limit_calls_and_listings() {
    let (app, upstream) =
        openai_app(|_| Reply::json(it::fixtures::text("openai/chat_ok.json"))).await;
    let (_, scoped) = app
        .create_key(NewKey {
            allowed_models: vec!["embed".into()],
            ..NewKey::default()
        })
        .await;
    assert!(
        eventually(Duration::from_secs(1), || async {
            app.client()
                .get(format!("{}/v1/models", app.url))
                .bearer_auth(&scoped)
                .send()
                .await
                .unwrap()
                .status()
                == 200
        })
        .await
    );
    let (status, body) = json_of(
        app.post_as(
            &scoped,
            "/v1/chat/completions",
            &json!({"model": "gpt", "messages": [{"role": "user", "content": "x"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("model_not_allowed"))
    );
    assert_eq!(body["error"]["type"], "permission_error");
    assert!(upstream.requests().is_empty());

    let (status, list) = json_of(
        app.client()
            .get(format!("{}/v1/models", app.url))
            .bearer_auth(&scoped)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["object"], "list");
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["embed"]);
    let (status, _) = json_of(
        app.client()
            .get(format!("{}/v1/models/gpt", app.url))
            .bearer_auth(&scoped)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        status, 404,
        "a scoped key does not learn about other models"
    );

    let (status, all) = json_of(app.get("/v1/models").await).await;
    assert_eq!(status, 200);
    assert_eq!(all["data"].as_array().unwrap().len(), 2);
    let (status, one) = json_of(app.get("/v1/models/gpt").await).await;
    assert_eq!(status, 200);
    assert_eq!(one["id"], "gpt");
    assert_eq!(one["object"], "model");
    assert_eq!(one["owned_by"], "openai");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_and_network_scopes_are_enforced() {
    let app = mock_app().await;
    let audit = || {
        domain::AuditEntry::new(
            Some(app.tenant),
            domain::Actor::cli(),
            "key.update",
            time::OffsetDateTime::now_utc(),
        )
    };
    let (mut embeddings_key, embeddings_secret) = app.create_key(NewKey::default()).await;
    embeddings_key.scopes.endpoints = vec!["embeddings".into()];
    app.store
        .update_key(app.tenant, &embeddings_key, &audit())
        .await
        .unwrap();
    let (mut office_key, office_secret) = app.create_key(NewKey::default()).await;
    office_key.scopes.ip_allowlist = vec!["10.0.0.0/8".parse().unwrap()];
    app.store
        .update_key(app.tenant, &office_key, &audit())
        .await
        .unwrap();
    let (mut local_key, local_secret) = app.create_key(NewKey::default()).await;
    local_key.scopes.ip_allowlist =
        vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
    app.store
        .update_key(app.tenant, &local_key, &audit())
        .await
        .unwrap();

    assert!(
        eventually(Duration::from_secs(1), || async {
            let (status, body) = json_of(
                app.post_as(&office_secret, "/v1/chat/completions", &hello())
                    .await,
            )
            .await;
            status == 403 && body["error"]["code"] == "ip_not_allowed"
        })
        .await,
        "a key limited to 10.0.0.0/8 is refused from 127.0.0.1"
    );
    assert_eq!(
        app.post_as(&local_secret, "/v1/chat/completions", &hello())
            .await
            .status(),
        200
    );

    let (status, body) = json_of(
        app.post_as(&embeddings_secret, "/v1/chat/completions", &hello())
            .await,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("endpoint_not_allowed"))
    );
    assert_eq!(body["error"]["type"], "permission_error");
    let res = app
        .post_as(
            &embeddings_secret,
            "/v1/embeddings",
            &json!({"model": "mock", "input": "hello"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .client()
        .get(format!("{}/v1/models", app.url))
        .bearer_auth(&embeddings_secret)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        403,
        "listing models is an endpoint of its own"
    );
}
