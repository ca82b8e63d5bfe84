//! What every Redis test starts with: a connection to `TEST_REDIS_URL` (default
//! `redis://127.0.0.1:6379`), or a loud skip without one (a failure under `CI=true`).

use std::future::Future;

/// Connects with `connect(url)`; `None` (after saying so) when nothing answers and no
/// service is required.
pub(crate) async fn connect_or_skip<T, E, F>(connect: impl FnOnce(String) -> F) -> Option<T>
where
    E: std::fmt::Display,
    F: Future<Output = Result<T, E>>,
{
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    match connect(url.clone()).await {
        Ok(it) => Some(it),
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
