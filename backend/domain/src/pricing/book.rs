//! The price book: every price list and markup the platform, its partners and its tenants
//! have set, versioned by the date each takes effect, and the one resolution of what a call
//! costs the platform and what it costs the tenant.
//!
//! Four scopes of lists: `cost` (what the platform pays each provider: the defaults shipped in
//! `prices/default-prices.toml`, overridden by the configuration file, overridden by the
//! management API), `platform` (what the platform charges: its own list, else cost plus the
//! platform's markup), `partner` (a partner's rate card for its sub-tenants: its own list,
//! else the platform's price plus its markup), and `tenant` (negotiated prices: a tenant's own
//! list, else the price it would pay plus its own markup, usually a discount).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::money::{Currency, Money};
use super::rates::Rates;
use crate::llm::TokenCounts;
use crate::{PartnerId, TenantId};

/// Whose price list an entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "scope", content = "id", rename_all = "snake_case")]
pub enum PriceScope {
    /// What the platform pays providers.
    Cost,
    /// What the platform charges its tenants and partners.
    Platform,
    /// A partner's rate card for its sub-tenants.
    Partner(PartnerId),
    /// One tenant's negotiated prices.
    Tenant(TenantId),
}

/// Where an entry came from; a later source overrides an earlier one for the same scope,
/// provider and model, whatever their dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceSource {
    /// The data file shipped with the binary.
    Defaults,
    /// The operator's configuration file.
    Config,
    /// Set through the management API (stored).
    Managed,
}

/// A provider name or kind the entries of a model can name; `*` matches any provider.
pub const ANY_PROVIDER: &str = "*";

/// One model's rates in one list, from a date on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceEntry {
    pub scope: PriceScope,
    pub source: PriceSource,
    /// A configured provider's name, a provider kind (`openai`, `anthropic`, …), or `*`.
    pub provider: String,
    /// The upstream model (for `cost`) or the model as the provider names it.
    pub model: String,
    #[serde(with = "time::serde::rfc3339")]
    pub effective_from: OffsetDateTime,
    pub rates: Rates,
}

/// A list's markup (or, negative, discount) in basis points, from a date on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkupEntry {
    pub scope: PriceScope,
    #[serde(with = "time::serde::rfc3339")]
    pub effective_from: OffsetDateTime,
    /// Hundredths of a percent: 2 500 is +25 %, −1 000 is −10 %. At least −10 000.
    pub basis_points: i32,
}

/// The call a price is asked for.
#[derive(Debug, Clone, Copy)]
pub struct PriceQuery<'a> {
    /// The configured provider's name, then its kind, are looked up in that order.
    pub provider: &'a str,
    pub provider_kind: &'a str,
    pub model: &'a str,
    pub tenant: TenantId,
    pub partner: Option<PartnerId>,
    /// When the call was received: the prices in force then apply.
    pub at: OffsetDateTime,
}

/// The rates that apply to one call, per party.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallRates {
    /// What the platform pays the provider; `None`: the model has no known cost.
    pub cost: Option<Rates>,
    /// What the platform charges a partner for its sub-tenant's call; `None` for a tenant the
    /// platform bills itself.
    pub wholesale: Option<Rates>,
    /// What the tenant pays; `None`: unpriced.
    pub price: Option<Rates>,
}

/// A call's amounts; `None` where no price applies (recorded as unpriced, never as zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Priced {
    pub cost: Option<Money>,
    pub wholesale: Option<Money>,
    pub price: Option<Money>,
}

impl CallRates {
    pub fn charge(&self, counts: &TokenCounts) -> Priced {
        Priced {
            cost: self.cost.map(|it| it.charge(counts)),
            wholesale: self.wholesale.map(|it| it.charge(counts)),
            price: self.price.map(|it| it.charge(counts)),
        }
    }
}

/// Every list and markup, indexed for the request path: by model, then a short scan.
#[derive(Debug, Clone)]
pub struct PriceBook {
    currency: Currency,
    /// Per model, its entries in every scope, newest source first, then newest date first.
    entries: HashMap<Box<str>, Vec<PriceEntry>>,
    /// Per scope, its markups, newest first.
    markups: HashMap<PriceScope, Vec<MarkupEntry>>,
}

