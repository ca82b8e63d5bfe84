//! The embedded SQLite store: the default, so `sluice serve` needs no other server.
//!
//! Ids are stored as UUID text and times as integer microseconds since the Unix epoch.

mod convert;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use domain::{ApiKey, ApiKeyId, Tenant, TenantId, TenantStatus, UsageRecord};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};
use store::{AccessData, AccessStore, Error, KeyStore, Store, TenantStore, UsageStore};
use time::OffsetDateTime;

use crate::convert::{
    key_columns, key_from_row, map_err, micros, tenant_from_row, usage_columns, usage_from_row,
};

/// Most usage rows per `insert` statement (22 bound parameters each); see
/// `store::power_of_two_chunks`.
const INSERT_CHUNK: usize = 64;

/// Migrations compiled into the binary, so a single file is all a deployment needs.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// How to open the database.
#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://path/to/file.db` (created if missing) or `sqlite::memory:`.
    pub url: String,
    pub max_connections: u32,
}

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database; does not migrate.
    ///
    /// # Errors
    /// When the URL is invalid or the file cannot be opened.
    pub async fn connect(config: &Config) -> Result<Self, Error> {
        let options = SqliteConnectOptions::from_str(&config.url)
            .map_err(|e| Error::Other(Box::new(e)))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .connect_with(options)
            .await
            .map_err(map_err)?;
        Ok(SqliteStore { pool })
    }

    /// Applies pending migrations.
    ///
    /// # Errors
    /// When a migration fails or the database was migrated by a newer version.
    pub async fn migrate(&self) -> Result<(), Error> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| Error::Other(Box::new(e)))
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

async fn bump_revision(tx: &mut sqlx::Transaction<'_, Sqlite>) -> Result<(), Error> {
    sqlx::query("update store_revision set revision = revision + 1 where id = 1")
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    Ok(())
}

