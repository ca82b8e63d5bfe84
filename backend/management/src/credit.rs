//! Prepaid credit through the API: whoever writes a tenant's bill (operators, its partner) puts
//! it on prepaid credit, says whether calls stop at zero, and tops it up (each reference counted
//! once); those who may see its billing read the balance. Every change works the balance out
//! again as of now, and so does an hourly pass (`rebase_all_credit`), so a node that lost its
//! counters (a Redis restart) forgets at most an hour of spending.

use domain::credit::{CreditAccount, TopUp};
use domain::pricing::{Currency, Money};
use domain::{Permission, TenantId, TopUpId};
use time::OffsetDateTime;

use crate::{Error, Identity, Manager};

/// The most top-ups one answer lists.
const TOP_UPS_LISTED: u32 = 50;

/// A tenant's prepaid credit as the API shows it.
#[derive(Debug, Clone)]
pub struct CreditDetail {
    /// `None`: the tenant is billed afterwards, not on prepaid credit.
    pub account: Option<CreditAccount>,
    /// Top-ups less prices and corrections of everything until now, from the ledger.
    pub balance: Money,
    /// Newest first.
    pub top_ups: Vec<TopUp>,
    /// Whether the tenant's members may buy credit by card (`credit_checkout`).
    pub can_pay: bool,
}

/// Credit to buy through the payment provider's checkout page, as asked for.
#[derive(Debug, Clone)]
pub struct CheckoutDraft {
    /// Decimal text, positive, in whole minor units (cents).
    pub amount: String,
    /// When given, it must be the platform's currency.
    pub currency: Option<String>,
}

/// The fewest minor units one checkout takes (Stripe's minimum charge is about half a dollar).
const CHECKOUT_MIN_MINOR: i64 = 50;
/// The most minor units one checkout takes (Stripe's largest amount, 999 999.99 in dollars).
const CHECKOUT_MAX_MINOR: i64 = 99_999_999;

/// A top-up as asked for, before its checks.
#[derive(Debug, Clone)]
pub struct TopUpDraft {
    /// Decimal text, positive.
    pub amount: String,
    /// When given, it must be the platform's currency.
    pub currency: Option<String>,
    /// Makes a retried top-up count once; default: a new one each time.
    pub reference: Option<String>,
    pub reason: String,
}

impl Manager {
    /// The platform's currency, which credit is kept in; `asked`, when given, must be it.
    fn credit_currency(&self, asked: Option<&str>) -> Result<Currency, Error> {
        let currency = self.config.prices.currency;
        match asked {
            Some(asked) if asked != currency.as_str() => Err(Error::invalid(
                "currency",
                format!("credit is kept in {currency}, not `{asked}`"),
            )),
            _ => Ok(currency),
        }
    }

    async fn credit_detail(&self, tenant: TenantId) -> Result<CreditDetail, Error> {
        let account = self.store.credit_account(tenant).await?;
        let balance = self
            .store
            .credit_balance_at(tenant, OffsetDateTime::now_utc())
            .await?;
        let top_ups = self.store.list_top_ups(tenant, TOP_UPS_LISTED).await?;
        let can_pay = self.payments.is_some()
            && account.is_some()
            && self
                .store
                .get_tenant(tenant)
                .await
                .map_err(Error::missing("tenant"))?
                .partner_id
                .is_none();
        Ok(CreditDetail {
            account,
            balance,
            top_ups,
            can_pay,
        })
    }

    /// Starts buying credit by card: the payment provider's checkout page for `amount`, whose
    /// payment, once the provider's signed notice of it arrives, tops the credit up (once per
    /// payment). Those who may see the tenant's billing; only for a tenant on prepaid credit
    /// that is not a partner's sub-tenant (its partner keeps its credit).
    ///
    /// # Errors
    /// Missing permission; `Conflict` when payments are not configured, the tenant is billed
    /// afterwards or is a sub-tenant; `Invalid` naming `amount` or `currency`; `Unavailable`
    /// when the provider fails.
    pub async fn credit_checkout(
        &self,
        identity: &Identity,
        tenant: TenantId,
        draft: CheckoutDraft,
    ) -> Result<crate::payments::CheckoutStarted, Error> {
        self.authorize(identity, tenant, Permission::ViewBilling)
            .await?;
        let currency = self.credit_currency(draft.currency.as_deref())?;
        let amount = domain::credit::top_up_amount(&draft.amount)
            .map_err(|e| Error::invalid(e.field, e.message))?;
        let minor = domain::payment::to_minor(amount, currency.as_str());
        if domain::payment::from_minor(minor, currency.as_str()) != amount {
            return Err(Error::invalid(
                "amount",
                format!("a card payment is in whole {currency} cents: at most two decimal places"),
            ));
        }
        if !(CHECKOUT_MIN_MINOR..=CHECKOUT_MAX_MINOR).contains(&minor) {
            return Err(Error::invalid(
                "amount",
                format!(
                    "a card payment is from {} to {} {currency}",
                    domain::payment::from_minor(CHECKOUT_MIN_MINOR, currency.as_str()),
                    domain::payment::from_minor(CHECKOUT_MAX_MINOR, currency.as_str())
                ),
            ));
        }
        let Some(payments) = &self.payments else {
            return Err(Error::Conflict(
                "card payments are not configured on this installation: ask the platform's \
                 operators to top the credit up"
                    .into(),
            ));
        };
        let found = self
            .store
            .get_tenant(tenant)
            .await
            .map_err(Error::missing("tenant"))?;
        if found.partner_id.is_some() {
            return Err(Error::Conflict(
                "the tenant's credit is kept by its partner: ask the partner to top it up".into(),
            ));
        }
        if self.store.credit_account(tenant).await?.is_none() {
            return Err(Error::Conflict(
                "the tenant is billed afterwards, not on prepaid credit: there is nothing to buy"
                    .into(),
            ));
        }
        let customer = self
            .customer(
                payments.provider.as_ref(),
                domain::payment::Payer::Tenant(tenant),
                &found,
            )
            .await?;
        let page = format!("{}/billing", self.config.public_url.trim_end_matches('/'));
        let started = payments
            .provider
            .create_checkout(
                &format!("sluice-checkout-{}", domain::RequestId::new()),
                &crate::payments::CreditCheckout {
                    customer: &customer,
                    tenant,
                    currency: currency.as_str().to_ascii_lowercase(),
                    amount: minor,
                    description: format!("Prepaid credit for {}", found.name),
                    success_url: format!("{page}?credit=paid"),
                    cancel_url: format!("{page}?credit=cancelled"),
                },
            )
            .await
            .map_err(|e| {
                Error::Unavailable(format!(
                    "the payment provider failed to open a checkout: {e}"
                ))
            })?;
        tracing::info!(tenant = %tenant, amount = %amount, checkout = %started.id, "credit checkout opened");
        Ok(started)
    }