impl Default for PriceBook {
    fn default() -> Self {
        PriceBook::new(Currency::USD, Vec::new(), Vec::new())
    }
}

impl PriceBook {
    pub fn new(currency: Currency, entries: Vec<PriceEntry>, markups: Vec<MarkupEntry>) -> Self {
        let mut by_model: HashMap<Box<str>, Vec<PriceEntry>> = HashMap::new();
        for entry in entries {
            by_model
                .entry(entry.model.as_str().into())
                .or_default()
                .push(entry);
        }
        for list in by_model.values_mut() {
            list.sort_by_key(|it| std::cmp::Reverse((it.source, it.effective_from)));
        }
        let mut by_scope: HashMap<PriceScope, Vec<MarkupEntry>> = HashMap::new();
        for markup in markups {
            by_scope.entry(markup.scope).or_default().push(markup);
        }
        for list in by_scope.values_mut() {
            list.sort_by_key(|it| std::cmp::Reverse(it.effective_from));
        }
        PriceBook {
            currency,
            entries: by_model,
            markups: by_scope,
        }
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// `scope`'s markups, newest first.
    pub fn markups(&self, scope: PriceScope) -> &[MarkupEntry] {
        self.markups.get(&scope).map_or(&[], Vec::as_slice)
    }

    /// Every entry, for listing (newest source and date first within a model).
    pub fn entries(&self) -> impl Iterator<Item = &PriceEntry> {
        self.entries.values().flatten()
    }

    /// The rates in `scope`'s own list for the query's model and provider at its time: the
    /// provider's name, then its kind, then `*`; within those, the newest source, then the
    /// newest entry in force.
    fn listed(entries: &[PriceEntry], scope: PriceScope, query: &PriceQuery<'_>) -> Option<Rates> {
        [query.provider, query.provider_kind, ANY_PROVIDER]
            .into_iter()
            .find_map(|provider| {
                entries
                    .iter()
                    .find(|it| {
                        it.scope == scope
                            && it.provider == provider
                            && it.effective_from <= query.at
                    })
                    .map(|it| it.rates)
            })
    }

    /// `scope`'s markup in force at `at`, in basis points; none is 0.
    fn markup(&self, scope: PriceScope, at: OffsetDateTime) -> i32 {
        self.markups
            .get(&scope)
            .and_then(|list| list.iter().find(|it| it.effective_from <= at))
            .map_or(0, |it| it.basis_points)
    }

    /// A scope's list price for the query, else `base` with the scope's markup.
    fn list_or_markup(
        &self,
        entries: &[PriceEntry],
        scope: PriceScope,
        base: Option<Rates>,
        query: &PriceQuery<'_>,
    ) -> Option<Rates> {
        Self::listed(entries, scope, query)
            .or_else(|| base.map(|it| it.marked_up(self.markup(scope, query.at))))
    }

    /// The rates one call is charged at, for each party.
    pub fn rates(&self, query: &PriceQuery<'_>) -> CallRates {
        let entries = self.entries.get(query.model).map_or(&[][..], Vec::as_slice);
        let cost = Self::listed(entries, PriceScope::Cost, query);
        let platform = self.list_or_markup(entries, PriceScope::Platform, cost, query);
        let tenant = PriceScope::Tenant(query.tenant);
        match query.partner {
            None => CallRates {
                cost,
                wholesale: None,
                price: self.list_or_markup(entries, tenant, platform, query),
            },
            Some(partner) => {
                let card =
                    self.list_or_markup(entries, PriceScope::Partner(partner), platform, query);
                CallRates {
                    cost,
                    wholesale: platform,
                    price: self.list_or_markup(entries, tenant, card, query),
                }
            }
        }
    }

    /// What one call costs each party.
    pub fn price(&self, query: &PriceQuery<'_>, counts: &TokenCounts) -> Priced {
        self.rates(query).charge(counts)
    }
}

/// The prices a node starts with: the shipped defaults and the configuration file's. The
/// stored lists join them in each snapshot ([`PriceBase::book_with`]).
#[derive(Debug, Clone)]
pub struct PriceBase {
    pub currency: Currency,
    pub entries: Vec<PriceEntry>,
    pub markups: Vec<MarkupEntry>,
}

impl Default for PriceBase {
    fn default() -> Self {
        PriceBase {
            currency: Currency::USD,
            entries: Vec::new(),
            markups: Vec::new(),
        }
    }
}

impl PriceBase {
    /// The book of this base and the stored lists, which override the base's where both price
    /// a model (`PriceSource::Managed` ranks above the defaults and the configuration).
    pub fn book_with(
        &self,
        mut stored: Vec<PriceEntry>,
        mut markups: Vec<MarkupEntry>,
    ) -> PriceBook {
        stored.extend(self.entries.iter().cloned());
        markups.extend(self.markups.iter().copied());
        PriceBook::new(self.currency, stored, markups)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn rates(input: &str, output: &str) -> Rates {
        Rates {
            input: Money::parse(input).unwrap(),
            output: Money::parse(output).unwrap(),
            cached_input: None,
            cache_write: None,
            reasoning: None,
        }
    }

    fn entry(
        scope: PriceScope,
        source: PriceSource,
        provider: &str,
        from: OffsetDateTime,
        r: Rates,
    ) -> PriceEntry {
        PriceEntry {
            scope,
            source,
            provider: provider.to_owned(),
            model: "gpt-4o".to_owned(),
            effective_from: from,
            rates: r,
        }
    }

    fn query(
        tenant: TenantId,
        partner: Option<PartnerId>,
        at: OffsetDateTime,
    ) -> PriceQuery<'static> {
        PriceQuery {
            provider: "openai-eu",
            provider_kind: "openai",
            model: "gpt-4o",
            tenant,
            partner,
            at,
        }
    }

