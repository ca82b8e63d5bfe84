//! The operators' "create partner" form and its conversion into a `CreatePartnerRequest`. The
//! branding starts with a product name and a colour; the partner's administrators edit the rest
//! in their console.

use api_types::manage::CreatePartnerRequest;

use super::branding_form::BrandingForm;
use super::errors::FieldErrors;
use super::{lists, validate};

/// What the form holds, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartnerForm {
    /// Internal name, unique; what operators see.
    pub name: String,
    /// The start of its keys, like `sk-acme`.
    pub key_prefix: String,
    /// The product name its customers see; the name when empty.
    pub display_name: String,
    /// `#rrggbb`.
    pub primary_color: String,
    /// Host names, separated by commas, spaces or lines.
    pub domains: String,
    /// An existing account that becomes its first administrator; optional.
    pub admin_email: String,
}

impl PartnerForm {
    /// The request to send. `platform_prefix` is the prefix of the platform's own keys, which a
    /// partner may not reuse.
    ///
    /// # Errors
    /// A message per field that breaks a rule.
    pub fn to_request(&self, platform_prefix: &str) -> Result<CreatePartnerRequest, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = validate::name(&self.name, "partner name")
            .map_err(|e| errors.add("name", e))
            .unwrap_or_default();
        let key_prefix = self.key_prefix.trim().to_owned();
        if let Err(message) = check_key_prefix(&key_prefix, platform_prefix) {
            errors.add("key_prefix", message);
        }
        let display_name = Some(self.display_name.trim())
            .filter(|it| !it.is_empty())
            .unwrap_or(&name)
            .to_owned();
        let branding = BrandingForm {
            display_name,
            primary_color: self.primary_color.clone(),
            ..BrandingForm::default()
        }
        .to_view()
        .map_err(|branding_errors| {
            for field in ["display_name", "primary_color"] {
                if let Some(message) = branding_errors.get(field) {
                    errors.add(field, message);
                }
            }
        })
        .ok();
        let mut domains = Vec::new();
        for raw in lists::split(&self.domains) {
            match validate::host(&raw) {
                Ok(host) if !domains.contains(&host) => domains.push(host),
                Ok(_) => {}
                Err(message) => errors.add("domains", format!("`{raw}`: {message}")),
            }
        }
        if domains.len() > 20 {
            errors.add("domains", "A partner has at most 20 domains.");
        }
        let admin_email = match self.admin_email.trim() {
            "" => None,
            raw => validate::email(raw)
                .map_err(|e| errors.add("admin_email", e))
                .ok(),
        };
        // Without a branding there is an error for it already.
        let Some(branding) = branding.filter(|_| errors.is_empty()) else {
            return Err(errors);
        };
        Ok(CreatePartnerRequest {
            name,
            key_prefix,
            branding,
            domains,
            admin_email,
        })
    }
}

/// 2 to 24 characters of `a-z`, `0-9` and `-`, starting with a letter, and not the platform's.
///
/// # Errors
/// A sentence saying what is wrong.
pub fn check_key_prefix(prefix: &str, platform_prefix: &str) -> Result<(), String> {
    let valid = (2..=24).contains(&prefix.len())
        && prefix.starts_with(|c: char| c.is_ascii_lowercase())
        && prefix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(
            "Use 2 to 24 lower-case letters, digits and hyphens, starting with a letter (like sk-acme)."
                .to_owned(),
        );
    }
    if prefix == platform_prefix {
        return Err("Choose a prefix other than the platform's own.".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> PartnerForm {
        PartnerForm {
            name: "Acme Partners".into(),
            key_prefix: "sk-acme".into(),
            display_name: String::new(),
            primary_color: "#0A7D32".into(),
            domains: "ai.acme.example, AI.acme.example\nportal.acme.example".into(),
            admin_email: " pat@acme.example ".into(),
        }
    }

    #[test]
    fn a_full_form_becomes_the_request() {
        let request = form().to_request("sk-sluice").unwrap();
        assert_eq!(request.name, "Acme Partners");
        assert_eq!(request.key_prefix, "sk-acme");
        assert_eq!(
            request.branding.display_name, "Acme Partners",
            "the name by default"
        );
        assert_eq!(request.branding.primary_color, "#0a7d32");
        assert_eq!(request.domains, ["ai.acme.example", "portal.acme.example"]);
        assert_eq!(request.admin_email.as_deref(), Some("pat@acme.example"));
    }

    #[test]
    fn every_broken_field_gets_its_message() {
        let broken = PartnerForm {
            name: " ".into(),
            key_prefix: "Acme_".into(),
            display_name: String::new(),
            primary_color: "blue".into(),
            domains: "https://ai.acme.example".into(),
            admin_email: "pat".into(),
        };
        let errors = broken.to_request("sk-sluice").unwrap_err();
        for field in [
            "name",
            "key_prefix",
            "primary_color",
            "domains",
            "admin_email",
        ] {
            assert!(errors.get(field).is_some(), "{field}");
        }
        let platforms = PartnerForm {
            key_prefix: "sk-sluice".into(),
            ..form()
        };
        assert!(
            platforms
                .to_request("sk-sluice")
                .unwrap_err()
                .get("key_prefix")
                .unwrap()
                .contains("platform")
        );
    }

    #[test]
    fn no_administrator_and_no_domain_are_fine() {
        let request = PartnerForm {
            domains: String::new(),
            admin_email: String::new(),
            ..form()
        }
        .to_request("sk-sluice")
        .unwrap();
        assert!(request.domains.is_empty());
        assert_eq!(request.admin_email, None);
    }
}
