//! The stored limit policies: one per scope, replaced whole.

/// Every stored limit policy on `$executor`.
#[macro_export]
#[doc(hidden)]
macro_rules! load_limit_policies {
    ($executor:expr) => {
        ::sqlx::query("select scope, scope_id, policy from limit_policies order by scope, scope_id")
            .fetch_all(&mut *$executor)
            .await
            .map_err($crate::map_err)?
            .iter()
            .map($crate::policy_from_row)
            .collect::<Result<Vec<_>, ::store::Error>>()
    };
}

#[macro_export]
#[doc(hidden)]
macro_rules! impl_limit_store {
    ($store:ty, $db:ty) => {
        #[::async_trait::async_trait]
        impl ::store::LimitStore for $store {
            async fn limit_policy(
                &self,
                scope: ::domain::limits::PolicyScope,
            ) -> Result<Option<::domain::limits::LimitPolicy>, ::store::Error> {
                let (scope, scope_id) = $crate::policy_scope_columns(scope);
                let row = ::sqlx::query(
                    "select scope, scope_id, policy from limit_policies \
                     where scope = $1 and scope_id = $2",
                )
                .bind(scope)
                .bind(scope_id)
                .fetch_optional(&self.pool)
                .await
                .map_err($crate::map_err)?;
                row.as_ref()
                    .map($crate::policy_from_row)
                    .transpose()
                    .map(|it| it.map(|stored| stored.policy))
            }

            async fn set_limit_policy(
                &self,
                scope: ::domain::limits::PolicyScope,
                policy: Option<&::domain::limits::LimitPolicy>,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let (scope, scope_id) = $crate::policy_scope_columns(scope);
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                ::sqlx::query("delete from limit_policies where scope = $1 and scope_id = $2")
                    .bind(scope)
                    .bind(&scope_id)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::map_err)?;
                if let Some(policy) = policy {
                    let text = ::serde_json::to_string(policy)
                        .map_err(|e| ::store::Error::Other(Box::new(e)))?;
                    ::sqlx::query(
                        "insert into limit_policies (scope, scope_id, policy, updated_by, \
                         updated_at) values ($1, $2, $3, $4, $5)",
                    )
                    .bind(scope)
                    .bind(&scope_id)
                    .bind(text)
                    .bind(audit.actor.id.clone())
                    .bind($crate::micros(audit.created_at))
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::map_err)?;
                }
                Self::commit_change(tx, audit).await
            }
        }
    };
}

#[macro_export]
#[doc(hidden)]
macro_rules! impl_alert_store {
    ($store:ty, $db:ty) => {
        #[::async_trait::async_trait]
        impl ::store::AlertStore for $store {
            async fn raise_alert(
                &self,
                alert: &::domain::limits::BudgetAlert,
            ) -> Result<bool, ::store::Error> {
                let (recipient, recipient_id) = $crate::recipient_columns(alert.recipient());
                let text = ::serde_json::to_string(alert)
                    .map_err(|e| ::store::Error::Other(Box::new(e)))?;
                let done = ::sqlx::query(
                    "insert into budget_alerts (id, recipient, recipient_id, dedupe_key, alert, \
                     raised_at) values ($1, $2, $3, $4, $5, $6) \
                     on conflict (dedupe_key) do nothing",
                )
                .bind(alert.id.to_string())
                .bind(recipient)
                .bind(recipient_id)
                .bind(alert.dedupe_key())
                .bind(text)
                .bind($crate::micros(alert.raised_at))
                .execute(&self.pool)
                .await
                .map_err($crate::map_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn list_alerts(
                &self,
                recipient: ::domain::limits::AlertRecipient,
                limit: u32,
            ) -> Result<Vec<::domain::limits::BudgetAlert>, ::store::Error> {
                let (recipient, recipient_id) = $crate::recipient_columns(recipient);
                let rows: Vec<(String,)> = ::sqlx::query_as(
                    "select alert from budget_alerts where recipient = $1 and recipient_id = $2 \
                     order by raised_at desc, id desc limit $3",
                )
                .bind(recipient)
                .bind(recipient_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?;
                rows.into_iter()
                    .map(|(text,)| {
                        ::serde_json::from_str(&text)
                            .map_err(|e| ::store::Error::Other(Box::new(e)))
                    })
                    .collect()
            }
        }
    };
}
