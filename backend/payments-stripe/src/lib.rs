//! Stripe as the payment provider (`management::payments::PaymentProvider`), through
//! async-stripe: customers, invoices and their items, each request under the idempotency key
//! the caller gives (Stripe answers a repeated key with the first answer, so a retried sync
//! never creates a second anything), and webhook notices checked against their
//! `Stripe-Signature` (HMAC-SHA256 over `timestamp.payload`, at most five minutes old).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use domain::payment::{Payer, PaymentEvent, PaymentItem};
use management::payments::{
    CheckoutStarted, CreditCheckout, FinalizedAtProvider, NewCustomer, NoticeRejected,
    PaymentProvider, ProviderError, ProviderInvoice,
};
use stripe::{IdempotencyKey, RequestStrategy, StripeRequest};
use stripe_billing::invoice::{
    CreateInvoice, CreateInvoicePendingInvoiceItemsBehavior, DeleteInvoice, FinalizeInvoiceInvoice,
    VoidInvoiceInvoice,
};
use stripe_billing::invoice_item::CreateInvoiceItem;
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionLineItemsPriceData,
    CreateCheckoutSessionPaymentIntentData, ProductData,
};
use stripe_core::customer::CreateCustomer;
use stripe_shared::{InvoiceCollectionMethod, InvoiceStatus};
use stripe_webhook::{EventObject, Webhook, WebhookError};
use time::OffsetDateTime;

/// Stripe's API, where tests point it elsewhere.
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com/";

/// How long one request to Stripe may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The metadata key that names the tenant on customers, invoices and top-up payments.
pub const TENANT_KEY: &str = "sluice_tenant_id";

/// The metadata key that names the partner on its customer and on the invoices it pays for its
/// sub-tenants.
pub const PARTNER_KEY: &str = "sluice_partner_id";

/// Stripe, as configured.
pub struct Stripe {
    client: stripe::Client,
    webhook_secret: String,
}

impl std::fmt::Debug for Stripe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stripe").finish_non_exhaustive()
    }
}

impl Stripe {
    /// A client of the API at `api_base` (`https://api.stripe.com/`, or a fake in tests).
    ///
    /// # Errors
    /// A secret key that is not a header value or a base that is not a URL.
    pub fn new(api_base: &str, secret_key: &str, webhook_secret: &str) -> Result<Self, String> {
        let base = if api_base.ends_with('/') {
            api_base.to_owned()
        } else {
            format!("{api_base}/")
        };
        let client = stripe::ClientBuilder::new(secret_key)
            .url(base)
            .timeout(REQUEST_TIMEOUT)
            .app_info("sluice", None, None)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            client,
            webhook_secret: webhook_secret.to_owned(),
        })
    }
}

fn idempotent(key: &str) -> Result<RequestStrategy, ProviderError> {
    IdempotencyKey::new(key)
        .map(RequestStrategy::Idempotent)
        .map_err(|e| ProviderError(format!("idempotency key `{key}`: {e}")))
}

fn failed(e: stripe::StripeError) -> ProviderError {
    ProviderError(match e {
        stripe::StripeError::Stripe(errors, status) => format!(
            "Stripe answered {status}: {}",
            errors.message.as_deref().unwrap_or("no message")
        ),
        other => other.to_string(),
    })
}

fn at(timestamp: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(timestamp).ok()
}

fn currency(code: &str) -> Result<stripe_types::Currency, ProviderError> {
    code.parse()
        .map_err(|_| ProviderError(format!("Stripe does not take the currency `{code}`")))
}

#[async_trait]
impl PaymentProvider for Stripe {
    async fn create_customer(
        &self,
        key: &str,
        customer: &NewCustomer<'_>,
    ) -> Result<String, ProviderError> {
        let named = match customer.payer {
            Payer::Tenant(tenant) => (TENANT_KEY.to_owned(), tenant.to_string()),
            Payer::Partner(partner) => (PARTNER_KEY.to_owned(), partner.to_string()),
        };
        let customer = CreateCustomer::new()
            .name(customer.name.to_owned())
            .metadata(HashMap::from([named]))
            .customize()
            .request_strategy(idempotent(key)?)
            .send(&self.client)
            .await
            .map_err(failed)?;
        Ok(customer.id.to_string())
    }

    async fn create_invoice(
        &self,
        key: &str,
        invoice: &ProviderInvoice<'_>,
    ) -> Result<String, ProviderError> {
        let mut metadata = HashMap::from([
            (TENANT_KEY.to_owned(), invoice.invoice.tenant_id.to_string()),
            (
                "sluice_invoice_id".to_owned(),
                invoice.invoice.id.to_string(),
            ),
        ]);
        if let Some(partner) = invoice.partner {
            metadata.insert(PARTNER_KEY.to_owned(), partner.to_string());
        }
        if let Some(number) = invoice.invoice.number {
            metadata.insert("sluice_invoice_number".to_owned(), number.to_string());
        }
        let mut request = CreateInvoice::new()
            .customer(invoice.customer)
            .currency(currency(&invoice.currency)?)
            .auto_advance(false)
            .pending_invoice_items_behavior(CreateInvoicePendingInvoiceItemsBehavior::Exclude)
            .description(invoice.description.clone())
            .metadata(metadata);
        request = match invoice.days_until_due {
            Some(days) => request
                .collection_method(InvoiceCollectionMethod::SendInvoice)
                .days_until_due(days),
            None => request.collection_method(InvoiceCollectionMethod::ChargeAutomatically),
        };
        let created = request
            .customize()
            .request_strategy(idempotent(key)?)
            .send(&self.client)
            .await
            .map_err(failed)?;
        created
            .id
            .map(|it| it.to_string())
            .ok_or_else(|| ProviderError("Stripe answered an invoice without an id".into()))
    }

