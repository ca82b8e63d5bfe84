//! Service accounts and token signing keys.

/// The columns `service_account_from_row` reads.
#[macro_export]
#[doc(hidden)]
macro_rules! service_account_columns {
    () => {
        "tenant_id, id, name, secret_hash, secret_last_four, allowed_models, scopes, created_by, \
         created_at, revoked_at"
    };
}

/// The columns `signing_key_from_row` reads.
#[macro_export]
#[doc(hidden)]
macro_rules! signing_key_columns {
    () => {
        "kid, algorithm, private_key, public_jwk, created_at, retired_at"
    };
}

#[macro_export]
#[doc(hidden)]
macro_rules! impl_service_account_store {
    ($store:ty, $db:ty) => {
        #[::async_trait::async_trait]
        impl ::store::ServiceAccountStore for $store {
            async fn create_service_account(
                &self,
                account: &::domain::service_account::ServiceAccount,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let models = ::serde_json::to_string(&account.allowed_models)
                    .map_err(|e| ::store::Error::Other(Box::new(e)))?;
                let scopes = ::serde_json::to_string(&account.scopes)
                    .map_err(|e| ::store::Error::Other(Box::new(e)))?;
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                ::sqlx::query(concat!(
                    "insert into service_accounts (",
                    $crate::service_account_columns!(),
                    ") values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                ))
                .bind(account.tenant_id.to_string())
                .bind(account.id.to_string())
                .bind(&account.name)
                .bind(account.secret_hash.to_hex())
                .bind(&account.secret_last_four)
                .bind(models)
                .bind(scopes)
                .bind(account.created_by.map(|it| it.to_string()))
                .bind($crate::micros(account.created_at))
                .bind(account.revoked_at.map($crate::micros))
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                Self::commit_change(tx, audit).await
            }

            async fn list_service_accounts(
                &self,
                tenant: ::domain::TenantId,
            ) -> Result<Vec<::domain::service_account::ServiceAccount>, ::store::Error> {
                ::sqlx::query(concat!(
                    "select ",
                    $crate::service_account_columns!(),
                    " from service_accounts where tenant_id = $1 order by created_at, id"
                ))
                .bind(tenant.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map($crate::service_account_from_row)
                .collect()
            }

            async fn get_service_account(
                &self,
                tenant: ::domain::TenantId,
                id: ::domain::ServiceAccountId,
            ) -> Result<::domain::service_account::ServiceAccount, ::store::Error> {
                let row = ::sqlx::query(concat!(
                    "select ",
                    $crate::service_account_columns!(),
                    " from service_accounts where tenant_id = $1 and id = $2"
                ))
                .bind(tenant.to_string())
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err($crate::map_err)?
                .ok_or(::store::Error::NotFound)?;
                $crate::service_account_from_row(&row)
            }

            async fn find_service_account(
                &self,
                id: ::domain::ServiceAccountId,
            ) -> Result<Option<::domain::service_account::ServiceAccount>, ::store::Error> {
                ::sqlx::query(concat!(
                    "select ",
                    $crate::service_account_columns!(),
                    " from service_accounts where id = $1"
                ))
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err($crate::map_err)?
                .as_ref()
                .map($crate::service_account_from_row)
                .transpose()
            }

            async fn revoke_service_account(
                &self,
                tenant: ::domain::TenantId,
                id: ::domain::ServiceAccountId,
                at: ::time::OffsetDateTime,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let done = ::sqlx::query(
                    "update service_accounts set revoked_at = $1 \
                     where tenant_id = $2 and id = $3 and revoked_at is null",
                )
                .bind($crate::micros(at))
                .bind(tenant.to_string())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                $crate::one_row_changed(done.rows_affected())?;
                Self::commit_change(tx, audit).await
            }

            async fn replace_service_account_secret(
                &self,
                tenant: ::domain::TenantId,
                id: ::domain::ServiceAccountId,
                secret_hash: ::domain::KeyHash,
                secret_last_four: &str,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let done = ::sqlx::query(
                    "update service_accounts set secret_hash = $1, secret_last_four = $2 \
                     where tenant_id = $3 and id = $4 and revoked_at is null",
                )
                .bind(secret_hash.to_hex())
                .bind(secret_last_four)
                .bind(tenant.to_string())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                $crate::one_row_changed(done.rows_affected())?;
                Self::commit_change(tx, audit).await
            }

            async fn insert_signing_key(
                &self,
                key: &::domain::service_account::SigningKey,
                retire_others_at: ::time::OffsetDateTime,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let sealed = ::serde_json::to_string(&key.private_key)
                    .map_err(|e| ::store::Error::Other(Box::new(e)))?;
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                ::sqlx::query("update signing_keys set retired_at = $1 where retired_at is null or retired_at > $1")
                    .bind($crate::micros(retire_others_at))
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::map_err)?;
                ::sqlx::query(concat!(
                    "insert into signing_keys (",
                    $crate::signing_key_columns!(),
                    ") values ($1, $2, $3, $4, $5, $6)"
                ))
                .bind(&key.kid)
                .bind(&key.algorithm)
                .bind(sealed)
                .bind(&key.public_jwk)
                .bind($crate::micros(key.created_at))
                .bind(key.retired_at.map($crate::micros))
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                Self::commit_change(tx, audit).await
            }

            async fn signing_keys(
                &self,
            ) -> Result<Vec<::domain::service_account::SigningKey>, ::store::Error> {
                ::sqlx::query(concat!(
                    "select ",
                    $crate::signing_key_columns!(),
                    " from signing_keys order by created_at desc, kid desc"
                ))
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map($crate::signing_key_from_row)
                .collect()
            }
        }
    };
}
