//! Runs the storage contract suite against a fresh SQLite file per test, and checks what the
//! domain-proof migration makes of older rows.

#![expect(clippy::unwrap_used, reason = "test set-up fails loudly")]

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use store::PartnerStore;
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

/// Domains stored before proofs existed become pending claims, each with its own challenge:
/// nothing recorded whether they were ever proved (ARCHITECTURE.md, decisions).
#[tokio::test]
async fn domains_from_before_proofs_become_pending_claims() {
    let dir = std::env::temp_dir().join(format!("sluice-sqlite-test-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("old.db").display());
    let raw = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::from_str(&url)
                .unwrap()
                .create_if_missing(true),
        )
        .await
        .unwrap();
    let partner = domain::PartnerId::new();
    let migrations =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/sqlite");
    let mut files: Vec<_> = std::fs::read_dir(migrations)
        .unwrap()
        .map(|it| it.unwrap().path())
        .collect();
    files.sort();
    let mut old_rows = false;
    for file in files {
        if !old_rows && *file.file_name().unwrap().to_string_lossy() >= *"20261206000000" {
            old_rows = true;
            let branding =
                serde_json::to_string(&domain::partner::Branding::platform("Old")).unwrap();
            sqlx::query("insert into partners (id, name, branding, key_prefix, created_at) values ($1, 'Old', $2, 'sk-old', 0)")
                .bind(partner.to_string())
                .bind(branding)
                .execute(&raw)
                .await
                .unwrap();
            for host in ["a.old.example", "b.old.example"] {
                sqlx::query(
                    "insert into partner_domains (host, partner_id, created_at) values ($1, $2, 1)",
                )
                .bind(host)
                .bind(partner.to_string())
                .execute(&raw)
                .await
                .unwrap();
            }
        }
        let sql = std::fs::read_to_string(&file).unwrap();
        sqlx::raw_sql(&sql).execute(&raw).await.unwrap();
    }
    raw.close().await;
    let store = SqliteStore::connect(&Config {
        url,
        max_connections: 1,
    })
    .await
    .unwrap();
    let domains = store.get_partner(partner).await.unwrap().domains;
    assert_eq!(
        domains
            .iter()
            .map(|it| (it.host.as_str(), it.is_verified()))
            .collect::<Vec<_>>(),
        [("a.old.example", false), ("b.old.example", false)]
    );
    assert!(
        domains
            .iter()
            .all(|it| it.challenge.len() == 32
                && it.challenge.bytes().all(|b| b.is_ascii_hexdigit())),
        "{domains:?}"
    );
    assert_ne!(domains[0].challenge, domains[1].challenge);
    assert_eq!(store.partner_by_host("a.old.example").await.unwrap(), None);
}
