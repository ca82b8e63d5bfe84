//! Provider credentials, sealed at rest, and the model aliases tenants build on them.

#[macro_export]
#[doc(hidden)]
macro_rules! impl_credential_store {
    ($store:ty, $db:ty) => {
        #[::async_trait::async_trait]
        impl ::store::CredentialStore for $store {
            async fn create_credential(
                &self,
                credential: &::domain::credential::ProviderCredential,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let sealed = ::serde_json::to_string(&credential.sealed)
                    .map_err(|e| ::store::Error::Other(Box::new(e)))?;
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                ::sqlx::query(
                    "insert into provider_credentials (tenant_id, id, name, provider, base_url, \
                     sealed, mask, created_by, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(credential.tenant_id.to_string())
                .bind(credential.id.to_string())
                .bind(&credential.name)
                .bind(&credential.provider)
                .bind(&credential.base_url)
                .bind(sealed)
                .bind(&credential.mask)
                .bind(credential.created_by.map(|it| it.to_string()))
                .bind($crate::micros(credential.created_at))
                .execute(&mut *tx)
                .await
                .map_err(|e| match $crate::map_err(e) {
                    ::store::Error::Conflict(_) => ::store::Error::Conflict(format!(
                        "the tenant has a credential named `{}` or one for provider `{}` already",
                        credential.name, credential.provider
                    )),
                    other => other,
                })?;
                Self::commit_change(tx, audit).await
            }

            async fn list_credentials(
                &self,
                tenant: ::domain::TenantId,
            ) -> Result<Vec<::domain::credential::ProviderCredential>, ::store::Error> {
                let rows = ::sqlx::query(
                    "select tenant_id, id, name, provider, base_url, sealed, mask, created_by, created_at \
                     from provider_credentials where tenant_id = $1 order by created_at, id",
                )
                .bind(tenant.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map($crate::credential_from_row).collect()
            }

            async fn delete_credential(
                &self,
                tenant: ::domain::TenantId,
                id: ::domain::CredentialId,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let done = ::sqlx::query("delete from provider_credentials where tenant_id = $1 and id = $2")
                    .bind(tenant.to_string())
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::map_err)?;
                $crate::one_row_changed(done.rows_affected())?;
                Self::commit_change(tx, audit).await
            }

            async fn sealed_secrets(
                &self,
            ) -> Result<Vec<(::store::SecretRef, ::domain::crypto::Sealed)>, ::store::Error> {
                let credentials: Vec<(String, String)> =
                    ::sqlx::query_as("select id, sealed from provider_credentials order by id")
                        .fetch_all(&self.pool)
                        .await
                        .map_err($crate::map_err)?;
                let signing_keys: Vec<(String, String)> =
                    ::sqlx::query_as("select kid, private_key from signing_keys order by kid")
                        .fetch_all(&self.pool)
                        .await
                        .map_err($crate::map_err)?;
                let webhooks: Vec<(String, String, String)> = ::sqlx::query_as(
                    "select recipient, recipient_id, secret from webhook_endpoints \
                     order by recipient, recipient_id",
                )
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?;
                let corrupt = |e: ::serde_json::Error| ::store::Error::Other(Box::new(e));
                let mut res =
                    Vec::with_capacity(credentials.len() + signing_keys.len() + webhooks.len());
                for (id, sealed) in credentials {
                    let id = id.parse().map_err(|e| ::store::Error::Other(Box::new(e)))?;
                    res.push((
                        ::store::SecretRef::Credential(id),
                        ::serde_json::from_str(&sealed).map_err(corrupt)?,
                    ));
                }
                for (kid, sealed) in signing_keys {
                    res.push((
                        ::store::SecretRef::SigningKey(kid),
                        ::serde_json::from_str(&sealed).map_err(corrupt)?,
                    ));
                }
                for (recipient, id, sealed) in webhooks {
                    res.push((
                        ::store::SecretRef::Webhook($crate::recipient_of(&recipient, &id)?),
                        ::serde_json::from_str(&sealed).map_err(corrupt)?,
                    ));
                }
                Ok(res)
            }

            async fn reseal_secrets(
                &self,
                resealed: &[(::store::SecretRef, ::domain::crypto::Sealed)],
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                for (target, sealed) in resealed {
                    let sealed = ::serde_json::to_string(sealed)
                        .map_err(|e| ::store::Error::Other(Box::new(e)))?;
                    let (statement, id, recipient) = match target {
                        ::store::SecretRef::Credential(id) => (
                            "update provider_credentials set sealed = $1 where id = $2",
                            id.to_string(),
                            "",
                        ),
                        ::store::SecretRef::SigningKey(kid) => (
                            "update signing_keys set private_key = $1 where kid = $2",
                            kid.clone(),
                            "",
                        ),
                        ::store::SecretRef::Webhook(recipient) => {
                            let (recipient, id) = $crate::recipient_columns(*recipient);
                            (
                                "update webhook_endpoints set secret = $1 \
                                 where recipient_id = $2 and recipient = $3",
                                id,
                                recipient,
                            )
                        }
                    };
                    let query = ::sqlx::query(statement).bind(sealed).bind(id);
                    let query = if recipient.is_empty() {
                        query
                    } else {
                        query.bind(recipient)
                    };
                    query
                        .execute(&mut *tx)
                        .await
                        .map_err($crate::map_err)?;
                }
                Self::append_audit(&mut tx, audit).await?;
                tx.commit().await.map_err($crate::map_err)
            }
        }
    };
}

#[macro_export]
#[doc(hidden)]
macro_rules! impl_route_store {
    ($store:ty, $db:ty) => {
        #[::async_trait::async_trait]
        impl ::store::RouteStore for $store {
            async fn list_routes(
                &self,
                tenant: ::domain::TenantId,
            ) -> Result<Vec<::domain::route::TenantRoute>, ::store::Error> {
                let rows = ::sqlx::query(
                    "select tenant_id, alias, spec, updated_by, created_at, updated_at \
                     from tenant_routes where tenant_id = $1 order by alias",
                )
                .bind(tenant.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map($crate::route_from_row).collect()
            }

            async fn put_route(
                &self,
                route: &::domain::route::TenantRoute,
                audit: &::domain::AuditEntry,
            ) -> Result<bool, ::store::Error> {
                let spec = ::serde_json::to_string(&route.spec)
                    .map_err(|e| ::store::Error::Other(Box::new(e)))?;
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let updated = ::sqlx::query(
                    "update tenant_routes set spec = $3, updated_by = $4, updated_at = $5 \
                     where tenant_id = $1 and alias = $2",
                )
                .bind(route.tenant_id.to_string())
                .bind(&route.alias)
                .bind(&spec)
                .bind(route.updated_by.map(|it| it.to_string()))
                .bind($crate::micros(route.updated_at))
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?
                .rows_affected();
                let created = updated == 0;
                if created {
                    ::sqlx::query(
                        "insert into tenant_routes (tenant_id, alias, spec, updated_by, created_at, \
                         updated_at) values ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(route.tenant_id.to_string())
                    .bind(&route.alias)
                    .bind(&spec)
                    .bind(route.updated_by.map(|it| it.to_string()))
                    .bind($crate::micros(route.created_at))
                    .bind($crate::micros(route.updated_at))
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::map_err)?;
                }
                Self::commit_change(tx, audit).await?;
                Ok(created)
            }

            async fn delete_route(
                &self,
                tenant: ::domain::TenantId,
                alias: &str,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let done = ::sqlx::query("delete from tenant_routes where tenant_id = $1 and alias = $2")
                    .bind(tenant.to_string())
                    .bind(alias)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::map_err)?;
                $crate::one_row_changed(done.rows_affected())?;
                Self::commit_change(tx, audit).await
            }
        }
    };
}
