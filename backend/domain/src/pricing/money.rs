//! Exact money: integer billionths of the platform's currency, parsed from and written as
//! decimal text, never through a float.

use std::fmt;

/// Nano-units in one unit of currency.
const NANOS_PER_UNIT: i64 = 1_000_000_000;
/// Decimal places a [`Money`] holds.
pub const MONEY_DECIMALS: usize = 9;

/// An exact amount of the platform's currency in billionths (nano-units): a call of ten tokens
/// at $0.15 per million costs $0.0000015, which micro-units would round to 2 and a float would
/// blur. An `i64` of them holds ±9.2 billion units, far past any tenant's month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

/// Why a text is not an amount of money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("is not a decimal number (digits, an optional point and an optional leading minus)")]
    NotANumber,
    #[error("has more than {MONEY_DECIMALS} decimal places, more than money is kept to")]
    TooPrecise,
    #[error("is too large")]
    TooLarge,
    #[error("must not be negative")]
    Negative,
}

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_nanos(nanos: i64) -> Self {
        Money(nanos)
    }

    pub const fn nanos(self) -> i64 {
        self.0
    }

    /// Whole micro-units (the key limits' `monthly_budget_micros`) as money.
    pub fn from_micros(micros: i64) -> Option<Self> {
        micros.checked_mul(1_000).map(Money)
    }

    /// Parses `12`, `0.15`, `-3.5`: no exponent, no sign but a leading minus, at most nine
    /// decimal places (a tenth would be a precision the ledger cannot keep).
    ///
    /// # Errors
    /// Anything else, and amounts past `i64` nano-units.
    pub fn parse(text: &str) -> Result<Self, MoneyError> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = match digits.split_once('.') {
            Some((_, "")) => return Err(MoneyError::NotANumber),
            Some(parts) => parts,
            None => (digits, ""),
        };
        let is_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !is_digits(whole) || !is_digits(fraction) {
            return Err(MoneyError::NotANumber);
        }
        let fraction = fraction.trim_end_matches('0');
        if fraction.len() > MONEY_DECIMALS {
            return Err(MoneyError::TooPrecise);
        }
        let mut nanos: i64 = 0;
        for b in whole.bytes().chain(fraction.bytes()) {
            nanos = nanos
                .checked_mul(10)
                .and_then(|it| it.checked_add(i64::from(b - b'0')))
                .ok_or(MoneyError::TooLarge)?;
        }
        let scale = 10_i64.pow(u32::try_from(MONEY_DECIMALS - fraction.len()).unwrap_or(0));
        let nanos = nanos.checked_mul(scale).ok_or(MoneyError::TooLarge)?;
        Ok(Money(if negative { -nanos } else { nanos }))
    }

    /// [`Money::parse`], refusing negative amounts (prices, budgets).
    ///
    /// # Errors
    /// As `parse`, and a negative amount.
    pub fn parse_non_negative(text: &str) -> Result<Self, MoneyError> {
        let money = Self::parse(text)?;
        if money.0 < 0 {
            return Err(MoneyError::Negative);
        }
        Ok(money)
    }

    #[must_use]
    pub fn saturating_add(self, other: Money) -> Money {
        Money(self.0.saturating_add(other.0))
    }

    /// This amount changed by `basis_points` hundredths of a percent (+2 500: a 25 % markup,
    /// −1 000: a 10 % discount), rounded half away from zero to the nano-unit.
    #[must_use]
    pub fn marked_up(self, basis_points: i32) -> Money {
        let scaled = i128::from(self.0) * (10_000 + i128::from(basis_points));
        Money(saturate(div_round(scaled, 10_000)))
    }
}

/// `numerator / denominator` rounded half away from zero (`denominator` > 0).
pub(crate) fn div_round(numerator: i128, denominator: i128) -> i128 {
    let half = denominator / 2;
    if numerator >= 0 {
        (numerator + half) / denominator
    } else {
        (numerator - half) / denominator
    }
}

pub(crate) fn saturate(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

/// The shortest exact decimal: `0.0000015`, `3`, `-1.25`. Written digit by digit into a
/// stack buffer: every priced answer writes its price twice (header and body), and the
/// formatting machinery cost more than the rest of telling the price.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A sign, 10 whole digits (i64::MAX nano-units is 9 223 372 036.854775807), a point
        // and 9 decimals.
        let mut buf = [0u8; 24];
        let mut at = buf.len();
        let abs = self.0.unsigned_abs();
        let unit = NANOS_PER_UNIT.unsigned_abs();
        let (mut whole, mut fraction) = (abs / unit, abs % unit);
        if fraction != 0 {
            let mut places = MONEY_DECIMALS;
            while fraction % 10 == 0 {
                fraction /= 10;
                places -= 1;
            }
            for _ in 0..places {
                at -= 1;
                buf[at] = b'0' + (fraction % 10) as u8;
                fraction /= 10;
            }
            at -= 1;
            buf[at] = b'.';
        }
        loop {
            at -= 1;
            buf[at] = b'0' + (whole % 10) as u8;
            whole /= 10;
            if whole == 0 {
                break;
            }
        }
        if self.0 < 0 {
            at -= 1;
            buf[at] = b'-';
        }
        // Only ASCII digits, a point and a minus were written.
        f.write_str(std::str::from_utf8(&buf[at..]).map_err(|_| fmt::Error)?)
    }
}

