//! The usage ledger (`usage_records`, insert-only) and its rollups (`usage_rollups`), written
//! together: a record's rollups are added in the transaction that inserts it, only if it was
//! new.

use domain::rollup::LATENCY_BUCKETS;

/// Most usage rows per `insert` statement (27 bound parameters each); see
/// `store::power_of_two_chunks`.
pub const USAGE_INSERT_CHUNK: usize = 64;

/// Columns of `usage_records` (see `usage_columns!`).
const USAGE_COLUMN_COUNT: usize = 27;

/// Most rollup rows per upsert (44 bound parameters each).
pub const ROLLUP_UPSERT_CHUNK: usize = 64;

/// Usage records read per statement by the backfill and by exports.
pub const USAGE_PAGE: u32 = 2_000;

/// The latency histogram's columns, in `LATENCY_BOUNDS_MS` order.
pub const LATENCY_COLUMNS: [&str; LATENCY_BUCKETS] = [
    "lat_00", "lat_01", "lat_02", "lat_03", "lat_04", "lat_05", "lat_06", "lat_07", "lat_08",
    "lat_09", "lat_10", "lat_11", "lat_12", "lat_13", "lat_14", "lat_15", "lat_16", "lat_17",
    "lat_18", "lat_19", "lat_20", "lat_21", "lat_22", "lat_23", "lat_24",
];

/// What a rollup row is keyed by, in the primary key's order.
const ROLLUP_KEY_COLUMNS: [&str; 7] = [
    "tenant_id",
    "grain",
    "start_at",
    "key_id",
    "model_alias",
    "variant",
    "shadow",
];

/// What a rollup row sums (added to on conflict), before the latency columns.
const ROLLUP_SUM_COLUMNS: [&str; 12] = [
    "requests",
    "errors",
    "cache_hits",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_nanos",
    "wholesale_nanos",
    "price_nanos",
    "unpriced",
];

/// The sums that can pass `i64` from a single record (tokens an upstream reports, money from
/// price lists): added saturating. The others count calls.
const SATURATING_COLUMNS: [&str; 8] = [
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_nanos",
    "wholesale_nanos",
    "price_nanos",
];

const ROLLUP_COLUMN_COUNT: usize =
    ROLLUP_KEY_COLUMNS.len() + ROLLUP_SUM_COLUMNS.len() + LATENCY_BUCKETS;

/// How a dialect writes bound parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placeholders {
    /// `$1, $2, …` (Postgres).
    Numbered,
    /// `?, ?, …` (SQLite). Numbered ones work there too, but SQLite looks each number up in
    /// a list as long as the statement's parameters, which made a 64-row insert (1408
    /// parameters then) quadratic: a quarter of the gateway's CPU at saturation.
    Anonymous,
}

impl Placeholders {
    /// The style for a sqlx database.
    pub fn of<DB: sqlx::Database>() -> Self {
        if DB::NAME == "SQLite" {
            Placeholders::Anonymous
        } else {
            Placeholders::Numbered
        }
    }
}

/// Statements for every power-of-two row count up to a chunk, written once per process:
/// building a statement's text for every batch cost more than binding it.
struct Statements {
    numbered: std::sync::OnceLock<Vec<String>>,
    anonymous: std::sync::OnceLock<Vec<String>>,
}

impl Statements {
    const fn new() -> Self {
        Statements {
            numbered: std::sync::OnceLock::new(),
            anonymous: std::sync::OnceLock::new(),
        }
    }

    fn get(
        &'static self,
        rows: usize,
        chunk: usize,
        placeholders: Placeholders,
        write: fn(usize, Placeholders) -> String,
    ) -> &'static str {
        let cache = match placeholders {
            Placeholders::Numbered => &self.numbered,
            Placeholders::Anonymous => &self.anonymous,
        };
        let statements = cache.get_or_init(|| {
            (0..=chunk.trailing_zeros())
                .map(|power| write(1 << power, placeholders))
                .collect()
        });
        let index = rows.max(1).next_power_of_two().trailing_zeros() as usize;
        statements
            .get(index)
            .or(statements.last())
            .map_or("", String::as_str)
    }
}

