//! Row ⇄ domain conversions and the mapping of sqlx errors onto `store::Error`.

use domain::{ApiKey, KeyHash, Tenant, TenantId, TenantStatus, UsageRecord, UsageStatus};
use sqlx::Row;
use sqlx::postgres::PgRow;
use store::Error;
use uuid::Uuid;

/// The columns of `api_keys`, in the order `key_from_row` reads them.
macro_rules! key_columns {
    () => {
        "tenant_id, id, name, display_prefix, last_four, key_hash, allowed_models, \
         created_at, expires_at, revoked_at"
    };
}
pub(crate) use key_columns;

/// The columns of `usage_records`, in the order `insert_usage` binds them.
macro_rules! usage_columns {
    () => {
        "tenant_id, id, request_id, key_id, endpoint, model_alias, provider, upstream_model, \
         stream, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, \
         reasoning_tokens, estimated, raw_usage, status, http_status, error_code, latency_ms, \
         ttft_ms, created_at"
    };
}
pub(crate) use usage_columns;

/// `usage_columns!` for reading: `json` comes back as its verbatim text.
macro_rules! usage_select_columns {
    () => {
        "tenant_id, id, request_id, key_id, endpoint, model_alias, provider, upstream_model, \
         stream, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, \
         reasoning_tokens, estimated, raw_usage::text as raw_usage, status, http_status, \
         error_code, latency_ms, ttft_ms, created_at"
    };
}
pub(crate) use usage_select_columns;

pub(crate) fn map_err(e: sqlx::Error) -> Error {
    match e {
        sqlx::Error::RowNotFound => Error::NotFound,
        sqlx::Error::Database(db) => match db.kind() {
            sqlx::error::ErrorKind::UniqueViolation => {
                Error::Conflict("a record with the same unique value exists already".into())
            }
            sqlx::error::ErrorKind::ForeignKeyViolation => Error::NotFound,
            _ => Error::Other(Box::new(sqlx::Error::Database(db))),
        },
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            Error::Unavailable(Box::new(e))
        }
        other => Error::Other(Box::new(other)),
    }
}

fn corrupt(what: &str) -> Error {
    Error::Other(format!("corrupt row: {what}").into())
}

fn count(row: &PgRow, column: &str) -> Result<u64, Error> {
    let value: i64 = row.try_get(column).map_err(map_err)?;
    u64::try_from(value).map_err(|_| corrupt(column))
}

pub(crate) fn tenant_from_row(row: &PgRow) -> Result<Tenant, Error> {
    let status: String = row.try_get("status").map_err(map_err)?;
    Ok(Tenant {
        id: TenantId(row.try_get("id").map_err(map_err)?),
        name: row.try_get("name").map_err(map_err)?,
        status: TenantStatus::from_stored(&status),
        created_at: row.try_get("created_at").map_err(map_err)?,
    })
}

pub(crate) fn key_from_row(row: &PgRow) -> Result<ApiKey, Error> {
    let hash: String = row.try_get("key_hash").map_err(map_err)?;
    let id: Uuid = row.try_get("id").map_err(map_err)?;
    let tenant_id: Uuid = row.try_get("tenant_id").map_err(map_err)?;
    Ok(ApiKey {
        id: domain::ApiKeyId(id),
        tenant_id: TenantId(tenant_id),
        name: row.try_get("name").map_err(map_err)?,
        display_prefix: row.try_get("display_prefix").map_err(map_err)?,
        last_four: row.try_get("last_four").map_err(map_err)?,
        hash: KeyHash::from_hex(&hash).ok_or_else(|| corrupt("key_hash"))?,
        allowed_models: row.try_get("allowed_models").map_err(map_err)?,
        created_at: row.try_get("created_at").map_err(map_err)?,
        expires_at: row.try_get("expires_at").map_err(map_err)?,
        revoked_at: row.try_get("revoked_at").map_err(map_err)?,
    })
}

pub(crate) fn usage_from_row(row: &PgRow) -> Result<UsageRecord, Error> {
    let status: String = row.try_get("status").map_err(map_err)?;
    let http_status: i32 = row.try_get("http_status").map_err(map_err)?;
    let ttft_ms: Option<i64> = row.try_get("ttft_ms").map_err(map_err)?;
    let raw_usage: Option<String> = row.try_get("raw_usage").map_err(map_err)?;
    Ok(UsageRecord {
        id: domain::UsageId(row.try_get("id").map_err(map_err)?),
        request_id: domain::RequestId(row.try_get("request_id").map_err(map_err)?),
        tenant_id: TenantId(row.try_get("tenant_id").map_err(map_err)?),
        key_id: domain::ApiKeyId(row.try_get("key_id").map_err(map_err)?),
        endpoint: row.try_get("endpoint").map_err(map_err)?,
        model_alias: row.try_get("model_alias").map_err(map_err)?,
        provider: row.try_get("provider").map_err(map_err)?,
        upstream_model: row.try_get("upstream_model").map_err(map_err)?,
        stream: row.try_get("stream").map_err(map_err)?,
        prompt_tokens: count(row, "prompt_tokens")?,
        completion_tokens: count(row, "completion_tokens")?,
        cached_tokens: count(row, "cached_tokens")?,
        cache_write_tokens: count(row, "cache_write_tokens")?,
        reasoning_tokens: count(row, "reasoning_tokens")?,
        estimated: row.try_get("estimated").map_err(map_err)?,
        raw_usage,
        status: UsageStatus::from_stored(&status).ok_or_else(|| corrupt("status"))?,
        http_status: u16::try_from(http_status).map_err(|_| corrupt("http_status"))?,
        error_code: row.try_get("error_code").map_err(map_err)?,
        latency_ms: count(row, "latency_ms")?,
        ttft_ms: ttft_ms
            .map(|it| u64::try_from(it).map_err(|_| corrupt("ttft_ms")))
            .transpose()?,
        created_at: row.try_get("created_at").map_err(map_err)?,
    })
}