    const MILLION: TokenCounts = TokenCounts {
        prompt: 1_000_000,
        completion: 1_000_000,
        cached: 0,
        cache_write: 0,
        reasoning: 0,
    };

    #[test]
    fn a_price_change_applies_from_its_date_and_never_to_the_past() {
        let book = PriceBook::new(
            Currency::USD,
            vec![
                entry(
                    PriceScope::Cost,
                    PriceSource::Defaults,
                    "openai",
                    datetime!(2025-01-01 0:00 UTC),
                    rates("2.5", "10"),
                ),
                entry(
                    PriceScope::Cost,
                    PriceSource::Defaults,
                    "openai",
                    datetime!(2026-06-01 0:00 UTC),
                    rates("2", "8"),
                ),
            ],
            vec![],
        );
        let tenant = TenantId::new();
        let before = book.price(
            &query(tenant, None, datetime!(2026-05-31 23:59 UTC)),
            &MILLION,
        );
        let after = book.price(
            &query(tenant, None, datetime!(2026-06-01 0:00 UTC)),
            &MILLION,
        );
        assert_eq!(before.cost.unwrap().to_string(), "12.5");
        assert_eq!(after.cost.unwrap().to_string(), "10");
        // With no markups, the tenant pays cost.
        assert_eq!(after.price, after.cost);
        assert_eq!(after.wholesale, None);
        let unknown = book.price(
            &query(tenant, None, datetime!(2024-01-01 0:00 UTC)),
            &MILLION,
        );
        assert_eq!(
            unknown,
            Priced::default(),
            "before any price: unpriced, not zero"
        );
    }

