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
}

impl Abilities {
    /// `role` is the caller's role in the tenant; platform operators may do everything.
    pub fn of(role: Option<RoleName>, is_operator: bool) -> Self {
        if is_operator {
            return Abilities {
                see_keys: true,
                manage_keys: true,
                manage_members: true,
                manage_owners: true,
                read_audit: true,
                manage_credentials: true,
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
            ]
        };
        assert_eq!(row(RoleName::Owner), [true, true, true, true, true]);
        assert_eq!(row(RoleName::Admin), [true, true, true, true, true]);
        assert_eq!(row(RoleName::Developer), [true, true, false, false, false]);
        assert_eq!(row(RoleName::Finance), [false, false, false, true, false]);
        assert_eq!(row(RoleName::Viewer), [true, false, false, false, false]);
        assert!(!Abilities::of(Some(RoleName::Admin), false).manage_owners);
        assert_eq!(Abilities::of(None, false), Abilities::default());
        assert!(Abilities::of(None, true).manage_owners, "operators");
    }
}
