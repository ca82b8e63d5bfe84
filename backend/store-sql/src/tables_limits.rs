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
                let raised_at = $crate::micros(alert.raised_at);
                let done = ::sqlx::query(
                    "insert into budget_alerts (id, recipient, recipient_id, dedupe_key, alert, \
                     raised_at, delivery, attempts, next_attempt_at) \
                     values ($1, $2, $3, $4, $5, $6, 'pending', 0, $6) \
                     on conflict (dedupe_key) do nothing",
                )
                .bind(alert.id.to_string())
                .bind(recipient)
                .bind(recipient_id)
                .bind(alert.dedupe_key())
                .bind(text)
                .bind(raised_at)
                .execute(&self.pool)
                .await
                .map_err($crate::map_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn list_alerts(
                &self,
                recipient: ::domain::limits::AlertRecipient,
                limit: u32,
            ) -> Result<Vec<::domain::limits::StoredAlert>, ::store::Error> {
                let (recipient, recipient_id) = $crate::recipient_columns(recipient);
                ::sqlx::query(
                    "select alert, delivery, attempts, last_error, delivered_at \
                     from budget_alerts where recipient = $1 and recipient_id = $2 \
                     order by raised_at desc, id desc limit $3",
                )
                .bind(recipient)
                .bind(recipient_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map($crate::stored_alert_from_row)
                .collect()
            }

            async fn claim_due_alerts(
                &self,
                now: ::time::OffsetDateTime,
                lease: ::time::Duration,
                limit: u32,
            ) -> Result<Vec<::domain::limits::StoredAlert>, ::store::Error> {
                let now_micros = $crate::micros(now);
                let due: Vec<(String, i64)> = ::sqlx::query_as(
                    "select id, next_attempt_at from budget_alerts \
                     where delivery = 'pending' and next_attempt_at <= $1 \
                     order by next_attempt_at limit $2",
                )
                .bind(now_micros)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?;
                let mut claimed = Vec::with_capacity(due.len());
                for (id, was_due) in due {
                    // Claimed only if no other node moved it since it was read.
                    let done = ::sqlx::query(
                        "update budget_alerts set next_attempt_at = $1, attempts = attempts + 1 \
                         where id = $2 and delivery = 'pending' and next_attempt_at = $3",
                    )
                    .bind($crate::micros(now + lease))
                    .bind(&id)
                    .bind(was_due)
                    .execute(&self.pool)
                    .await
                    .map_err($crate::map_err)?;
                    if done.rows_affected() != 1 {
                        continue;
                    }
                    let row = ::sqlx::query(
                        "select alert, delivery, attempts, last_error, delivered_at \
                         from budget_alerts where id = $1",
                    )
                    .bind(&id)
                    .fetch_one(&self.pool)
                    .await
                    .map_err($crate::map_err)?;
                    claimed.push($crate::stored_alert_from_row(&row)?);
                }
                Ok(claimed)
            }

            async fn alert_attempted(
                &self,
                id: ::domain::AlertId,
                outcome: &::domain::limits::AttemptOutcome,
            ) -> Result<(), ::store::Error> {
                use ::domain::limits::AttemptOutcome;
                let (delivery, next, error, delivered) = match outcome {
                    AttemptOutcome::Delivered(at) => ("delivered", None, None, Some(*at)),
                    AttemptOutcome::Retry { at, error } => {
                        ("pending", Some(*at), Some(error.as_str()), None)
                    }
                    AttemptOutcome::Failed(error) => ("failed", None, Some(error.as_str()), None),
                    AttemptOutcome::NoEndpoint => ("no_endpoint", None, None, None),
                };
                let done = ::sqlx::query(
                    "update budget_alerts set delivery = $1, \
                     next_attempt_at = coalesce($2, next_attempt_at), \
                     last_error = coalesce($3, last_error), delivered_at = $4 where id = $5",
                )
                .bind(delivery)
                .bind(next.map($crate::micros))
                .bind(error)
                .bind(delivered.map($crate::micros))
                .bind(id.to_string())
                .execute(&self.pool)
                .await
                .map_err($crate::map_err)?;
                $crate::one_row_changed(done.rows_affected())
            }

            async fn webhook(
                &self,
                recipient: ::domain::limits::AlertRecipient,
            ) -> Result<Option<::domain::limits::WebhookEndpoint>, ::store::Error> {
                let (recipient, recipient_id) = $crate::recipient_columns(recipient);
                ::sqlx::query(
                    "select url, secret, created_at, updated_at from webhook_endpoints \
                     where recipient = $1 and recipient_id = $2",
                )
                .bind(recipient)
                .bind(recipient_id)
                .fetch_optional(&self.pool)
                .await
                .map_err($crate::map_err)?
                .as_ref()
                .map($crate::webhook_from_row)
                .transpose()
            }

            async fn set_webhook(
                &self,
                recipient: ::domain::limits::AlertRecipient,
                endpoint: Option<&::domain::limits::WebhookEndpoint>,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let (recipient, recipient_id) = $crate::recipient_columns(recipient);
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                ::sqlx::query(
                    "delete from webhook_endpoints where recipient = $1 and recipient_id = $2",
                )
                .bind(recipient)
                .bind(&recipient_id)
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                if let Some(endpoint) = endpoint {
                    let secret = ::serde_json::to_string(&endpoint.secret)
                        .map_err(|e| ::store::Error::Other(Box::new(e)))?;
                    ::sqlx::query(
                        "insert into webhook_endpoints (recipient, recipient_id, url, secret, \
                         created_at, updated_at) values ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(recipient)
                    .bind(&recipient_id)
                    .bind(&endpoint.url)
                    .bind(secret)
                    .bind($crate::micros(endpoint.created_at))
                    .bind($crate::micros(endpoint.updated_at))
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::map_err)?;
                }
                Self::commit_change(tx, audit).await
            }
        }
    };
}
