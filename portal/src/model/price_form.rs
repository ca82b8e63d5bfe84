//! Price lists on screen: the markup and rate-card forms, checked as the server checks them
//! (exact decimals, never floats: a percentage of at most two places within −100 to 1000, rates
//! non-negative with at most nine), the markup in force, and the cells of a price table.

use api_types::prices::{MarkupView, NewMarkupRequest, NewPriceRequest, RatesView};
use time::OffsetDateTime;

use crate::model::errors::FieldErrors;

/// Decimal places money is kept to (the server's `Money`).
const RATE_DECIMALS: usize = 9;
/// Decimal places of a markup's percentage (a basis point).
const PERCENT_DECIMALS: usize = 2;
/// The largest amount the server keeps: `i64::MAX` nano-units.
const MAX_NANOS: i128 = i64::MAX as i128;

/// Why a text is not a plain decimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecimalError {
    NotANumber,
    TooPrecise,
    TooLarge,
}

/// Parses `12`, `0.15`, `-3.5` as the server does (no exponent, no `+`, no bare point, digits
/// on both sides of it) into units of 10^-`decimals`; trailing zeros carry no precision.
pub(crate) fn scaled(text: &str, decimals: usize) -> Result<i128, DecimalError> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((_, "")) => return Err(DecimalError::NotANumber),
        Some(parts) => parts,
        None => (digits, ""),
    };
    let is_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !is_digits(whole) || !is_digits(fraction) {
        return Err(DecimalError::NotANumber);
    }
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > decimals {
        return Err(DecimalError::TooPrecise);
    }
    let mut value: i128 = 0;
    for b in whole.bytes().chain(fraction.bytes()) {
        value = value * 10 + i128::from(b - b'0');
        if value > MAX_NANOS {
            return Err(DecimalError::TooLarge);
        }
    }
    for _ in fraction.len()..decimals {
        value *= 10;
    }
    if value > MAX_NANOS {
        return Err(DecimalError::TooLarge);
    }
    Ok(if negative { -value } else { value })
}

/// An amount of money as the server parses it (`Money::parse`: at most nine decimals), in
/// nano-units; budgets (`limit_form`) check their own, coarser precision on it.
pub(crate) fn money_nanos(text: &str) -> Result<i128, DecimalError> {
    scaled(text, RATE_DECIMALS)
}

/// A markup's percentage as typed, checked like the server (a decimal of at most two places,
/// −100 to 1000); the text to send.
///
/// # Errors
/// A sentence saying what is wrong, for the field.
pub fn percent(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err("Enter a percentage, like 25 (or -10 for a discount).".into());
    }
    let basis_points = match scaled(text, PERCENT_DECIMALS) {
        Ok(it) => it,
        Err(DecimalError::TooPrecise) => {
            return Err("Use at most two decimal places, like 12.5 or 12.35.".into());
        }
        Err(_) => {
            return Err(
                "Enter a plain number like 25 or 12.5: digits, an optional point, a minus for a discount."
                    .into(),
            );
        }
    };
    if !(-10_000..=100_000).contains(&basis_points) {
        return Err("Enter a percentage from -100 to 1000.".into());
    }
    Ok(text.to_owned())
}

/// A rate per million tokens as typed: a non-negative decimal of at most nine places; `None`
/// for an empty optional field.
///
/// # Errors
/// A sentence saying what is wrong, for the field.
pub fn rate(raw: &str, required: bool) -> Result<Option<String>, String> {
    let text = raw.trim();
    if text.is_empty() {
        return if required {
            Err("Enter a price per million tokens, like 0.15.".into())
        } else {
            Ok(None)
        };
    }
    match scaled(text, RATE_DECIMALS) {
        Ok(nanos) if nanos < 0 => Err("A price cannot be negative.".into()),
        Ok(_) => Ok(Some(text.to_owned())),
        Err(DecimalError::TooPrecise) => {
            Err("Use at most nine decimal places: money is kept to the billionth.".into())
        }
        Err(DecimalError::TooLarge) => Err("This price is too large.".into()),
        Err(DecimalError::NotANumber) => {
            Err("Enter a plain number like 0.15: digits and an optional point.".into())
        }
    }
}

