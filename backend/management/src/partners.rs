//! Partners and white-label: platform operators create partners; partner administrators edit
//! their branding, domains and fellow administrators, and create and manage sub-tenants (with
//! an operator's reach inside them), whose keys carry the partner's prefix.
//!
//! A domain a partner administrator adds is pending until its owner proves control with a TXT
//! record ([`Manager::verify_partner_domain`]); one an operator adds is verified at once
//! (operators are the platform). Only verified domains brand anything or receive links.

use domain::api_key::validate_prefix;
use domain::partner::{Branding, Partner, PartnerAdmin, PartnerDomain, normalize_host};
use domain::{Email, PartnerId, Tenant, UserId};
use time::OffsetDateTime;

use crate::domain_proof::LookupError;
use crate::{Error, Identity, Manager};

/// What an operator submits to create a partner.
#[derive(Debug, Clone)]
pub struct PartnerDraft {
    pub name: String,
    pub key_prefix: String,
    pub branding: Branding,
    pub domains: Vec<String>,
    /// An existing account that becomes its first administrator.
    pub admin_email: Option<String>,
}

fn field_error(e: domain::partner::PartnerFieldError) -> Error {
    Error::invalid(e.field, e.message)
}

fn partner_json(partner: &Partner) -> String {
    serde_json::json!({
        "name": partner.name,
        "key_prefix": partner.key_prefix,
        "branding": partner.branding,
        "domains": partner.domains.iter().map(domain_json).collect::<Vec<_>>(),
    })
    .to_string()
}

/// Why the TXT strings found (or the failed lookup) do not prove `claim`, in words that say
/// what to publish; `None` when they prove it.
fn refusal(claim: &PartnerDomain, found: Result<Vec<String>, LookupError>) -> Option<String> {
    let name = claim.record_name();
    let value = &claim.challenge;
    match found {
        Ok(found) if claim.is_proved_by(found.iter().map(String::as_str)) => None,
        Ok(_) => Some(format!(
            "the TXT record at `{name}` does not hold this domain's value `{value}`; publish exactly that value and try again"
        )),
        Err(LookupError::NoRecords) => Some(format!(
            "no TXT record was found at `{name}`; publish one with the value `{value}` and try again (new records can take a while to be visible)"
        )),
        Err(LookupError::Failed(why)) => Some(format!(
            "the DNS lookup of `{name}` failed ({why}); try again in a moment"
        )),
    }
}

fn domain_json(domain: &PartnerDomain) -> serde_json::Value {
    serde_json::json!({ "host": domain.host, "verified": domain.is_verified() })
}

impl Manager {
    /// Checks that the caller administers `partner` (operators administer every partner).
    ///
    /// # Errors
    /// `NotFound` for everyone else: other partners do not exist for them.
    pub async fn authorize_partner(
        &self,
        identity: &Identity,
        partner: PartnerId,
    ) -> Result<Partner, Error> {
        let found = self
            .store
            .get_partner(partner)
            .await
            .map_err(Error::missing("partner"))?;
        if identity.user.is_operator
            || self
                .store
                .is_partner_admin(partner, identity.user.id)
                .await?
        {
            Ok(found)
        } else {
            Err(Error::NotFound("partner"))
        }
    }

