//! Collecting finalized invoices through the payment provider (Stripe, in `payments-stripe`):
//! each finalized invoice is sent once — the payer's customer (the tenant's, or for a partner's
//! sub-tenant the partner's, which pays the invoice's wholesale part), the invoice, its items, then
//! finalized there — every step under its own idempotency key and recorded as it succeeds, so a
//! sync cut short anywhere and retried (on any node) leaves the provider with one of
//! everything. The provider's signed notices mark invoices paid or failed and top up prepaid
//! credit; an invoice still unpaid past its due date and the grace period stops the tenant's
//! calls until it is paid.

use std::sync::Arc;

use async_trait::async_trait;
use domain::credit::TopUp;
use domain::invoice::Invoice;
use domain::payment::{InvoicePayment, Payer, PaymentEvent, PaymentItem, PaymentStatus};
use domain::{Actor, AuditEntry, InvoiceId, PartnerId, TopUpId};
use time::OffsetDateTime;

use crate::{Error, Manager};

/// How many invoices one pass sends at most; the rest wait for the next.
const SEND_BATCH: u32 = 100;

/// Who payment notices are recorded as, in the audit log and on top-ups.
pub const PROVIDER_AUTHOR: &str = "stripe";

/// The provider failed or refused; the message is the provider's, for the log.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProviderError(pub String);

/// Why a notice was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NoticeRejected {
    #[error("the signature header is missing or does not match the payload")]
    BadSignature,
    #[error("the signature's timestamp is too far from now: a replayed or delayed notice")]
    OldTimestamp,
    #[error("the notice could not be read: {0}")]
    Malformed(String),
}

/// A new customer at the provider: a tenant, or a partner paying for its sub-tenants.
#[derive(Debug, Clone, Copy)]
pub struct NewCustomer<'a> {
    pub name: &'a str,
    pub payer: Payer,
}

/// A new invoice at the provider.
#[derive(Debug, Clone)]
pub struct ProviderInvoice<'a> {
    pub customer: &'a str,
    /// Lower-case ISO 4217, as the provider spells it.
    pub currency: String,
    pub description: String,
    pub invoice: &'a Invoice,
    /// The partner paying for its sub-tenant's invoice, when it is one.
    pub partner: Option<PartnerId>,
    /// `None`: charge the customer's saved payment method; otherwise email the invoice with
    /// this many days to pay.
    pub days_until_due: Option<u32>,
}

/// Prepaid credit to buy on the provider's checkout page; its payment carries the tenant in
/// its metadata, so the provider's notice of it tops the credit up.
#[derive(Debug, Clone)]
pub struct CreditCheckout<'a> {
    pub customer: &'a str,
    pub tenant: domain::TenantId,
    /// Lower-case ISO 4217.
    pub currency: String,
    /// In the currency's minor units.
    pub amount: i64,
    pub description: String,
    /// Where the payer returns to once paid, and once they gave up.
    pub success_url: String,
    pub cancel_url: String,
}

/// A checkout page opened at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutStarted {
    pub id: String,
    /// Where the payer pays.
    pub url: String,
    pub expires_at: Option<OffsetDateTime>,
}

/// The provider's invoice once finalized.
#[derive(Debug, Clone, Default)]
pub struct FinalizedAtProvider {
    /// Nothing to pay (a zero or negative total).
    pub paid: bool,
    pub due_at: Option<OffsetDateTime>,
    pub hosted_url: Option<String>,
}

