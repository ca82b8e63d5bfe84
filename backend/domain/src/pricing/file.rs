//! Price lists as files: the defaults shipped in `prices/default-prices.toml`, and the same
//! shape in the operator's configuration (`[[price]]`).

use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::book::{PriceEntry, PriceScope, PriceSource};
use super::money::{Currency, Money};
use super::rates::Rates;

/// The default provider prices compiled into the binary (their source and date are in the
/// file).
pub const DEFAULT_PRICES: &str = include_str!("../../prices/default-prices.toml");

/// A price file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceFile {
    /// Where the figures come from, and when they were read.
    #[serde(default)]
    pub source: Option<String>,
    pub currency: String,
    /// When the file's prices take effect, unless a line says otherwise (a date, or an
    /// RFC 3339 time).
    #[serde(default)]
    pub effective_from: Option<String>,
    #[serde(default, rename = "price")]
    pub prices: Vec<PriceLine>,
}

/// One model's rates, in currency units per million tokens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceLine {
    /// A provider kind (`openai`, `azure_openai`, `anthropic`, …), a configured provider's
    /// name, or `*`.
    pub provider: String,
    pub model: String,
    pub input: Money,
    pub output: Money,
    #[serde(default)]
    pub cached_input: Option<Money>,
    #[serde(default)]
    pub cache_write: Option<Money>,
    #[serde(default)]
    pub reasoning: Option<Money>,
    #[serde(default)]
    pub effective_from: Option<String>,
}

/// What is wrong with a price file, naming the line (`price[3].input`) where it can.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceFileError {
    #[error("{0}")]
    Syntax(String),
    #[error("`{field}` {message}")]
    Field { field: String, message: String },
}

impl PriceFileError {
    fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        PriceFileError::Field {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Parses `2026-01-01` (midnight UTC) or an RFC 3339 time.
///
/// # Errors
/// Anything else.
pub fn parse_effective_from(text: &str) -> Result<OffsetDateTime, &'static str> {
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(at);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &format)
        .map(|date| date.midnight().assume_utc())
        .map_err(|_| "is not a date (2026-01-31) or an RFC 3339 time")
}

impl PriceFile {
    /// # Errors
    /// TOML that is not a price file.
    pub fn parse(text: &str) -> Result<Self, PriceFileError> {
        toml::from_str(text).map_err(|e| PriceFileError::Syntax(e.to_string()))
    }

    pub fn currency(&self) -> Result<Currency, PriceFileError> {
        Currency::parse(&self.currency).map_err(|e| PriceFileError::field("currency", e))
    }

    /// The file's lines as entries of `scope`'s list from `source`; checks every line (prices
    /// not negative, dates real, no model listed twice for one provider and date).
    ///
    /// # Errors
    /// The first line at fault, by its index.
    pub fn entries(
        &self,
        scope: PriceScope,
        source: PriceSource,
    ) -> Result<Vec<PriceEntry>, PriceFileError> {
        let default_from = match &self.effective_from {
            Some(text) => parse_effective_from(text)
                .map_err(|e| PriceFileError::field("effective_from", e))?,
            None => OffsetDateTime::UNIX_EPOCH,
        };
        let mut seen = std::collections::HashSet::new();
        let mut res = Vec::with_capacity(self.prices.len());
        for (i, line) in self.prices.iter().enumerate() {
            let at = |field: &str| format!("price[{i}].{field}");
            if line.provider.trim().is_empty() {
                return Err(PriceFileError::field(at("provider"), "must not be empty"));
            }
            if line.model.trim().is_empty() {
                return Err(PriceFileError::field(at("model"), "must not be empty"));
            }
            let figures = [
                ("input", Some(line.input)),
                ("output", Some(line.output)),
                ("cached_input", line.cached_input),
                ("cache_write", line.cache_write),
                ("reasoning", line.reasoning),
            ];
            for (field, figure) in figures {
                if figure.is_some_and(|it| it < Money::ZERO) {
                    return Err(PriceFileError::field(at(field), "must not be negative"));
                }
            }
            let effective_from = match &line.effective_from {
                Some(text) => parse_effective_from(text)
                    .map_err(|e| PriceFileError::field(at("effective_from"), e))?,
                None => default_from,
            };
            if !seen.insert((line.provider.as_str(), line.model.as_str(), effective_from)) {
                return Err(PriceFileError::field(
                    at("model"),
                    format!(
                        "`{}` is listed twice for `{}` from the same date",
                        line.model, line.provider
                    ),
                ));
            }
            res.push(PriceEntry {
                scope,
                source,
                provider: line.provider.clone(),
                model: line.model.clone(),
                effective_from,
                rates: Rates {
                    input: line.input,
                    output: line.output,
                    cached_input: line.cached_input,
                    cache_write: line.cache_write,
                    reasoning: line.reasoning,
                },
            });
        }
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_defaults_parse_and_name_their_source() {
        let file = PriceFile::parse(DEFAULT_PRICES).unwrap();
        assert_eq!(file.currency().unwrap(), Currency::USD);
        assert!(
            file.source
                .as_deref()
                .is_some_and(|it| it.contains("litellm"))
        );
        let entries = file
            .entries(PriceScope::Cost, PriceSource::Defaults)
            .unwrap();
        assert!(entries.len() >= 20, "{} entries", entries.len());
        for provider in ["openai", "anthropic", "azure_openai"] {
            assert!(
                entries.iter().any(|it| it.provider == provider),
                "{provider}"
            );
        }
    }

    #[test]
    fn bad_lines_are_named() {
        let cases = [
            (
                "currency = \"USD\"\n[[price]]\nprovider = \"openai\"\nmodel = \"m\"\ninput = \"-1\"\noutput = \"1\"\n",
                "negative",
            ),
            (
                "currency = \"USD\"\n[[price]]\nprovider = \"openai\"\nmodel = \"m\"\ninput = \"0.0000000001\"\noutput = \"1\"\n",
                "decimal places",
            ),
            (
                "currency = \"USD\"\n[[price]]\nprovider = \"openai\"\nmodel = \"m\"\ninput = 0.15\noutput = \"1\"\n",
                "string",
            ),
            (
                "currency = \"USD\"\n[[price]]\nprovider = \"openai\"\nmodel = \"m\"\ninput = \"1\"\noutput = \"1\"\neffective_from = \"2026-02-30\"\n",
                "price[0].effective_from",
            ),
            (
                "currency = \"USD\"\n[[price]]\nprovider = \"openai\"\nmodel = \"m\"\ninput = \"1\"\noutput = \"1\"\n[[price]]\nprovider = \"openai\"\nmodel = \"m\"\ninput = \"2\"\noutput = \"1\"\n",
                "price[1].model",
            ),
            ("currency = \"usd\"\n", "currency"),
        ];
        for (text, expected) in cases {
            let error = PriceFile::parse(text)
                .and_then(|file| {
                    file.currency()?;
                    file.entries(PriceScope::Cost, PriceSource::Config)
                })
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{expected}: {error}");
        }
    }
}