/// The markup form: the request to send.
///
/// # Errors
/// The message for `percent`.
pub fn markup_request(raw_percent: &str) -> Result<NewMarkupRequest, FieldErrors> {
    percent(raw_percent)
        .map(|percent| NewMarkupRequest {
            percent,
            effective_from: None,
        })
        .map_err(|message| {
            let mut errors = FieldErrors::new();
            errors.add("percent", message);
            errors
        })
}

/// The "add a price" form as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriceDraft {
    pub provider: String,
    pub model: String,
    pub input: String,
    pub output: String,
    pub cached_input: String,
}

impl PriceDraft {
    /// The entry to add, from now on; errors under the API's field names (`rates.input`…).
    ///
    /// # Errors
    /// Every field at fault.
    pub fn to_request(&self) -> Result<NewPriceRequest, FieldErrors> {
        let mut errors = FieldErrors::new();
        let provider = name(&mut errors, "provider", &self.provider, 100);
        let model = name(&mut errors, "model", &self.model, 200);
        let mut rate_of = |field: &str, text: &str, required: bool| match rate(text, required) {
            Ok(it) => it,
            Err(message) => {
                errors.add(field, message);
                None
            }
        };
        let input = rate_of("rates.input", &self.input, true);
        let output = rate_of("rates.output", &self.output, true);
        let cached_input = rate_of("rates.cached_input", &self.cached_input, false);
        errors.into_result(())?;
        Ok(NewPriceRequest {
            provider,
            model,
            rates: RatesView {
                input: input.unwrap_or_default(),
                output: output.unwrap_or_default(),
                cached_input,
                cache_write: None,
                reasoning: None,
            },
            effective_from: None,
        })
    }
}

fn name(errors: &mut FieldErrors, field: &str, raw: &str, max: usize) -> String {
    let text = raw.trim();
    if text.is_empty() {
        errors.add(field, format!("Enter the {field}'s name."));
    } else if text.chars().count() > max {
        errors.add(field, format!("Use at most {max} characters."));
    }
    text.to_owned()
}

/// The markup in force at `now`: the newest that has started (`markups` come newest first, as
/// the API lists them, but are not trusted to).
pub fn current_markup(markups: &[MarkupView], now: OffsetDateTime) -> Option<&MarkupView> {
    markups
        .iter()
        .filter(|it| it.effective_from <= now)
        .max_by_key(|it| it.effective_from)
}

/// What the rate card's markup means for sub-tenants, in a sentence.
pub fn markup_line(current: Option<&MarkupView>) -> String {
    match current {
        None => "No markup: for models the rate card does not list, sub-tenants pay the platform's prices.".into(),
        Some(it) if it.percent.starts_with('-') => format!(
            "{}% discount: for models the rate card does not list, sub-tenants pay the platform's prices less {}%.",
            it.percent.trim_start_matches('-'),
            it.percent.trim_start_matches('-'),
        ),
        Some(it) => format!(
            "{}% markup: for models the rate card does not list, sub-tenants pay the platform's prices plus {}%.",
            it.percent, it.percent
        ),
    }
}

/// One price cell: the rate, and whether it is the fallback (the input rate for cached and
/// cache-write tokens the list does not price separately).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateCell {
    pub text: String,
    pub inherited: bool,
}

