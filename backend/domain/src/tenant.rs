//! Tenants: who owns keys, usage and policies.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{PartnerId, TenantId};

/// Whether a tenant may use the data plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    Active,
    Suspended,
}

impl TenantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Active => "active",
            TenantStatus::Suspended => "suspended",
        }
    }

    /// Parses the stored form; unknown values are treated as suspended (fail closed).
    pub fn from_stored(s: &str) -> Self {
        match s {
            "active" => TenantStatus::Active,
            _ => TenantStatus::Suspended,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub status: TenantStatus,
    /// The partner that created and manages it, for a partner's sub-tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<PartnerId>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Why a tenant name was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TenantNameError {
    #[error("tenant name must not be empty")]
    Empty,
    #[error("tenant name must be at most 100 characters")]
    TooLong,
    #[error("tenant name must not contain control characters")]
    ControlCharacters,
}

impl Tenant {
    /// A new active tenant named `name`.
    ///
    /// # Errors
    /// When the name is empty, longer than 100 characters or contains control characters.
    pub fn new(name: &str, now: OffsetDateTime) -> Result<Self, TenantNameError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(TenantNameError::Empty);
        }
        if name.chars().count() > 100 {
            return Err(TenantNameError::TooLong);
        }
        if name.chars().any(char::is_control) {
            return Err(TenantNameError::ControlCharacters);
        }
        Ok(Tenant {
            id: TenantId::new(),
            name: name.to_owned(),
            status: TenantStatus::Active,
            partner_id: None,
            created_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_names_are_trimmed_and_validated() {
        let now = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(Tenant::new("  acme ", now).unwrap().name, "acme");
        assert_eq!(Tenant::new("   ", now), Err(TenantNameError::Empty));
        assert_eq!(
            Tenant::new(&"x".repeat(101), now),
            Err(TenantNameError::TooLong)
        );
        assert_eq!(
            Tenant::new("a\u{0}b", now),
            Err(TenantNameError::ControlCharacters)
        );
        assert!(Tenant::new("Ünïcödé 租户", now).is_ok());
    }
}

/// Most regions a residency restriction lists.
pub const MAX_REGIONS: usize = 16;

/// Checks a residency restriction (a tenant's or a key's): region names as operators write
/// them on deployments (`eu`, `us-east`), at most [`MAX_REGIONS`]. Answers them sorted,
/// without repeats; empty means no restriction.
///
/// # Errors
/// A message naming the first bad entry.
pub fn check_regions(regions: &[String]) -> Result<Vec<String>, String> {
    if regions.len() > MAX_REGIONS {
        return Err(format!("at most {MAX_REGIONS} regions"));
    }
    let mut res = Vec::with_capacity(regions.len());
    for region in regions {
        let region = region.trim();
        if region.is_empty()
            || region.len() > 32
            || !region
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(format!(
                "`{}` is not a region name: 1 to 32 letters, digits, `-` or `_`",
                region.chars().take(40).collect::<String>()
            ));
        }
        res.push(region.to_owned());
    }
    res.sort();
    res.dedup();
    Ok(res)
}

#[cfg(test)]
mod region_tests {
    use super::*;

    #[test]
    fn regions_are_checked_sorted_and_deduplicated() {
        assert_eq!(
            check_regions(&["us-east".into(), "eu".into(), "eu".into()]),
            Ok(vec!["eu".to_owned(), "us-east".to_owned()])
        );
        assert_eq!(check_regions(&[]), Ok(Vec::new()));
        for bad in ["", "e u", "ёu", &"x".repeat(33), "eu/west"] {
            assert!(check_regions(&[bad.to_owned()]).is_err(), "{bad}");
        }
        assert!(check_regions(&vec!["eu".to_owned(); 17]).is_err());
    }
}

/// A semantic-cache similarity threshold, kept exactly as parts per 10 000 (`0.95` is
/// `9500`): a float would not round-trip through both databases and the API unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SemanticThreshold(u16);

impl SemanticThreshold {
    /// The lowest threshold accepted: below it, unrelated prompts would share answers.
    pub const MIN: SemanticThreshold = SemanticThreshold(5_000);
    /// A similarity of exactly 1: only prompts the embedding model cannot tell apart.
    pub const MAX: SemanticThreshold = SemanticThreshold(10_000);

    /// From a fraction within `0.5..=1.0`, rounded to four decimals.
    ///
    /// # Errors
    /// A message saying the range, for a value outside it or not a number.
    pub fn from_fraction(value: f64) -> Result<Self, String> {
        if !value.is_finite() || !(0.5..=1.0).contains(&value) {
            return Err(format!("must be a number from 0.5 to 1.0, not {value}"));
        }
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "checked to be within 0.5..=1.0, so 5000..=10000"
        )]
        Ok(SemanticThreshold((value * 10_000.0).round() as u16))
    }

    /// From its stored parts per 10 000.
    ///
    /// # Errors
    /// A message for a value outside `5000..=10000`.
    pub fn from_parts(parts: i64) -> Result<Self, String> {
        u16::try_from(parts)
            .ok()
            .map(SemanticThreshold)
            .filter(|it| (Self::MIN..=Self::MAX).contains(it))
            .ok_or_else(|| format!("a threshold of {parts} parts per 10000 is out of range"))
    }

    pub fn parts(self) -> u16 {
        self.0
    }

    pub fn fraction(self) -> f64 {
        f64::from(self.0) / 10_000.0
    }
}

#[cfg(test)]
mod threshold_tests {
    use super::*;

    #[test]
    fn thresholds_are_kept_exactly_within_their_range() {
        let t = SemanticThreshold::from_fraction(0.95).unwrap();
        assert_eq!(t.parts(), 9500);
        assert!((t.fraction() - 0.95).abs() < f64::EPSILON);
        assert_eq!(
            SemanticThreshold::from_fraction(0.9731).unwrap().parts(),
            9731
        );
        assert_eq!(
            SemanticThreshold::from_fraction(1.0),
            Ok(SemanticThreshold::MAX)
        );
        assert_eq!(
            SemanticThreshold::from_fraction(0.5),
            Ok(SemanticThreshold::MIN)
        );
        for bad in [0.49, 1.01, f64::NAN, f64::INFINITY, -1.0] {
            assert!(SemanticThreshold::from_fraction(bad).is_err(), "{bad}");
        }
        assert_eq!(SemanticThreshold::from_parts(9500), Ok(t));
        assert!(SemanticThreshold::from_parts(4999).is_err());
        assert!(SemanticThreshold::from_parts(10_001).is_err());
    }
}