    #[test]
    fn an_operators_override_beats_the_defaults_whatever_the_dates() {
        let book = PriceBook::new(
            Currency::USD,
            vec![
                entry(
                    PriceScope::Cost,
                    PriceSource::Defaults,
                    "openai",
                    datetime!(2026-01-01 0:00 UTC),
                    rates("2.5", "10"),
                ),
                entry(
                    PriceScope::Cost,
                    PriceSource::Config,
                    "openai",
                    datetime!(2025-01-01 0:00 UTC),
                    rates("1", "1"),
                ),
                // The provider's own name wins over its kind.
                entry(
                    PriceScope::Cost,
                    PriceSource::Defaults,
                    "openai-eu",
                    datetime!(2025-01-01 0:00 UTC),
                    rates("3", "3"),
                ),
            ],
            vec![],
        );
        let priced = book.price(
            &query(TenantId::new(), None, datetime!(2026-12-01 0:00 UTC)),
            &MILLION,
        );
        assert_eq!(priced.cost.unwrap().to_string(), "6");
        let book = PriceBook::new(
            Currency::USD,
            vec![
                entry(
                    PriceScope::Cost,
                    PriceSource::Defaults,
                    "openai",
                    datetime!(2026-01-01 0:00 UTC),
                    rates("2.5", "10"),
                ),
                entry(
                    PriceScope::Cost,
                    PriceSource::Managed,
                    "openai",
                    datetime!(2025-01-01 0:00 UTC),
                    rates("1", "1"),
                ),
            ],
            vec![],
        );
        let priced = book.price(
            &query(TenantId::new(), None, datetime!(2026-12-01 0:00 UTC)),
            &MILLION,
        );
        assert_eq!(priced.cost.unwrap().to_string(), "2");
    }

    #[test]
    fn a_partners_sub_tenant_pays_the_rate_card_and_the_partner_the_wholesale_price() {
        let partner = PartnerId::new();
        let tenant = TenantId::new();
        let other = TenantId::new();
        let from = datetime!(2025-01-01 0:00 UTC);
        let book = PriceBook::new(
            Currency::USD,
            vec![
                entry(
                    PriceScope::Cost,
                    PriceSource::Defaults,
                    "openai",
                    from,
                    rates("2.5", "10"),
                ),
                // The other tenant negotiated its own list with the partner.
                entry(
                    PriceScope::Tenant(other),
                    PriceSource::Managed,
                    ANY_PROVIDER,
                    from,
                    rates("3", "12"),
                ),
            ],
            vec![
                MarkupEntry {
                    scope: PriceScope::Platform,
                    effective_from: from,
                    basis_points: 1_000,
                },
                MarkupEntry {
                    scope: PriceScope::Partner(partner),
                    effective_from: from,
                    basis_points: 3_333,
                },
            ],
        );
        let counts = TokenCounts {
            prompt: 1_234,
            completion: 567,
            ..TokenCounts::default()
        };
        let priced = book.price(
            &query(tenant, Some(partner), datetime!(2026-12-01 0:00 UTC)),
            &counts,
        );
        // cost: 1 234 × 2.5 + 567 × 10 per million = 0.008755.
        assert_eq!(priced.cost.unwrap().to_string(), "0.008755");
        // +10 %: 2.75 and 11 → 0.0096305.
        assert_eq!(priced.wholesale.unwrap().to_string(), "0.0096305");
        // +33.33 % on those rates: 3.666575 and 14.6663 → 0.00452455355 + 0.0083157921
        // = 0.01284034565 → rounded to the nano: 0.012840346.
        assert_eq!(priced.price.unwrap().to_string(), "0.012840346");
        let negotiated = book.price(
            &query(other, Some(partner), datetime!(2026-12-01 0:00 UTC)),
            &counts,
        );
        assert_eq!(negotiated.price.unwrap().to_string(), "0.010506");
        assert_eq!(negotiated.wholesale, priced.wholesale);
    }

    #[test]
    fn a_tenants_discount_applies_to_what_it_would_pay() {
        let tenant = TenantId::new();
        let from = datetime!(2025-01-01 0:00 UTC);
        let book = PriceBook::new(
            Currency::USD,
            vec![entry(
                PriceScope::Platform,
                PriceSource::Managed,
                "openai",
                from,
                rates("5", "20"),
            )],
            vec![MarkupEntry {
                scope: PriceScope::Tenant(tenant),
                effective_from: from,
                basis_points: -2_000,
            }],
        );
        let priced = book.price(
            &query(tenant, None, datetime!(2026-12-01 0:00 UTC)),
            &MILLION,
        );
        // No cost known, but the platform has its own list: priced, cost unknown.
        assert_eq!(priced.cost, None);
        assert_eq!(priced.price.unwrap().to_string(), "20");
    }
}