/// Input, output, cached input and cache write per million tokens, as a table shows them.
pub fn rate_cells(rates: &RatesView) -> [RateCell; 4] {
    let own = |text: &str| RateCell {
        text: text.to_owned(),
        inherited: false,
    };
    let or_input = |value: &Option<String>| match value {
        Some(it) => own(it),
        None => RateCell {
            text: rates.input.clone(),
            inherited: true,
        },
    };
    [
        own(&rates.input),
        own(&rates.output),
        or_input(&rates.cached_input),
        or_input(&rates.cache_write),
    ]
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn percentages_are_checked_like_the_server_does() {
        for good in ["25", "0", "-10.5", "12.35", "1000", "-100", " 7 ", "12.340"] {
            assert!(percent(good).is_ok(), "{good}");
        }
        assert_eq!(percent(" 25 ").as_deref(), Ok("25"));
        assert_eq!(
            percent("12.345").unwrap_err(),
            "Use at most two decimal places, like 12.5 or 12.35."
        );
        for bad in ["1000.01", "-100.01", "5000"] {
            assert_eq!(
                percent(bad).unwrap_err(),
                "Enter a percentage from -100 to 1000.",
                "{bad}"
            );
        }
        for bad in ["", "+5", "1e2", "12,5", ".5", "5.", "ten", "5%"] {
            assert!(percent(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rates_are_non_negative_decimals_of_at_most_nine_places() {
        assert_eq!(rate("0.15", true), Ok(Some("0.15".into())));
        assert_eq!(rate(" 3 ", true), Ok(Some("3".into())));
        assert_eq!(rate("0.000000001", true), Ok(Some("0.000000001".into())));
        assert_eq!(rate("0.0000000010", true), Ok(Some("0.0000000010".into())));
        assert_eq!(rate("", false), Ok(None));
        assert!(rate("", true).is_err());
        assert_eq!(rate("-1", true).unwrap_err(), "A price cannot be negative.");
        assert!(rate("-0", true).is_ok(), "zero, as the server reads it");
        assert!(
            rate("0.0000000001", true)
                .unwrap_err()
                .contains("nine decimal places")
        );
        assert_eq!(
            rate("9223372037", true).unwrap_err(),
            "This price is too large."
        );
        assert!(rate("9223372036", true).is_ok());
        for bad in ["1e-7", "+1", "1,5", "abc", "-", "1.", ".5", "NaN"] {
            assert!(rate(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_draft_becomes_a_request_or_names_each_field_at_fault() {
        let draft = PriceDraft {
            provider: " mock ".into(),
            model: "mock".into(),
            input: "0.2".into(),
            output: "0.8".into(),
            cached_input: String::new(),
        };
        let request = draft.to_request().unwrap();
        assert_eq!(request.provider, "mock");
        assert_eq!(request.rates.input, "0.2");
        assert_eq!(request.rates.cached_input, None);
        assert_eq!(request.effective_from, None);

        let errors = PriceDraft {
            provider: String::new(),
            model: "m".repeat(201),
            input: "-1".into(),
            output: "0.8".into(),
            cached_input: "0.1234567891".into(),
        }
        .to_request()
        .unwrap_err();
        assert!(errors.get("provider").is_some());
        assert!(errors.get("model").is_some());
        assert!(errors.get("rates.input").is_some());
        assert_eq!(errors.get("rates.output"), None);
        assert!(errors.get("rates.cached_input").is_some());
    }

    #[test]
    fn the_markup_request_carries_the_checked_text() {
        assert_eq!(markup_request("25").unwrap().percent, "25");
        assert!(
            markup_request("12.345")
                .unwrap_err()
                .get("percent")
                .is_some()
        );
    }

    #[test]
    fn the_markup_in_force_is_the_newest_that_started() {
        let markup = |percent: &str, at| MarkupView {
            percent: percent.into(),
            effective_from: at,
        };
        let now = datetime!(2026-11-25 12:00 UTC);
        let list = [
            markup("30", datetime!(2026-12-01 00:00 UTC)),
            markup("25", datetime!(2026-11-25 11:59 UTC)),
            markup("10", datetime!(2026-01-01 00:00 UTC)),
        ];
        assert_eq!(current_markup(&list, now).unwrap().percent, "25");
        assert_eq!(current_markup(&list[..1], now), None);
        assert!(markup_line(None).starts_with("No markup"));
        assert!(markup_line(Some(&list[1])).starts_with("25% markup"));
        assert!(markup_line(Some(&markup("-10", now))).starts_with("10% discount"));
    }

    #[test]
    fn unpriced_cache_tokens_show_the_input_rate() {
        let cells = rate_cells(&RatesView {
            input: "0.25".into(),
            output: "1".into(),
            cached_input: Some("0.0625".into()),
            cache_write: None,
            reasoning: None,
        });
        let texts: Vec<&str> = cells.iter().map(|it| it.text.as_str()).collect();
        assert_eq!(texts, ["0.25", "1", "0.0625", "0.25"]);
        assert!(!cells[2].inherited);
        assert!(cells[3].inherited);
    }
}