#[async_trait]
impl TenantStore for SqliteStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), Error> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query("insert into tenants (id, name, status, created_at) values (?, ?, ?, ?)")
            .bind(tenant.id.to_string())
            .bind(&tenant.name)
            .bind(tenant.status.as_str())
            .bind(micros(tenant.created_at))
            .execute(&mut *tx)
            .await
            .map_err(|e| match map_err(e) {
                Error::Conflict(_) => {
                    Error::Conflict(format!("a tenant named `{}` exists already", tenant.name))
                }
                other => other,
            })?;
        bump_revision(&mut tx).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn get_tenant(&self, id: TenantId) -> Result<Tenant, Error> {
        let row = sqlx::query("select id, name, status, created_at from tenants where id = ?")
            .bind(id.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        tenant_from_row(&row)
    }

    async fn find_tenant_by_name(&self, name: &str) -> Result<Option<Tenant>, Error> {
        let row = sqlx::query("select id, name, status, created_at from tenants where name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(tenant_from_row).transpose()
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>, Error> {
        let rows =
            sqlx::query("select id, name, status, created_at from tenants order by created_at, id")
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
        rows.iter().map(tenant_from_row).collect()
    }

    async fn set_tenant_status(&self, id: TenantId, status: TenantStatus) -> Result<(), Error> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done = sqlx::query("update tenants set status = ? where id = ?")
            .bind(status.as_str())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound);
        }
        bump_revision(&mut tx).await?;
        tx.commit().await.map_err(map_err)
    }
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn insert_key(&self, tenant: TenantId, key: &ApiKey) -> Result<(), Error> {
        if key.tenant_id != tenant {
            return Err(Error::Conflict("key belongs to another tenant".into()));
        }
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let exists = sqlx::query("select 1 from tenants where id = ?")
            .bind(tenant.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        if exists.is_none() {
            return Err(Error::NotFound);
        }
        let allowed =
            serde_json::to_string(&key.allowed_models).map_err(|e| Error::Other(Box::new(e)))?;
        sqlx::query(
            "insert into api_keys (tenant_id, id, name, display_prefix, last_four, key_hash, \
             allowed_models, created_at, expires_at, revoked_at) \
             values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(tenant.to_string())
        .bind(key.id.to_string())
        .bind(&key.name)
        .bind(&key.display_prefix)
        .bind(&key.last_four)
        .bind(key.hash.to_hex())
        .bind(allowed)
        .bind(micros(key.created_at))
        .bind(key.expires_at.map(micros))
        .bind(key.revoked_at.map(micros))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        bump_revision(&mut tx).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn list_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>, Error> {
        let rows = sqlx::query(concat!(
            "select ",
            key_columns!(),
            " from api_keys where tenant_id = ? order by created_at, id"
        ))
        .bind(tenant.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(key_from_row).collect()
    }

    async fn get_key(&self, tenant: TenantId, key: ApiKeyId) -> Result<ApiKey, Error> {
        let row = sqlx::query(concat!(
            "select ",
            key_columns!(),
            " from api_keys where tenant_id = ? and id = ?"
        ))
        .bind(tenant.to_string())
        .bind(key.to_string())
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        key_from_row(&row)
    }

    async fn revoke_key(
        &self,
        tenant: TenantId,
        key: ApiKeyId,
        at: OffsetDateTime,
    ) -> Result<(), Error> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done = sqlx::query(
            "update api_keys set revoked_at = coalesce(revoked_at, ?) where tenant_id = ? and id = ?",
        )
        .bind(micros(at))
        .bind(tenant.to_string())
        .bind(key.to_string())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound);
        }
        bump_revision(&mut tx).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn key_owner(&self, key: ApiKeyId) -> Result<Option<TenantId>, Error> {
        let owner: Option<String> =
            sqlx::query_scalar("select tenant_id from api_keys where id = ?")
                .bind(key.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        owner
            .map(|it| it.parse().map_err(|e| Error::Other(Box::new(e))))
            .transpose()
    }
}

#[async_trait]
impl AccessStore for SqliteStore {
    async fn load_access(&self) -> Result<AccessData, Error> {
        // One read transaction, so keys and tenants come from the same moment.
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let keys = sqlx::query(concat!(
            "select ",
            key_columns!(),
            " from api_keys where revoked_at is null order by created_at, id"
        ))
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?
        .iter()
        .map(key_from_row)
        .collect::<Result<_, _>>()?;
        let tenants =
            sqlx::query("select id, name, status, created_at from tenants order by created_at, id")
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?
                .iter()
                .map(tenant_from_row)
                .collect::<Result<_, _>>()?;
        tx.commit().await.map_err(map_err)?;
        Ok(AccessData { keys, tenants })
    }

    async fn revision(&self) -> Result<i64, Error> {
        sqlx::query_scalar("select revision from store_revision where id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)
    }
}

#[async_trait]
impl UsageStore for SqliteStore {
    async fn insert_usage(&self, records: &[UsageRecord]) -> Result<u64, Error> {
        let mut inserted = 0;
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        for chunk in store::power_of_two_chunks(records, INSERT_CHUNK) {
            let mut query: QueryBuilder<'_, Sqlite> = QueryBuilder::new(concat!(
                "insert into usage_records (",
                usage_columns!(),
                ") "
            ));
            query.push_values(chunk, |mut row, r| {
                row.push_bind(r.tenant_id.to_string())
                    .push_bind(r.id.to_string())
                    .push_bind(r.request_id.to_string())
                    .push_bind(r.key_id.to_string())
                    .push_bind(&r.endpoint)
                    .push_bind(&r.model_alias)
                    .push_bind(&r.provider)
                    .push_bind(&r.upstream_model)
                    .push_bind(r.stream)
                    .push_bind(to_i64(r.prompt_tokens))
                    .push_bind(to_i64(r.completion_tokens))
                    .push_bind(to_i64(r.cached_tokens))
                    .push_bind(to_i64(r.cache_write_tokens))
                    .push_bind(to_i64(r.reasoning_tokens))
                    .push_bind(r.estimated)
                    .push_bind(&r.raw_usage)
                    .push_bind(r.status.as_str())
                    .push_bind(i64::from(r.http_status))
                    .push_bind(&r.error_code)
                    .push_bind(to_i64(r.latency_ms))
                    .push_bind(r.ttft_ms.map(to_i64))
                    .push_bind(micros(r.created_at));
            });
            query.push(" on conflict (id) do nothing");
            let done = query.build().execute(&mut *tx).await.map_err(map_err)?;
            inserted += done.rows_affected();
        }
        tx.commit().await.map_err(map_err)?;
        Ok(inserted)
    }

    async fn list_usage(&self, tenant: TenantId, limit: u32) -> Result<Vec<UsageRecord>, Error> {
        let rows = sqlx::query(concat!(
            "select ",
            usage_columns!(),
            " from usage_records where tenant_id = ? order by created_at desc, id desc limit ?"
        ))
        .bind(tenant.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(usage_from_row).collect()
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<(), Error> {
        sqlx::query("select 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| Error::Unavailable(Box::new(e)))
    }
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
