//! Prices: exact money, per-model rates, and the versioned price book that says what every
//! call costs the platform and its tenants (and a partner, for its sub-tenants).

mod book;
mod file;
mod litellm;
mod money;
mod rates;

pub use book::{
    ANY_PROVIDER, CallRates, MarkupEntry, PriceBase, PriceBook, PriceEntry, PriceQuery, PriceScope,
    PriceSource, Priced,
};
pub use file::{DEFAULT_PRICES, PriceFile, PriceFileError, PriceLine, parse_effective_from};
pub use litellm::{ImportError, Imported, import as import_litellm};
pub use money::{
    Currency, MONEY_DECIMALS, Money, MoneyError, basis_points_of_percent, percent_of_basis_points,
};
pub use rates::Rates;
