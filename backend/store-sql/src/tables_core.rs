//! Tenants, keys and the access snapshot.

/// The columns of `api_keys`, as `key_from_row` reads them.
#[macro_export]
#[doc(hidden)]
macro_rules! key_columns {
    () => {
        "tenant_id, id, name, display_prefix, last_four, key_hash, allowed_models, \
         allowed_endpoints, ip_allowlist, limits, created_by, rotated_from, \
         created_at, expires_at, revoked_at, regions"
    };
}

#[macro_export]
#[doc(hidden)]
macro_rules! impl_core_store {
    ($store:ty, $db:ty, $backend:expr, $bump:expr, $snapshot:expr) => {
        impl $store {
            async fn bump_revision(
                tx: &mut ::sqlx::Transaction<'_, $db>,
            ) -> ::std::result::Result<(), ::store::Error> {
                ::sqlx::query($bump)
                    .execute(&mut **tx)
                    .await
                    .map_err($crate::map_err)?;
                Ok(())
            }

            /// Ends a change: appends its audit entry, bumps the revision (so every node's
            /// snapshot reloads) and commits, all or nothing.
            async fn commit_change(
                mut tx: ::sqlx::Transaction<'_, $db>,
                audit: &::domain::AuditEntry,
            ) -> ::std::result::Result<(), ::store::Error> {
                Self::append_audit(&mut tx, audit).await?;
                Self::bump_revision(&mut tx).await?;
                tx.commit().await.map_err($crate::map_err)
            }

            /// Appends `entry` to the audit chain inside `tx`: the head row is locked until
            /// the transaction ends, so appends are serialised and the chain has no forks.
            async fn append_audit(
                tx: &mut ::sqlx::Transaction<'_, $db>,
                entry: &::domain::AuditEntry,
            ) -> ::std::result::Result<(), ::store::Error> {
                let (seq, prev): (i64, String) = ::sqlx::query_as(
                    "update audit_head set seq = seq + 1 where id = 1 returning seq, hash",
                )
                .fetch_one(&mut **tx)
                .await
                .map_err($crate::map_err)?;
                let hash = ::domain::audit::chain_hash(&prev, seq, entry);
                ::sqlx::query("update audit_head set hash = $1 where id = 1")
                    .bind(&hash)
                    .execute(&mut **tx)
                    .await
                    .map_err($crate::map_err)?;
                ::sqlx::query(
                    "insert into audit_events (seq, id, tenant_id, actor_kind, actor_id, \
                     actor_label, action, target_kind, target_id, ip, before_json, after_json, \
                     created_at, prev_hash, hash) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                )
                .bind(seq)
                .bind(entry.id.to_string())
                .bind(entry.tenant_id.map(|it| it.to_string()))
                .bind(&entry.actor.kind)
                .bind(&entry.actor.id)
                .bind(&entry.actor.label)
                .bind(&entry.action)
                .bind(&entry.target_kind)
                .bind(&entry.target_id)
                .bind(&entry.ip)
                .bind(&entry.before)
                .bind(&entry.after)
                .bind($crate::micros(entry.created_at))
                .bind(&prev)
                .bind(&hash)
                .execute(&mut **tx)
                .await
                .map_err($crate::map_err)?;
                Ok(())
            }

            /// Inserts a key row inside `tx`.
            async fn insert_key_row(
                tx: &mut ::sqlx::Transaction<'_, $db>,
                tenant: ::domain::TenantId,
                key: &::domain::ApiKey,
            ) -> ::std::result::Result<(), ::store::Error> {
                let models = ::serde_json::to_string(&key.allowed_models)
                    .map_err(|e| ::store::Error::Other(Box::new(e)))?;
                let endpoints = ::serde_json::to_string(&key.scopes.endpoints)
                    .map_err(|e| ::store::Error::Other(Box::new(e)))?;
                let networks = ::serde_json::to_string(&key.scopes.ip_allowlist)
                    .map_err(|e| ::store::Error::Other(Box::new(e)))?;
                let limits = ::serde_json::to_string(&key.scopes.limits)
                    .map_err(|e| ::store::Error::Other(Box::new(e)))?;
                ::sqlx::query(
                    "insert into api_keys (tenant_id, id, name, display_prefix, last_four, key_hash, \
                     allowed_models, allowed_endpoints, ip_allowlist, limits, created_by, \
                     rotated_from, created_at, expires_at, revoked_at, regions) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
                )
                .bind(tenant.to_string())
                .bind(key.id.to_string())
                .bind(&key.name)
                .bind(&key.display_prefix)
                .bind(&key.last_four)
                .bind(key.hash.to_hex())
                .bind(models)
                .bind(endpoints)
                .bind(networks)
                .bind(limits)
                .bind(key.created_by.map(|it| it.to_string()))
                .bind(key.rotated_from.map(|it| it.to_string()))
                .bind($crate::micros(key.created_at))
                .bind(key.expires_at.map($crate::micros))
                .bind(key.revoked_at.map($crate::micros))
                .bind($crate::regions_text(&key.scopes.regions)?)
                .execute(&mut **tx)
                .await
                .map_err($crate::map_err)?;
                Ok(())
            }
        }

        #[::async_trait::async_trait]
        impl ::store::TenantStore for $store {
            async fn create_tenant(
                &self,
                tenant: &::domain::Tenant,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                ::sqlx::query("insert into tenants (id, name, status, partner_id, created_at) values ($1, $2, $3, $4, $5)")
                    .bind(tenant.id.to_string())
                    .bind(&tenant.name)
                    .bind(tenant.status.as_str())
                    .bind(tenant.partner_id.map(|it| it.to_string()))
                    .bind($crate::micros(tenant.created_at))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match $crate::map_err(e) {
                        ::store::Error::Conflict(_) => ::store::Error::Conflict(format!(
                            "a tenant named `{}` exists already",
                            tenant.name
                        )),
                        other => other,
                    })?;
                Self::commit_change(tx, audit).await
            }

            async fn get_tenant(&self, id: ::domain::TenantId) -> Result<::domain::Tenant, ::store::Error> {
                let row = ::sqlx::query("select id, name, status, partner_id, created_at from tenants where id = $1")
                    .bind(id.to_string())
                    .fetch_one(&self.pool)
                    .await
                    .map_err($crate::map_err)?;
                $crate::tenant_from_row(&row)
            }

            async fn find_tenant_by_name(
                &self,
                name: &str,
            ) -> Result<Option<::domain::Tenant>, ::store::Error> {
                let row = ::sqlx::query("select id, name, status, partner_id, created_at from tenants where name = $1")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::map_err)?;
                row.as_ref().map($crate::tenant_from_row).transpose()
            }

            async fn list_tenants(&self) -> Result<Vec<::domain::Tenant>, ::store::Error> {
                let rows = ::sqlx::query(
                    "select id, name, status, partner_id, created_at from tenants order by created_at, id",
                )
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map($crate::tenant_from_row).collect()
            }

            async fn set_tenant_status(
                &self,
                id: ::domain::TenantId,
                status: ::domain::TenantStatus,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let done = ::sqlx::query("update tenants set status = $1 where id = $2")
                    .bind(status.as_str())
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::map_err)?;
                $crate::one_row_changed(done.rows_affected())?;
                Self::commit_change(tx, audit).await
            }

            async fn tenant_regions(
                &self,
                id: ::domain::TenantId,
            ) -> Result<Vec<String>, ::store::Error> {
                let (regions,): (Option<String>,) =
                    ::sqlx::query_as("select regions from tenants where id = $1")
                        .bind(id.to_string())
                        .fetch_one(&self.pool)
                        .await
                        .map_err($crate::map_err)?;
                $crate::regions_column(regions.as_deref())
            }

            async fn set_tenant_regions(
                &self,
                id: ::domain::TenantId,
                regions: &[String],
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let stored = $crate::regions_text(regions)?;
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let done = ::sqlx::query("update tenants set regions = $1 where id = $2")
                    .bind(stored)
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::map_err)?;
                $crate::one_row_changed(done.rows_affected())?;
                Self::commit_change(tx, audit).await
            }

            async fn tenant_semantic_threshold(
                &self,
                id: ::domain::TenantId,
            ) -> Result<Option<::domain::tenant::SemanticThreshold>, ::store::Error> {
                let (parts,): (Option<i64>,) =
                    ::sqlx::query_as("select semantic_threshold from tenants where id = $1")
                        .bind(id.to_string())
                        .fetch_one(&self.pool)
                        .await
                        .map_err($crate::map_err)?;
                parts.map($crate::threshold_column).transpose()
            }

            async fn set_tenant_semantic_threshold(
                &self,
                id: ::domain::TenantId,
                threshold: Option<::domain::tenant::SemanticThreshold>,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let done = ::sqlx::query("update tenants set semantic_threshold = $1 where id = $2")
                    .bind(threshold.map(|it| i64::from(it.parts())))
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::map_err)?;
                $crate::one_row_changed(done.rows_affected())?;
                Self::commit_change(tx, audit).await
            }
        }

        #[::async_trait::async_trait]
        impl ::store::KeyStore for $store {
            async fn insert_key(
                &self,
                tenant: ::domain::TenantId,
                key: &::domain::ApiKey,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                if key.tenant_id != tenant {
                    return Err(::store::Error::Conflict("key belongs to another tenant".into()));
                }
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                Self::insert_key_row(&mut tx, tenant, key).await?;
                Self::commit_change(tx, audit).await
            }

            async fn update_key(
                &self,
                tenant: ::domain::TenantId,
                key: &::domain::ApiKey,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let json = |value: ::serde_json::Result<String>| {
                    value.map_err(|e| ::store::Error::Other(Box::new(e)))
                };
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let done = ::sqlx::query(
                    "update api_keys set name = $1, allowed_models = $2, allowed_endpoints = $3, \
                     ip_allowlist = $4, limits = $5, expires_at = $6, regions = $9 \
                     where tenant_id = $7 and id = $8 and revoked_at is null",
                )
                .bind(&key.name)
                .bind(json(::serde_json::to_string(&key.allowed_models))?)
                .bind(json(::serde_json::to_string(&key.scopes.endpoints))?)
                .bind(json(::serde_json::to_string(&key.scopes.ip_allowlist))?)
                .bind(json(::serde_json::to_string(&key.scopes.limits))?)
                .bind(key.expires_at.map($crate::micros))
                .bind(tenant.to_string())
                .bind(key.id.to_string())
                .bind($crate::regions_text(&key.scopes.regions)?)
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                $crate::one_row_changed(done.rows_affected())?;
                Self::commit_change(tx, audit).await
            }

            async fn rotate_key(
                &self,
                tenant: ::domain::TenantId,
                old: ::domain::ApiKeyId,
                old_expires_at: ::time::OffsetDateTime,
                new: &::domain::ApiKey,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                if new.tenant_id != tenant {
                    return Err(::store::Error::Conflict("key belongs to another tenant".into()));
                }
                let until = $crate::micros(old_expires_at);
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let done = ::sqlx::query(
                    "update api_keys set expires_at = case when expires_at is null or expires_at > $1 \
                     then $1 else expires_at end \
                     where tenant_id = $2 and id = $3 and revoked_at is null",
                )
                .bind(until)
                .bind(tenant.to_string())
                .bind(old.to_string())
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                $crate::one_row_changed(done.rows_affected())?;
                Self::insert_key_row(&mut tx, tenant, new).await?;
                Self::commit_change(tx, audit).await
            }

            async fn list_keys(
                &self,
                tenant: ::domain::TenantId,
            ) -> Result<Vec<::domain::ApiKey>, ::store::Error> {
                let rows = ::sqlx::query(concat!(
                    "select ",
                    $crate::key_columns!(),
                    " from api_keys where tenant_id = $1 order by created_at, id"
                ))
                .bind(tenant.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map($crate::key_from_row).collect()
            }

            async fn get_key(
                &self,
                tenant: ::domain::TenantId,
                key: ::domain::ApiKeyId,
            ) -> Result<::domain::ApiKey, ::store::Error> {
                let row = ::sqlx::query(concat!(
                    "select ",
                    $crate::key_columns!(),
                    " from api_keys where tenant_id = $1 and id = $2"
                ))
                .bind(tenant.to_string())
                .bind(key.to_string())
                .fetch_one(&self.pool)
                .await
                .map_err($crate::map_err)?;
                $crate::key_from_row(&row)
            }

            async fn revoke_key(
                &self,
                tenant: ::domain::TenantId,
                key: ::domain::ApiKeyId,
                at: ::time::OffsetDateTime,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let done = ::sqlx::query(
                    "update api_keys set revoked_at = coalesce(revoked_at, $1) \
                     where tenant_id = $2 and id = $3",
                )
                .bind($crate::micros(at))
                .bind(tenant.to_string())
                .bind(key.to_string())
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                $crate::one_row_changed(done.rows_affected())?;
                Self::commit_change(tx, audit).await
            }

            async fn key_owner(
                &self,
                key: ::domain::ApiKeyId,
            ) -> Result<Option<::domain::TenantId>, ::store::Error> {
                let owner: Option<String> =
                    ::sqlx::query_scalar("select tenant_id from api_keys where id = $1")
                        .bind(key.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err($crate::map_err)?;
                owner
                    .map(|it| it.parse().map_err(|e| ::store::Error::Other(Box::new(e))))
                    .transpose()
            }
        }

        #[::async_trait::async_trait]
        impl ::store::AccessStore for $store {
            async fn load_access(&self) -> Result<::store::AccessData, ::store::Error> {
                // One transaction, so keys and tenants come from the same moment.
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let snapshot: Option<&str> = $snapshot;
                if let Some(statement) = snapshot {
                    ::sqlx::query(statement)
                        .execute(&mut *tx)
                        .await
                        .map_err($crate::map_err)?;
                }
                let keys = ::sqlx::query(concat!(
                    "select ",
                    $crate::key_columns!(),
                    " from api_keys where revoked_at is null order by created_at, id"
                ))
                .fetch_all(&mut *tx)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map($crate::key_from_row)
                .collect::<Result<_, _>>()?;
                let tenants = ::sqlx::query(
                    "select id, name, status, partner_id, created_at from tenants order by created_at, id",
                )
                .fetch_all(&mut *tx)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map($crate::tenant_from_row)
                .collect::<Result<_, _>>()?;
                let credentials = ::sqlx::query(
                    "select tenant_id, id, name, provider, base_url, sealed, mask, created_by, \
                     created_at from provider_credentials order by created_at, id",
                )
                .fetch_all(&mut *tx)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map($crate::credential_from_row)
                .collect::<Result<_, _>>()?;
                let service_accounts = ::sqlx::query(concat!(
                    "select ",
                    $crate::service_account_columns!(),
                    " from service_accounts where revoked_at is null order by created_at, id"
                ))
                .fetch_all(&mut *tx)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map($crate::service_account_from_row)
                .collect::<Result<_, _>>()?;
                let signing_keys = ::sqlx::query(concat!(
                    "select ",
                    $crate::signing_key_columns!(),
                    " from signing_keys where retired_at is null or retired_at > $1 \
                     order by created_at desc, kid desc"
                ))
                .bind($crate::micros(::time::OffsetDateTime::now_utc()))
                .fetch_all(&mut *tx)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map($crate::signing_key_from_row)
                .collect::<Result<_, _>>()?;
                let partners = $crate::load_partners!(tx, "")?;
                let mut reach: Vec<::store::TenantReach> = ::sqlx::query(
                    "select user_id, tenant_id, role from memberships order by tenant_id, user_id",
                )
                .fetch_all(&mut *tx)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map($crate::reach_from_row)
                .collect::<Result<_, _>>()?;
                let partner_reach = ::sqlx::query(
                    "select pa.user_id as user_id, t.id as tenant_id, null as role \
                     from partner_admins pa join tenants t on t.partner_id = pa.partner_id \
                     order by t.id, pa.user_id",
                )
                .fetch_all(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                for row in &partner_reach {
                    reach.push($crate::reach_from_row(row)?);
                }
                let region_rows: Vec<(String, String)> = ::sqlx::query_as(
                    "select id, regions from tenants where regions is not null order by id",
                )
                .fetch_all(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                let mut tenant_regions = Vec::with_capacity(region_rows.len());
                for (id, regions) in region_rows {
                    let id = id.parse().map_err(|e| ::store::Error::Other(Box::new(e)))?;
                    tenant_regions.push((id, $crate::regions_column(Some(&regions))?));
                }
                let threshold_rows: Vec<(String, i64)> = ::sqlx::query_as(
                    "select id, semantic_threshold from tenants \
                     where semantic_threshold is not null order by id",
                )
                .fetch_all(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                let mut semantic_thresholds = Vec::with_capacity(threshold_rows.len());
                for (id, parts) in threshold_rows {
                    let id = id.parse().map_err(|e| ::store::Error::Other(Box::new(e)))?;
                    semantic_thresholds.push((id, $crate::threshold_column(parts)?));
                }
                let routes = ::sqlx::query(
                    "select tenant_id, alias, spec, updated_by, created_at, updated_at \
                     from tenant_routes order by tenant_id, alias",
                )
                .fetch_all(&mut *tx)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map($crate::route_from_row)
                .collect::<Result<_, _>>()?;
                let operators = ::sqlx::query("select id from users where is_operator order by id")
                    .fetch_all(&mut *tx)
                    .await
                    .map_err($crate::map_err)?
                    .iter()
                    .map($crate::user_id_from_row)
                    .collect::<Result<_, _>>()?;
                let (prices, markups) = $crate::load_prices!(tx)?;
                let limit_policies = $crate::load_limit_policies!(tx)?;
                let credit_accounts = ::sqlx::query($crate::credit_account_select!(""))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err($crate::map_err)?
                    .iter()
                    .map($crate::credit_account_from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                let payment_holds = $crate::load_payment_holds!(tx)?;
                tx.commit().await.map_err($crate::map_err)?;
                Ok(::store::AccessData {
                    keys,
                    tenants,
                    credentials,
                    service_accounts,
                    signing_keys,
                    partners,
                    reach,
                    operators,
                    routes,
                    tenant_regions,
                    semantic_thresholds,
                    prices,
                    markups,
                    limit_policies,
                    credit_accounts,
                    payment_holds,
                })
            }

            async fn revision(&self) -> Result<i64, ::store::Error> {
                ::sqlx::query_scalar("select revision from store_revision where id = 1")
                    .fetch_one(&self.pool)
                    .await
                    .map_err($crate::map_err)
            }
        }

        #[::async_trait::async_trait]
        impl ::store::Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn ping(&self) -> Result<(), ::store::Error> {
                ::sqlx::query("select 1")
                    .execute(&self.pool)
                    .await
                    .map(|_| ())
                    .map_err(|e| ::store::Error::Unavailable(Box::new(e)))
            }
        }
    };
}
