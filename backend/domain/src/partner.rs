//! Partners: resellers that brand the portal and the keys for their own customers. A partner
//! has branding, custom domains (host names the portal answers on with that branding), its own
//! key prefix, administrators, and sub-tenants it creates and manages.
//!
//! A domain counts only once its owner has proved control of it ([`PartnerDomain`]): an
//! unproven domain would let anyone who can add one make the platform send genuine mail and
//! links on a host they choose.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{PartnerId, UserId};

/// How the portal looks and what it is called on a partner's domains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branding {
    /// The product name shown everywhere (title, header, emails).
    pub display_name: String,
    /// An `https://` URL or a `data:image/...;base64,` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub favicon_url: Option<String>,
    /// `#rrggbb`.
    pub primary_color: String,
    /// `#rrggbb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accent_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_url: Option<String>,
}

/// Why a branding, host name or partner field was refused; `field` names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PartnerFieldError {
    pub field: &'static str,
    pub message: String,
}

fn refuse(field: &'static str, message: impl Into<String>) -> PartnerFieldError {
    PartnerFieldError {
        field,
        message: message.into(),
    }
}

/// Largest logo or favicon given inline as a data URL.
const MAX_DATA_URL_BYTES: usize = 256 * 1024;

fn check_color(field: &'static str, value: &str) -> Result<(), PartnerFieldError> {
    let ok = value.len() == 7
        && value.starts_with('#')
        && value[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        Err(refuse(
            field,
            format!("`{field}` must be a colour like `#1f6feb`"),
        ))
    }
}

fn check_image_url(field: &'static str, value: &str) -> Result<(), PartnerFieldError> {
    let inline = ["png", "svg+xml", "jpeg", "webp", "gif", "x-icon"]
        .iter()
        .any(|kind| value.starts_with(&format!("data:image/{kind};base64,")));
    if inline {
        if value.len() > MAX_DATA_URL_BYTES {
            return Err(refuse(
                field,
                format!("`{field}` is larger than {} KiB", MAX_DATA_URL_BYTES / 1024),
            ));
        }
        return Ok(());
    }
    check_https_url(field, value)
}

fn check_https_url(field: &'static str, value: &str) -> Result<(), PartnerFieldError> {
    let ok = value.len() <= 2000
        && value.starts_with("https://")
        && value.len() > "https://".len()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>');
    if ok {
        Ok(())
    } else {
        Err(refuse(
            field,
            format!("`{field}` must be an https:// URL of at most 2000 characters"),
        ))
    }
}

impl Branding {
    /// The platform's own look, used on every host that is not a partner's.
    pub fn platform(product_name: &str) -> Self {
        Branding {
            display_name: product_name.to_owned(),
            logo_url: None,
            favicon_url: None,
            primary_color: "#2563eb".into(),
            accent_color: None,
            support_url: None,
        }
    }

    /// # Errors
    /// The first field that is empty, too long or malformed.
    pub fn validate(&self) -> Result<(), PartnerFieldError> {
        let name = self.display_name.trim();
        if name.is_empty() || name.chars().count() > 60 || name.chars().any(char::is_control) {
            return Err(refuse(
                "display_name",
                "`display_name` must be 1 to 60 characters, without control characters",
            ));
        }
        check_color("primary_color", &self.primary_color)?;
        if let Some(color) = &self.accent_color {
            check_color("accent_color", color)?;
        }
        if let Some(url) = &self.logo_url {
            check_image_url("logo_url", url)?;
        }
        if let Some(url) = &self.favicon_url {
            check_image_url("favicon_url", url)?;
        }
        if let Some(url) = &self.support_url {
            check_https_url("support_url", url)?;
        }
        Ok(())
    }
}

/// A partner and its domains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    pub id: PartnerId,
    /// Internal name, unique; what operators see.
    pub name: String,
    pub branding: Branding,
    /// Visible prefix of keys issued in its sub-tenants, instead of the platform's.
    pub key_prefix: String,
    /// Its custom domains, oldest first; only verified ones are used for anything.
    pub domains: Vec<PartnerDomain>,
    pub created_at: OffsetDateTime,
}

impl Partner {
    /// The host names (lowercase, no port) that are the partner's: the verified domains.
    pub fn verified_hosts(&self) -> impl Iterator<Item = &str> {
        self.domains
            .iter()
            .filter(|it| it.is_verified())
            .map(|it| it.host.as_str())
    }

    /// Where links in the partner's mail point: its oldest verified domain.
    pub fn primary_host(&self) -> Option<&str> {
        self.verified_hosts().next()
    }
}

/// The label under a partner's domain where the proof of control is published as a TXT
/// record. Neutral on purpose: the record is public, and a white-labelled platform must not
/// name itself in its partners' DNS zones.
pub const CHALLENGE_LABEL: &str = "_domain-verification";

/// A partner's custom domain and the state of its proof of control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerDomain {
    /// Lowercase, no port, no trailing dot.
    pub host: String,
    /// The random value the owner publishes in the TXT record; one per claim, so another
    /// partner's record (or an old one) never proves this claim.
    pub challenge: String,
    pub created_at: OffsetDateTime,
    /// When control was proved (or an operator added it); `None` while pending.
    pub verified_at: Option<OffsetDateTime>,
}

impl PartnerDomain {
    /// A new claim that waits for its proof.
    pub fn pending(host: String, now: OffsetDateTime) -> Self {
        PartnerDomain {
            host,
            challenge: new_challenge(),
            created_at: now,
            verified_at: None,
        }
    }

    /// A domain a platform operator vouches for: verified from the start.
    pub fn vouched(host: String, now: OffsetDateTime) -> Self {
        PartnerDomain {
            verified_at: Some(now),
            ..PartnerDomain::pending(host, now)
        }
    }

