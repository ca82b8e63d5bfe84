//! The change bus against a real Redis (`TEST_REDIS_URL`, default `redis://127.0.0.1:6379`).
//! Skips loudly without one, except under `CI=true` where it fails.

#![expect(clippy::print_stderr, reason = "a skipped test must be visible")]
#![expect(
    clippy::disallowed_methods,
    reason = "the test drives its own listener task"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use store_redis::ChangeBus;
use tokio_util::sync::CancellationToken;

mod common;

async fn bus(prefix: &str) -> Option<ChangeBus> {
    common::connect_or_skip(|url| async move { ChangeBus::connect(&url, prefix).await }).await
}

async fn wait_until(what: &str, check: impl Fn() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn a_notice_published_by_one_node_reaches_another() {
    let prefix = format!("sluice-test-{}", uuid::Uuid::now_v7());
    let (Some(publisher), Some(listener)) = (bus(&prefix).await, bus(&prefix).await) else {
        return;
    };
    let other = bus(&format!("{prefix}-other")).await.unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let subscribed = Arc::new(AtomicUsize::new(0));
    let cancel = CancellationToken::new();
    let task = tokio::spawn({
        let (seen, subscribed, cancel) = (seen.clone(), subscribed.clone(), cancel.clone());
        async move {
            listener
                .listen(
                    move || {
                        seen.fetch_add(1, Ordering::SeqCst);
                    },
                    move || {
                        subscribed.fetch_add(1, Ordering::SeqCst);
                    },
                    cancel,
                )
                .await;
        }
    });
    wait_until("subscription", || subscribed.load(Ordering::SeqCst) == 1).await;
    // A notice on another deployment's channel is not ours.
    other.publish().await.unwrap();
    publisher.publish().await.unwrap();
    publisher.publish().await.unwrap();
    wait_until("two notices", || seen.load(Ordering::SeqCst) == 2).await;
    publisher.ping().await.unwrap();
    cancel.cancel();
    task.await.unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_not_a_hang() {
    let result = ChangeBus::connect("redis://127.0.0.1:1", "x").await;
    assert!(result.is_err());
}