/// `rows` parenthesised lists of `columns` placeholders.
fn values(sql: &mut String, rows: usize, columns: usize, placeholders: Placeholders) {
    use std::fmt::Write;
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            match placeholders {
                Placeholders::Numbered => {
                    let _ = write!(sql, "${}", row * columns + column + 1);
                }
                Placeholders::Anonymous => sql.push('?'),
            }
        }
        sql.push(')');
    }
}

/// The `insert` of `rows` usage rows (a power of two up to `USAGE_INSERT_CHUNK`); a replayed id
/// is skipped. With `returning`, it answers the ids it inserted.
pub fn usage_insert_sql(rows: usize, placeholders: Placeholders, returning: bool) -> &'static str {
    static PLAIN: Statements = Statements::new();
    static RETURNING: Statements = Statements::new();
    fn write(rows: usize, placeholders: Placeholders, returning: bool) -> String {
        let mut sql = String::from(concat!(
            "insert into usage_records (",
            crate::usage_columns!(),
            ") values "
        ));
        values(&mut sql, rows, USAGE_COLUMN_COUNT, placeholders);
        sql.push_str(" on conflict (id) do nothing");
        if returning {
            sql.push_str(" returning id");
        }
        sql
    }
    if returning {
        RETURNING.get(
            rows,
            USAGE_INSERT_CHUNK,
            placeholders,
            |rows, placeholders| write(rows, placeholders, true),
        )
    } else {
        PLAIN.get(
            rows,
            USAGE_INSERT_CHUNK,
            placeholders,
            |rows, placeholders| write(rows, placeholders, false),
        )
    }
}

/// Every column of `usage_rollups`, in the order `rollup_upsert_sql` binds them.
pub fn rollup_columns() -> &'static str {
    static COLUMNS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    COLUMNS.get_or_init(|| {
        ROLLUP_KEY_COLUMNS
            .iter()
            .chain(&ROLLUP_SUM_COLUMNS)
            .chain(&LATENCY_COLUMNS)
            .copied()
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// The upsert of `rows` rollups (a power of two up to `ROLLUP_UPSERT_CHUNK`): a new bucket is
/// inserted, an existing one has the sums added to it.
pub fn rollup_upsert_sql(rows: usize, placeholders: Placeholders) -> &'static str {
    static STATEMENTS: Statements = Statements::new();
    STATEMENTS.get(
        rows,
        ROLLUP_UPSERT_CHUNK,
        placeholders,
        |rows, placeholders| {
            let mut sql = format!("insert into usage_rollups ({}) values ", rollup_columns());
            values(&mut sql, rows, ROLLUP_COLUMN_COUNT, placeholders);
            sql.push_str(" on conflict (");
            sql.push_str(&ROLLUP_KEY_COLUMNS.join(", "));
            sql.push_str(") do update set ");
            let sums: Vec<String> = ROLLUP_SUM_COLUMNS
                .iter()
                .chain(&LATENCY_COLUMNS)
                .map(|it| {
                    if SATURATING_COLUMNS.contains(it) {
                        // Saturating, as the fold's sums do (never negative): a bucket stuck at
                        // the largest value still takes its calls, where an overflow would fail
                        // the batch. Tokens come from upstreams, money from price lists.
                        format!(
                            "{it} = case when usage_rollups.{it} > {max} - excluded.{it} \
                             then {max} else usage_rollups.{it} + excluded.{it} end",
                            max = i64::MAX
                        )
                    } else {
                        // Counts of calls: a batch adds at most its number of records.
                        format!("{it} = usage_rollups.{it} + excluded.{it}")
                    }
                })
                .collect();
            sql.push_str(&sums.join(", "));
            sql
        },
    )
}

/// The select of one tenant's rollups of one grain in `[from, to)`.
pub fn rollup_select_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "select {} from usage_rollups where tenant_id = $1 and grain = $2 \
             and start_at >= $3 and start_at < $4 \
             order by start_at, key_id, model_alias, variant, shadow limit $5",
            rollup_columns()
        )
    })
}

