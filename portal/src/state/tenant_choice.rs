//! Which tenants the portal offers and which one it works on: the one picked last time if the
//! person still reaches it, else the first.

use api_types::manage::TenantView;
use uuid::Uuid;

/// The tenant to show, from the person's tenants and the id remembered in the browser.
pub fn choose(tenants: &[TenantView], remembered: Option<Uuid>) -> Option<Uuid> {
    remembered
        .filter(|id| tenants.iter().any(|it| it.id == *id))
        .or_else(|| tenants.first().map(|it| it.id))
}

/// The person's tenants plus the sub-tenants of the partners they administer (which they reach
/// without being members, so `/me` does not list them), each once, members' first.
pub fn merge(mut mine: Vec<TenantView>, managed: Vec<TenantView>) -> Vec<TenantView> {
    for tenant in managed {
        if !mine.iter().any(|it| it.id == tenant.id) {
            mine.push(tenant);
        }
    }
    mine
}

/// Whether the person has everything in `tenant`'s scope: platform operators everywhere, a
/// partner's administrators in its sub-tenants.
pub fn full_reach(tenant: &TenantView, is_operator: bool, partners: &[Uuid]) -> bool {
    is_operator || tenant.partner_id.is_some_and(|it| partners.contains(&it))
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
    fn managed_sub_tenants_join_the_list_once() {
        let merged = merge(vec![tenant(1), tenant(2)], vec![tenant(2), tenant(3)]);
        let ids: Vec<Uuid> = merged.iter().map(|it| it.id).collect();
        assert_eq!(ids, [1, 2, 3].map(Uuid::from_u128));
    }

    #[test]
    fn partner_administrators_reach_only_their_sub_tenants() {
        let mut sub = tenant(1);
        sub.partner_id = Some(Uuid::from_u128(7));
        let partners = [Uuid::from_u128(7)];
        assert!(full_reach(&sub, false, &partners));
        assert!(!full_reach(&sub, false, &[Uuid::from_u128(8)]));
        assert!(!full_reach(&tenant(2), false, &partners));
        assert!(full_reach(&tenant(2), true, &[]));
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