impl std::str::FromStr for Money {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Money::parse(s)
    }
}

/// Markups and discounts are bounded: −100 % (free) to +1 000 %.
const MARKUP_BASIS_POINTS: std::ops::RangeInclusive<i32> = -10_000..=100_000;

/// `12.5` (percent) as 1 250 basis points: at most two decimals, −100 to 1 000.
///
/// # Errors
/// Anything else, in words.
pub fn basis_points_of_percent(text: &str) -> Result<i32, String> {
    let money = Money::parse(text).map_err(|e| format!("`{text}` {e}"))?;
    // Money keeps nine decimals; a percentage two: one basis point is 10⁷ nano-units.
    let per_point = 10_000_000;
    if money.nanos() % per_point != 0 {
        return Err(format!("`{text}` has more than two decimal places"));
    }
    i32::try_from(money.nanos() / per_point)
        .ok()
        .filter(|it| MARKUP_BASIS_POINTS.contains(it))
        .ok_or_else(|| format!("`{text}` is outside −100 to 1000 (percent)"))
}

/// Basis points as a percentage's decimal text: 1 250 → `12.5`.
pub fn percent_of_basis_points(basis_points: i32) -> String {
    Money::from_nanos(i64::from(basis_points) * 10_000_000).to_string()
}

/// Written as its decimal text (`"0.15"`), so no JSON reader turns it into a float.
impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Money::parse(&text).map_err(|e| serde::de::Error::custom(format!("`{text}` {e}")))
    }
}

/// A currency's ISO 4217 code: three capital letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const USD: Currency = Currency(*b"USD");

    /// # Errors
    /// Anything but three ASCII capital letters.
    pub fn parse(code: &str) -> Result<Self, &'static str> {
        match code.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|it| it.is_ascii_uppercase()) => {
                Ok(Currency([*a, *b, *c]))
            }
            _ => Err("is not a currency code (three capital letters, as ISO 4217 spells them)"),
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_text_round_trips_exactly() {
        for (text, nanos, shown) in [
            ("0.15", 150_000_000, "0.15"),
            ("3", 3_000_000_000, "3"),
            ("0.000000001", 1, "0.000000001"),
            ("-1.25", -1_250_000_000, "-1.25"),
            ("0.100", 100_000_000, "0.1"),
            ("007.5", 7_500_000_000, "7.5"),
            ("0", 0, "0"),
            ("9223372036.854775807", i64::MAX, "9223372036.854775807"),
        ] {
            let money = Money::parse(text).unwrap();
            assert_eq!(money.nanos(), nanos, "{text}");
            assert_eq!(money.to_string(), shown, "{text}");
        }
    }

    #[test]
    fn the_extremes_are_written_whole() {
        assert_eq!(
            Money::from_nanos(i64::MAX).to_string(),
            "9223372036.854775807"
        );
        assert_eq!(
            Money::from_nanos(i64::MIN).to_string(),
            "-9223372036.854775808"
        );
        assert_eq!(Money::from_nanos(-1).to_string(), "-0.000000001");
        assert_eq!(Money::from_nanos(1_000_000_000).to_string(), "1");
        assert_eq!(Money::from_nanos(0).to_string(), "0");
        assert_eq!(Money::from_nanos(100).to_string(), "0.0000001");
    }

    #[test]
    fn anything_but_plain_decimals_is_refused() {
        for (text, error) in [
            ("", MoneyError::NotANumber),
            (".", MoneyError::NotANumber),
            ("1.", MoneyError::NotANumber),
            (".5", MoneyError::NotANumber),
            ("1e-7", MoneyError::NotANumber),
            ("+1", MoneyError::NotANumber),
            (" 1", MoneyError::NotANumber),
            ("1,5", MoneyError::NotANumber),
            ("١٢", MoneyError::NotANumber),
            ("NaN", MoneyError::NotANumber),
            ("0.0000000001", MoneyError::TooPrecise),
            ("9223372037", MoneyError::TooLarge),
            ("99999999999999999999999", MoneyError::TooLarge),
        ] {
            assert_eq!(Money::parse(text), Err(error), "{text:?}");
        }
        assert_eq!(Money::parse_non_negative("-1"), Err(MoneyError::Negative));
        // Trailing zeros past the ninth place carry no precision.
        assert_eq!(Money::parse("0.1000000000").unwrap().nanos(), 100_000_000);
    }

    #[test]
    fn markups_round_half_away_from_zero_to_the_nano() {
        assert_eq!(Money::from_nanos(1_000).marked_up(2_500).nanos(), 1_250);
        assert_eq!(Money::from_nanos(3).marked_up(5_000).nanos(), 5); // 4.5 → 5
        assert_eq!(Money::from_nanos(1_000).marked_up(-1_000).nanos(), 900);
        assert_eq!(Money::from_nanos(7).marked_up(0).nanos(), 7);
        assert_eq!(
            Money::from_nanos(i64::MAX).marked_up(10_000),
            Money(i64::MAX)
        );
    }

    #[test]
    fn currencies_are_three_capitals() {
        assert_eq!(Currency::parse("EUR").unwrap().to_string(), "EUR");
        for bad in ["usd", "US", "USDX", "U$D", "ÜSD"] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
    }
}
