//! Price lists through the management API: the operator's cost and platform lists and
//! markup, a partner's rate card, a tenant's negotiated prices (each only ever added to, from
//! a date on), and the price list a tenant sees.

use domain::pricing::{
    MarkupEntry, Money, PriceBook, PriceEntry, PriceQuery, PriceScope, PriceSource, Rates,
    basis_points_of_percent,
};
use domain::route::PlatformDeployment;
use domain::{Permission, TenantId};
use time::OffsetDateTime;

use crate::{Error, Identity, Manager};

/// How far in the past a new entry may start: the request's own travel time, not a backdating.
const CLOCK_SLACK: time::Duration = time::Duration::minutes(1);

/// A new version of one model's rates, as the caller wrote them.
#[derive(Debug, Clone)]
pub struct PriceDraft {
    pub provider: String,
    pub model: String,
    /// Decimal texts per million tokens: input, output, then the optional cached input, cache
    /// write and reasoning rates.
    pub input: String,
    pub output: String,
    pub cached_input: Option<String>,
    pub cache_write: Option<String>,
    pub reasoning: Option<String>,
    pub effective_from: Option<OffsetDateTime>,
}

/// One list as stored and configured, newest first.
#[derive(Debug, Clone)]
pub struct PriceList {
    pub currency: domain::pricing::Currency,
    pub markups: Vec<MarkupEntry>,
    pub entries: Vec<PriceEntry>,
}

/// A deployment with its rates for one tenant (`None`: unpriced).
pub type PricedDeployment = (PlatformDeployment, Option<Rates>);

/// What every platform model's deployments cost one tenant now.
#[derive(Debug, Clone)]
pub struct TenantPrices {
    pub currency: domain::pricing::Currency,
    /// Per model (by name), its deployments, priced.
    pub models: Vec<(String, Vec<PricedDeployment>)>,
}

fn check_name(field: &str, value: &str, max: usize) -> Result<String, Error> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            format!("`{field}` must be 1 to {max} characters, without control characters"),
        ));
    }
    Ok(value.to_owned())
}

fn money(field: &str, text: &str) -> Result<Money, Error> {
    Money::parse_non_negative(text).map_err(|e| Error::invalid(field, format!("`{text}` {e}")))
}

/// When a new entry applies: now when not given; never before now.
fn starting(at: Option<OffsetDateTime>) -> Result<OffsetDateTime, Error> {
    let now = OffsetDateTime::now_utc();
    match at {
        None => Ok(now),
        Some(at) if at < now - CLOCK_SLACK => Err(Error::invalid(
            "effective_from",
            "must not be in the past: a price change never rewrites what was already charged",
        )),
        Some(at) => Ok(at),
    }
}

impl Manager {
    /// Who may read and write `scope`'s list: operators every list; a partner's administrators
    /// its rate card and its sub-tenants' negotiated prices. Members of a tenant see what they
    /// pay through [`Manager::tenant_prices`], not the list behind it.
    ///
    /// # Errors
    /// `Forbidden` for the platform's lists and a member's own tenant; `NotFound` for anyone
    /// else (other partners and tenants do not exist for them).
    async fn authorize_prices(&self, identity: &Identity, scope: PriceScope) -> Result<(), Error> {
        match scope {
            PriceScope::Cost | PriceScope::Platform if identity.user.is_operator => Ok(()),
            PriceScope::Cost | PriceScope::Platform => Err(Error::Forbidden(
                "only platform operators set the platform's prices".into(),
            )),
            PriceScope::Partner(partner) => {
                self.authorize_partner(identity, partner).await.map(drop)
            }
            PriceScope::Tenant(tenant) => {
                let found = self
                    .store
                    .get_tenant(tenant)
                    .await
                    .map_err(Error::missing("tenant"))?;
                if identity.user.is_operator {
                    return Ok(());
                }
                if let Some(partner) = found.partner_id
                    && self
                        .store
                        .is_partner_admin(partner, identity.user.id)
                        .await?
                {
                    return Ok(());
                }
                if self
                    .store
                    .role_of(tenant, identity.user.id)
                    .await?
                    .is_some()
                {
                    return Err(Error::Forbidden(
                        "a tenant's prices are set by the platform's operators or its partner"
                            .into(),
                    ));
                }
                Err(Error::NotFound("tenant"))
            }
        }
    }

    /// The book every node prices with: the base (defaults, configuration) and the stored lists.
    async fn price_book(&self) -> Result<PriceBook, Error> {
        let (entries, markups) = self.store.list_prices().await?;
        Ok(self.config.prices.book_with(entries, markups))
    }

    /// `scope`'s list: every version of its entries and markups, newest first (the cost list
    /// includes the shipped defaults and the configuration's).
    ///
    /// # Errors
    /// See `authorize_prices`.
    pub async fn price_list(
        &self,
        identity: &Identity,
        scope: PriceScope,
    ) -> Result<PriceList, Error> {
        self.authorize_prices(identity, scope).await?;
        let book = self.price_book().await?;
        let mut entries: Vec<PriceEntry> = book
            .entries()
            .filter(|it| it.scope == scope)
            .cloned()
            .collect();
        entries.sort_by(|a, b| {
            (&a.provider, &a.model)
                .cmp(&(&b.provider, &b.model))
                .then(b.effective_from.cmp(&a.effective_from))
                .then(b.source.cmp(&a.source))
        });
        Ok(PriceList {
            currency: book.currency(),
            markups: book.markups(scope).to_vec(),
            entries,
        })
    }

