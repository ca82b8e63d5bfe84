//! Tenants' invoices: drafts, frozen and numbered when finalized, voided but never deleted.
//! Every change appends its audit entry first, which takes the audit chain's lock: that is what
//! serialises numbering and the overlap check across nodes.

/// `select <every column> from invoices <tail>`, as one literal.
#[macro_export]
#[doc(hidden)]
macro_rules! invoice_select {
    ($tail:literal) => {
        concat!(
            "select id, tenant_id, status, number, period_from, period_to, created_by, \
             created_at, finalized_at, voided_at, void_reason, content_json from invoices ",
            $tail
        )
    };
}

#[macro_export]
#[doc(hidden)]
macro_rules! impl_invoice_store {
    ($store:ty, $db:ty) => {
        impl $store {
            /// One invoice of the tenant, on `conn` (a transaction's or the pool's).
            async fn invoice_on(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                tenant: ::domain::TenantId,
                id: ::domain::InvoiceId,
            ) -> Result<::domain::invoice::Invoice, ::store::Error> {
                let row =
                    ::sqlx::query($crate::invoice_select!("where tenant_id = $1 and id = $2"))
                        .bind(tenant.to_string())
                        .bind(id.to_string())
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err($crate::map_err)?
                        .ok_or(::store::Error::NotFound)?;
                $crate::invoice_from_row(&row)
            }
        }

        #[::async_trait::async_trait]
        impl ::store::InvoiceStore for $store {
            async fn add_invoice(
                &self,
                invoice: &::domain::invoice::Invoice,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                Self::append_audit(&mut tx, audit).await?;
                let exists: Option<String> =
                    ::sqlx::query_scalar("select id from tenants where id = $1")
                        .bind(invoice.tenant_id.to_string())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err($crate::map_err)?;
                if exists.is_none() {
                    return Err(::store::Error::NotFound);
                }
                let overlapping: i64 = ::sqlx::query_scalar(
                    "select count(*) from invoices where tenant_id = $1 and status <> 'void' \
                     and period_from < $3 and period_to > $2",
                )
                .bind(invoice.tenant_id.to_string())
                .bind($crate::micros(invoice.from))
                .bind($crate::micros(invoice.to))
                .fetch_one(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                if overlapping > 0 {
                    return Err(::store::Error::Conflict(
                        "an invoice that is not void covers part of this period: void it first"
                            .into(),
                    ));
                }
                ::sqlx::query(
                    "insert into invoices (id, tenant_id, status, period_from, period_to, \
                     created_by, created_at) values ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(invoice.id.to_string())
                .bind(invoice.tenant_id.to_string())
                .bind(invoice.status.as_str())
                .bind($crate::micros(invoice.from))
                .bind($crate::micros(invoice.to))
                .bind(&invoice.created_by)
                .bind($crate::micros(invoice.created_at))
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                tx.commit().await.map_err($crate::map_err)
            }

            async fn finalize_invoice(
                &self,
                tenant: ::domain::TenantId,
                id: ::domain::InvoiceId,
                content: &::domain::invoice::InvoiceContent,
                seen: ::store::FinalizedSet,
                at: ::time::OffsetDateTime,
                audit: &::domain::AuditEntry,
            ) -> Result<::domain::invoice::Invoice, ::store::Error> {
                let json = ::serde_json::to_string(content)
                    .map_err(|e| ::store::Error::Other(Box::new(e)))?;
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                Self::append_audit(&mut tx, audit).await?;
                let current = Self::invoice_on(&mut tx, tenant, id).await?;
                if current.status != ::domain::invoice::InvoiceStatus::Draft {
                    return Err(::store::Error::Conflict(format!(
                        "the invoice is {}: only a draft is finalized",
                        current.status.as_str()
                    )));
                }
                let (count, last_number): (i64, Option<i64>) = ::sqlx::query_as(
                    "select count(*), max(number) from invoices \
                     where tenant_id = $1 and status = 'finalized'",
                )
                .bind(tenant.to_string())
                .fetch_one(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                if (::store::FinalizedSet { count, last_number }) != seen {
                    return Err(::store::Error::Conflict(
                        "another of the tenant's invoices was finalized or voided meanwhile: \
                         try again"
                            .into(),
                    ));
                }
                let number: i64 =
                    ::sqlx::query_scalar("select coalesce(max(number), 0) + 1 from invoices")
                        .fetch_one(&mut *tx)
                        .await
                        .map_err($crate::map_err)?;
                ::sqlx::query(
                    "update invoices set status = 'finalized', number = $1, finalized_at = $2, \
                     total_nanos = $3, content_json = $4 \
                     where tenant_id = $5 and id = $6 and status = 'draft'",
                )
                .bind(number)
                .bind($crate::micros(at))
                .bind(content.total.nanos())
                .bind(&json)
                .bind(tenant.to_string())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                let invoice = Self::invoice_on(&mut tx, tenant, id).await?;
                tx.commit().await.map_err($crate::map_err)?;
                Ok(invoice)
            }

            async fn void_invoice(
                &self,
                tenant: ::domain::TenantId,
                id: ::domain::InvoiceId,
                reason: &str,
                at: ::time::OffsetDateTime,
                audit: &::domain::AuditEntry,
            ) -> Result<::domain::invoice::Invoice, ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                Self::append_audit(&mut tx, audit).await?;
                let current = Self::invoice_on(&mut tx, tenant, id).await?;
                if current.status == ::domain::invoice::InvoiceStatus::Void {
                    return Err(::store::Error::Conflict(
                        "the invoice is void already".into(),
                    ));
                }
                ::sqlx::query(
                    "update invoices set status = 'void', voided_at = $1, void_reason = $2 \
                     where tenant_id = $3 and id = $4",
                )
                .bind($crate::micros(at))
                .bind(reason)
                .bind(tenant.to_string())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                let invoice = Self::invoice_on(&mut tx, tenant, id).await?;
                tx.commit().await.map_err($crate::map_err)?;
                Ok(invoice)
            }

            async fn get_invoice(
                &self,
                tenant: ::domain::TenantId,
                id: ::domain::InvoiceId,
            ) -> Result<::domain::invoice::Invoice, ::store::Error> {
                let mut conn = self.pool.acquire().await.map_err($crate::map_err)?;
                Self::invoice_on(&mut conn, tenant, id).await
            }

            async fn list_invoices(
                &self,
                tenant: ::domain::TenantId,
                limit: u32,
            ) -> Result<Vec<::domain::invoice::Invoice>, ::store::Error> {
                let rows = ::sqlx::query($crate::invoice_select!(
                    "where tenant_id = $1 \
                     order by period_from desc, created_at desc, id desc limit $2"
                ))
                .bind(tenant.to_string())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map($crate::invoice_from_row).collect()
            }

            async fn finalized_invoices(
                &self,
                tenant: ::domain::TenantId,
            ) -> Result<(Vec<::domain::invoice::Invoice>, ::store::FinalizedSet), ::store::Error>
            {
                let rows = ::sqlx::query($crate::invoice_select!(
                    "where tenant_id = $1 and status = 'finalized' \
                     order by period_from, id"
                ))
                .bind(tenant.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?;
                let invoices = rows
                    .iter()
                    .map($crate::invoice_from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                let seen = ::store::FinalizedSet {
                    count: i64::try_from(invoices.len()).unwrap_or(i64::MAX),
                    last_number: invoices.iter().filter_map(|it| it.number).max(),
                };
                Ok((invoices, seen))
            }
        }
    };
}
