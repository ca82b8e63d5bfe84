//! Who may do what: tenant roles, the permissions they grant, and the one matrix that every
//! management handler asks.

use serde::{Deserialize, Serialize};

/// A member's role in a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Developer,
    Finance,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Owner,
        Role::Admin,
        Role::Developer,
        Role::Finance,
        Role::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Developer => "developer",
            Role::Finance => "finance",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Role::ALL.into_iter().find(|it| it.as_str() == s)
    }
}

/// An action on a tenant's resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// See the tenant's name and settings.
    ViewTenant,
    /// Rename the tenant, change its settings.
    ManageTenant,
    /// See members and invitations.
    ViewMembers,
    /// Invite, remove, and change roles (an admin may not touch owners).
    ManageMembers,
    /// See API keys (never their secrets).
    ViewKeys,
    /// Create, rotate, edit and revoke API keys.
    ManageKeys,
    /// See usage and spend.
    ViewUsage,
    /// Export bills and see invoices.
    ViewBilling,
    /// Read the audit log.
    ViewAudit,
    /// Store and remove provider credentials (bring your own key).
    ManageProviderCredentials,
    /// Create service accounts and their OAuth clients.
    ManageServiceAccounts,
    /// Call models from the portal's API explorer, at the tenant's expense (whoever may
    /// create keys may do this anyway).
    CallModels,
}

impl Permission {
    pub const ALL: [Permission; 12] = [
        Permission::ViewTenant,
        Permission::ManageTenant,
        Permission::ViewMembers,
        Permission::ManageMembers,
        Permission::ViewKeys,
        Permission::ManageKeys,
        Permission::ViewUsage,
        Permission::ViewBilling,
        Permission::ViewAudit,
        Permission::ManageProviderCredentials,
        Permission::ManageServiceAccounts,
        Permission::CallModels,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ViewTenant => "view_tenant",
            Permission::ManageTenant => "manage_tenant",
            Permission::ViewMembers => "view_members",
            Permission::ManageMembers => "manage_members",
            Permission::ViewKeys => "view_keys",
            Permission::ManageKeys => "manage_keys",
            Permission::ViewUsage => "view_usage",
            Permission::ViewBilling => "view_billing",
            Permission::ViewAudit => "view_audit",
            Permission::ManageProviderCredentials => "manage_provider_credentials",
            Permission::ManageServiceAccounts => "manage_service_accounts",
            Permission::CallModels => "call_models",
        }
    }
}

/// The permission matrix: whether `role` grants `permission`. Platform operators are allowed
/// everything by the caller, before asking this.
pub fn allows(role: Role, permission: Permission) -> bool {
    use Permission as P;
    match role {
        Role::Owner | Role::Admin => true,
        Role::Developer => matches!(
            permission,
            P::ViewTenant
                | P::ViewMembers
                | P::ViewKeys
                | P::ManageKeys
                | P::ViewUsage
                | P::ManageServiceAccounts
                | P::CallModels
        ),
        Role::Finance => matches!(
            permission,
            P::ViewTenant | P::ViewMembers | P::ViewUsage | P::ViewBilling | P::ViewAudit
        ),
        Role::Viewer => matches!(
            permission,
            P::ViewTenant | P::ViewMembers | P::ViewKeys | P::ViewUsage
        ),
    }
}

/// Whether an actor with `actor` role may give `target` role to someone, or change or remove a
/// member who has it: only owners may make or touch owners.
pub fn may_assign(actor: Role, target: Role) -> bool {
    allows(actor, Permission::ManageMembers) && (target != Role::Owner || actor == Role::Owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_is_pinned() {
        // One line per role: the permissions it grants, in `Permission::ALL` order.
        let expected = [
            (Role::Owner, "111111111111"),
            (Role::Admin, "111111111111"),
            (Role::Developer, "101011100011"),
            (Role::Finance, "101000111000"),
            (Role::Viewer, "101010100000"),
        ];
        for (role, row) in expected {
            let got: String = Permission::ALL
                .iter()
                .map(|p| if allows(role, *p) { '1' } else { '0' })
                .collect();
            assert_eq!(got, row, "{role:?}");
        }
    }

    #[test]
    fn only_owners_touch_owners() {
        assert!(may_assign(Role::Owner, Role::Owner));
        assert!(!may_assign(Role::Admin, Role::Owner));
        assert!(may_assign(Role::Admin, Role::Developer));
        assert!(!may_assign(Role::Developer, Role::Viewer));
        assert_eq!(Role::parse("finance"), Some(Role::Finance));
        assert_eq!(Role::parse("god"), None);
    }
}
