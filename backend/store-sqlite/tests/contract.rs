//! Runs the storage contract suite against a fresh SQLite file per test.

#![expect(clippy::unwrap_used, reason = "test set-up fails loudly")]

use store_sqlite::{Config, SqliteStore};

async fn fresh_store() -> Option<SqliteStore> {
    let dir = std::env::temp_dir().join(format!("sluice-sqlite-test-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("test.db").display());
    let store = SqliteStore::connect(&Config {
        url,
        max_connections: 4,
    })
    .await
    .unwrap();
    store.migrate().await.unwrap();
    Some(store)
}

store::store_contract_tests!(fresh_store);