/// A payment provider. Every call that creates or changes something carries an idempotency
/// key: the same key always means the same request.
#[async_trait]
pub trait PaymentProvider: Send + Sync + std::fmt::Debug {
    /// The payer's customer; answers its id.
    async fn create_customer(
        &self,
        key: &str,
        customer: &NewCustomer<'_>,
    ) -> Result<String, ProviderError>;
    /// A draft invoice that takes only the items added to it; answers its id.
    async fn create_invoice(
        &self,
        key: &str,
        invoice: &ProviderInvoice<'_>,
    ) -> Result<String, ProviderError>;
    async fn add_item(
        &self,
        key: &str,
        customer: &str,
        provider_invoice: &str,
        currency: &str,
        item: &PaymentItem,
    ) -> Result<(), ProviderError>;
    async fn finalize(
        &self,
        key: &str,
        provider_invoice: &str,
    ) -> Result<FinalizedAtProvider, ProviderError>;
    /// Voids a finalized invoice, or deletes a draft.
    async fn void(
        &self,
        key: &str,
        provider_invoice: &str,
        finalized: bool,
    ) -> Result<(), ProviderError>;
    /// A checkout page for buying prepaid credit.
    async fn create_checkout(
        &self,
        key: &str,
        checkout: &CreditCheckout<'_>,
    ) -> Result<CheckoutStarted, ProviderError>;
    /// Checks a notice's signature (and that it is recent, as of `now`) and reads it.
    ///
    /// # Errors
    /// Why it was rejected.
    fn verify(
        &self,
        payload: &str,
        signature: &str,
        now: OffsetDateTime,
    ) -> Result<PaymentEvent, NoticeRejected>;
}

/// How invoices are collected.
#[derive(Debug, Clone)]
pub struct PaymentsConfig {
    /// Only invoices finalized from then on are sent (older ones were collected otherwise).
    pub since: OffsetDateTime,
    /// `None`: charge automatically; otherwise the days an emailed invoice gives to pay.
    pub days_until_due: Option<u32>,
    /// After the due date, how long an unpaid invoice leaves the tenant's calls alone.
    pub grace: time::Duration,
}

/// The payment provider and how it is used.
#[derive(Debug, Clone)]
pub struct Payments {
    pub provider: Arc<dyn PaymentProvider>,
    pub config: PaymentsConfig,
}

/// What one pass of sending did, in invoices.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SentInvoices {
    /// Sent and finalized at the provider (or nothing to pay).
    pub sent: u32,
    /// Not sent: prepaid tenants', and partners' sub-tenants' finalized before partners were
    /// billed (with no wholesale part).
    pub kept: u32,
    /// Left for the next pass (the error is logged).
    pub failed: u32,
}

/// What a notice did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeOutcome {
    /// An invoice's collection changed (or was in that state already: `changed` false).
    Invoice { invoice: InvoiceId, changed: bool },
    /// Prepaid credit was topped up (or the payment was counted already: `added` false).
    TopUp { top_up: TopUp, added: bool },
    /// Not about anything of ours.
    Ignored,
}

fn provider_failed(step: &str) -> impl Fn(ProviderError) -> Error + '_ {
    move |e| Error::Unavailable(format!("the payment provider failed to {step}: {e}"))
}

fn provider_audit(tenant: Option<domain::TenantId>, action: &str) -> AuditEntry {
    AuditEntry::new(
        tenant,
        Actor {
            kind: "system".into(),
            id: None,
            label: Some(PROVIDER_AUTHOR.into()),
        },
        action,
        OffsetDateTime::now_utc(),
    )
}

impl Manager {
    /// Sets the payment provider: finalized invoices are sent to it and its notices accepted.
    #[must_use]
    pub fn with_payments(mut self, payments: Payments) -> Self {
        self.payments = Some(payments);
        self
    }

    pub fn payments(&self) -> Option<&Payments> {
        self.payments.as_ref()
    }

    /// Sends every finalized invoice not sent yet (one pass; any node, any number at once).
    ///
    /// # Errors
    /// When the invoices to send cannot be listed; each invoice's own failure is logged and
    /// retried on the next pass.
    pub async fn send_invoices(&self) -> Result<SentInvoices, Error> {
        let mut done = SentInvoices::default();
        let Some(payments) = &self.payments else {
            return Ok(done);
        };
        for invoice in self
            .store
            .invoices_to_send(payments.config.since, SEND_BATCH)
            .await?
        {
            match self.send_invoice(payments, &invoice).await {
                Ok(PaymentStatus::Prepaid | PaymentStatus::Partner) => done.kept += 1,
                Ok(_) => done.sent += 1,
                Err(e) => {
                    done.failed += 1;
                    tracing::warn!(invoice = %invoice.id, error = %e, "could not send the invoice to the payment provider: trying again next pass");
                }
            }
        }
        Ok(done)
    }

