//! Runs the storage contract suite against a fresh Postgres database per test.
//!
//! Needs a server at `TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! without one the tests skip loudly, except under `CI=true` where they fail.

#![expect(clippy::unwrap_used, reason = "test set-up fails loudly")]

use store_pg::{Config, PgStore};

async fn fresh_store() -> Option<PgStore> {
    let url = store_pg::testing::fresh_database_url().await?;
    let store = PgStore::connect(&Config {
        url,
        max_connections: 8,
    })
    .await
    .unwrap();
    store.migrate().await.unwrap();
    Some(store)
}

store::store_contract_tests!(fresh_store);
