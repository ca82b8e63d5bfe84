//! Prepaid credit on screen: a top-up as the form takes it, checked as the server checks it
//! (a positive exact amount of at most nine decimals and a billion, an optional plain reference,
//! a reason), and the credit's lines of words.

use api_types::billing::{AddTopUpRequest, CreditCheckoutRequest, CreditView};

use super::bill_figures::money;
use super::errors::FieldErrors;
use super::price_form::{DecimalError, scaled};
use super::validate;

/// The largest top-up, in nano-units (a billion units).
const MAX_NANOS: i128 = 1_000_000_000 * 1_000_000_000;

/// The request to send, or what is wrong by field (`amount`, `reference`, `reason`).
pub fn top_up_request(
    amount: &str,
    reference: &str,
    reason: &str,
) -> Result<AddTopUpRequest, FieldErrors> {
    let mut errors = FieldErrors::new();
    let amount = amount.trim();
    match scaled(amount, 9) {
        Err(DecimalError::NotANumber) => {
            errors.add("amount", "Enter an amount like 100 or 12.50.");
        }
        Err(DecimalError::TooPrecise) => errors.add("amount", "At most nine decimal places."),
        Err(DecimalError::TooLarge) => errors.add("amount", "At most 1 000 000 000."),
        Ok(nanos) if nanos <= 0 => errors.add("amount", "A top-up is a positive amount."),
        Ok(nanos) if nanos > MAX_NANOS => errors.add("amount", "At most 1 000 000 000."),
        Ok(_) => {}
    }
    let reference = reference.trim();
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_.:/#".contains(c);
    if reference.chars().count() > 200 || !reference.chars().all(plain) {
        errors.add(
            "reference",
            "At most 200 letters, digits and - _ . : / #, like a payment's id.",
        );
    }
    let reason = validate::reason(reason).unwrap_or_else(|message| {
        errors.add("reason", message);
        String::new()
    });
    errors.into_result(AddTopUpRequest {
        amount: amount.to_owned(),
        currency: None,
        reference: (!reference.is_empty()).then(|| reference.to_owned()),
        reason,
    })
}

/// The fewest and most cents one card payment buys, as the server takes them.
const CHECKOUT_CENTS: std::ops::RangeInclusive<i128> = 50..=99_999_999;

/// Credit to buy by card, or what is wrong with its `amount`.
pub fn checkout_request(amount: &str) -> Result<CreditCheckoutRequest, FieldErrors> {
    let mut errors = FieldErrors::new();
    let amount = amount.trim();
    match scaled(amount, 2) {
        Err(DecimalError::NotANumber) => errors.add("amount", "Enter an amount like 25 or 12.50."),
        Err(DecimalError::TooPrecise) => {
            errors.add(
                "amount",
                "A card pays whole cents: at most two decimal places.",
            );
        }
        Err(DecimalError::TooLarge) => errors.add("amount", "From 0.50 to 999 999.99."),
        Ok(cents) if !CHECKOUT_CENTS.contains(&cents) => {
            errors.add("amount", "From 0.50 to 999 999.99.");
        }
        Ok(_) => {}
    }
    errors.into_result(CreditCheckoutRequest {
        amount: amount.to_owned(),
        currency: None,
    })
}

/// What the Billing page says when the payer comes back from the checkout page
/// (`?credit=paid` or `?credit=cancelled`).
pub fn checkout_outcome(credit: Option<&str>) -> Option<&'static str> {
    match credit? {
        "paid" => Some(
            "Thank you: the payment is added to the credit as soon as Stripe confirms it, usually within seconds.",
        ),
        "cancelled" => Some("The payment was cancelled: nothing was charged."),
        _ => None,
    }
}

/// `12.5 USD`, and whether calls stop at zero.
pub fn summary(credit: &CreditView) -> (String, &'static str) {
    let state = if credit.stop_at_zero {
        "Calls stop when the balance cannot cover them."
    } else {
        "Calls go on when it runs out; what is overdrawn comes off the next top-up."
    };
    (money(&credit.balance, &credit.currency), state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(amount: &str, reference: &str, reason: &str) -> Vec<&'static str> {
        let errors = top_up_request(amount, reference, reason).unwrap_err();
        ["amount", "reference", "reason"]
            .into_iter()
            .filter(|it| errors.get(it).is_some())
            .collect()
    }

    #[test]
    fn a_good_top_up_becomes_its_request() {
        let request = top_up_request(" 100 ", " wire-42 ", " paid ").unwrap();
        assert_eq!(request.amount, "100");
        assert_eq!(request.reference.as_deref(), Some("wire-42"));
        assert_eq!(request.reason, "paid");
        assert_eq!(
            top_up_request("0.000000001", "", "x").unwrap().reference,
            None
        );
    }

    #[test]
    fn card_payments_are_whole_cents_within_stripes_range() {
        assert_eq!(checkout_request(" 25 ").unwrap().amount, "25");
        assert_eq!(checkout_request("0.50").unwrap().amount, "0.50");
        assert_eq!(checkout_request("999999.99").unwrap().amount, "999999.99");
        for amount in ["", "0", "-5", "0.49", "12.345", "1e3", "1000000", "٢٥"] {
            let errors = checkout_request(amount).unwrap_err();
            assert!(errors.get("amount").is_some(), "{amount:?}");
        }
        assert_eq!(
            checkout_outcome(Some("paid")).map(|it| &it[..9]),
            Some("Thank you")
        );
        assert!(checkout_outcome(Some("cancelled")).is_some());
        assert_eq!(checkout_outcome(Some("<script>")), None);
        assert_eq!(checkout_outcome(None), None);
    }

    #[test]
    fn bad_top_ups_are_refused_by_field() {
        for amount in ["", "0", "-1", "1e3", "1,5", "0.0000000001", "1000000000.5"] {
            assert_eq!(fields(amount, "", "x"), ["amount"], "{amount:?}");
        }
        assert_eq!(fields("1", "a b", "x"), ["reference"]);
        assert_eq!(fields("1", &"r".repeat(201), "x"), ["reference"]);
        assert_eq!(fields("1", "", " "), ["reason"]);
    }
}
