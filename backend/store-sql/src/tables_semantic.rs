//! The semantic cache's kept answers: written off the request path, loaded when a node
//! starts, deleted once expired.

#[macro_export]
#[doc(hidden)]
macro_rules! impl_semantic_cache_store {
    ($store:ty, $db:ty) => {
        #[::async_trait::async_trait]
        impl ::store::SemanticCacheStore for $store {
            async fn put_semantic_entry(
                &self,
                tenant: ::domain::TenantId,
                entry: &::store::SemanticEntry,
            ) -> Result<(), ::store::Error> {
                ::sqlx::query(
                    "insert into semantic_cache_entries (tenant_id, id, alias, scope, vector, body, \
                     counts, deployment, created_at, expires_at) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(tenant.to_string())
                .bind(&entry.id)
                .bind(&entry.alias)
                .bind(&entry.scope)
                .bind($crate::vector_text(&entry.vector))
                .bind(&entry.body)
                .bind($crate::counts_text(&entry.counts))
                .bind(&entry.deployment)
                .bind($crate::micros(entry.created_at))
                .bind($crate::micros(entry.expires_at))
                .execute(&self.pool)
                .await
                // A missing tenant fails its foreign key: `NotFound`.
                .map_err($crate::map_err)?;
                Ok(())
            }

            async fn load_semantic_entries(
                &self,
                now: ::time::OffsetDateTime,
                limit: u32,
            ) -> Result<Vec<(::domain::TenantId, ::store::SemanticEntry)>, ::store::Error> {
                #[allow(clippy::type_complexity, reason = "one row's columns")]
                let rows: Vec<(String, String, String, String, String, String, String, String, i64, i64)> =
                    ::sqlx::query_as(
                        "select tenant_id, id, alias, scope, vector, body, counts, deployment, \
                         created_at, expires_at from semantic_cache_entries \
                         where expires_at > $1 order by created_at desc, id limit $2",
                    )
                    .bind($crate::micros(now))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::map_err)?;
                let mut res = Vec::with_capacity(rows.len());
                for (tenant, id, alias, scope, vector, body, counts, deployment, created, expires) in rows {
                    let tenant = tenant.parse().map_err(|e| ::store::Error::Other(Box::new(e)))?;
                    res.push((
                        tenant,
                        ::store::SemanticEntry {
                            id,
                            alias,
                            scope,
                            vector: $crate::vector_column(&vector)?,
                            body,
                            counts: $crate::counts_column(&counts)?,
                            deployment,
                            created_at: $crate::from_micros(created)?,
                            expires_at: $crate::from_micros(expires)?,
                        },
                    ));
                }
                Ok(res)
            }

            async fn delete_expired_semantic_entries(
                &self,
                now: ::time::OffsetDateTime,
            ) -> Result<u64, ::store::Error> {
                let done = ::sqlx::query("delete from semantic_cache_entries where expires_at <= $1")
                    .bind($crate::micros(now))
                    .execute(&self.pool)
                    .await
                    .map_err($crate::map_err)?;
                Ok(done.rows_affected())
            }
        }
    };
}