    pub fn is_verified(&self) -> bool {
        self.verified_at.is_some()
    }

    /// The DNS name of the TXT record that proves control.
    pub fn record_name(&self) -> String {
        format!("{CHALLENGE_LABEL}.{}", self.host)
    }

    /// Whether one of the TXT strings found at [`PartnerDomain::record_name`] proves this
    /// claim. Surrounding blanks are forgiven; anything else must match exactly.
    pub fn is_proved_by<'a>(&self, txt: impl IntoIterator<Item = &'a str>) -> bool {
        txt.into_iter().any(|it| it.trim() == self.challenge)
    }
}

/// 128 random bits as 32 lowercase hex digits: safe in any DNS tool, unguessable.
fn new_challenge() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A partner administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerAdmin {
    pub user_id: UserId,
    pub email: String,
    pub added_at: OffsetDateTime,
}

/// Normalises a host name as it arrives in a `Host` header or is configured: lowercase, no
/// port, no trailing dot.
///
/// # Errors
/// Anything that is not a DNS name of letters, digits and hyphens with at least two labels.
pub fn normalize_host(raw: &str) -> Result<String, PartnerFieldError> {
    let bad = || {
        refuse(
            "host",
            "`host` must be a domain name such as `ai.partner.example`, without scheme, port or path",
        )
    };
    let host = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    let label_ok = |label: &&str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if host.len() > 253 || labels.len() < 2 || !labels.iter().all(label_ok) {
        return Err(bad());
    }
    Ok(host)
}

/// The host of a `Host` header value, normalised, or `None` when it is not a DNS name (an IP
/// address, garbage).
pub fn host_of_header(value: &str) -> Option<String> {
    let without_port = match value.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => value,
    };
    normalize_host(without_port).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn branding() -> Branding {
        Branding {
            display_name: "Acme AI".into(),
            logo_url: Some("https://cdn.acme.example/logo.svg".into()),
            favicon_url: Some("data:image/png;base64,iVBORw0KGgo=".into()),
            primary_color: "#ff6600".into(),
            accent_color: Some("#000000".into()),
            support_url: Some("https://acme.example/help".into()),
        }
    }

    #[test]
    fn branding_fields_are_checked_by_name() {
        assert_eq!(branding().validate(), Ok(()));
        type Change = fn(&mut Branding);
        let cases: [(Change, &str); 7] = [
            (|b| b.display_name = " ".into(), "display_name"),
            (|b| b.display_name = "x".repeat(61), "display_name"),
            (|b| b.primary_color = "orange".into(), "primary_color"),
            (|b| b.accent_color = Some("#12345g".into()), "accent_color"),
            (
                |b| b.logo_url = Some("javascript:alert(1)".into()),
                "logo_url",
            ),
            (
                |b| b.favicon_url = Some("http://plain.example/x.ico".into()),
                "favicon_url",
            ),
            (
                |b| b.support_url = Some("https://x.example/\"><script>".into()),
                "support_url",
            ),
        ];
        for (change, field) in cases {
            let mut b = branding();
            change(&mut b);
            assert_eq!(b.validate().unwrap_err().field, field);
        }
        let mut huge = branding();
        huge.logo_url = Some(format!("data:image/png;base64,{}", "A".repeat(300_000)));
        assert_eq!(huge.validate().unwrap_err().field, "logo_url");
    }

    #[test]
    fn a_domain_is_proved_only_by_its_own_challenge() {
        let now = OffsetDateTime::now_utc();
        let claim = PartnerDomain::pending("ai.partner.example".into(), now);
        let other = PartnerDomain::pending("ai.partner.example".into(), now);
        assert_eq!(claim.challenge.len(), 32);
        assert!(claim.challenge.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(claim.challenge, other.challenge, "each claim has its own");
        assert_eq!(
            claim.record_name(),
            "_domain-verification.ai.partner.example"
        );
        assert!(!claim.is_verified());
        assert!(claim.is_proved_by(["unrelated", &format!(" {} ", claim.challenge)]));
        assert!(!claim.is_proved_by([other.challenge.as_str()]));
        assert!(!claim.is_proved_by([&claim.challenge[..31]]));
        assert!(!claim.is_proved_by([]));
        assert!(PartnerDomain::vouched("x.example".into(), now).is_verified());
    }

    #[test]
    fn only_verified_domains_are_the_partners() {
        let now = OffsetDateTime::now_utc();
        let partner = Partner {
            id: PartnerId::new(),
            name: "Acme".into(),
            branding: Branding::platform("Acme"),
            key_prefix: "sk-acme".into(),
            domains: vec![
                PartnerDomain::pending("pending.acme.example".into(), now),
                PartnerDomain::vouched("ai.acme.example".into(), now),
                PartnerDomain::vouched("portal.acme.example".into(), now),
            ],
            created_at: now,
        };
        assert_eq!(
            partner.verified_hosts().collect::<Vec<_>>(),
            ["ai.acme.example", "portal.acme.example"]
        );
        assert_eq!(partner.primary_host(), Some("ai.acme.example"));
    }

    #[test]
    fn hosts_are_normalised_and_checked() {
        assert_eq!(
            normalize_host("AI.Partner.Example.").unwrap(),
            "ai.partner.example"
        );
        for bad in [
            "localhost",
            "",
            "https://x.example",
            "x.example/path",
            "-x.example",
            "x..example",
            "ex ample.com",
            "x.example:443",
        ] {
            assert!(normalize_host(bad).is_err(), "{bad}");
        }
        assert_eq!(
            host_of_header("ai.partner.example:8443").as_deref(),
            Some("ai.partner.example")
        );
        assert_eq!(
            host_of_header("127.0.0.1:8080").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(host_of_header("[::1]:8080"), None);
    }
}
