//! Single sign-on states and domain rules.

#[macro_export]
#[doc(hidden)]
macro_rules! impl_sso_store {
    ($store:ty, $db:ty) => {
        #[::async_trait::async_trait]
        impl ::store::SsoStore for $store {
            async fn create_sso_state(
                &self,
                state: &::domain::sso::SsoState,
            ) -> Result<(), ::store::Error> {
                // Expired states of abandoned sign-ins go as new ones arrive.
                ::sqlx::query("delete from sso_states where expires_at < $1")
                    .bind($crate::micros(state.created_at))
                    .execute(&self.pool)
                    .await
                    .map_err($crate::map_err)?;
                ::sqlx::query(
                    "insert into sso_states (state_hash, provider, nonce, pkce_verifier, return_to, \
                     created_at, expires_at) values ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(state.state_hash.to_hex())
                .bind(&state.provider)
                .bind(&state.nonce)
                .bind(&state.pkce_verifier)
                .bind(&state.return_to)
                .bind($crate::micros(state.created_at))
                .bind($crate::micros(state.expires_at))
                .execute(&self.pool)
                .await
                .map_err($crate::map_err)?;
                Ok(())
            }

            async fn take_sso_state(
                &self,
                state_hash: ::domain::KeyHash,
            ) -> Result<Option<::domain::sso::SsoState>, ::store::Error> {
                let row: Option<(String, String, String, String, i64, i64)> = ::sqlx::query_as(
                    "delete from sso_states where state_hash = $1 returning provider, nonce, \
                     pkce_verifier, return_to, created_at, expires_at",
                )
                .bind(state_hash.to_hex())
                .fetch_optional(&self.pool)
                .await
                .map_err($crate::map_err)?;
                row.map(|(provider, nonce, pkce_verifier, return_to, created, expires)| {
                    Ok(::domain::sso::SsoState {
                        state_hash,
                        provider,
                        nonce,
                        pkce_verifier,
                        return_to,
                        created_at: $crate::from_micros(created)?,
                        expires_at: $crate::from_micros(expires)?,
                    })
                })
                .transpose()
            }

            async fn set_sso_domain(
                &self,
                rule: &::domain::sso::SsoDomain,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let done = ::sqlx::query(
                    "update sso_domains set provider = $1 where domain = $2 and tenant_id = $3",
                )
                .bind(&rule.provider)
                .bind(&rule.domain)
                .bind(rule.tenant_id.to_string())
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                if done.rows_affected() == 0 {
                    ::sqlx::query(
                        "insert into sso_domains (domain, tenant_id, provider, created_at) \
                         values ($1, $2, $3, $4)",
                    )
                    .bind(&rule.domain)
                    .bind(rule.tenant_id.to_string())
                    .bind(&rule.provider)
                    .bind($crate::micros(rule.created_at))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match $crate::map_err(e) {
                        ::store::Error::Conflict(_) => ::store::Error::Conflict(
                            "another organisation requires single sign-on for that domain".into(),
                        ),
                        other => other,
                    })?;
                }
                Self::append_audit(&mut tx, audit).await?;
                tx.commit().await.map_err($crate::map_err)
            }

            async fn remove_sso_domain(
                &self,
                tenant: ::domain::TenantId,
                domain: &str,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let done =
                    ::sqlx::query("delete from sso_domains where tenant_id = $1 and domain = $2")
                        .bind(tenant.to_string())
                        .bind(domain)
                        .execute(&mut *tx)
                        .await
                        .map_err($crate::map_err)?;
                $crate::one_row_changed(done.rows_affected())?;
                Self::append_audit(&mut tx, audit).await?;
                tx.commit().await.map_err($crate::map_err)
            }

            async fn list_sso_domains(
                &self,
                tenant: ::domain::TenantId,
            ) -> Result<Vec<::domain::sso::SsoDomain>, ::store::Error> {
                let rows: Vec<(String, String, String, i64)> = ::sqlx::query_as(
                    "select domain, tenant_id, provider, created_at from sso_domains \
                     where tenant_id = $1 order by created_at, domain",
                )
                .bind(tenant.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?;
                rows.into_iter().map($crate::sso_domain_from_tuple).collect()
            }

            async fn sso_domain(
                &self,
                domain: &str,
            ) -> Result<Option<::domain::sso::SsoDomain>, ::store::Error> {
                let row: Option<(String, String, String, i64)> = ::sqlx::query_as(
                    "select domain, tenant_id, provider, created_at from sso_domains where domain = $1",
                )
                .bind(domain)
                .fetch_optional(&self.pool)
                .await
                .map_err($crate::map_err)?;
                row.map($crate::sso_domain_from_tuple).transpose()
            }
        }
    };
}
