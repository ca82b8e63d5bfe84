//! How a partner's custom domain and the proof of its control read on the page: its status in
//! words, what the owner must publish, and the list after a change.

use api_types::manage::{DomainStatus, PartnerDomainView};

use super::format;

/// `Verified on 2026-12-06` or `Pending: not verified yet`.
pub fn status_line(domain: &PartnerDomainView) -> String {
    match (domain.status, domain.verified_at) {
        (DomainStatus::Verified, Some(at)) => format!("Verified on {}", format::date(at)),
        (DomainStatus::Verified, None) => "Verified".to_owned(),
        (DomainStatus::Pending, _) => "Pending: not verified yet".to_owned(),
    }
}

/// The badge's class, matching the stylesheet's status colours.
pub fn badge_class(domain: &PartnerDomainView) -> &'static str {
    match domain.status {
        DomainStatus::Verified => "badge status-active",
        DomainStatus::Pending => "badge status-pending-proof",
    }
}

/// What to ask of the owner while the domain is pending.
pub fn instructions(domain: &PartnerDomainView) -> String {
    format!(
        "To prove you control {}, create a TXT record named {} with the value below at your DNS provider, then select Verify. Until then the domain shows no brand and gets no links.",
        domain.host, domain.record_name
    )
}

/// Host names for a summary cell, pending ones marked.
pub fn summary(domains: &[PartnerDomainView]) -> Vec<String> {
    domains
        .iter()
        .map(|it| match it.status {
            DomainStatus::Verified => it.host.clone(),
            DomainStatus::Pending => format!("{} (pending)", it.host),
        })
        .collect()
}

/// The list with `changed` in place of the domain of the same host.
pub fn replaced(
    mut domains: Vec<PartnerDomainView>,
    changed: PartnerDomainView,
) -> Vec<PartnerDomainView> {
    match domains.iter_mut().find(|it| it.host == changed.host) {
        Some(slot) => *slot = changed,
        None => domains.push(changed),
    }
    domains
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn domain(host: &str, verified: bool) -> PartnerDomainView {
        PartnerDomainView {
            host: host.into(),
            status: if verified {
                DomainStatus::Verified
            } else {
                DomainStatus::Pending
            },
            record_name: format!("_domain-verification.{host}"),
            record_value: "0123456789abcdef0123456789abcdef".into(),
            created_at: datetime!(2026-12-01 10:00 UTC),
            verified_at: verified.then_some(datetime!(2026-12-06 09:30 UTC)),
        }
    }

    #[test]
    fn statuses_read_as_words() {
        assert_eq!(
            status_line(&domain("ai.acme.example", true)),
            "Verified on 2026-12-06"
        );
        assert_eq!(
            status_line(&domain("ai.acme.example", false)),
            "Pending: not verified yet"
        );
        assert_eq!(
            badge_class(&domain("x.example", true)),
            "badge status-active"
        );
        assert!(
            instructions(&domain("ai.acme.example", false))
                .contains("TXT record named _domain-verification.ai.acme.example")
        );
    }

    #[test]
    fn summaries_mark_pending_domains_and_proofs_replace_in_place() {
        let list = vec![domain("a.example", true), domain("b.example", false)];
        assert_eq!(summary(&list), ["a.example", "b.example (pending)"]);
        let list = replaced(list, domain("b.example", true));
        assert_eq!(summary(&list), ["a.example", "b.example"]);
        let list = replaced(list, domain("c.example", false));
        assert_eq!(list.len(), 3);
    }
}
