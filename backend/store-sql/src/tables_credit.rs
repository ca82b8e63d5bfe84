//! Prepaid credit: top-ups (one per tenant and reference) and accounts, whose balance is summed
//! by the database: day rollups for whole days, hour rollups for the day's whole hours, and the
//! records themselves for the last part of an hour.

/// `select <every column> from credit_accounts <tail>`, as one literal.
#[macro_export]
#[doc(hidden)]
macro_rules! credit_account_select {
    ($tail:literal) => {
        concat!(
            "select tenant_id, stop_at_zero, as_of, balance_nanos from credit_accounts ",
            $tail
        )
    };
}

/// `select <sum of whole units>, <sum of nano-unit remainders>` of a money column.
#[macro_export]
#[doc(hidden)]
macro_rules! credit_split_sum {
    ($column:literal) => {
        concat!(
            "select cast(coalesce(sum(",
            $column,
            " / 1000000000), 0) as bigint), ",
            "cast(coalesce(sum(",
            $column,
            " % 1000000000), 0) as bigint)"
        )
    };
}

#[macro_export]
#[doc(hidden)]
macro_rules! impl_credit_store {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Top-ups less prices and corrections of the tenant's time before `at`, on `conn`.
            /// Each sum is taken as whole units and nano-unit remainders (`SPLIT_SUM`), which
            /// neither engine's integer sum can overflow, and put together exactly here,
            /// saturating: absurd amounts cannot make the balance fail to add up.
            async fn credit_balance_on(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                tenant: ::domain::TenantId,
                at: ::time::OffsetDateTime,
            ) -> Result<::domain::pricing::Money, ::store::Error> {
                use ::domain::rollup::Grain;
                let tenant = tenant.to_string();
                let day = $crate::micros(Grain::Day.floor(at));
                let hour = $crate::micros(Grain::Hour.floor(at));
                let at = $crate::micros(at);
                let whole = $crate::split_nanos;
                let top_ups: (i64, i64) = ::sqlx::query_as(concat!(
                    $crate::credit_split_sum!("amount_nanos"),
                    " from credit_topups where tenant_id = $1 and created_at < $2"
                ))
                .bind(&tenant)
                .bind(at)
                .fetch_one(&mut *conn)
                .await
                .map_err($crate::map_err)?;
                let corrections: (i64, i64) = ::sqlx::query_as(concat!(
                    $crate::credit_split_sum!("amount_nanos"),
                    " from ledger_adjustments where tenant_id = $1 and effective_at < $2"
                ))
                .bind(&tenant)
                .bind(at)
                .fetch_one(&mut *conn)
                .await
                .map_err($crate::map_err)?;
                let mut spent: i128 = 0;
                for (grain, from, to) in [(Grain::Day, i64::MIN, day), (Grain::Hour, day, hour)] {
                    let part: (i64, i64) = ::sqlx::query_as(concat!(
                        $crate::credit_split_sum!("price_nanos"),
                        " from usage_rollups where tenant_id = $1 and grain = $2 \
                         and start_at >= $3 and start_at < $4 and shadow = 0"
                    ))
                    .bind(&tenant)
                    .bind(grain.as_str())
                    .bind(from)
                    .bind(to)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err($crate::map_err)?;
                    spent += whole(part);
                }
                let recent: (i64, i64) = ::sqlx::query_as(concat!(
                    $crate::credit_split_sum!("price_nanos"),
                    " from usage_records where tenant_id = $1 and created_at >= $2 \
                     and created_at < $3 and status <> 'shadow'"
                ))
                .bind(&tenant)
                .bind(hour)
                .bind(at)
                .fetch_one(&mut *conn)
                .await
                .map_err($crate::map_err)?;
                spent += whole(recent);
                Ok($crate::saturated(whole(top_ups) - spent - whole(corrections)))
            }
        }

        #[::async_trait::async_trait]
        impl ::store::CreditStore for $store {
            async fn add_top_up(
                &self,
                top_up: &::domain::credit::TopUp,
                audit: &::domain::AuditEntry,
            ) -> Result<(::domain::credit::TopUp, bool), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                Self::append_audit(&mut tx, audit).await?;
                let exists: Option<String> =
                    ::sqlx::query_scalar("select id from tenants where id = $1")
                        .bind(top_up.tenant_id.to_string())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err($crate::map_err)?;
                if exists.is_none() {
                    return Err(::store::Error::NotFound);
                }
                let added = ::sqlx::query(
                    "insert into credit_topups (id, tenant_id, amount_nanos, reference, reason, \
                     author, created_at) values ($1, $2, $3, $4, $5, $6, $7) \
                     on conflict (tenant_id, reference) do nothing",
                )
                .bind(top_up.id.to_string())
                .bind(top_up.tenant_id.to_string())
                .bind(top_up.amount.nanos())
                .bind(&top_up.reference)
                .bind(&top_up.reason)
                .bind(&top_up.author)
                .bind($crate::micros(top_up.created_at))
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?
                .rows_affected();
                if added == 0 {
                    // A replay: nothing added, nothing audited; the first one answered.
                    let row = ::sqlx::query(
                        "select id, tenant_id, amount_nanos, reference, reason, author, \
                         created_at from credit_topups where tenant_id = $1 and reference = $2",
                    )
                    .bind(top_up.tenant_id.to_string())
                    .bind(&top_up.reference)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err($crate::map_err)?;
                    return Ok(($crate::top_up_from_row(&row)?, false));
                }
                tx.commit().await.map_err($crate::map_err)?;
                Ok((top_up.clone(), true))
            }

            async fn list_top_ups(
                &self,
                tenant: ::domain::TenantId,
                limit: u32,
            ) -> Result<Vec<::domain::credit::TopUp>, ::store::Error> {
                let rows = ::sqlx::query(
                    "select id, tenant_id, amount_nanos, reference, reason, author, created_at \
                     from credit_topups where tenant_id = $1 \
                     order by created_at desc, id desc limit $2",
                )
                .bind(tenant.to_string())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map($crate::top_up_from_row).collect()
            }

            async fn set_credit_account(
                &self,
                tenant: ::domain::TenantId,
                stop_at_zero: bool,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                // The write first: a transaction that read before it wrote could not take
                // SQLite's write lock from a concurrent writer.
                ::sqlx::query(
                    "insert into credit_accounts (tenant_id, stop_at_zero, as_of, balance_nanos) \
                     values ($1, $2, 0, 0) \
                     on conflict (tenant_id) do update set stop_at_zero = excluded.stop_at_zero",
                )
                .bind(tenant.to_string())
                .bind(stop_at_zero)
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                let exists: Option<String> =
                    ::sqlx::query_scalar("select id from tenants where id = $1")
                        .bind(tenant.to_string())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err($crate::map_err)?;
                if exists.is_none() {
                    return Err(::store::Error::NotFound);
                }
                Self::commit_change(tx, audit).await
            }

            async fn credit_account(
                &self,
                tenant: ::domain::TenantId,
            ) -> Result<Option<::domain::credit::CreditAccount>, ::store::Error> {
                ::sqlx::query($crate::credit_account_select!("where tenant_id = $1"))
                    .bind(tenant.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map($crate::credit_account_from_row)
                    .transpose()
            }

            async fn credit_balance_at(
                &self,
                tenant: ::domain::TenantId,
                at: ::time::OffsetDateTime,
            ) -> Result<::domain::pricing::Money, ::store::Error> {
                let mut conn = self.pool.acquire().await.map_err($crate::map_err)?;
                Self::credit_balance_on(&mut conn, tenant, at).await
            }

            async fn rebase_credit(
                &self,
                tenant: ::domain::TenantId,
                at: ::time::OffsetDateTime,
            ) -> Result<Option<::domain::credit::CreditAccount>, ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                // Lock the account first (SQLite's write lock, Postgres's row): rebases of one
                // tenant run one after the other, and none reads before it may write.
                ::sqlx::query("update credit_accounts set as_of = as_of where tenant_id = $1")
                    .bind(tenant.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::map_err)?;
                let balance = Self::credit_balance_on(&mut tx, tenant, at).await?;
                let updated = ::sqlx::query(
                    "update credit_accounts set as_of = $1, balance_nanos = $2 \
                     where tenant_id = $3 and as_of <= $1",
                )
                .bind($crate::micros(at))
                .bind(balance.nanos())
                .bind(tenant.to_string())
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?
                .rows_affected();
                if updated > 0 {
                    Self::bump_revision(&mut tx).await?;
                }
                let account = ::sqlx::query($crate::credit_account_select!("where tenant_id = $1"))
                    .bind(tenant.to_string())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map($crate::credit_account_from_row)
                    .transpose()?;
                tx.commit().await.map_err($crate::map_err)?;
                Ok(account)
            }

            async fn credit_accounts(
                &self,
            ) -> Result<Vec<::domain::credit::CreditAccount>, ::store::Error> {
                ::sqlx::query($crate::credit_account_select!("order by tenant_id"))
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::map_err)?
                    .iter()
                    .map($crate::credit_account_from_row)
                    .collect()
            }
        }
    };
}
