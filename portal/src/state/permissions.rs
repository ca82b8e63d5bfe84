//! What the signed-in person may do in the current tenant, so the portal hides what would be
//! refused. A copy of the README's permission matrix for the UI only: the server decides.

use api_types::manage::RoleName;

/// The portal's view of one role in one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Abilities {
    pub see_keys: bool,
    pub manage_keys: bool,
    pub manage_members: bool,
    /// Only owners make, change or remove owners.
    pub manage_owners: bool,
    pub read_audit: bool,
    pub manage_credentials: bool,
    /// Seeing them needs `see_keys`.
    pub manage_service_accounts: bool,
    /// Calling models from the API explorer (the server mints its token only for these roles).
    pub call_models: bool,
    /// The tenant's settings: its own model aliases, where its budget alerts are sent.
    pub manage_routes: bool,
    /// Its bills and their exports (the API's `ViewBilling`).
    pub view_billing: bool,
    /// Writing its bill (invoices, corrections): the platform's operators and the tenant's
    /// partner's administrators, never the tenant's own members.
    pub write_bills: bool,
}

impl Abilities {
    /// `role` is the caller's role in the tenant; `full_reach` is true for platform operators,
    /// and for a partner's administrators in its sub-tenants, who may do everything there.
    pub fn of(role: Option<RoleName>, full_reach: bool) -> Self {
        if full_reach {
            return Abilities {
                see_keys: true,
                manage_keys: true,
                manage_members: true,
                manage_owners: true,
                read_audit: true,
                manage_credentials: true,
                manage_service_accounts: true,
                call_models: true,
                manage_routes: true,
                view_billing: true,
                write_bills: true,
            };
        }
        let Some(role) = role else {
            return Abilities::default();
        };
        use RoleName::{Admin, Developer, Finance, Owner, Viewer};
        Abilities {
            see_keys: matches!(role, Owner | Admin | Developer | Viewer),
            manage_keys: matches!(role, Owner | Admin | Developer),
            manage_members: matches!(role, Owner | Admin),
            manage_owners: role == Owner,
            read_audit: matches!(role, Owner | Admin | Finance),
            manage_credentials: matches!(role, Owner | Admin),
            manage_service_accounts: matches!(role, Owner | Admin | Developer),
            call_models: matches!(role, Owner | Admin | Developer),
            manage_routes: matches!(role, Owner | Admin),
            view_billing: matches!(role, Owner | Admin | Finance),
            write_bills: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_matches_the_readme() {
        let row = |role| {
            let a = Abilities::of(Some(role), false);
            [
                a.see_keys,
                a.manage_keys,
                a.manage_members,
                a.read_audit,
                a.manage_credentials,
                a.manage_service_accounts,
                a.call_models,
                a.view_billing,
            ]
        };
        assert_eq!(row(RoleName::Owner), [true; 8]);
        assert_eq!(row(RoleName::Admin), [true; 8]);
        assert_eq!(
            row(RoleName::Developer),
            [true, true, false, false, false, true, true, false]
        );
        assert_eq!(
            row(RoleName::Finance),
            [false, false, false, true, false, false, false, true]
        );
        assert_eq!(
            row(RoleName::Viewer),
            [true, false, false, false, false, false, false, false]
        );
        assert!(!Abilities::of(Some(RoleName::Admin), false).manage_owners);
        assert!(Abilities::of(Some(RoleName::Admin), false).manage_routes);
        assert!(!Abilities::of(Some(RoleName::Developer), false).manage_routes);
        assert_eq!(Abilities::of(None, false), Abilities::default());
        assert!(
            Abilities::of(None, true).manage_owners,
            "operators and partner administrators"
        );
        assert!(Abilities::of(None, true).view_billing);
        assert!(!Abilities::of(None, false).view_billing);
    }
}
