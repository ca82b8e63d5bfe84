//! The SQL shared by the SQLite and Postgres stores, written once.
//!
//! Both schemas use the same column types (UUIDs as text, times as integer microseconds since
//! the Unix epoch, JSON as text), and queries use `$1`-style placeholders in order of first
//! appearance, which both engines accept. `impl_sql_store!` expands the storage ports for a
//! backend's store type; the backend supplies its pool and two dialect statements.

mod convert;
#[doc(hidden)]
pub mod tables_accounts;
#[doc(hidden)]
pub mod tables_core;
#[doc(hidden)]
pub mod tables_credentials;
#[doc(hidden)]
pub mod tables_credit;
#[doc(hidden)]
pub mod tables_invoices;
#[doc(hidden)]
pub mod tables_limits;
#[doc(hidden)]
pub mod tables_partners;
#[doc(hidden)]
pub mod tables_payments;
#[doc(hidden)]
pub mod tables_prices;
#[doc(hidden)]
pub mod tables_semantic;
#[doc(hidden)]
pub mod tables_service_accounts;
#[doc(hidden)]
pub mod tables_sso;
#[doc(hidden)]
pub mod tables_usage;

pub use convert::{
    SqlRow, adjustment_from_row, attempts_column, audit_from_row, credential_from_row,
    credit_account_from_row, from_micros, invitation_from_row, invoice_from_row,
    invoice_payment_from_row, key_from_row, markup_from_row, member_from_row, micros,
    partner_from_row, policy_from_row, policy_scope_columns, price_entry_from_row, reach_from_row,
    recipient_columns, recipient_of, rollup_from_row, rollup_split_sums_from_row,
    rollup_sums_from_row, route_from_row, saturated, scope_columns, service_account_from_row,
    session_from_row, signing_key_from_row, split_nanos, sso_domain_from_tuple,
    stored_alert_from_row, tenant_from_row, tenant_role_from_row, to_i64, token_from_row,
    top_up_from_row, usage_from_row, user_from_row, user_id_from_row, webhook_from_row,
};

use store::Error;

/// Reads a tenant's `regions` column: a JSON list, or null for none.
///
/// # Errors
/// A corrupt value.
pub fn regions_column(stored: Option<&str>) -> Result<Vec<String>, Error> {
    match stored {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(text).map_err(|e| Error::Other(Box::new(e))),
    }
}

/// A `regions` column's stored form: null for none.
///
/// # Errors
/// When the list cannot be encoded (it always can).
pub fn regions_text(regions: &[String]) -> Result<Option<String>, Error> {
    if regions.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(regions)
        .map(Some)
        .map_err(|e| Error::Other(Box::new(e)))
}

/// Reads a tenant's `semantic_threshold` column (parts per 10 000).
///
/// # Errors
/// A value out of range.
pub fn threshold_column(parts: i64) -> Result<domain::tenant::SemanticThreshold, Error> {
    domain::tenant::SemanticThreshold::from_parts(parts).map_err(|e| Error::Other(e.into()))
}

/// A semantic-cache vector's stored form: base64 of its little-endian `f32`s, exact and the
/// same text on both backends.
pub fn vector_text(vector: &[f32]) -> String {
    use base64::Engine as _;
    let bytes: Vec<u8> = vector.iter().flat_map(|it| it.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Reads a stored semantic-cache vector.
///
/// # Errors
/// Text that is not base64 of whole `f32`s.
pub fn vector_column(text: &str) -> Result<Vec<f32>, Error> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| Error::Other(Box::new(e)))?;
    if bytes.len() % 4 != 0 {
        return Err(Error::Other("a stored vector is not whole f32s".into()));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|it| f32::from_le_bytes([it[0], it[1], it[2], it[3]]))
        .collect())
}

/// Token counts' stored form: a JSON list in `TokenCounts`' field order.
pub fn counts_text(counts: &domain::llm::TokenCounts) -> String {
    let c = counts;
    format!(
        "[{},{},{},{},{}]",
        c.prompt, c.completion, c.cached, c.cache_write, c.reasoning
    )
}

/// # Errors
/// A value that is not a list of five counts.
pub fn counts_column(text: &str) -> Result<domain::llm::TokenCounts, Error> {
    let [prompt, completion, cached, cache_write, reasoning]: [u64; 5] =
        serde_json::from_str(text).map_err(|e| Error::Other(Box::new(e)))?;
    Ok(domain::llm::TokenCounts {
        prompt,
        completion,
        cached,
        cache_write,
        reasoning,
    })
}

/// Maps sqlx errors onto the storage error callers branch on.
pub fn map_err(e: sqlx::Error) -> Error {
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

/// `NotFound` unless a statement changed a row (an update or delete scoped by tenant that
/// matched nothing: the row is absent, or another tenant's).
///
/// # Errors
/// `NotFound` for zero rows.
pub fn one_row_changed(rows: u64) -> Result<(), Error> {
    if rows == 0 {
        Err(Error::NotFound)
    } else {
        Ok(())
    }
}

/// Expands every storage port for `$store`, whose `pool` field is a `sqlx::Pool<$db>`.
///
/// `bump` is the statement that increments `store_revision` (Postgres also `NOTIFY`s);
/// `snapshot` is an optional statement run first in the access-snapshot transaction.
#[macro_export]
macro_rules! impl_sql_store {
    ($store:ty, $db:ty, backend = $backend:expr, bump = $bump:expr, snapshot = $snapshot:expr) => {
        $crate::impl_core_store!($store, $db, $backend, $bump, $snapshot);
        $crate::impl_usage_store!($store, $db);
        $crate::impl_account_store!($store, $db);
        $crate::impl_credential_store!($store, $db);
        $crate::impl_route_store!($store, $db);
        $crate::impl_service_account_store!($store, $db);
        $crate::impl_partner_store!($store, $db);
        $crate::impl_sso_store!($store, $db);
        $crate::impl_semantic_cache_store!($store, $db);
        $crate::impl_price_store!($store, $db);
        $crate::impl_limit_store!($store, $db);
        $crate::impl_alert_store!($store, $db);
        $crate::impl_invoice_store!($store, $db);
        $crate::impl_credit_store!($store, $db);
        $crate::impl_payment_store!($store, $db);
    };
}
