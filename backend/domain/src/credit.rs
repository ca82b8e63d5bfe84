//! Prepaid credit: money a tenant paid in advance (top-ups, by the platform's operators, the
//! tenant's partner, or a payment), drawn down by what its calls are charged and by its bill's
//! corrections. A tenant set to stop at zero is refused a call its balance cannot cover.
//!
//! The balance is worked out by the database at an instant (`as_of`): top-ups less prices and
//! corrections of everything before it. Calls after it are counted by the admit stage's
//! counter for that instant, so nodes agree on what is left without reading the ledger per
//! call.

use time::OffsetDateTime;

use crate::ledger::{AdjustmentError, MAX_UNITS};
use crate::pricing::Money;
use crate::{TenantId, TopUpId};

/// The longest reference, in characters.
pub const MAX_REFERENCE: usize = 200;

/// Money added to a tenant's prepaid credit; its `reference` makes it count once however
/// often it is sent (a payment's id, an operator's receipt number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopUp {
    pub id: TopUpId,
    pub tenant_id: TenantId,
    /// Always positive.
    pub amount: Money,
    pub reference: String,
    pub reason: String,
    /// The email of whoever added it (`system` for a payment).
    pub author: String,
    pub created_at: OffsetDateTime,
}

/// A tenant's prepaid account as the gateway enforces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditAccount {
    pub tenant_id: TenantId,
    /// Refuse calls the balance cannot cover.
    pub stop_at_zero: bool,
    /// When `balance` was worked out; names the counter of what was spent since.
    pub as_of: OffsetDateTime,
    /// Top-ups less prices and corrections of everything before `as_of` (negative when
    /// overdrawn).
    pub balance: Money,
}

/// A top-up's amount as typed: positive, at most nine decimals and `MAX_UNITS`.
///
/// # Errors
/// `amount`, in words.
pub fn top_up_amount(text: &str) -> Result<Money, AdjustmentError> {
    let refuse = |message: String| AdjustmentError {
        field: "amount",
        message,
    };
    let money = Money::parse(text.trim()).map_err(|e| refuse(format!("`amount` {e}")))?;
    if money <= Money::ZERO {
        return Err(refuse(
            "a top-up's `amount` is positive: the money paid in".into(),
        ));
    }
    if money > Money::from_nanos(MAX_UNITS * 1_000_000_000) {
        return Err(refuse(format!("`amount` must be at most {MAX_UNITS}")));
    }
    Ok(money)
}

/// A reference as kept: trimmed, 1 to `MAX_REFERENCE` characters of letters, digits and
/// `-_.:/#`.
///
/// # Errors
/// `reference`, in words.
pub fn reference(text: &str) -> Result<String, AdjustmentError> {
    let text = text.trim();
    let ok = !text.is_empty()
        && text.chars().count() <= MAX_REFERENCE
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:/#".contains(c));
    if ok {
        Ok(text.to_owned())
    } else {
        Err(AdjustmentError {
            field: "reference",
            message: format!("`reference` is 1 to {MAX_REFERENCE} letters, digits and `-_.:/#`"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_ups_are_positive_exact_and_bounded() {
        assert_eq!(
            top_up_amount(" 25.5 ").unwrap(),
            Money::parse("25.5").unwrap()
        );
        assert_eq!(top_up_amount("0.000000001").unwrap(), Money::from_nanos(1));
        for bad in ["0", "-1", "1e3", "", "abc", "0.0000000001", "1000000000.1"] {
            assert_eq!(top_up_amount(bad).unwrap_err().field, "amount", "{bad}");
        }
    }

    #[test]
    fn references_are_plain() {
        assert_eq!(reference(" pi_3Nx:42 ").unwrap(), "pi_3Nx:42");
        for bad in ["", " ", "a b", "ü", &"x".repeat(201), "a\nb"] {
            assert_eq!(reference(bad).unwrap_err().field, "reference", "{bad:?}");
        }
    }
}