/// The sums of one tenant's rollups of one grain in `[from, to)` per model, shadow left out.
/// Money is summed as whole units (`<column>_units`) and nano-unit remainders
/// (`<column>_rest`), which neither engine's integer sum can overflow however absurd the
/// prices; `rollup_split_sums_from_row` puts them together, saturating.
pub fn rollup_sums_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let sums: Vec<String> = ROLLUP_SUM_COLUMNS
            .iter()
            .map(|it| {
                if it.ends_with("_nanos") {
                    format!(
                        "cast(sum({it} / 1000000000) as bigint) as {it}_units, \
                         cast(sum({it} % 1000000000) as bigint) as {it}_rest"
                    )
                } else {
                    format!("cast(sum({it}) as bigint) as {it}")
                }
            })
            .collect();
        format!(
            "select model_alias, {} from usage_rollups where tenant_id = $1 and grain = $2 \
             and start_at >= $3 and start_at < $4 and shadow = 0 \
             group by model_alias order by model_alias",
            sums.join(", ")
        )
    })
}

/// The columns of `usage_records`, in the order `insert_usage` binds them.
#[macro_export]
#[doc(hidden)]
macro_rules! usage_columns {
    () => {
        "tenant_id, id, request_id, key_id, endpoint, model_alias, provider, upstream_model, \
         stream, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, \
         reasoning_tokens, estimated, raw_usage, status, http_status, error_code, latency_ms, \
         ttft_ms, created_at, attempts, variant, cost_nanos, wholesale_nanos, price_nanos"
    };
}

