//! Several gateway processes sharing one Postgres: a change made through one reaches all.

use std::time::Duration;

use it::harness::{TestApp, eventually};
use serde_json::json;

const MOCK: &str =
    "[providers.mock]\nkind = \"mock\"\n\n[[models]]\nalias = \"mock\"\nprovider = \"mock\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_revoked_on_the_shared_store_stops_working_on_every_node_within_a_second() {
    let Some(first) = TestApp::builder().config(MOCK).postgres().try_spawn().await else {
        return;
    };
    let second = first.another_node(MOCK).await;
    let (key, secret) = first.create_key(gateway::admin::NewKey::default()).await;
    let hello = json!({"model": "mock", "messages": [{"role": "user", "content": "hi"}]});
    for node in [&first, &second] {
        assert!(
            eventually(Duration::from_secs(1), || async {
                node.post_as(&secret, "/v1/chat/completions", &hello)
                    .await
                    .status()
                    == 200
            })
            .await
        );
    }
    gateway::admin::revoke_key(first.store.as_ref(), key.id)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    for node in [&first, &second] {
        assert!(
            eventually(Duration::from_secs(1), || async {
                node.post_as(&secret, "/v1/chat/completions", &hello)
                    .await
                    .status()
                    == 401
            })
            .await
        );
    }
    assert!(started.elapsed() < Duration::from_secs(1));
    // Both nodes record usage into the same database.
    let records = first.usage(2).await;
    assert!(records.iter().all(|it| it.key_id == key.id));
}
