//! Corrections to a tenant's bill: credits and adjustments, only ever added (a wrong one is
//! undone by another), each with its reason and its author. The usage records are the rest of
//! the ledger; a period's bill is their prices plus its corrections.

use time::OffsetDateTime;

use crate::pricing::Money;
use crate::{AdjustmentId, TenantId, UserId};

/// The longest reason, in characters.
pub const MAX_REASON: usize = 500;

/// The largest correction, in whole units of the currency: larger ones are typing mistakes,
/// and it keeps any year's sum far from overflowing.
pub const MAX_UNITS: i64 = 1_000_000_000;

/// What kind of correction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdjustmentKind {
    /// Money given back: always lowers what the tenant owes.
    Credit,
    /// A correction either way: positive charges more, negative less.
    Adjustment,
}

impl AdjustmentKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            AdjustmentKind::Credit => "credit",
            AdjustmentKind::Adjustment => "adjustment",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "credit" => Some(AdjustmentKind::Credit),
            "adjustment" => Some(AdjustmentKind::Adjustment),
            _ => None,
        }
    }
}

/// One correction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    pub id: AdjustmentId,
    pub tenant_id: TenantId,
    pub kind: AdjustmentKind,
    /// Its effect on what the tenant owes: negative for every credit.
    pub amount: Money,
    pub reason: String,
    pub author_id: UserId,
    /// The author's email when it was made.
    pub author: String,
    /// When it counts: the period whose bill it corrects.
    pub effective_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
}

/// Why a correction was refused: the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdjustmentError {
    pub field: &'static str,
    pub message: String,
}

fn refuse(field: &'static str, message: impl Into<String>) -> AdjustmentError {
    AdjustmentError {
        field,
        message: message.into(),
    }
}

/// A correction's effect on what is owed from its kind and the amount as typed: a credit is a
/// positive amount, given back; an adjustment is signed. Never zero, at most `MAX_UNITS`.
///
/// # Errors
/// `amount`, in words.
pub fn effect(kind: AdjustmentKind, amount: &str) -> Result<Money, AdjustmentError> {
    let money =
        Money::parse(amount.trim()).map_err(|e| refuse("amount", format!("`amount` {e}")))?;
    if money == Money::ZERO {
        return Err(refuse("amount", "`amount` must not be zero"));
    }
    let limit = Money::from_nanos(MAX_UNITS * 1_000_000_000);
    if money > limit || money < Money::from_nanos(-limit.nanos()) {
        return Err(refuse(
            "amount",
            format!("`amount` must be at most {MAX_UNITS} either way"),
        ));
    }
    match kind {
        AdjustmentKind::Credit if money < Money::ZERO => Err(refuse(
            "amount",
            "a credit's `amount` is positive: the money given back",
        )),
        AdjustmentKind::Credit => Ok(Money::from_nanos(-money.nanos())),
        AdjustmentKind::Adjustment => Ok(money),
    }
}

/// A reason as kept: trimmed, 1 to `MAX_REASON` characters, no control characters.
///
/// # Errors
/// `reason`, in words.
pub fn reason(text: &str) -> Result<String, AdjustmentError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(refuse("reason", "say why: `reason` must not be empty"));
    }
    if text.chars().count() > MAX_REASON {
        return Err(refuse(
            "reason",
            format!("`reason` is at most {MAX_REASON} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(refuse(
            "reason",
            "`reason` must not hold control characters",
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credits_lower_what_is_owed_adjustments_go_either_way() {
        assert_eq!(
            effect(AdjustmentKind::Credit, "12.5").unwrap(),
            Money::parse("-12.5").unwrap()
        );
        assert_eq!(
            effect(AdjustmentKind::Adjustment, "-0.000000001").unwrap(),
            Money::from_nanos(-1)
        );
        assert_eq!(
            effect(AdjustmentKind::Adjustment, " 3 ").unwrap(),
            Money::parse("3").unwrap()
        );
        for (kind, amount) in [
            (AdjustmentKind::Credit, "-5"),
            (AdjustmentKind::Credit, "0"),
            (AdjustmentKind::Adjustment, "0.000"),
            (AdjustmentKind::Adjustment, "1e3"),
            (AdjustmentKind::Adjustment, "NaN"),
            (AdjustmentKind::Adjustment, "1000000000.000000001"),
            (AdjustmentKind::Adjustment, "-1000000001"),
            (AdjustmentKind::Credit, "0.0000000001"),
            (AdjustmentKind::Credit, "١٢"),
        ] {
            let error = effect(kind, amount).unwrap_err();
            assert_eq!(error.field, "amount", "{kind:?} {amount}");
        }
        assert_eq!(
            AdjustmentKind::parse("credit"),
            Some(AdjustmentKind::Credit)
        );
        assert_eq!(AdjustmentKind::parse("refund"), None);
    }

    #[test]
    fn reasons_are_trimmed_bounded_and_printable() {
        assert_eq!(
            reason("  goodwill for the outage ").unwrap(),
            "goodwill for the outage"
        );
        assert_eq!(
            reason(&"é".repeat(MAX_REASON)).unwrap().chars().count(),
            MAX_REASON
        );
        for bad in ["", "   ", "line\nbreak", "bell\u{7}"] {
            assert_eq!(reason(bad).unwrap_err().field, "reason", "{bad:?}");
        }
        assert!(reason(&"x".repeat(MAX_REASON + 1)).is_err());
    }
}
