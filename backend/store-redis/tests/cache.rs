//! The shared response cache against a real Redis (`TEST_REDIS_URL`, default
//! `redis://127.0.0.1:6379`). Skips loudly without one, except under `CI=true` where it fails.

#![expect(clippy::print_stderr, reason = "a skipped test must be visible")]

use std::time::Duration;

use store::SharedCache;
use store_redis::RedisCache;

mod common;

async fn connect(prefix: &str) -> Option<RedisCache> {
    common::connect_or_skip(|url| async move { RedisCache::connect(&url, prefix).await }).await
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
