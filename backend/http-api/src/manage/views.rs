//! Domain values as API bodies.

use api_types::manage::{
    ActorView, AuditEventView, InvitationView, KeyLimitsView, KeyView, MemberView, RoleName,
    TenantView, TokenView, UserView,
};
use domain::session::{Invitation, Member, PersonalAccessToken};
use domain::{ApiKey, AuditEvent, KeyLimits, Role, Tenant, User};
use time::OffsetDateTime;

pub(crate) fn role(role: Role) -> RoleName {
    match role {
        Role::Owner => RoleName::Owner,
        Role::Admin => RoleName::Admin,
        Role::Developer => RoleName::Developer,
        Role::Finance => RoleName::Finance,
        Role::Viewer => RoleName::Viewer,
    }
}

pub(crate) fn role_of(name: RoleName) -> Role {
    match name {
        RoleName::Owner => Role::Owner,
        RoleName::Admin => Role::Admin,
        RoleName::Developer => Role::Developer,
        RoleName::Finance => Role::Finance,
        RoleName::Viewer => Role::Viewer,
    }
}

pub(crate) fn user(user: &User) -> UserView {
    UserView {
        id: user.id.0,
        email: user.email.to_string(),
        display_name: user.display_name.clone(),
        email_verified: user.is_verified(),
        is_operator: user.is_operator,
        created_at: user.created_at,
    }
}

pub(crate) fn tenant(tenant: &Tenant, my_role: Option<Role>) -> TenantView {
    TenantView {
        id: tenant.id.0,
        name: tenant.name.clone(),
        status: tenant.status.as_str().to_owned(),
        created_at: tenant.created_at,
        role: my_role.map(role),
        partner_id: tenant.partner_id.map(|it| it.0),
    }
}

pub(crate) fn member(member: &Member) -> MemberView {
    MemberView {
        user_id: member.user_id.0,
        email: member.email.to_string(),
        display_name: member.display_name.clone(),
        role: role(member.role),
        joined_at: member.created_at,
    }
}

pub(crate) fn invitation(invitation: &Invitation, now: OffsetDateTime) -> InvitationView {
    let status = if invitation.accepted_at.is_some() {
        "accepted"
    } else if invitation.revoked_at.is_some() {
        "revoked"
    } else if invitation.expires_at <= now {
        "expired"
    } else {
        "pending"
    };
    InvitationView {
        id: invitation.id.0,
        email: invitation.email.to_string(),
        role: role(invitation.role),
        status: status.to_owned(),
        created_at: invitation.created_at,
        expires_at: invitation.expires_at,
    }
}

pub(crate) fn limits(limits: &KeyLimits) -> KeyLimitsView {
    KeyLimitsView {
        requests_per_minute: limits.requests_per_minute,
        requests_per_day: limits.requests_per_day,
        tokens_per_minute: limits.tokens_per_minute,
        tokens_per_day: limits.tokens_per_day,
        max_concurrent: limits.max_concurrent,
        monthly_budget_micros: limits.monthly_budget_micros,
        budgets: limits
            .budgets
            .iter()
            .map(super::limits::budget_view)
            .collect(),
    }
}

/// A key's limits as a request gives them; their bounds are checked by `management`.
///
/// # Errors
/// A budget whose period or amount does not parse, naming the field.
pub(crate) fn limits_of(view: &KeyLimitsView) -> Result<KeyLimits, super::ApiProblem> {
    Ok(KeyLimits {
        requests_per_minute: view.requests_per_minute,
        requests_per_day: view.requests_per_day,
        tokens_per_minute: view.tokens_per_minute,
        tokens_per_day: view.tokens_per_day,
        max_concurrent: view.max_concurrent,
        monthly_budget_micros: view.monthly_budget_micros,
        budgets: super::limits::budgets_of(view.budgets.clone(), "limits.budgets")?,
    })
}

pub(crate) fn key(key: &ApiKey, now: OffsetDateTime) -> KeyView {
    let status = match key.check_usable(now) {
        Ok(()) => "active",
        Err(domain::api_key::KeyUnusable::Revoked) => "revoked",
        Err(domain::api_key::KeyUnusable::Expired) => "expired",
    };
    KeyView {
        id: key.id.0,
        name: key.name.clone(),
        prefix: key.display_prefix.clone(),
        last_four: key.last_four.clone(),
        models: key.allowed_models.clone(),
        endpoints: key.scopes.endpoints.clone(),
        ip_allowlist: key
            .scopes
            .ip_allowlist
            .iter()
            .map(ToString::to_string)
            .collect(),
        limits: limits(&key.scopes.limits),
        regions: key.scopes.regions.clone(),
        status: status.to_owned(),
        created_at: key.created_at,
        expires_at: key.expires_at,
        revoked_at: key.revoked_at,
        rotated_from: key.rotated_from.map(|it| it.0),
    }
}

