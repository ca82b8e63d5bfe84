//! The Postgres store: the production system of record, shared by every gateway node.

mod convert;
#[cfg(feature = "testing")]
pub mod testing;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use domain::{ApiKey, ApiKeyId, Tenant, TenantId, TenantStatus, UsageRecord};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, QueryBuilder};
use store::{AccessData, AccessStore, Error, KeyStore, Store, TenantStore, UsageStore};
use time::OffsetDateTime;

use crate::convert::{
    key_columns, key_from_row, map_err, tenant_from_row, usage_columns, usage_from_row,
    usage_select_columns,
};

/// Most usage rows per `insert` statement (22 bound parameters each); see
/// `store::power_of_two_chunks`.
const INSERT_CHUNK: usize = 256;

/// Migrations compiled into the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// The channel every revision bump is announced on, for nodes that `LISTEN`.
pub const CHANGE_CHANNEL: &str = "sluice_changes";

#[derive(Debug, Clone)]
pub struct Config {
    /// `postgres://user:password@host:port/database`.
    pub url: String,
    pub max_connections: u32,
}

#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects a pool; does not migrate.
    ///
    /// # Errors
    /// When the URL is invalid or the server cannot be reached.
    pub async fn connect(config: &Config) -> Result<Self, Error> {
        let options =
            PgConnectOptions::from_str(&config.url).map_err(|e| Error::Other(Box::new(e)))?;
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(map_err)?;
        Ok(PgStore { pool })
    }

    /// Applies pending migrations; safe to run from several nodes at once (sqlx takes a lock).
    ///
    /// # Errors
    /// When a migration fails.
    pub async fn migrate(&self) -> Result<(), Error> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| Error::Other(Box::new(e)))
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Calls `on_change` for every `NOTIFY` on [`CHANGE_CHANNEL`] until `cancel`, reconnecting
    /// after failures. Each (re)connection also calls `on_change`, since notices sent while
    /// disconnected are lost.
    pub async fn listen_changes(
        &self,
        on_change: impl Fn() + Send + Sync,
        cancel: tokio_util::sync::CancellationToken,
    ) {
        let mut backoff = Duration::from_millis(200);
        loop {
            let session = async {
                let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
                listener.listen(CHANGE_CHANNEL).await?;
                on_change();
                backoff = Duration::from_millis(200);
                loop {
                    listener.recv().await?;
                    on_change();
                }
            };
            tokio::select! {
                () = cancel.cancelled() => return,
                result = session => {
                    let result: Result<(), sqlx::Error> = result;
                    if let Err(e) = result {
                        tracing::warn!(error = %e, "postgres change listener failed; reconnecting");
                    }
                }
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    }
}

async fn bump_revision(tx: &mut sqlx::Transaction<'_, Postgres>) -> Result<(), Error> {
    sqlx::query(
        "with bumped as (update store_revision set revision = revision + 1 where id = 1 \
         returning revision) select pg_notify('sluice_changes', revision::text) from bumped",
    )
    .execute(&mut **tx)
    .await
    .map_err(map_err)?;
    Ok(())
}

#[async_trait]
impl TenantStore for PgStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), Error> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query("insert into tenants (id, name, status, created_at) values ($1, $2, $3, $4)")
            .bind(tenant.id.0)
            .bind(&tenant.name)
            .bind(tenant.status.as_str())
            .bind(tenant.created_at)
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
        let row = sqlx::query("select id, name, status, created_at from tenants where id = $1")
            .bind(id.0)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        tenant_from_row(&row)
    }

    async fn find_tenant_by_name(&self, name: &str) -> Result<Option<Tenant>, Error> {
        let row = sqlx::query("select id, name, status, created_at from tenants where name = $1")
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
        let done = sqlx::query("update tenants set status = $1 where id = $2")
            .bind(status.as_str())
            .bind(id.0)
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
impl KeyStore for PgStore {
    async fn insert_key(&self, tenant: TenantId, key: &ApiKey) -> Result<(), Error> {
        if key.tenant_id != tenant {
            return Err(Error::Conflict("key belongs to another tenant".into()));
        }
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query(
            "insert into api_keys (tenant_id, id, name, display_prefix, last_four, key_hash, \
             allowed_models, created_at, expires_at, revoked_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(tenant.0)
        .bind(key.id.0)
        .bind(&key.name)
        .bind(&key.display_prefix)
        .bind(&key.last_four)
        .bind(key.hash.to_hex())
        .bind(&key.allowed_models)
        .bind(key.created_at)
        .bind(key.expires_at)
        .bind(key.revoked_at)
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
            " from api_keys where tenant_id = $1 order by created_at, id"
        ))
        .bind(tenant.0)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(key_from_row).collect()
    }

    async fn get_key(&self, tenant: TenantId, key: ApiKeyId) -> Result<ApiKey, Error> {
        let row = sqlx::query(concat!(
            "select ",
            key_columns!(),
            " from api_keys where tenant_id = $1 and id = $2"
        ))
        .bind(tenant.0)
        .bind(key.0)
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
            "update api_keys set revoked_at = coalesce(revoked_at, $1) \
             where tenant_id = $2 and id = $3",
        )
        .bind(at)
        .bind(tenant.0)
        .bind(key.0)
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
        let owner: Option<uuid::Uuid> =
            sqlx::query_scalar("select tenant_id from api_keys where id = $1")
                .bind(key.0)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(owner.map(TenantId))
    }
}

#[async_trait]
impl AccessStore for PgStore {
    async fn load_access(&self) -> Result<AccessData, Error> {
        // Repeatable read, so keys and tenants come from the same moment.
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query("set transaction isolation level repeatable read read only")
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
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
impl UsageStore for PgStore {
    async fn insert_usage(&self, records: &[UsageRecord]) -> Result<u64, Error> {
        let mut inserted = 0;
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        for chunk in store::power_of_two_chunks(records, INSERT_CHUNK) {
            let mut query: QueryBuilder<'_, Postgres> = QueryBuilder::new(concat!(
                "insert into usage_records (",
                usage_columns!(),
                ") "
            ));
            query.push_values(chunk, |mut row, r| {
                row.push_bind(r.tenant_id.0)
                    .push_bind(r.id.0)
                    .push_bind(r.request_id.0)
                    .push_bind(r.key_id.0)
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
                    .push_unseparated("::json")
                    .push_bind(r.status.as_str())
                    .push_bind(i32::from(r.http_status))
                    .push_bind(&r.error_code)
                    .push_bind(to_i64(r.latency_ms))
                    .push_bind(r.ttft_ms.map(to_i64))
                    .push_bind(r.created_at);
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
            usage_select_columns!(),
            " from usage_records where tenant_id = $1 order by created_at desc, id desc limit $2"
        ))
        .bind(tenant.0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(usage_from_row).collect()
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
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
