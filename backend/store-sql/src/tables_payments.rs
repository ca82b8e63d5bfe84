//! Collecting finalized invoices through the payment provider: each tenant's customer there and
//! each invoice's collection. A sync only ever writes a collection still `sending`; after that
//! only the provider's notices (paid, failed) and voiding change it, each under the audit
//! chain's lock.

/// The payer's customer's queries (read, keep unless kept) and the id they bind first: a
/// tenant's customer is in `billing_customers`, a partner's in `partner_billing_customers`.
#[doc(hidden)]
pub fn billing_customer_queries(
    payer: ::domain::payment::Payer,
) -> (&'static str, &'static str, String) {
    match payer {
        ::domain::payment::Payer::Tenant(tenant) => (
            "select customer_id from billing_customers where tenant_id = $1",
            "insert into billing_customers (tenant_id, customer_id, created_at) \
             values ($1, $2, $3) on conflict (tenant_id) do nothing",
            tenant.to_string(),
        ),
        ::domain::payment::Payer::Partner(partner) => (
            "select customer_id from partner_billing_customers where partner_id = $1",
            "insert into partner_billing_customers (partner_id, customer_id, created_at) \
             values ($1, $2, $3) on conflict (partner_id) do nothing",
            partner.to_string(),
        ),
    }
}

/// `select <every column> from invoice_payments <tail>`, as one literal.
#[macro_export]
#[doc(hidden)]
macro_rules! invoice_payment_select {
    ($tail:literal) => {
        concat!(
            "select invoice_id, tenant_id, status, provider_invoice, items_sent, hosted_url, \
             due_at, suspend_at, paid_at, failed_at, updated_at from invoice_payments ",
            $tail
        )
    };
}

/// The tenants with an invoice due and the earliest instant one passes its grace period, on
/// the access snapshot's transaction `$tx`.
#[macro_export]
#[doc(hidden)]
macro_rules! load_payment_holds {
    ($tx:ident) => {
        ::sqlx::query_as::<_, (String, i64)>(
            "select tenant_id, min(suspend_at) from invoice_payments \
             where status in ('open', 'failed') and suspend_at is not null \
             group by tenant_id",
        )
        .fetch_all(&mut *$tx)
        .await
        .map_err($crate::map_err)?
        .into_iter()
        .map(|(tenant, at)| {
            Ok::<_, ::store::Error>((
                tenant
                    .parse::<::domain::TenantId>()
                    .map_err(|_| ::store::Error::Other("corrupt row: tenant_id".into()))?,
                $crate::from_micros(at)?,
            ))
        })
        .collect::<Result<Vec<_>, _>>()
    };
}