#[macro_export]
#[doc(hidden)]
macro_rules! impl_usage_store {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Inserts `records` in `tx` and adds the new ones to their rollups; answers how
            /// many were new. Without `returning` (the common case: no record is a replay) it
            /// answers `None` as soon as a statement skipped a row, since it cannot tell which:
            /// the caller then rolls back and tries again with `returning`, which asks the
            /// database for the ids it inserted (a row sent back per record, which costs the
            /// writer more).
            async fn insert_usage_in(
                tx: &mut ::sqlx::Transaction<'_, $db>,
                records: &[::domain::UsageRecord],
                returning: bool,
            ) -> Result<Option<u64>, ::store::Error> {
                let placeholders = $crate::tables_usage::Placeholders::of::<$db>();
                let mut fresh: Vec<&::domain::UsageRecord> = Vec::with_capacity(records.len());
                for chunk in
                    ::store::power_of_two_chunks(records, $crate::tables_usage::USAGE_INSERT_CHUNK)
                {
                    let mut query = ::sqlx::query($crate::tables_usage::usage_insert_sql(
                        chunk.len(),
                        placeholders,
                        returning,
                    ));
                    for r in chunk {
                        query = query
                            .bind(r.tenant_id.to_string())
                            .bind(r.id.to_string())
                            .bind(r.request_id.to_string())
                            .bind(r.key_id.to_string())
                            .bind(&r.endpoint)
                            .bind(&r.model_alias)
                            .bind(&r.provider)
                            .bind(&r.upstream_model)
                            .bind(r.stream)
                            .bind($crate::to_i64(r.prompt_tokens))
                            .bind($crate::to_i64(r.completion_tokens))
                            .bind($crate::to_i64(r.cached_tokens))
                            .bind($crate::to_i64(r.cache_write_tokens))
                            .bind($crate::to_i64(r.reasoning_tokens))
                            .bind(r.estimated)
                            .bind(&r.raw_usage)
                            .bind(r.status.as_str())
                            .bind(i64::from(r.http_status))
                            .bind(&r.error_code)
                            .bind($crate::to_i64(r.latency_ms))
                            .bind(r.ttft_ms.map($crate::to_i64))
                            .bind($crate::micros(r.created_at))
                            .bind($crate::attempts_column(&r.attempts)?)
                            .bind(&r.variant)
                            .bind(r.cost.map(::domain::pricing::Money::nanos))
                            .bind(r.wholesale.map(::domain::pricing::Money::nanos))
                            .bind(r.price.map(::domain::pricing::Money::nanos));
                    }
                    if !returning {
                        let done = query.execute(&mut **tx).await.map_err($crate::map_err)?;
                        if done.rows_affected() != chunk.len() as u64 {
                            return Ok(None);
                        }
                        fresh.extend(chunk);
                        continue;
                    }
                    let inserted = query.fetch_all(&mut **tx).await.map_err($crate::map_err)?;
                    if inserted.len() == chunk.len() {
                        fresh.extend(chunk);
                    } else {
                        // Some were replays: only the ids the insert answered are new.
                        let ids = inserted
                            .iter()
                            .map(|row| $crate::SqlRow::text(row, "id"))
                            .collect::<Result<::std::collections::HashSet<String>, _>>()?;
                        fresh.extend(chunk.iter().filter(|r| ids.contains(&r.id.to_string())));
                    }
                }
                let rollups = ::domain::rollup::fold(fresh.iter().copied());
                Self::add_rollups(tx, &rollups).await?;
                Ok(Some(fresh.len() as u64))
            }

            async fn add_rollups(
                tx: &mut ::sqlx::Transaction<'_, $db>,
                rollups: &[::domain::rollup::Rollup],
            ) -> Result<(), ::store::Error> {
                let placeholders = $crate::tables_usage::Placeholders::of::<$db>();
                for chunk in
                    ::store::power_of_two_chunks(rollups, $crate::tables_usage::ROLLUP_UPSERT_CHUNK)
                {
                    let mut query = ::sqlx::query($crate::tables_usage::rollup_upsert_sql(
                        chunk.len(),
                        placeholders,
                    ));
                    for r in chunk {
                        let f = &r.figures;
                        query = query
                            .bind(r.tenant_id.to_string())
                            .bind(r.grain.as_str())
                            .bind($crate::micros(r.start))
                            .bind(r.key_id.to_string())
                            .bind(&r.model_alias)
                            .bind(&r.variant)
                            .bind(i64::from(r.shadow))
                            .bind($crate::to_i64(f.requests))
                            .bind($crate::to_i64(f.errors))
                            .bind($crate::to_i64(f.cache_hits))
                            .bind($crate::to_i64(f.prompt_tokens))
                            .bind($crate::to_i64(f.completion_tokens))
                            .bind($crate::to_i64(f.cached_tokens))
                            .bind($crate::to_i64(f.cache_write_tokens))
                            .bind($crate::to_i64(f.reasoning_tokens))
                            .bind(f.cost.nanos().max(0))
                            .bind(f.wholesale.nanos().max(0))
                            .bind(f.price.nanos().max(0))
                            .bind($crate::to_i64(f.unpriced));
                        for count in f.latency {
                            query = query.bind($crate::to_i64(count));
                        }
                    }
                    query.execute(&mut **tx).await.map_err($crate::map_err)?;
                }
                Ok(())
            }
        }

        #[::async_trait::async_trait]
        impl ::store::UsageStore for $store {
            async fn insert_usage(
                &self,
                records: &[::domain::UsageRecord],
            ) -> Result<u64, ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                if let Some(inserted) = Self::insert_usage_in(&mut tx, records, false).await? {
                    tx.commit().await.map_err($crate::map_err)?;
                    return Ok(inserted);
                }
                // Some were replays: again, learning which rows are new.
                tx.rollback().await.map_err($crate::map_err)?;
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let inserted = Self::insert_usage_in(&mut tx, records, true)
                    .await?
                    .unwrap_or_default();
                tx.commit().await.map_err($crate::map_err)?;
                Ok(inserted)
            }

            async fn list_usage(
                &self,
                tenant: ::domain::TenantId,
                limit: u32,
            ) -> Result<Vec<::domain::UsageRecord>, ::store::Error> {
                let rows = ::sqlx::query(concat!(
                    "select ",
                    $crate::usage_columns!(),
                    " from usage_records where tenant_id = $1 \
                     order by created_at desc, id desc limit $2"
                ))
                .bind(tenant.to_string())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map($crate::usage_from_row).collect()
            }

            async fn usage_between(
                &self,
                tenant: ::domain::TenantId,
                from: ::time::OffsetDateTime,
                to: ::time::OffsetDateTime,
                after: Option<::store::UsageCursor>,
                limit: u32,
            ) -> Result<Vec<::domain::UsageRecord>, ::store::Error> {
                let (after_at, after_id) = match after {
                    Some(cursor) => (cursor.created_at, cursor.id.to_string()),
                    None => (from, String::new()),
                };
                let rows = ::sqlx::query(concat!(
                    "select ",
                    $crate::usage_columns!(),
                    " from usage_records where tenant_id = $1 and created_at >= $2 \
                     and created_at < $3 and (created_at, id) > ($4, $5) \
                     order by created_at, id limit $6"
                ))
                .bind(tenant.to_string())
                .bind($crate::micros(from))
                .bind($crate::micros(to))
                .bind($crate::micros(after_at))
                .bind(after_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map($crate::usage_from_row).collect()
            }

            async fn rollups_between(
                &self,
                tenant: ::domain::TenantId,
                grain: ::domain::rollup::Grain,
                from: ::time::OffsetDateTime,
                to: ::time::OffsetDateTime,
                limit: u32,
            ) -> Result<Vec<::domain::rollup::Rollup>, ::store::Error> {
                let rows = ::sqlx::query($crate::tables_usage::rollup_select_sql())
                    .bind(tenant.to_string())
                    .bind(grain.as_str())
                    .bind($crate::micros(from))
                    .bind($crate::micros(to))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::map_err)?;
                rows.iter().map($crate::rollup_from_row).collect()
            }

            async fn rollup_sums(
                &self,
                tenant: ::domain::TenantId,
                grain: ::domain::rollup::Grain,
                from: ::time::OffsetDateTime,
                to: ::time::OffsetDateTime,
            ) -> Result<Vec<(String, ::domain::rollup::RollupFigures)>, ::store::Error> {
                let rows = ::sqlx::query($crate::tables_usage::rollup_sums_sql())
                    .bind(tenant.to_string())
                    .bind(grain.as_str())
                    .bind($crate::micros(from))
                    .bind($crate::micros(to))
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::map_err)?;
                rows.iter()
                    .map(|row| {
                        Ok((
                            $crate::SqlRow::text(row, "model_alias")?,
                            $crate::rollup_split_sums_from_row(row)?,
                        ))
                    })
                    .collect()
            }

            async fn add_adjustment(
                &self,
                adjustment: &::domain::ledger::Adjustment,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let a = adjustment;
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                // The write first: on SQLite a transaction that read before its first write
                // cannot take the write lock once the usage writer committed meanwhile ("database
                // is locked" at once, whatever the busy timeout); the audit head is the lock.
                Self::append_audit(&mut tx, audit).await?;
                let exists: Option<String> =
                    ::sqlx::query_scalar("select id from tenants where id = $1")
                        .bind(a.tenant_id.to_string())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err($crate::map_err)?;
                if exists.is_none() {
                    return Err(::store::Error::NotFound);
                }
                ::sqlx::query(
                    "insert into ledger_adjustments (id, tenant_id, kind, amount_nanos, reason, \
                     author_id, author, effective_at, created_at) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(a.id.to_string())
                .bind(a.tenant_id.to_string())
                .bind(a.kind.as_str())
                .bind(a.amount.nanos())
                .bind(&a.reason)
                .bind(a.author_id.to_string())
                .bind(&a.author)
                .bind($crate::micros(a.effective_at))
                .bind($crate::micros(a.created_at))
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                tx.commit().await.map_err($crate::map_err)
            }

            async fn adjustments_between(
                &self,
                tenant: ::domain::TenantId,
                from: ::time::OffsetDateTime,
                to: ::time::OffsetDateTime,
            ) -> Result<Vec<::domain::ledger::Adjustment>, ::store::Error> {
                let rows = ::sqlx::query(
                    "select id, tenant_id, kind, amount_nanos, reason, author_id, author, \
                     effective_at, created_at from ledger_adjustments \
                     where tenant_id = $1 and effective_at >= $2 and effective_at < $3 \
                     order by effective_at, id",
                )
                .bind(tenant.to_string())
                .bind($crate::micros(from))
                .bind($crate::micros(to))
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map($crate::adjustment_from_row).collect()
            }

            async fn backfill_rollups(&self) -> Result<u64, ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let claimed =
                    ::sqlx::query("update rollup_backfill set done = 1 where id = 1 and done = 0")
                        .execute(&mut *tx)
                        .await
                        .map_err($crate::map_err)?;
                if claimed.rows_affected() == 0 {
                    return Ok(0);
                }
                // Tenant by tenant, in pages along the (tenant, time) index: one scan of the
                // table, not one per page.
                let tenants: Vec<String> =
                    ::sqlx::query_scalar("select distinct tenant_id from usage_records")
                        .fetch_all(&mut *tx)
                        .await
                        .map_err($crate::map_err)?;
                let mut folded = 0;
                for tenant in tenants {
                    let mut after = (i64::MIN, String::new());
                    loop {
                        let rows = ::sqlx::query(concat!(
                            "select ",
                            $crate::usage_columns!(),
                            " from usage_records where tenant_id = $1 \
                             and (created_at, id) > ($2, $3) order by created_at, id limit $4"
                        ))
                        .bind(&tenant)
                        .bind(after.0)
                        .bind(&after.1)
                        .bind(i64::from($crate::tables_usage::USAGE_PAGE))
                        .fetch_all(&mut *tx)
                        .await
                        .map_err($crate::map_err)?;
                        let records = rows
                            .iter()
                            .map($crate::usage_from_row)
                            .collect::<Result<Vec<_>, _>>()?;
                        let Some(last) = records.last() else { break };
                        after = ($crate::micros(last.created_at), last.id.to_string());
                        Self::add_rollups(&mut tx, &::domain::rollup::fold(&records)).await?;
                        folded += records.len() as u64;
                    }
                }
                tx.commit().await.map_err($crate::map_err)?;
                Ok(folded)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_inserts_bind_every_column_of_every_row() {
        let one = usage_insert_sql(1, Placeholders::Numbered, true);
        assert!(one.contains(") values ($1, $2, "), "{one}");
        assert!(
            one.ends_with("$27) on conflict (id) do nothing returning id"),
            "{one}"
        );
        let plain = usage_insert_sql(1, Placeholders::Numbered, false);
        assert!(
            plain.ends_with("$27) on conflict (id) do nothing"),
            "{plain}"
        );
        let one = usage_insert_sql(1, Placeholders::Anonymous, false);
        assert!(one.contains(") values (?, ?, "), "{one}");
        assert!(!one.contains('$'), "{one}");
        assert_eq!(
            crate::usage_columns!().split(',').count(),
            USAGE_COLUMN_COUNT
        );
        for rows in [1, 2, 4, 8, 16, 32, 64] {
            let sql = usage_insert_sql(rows, Placeholders::Numbered, rows % 2 == 0);
            assert_eq!(sql.matches('$').count(), rows * USAGE_COLUMN_COUNT);
            assert!(sql.contains(&format!("${})", rows * USAGE_COLUMN_COUNT)));
            let sql = usage_insert_sql(rows, Placeholders::Anonymous, rows % 2 == 1);
            assert_eq!(sql.matches('?').count(), rows * USAGE_COLUMN_COUNT);
        }
        assert_eq!(Placeholders::of::<sqlx::Sqlite>(), Placeholders::Anonymous);
        assert_eq!(Placeholders::of::<sqlx::Postgres>(), Placeholders::Numbered);
    }

    #[test]
    fn rollup_upserts_bind_every_column_and_add_every_sum() {
        assert_eq!(rollup_columns().split(", ").count(), ROLLUP_COLUMN_COUNT);
        for (index, column) in LATENCY_COLUMNS.iter().enumerate() {
            assert_eq!(*column, format!("lat_{index:02}"));
        }
        for rows in [1, 2, 64] {
            let sql = rollup_upsert_sql(rows, Placeholders::Numbered);
            assert_eq!(
                sql.matches('$').count(),
                rows * ROLLUP_COLUMN_COUNT,
                "{sql}"
            );
            let sql = rollup_upsert_sql(rows, Placeholders::Anonymous);
            assert_eq!(sql.matches('?').count(), rows * ROLLUP_COLUMN_COUNT);
            assert_eq!(
                sql.matches(" + excluded.").count(),
                ROLLUP_SUM_COLUMNS.len() + LATENCY_BUCKETS,
                "every sum is added, no key is"
            );
            assert_eq!(
                sql.matches("else usage_rollups.").count(),
                SATURATING_COLUMNS.len(),
                "tokens and money saturate"
            );
            assert!(!sql.contains("grain = usage_rollups.grain"));
        }
    }
}
