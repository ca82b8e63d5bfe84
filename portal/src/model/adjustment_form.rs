//! A credit or an adjustment to a tenant's bill as the form takes it, checked as the server
//! checks it: a credit is a positive amount (money given back), an adjustment signed; exact
//! decimals of at most nine places, never zero, at most a billion either way; a reason; an
//! optional day it counts on (UTC), never in the future and at most 366 days back.

use api_types::billing::AddAdjustmentRequest;
use time::OffsetDateTime;
use time::macros::format_description;

use super::errors::FieldErrors;
use super::price_form::{DecimalError, scaled};
use super::validate;

/// The largest correction, in nano-units (a billion units).
const MAX_NANOS: i128 = 1_000_000_000 * 1_000_000_000;

/// The request to send, or what is wrong by field (`kind`, `amount`, `reason`,
/// `effective_at`).
pub fn request(
    kind: &str,
    amount: &str,
    reason: &str,
    day: &str,
    now: OffsetDateTime,
) -> Result<AddAdjustmentRequest, FieldErrors> {
    let mut errors = FieldErrors::new();
    let credit = match kind {
        "credit" => true,
        "adjustment" => false,
        _ => {
            errors.add("kind", "Choose a credit or an adjustment.");
            true
        }
    };
    let amount = amount.trim();
    match scaled(amount, 9) {
        Err(DecimalError::NotANumber) => {
            errors.add("amount", "Enter an amount like 12.50 (a point, no thousands separators).");
        }
        Err(DecimalError::TooPrecise) => errors.add("amount", "At most nine decimal places."),
        Err(DecimalError::TooLarge) => errors.add("amount", "At most 1 000 000 000 either way."),
        Ok(0) => errors.add("amount", "The amount must not be zero."),
        Ok(nanos) if nanos.abs() > MAX_NANOS => {
            errors.add("amount", "At most 1 000 000 000 either way.");
        }
        Ok(nanos) if credit && nanos < 0 => errors.add(
            "amount",
            "A credit is a positive amount: the money given back. Use an adjustment to charge more.",
        ),
        Ok(_) => {}
    }
    let reason = validate::reason(reason).unwrap_or_else(|message| {
        errors.add("reason", message);
        String::new()
    });
    let effective_at = match day.trim() {
        "" => None,
        text => match time::Date::parse(text, format_description!("[year]-[month]-[day]")) {
            Err(_) => {
                errors.add("effective_at", "Enter a day like 2026-11-30.");
                None
            }
            Ok(date) => {
                let at = date.midnight().assume_utc();
                if at > now {
                    errors.add("effective_at", "The day must not be in the future.");
                } else if now - at > time::Duration::days(366) {
                    errors.add("effective_at", "At most 366 days back.");
                }
                Some(at)
            }
        },
    };
    errors.into_result(AddAdjustmentRequest {
        kind: if credit { "credit" } else { "adjustment" }.to_owned(),
        amount: amount.to_owned(),
        currency: None,
        reason,
        effective_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-07 10:00 UTC);

    fn field(kind: &str, amount: &str, reason: &str, day: &str) -> Vec<String> {
        let errors = request(kind, amount, reason, day, NOW).unwrap_err();
        ["kind", "amount", "reason", "effective_at"]
            .into_iter()
            .filter(|it| errors.get(it).is_some())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn a_good_correction_becomes_its_request() {
        let credit = request("credit", " 12.50 ", " outage ", "2026-11-30", NOW).unwrap();
        assert_eq!(credit.amount, "12.50");
        assert_eq!(credit.reason, "outage");
        assert_eq!(credit.effective_at, Some(datetime!(2026-11-30 0:00 UTC)));
        let adjustment = request("adjustment", "-0.000000001", "rounding", "", NOW).unwrap();
        assert_eq!(adjustment.kind, "adjustment");
        assert_eq!(adjustment.effective_at, None, "the server's now");
        assert!(request("credit", "1", "today", "2026-12-07", NOW).is_ok());
    }

    #[test]
    fn bad_corrections_are_refused_by_field() {
        assert_eq!(field("refund", "1", "x", ""), ["kind"]);
        for amount in [
            "",
            "1e3",
            "1,5",
            ".5",
            "5.",
            "0",
            "0.0000000001",
            "1000000000.5",
            "-2",
        ] {
            assert_eq!(field("credit", amount, "x", ""), ["amount"], "{amount:?}");
        }
        assert_eq!(field("adjustment", "-0", "x", ""), ["amount"]);
        assert_eq!(field("credit", "1", " ", ""), ["reason"]);
        assert_eq!(field("credit", "1", &"y".repeat(501), ""), ["reason"]);
        for day in ["2026-12-08", "2025-12-05", "30/11/2026", "2026-02-30"] {
            assert_eq!(field("credit", "1", "x", day), ["effective_at"], "{day}");
        }
        assert_eq!(
            field("refund", "abc", "", "soon"),
            ["kind", "amount", "reason", "effective_at"]
        );
    }
}
