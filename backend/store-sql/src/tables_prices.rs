//! The stored price lists and markups: rows only ever added.

/// Every stored price entry and markup on `$executor`, oldest first.
#[macro_export]
#[doc(hidden)]
macro_rules! load_prices {
    ($executor:expr) => {
        async {
            let entries = ::sqlx::query(
                "select scope, scope_id, provider, model, effective_from, input_nanos, \
                 output_nanos, cached_input_nanos, cache_write_nanos, reasoning_nanos \
                 from price_entries order by created_at, id",
            )
            .fetch_all(&mut *$executor)
            .await
            .map_err($crate::map_err)?
            .iter()
            .map($crate::price_entry_from_row)
            .collect::<Result<Vec<_>, ::store::Error>>()?;
            let markups = ::sqlx::query(
                "select scope, scope_id, effective_from, basis_points \
                 from price_markups order by created_at, id",
            )
            .fetch_all(&mut *$executor)
            .await
            .map_err($crate::map_err)?
            .iter()
            .map($crate::markup_from_row)
            .collect::<Result<Vec<_>, ::store::Error>>()?;
            Ok::<_, ::store::Error>((entries, markups))
        }
        .await
    };
}

#[macro_export]
#[doc(hidden)]
macro_rules! impl_price_store {
    ($store:ty, $db:ty) => {
        #[::async_trait::async_trait]
        impl ::store::PriceStore for $store {
            async fn list_prices(
                &self,
            ) -> Result<
                (
                    Vec<::domain::pricing::PriceEntry>,
                    Vec<::domain::pricing::MarkupEntry>,
                ),
                ::store::Error,
            > {
                let mut conn = self.pool.acquire().await.map_err($crate::map_err)?;
                $crate::load_prices!(conn)
            }

            async fn add_price(
                &self,
                entry: &::domain::pricing::PriceEntry,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let (scope, scope_id) = $crate::scope_columns(entry.scope);
                let rates = &entry.rates;
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                ::sqlx::query(
                    "insert into price_entries (id, scope, scope_id, provider, model, \
                     effective_from, input_nanos, output_nanos, cached_input_nanos, \
                     cache_write_nanos, reasoning_nanos, created_by, created_at) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                )
                .bind(audit.id.to_string())
                .bind(scope)
                .bind(scope_id)
                .bind(&entry.provider)
                .bind(&entry.model)
                .bind($crate::micros(entry.effective_from))
                .bind(rates.input.nanos())
                .bind(rates.output.nanos())
                .bind(rates.cached_input.map(::domain::pricing::Money::nanos))
                .bind(rates.cache_write.map(::domain::pricing::Money::nanos))
                .bind(rates.reasoning.map(::domain::pricing::Money::nanos))
                .bind(audit.actor.id.clone())
                .bind($crate::micros(audit.created_at))
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                Self::commit_change(tx, audit).await
            }

            async fn add_markup(
                &self,
                markup: &::domain::pricing::MarkupEntry,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let (scope, scope_id) = $crate::scope_columns(markup.scope);
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                ::sqlx::query(
                    "insert into price_markups (id, scope, scope_id, effective_from, \
                     basis_points, created_by, created_at) values ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(audit.id.to_string())
                .bind(scope)
                .bind(scope_id)
                .bind($crate::micros(markup.effective_from))
                .bind(i64::from(markup.basis_points))
                .bind(audit.actor.id.clone())
                .bind($crate::micros(audit.created_at))
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                Self::commit_change(tx, audit).await
            }
        }
    };
}