    /// Sends one invoice, resuming where an earlier attempt stopped.
    async fn send_invoice(
        &self,
        payments: &Payments,
        invoice: &Invoice,
    ) -> Result<PaymentStatus, Error> {
        let provider = &payments.provider;
        let now = OffsetDateTime::now_utc();
        let mut payment = match self.store.invoice_payment(invoice.id).await? {
            Some(found) if found.status != PaymentStatus::Sending => return Ok(found.status),
            Some(found) => found,
            None => InvoicePayment::sending(invoice.id, invoice.tenant_id, now),
        };
        let tenant = self.store.get_tenant(invoice.tenant_id).await?;
        let content = invoice.content.as_ref().ok_or_else(|| {
            Error::Internal(format!("finalized invoice {} has no content", invoice.id).into())
        })?;
        // A partner's sub-tenant's invoice is collected from the partner, at wholesale.
        let (payer, collected) = match (tenant.partner_id, &content.wholesale) {
            (Some(partner), Some(wholesale)) => (Payer::Partner(partner), wholesale.as_ref()),
            _ => (Payer::Tenant(tenant.id), content),
        };
        let items = domain::payment::payment_items(collected);
        let kept = if payment.provider_invoice.is_some() {
            None
        } else if tenant.partner_id.is_some() && content.wholesale.is_none() {
            // Finalized before partners were billed: there is no wholesale part to send.
            Some(PaymentStatus::Partner)
        } else if tenant.partner_id.is_none()
            && self.store.credit_account(tenant.id).await?.is_some()
        {
            Some(PaymentStatus::Prepaid)
        } else if items.is_empty() {
            // Nothing to collect.
            payment.paid_at = Some(now);
            Some(PaymentStatus::Paid)
        } else {
            None
        };
        if let Some(status) = kept {
            payment.status = status;
            payment.updated_at = now;
            self.store.save_invoice_payment(&payment).await?;
            return Ok(status);
        }
        if payment.provider_invoice.is_none() && payment.items_sent == 0 {
            // Shown as being sent from the first try on.
            payment.updated_at = now;
            self.store.save_invoice_payment(&payment).await?;
        }
        let key = |step: &str| format!("sluice-invoice-{}-{step}", invoice.id);
        let customer = self.customer(provider.as_ref(), payer, &tenant).await?;
        let currency = content.currency.to_ascii_lowercase();
        let provider_invoice = match &payment.provider_invoice {
            Some(id) => id.clone(),
            None => {
                let number = invoice
                    .number
                    .map_or_else(String::new, |it| format!(" {it}"));
                let period = format!(
                    "usage from {} to {}",
                    invoice.from.date(),
                    invoice.to.date()
                );
                // The partner's invoice names the sub-tenant it is for.
                let description = match payer {
                    Payer::Partner(_) => format!("{}, invoice{number}: {period}", tenant.name),
                    Payer::Tenant(_) => format!("Invoice{number}: {period}"),
                };
                let id = provider
                    .create_invoice(
                        &key("create"),
                        &ProviderInvoice {
                            customer: &customer,
                            currency: currency.clone(),
                            description,
                            invoice,
                            partner: match payer {
                                Payer::Partner(id) => Some(id),
                                Payer::Tenant(_) => None,
                            },
                            days_until_due: payments.config.days_until_due,
                        },
                    )
                    .await
                    .map_err(provider_failed("create the invoice"))?;
                payment.provider_invoice = Some(id.clone());
                payment.updated_at = OffsetDateTime::now_utc();
                if !self.store.save_invoice_payment(&payment).await? {
                    // Another node finished it meanwhile.
                    return self.current_status(invoice.id).await;
                }
                id
            }
        };
        let start = usize::try_from(payment.items_sent).unwrap_or(usize::MAX);
        for (n, item) in items.iter().enumerate().skip(start) {
            provider
                .add_item(
                    &key(&format!("item-{n}")),
                    &customer,
                    &provider_invoice,
                    &currency,
                    item,
                )
                .await
                .map_err(provider_failed("add an invoice item"))?;
            payment.items_sent = u32::try_from(n + 1).unwrap_or(u32::MAX);
            payment.updated_at = OffsetDateTime::now_utc();
            if !self.store.save_invoice_payment(&payment).await? {
                return self.current_status(invoice.id).await;
            }
        }
        let finalized = provider
            .finalize(&key("finalize"), &provider_invoice)
            .await
            .map_err(provider_failed("finalize the invoice"))?;
        let now = OffsetDateTime::now_utc();
        payment.hosted_url = finalized.hosted_url;
        payment.updated_at = now;
        if finalized.paid {
            payment.status = PaymentStatus::Paid;
            payment.paid_at = Some(now);
        } else {
            let due = finalized.due_at.unwrap_or(now);
            payment.status = PaymentStatus::Open;
            payment.due_at = Some(due);
            payment.suspend_at = Some(due + payments.config.grace);
        }
        if self.store.save_invoice_payment(&payment).await? {
            (self.on_change)().await;
            Ok(payment.status)
        } else {
            self.current_status(invoice.id).await
        }
    }

