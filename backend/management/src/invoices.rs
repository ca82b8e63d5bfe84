//! Tenants' invoices: drafted for a period by whoever writes the tenant's bill (operators, the
//! tenant's partner), shown live from the ledger while a draft, frozen and numbered when
//! finalized, voided (never changed) when wrong, after which the period may be invoiced again.
//! Usage and corrections recorded for a finalized period after it was finalized (a record
//! replayed late, a correction dated back) are carried onto the next invoice finalized, once.

use domain::invoice::{Invoice, InvoiceContent, InvoiceStatus};
use domain::payment::InvoicePayment;
use domain::pricing::Money;
use domain::{AuditEntry, InvoiceId, PartnerId, Permission, Tenant, TenantId};
use store::FinalizedSet;
use time::OffsetDateTime;

use crate::billing::period_grain;
use crate::{Error, Identity, Manager};

/// The most invoices one list answers: eight years of months.
const LIST_LIMIT: u32 = 100;

/// Who automatic invoices are drafted by, on the invoice.
pub const SYSTEM_AUTHOR: &str = "system";

/// What one pass of closing a period did, in tenants.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ClosedPeriod {
    /// Invoiced now.
    pub finalized: u32,
    /// Nothing to bill: no invoice.
    pub empty: u32,
    /// Invoiced already (by hand, by another node, or voided: a void period is reissued by hand).
    pub invoiced: u32,
    /// Left for the next pass (the error is logged).
    pub failed: u32,
}

enum TenantClose {
    Finalized,
    Empty,
    Invoiced,
}

/// An invoice with what it bills: frozen when finalized, read from the ledger while a draft.
#[derive(Debug, Clone)]
pub struct InvoiceDetail {
    pub invoice: Invoice,
    pub tenant: Tenant,
    pub content: InvoiceContent,
    /// Its collection by the payment provider, once sent (or kept back).
    pub payment: Option<InvoicePayment>,
}

