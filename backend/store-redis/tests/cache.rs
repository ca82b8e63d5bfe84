//! The shared response cache against a real Redis (`TEST_REDIS_URL`, default
//! `redis://127.0.0.1:6379`). Skips loudly without one, except under `CI=true` where it fails.

#![expect(clippy::print_stderr, reason = "a skipped test must be visible")]

use std::time::Duration;

use store::SharedCache;
use store_redis::RedisCache;

async fn connect(prefix: &str) -> Option<RedisCache> {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    match RedisCache::connect(&url, prefix).await {
        Ok(cache) => Some(cache),
        Err(e) => {
            let required = std::env::var("CI").is_ok_and(|it| it == "true" || it == "1")
                || std::env::var("SLUICE_REQUIRE_SERVICES").is_ok_and(|it| it == "1");
            assert!(
                !required,
                "Redis at {url} is required (CI) but unreachable: {e}"
            );
            eprintln!("\n!!!!!!!! SKIPPING Redis test: no server at {url} ({e}) !!!!!!!!\n");
            None
        }
    }
}

#[tokio::test]
async fn entries_are_kept_per_prefix_and_expire() {
    let prefix = format!("test-{}", uuid::Uuid::now_v7());
    let Some(cache) = connect(&prefix).await else {
        return;
    };
    let other = connect(&format!("{prefix}-other")).await.unwrap();
    assert_eq!(cache.get("k").await.unwrap(), None);
    cache
        .put("k", b"\x01binary\xff", Duration::from_millis(300))
        .await
        .unwrap();
    assert_eq!(
        cache.get("k").await.unwrap().as_deref(),
        Some(&b"\x01binary\xff"[..])
    );
    assert_eq!(
        other.get("k").await.unwrap(),
        None,
        "prefixes never share entries"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(cache.get("k").await.unwrap(), None, "expired");
}