    /// The payer's customer at the provider, created the first time it is needed.
    pub(crate) async fn customer(
        &self,
        provider: &dyn PaymentProvider,
        payer: Payer,
        tenant: &domain::Tenant,
    ) -> Result<String, Error> {
        if let Some(customer) = self.store.billing_customer(payer).await? {
            return Ok(customer);
        }
        let (key, name) = match payer {
            Payer::Tenant(id) => (format!("sluice-customer-{id}"), tenant.name.clone()),
            Payer::Partner(id) => (
                format!("sluice-partner-customer-{id}"),
                self.store.get_partner(id).await?.name,
            ),
        };
        let created = provider
            .create_customer(&key, &NewCustomer { name: &name, payer })
            .await
            .map_err(provider_failed("create the customer"))?;
        Ok(self.store.keep_billing_customer(payer, &created).await?)
    }

    async fn current_status(&self, invoice: InvoiceId) -> Result<PaymentStatus, Error> {
        Ok(self
            .store
            .invoice_payment(invoice)
            .await?
            .map_or(PaymentStatus::Sending, |it| it.status))
    }

    /// Withdraws an invoice from the provider before it is voided here: voided there when
    /// finalized, deleted while a draft. A paid invoice is not voided (a credit on the next
    /// one corrects it).
    ///
    /// # Errors
    /// `Conflict` for a paid invoice; `Unavailable` when the provider fails (nothing changed
    /// here: void again).
    pub(crate) async fn withdraw_payment(
        &self,
        tenant: domain::TenantId,
        invoice: InvoiceId,
    ) -> Result<(), Error> {
        let Some(payments) = &self.payments else {
            return Ok(());
        };
        let Some(payment) = self
            .store
            .invoice_payment(invoice)
            .await?
            .filter(|it| it.tenant_id == tenant)
        else {
            return Ok(());
        };
        if payment.status == PaymentStatus::Paid {
            return Err(Error::Conflict(
                "the invoice is paid: it cannot be voided; correct it with a credit on the next \
                 invoice"
                    .into(),
            ));
        }
        let Some(provider_invoice) = &payment.provider_invoice else {
            return Ok(());
        };
        if payment.status == PaymentStatus::Void {
            return Ok(());
        }
        let finalized = payment.status != PaymentStatus::Sending;
        payments
            .provider
            .void(
                &format!("sluice-invoice-{invoice}-void"),
                provider_invoice,
                finalized,
            )
            .await
            .map_err(provider_failed("void the invoice"))?;
        self.store
            .settle_invoice_payment(
                provider_invoice,
                PaymentStatus::Void,
                OffsetDateTime::now_utc(),
                &provider_audit(Some(payment.tenant_id), "billing.payment.void"),
            )
            .await?;
        (self.on_change)().await;
        Ok(())
    }