    async fn create_checkout(
        &self,
        key: &str,
        checkout: &CreditCheckout<'_>,
    ) -> Result<CheckoutStarted, ProviderError> {
        let tenant = HashMap::from([(TENANT_KEY.to_owned(), checkout.tenant.to_string())]);
        let mut price = CreateCheckoutSessionLineItemsPriceData::new(currency(&checkout.currency)?);
        price.unit_amount = Some(checkout.amount);
        price.product_data = Some(ProductData::new(checkout.description.clone()));
        let mut item = CreateCheckoutSessionLineItems::new();
        item.price_data = Some(price);
        item.quantity = Some(1);
        let mut intent = CreateCheckoutSessionPaymentIntentData::new();
        intent.description = Some(checkout.description.clone());
        // The payment's notice (`payment_intent.succeeded`) names the tenant it tops up.
        intent.metadata = Some(tenant.clone());
        let session = CreateCheckoutSession::new()
            .mode(stripe_shared::CheckoutSessionMode::Payment)
            .customer(checkout.customer)
            .client_reference_id(checkout.tenant.to_string())
            .line_items(vec![item])
            .payment_intent_data(intent)
            .metadata(tenant)
            .success_url(checkout.success_url.clone())
            .cancel_url(checkout.cancel_url.clone())
            .customize()
            .request_strategy(idempotent(key)?)
            .send(&self.client)
            .await
            .map_err(failed)?;
        let url = session
            .url
            .ok_or_else(|| ProviderError("Stripe answered a checkout without its page".into()))?;
        Ok(CheckoutStarted {
            id: session.id.to_string(),
            url,
            expires_at: at(session.expires_at),
        })
    }

    async fn add_item(
        &self,
        key: &str,
        customer: &str,
        provider_invoice: &str,
        currency_code: &str,
        item: &PaymentItem,
    ) -> Result<(), ProviderError> {
        CreateInvoiceItem::new()
            .customer(customer)
            .invoice(provider_invoice)
            .currency(currency(currency_code)?)
            .amount(item.amount)
            .description(item.description.clone())
            .customize()
            .request_strategy(idempotent(key)?)
            .send(&self.client)
            .await
            .map_err(failed)?;
        Ok(())
    }

    async fn finalize(
        &self,
        key: &str,
        provider_invoice: &str,
    ) -> Result<FinalizedAtProvider, ProviderError> {
        let invoice = FinalizeInvoiceInvoice::new(provider_invoice)
            .auto_advance(true)
            .customize()
            .request_strategy(idempotent(key)?)
            .send(&self.client)
            .await
            .map_err(failed)?;
        Ok(FinalizedAtProvider {
            paid: invoice.status == Some(InvoiceStatus::Paid),
            due_at: invoice.due_date.and_then(at),
            hosted_url: invoice.hosted_invoice_url,
        })
    }

    async fn void(
        &self,
        key: &str,
        provider_invoice: &str,
        finalized: bool,
    ) -> Result<(), ProviderError> {
        let sent = if finalized {
            VoidInvoiceInvoice::new(provider_invoice)
                .customize()
                .request_strategy(idempotent(key)?)
                .send(&self.client)
                .await
                .map(|_| ())
        } else {
            DeleteInvoice::new(provider_invoice)
                .customize()
                .request_strategy(idempotent(key)?)
                .send(&self.client)
                .await
                .map(|_| ())
        };
        match sent {
            // Deleted already: what was asked for.
            Err(stripe::StripeError::Stripe(_, 404)) if !finalized => Ok(()),
            other => other.map_err(failed),
        }
    }

    fn verify(
        &self,
        payload: &str,
        signature: &str,
        now: OffsetDateTime,
    ) -> Result<PaymentEvent, NoticeRejected> {
        let event = Webhook::construct_event_with_timestamp(
            payload,
            signature,
            &self.webhook_secret,
            now.unix_timestamp(),
        )
        .map_err(|e| match e {
            WebhookError::BadTimestamp(_) => NoticeRejected::OldTimestamp,
            WebhookError::BadParse(message) => NoticeRejected::Malformed(message),
            WebhookError::BadKey | WebhookError::BadHeader(_) | WebhookError::BadSignature => {
                NoticeRejected::BadSignature
            }
        })?;
        let created = at(event.created).unwrap_or(now);
        let invoice_id = |invoice: &stripe_shared::Invoice| {
            invoice
                .id
                .as_ref()
                .map(ToString::to_string)
                .ok_or_else(|| NoticeRejected::Malformed("the invoice has no id".into()))
        };
        Ok(match event.data.object {
            EventObject::InvoicePaid(invoice) | EventObject::InvoicePaymentSucceeded(invoice) => {
                PaymentEvent::InvoicePaid {
                    provider_invoice: invoice_id(&invoice)?,
                    at: created,
                }
            }
            EventObject::InvoicePaymentFailed(invoice) => PaymentEvent::InvoiceFailed {
                provider_invoice: invoice_id(&invoice)?,
                at: created,
            },
            EventObject::PaymentIntentSucceeded(intent) => match intent.metadata.get(TENANT_KEY) {
                Some(tenant) => PaymentEvent::TopUp {
                    tenant: tenant.clone(),
                    amount: intent.amount_received,
                    currency: intent.currency.to_string(),
                    reference: intent.id.to_string(),
                },
                // An invoice's own payment, or another system's.
                None => PaymentEvent::Ignored {
                    kind: event.type_.to_string(),
                },
            },
            _ => PaymentEvent::Ignored {
                kind: event.type_.to_string(),
            },
        })
    }
}
