//! Throw-away databases for test suites: one fresh database per test, old ones swept.

#![expect(clippy::expect_used, reason = "test support fails loudly")]

use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Executor};

/// Test databases are named `sluice_test_<unix seconds>_<random>`; ones older than this are
/// dropped by the next test run, so crashed runs do not pile up.
const SWEEP_AFTER_SECS: u64 = 3600;

/// Where the test Postgres is: `TEST_DATABASE_URL`, or the local default.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Whether tests must fail instead of skipping when Postgres is unreachable.
pub fn required() -> bool {
    std::env::var("CI").is_ok_and(|it| it == "true" || it == "1")
        || std::env::var("SLUICE_REQUIRE_SERVICES").is_ok_and(|it| it == "1")
}

/// Creates an empty database and returns its URL, or `None` (with a loud message) when no
/// Postgres is reachable and the environment does not require one.
///
/// # Panics
/// When Postgres is unreachable and [`required`] says it must be there.
pub async fn fresh_database_url() -> Option<String> {
    let admin = admin_url();
    let options = PgConnectOptions::from_str(&admin).expect("TEST_DATABASE_URL is a valid URL");
    let pool = match PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone())
        .await
    {
        Ok(pool) => pool,
        Err(e) => {
            assert!(
                !required(),
                "Postgres at {admin} is required (CI) but unreachable: {e}"
            );
            eprintln_loud(&format!(
                "SKIPPING Postgres test: no server at {admin} ({e}); set TEST_DATABASE_URL"
            ));
            return None;
        }
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|it| it.as_secs())
        .unwrap_or(0);
    sweep_old_databases(&pool, now).await;
    let name = format!("sluice_test_{now}_{}", uuid::Uuid::now_v7().simple());
    pool.execute(format!("create database {name}").as_str())
        .await
        .expect("can create a test database");
    pool.close().await;
    Some(options.database(&name).to_url_lossy().to_string())
}

async fn sweep_old_databases(pool: &sqlx::PgPool, now: u64) {
    let names: Vec<String> =
        sqlx::query_scalar("select datname from pg_database where datname like 'sluice_test_%'")
            .fetch_all(pool)
            .await
            .unwrap_or_default();
    for name in names {
        let created = name
            .strip_prefix("sluice_test_")
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok());
        if created.is_some_and(|secs| secs + SWEEP_AFTER_SECS < now) {
            let _ = pool
                .execute(format!("drop database if exists {name} with (force)").as_str())
                .await;
        }
    }
}

#[expect(
    clippy::print_stderr,
    reason = "a skipped test must be visible in the test output"
)]
fn eprintln_loud(message: &str) {
    eprintln!("\n!!!!!!!! {message} !!!!!!!!\n");
}