#[macro_export]
#[doc(hidden)]
macro_rules! impl_payment_store {
    ($store:ty, $db:ty) => {
        #[::async_trait::async_trait]
        impl ::store::PaymentStore for $store {
            async fn invoices_to_send(
                &self,
                since: ::time::OffsetDateTime,
                limit: u32,
            ) -> Result<Vec<::domain::invoice::Invoice>, ::store::Error> {
                let rows = ::sqlx::query($crate::invoice_select!(
                    "where status = 'finalized' and finalized_at >= $1 and id not in \
                     (select invoice_id from invoice_payments where status <> 'sending') \
                     order by finalized_at, id limit $2"
                ))
                .bind($crate::micros(since))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map($crate::invoice_from_row).collect()
            }

            async fn billing_customer(
                &self,
                payer: ::domain::payment::Payer,
            ) -> Result<Option<String>, ::store::Error> {
                let (select, _, id) = $crate::tables_payments::billing_customer_queries(payer);
                ::sqlx::query_scalar(select)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::map_err)
            }

            async fn keep_billing_customer(
                &self,
                payer: ::domain::payment::Payer,
                customer: &str,
            ) -> Result<String, ::store::Error> {
                let (select, insert, id) = $crate::tables_payments::billing_customer_queries(payer);
                ::sqlx::query(insert)
                    .bind(&id)
                    .bind(customer)
                    .bind($crate::micros(::time::OffsetDateTime::now_utc()))
                    .execute(&self.pool)
                    .await
                    .map_err($crate::map_err)?;
                ::sqlx::query_scalar(select)
                    .bind(id)
                    .fetch_one(&self.pool)
                    .await
                    .map_err($crate::map_err)
            }

            async fn invoice_payment(
                &self,
                invoice: ::domain::InvoiceId,
            ) -> Result<Option<::domain::payment::InvoicePayment>, ::store::Error> {
                ::sqlx::query($crate::invoice_payment_select!("where invoice_id = $1"))
                    .bind(invoice.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map($crate::invoice_payment_from_row)
                    .transpose()
            }

            async fn invoice_payments(
                &self,
                tenant: ::domain::TenantId,
            ) -> Result<Vec<::domain::payment::InvoicePayment>, ::store::Error> {
                ::sqlx::query($crate::invoice_payment_select!(
                    "where tenant_id = $1 order by updated_at desc"
                ))
                .bind(tenant.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map($crate::invoice_payment_from_row)
                .collect()
            }

            async fn save_invoice_payment(
                &self,
                payment: &::domain::payment::InvoicePayment,
            ) -> Result<bool, ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let opt = |at: Option<::time::OffsetDateTime>| at.map($crate::micros);
                let saved = ::sqlx::query(
                    "insert into invoice_payments (invoice_id, tenant_id, status, \
                     provider_invoice, items_sent, hosted_url, due_at, suspend_at, paid_at, \
                     failed_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                     on conflict (invoice_id) do update set status = excluded.status, \
                     provider_invoice = excluded.provider_invoice, \
                     items_sent = excluded.items_sent, hosted_url = excluded.hosted_url, \
                     due_at = excluded.due_at, suspend_at = excluded.suspend_at, \
                     paid_at = excluded.paid_at, failed_at = excluded.failed_at, \
                     updated_at = excluded.updated_at \
                     where invoice_payments.status = 'sending'",
                )
                .bind(payment.invoice_id.to_string())
                .bind(payment.tenant_id.to_string())
                .bind(payment.status.as_str())
                .bind(payment.provider_invoice.as_deref())
                .bind(i64::from(payment.items_sent))
                .bind(payment.hosted_url.as_deref())
                .bind(opt(payment.due_at))
                .bind(opt(payment.suspend_at))
                .bind(opt(payment.paid_at))
                .bind(opt(payment.failed_at))
                .bind($crate::micros(payment.updated_at))
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?
                .rows_affected()
                    > 0;
                if saved && payment.status != ::domain::payment::PaymentStatus::Sending {
                    Self::bump_revision(&mut tx).await?;
                }
                tx.commit().await.map_err($crate::map_err)?;
                Ok(saved)
            }

            async fn settle_invoice_payment(
                &self,
                provider_invoice: &str,
                change: ::domain::payment::PaymentStatus,
                at: ::time::OffsetDateTime,
                audit: &::domain::AuditEntry,
            ) -> Result<Option<(::domain::payment::InvoicePayment, bool)>, ::store::Error> {
                use ::domain::payment::PaymentStatus;
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let at = $crate::micros(at);
                // The write first (SQLite's write lock; Postgres's row lock), guarded so a
                // notice that arrives late or twice changes nothing.
                let statement = match change {
                    PaymentStatus::Paid => {
                        "update invoice_payments set status = 'paid', paid_at = $1, \
                         updated_at = $1 where provider_invoice = $2 \
                         and status not in ('paid', 'void')"
                    }
                    PaymentStatus::Failed => {
                        "update invoice_payments set status = 'failed', failed_at = $1, \
                         updated_at = $1 where provider_invoice = $2 \
                         and status in ('open', 'failed')"
                    }
                    PaymentStatus::Void => {
                        "update invoice_payments set status = 'void', updated_at = $1 \
                         where provider_invoice = $2 and status not in ('paid', 'void')"
                    }
                    _ => {
                        return Err(::store::Error::Other(
                            "a collection is settled as paid, failed or void".into(),
                        ));
                    }
                };
                let changed = ::sqlx::query(statement)
                    .bind(at)
                    .bind(provider_invoice)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::map_err)?
                    .rows_affected()
                    > 0;
                let Some(row) = ::sqlx::query($crate::invoice_payment_select!(
                    "where provider_invoice = $1"
                ))
                .bind(provider_invoice)
                .fetch_optional(&mut *tx)
                .await
                .map_err($crate::map_err)?
                else {
                    return Ok(None);
                };
                let payment = $crate::invoice_payment_from_row(&row)?;
                if changed {
                    let mut audit = audit
                        .clone()
                        .target("invoice", payment.invoice_id)
                        .change(None, Some(change.as_str().to_owned()));
                    // The notice names no tenant: the tenant's log shows it all the same.
                    audit.tenant_id = Some(payment.tenant_id);
                    Self::commit_change(tx, &audit).await?;
                } else {
                    tx.commit().await.map_err($crate::map_err)?;
                }
                Ok(Some((payment, changed)))
            }
        }
    };
}