impl Manager {
    /// What `[from, to)` bills now, with what earlier finalized invoices left to carry, and the
    /// set of those invoices it was worked out against. A partner's sub-tenant's has its
    /// wholesale part: what the partner is charged for it.
    async fn live_content(
        &self,
        tenant: &Tenant,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<(InvoiceContent, FinalizedSet), Error> {
        let (sums, adjustments) = self
            .period_sums(tenant.id, period_grain(from, to)?, from, to)
            .await?;
        let (finalized, seen) = self.store.finalized_invoices(tenant.id).await?;
        let mut frozen = Vec::with_capacity(finalized.len());
        let mut now_own = Vec::with_capacity(finalized.len());
        let mut frozen_wholesale = Vec::new();
        let mut now_wholesale = Vec::new();
        for invoice in &finalized {
            let Some(content) = &invoice.content else {
                continue;
            };
            let (sums, adjustments) = self
                .period_sums(
                    tenant.id,
                    period_grain(invoice.from, invoice.to)?,
                    invoice.from,
                    invoice.to,
                )
                .await?;
            let own = sums
                .iter()
                .map(|(_, it)| it.price)
                .chain(adjustments.iter().map(|it| it.amount))
                .fold(Money::ZERO, Money::saturating_add);
            frozen.push(content);
            now_own.push(own);
            if let Some(wholesale) = &content.wholesale {
                frozen_wholesale.push(wholesale.as_ref());
                now_wholesale.push(
                    sums.iter()
                        .map(|(_, it)| it.wholesale)
                        .fold(Money::ZERO, Money::saturating_add),
                );
            }
        }
        let currency = self.config.prices.currency.as_str();
        let tax = self.config.tax.as_ref();
        let wholesale = tenant.partner_id.map(|_| {
            Box::new(InvoiceContent::compose(
                currency,
                InvoiceContent::at_wholesale(&sums),
                &[],
                domain::invoice::carried(&frozen_wholesale, &now_wholesale),
                tax,
            ))
        });
        let carried = domain::invoice::carried(&frozen, &now_own);
        let mut content = InvoiceContent::compose(currency, sums, &adjustments, carried, tax);
        content.wholesale = wholesale;
        Ok((content, seen))
    }

    async fn detail(&self, tenant: Tenant, invoice: Invoice) -> Result<InvoiceDetail, Error> {
        let content = match &invoice.content {
            Some(content) => content.clone(),
            None => {
                self.live_content(&tenant, invoice.from, invoice.to)
                    .await?
                    .0
            }
        };
        let payment = self.store.invoice_payment(invoice.id).await?;
        Ok(InvoiceDetail {
            invoice,
            tenant,
            content,
            payment,
        })
    }

    /// Drafts the tenant's invoice for `[from, to)`: whole minutes, at most 366 days, started
    /// already, overlapping no invoice of the tenant's that is not void. Without a period, the
    /// tenant's last billing period that has ended (the last calendar month, or the last month
    /// from its sign-up day, as `billing_anchor` says).
    ///
    /// # Errors
    /// See `authorize_bill_author` and `period_grain`; `Conflict` for an overlap.
    pub async fn draft_invoice(
        &self,
        identity: &Identity,
        tenant: TenantId,
        period: Option<(OffsetDateTime, OffsetDateTime)>,
    ) -> Result<InvoiceDetail, Error> {
        let found = self.authorize_bill_author(identity, tenant).await?;
        let (from, to) = period.unwrap_or_else(|| {
            self.config
                .billing_anchor
                .last_ended(found.created_at, OffsetDateTime::now_utc())
        });
        let invoice = self
            .add_draft(
                tenant,
                from,
                to,
                identity.user.email.to_string(),
                identity.audit(Some(tenant), "billing.invoice.draft"),
            )
            .await?;
        self.detail(found, invoice).await
    }

    /// The draft itself, by whoever `created_by` and `audit` name.
    async fn add_draft(
        &self,
        tenant: TenantId,
        from: OffsetDateTime,
        to: OffsetDateTime,
        created_by: String,
        audit: AuditEntry,
    ) -> Result<Invoice, Error> {
        period_grain(from, to)?;
        let now = OffsetDateTime::now_utc();
        if from > now {
            return Err(Error::invalid(
                "from",
                "the period has not started: invoice it once it has",
            ));
        }
        let invoice = Invoice {
            id: InvoiceId::new(),
            tenant_id: tenant,
            status: InvoiceStatus::Draft,
            number: None,
            from,
            to,
            created_by,
            created_at: now,
            finalized_at: None,
            voided_at: None,
            void_reason: None,
            content: None,
        };
        let audit = audit.target("invoice", invoice.id).change(
            None,
            Some(
                serde_json::json!({
                    "from": from.unix_timestamp(),
                    "to": to.unix_timestamp(),
                })
                .to_string(),
            ),
        );
        self.store
            .add_invoice(&invoice, &audit)
            .await
            .map_err(Error::missing("tenant"))?;
        Ok(invoice)
    }

    /// Finalizes a draft whose period has ended: its content as the ledger holds it now is
    /// frozen, and it gets the next number.
    ///
    /// # Errors
    /// See `authorize_bill_author`; `NotFound`; `Conflict` when it is not a draft or another
    /// of the tenant's invoices changed meanwhile; `Invalid` (`to`) before its period ends.
    pub async fn finalize_invoice(
        &self,
        identity: &Identity,
        tenant: TenantId,
        id: InvoiceId,
    ) -> Result<InvoiceDetail, Error> {
        let found = self.authorize_bill_author(identity, tenant).await?;
        let invoice = self
            .store
            .get_invoice(tenant, id)
            .await
            .map_err(Error::missing("invoice"))?;
        let (invoice, content) = self
            .freeze(
                &found,
                invoice,
                identity.audit(Some(tenant), "billing.invoice.finalize"),
            )
            .await?;
        Ok(InvoiceDetail {
            invoice,
            tenant: found,
            content,
            // Sent to the payment provider by the next pass.
            payment: None,
        })
    }

    /// The finalizing itself, audited as `audit` says.
    async fn freeze(
        &self,
        tenant: &Tenant,
        invoice: Invoice,
        audit: AuditEntry,
    ) -> Result<(Invoice, InvoiceContent), Error> {
        if invoice.status != InvoiceStatus::Draft {
            return Err(Error::Conflict(format!(
                "the invoice is {}: only a draft is finalized",
                invoice.status.as_str()
            )));
        }
        let now = OffsetDateTime::now_utc();
        if invoice.to > now {
            return Err(Error::invalid(
                "to",
                "the invoice's period has not ended: finalize it once it has",
            ));
        }
        let (content, seen) = self.live_content(tenant, invoice.from, invoice.to).await?;
        let audit = audit.target("invoice", invoice.id).change(
            Some(r#"{"status":"draft"}"#.to_owned()),
            Some(
                serde_json::json!({
                    "status": "finalized",
                    "total": content.total.to_string(),
                })
                .to_string(),
            ),
        );
        let finalized = self
            .store
            .finalize_invoice(tenant.id, invoice.id, &content, seen, now, &audit)
            .await
            .map_err(Error::missing("invoice"))?;
        Ok((finalized, content))
    }

    /// Invoices `[from, to)` for every tenant that existed before `to` and has no invoice over
    /// any part of it yet, drafted and finalized by the system; a tenant with nothing to bill
    /// gets none. A draft the system left (a node stopped between the two steps) is finalized.
    /// Nodes may run it at once: the store lets one draft win, and one finalize.
    ///
    /// # Errors
    /// `Internal` when the tenants cannot be listed; each tenant's own failure is counted and
    /// logged, and left for the next pass.
    pub async fn close_period(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<ClosedPeriod, Error> {
        let mut closed = ClosedPeriod::default();
        for tenant in self.store.list_tenants().await? {
            if tenant.created_at >= to {
                continue;
            }
            self.close_counted(&mut closed, &tenant, from, to).await;
        }
        Ok(closed)
    }

    /// Invoices, for every tenant, its last billing period that has been over for `after`
    /// (`billing_anchor`: the last calendar month for all, or each tenant's last month from its
    /// sign-up day), as `close_period` does for one period.
    ///
    /// # Errors
    /// `Internal` when the tenants cannot be listed; each tenant's own failure is counted and
    /// logged, and left for the next pass.
    pub async fn close_due_periods(
        &self,
        now: OffsetDateTime,
        after: time::Duration,
    ) -> Result<ClosedPeriod, Error> {
        let mut closed = ClosedPeriod::default();
        let anchor = self.config.billing_anchor;
        for tenant in self.store.list_tenants().await? {
            let (from, to) = anchor.last_ended(tenant.created_at, now);
            // Over for less than `after`: the one before was closed by earlier passes.
            if now - to < after || tenant.created_at >= to {
                continue;
            }
            self.close_counted(&mut closed, &tenant, from, to).await;
        }
        Ok(closed)
    }

    async fn close_counted(
        &self,
        closed: &mut ClosedPeriod,
        tenant: &Tenant,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) {
        match self.close_tenant_period(tenant, from, to).await {
            Ok(TenantClose::Finalized) => closed.finalized += 1,
            Ok(TenantClose::Empty) => closed.empty += 1,
            Ok(TenantClose::Invoiced) => closed.invoiced += 1,
            Err(e) => {
                tracing::warn!(tenant = %tenant.id, error = %e, "could not invoice the tenant's period: trying again next pass");
                closed.failed += 1;
            }
        }
    }

    async fn close_tenant_period(
        &self,
        tenant: &Tenant,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<TenantClose, Error> {
        let system = |action| {
            AuditEntry::new(
                Some(tenant.id),
                domain::Actor::system(),
                action,
                OffsetDateTime::now_utc(),
            )
        };
        let invoices = self.store.list_invoices(tenant.id, LIST_LIMIT).await?;
        let overlapping: Vec<&Invoice> = invoices
            .iter()
            .filter(|it| it.from < to && it.to > from)
            .collect();
        let draft = match overlapping.as_slice() {
            [] => {
                let (content, _) = self.live_content(tenant, from, to).await?;
                if content.lines.is_empty()
                    && content.corrections.is_empty()
                    && content.carried == Money::ZERO
                {
                    return Ok(TenantClose::Empty);
                }
                match self
                    .add_draft(
                        tenant.id,
                        from,
                        to,
                        SYSTEM_AUTHOR.to_owned(),
                        system("billing.invoice.draft"),
                    )
                    .await
                {
                    Ok(draft) => draft,
                    Err(Error::Conflict(_)) => return Ok(TenantClose::Invoiced),
                    Err(e) => return Err(e),
                }
            }
            [one]
                if one.status == InvoiceStatus::Draft
                    && one.created_by == SYSTEM_AUTHOR
                    && one.from == from
                    && one.to == to =>
            {
                (*one).clone()
            }
            _ => return Ok(TenantClose::Invoiced),
        };
        match self
            .freeze(tenant, draft, system("billing.invoice.finalize"))
            .await
        {
            Ok(_) => Ok(TenantClose::Finalized),
            Err(Error::Conflict(_)) => Ok(TenantClose::Invoiced),
            Err(e) => Err(e),
        }
    }

    /// Voids a draft or a finalized invoice, with the reason (1 to 500 printable characters);
    /// its period may then be invoiced again.
    ///
    /// # Errors
    /// See `authorize_bill_author`; `NotFound`; `Conflict` when void already; `Invalid`
    /// (`reason`).
    pub async fn void_invoice(
        &self,
        identity: &Identity,
        tenant: TenantId,
        id: InvoiceId,
        reason: &str,
    ) -> Result<InvoiceDetail, Error> {
        let found = self.authorize_bill_author(identity, tenant).await?;
        let reason =
            domain::ledger::reason(reason).map_err(|e| Error::invalid(e.field, e.message))?;
        self.withdraw_payment(tenant, id).await?;
        let audit = identity
            .audit(Some(tenant), "billing.invoice.void")
            .target("invoice", id)
            .change(
                None,
                Some(serde_json::json!({ "status": "void", "reason": reason }).to_string()),
            );
        let voided = self
            .store
            .void_invoice(tenant, id, &reason, OffsetDateTime::now_utc(), &audit)
            .await
            .map_err(Error::missing("invoice"))?;
        self.detail(found, voided).await
    }

    /// One invoice with what it bills. Those who may see the tenant's billing; what the
    /// tenant's partner is charged for it only those who write its bills.
    ///
    /// # Errors
    /// Missing permission; `NotFound`.
    pub async fn invoice(
        &self,
        identity: &Identity,
        tenant: TenantId,
        id: InvoiceId,
    ) -> Result<InvoiceDetail, Error> {
        self.authorize(identity, tenant, Permission::ViewBilling)
            .await?;
        let found = self
            .store
            .get_tenant(tenant)
            .await
            .map_err(Error::missing("tenant"))?;
        let invoice = self
            .store
            .get_invoice(tenant, id)
            .await
            .map_err(Error::missing("invoice"))?;
        let shows_partner = self.writes_bills_of(identity, &found).await?;
        let mut detail = self.detail(found, invoice).await?;
        if !shows_partner {
            as_sub_tenant_sees_it(&mut detail.invoice, &mut detail.payment);
            detail.content.wholesale = None;
        }
        Ok(detail)
    }

    /// The tenant's invoices, latest period first (the newest 100). Those who may see the
    /// tenant's billing; what the tenant's partner is charged only those who write its bills.
    ///
    /// # Errors
    /// Missing permission.
    pub async fn invoices(
        &self,
        identity: &Identity,
        tenant: TenantId,
    ) -> Result<Vec<(Invoice, Option<InvoicePayment>)>, Error> {
        self.authorize(identity, tenant, Permission::ViewBilling)
            .await?;
        let found = self
            .store
            .get_tenant(tenant)
            .await
            .map_err(Error::missing("tenant"))?;
        let shows_partner = self.writes_bills_of(identity, &found).await?;
        let mut listed = self.invoices_of(tenant).await?;
        if !shows_partner {
            for (invoice, payment) in &mut listed {
                as_sub_tenant_sees_it(invoice, payment);
            }
        }
        Ok(listed)
    }

    async fn invoices_of(
        &self,
        tenant: TenantId,
    ) -> Result<Vec<(Invoice, Option<InvoicePayment>)>, Error> {
        let mut payments: std::collections::HashMap<InvoiceId, InvoicePayment> = self
            .store
            .invoice_payments(tenant)
            .await?
            .into_iter()
            .map(|it| (it.invoice_id, it))
            .collect();
        Ok(self
            .store
            .list_invoices(tenant, LIST_LIMIT)
            .await?
            .into_iter()
            .map(|invoice| {
                let payment = payments.remove(&invoice.id);
                (invoice, payment)
            })
            .collect())
    }

    /// What the platform charges a partner for its sub-tenants: their invoices, latest period
    /// first (each sub-tenant's newest 100), each finalized one with its wholesale part and how
    /// the partner's payment of it stands. The partner's administrators and operators.
    ///
    /// # Errors
    /// `NotFound` for callers who do not administer the partner.
    pub async fn partner_invoices(
        &self,
        identity: &Identity,
        partner: PartnerId,
    ) -> Result<Vec<PartnerInvoice>, Error> {
        self.authorize_partner(identity, partner).await?;
        let mut all = Vec::new();
        for tenant in self.store.list_partner_tenants(partner).await? {
            for (invoice, payment) in self.invoices_of(tenant.id).await? {
                all.push(PartnerInvoice {
                    tenant: tenant.clone(),
                    invoice,
                    payment,
                });
            }
        }
        all.sort_by(|a, b| {
            (b.invoice.from, b.invoice.created_at).cmp(&(a.invoice.from, a.invoice.created_at))
        });
        Ok(all)
    }
}

/// An invoice of a partner's sub-tenant, as the partner's list shows it.
#[derive(Debug, Clone)]
pub struct PartnerInvoice {
    pub tenant: Tenant,
    pub invoice: Invoice,
    pub payment: Option<InvoicePayment>,
}

/// Hides from a partner's sub-tenant what its partner is charged and how the partner pays it.
fn as_sub_tenant_sees_it(invoice: &mut Invoice, payment: &mut Option<InvoicePayment>) {
    let Some(content) = invoice.content.as_mut() else {
        return;
    };
    if content.wholesale.take().is_some() {
        *payment = payment.as_ref().map(InvoicePayment::as_sub_tenant_sees_it);
    }
}
