//! Provider credentials a tenant brings: stored sealed, shown only as a mask, used in place of
//! the platform's key for that tenant's calls.

use std::net::IpAddr;

use time::OffsetDateTime;

use crate::crypto::Sealed;
use crate::{CredentialId, TenantId, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderCredential {
    pub id: CredentialId,
    pub tenant_id: TenantId,
    pub name: String,
    /// The configured provider whose platform key this one replaces for the tenant's calls.
    pub provider: String,
    /// Where to send those calls instead of the provider's configured URL (the tenant's own
    /// Azure resource, say); checked against SSRF.
    pub base_url: Option<String>,
    pub sealed: Sealed,
    pub mask: String,
    pub created_by: Option<UserId>,
    pub created_at: OffsetDateTime,
}

/// Why a tenant-supplied upstream URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("the URL must be an absolute http:// or https:// URL")]
    Malformed,
    #[error(
        "the URL points to a private, loopback or link-local address, which tenants may not reach"
    )]
    PrivateTarget,
}

/// Private, loopback, link-local and other addresses tenants may not make the gateway reach.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                // Carrier-grade NAT, 100.64.0.0/10.
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                // Unique local fc00::/7 and link-local fe80::/10.
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| is_internal(IpAddr::V4(v4)))
        }
    }
}

/// Checks a tenant-supplied upstream URL against server-side request forgery: no private,
/// loopback or link-local targets (by literal address or well-known name) unless the operator
/// allows them. Names are checked again when a connection is made.
///
/// # Errors
/// A malformed URL or an internal target.
pub fn check_outbound_url(url: &str, allow_private: bool) -> Result<(), UrlError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or(UrlError::Malformed)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(bracketed) = host_port.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(UrlError::Malformed);
    }
    if allow_private {
        return Ok(());
    }
    let lower = host.to_ascii_lowercase();
    let named_internal = lower == "localhost"
        || lower.ends_with(".localhost")
        || lower.ends_with(".local")
        || lower.ends_with(".internal")
        || lower == "metadata.google.internal";
    let literal_internal = host.parse::<IpAddr>().is_ok_and(is_internal);
    // Decimal and hex spellings of addresses (`http://2130706433/`) are refused outright.
    let numeric_host = lower
        .chars()
        .all(|c| c.is_ascii_hexdigit() || c == 'x' || c == '.')
        && lower.parse::<IpAddr>().is_err()
        && !lower.contains(|c: char| c.is_ascii_alphabetic() && !matches!(c, 'a'..='f' | 'x'));
    if named_internal || literal_internal || numeric_host {
        return Err(UrlError::PrivateTarget);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_targets_are_refused() {
        for bad in [
            "http://127.0.0.1/v1",
            "http://localhost:8080",
            "https://10.1.2.3",
            "http://192.168.0.10:11434/v1",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]:80/",
            "http://[fd00::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://metadata.google.internal/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://user@127.0.0.1/",
            "http://100.64.0.1/",
        ] {
            assert_eq!(
                check_outbound_url(bad, false),
                Err(UrlError::PrivateTarget),
                "{bad}"
            );
        }
        for malformed in ["ftp://example.com", "example.com", "http://", "http:// x"] {
            assert_eq!(
                check_outbound_url(malformed, false),
                Err(UrlError::Malformed),
                "{malformed}"
            );
        }
        for good in [
            "https://api.openai.com/v1",
            "https://my-resource.openai.azure.com",
            "http://203.0.114.5/v1",
            "https://deadbeef.example/v1",
        ] {
            assert_eq!(check_outbound_url(good, false), Ok(()), "{good}");
        }
        assert_eq!(check_outbound_url("http://127.0.0.1/", true), Ok(()));
    }
}