    /// Accepts a signed notice from the payment provider.
    ///
    /// # Errors
    /// `NotFound` when no provider is configured; `Invalid` naming the signature header or
    /// the payload's field that is wrong; store failures (the provider sends it again).
    pub async fn payment_notice(
        &self,
        payload: &str,
        signature: Option<&str>,
    ) -> Result<NoticeOutcome, Error> {
        let Some(payments) = &self.payments else {
            // Nothing here takes notices: to the provider the endpoint does not exist.
            return Err(Error::NotFound(
                "Stripe webhook: payments are not configured on this installation",
            ));
        };
        let signature = signature.ok_or_else(|| {
            Error::invalid("stripe-signature", NoticeRejected::BadSignature.to_string())
        })?;
        let event = payments
            .provider
            .verify(payload, signature, OffsetDateTime::now_utc())
            .map_err(|e| match e {
                NoticeRejected::Malformed(_) => Error::invalid("body", e.to_string()),
                other => Error::invalid("stripe-signature", other.to_string()),
            })?;
        match event {
            PaymentEvent::InvoicePaid {
                provider_invoice,
                at,
            } => {
                self.settle(&provider_invoice, PaymentStatus::Paid, at)
                    .await
            }
            PaymentEvent::InvoiceFailed {
                provider_invoice,
                at,
            } => {
                self.settle(&provider_invoice, PaymentStatus::Failed, at)
                    .await
            }
            PaymentEvent::TopUp {
                tenant,
                amount,
                currency,
                reference,
            } => {
                self.paid_top_up(&tenant, amount, &currency, &reference)
                    .await
            }
            PaymentEvent::Ignored { kind } => {
                tracing::debug!(kind, "payment notice ignored");
                Ok(NoticeOutcome::Ignored)
            }
        }
    }

    async fn settle(
        &self,
        provider_invoice: &str,
        change: PaymentStatus,
        at: OffsetDateTime,
    ) -> Result<NoticeOutcome, Error> {
        let action = match change {
            PaymentStatus::Paid => "billing.payment.paid",
            _ => "billing.payment.failed",
        };
        let found = self
            .store
            .settle_invoice_payment(provider_invoice, change, at, &provider_audit(None, action))
            .await?;
        let Some((payment, changed)) = found else {
            // Another system's invoice on the same account.
            return Ok(NoticeOutcome::Ignored);
        };
        if changed {
            tracing::info!(invoice = %payment.invoice_id, tenant = %payment.tenant_id, status = payment.status.as_str(), "invoice payment changed");
            (self.on_change)().await;
        }
        Ok(NoticeOutcome::Invoice {
            invoice: payment.invoice_id,
            changed,
        })
    }

    async fn paid_top_up(
        &self,
        tenant: &str,
        amount: i64,
        currency: &str,
        reference: &str,
    ) -> Result<NoticeOutcome, Error> {
        let field = "data.object.metadata.sluice_tenant_id";
        let tenant_id: domain::TenantId = tenant
            .parse()
            .map_err(|_| Error::invalid(field, format!("`{tenant}` is not a tenant id")))?;
        let platform = self.config.prices.currency;
        if !currency.eq_ignore_ascii_case(platform.as_str()) {
            return Err(Error::invalid(
                "data.object.currency",
                format!("credit is kept in {platform}, not `{currency}`"),
            ));
        }
        if amount <= 0 {
            return Err(Error::invalid(
                "data.object.amount_received",
                "a top-up is a positive amount",
            ));
        }
        let reference = domain::credit::reference(reference)
            .map_err(|e| Error::invalid("data.object.id", e.message))?;
        let top_up = TopUp {
            id: TopUpId::new(),
            tenant_id,
            amount: domain::payment::from_minor(amount, platform.as_str()),
            reference,
            reason: "Payment".into(),
            author: PROVIDER_AUTHOR.into(),
            created_at: OffsetDateTime::now_utc(),
        };
        let audit = provider_audit(Some(tenant_id), "billing.credit.top_up")
            .target("top_up", top_up.id)
            .change(
                None,
                Some(
                    serde_json::json!({
                        "amount": top_up.amount.to_string(),
                        "reference": top_up.reference,
                    })
                    .to_string(),
                ),
            );
        let (top_up, added) =
            self.store
                .add_top_up(&top_up, &audit)
                .await
                .map_err(|e| match e {
                    store::Error::NotFound => Error::invalid(field, "no such tenant"),
                    other => other.into(),
                })?;
        if added {
            self.store
                .rebase_credit(tenant_id, OffsetDateTime::now_utc())
                .await?;
        }
        Ok(NoticeOutcome::TopUp { top_up, added })
    }
}
