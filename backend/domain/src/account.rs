//! People: users, their email addresses and passwords, and the rules for them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::UserId;

/// A user: a person who signs in to the portal or the management API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub display_name: Option<String>,
    /// argon2id PHC string; `None` for accounts that only sign in with SSO.
    pub password_hash: Option<String>,
    pub email_verified_at: Option<OffsetDateTime>,
    /// A platform operator may act on every tenant.
    pub is_operator: bool,
    pub failed_logins: u32,
    pub locked_until: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

/// A syntactically valid, normalised (trimmed, lowercase) email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

/// Why an email address was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("the email address is empty")]
    Empty,
    #[error("the email address is longer than 254 characters")]
    TooLong,
    #[error("the email address must look like `name@example.com`")]
    Malformed,
}

impl Email {
    /// # Errors
    /// Empty, over-long or malformed addresses.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(EmailError::Empty);
        }
        if email.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let Some((local, domain)) = email.rsplit_once('@') else {
            return Err(EmailError::Malformed);
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok {
            Ok(Email(email))
        } else {
            Err(EmailError::Malformed)
        }
    }

    /// For values read back from the store, which were validated when written.
    pub fn from_stored(value: String) -> Self {
        Email(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after `@`, for SSO domain rules.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a password was rejected (NIST SP 800-63B: length, not composition rules).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must be at least 12 characters long")]
    TooShort,
    #[error("the password must be at most 256 characters long")]
    TooLong,
    #[error("the password is too common; choose another")]
    TooCommon,
    #[error("the password must not be your email address")]
    SameAsEmail,
}

/// The few most common passwords of 12+ characters; a real breach list would be better, but
/// these catch what people type first.
const COMMON: &[&str] = &[
    "123456789012",
    "password1234",
    "passwordpassword",
    "qwertyuiopas",
    "111111111111",
    "000000000000",
    "abcdefghijkl",
    "iloveyou1234",
    "adminadmin12",
    "letmein12345",
    "welcome12345",
    "changeme1234",
];

/// Checks a new password.
///
/// # Errors
/// Too short (under 12), too long (over 256), a very common password, or the email itself.
pub fn check_password(password: &str, email: &Email) -> Result<(), PasswordError> {
    check_password_strength(password)?;
    if password.to_lowercase() == email.as_str() {
        return Err(PasswordError::SameAsEmail);
    }
    Ok(())
}

/// The checks that need no account: length and commonness.
///
/// # Errors
/// As for [`check_password`], but never `SameAsEmail`.
pub fn check_password_strength(password: &str) -> Result<(), PasswordError> {
    let length = password.chars().count();
    if length < 12 {
        return Err(PasswordError::TooShort);
    }
    if length > 256 {
        return Err(PasswordError::TooLong);
    }
    let lower = password.to_lowercase();
    let first = lower.chars().next();
    let one_character = lower.chars().all(|c| Some(c) == first);
    if COMMON.contains(&lower.as_str()) || one_character {
        return Err(PasswordError::TooCommon);
    }
    Ok(())
}

/// After this many failed logins in a row an account is locked for [`LOCKOUT`].
pub const MAX_FAILED_LOGINS: u32 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT: time::Duration = time::Duration::minutes(15);

impl User {
    pub fn is_locked(&self, now: OffsetDateTime) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }

    pub fn is_verified(&self) -> bool {
        self.email_verified_at.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_validated() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        assert_eq!(
            Email::parse("ada+tag@mail.example.co.uk").unwrap().domain(),
            "mail.example.co.uk"
        );
        assert!(Email::parse("jürgen@bücher.de").is_ok());
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@exa mple.com",
            "ada@-x.com",
            ".ada@x.com",
            "ada..b@x.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Email::parse(&format!("{}@x.com", "a".repeat(300))),
            Err(EmailError::TooLong)
        );
    }

    #[test]
    fn passwords_need_length_and_not_the_obvious() {
        let email = Email::parse("ada@example.com").unwrap();
        assert_eq!(
            check_password("short", &email),
            Err(PasswordError::TooShort)
        );
        assert_eq!(
            check_password("Password1234", &email),
            Err(PasswordError::TooCommon)
        );
        assert_eq!(
            check_password("aaaaaaaaaaaaaaa", &email),
            Err(PasswordError::TooCommon)
        );
        assert_eq!(
            check_password("ada@example.com", &email),
            Err(PasswordError::SameAsEmail)
        );
        assert_eq!(
            check_password(&"x".repeat(257), &email),
            Err(PasswordError::TooLong)
        );
        assert_eq!(
            check_password("correct horse battery staple", &email),
            Ok(())
        );
        assert_eq!(check_password("pässwörd-ünïcode-✓", &email), Ok(()));
    }
}