    /// The tenant's prepaid credit. Those who may see its billing.
    ///
    /// # Errors
    /// Missing permission.
    pub async fn credit(
        &self,
        identity: &Identity,
        tenant: TenantId,
    ) -> Result<CreditDetail, Error> {
        self.authorize(identity, tenant, Permission::ViewBilling)
            .await?;
        self.credit_detail(tenant).await
    }

    /// Puts the tenant on prepaid credit, saying whether its calls stop at zero.
    ///
    /// # Errors
    /// See `authorize_bill_author`.
    pub async fn set_prepaid(
        &self,
        identity: &Identity,
        tenant: TenantId,
        stop_at_zero: bool,
    ) -> Result<CreditDetail, Error> {
        self.authorize_bill_author(identity, tenant).await?;
        let audit = identity
            .audit(Some(tenant), "billing.credit.settings")
            .target("tenant", tenant)
            .change(
                None,
                Some(serde_json::json!({ "stop_at_zero": stop_at_zero }).to_string()),
            );
        self.store
            .set_credit_account(tenant, stop_at_zero, &audit)
            .await
            .map_err(Error::missing("tenant"))?;
        self.store
            .rebase_credit(tenant, OffsetDateTime::now_utc())
            .await?;
        self.credit_detail(tenant).await
    }

    /// Adds money to the tenant's prepaid credit; a reference seen before adds nothing (the
    /// answer says so). The balance is worked out again at once.
    ///
    /// # Errors
    /// See `authorize_bill_author`; `Invalid` naming `amount`, `currency`, `reference` or
    /// `reason`.
    pub async fn add_top_up(
        &self,
        identity: &Identity,
        tenant: TenantId,
        draft: TopUpDraft,
    ) -> Result<(TopUp, bool), Error> {
        self.authorize_bill_author(identity, tenant).await?;
        let invalid = |e: domain::ledger::AdjustmentError| Error::invalid(e.field, e.message);
        self.credit_currency(draft.currency.as_deref())?;
        let amount = domain::credit::top_up_amount(&draft.amount).map_err(invalid)?;
        let reason = domain::ledger::reason(&draft.reason).map_err(invalid)?;
        let id = TopUpId::new();
        let reference = match &draft.reference {
            Some(text) => domain::credit::reference(text).map_err(invalid)?,
            None => id.to_string(),
        };
        let top_up = TopUp {
            id,
            tenant_id: tenant,
            amount,
            reference,
            reason,
            author: identity.user.email.to_string(),
            created_at: OffsetDateTime::now_utc(),
        };
        let audit = identity
            .audit(Some(tenant), "billing.credit.top_up")
            .target("top_up", top_up.id)
            .change(
                None,
                Some(
                    serde_json::json!({
                        "amount": amount.to_string(),
                        "reference": top_up.reference,
                        "reason": top_up.reason,
                    })
                    .to_string(),
                ),
            );
        let (top_up, added) = self
            .store
            .add_top_up(&top_up, &audit)
            .await
            .map_err(Error::missing("tenant"))?;
        if added {
            self.store
                .rebase_credit(tenant, OffsetDateTime::now_utc())
                .await?;
        }
        Ok((top_up, added))
    }

    /// Works every prepaid balance out again as of now: the hourly pass, on any node.
    ///
    /// # Errors
    /// When the accounts cannot be listed; each account's own failure is logged.
    pub async fn rebase_all_credit(&self) -> Result<u32, Error> {
        let mut rebased = 0;
        for account in self.store.credit_accounts().await? {
            match self
                .store
                .rebase_credit(account.tenant_id, OffsetDateTime::now_utc())
                .await
            {
                Ok(_) => rebased += 1,
                Err(e) => {
                    tracing::warn!(tenant = %account.tenant_id, error = %e, "could not work out the prepaid balance: trying again next pass");
                }
            }
        }
        Ok(rebased)
    }
}