    /// # Errors
    /// Not an operator, invalid fields, a name, prefix or domain taken, an unknown admin email.
    pub async fn create_partner(
        &self,
        identity: &Identity,
        draft: PartnerDraft,
    ) -> Result<Partner, Error> {
        if !identity.user.is_operator {
            return Err(Error::Forbidden(
                "only platform operators create partners".into(),
            ));
        }
        let name = draft.name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(Error::invalid(
                "name",
                "`name` must be 1 to 100 characters, without control characters",
            ));
        }
        validate_prefix(&draft.key_prefix)
            .map_err(|e| Error::invalid("key_prefix", e.to_string()))?;
        if draft.key_prefix == self.config.key_prefix {
            return Err(Error::invalid(
                "key_prefix",
                "a partner's key prefix must differ from the platform's",
            ));
        }
        draft.branding.validate().map_err(field_error)?;
        if draft.domains.len() > 20 {
            return Err(Error::invalid("domains", "at most 20 domains"));
        }
        let now = OffsetDateTime::now_utc();
        let mut domains: Vec<PartnerDomain> = Vec::new();
        for (i, raw) in draft.domains.iter().enumerate() {
            let host = normalize_host(raw)
                .map_err(|e| Error::invalid(&format!("domains[{i}]"), e.message))?;
            if !domains.iter().any(|it| it.host == host) {
                // The operator creating the partner vouches for them.
                domains.push(PartnerDomain::vouched(host, now));
            }
        }
        let admin = match &draft.admin_email {
            None => None,
            Some(raw) => {
                let email =
                    Email::parse(raw).map_err(|e| Error::invalid("admin_email", e.to_string()))?;
                let user = self.store.find_user_by_email(&email).await?.ok_or_else(|| {
                    Error::invalid(
                        "admin_email",
                        "no account has that address: the partner's administrator must sign up first",
                    )
                })?;
                Some(user.id)
            }
        };
        let partner = Partner {
            id: PartnerId::new(),
            name: name.to_owned(),
            branding: draft.branding,
            key_prefix: draft.key_prefix,
            domains,
            created_at: now,
        };
        let audit = identity
            .audit(None, "partner.create")
            .target("partner", partner.id)
            .change(None, Some(partner_json(&partner)));
        self.store.create_partner(&partner, admin, &audit).await?;
        self.changed().await;
        Ok(partner)
    }

    /// The partners the caller administers (every partner, for operators).
    ///
    /// # Errors
    /// Store failures.
    pub async fn partners(&self, identity: &Identity) -> Result<Vec<Partner>, Error> {
        if identity.user.is_operator {
            Ok(self.store.list_partners().await?)
        } else {
            Ok(self.store.partners_of(identity.user.id).await?)
        }
    }

    /// # Errors
    /// `NotFound` unless the caller administers it; invalid fields.
    pub async fn update_branding(
        &self,
        identity: &Identity,
        partner: PartnerId,
        branding: Branding,
    ) -> Result<Partner, Error> {
        let mut found = self.authorize_partner(identity, partner).await?;
        branding.validate().map_err(field_error)?;
        let before = partner_json(&found);
        found.branding = branding;
        let audit = identity
            .audit(None, "partner.update_branding")
            .target("partner", partner)
            .change(Some(before), Some(partner_json(&found)));
        self.store
            .update_branding(partner, &found.branding, &audit)
            .await
            .map_err(Error::missing("partner"))?;
        self.changed().await;
        Ok(found)
    }

    /// Adds a custom domain: pending until proved when a partner administrator adds it,
    /// verified at once when an operator does (an operator adding a host the partner claims
    /// already vouches for that claim).
    ///
    /// # Errors
    /// `NotFound` unless the caller administers it; an invalid host; `Conflict` for a host the
    /// partner has already or another partner holds verified.
    pub async fn add_partner_domain(
        &self,
        identity: &Identity,
        partner: PartnerId,
        host: &str,
    ) -> Result<Partner, Error> {
        let found = self.authorize_partner(identity, partner).await?;
        let host = normalize_host(host).map_err(field_error)?;
        let now = OffsetDateTime::now_utc();
        let claimed = found.domains.iter().find(|it| it.host == host);
        match claimed {
            Some(claim) if identity.user.is_operator && !claim.is_verified() => {
                let audit = identity
                    .audit(None, "partner.verify_domain")
                    .target("partner", partner)
                    .change(
                        Some(domain_json(claim).to_string()),
                        Some(
                            serde_json::json!({ "host": host, "verified": true, "method": "operator" })
                                .to_string(),
                        ),
                    );
                self.store
                    .verify_partner_domain(partner, &host, now, &audit)
                    .await?;
            }
            Some(_) => {
                return Err(Error::Conflict(format!(
                    "`{host}` is one of the partner's domains already"
                )));
            }
            None => {
                if found.domains.len() >= 20 {
                    return Err(Error::Conflict("a partner has at most 20 domains".into()));
                }
                let domain = if identity.user.is_operator {
                    PartnerDomain::vouched(host, now)
                } else {
                    PartnerDomain::pending(host, now)
                };
                let audit = identity
                    .audit(None, "partner.add_domain")
                    .target("partner", partner)
                    .change(None, Some(domain_json(&domain).to_string()));
                self.store
                    .add_partner_domain(partner, &domain, &audit)
                    .await?;
            }
        }
        self.changed().await;
        Ok(self.store.get_partner(partner).await?)
    }

    /// Checks the proof of a pending domain: a TXT record at
    /// `_domain-verification.<host>` holding the claim's challenge. On success the domain is
    /// the partner's everywhere within a second; every attempt is audited.
    ///
    /// # Errors
    /// `NotFound` unless the caller administers it and it has the host; `DomainNotVerified`
    /// when the record is missing, holds something else or cannot be read; `Conflict` when
    /// another partner holds the host verified.
    pub async fn verify_partner_domain(
        &self,
        identity: &Identity,
        partner: PartnerId,
        host: &str,
    ) -> Result<PartnerDomain, Error> {
        let found = self.authorize_partner(identity, partner).await?;
        let host = normalize_host(host).map_err(|_| Error::NotFound("domain"))?;
        let claim = found
            .domains
            .into_iter()
            .find(|it| it.host == host)
            .ok_or(Error::NotFound("domain"))?;
        if claim.is_verified() {
            return Ok(claim);
        }
        let name = claim.record_name();
        let refusal = refusal(&claim, self.txt_lookup.txt(&name).await);
        if let Some(message) = refusal {
            let audit = identity
                .audit(None, "partner.verify_domain_failed")
                .target("partner", partner)
                .change(
                    None,
                    Some(serde_json::json!({ "host": host, "record": name }).to_string()),
                );
            self.store.record(&audit).await?;
            return Err(Error::DomainNotVerified(message));
        }
        let now = OffsetDateTime::now_utc();
        let audit = identity
            .audit(None, "partner.verify_domain")
            .target("partner", partner)
            .change(
                Some(domain_json(&claim).to_string()),
                Some(
                    serde_json::json!({ "host": host, "verified": true, "method": "dns", "record": name })
                        .to_string(),
                ),
            );
        self.store
            .verify_partner_domain(partner, &host, now, &audit)
            .await
            .map_err(Error::missing("domain"))?;
        self.changed().await;
        // As stored (times to the microsecond), so this answer and later reads agree.
        self.store
            .get_partner(partner)
            .await?
            .domains
            .into_iter()
            .find(|it| it.host == host)
            .ok_or(Error::NotFound("domain"))
    }

    /// # Errors
    /// `NotFound` unless the caller administers it and it has the host.
    pub async fn remove_partner_domain(
        &self,
        identity: &Identity,
        partner: PartnerId,
        host: &str,
    ) -> Result<(), Error> {
        self.authorize_partner(identity, partner).await?;
        let host = normalize_host(host).map_err(|_| Error::NotFound("domain"))?;
        let audit = identity
            .audit(None, "partner.remove_domain")
            .target("partner", partner)
            .change(Some(serde_json::json!({ "host": host }).to_string()), None);
        self.store
            .remove_partner_domain(partner, &host, &audit)
            .await
            .map_err(Error::missing("domain"))?;
        self.changed().await;
        Ok(())
    }

    /// # Errors
    /// `NotFound` unless the caller administers it.
    pub async fn partner_admins(
        &self,
        identity: &Identity,
        partner: PartnerId,
    ) -> Result<Vec<PartnerAdmin>, Error> {
        self.authorize_partner(identity, partner).await?;
        Ok(self.store.list_partner_admins(partner).await?)
    }

    /// Makes an existing account an administrator of the partner.
    ///
    /// # Errors
    /// `NotFound` unless the caller administers it; an unknown address; already an admin.
    pub async fn add_partner_admin(
        &self,
        identity: &Identity,
        partner: PartnerId,
        email: &str,
    ) -> Result<PartnerAdmin, Error> {
        self.authorize_partner(identity, partner).await?;
        let email = Email::parse(email).map_err(|e| Error::invalid("email", e.to_string()))?;
        let user = self
            .store
            .find_user_by_email(&email)
            .await?
            .ok_or_else(|| Error::invalid("email", "no account has that address"))?;
        let now = OffsetDateTime::now_utc();
        let audit = identity
            .audit(None, "partner.add_admin")
            .target("partner", partner)
            .change(
                None,
                Some(
                    serde_json::json!({ "user": user.id, "email": email.to_string() }).to_string(),
                ),
            );
        self.store
            .add_partner_admin(partner, user.id, now, &audit)
            .await?;
        Ok(PartnerAdmin {
            user_id: user.id,
            email: email.to_string(),
            added_at: now,
        })
    }

    /// # Errors
    /// `NotFound` unless the caller administers it and the user is an admin; `Conflict` for
    /// the last administrator.
    pub async fn remove_partner_admin(
        &self,
        identity: &Identity,
        partner: PartnerId,
        user: UserId,
    ) -> Result<(), Error> {
        self.authorize_partner(identity, partner).await?;
        let audit = identity
            .audit(None, "partner.remove_admin")
            .target("partner", partner)
            .change(Some(serde_json::json!({ "user": user }).to_string()), None);
        self.store
            .remove_partner_admin(partner, user, &audit)
            .await
            .map_err(Error::missing("partner administrator"))
    }

    /// # Errors
    /// `NotFound` unless the caller administers it.
    pub async fn partner_tenants(
        &self,
        identity: &Identity,
        partner: PartnerId,
    ) -> Result<Vec<Tenant>, Error> {
        self.authorize_partner(identity, partner).await?;
        Ok(self.store.list_partner_tenants(partner).await?)
    }

    /// Creates a sub-tenant the partner manages; it has no members until the partner invites
    /// its customer.
    ///
    /// # Errors
    /// `NotFound` unless the caller administers it; an invalid name.
    pub async fn create_partner_tenant(
        &self,
        identity: &Identity,
        partner: PartnerId,
        name: &str,
    ) -> Result<Tenant, Error> {
        self.authorize_partner(identity, partner).await?;
        let mut tenant = Tenant::new(name, OffsetDateTime::now_utc())
            .map_err(|e| Error::invalid("name", e.to_string()))?;
        tenant.partner_id = Some(partner);
        let audit = identity
            .audit(Some(tenant.id), "tenant.create")
            .target("tenant", tenant.id)
            .change(
                None,
                Some(serde_json::json!({ "name": tenant.name, "partner": partner }).to_string()),
            );
        self.store.create_tenant(&tenant, &audit).await?;
        self.changed().await;
        Ok(tenant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failed_proof_says_what_was_found_and_what_to_publish() {
        let claim = PartnerDomain::pending("ai.partner.example".into(), OffsetDateTime::now_utc());
        let value = claim.challenge.clone();
        assert_eq!(refusal(&claim, Ok(vec!["x".into(), value.clone()])), None);
        let wrong = refusal(&claim, Ok(vec!["x".into()])).unwrap();
        assert!(
            wrong.contains("does not hold") && wrong.contains(&value),
            "{wrong}"
        );
        let missing = refusal(&claim, Err(LookupError::NoRecords)).unwrap();
        assert!(
            missing.starts_with(
                "no TXT record was found at `_domain-verification.ai.partner.example`"
            ) && missing.contains(&value),
            "{missing}"
        );
        let failed = refusal(&claim, Err(LookupError::Failed("timed out".into()))).unwrap();
        assert!(failed.contains("failed (timed out)"), "{failed}");
    }
}