pub(crate) fn token(token: &PersonalAccessToken) -> TokenView {
    TokenView {
        id: token.id.0,
        name: token.name.clone(),
        prefix: token.display_prefix.clone(),
        last_four: token.last_four.clone(),
        created_at: token.created_at,
        expires_at: token.expires_at,
        revoked_at: token.revoked_at,
    }
}

pub(crate) fn audit_event(event: &AuditEvent) -> AuditEventView {
    let json = |text: &Option<String>| text.as_deref().and_then(|it| serde_json::from_str(it).ok());
    let entry = &event.entry;
    AuditEventView {
        seq: event.seq,
        id: entry.id.0,
        tenant_id: entry.tenant_id.map(|it| it.0),
        actor: ActorView {
            kind: entry.actor.kind.clone(),
            id: entry.actor.id.clone(),
            label: entry.actor.label.clone(),
        },
        action: entry.action.clone(),
        target_kind: entry.target_kind.clone(),
        target_id: entry.target_id.clone(),
        ip: entry.ip.clone(),
        before: json(&entry.before),
        after: json(&entry.after),
        created_at: entry.created_at,
        hash: event.hash.clone(),
    }
}

pub(crate) fn credential(
    credential: &domain::credential::ProviderCredential,
) -> api_types::manage::ProviderCredentialView {
    api_types::manage::ProviderCredentialView {
        id: credential.id.0,
        name: credential.name.clone(),
        provider: credential.provider.clone(),
        base_url: credential.base_url.clone(),
        mask: credential.mask.clone(),
        created_by: credential.created_by.map(|it| it.0),
        created_at: credential.created_at,
    }
}

pub(crate) fn service_account(
    account: &domain::service_account::ServiceAccount,
) -> api_types::manage::ServiceAccountView {
    api_types::manage::ServiceAccountView {
        id: account.id.0,
        name: account.name.clone(),
        secret_last_four: account.secret_last_four.clone(),
        models: account.allowed_models.clone(),
        endpoints: account.scopes.endpoints.clone(),
        ip_allowlist: account
            .scopes
            .ip_allowlist
            .iter()
            .map(ToString::to_string)
            .collect(),
        limits: limits(&account.scopes.limits),
        regions: account.scopes.regions.clone(),
        status: if account.revoked_at.is_some() {
            "revoked"
        } else {
            "active"
        }
        .to_owned(),
        created_by: account.created_by.map(|it| it.0),
        created_at: account.created_at,
        revoked_at: account.revoked_at,
    }
}

pub(crate) fn branding(branding: &domain::partner::Branding) -> api_types::manage::BrandingView {
    api_types::manage::BrandingView {
        display_name: branding.display_name.clone(),
        logo_url: branding.logo_url.clone(),
        favicon_url: branding.favicon_url.clone(),
        primary_color: branding.primary_color.clone(),
        accent_color: branding.accent_color.clone(),
        support_url: branding.support_url.clone(),
    }
}

pub(crate) fn branding_of(view: api_types::manage::BrandingView) -> domain::partner::Branding {
    domain::partner::Branding {
        display_name: view.display_name,
        logo_url: view.logo_url,
        favicon_url: view.favicon_url,
        primary_color: view.primary_color,
        accent_color: view.accent_color,
        support_url: view.support_url,
    }
}

pub(crate) fn partner(partner: &domain::partner::Partner) -> api_types::manage::PartnerView {
    api_types::manage::PartnerView {
        id: partner.id.0,
        name: partner.name.clone(),
        branding: branding(&partner.branding),
        key_prefix: partner.key_prefix.clone(),
        domains: partner.domains.iter().map(partner_domain).collect(),
        created_at: partner.created_at,
    }
}

pub(crate) fn partner_domain(
    domain: &domain::partner::PartnerDomain,
) -> api_types::manage::PartnerDomainView {
    api_types::manage::PartnerDomainView {
        host: domain.host.clone(),
        status: if domain.is_verified() {
            api_types::manage::DomainStatus::Verified
        } else {
            api_types::manage::DomainStatus::Pending
        },
        record_name: domain.record_name(),
        record_value: domain.challenge.clone(),
        created_at: domain.created_at,
        verified_at: domain.verified_at,
    }
}

pub(crate) fn partner_admin(
    admin: &domain::partner::PartnerAdmin,
) -> api_types::manage::PartnerAdminView {
    api_types::manage::PartnerAdminView {
        user_id: admin.user_id.0,
        email: admin.email.clone(),
        added_at: admin.added_at,
    }
}
