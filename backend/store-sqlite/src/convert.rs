//! Row ⇄ domain conversions and the mapping of sqlx errors onto `store::Error`.

use domain::{ApiKey, KeyHash, Tenant, TenantStatus, UsageRecord, UsageStatus};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use store::Error;
use time::OffsetDateTime;

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

pub(crate) fn micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

fn from_micros(value: i64) -> Result<OffsetDateTime, Error> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(value) * 1000)
        .map_err(|_| corrupt("timestamp out of range"))
}

fn id<T: std::str::FromStr>(row: &SqliteRow, column: &str) -> Result<T, Error> {
    let text: String = row.try_get(column).map_err(map_err)?;
    text.parse().map_err(|_| corrupt(column))
}

fn count(row: &SqliteRow, column: &str) -> Result<u64, Error> {
    let value: i64 = row.try_get(column).map_err(map_err)?;
    u64::try_from(value).map_err(|_| corrupt(column))
}

pub(crate) fn tenant_from_row(row: &SqliteRow) -> Result<Tenant, Error> {
    let status: String = row.try_get("status").map_err(map_err)?;
    Ok(Tenant {
        id: id(row, "id")?,
        name: row.try_get("name").map_err(map_err)?,
        status: TenantStatus::from_stored(&status),
        created_at: from_micros(row.try_get("created_at").map_err(map_err)?)?,
    })
}

pub(crate) fn key_from_row(row: &SqliteRow) -> Result<ApiKey, Error> {
    let hash: String = row.try_get("key_hash").map_err(map_err)?;
    let allowed: String = row.try_get("allowed_models").map_err(map_err)?;
    let expires_at: Option<i64> = row.try_get("expires_at").map_err(map_err)?;
    let revoked_at: Option<i64> = row.try_get("revoked_at").map_err(map_err)?;
    Ok(ApiKey {
        id: id(row, "id")?,
        tenant_id: id(row, "tenant_id")?,
        name: row.try_get("name").map_err(map_err)?,
        display_prefix: row.try_get("display_prefix").map_err(map_err)?,
        last_four: row.try_get("last_four").map_err(map_err)?,
        hash: KeyHash::from_hex(&hash).ok_or_else(|| corrupt("key_hash"))?,
        allowed_models: serde_json::from_str(&allowed).map_err(|_| corrupt("allowed_models"))?,
        created_at: from_micros(row.try_get("created_at").map_err(map_err)?)?,
        expires_at: expires_at.map(from_micros).transpose()?,
        revoked_at: revoked_at.map(from_micros).transpose()?,
    })
}

pub(crate) fn usage_from_row(row: &SqliteRow) -> Result<UsageRecord, Error> {
    let status: String = row.try_get("status").map_err(map_err)?;
    let http_status: i64 = row.try_get("http_status").map_err(map_err)?;
    let ttft_ms: Option<i64> = row.try_get("ttft_ms").map_err(map_err)?;
    Ok(UsageRecord {
        id: id(row, "id")?,
        request_id: id(row, "request_id")?,
        tenant_id: id(row, "tenant_id")?,
        key_id: id(row, "key_id")?,
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
        raw_usage: row.try_get("raw_usage").map_err(map_err)?,
        status: UsageStatus::from_stored(&status).ok_or_else(|| corrupt("status"))?,
        http_status: u16::try_from(http_status).map_err(|_| corrupt("http_status"))?,
        error_code: row.try_get("error_code").map_err(map_err)?,
        latency_ms: count(row, "latency_ms")?,
        ttft_ms: ttft_ms
            .map(|it| u64::try_from(it).map_err(|_| corrupt("ttft_ms")))
            .transpose()?,
        created_at: from_micros(row.try_get("created_at").map_err(map_err)?)?,
    })
}
