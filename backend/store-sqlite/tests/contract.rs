//! Runs the storage contract suite against a fresh SQLite file per test, and checks what the
//! domain-proof and usage-attempts migrations make of older rows.

#![expect(clippy::unwrap_used, reason = "test set-up fails loudly")]

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use store::{PartnerStore, UsageStore};
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

/// Failed tries are stored as a compact JSON array, and as `NULL` when there are none: for a
/// call answered at its first try, and for every row from before the column existed.
#[tokio::test]
async fn usage_without_failed_tries_stores_null_attempts() {
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
    let tenant = domain::TenantId::new();
    let old = domain::UsageId::new();
    let migrations =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/sqlite");
    let mut files: Vec<_> = std::fs::read_dir(migrations)
        .unwrap()
        .map(|it| it.unwrap().path())
        .collect();
    files.sort();
    let mut old_rows = false;
    for file in files {
        if !old_rows && *file.file_name().unwrap().to_string_lossy() >= *"20261207000000" {
            old_rows = true;
            sqlx::query(OLD_USAGE_ROW)
                .bind(tenant.to_string())
                .bind(old.to_string())
                .bind(domain::RequestId::new().to_string())
                .bind(domain::ApiKeyId::new().to_string())
                .execute(&raw)
                .await
                .unwrap();
        }
        let sql = std::fs::read_to_string(&file).unwrap();
        sqlx::raw_sql(&sql).execute(&raw).await.unwrap();
    }
    let store = SqliteStore::connect(&Config {
        url,
        max_connections: 1,
    })
    .await
    .unwrap();
    let key = domain::ApiKeyId::new();
    let first_try = store::contract::usage(tenant, key, store::contract::now());
    let mut failed_over = store::contract::usage(tenant, key, store::contract::now());
    failed_over.attempts = vec![domain::UsageAttempt {
        deployment: "east".into(),
        http_status: 503,
        error_code: "upstream_unavailable".into(),
        latency_ms: 12,
    }];
    store
        .insert_usage(&[first_try.clone(), failed_over.clone()])
        .await
        .unwrap();
    let column = |id: String| {
        sqlx::query_scalar::<_, Option<String>>("select attempts from usage_records where id = $1")
            .bind(id)
            .fetch_one(&raw)
    };
    assert_eq!(column(old.to_string()).await.unwrap(), None);
    assert_eq!(column(first_try.id.to_string()).await.unwrap(), None);
    assert_eq!(
        column(failed_over.id.to_string()).await.unwrap().as_deref(),
        Some(
            r#"[{"deployment":"east","http_status":503,"error_code":"upstream_unavailable","latency_ms":12}]"#
        )
    );
    let listed = store.list_usage(tenant, 10).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert!(
        listed
            .iter()
            .all(|it| it.attempts.is_empty() == (it.id != failed_over.id)),
        "{listed:?}"
    );
}

/// A usage row as the schema before `attempts` held it.
const OLD_USAGE_ROW: &str = "insert into usage_records (tenant_id, id, request_id, key_id, \
    endpoint, model_alias, provider, upstream_model, stream, prompt_tokens, completion_tokens, \
    cached_tokens, cache_write_tokens, reasoning_tokens, estimated, raw_usage, status, \
    http_status, error_code, latency_ms, ttft_ms, created_at) values ($1, $2, $3, $4, \
    'chat.completions', 'gpt', 'openai', 'gpt-4o-mini', false, 10, 2, 0, 0, 0, false, null, \
    'ok', 200, null, 30, null, 0)";

/// Records written before rollups existed are folded into them once, when the database is
/// migrated: the dashboard of a tenant with old traffic shows all of it.
#[tokio::test]
async fn records_from_before_rollups_are_folded_once() {
    use domain::rollup::Grain;
    let dir = std::env::temp_dir().join(format!("sluice-sqlite-test-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("old.db").display());
    let store = SqliteStore::connect(&Config {
        url: url.clone(),
        max_connections: 2,
    })
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let tenant = domain::TenantId::new();
    let key = domain::ApiKeyId::new();
    let base = store::contract::now();
    // More than one page of the backfill's reads, some at the same instant; another tenant's.
    let mut records: Vec<domain::UsageRecord> = (0..2_500)
        .map(|i| {
            let at = base - time::Duration::minutes(i / 2);
            store::contract::usage(tenant, key, at)
        })
        .collect();
    let other = domain::TenantId::new();
    records.push(store::contract::usage(other, key, base));
    assert_eq!(store.insert_usage(&records).await.unwrap(), 2_501);
    let (from, to) = (
        base - time::Duration::days(30),
        base + time::Duration::days(1),
    );
    let mut written = Vec::new();
    for grain in Grain::ALL {
        written.push(
            store
                .rollups_between(tenant, grain, from, to, 100_000)
                .await
                .unwrap(),
        );
    }
    assert_eq!(
        written[2].iter().map(|it| it.figures.requests).sum::<u64>(),
        2_500
    );

    // As a database from before rollups: the records, no rollups, the backfill not done.
    let raw = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::from_str(&url).unwrap())
        .await
        .unwrap();
    sqlx::raw_sql("delete from usage_rollups; update rollup_backfill set done = 0")
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;
    store.migrate().await.unwrap();
    for (grain, written) in Grain::ALL.into_iter().zip(written) {
        let folded = store
            .rollups_between(tenant, grain, from, to, 100_000)
            .await
            .unwrap();
        assert_eq!(folded, written, "{grain:?}");
    }
    let theirs = store
        .rollups_between(other, Grain::Day, from, to, 10)
        .await
        .unwrap();
    assert_eq!(theirs.len(), 1, "every tenant's records are folded");
    assert_eq!(
        store.backfill_rollups().await.unwrap(),
        0,
        "folded once only"
    );
}
