//! The `[pricing]` table: the platform's currency and markup, whether the shipped default
//! prices apply, and the operator's own cost and price lists (`[[pricing.cost]]`,
//! `[[pricing.price]]`), checked line by line.

use domain::pricing::{
    Currency, DEFAULT_PRICES, MarkupEntry, Money, PriceEntry, PriceFile, PriceScope, PriceSource,
    Rates,
};
use time::OffsetDateTime;
use toml::Spanned;

use super::ConfigError;
use super::raw::{RawPriceLine, RawPricing};
use super::source::Source;

/// The prices a node starts with.
pub(super) fn price_base(
    source: &Source<'_>,
    raw: Option<&RawPricing>,
) -> Result<gateway::PriceBase, ConfigError> {
    let Some(raw) = raw else {
        return defaults(Currency::USD);
    };
    let currency = match &raw.currency {
        Some(code) => {
            Currency::parse(code.get_ref()).map_err(|e| source.at(code, "pricing.currency", e))?
        }
        None => Currency::USD,
    };
    let mut base = if raw.include_defaults.unwrap_or(true) {
        if currency != Currency::USD {
            let at = raw.currency.as_ref().map_or(0..0, Spanned::span);
            return Err(source.at_span(
                at,
                "pricing.currency",
                format!("the shipped default prices are in USD, not {currency}: set `include_defaults = false` and list your own"),
            ));
        }
        defaults(currency)?
    } else {
        gateway::PriceBase {
            currency,
            ..gateway::PriceBase::default()
        }
    };
    if let Some(markup) = &raw.markup_percent {
        base.markups.push(MarkupEntry {
            scope: PriceScope::Platform,
            effective_from: OffsetDateTime::UNIX_EPOCH,
            basis_points: domain::pricing::basis_points_of_percent(markup.get_ref())
                .map_err(|e| source.at(markup, "pricing.markup_percent", e))?,
        });
    }
    for (list, scope, lines) in [
        ("cost", PriceScope::Cost, &raw.cost),
        ("price", PriceScope::Platform, &raw.price),
    ] {
        let mut seen = std::collections::HashSet::new();
        for (i, line) in lines.iter().enumerate() {
            let entry = price_line(source, &format!("pricing.{list}[{i}]"), scope, line)?;
            if !seen.insert((
                entry.provider.clone(),
                entry.model.clone(),
                entry.effective_from,
            )) {
                return Err(source.at(
                    &line.model,
                    &format!("pricing.{list}[{i}].model"),
                    "is listed twice for this provider from the same date",
                ));
            }
            base.entries.push(entry);
        }
    }
    Ok(base)
}

/// The tax invoices show: `tax_percent` (0 to 100, two decimals at most) under `tax_label`
/// (default `Tax`); none when `tax_percent` is not set, which leaves taxes to the payment
/// provider.
pub(super) fn tax_rule(
    source: &Source<'_>,
    raw: Option<&RawPricing>,
) -> Result<Option<domain::invoice::TaxRule>, ConfigError> {
    let Some(raw) = raw else { return Ok(None) };
    let Some(percent) = &raw.tax_percent else {
        if let Some(label) = &raw.tax_label {
            return Err(source.at(
                label,
                "pricing.tax_label",
                "names a tax that `tax_percent` does not set",
            ));
        }
        return Ok(None);
    };
    let basis_points = domain::pricing::basis_points_of_percent(percent.get_ref())
        .ok()
        .filter(|it| (0..=10_000).contains(it))
        .ok_or_else(|| {
            source.at(
                percent,
                "pricing.tax_percent",
                "must be a percentage from 0 to 100 with at most two decimals, as a string",
            )
        })?;
    let label = match &raw.tax_label {
        Some(label) => {
            let text = label.get_ref().trim();
            if text.is_empty() || text.chars().count() > 40 || text.chars().any(char::is_control) {
                return Err(source.at(
                    label,
                    "pricing.tax_label",
                    "must be 1 to 40 printable characters",
                ));
            }
            text.to_owned()
        }
        None => "Tax".to_owned(),
    };
    Ok(Some(domain::invoice::TaxRule {
        label,
        basis_points,
    }))
}

/// The shipped defaults alone.
fn defaults(currency: Currency) -> Result<gateway::PriceBase, ConfigError> {
    let file = PriceFile::parse(DEFAULT_PRICES)
        .map_err(|e| ConfigError(format!("the shipped default prices: {e}")))?;
    let entries = file
        .entries(PriceScope::Cost, PriceSource::Defaults)
        .map_err(|e| ConfigError(format!("the shipped default prices: {e}")))?;
    Ok(gateway::PriceBase {
        currency,
        entries,
        markups: Vec::new(),
    })
}

fn price_line(
    source: &Source<'_>,
    at: &str,
    scope: PriceScope,
    line: &RawPriceLine,
) -> Result<PriceEntry, ConfigError> {
    let money = |value: &Spanned<String>, field: &str| {
        Money::parse_non_negative(value.get_ref()).map_err(|e| {
            source.at(
                value,
                &format!("{at}.{field}"),
                format!("`{}` {e}", value.get_ref()),
            )
        })
    };
    let optional = |value: &Option<Spanned<String>>, field: &str| {
        value.as_ref().map(|it| money(it, field)).transpose()
    };
    for (value, field) in [(&line.provider, "provider"), (&line.model, "model")] {
        if value.get_ref().trim().is_empty() {
            return Err(source.at(value, &format!("{at}.{field}"), "must not be empty"));
        }
    }
    let effective_from = match &line.effective_from {
        Some(text) => domain::pricing::parse_effective_from(text.get_ref())
            .map_err(|e| source.at(text, &format!("{at}.effective_from"), e))?,
        None => OffsetDateTime::UNIX_EPOCH,
    };
    Ok(PriceEntry {
        scope,
        source: PriceSource::Config,
        provider: line.provider.get_ref().clone(),
        model: line.model.get_ref().clone(),
        effective_from,
        rates: Rates {
            input: money(&line.input, "input")?,
            output: money(&line.output, "output")?,
            cached_input: optional(&line.cached_input, "cached_input")?,
            cache_write: optional(&line.cache_write, "cache_write")?,
            reasoning: optional(&line.reasoning, "reasoning")?,
        },
    })
}
