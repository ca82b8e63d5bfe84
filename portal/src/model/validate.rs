//! Checks the portal runs before sending a form, mirroring the server's rules so people learn
//! about a mistake at once. The server checks everything again.

/// The shortest password the server accepts.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// A plausible email address: text, one `@`, a domain with a dot, no spaces.
///
/// # Errors
/// A sentence saying what is wrong.
pub fn email(raw: &str) -> Result<String, String> {
    let email = raw.trim();
    if email.is_empty() {
        return Err("Enter your email address.".into());
    }
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if valid {
        Ok(email.to_owned())
    } else {
        Err("Enter an email address like name@example.com.".into())
    }
}

/// A new password: long enough (the server also refuses common ones).
///
/// # Errors
/// A sentence saying what is wrong.
pub fn new_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(format!(
            "Use at least {MIN_PASSWORD_CHARS} characters ({chars} so far)."
        ));
    }
    if chars > 1024 {
        return Err("Use at most 1024 characters.".into());
    }
    Ok(())
}

/// A name or label: 1 to 100 characters, no control characters.
///
/// # Errors
/// A sentence saying what is wrong.
pub fn name(raw: &str, what: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(format!("Enter a {what}."));
    }
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(format!(
            "A {what} has at most 100 characters, without control characters."
        ));
    }
    Ok(name.to_owned())
}

/// A reason kept on a bill (a correction's, a void invoice's) as the server keeps it: trimmed,
/// 1 to 500 characters, no control characters.
///
/// # Errors
/// A sentence saying what is wrong.
pub fn reason(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err("Say why: the reason stays on the bill.".to_owned());
    }
    if text.chars().count() > 500 {
        return Err("Keep it to 500 characters.".to_owned());
    }
    if text.chars().any(char::is_control) {
        return Err("Write it on one line, without control characters.".to_owned());
    }
    Ok(text.to_owned())
}

/// A host name such as `ai.partner.example` (what a partner's custom domain is): lower-cased,
/// without a trailing dot, at least two labels of letters, digits and inner hyphens.
///
/// # Errors
/// A sentence saying what is wrong.
pub fn host(raw: &str) -> Result<String, String> {
    let host = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if host.is_empty() {
        return Err("Enter a domain name.".into());
    }
    if host.len() > 253 || !host.contains('.') || !host.split('.').all(label_ok) {
        return Err(
            "Enter a domain name like ai.partner.example, without https://, port or path.".into(),
        );
    }
    Ok(host)
}

/// An IP address or CIDR network (`203.0.113.7`, `10.0.0.0/8`, `2001:db8::/32`).
pub fn is_network(raw: &str) -> bool {
    let raw = raw.trim();
    match raw.split_once('/') {
        None => raw.parse::<std::net::IpAddr>().is_ok(),
        Some((addr, len)) => match (addr.parse::<std::net::IpAddr>(), len.parse::<u8>()) {
            (Ok(std::net::IpAddr::V4(_)), Ok(len)) => len <= 32,
            (Ok(std::net::IpAddr::V6(_)), Ok(len)) => len <= 128,
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email(" ada@example.com ").as_deref(), Ok("ada@example.com"));
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "a@b@c.d",
            "a@.com",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_need_twelve_characters() {
        assert!(new_password("correct horse").is_ok());
        assert_eq!(
            new_password("short").unwrap_err(),
            "Use at least 12 characters (5 so far)."
        );
        assert!(
            new_password("ééééééééééé").is_err(),
            "characters, not bytes"
        );
    }

    #[test]
    fn names() {
        assert_eq!(name("  Acme ", "tenant name").as_deref(), Ok("Acme"));
        assert_eq!(
            name(" ", "tenant name").unwrap_err(),
            "Enter a tenant name."
        );
        assert!(name(&"x".repeat(101), "name").is_err());
        assert!(name("a\u{0}b", "name").is_err());
    }

    #[test]
    fn hosts() {
        assert_eq!(host(" AI.Acme.Example. ").as_deref(), Ok("ai.acme.example"));
        for bad in [
            "",
            "localhost",
            "https://ai.acme.example",
            "ai.acme.example:8080",
            "ai.acme.example/x",
            "-ai.acme.example",
            "ai..example",
            "a b.example",
        ] {
            assert!(host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn networks() {
        for good in [
            "203.0.113.7",
            "10.0.0.0/8",
            "2001:db8::/32",
            "::1",
            " 192.168.1.0/24 ",
        ] {
            assert!(is_network(good), "{good}");
        }
        for bad in [
            "",
            "10.0.0.0/33",
            "2001:db8::/129",
            "example.com",
            "10.0.0/8",
            "10.0.0.1/x",
        ] {
            assert!(!is_network(bad), "{bad}");
        }
    }
}
