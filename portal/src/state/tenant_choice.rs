//! Which tenant the portal works on: the one picked last time if the person still belongs to
//! it, else the first.

use api_types::manage::TenantView;
use uuid::Uuid;

/// The tenant to show, from the person's tenants and the id remembered in the browser.
pub fn choose(tenants: &[TenantView], remembered: Option<Uuid>) -> Option<Uuid> {
    remembered
        .filter(|id| tenants.iter().any(|it| it.id == *id))
        .or_else(|| tenants.first().map(|it| it.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tenant as the API sends it (decoded, so new optional fields need no change here).
    fn tenant(n: u128) -> TenantView {
        serde_json::from_value(serde_json::json!({
            "id": Uuid::from_u128(n),
            "name": format!("t{n}"),
            "status": "active",
            "created_at": "2026-11-25T12:00:00Z",
        }))
        .unwrap()
    }

    #[test]
    fn remembered_tenant_wins_while_it_is_still_ours() {
        let tenants = [tenant(1), tenant(2)];
        assert_eq!(
            choose(&tenants, Some(Uuid::from_u128(2))),
            Some(Uuid::from_u128(2))
        );
        assert_eq!(
            choose(&tenants, Some(Uuid::from_u128(9))),
            Some(Uuid::from_u128(1))
        );
        assert_eq!(choose(&tenants, None), Some(Uuid::from_u128(1)));
        assert_eq!(choose(&[], Some(Uuid::from_u128(1))), None);
    }
}