    /// Adds a version of one model's rates to `scope`'s list.
    ///
    /// # Errors
    /// See `authorize_prices`; `Invalid` naming the field (names, rates as exact non-negative
    /// decimals of at most nine places, a start in the past); `Conflict` for a second entry of
    /// the same provider and model from the same moment.
    pub async fn add_price(
        &self,
        identity: &Identity,
        scope: PriceScope,
        draft: PriceDraft,
    ) -> Result<PriceEntry, Error> {
        self.authorize_prices(identity, scope).await?;
        let entry = PriceEntry {
            scope,
            source: PriceSource::Managed,
            provider: check_name("provider", &draft.provider, 100)?,
            model: check_name("model", &draft.model, 200)?,
            rates: Rates {
                input: money("rates.input", &draft.input)?,
                output: money("rates.output", &draft.output)?,
                cached_input: draft
                    .cached_input
                    .as_deref()
                    .map(|it| money("rates.cached_input", it))
                    .transpose()?,
                cache_write: draft
                    .cache_write
                    .as_deref()
                    .map(|it| money("rates.cache_write", it))
                    .transpose()?,
                reasoning: draft
                    .reasoning
                    .as_deref()
                    .map(|it| money("rates.reasoning", it))
                    .transpose()?,
            },
            effective_from: starting(draft.effective_from)?,
        };
        let audit = identity
            .audit(tenant_of(scope), "price.add")
            .target("price_list", scope_label(scope))
            .change(None, serde_json::to_string(&entry).ok());
        self.store.add_price(&entry, &audit).await.map_err(|e| match e {
            store::Error::Conflict(_) => Error::Conflict(format!(
                "this list already has `{}` on `{}` from that moment; pick another `effective_from`",
                entry.model, entry.provider
            )),
            other => other.into(),
        })?;
        self.changed().await;
        Ok(entry)
    }

    /// Sets `scope`'s markup (negative: a discount) from a moment on.
    ///
    /// # Errors
    /// See `authorize_prices`; `Invalid` for the cost list (it has no markup), a percentage
    /// that is not a decimal of at most two places within −100 to 1000, a start in the past.
    pub async fn set_markup(
        &self,
        identity: &Identity,
        scope: PriceScope,
        percent: &str,
        effective_from: Option<OffsetDateTime>,
    ) -> Result<MarkupEntry, Error> {
        self.authorize_prices(identity, scope).await?;
        if scope == PriceScope::Cost {
            return Err(Error::invalid(
                "percent",
                "the cost list is what providers charge: it has no markup",
            ));
        }
        let markup = MarkupEntry {
            scope,
            basis_points: basis_points_of_percent(percent)
                .map_err(|e| Error::invalid("percent", e))?,
            effective_from: starting(effective_from)?,
        };
        let audit = identity
            .audit(tenant_of(scope), "price.markup")
            .target("price_list", scope_label(scope))
            .change(None, serde_json::to_string(&markup).ok());
        self.store
            .add_markup(&markup, &audit)
            .await
            .map_err(|e| {
                match e {
            store::Error::Conflict(_) => Error::Conflict(
                "this list already has a markup from that moment; pick another `effective_from`"
                    .into(),
            ),
            other => other.into(),
        }
            })?;
        self.changed().await;
        Ok(markup)
    }

    /// What every platform model's deployments cost `tenant` now.
    ///
    /// # Errors
    /// Missing permission.
    pub async fn tenant_prices(
        &self,
        identity: &Identity,
        tenant: TenantId,
    ) -> Result<TenantPrices, Error> {
        self.authorize(identity, tenant, Permission::ViewTenant)
            .await?;
        let partner = self.store.get_tenant(tenant).await?.partner_id;
        let book = self.price_book().await?;
        let at = OffsetDateTime::now_utc();
        let mut models: Vec<_> = self
            .config
            .platform_models
            .models
            .iter()
            .map(|(model, deployments)| {
                let priced = deployments
                    .iter()
                    .map(|it| {
                        let rates = book.rates(&PriceQuery {
                            provider: &it.provider,
                            provider_kind: &it.provider_kind,
                            model: &it.upstream_model,
                            tenant,
                            partner,
                            at,
                        });
                        (it.clone(), rates.price)
                    })
                    .collect();
                (model.clone(), priced)
            })
            .collect();
        models.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(TenantPrices {
            currency: book.currency(),
            models,
        })
    }
}

/// The tenant an entry's audit record belongs to, for a tenant's negotiated prices.
fn tenant_of(scope: PriceScope) -> Option<TenantId> {
    match scope {
        PriceScope::Tenant(tenant) => Some(tenant),
        _ => None,
    }
}

fn scope_label(scope: PriceScope) -> String {
    match scope {
        PriceScope::Cost => "cost".into(),
        PriceScope::Platform => "platform".into(),
        PriceScope::Partner(id) => format!("partner:{id}"),
        PriceScope::Tenant(id) => format!("tenant:{id}"),
    }
}
