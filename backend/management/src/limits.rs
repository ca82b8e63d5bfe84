//! Limit policies above keys through the management API: the operator's for every tenant, a
//! partner's shared by its sub-tenants (set by operators), a tenant's (set by the tenant's
//! administrators, or over them, locked, by its partner or an operator), and the budget alerts
//! they raise.

use domain::limits::{AlertRecipient, LimitPolicy, PolicyScope, StoredAlert};
use domain::{ApiKey, ApiKeyId, PartnerId, Permission, TenantId};

use crate::{Error, Identity, Manager};

/// Alerts one listing returns at most.
const ALERTS_LISTED: u32 = 200;

/// A scope's policy as the caller may see it.
#[derive(Debug, Clone)]
pub struct PolicyView {
    /// `None`: the scope sets no limits.
    pub policy: Option<LimitPolicy>,
    /// Whether the caller may change it.
    pub editable: bool,
}

/// Who the caller is to a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    /// An operator, or the administrator of the tenant's partner: sets limits over it.
    Above,
    /// A member of the tenant with `role`'s permissions.
    Member { manage: bool },
    /// May read (a partner's administrator reading the partner's own policy).
    Reader,
}

impl Manager {
    async fn standing(&self, identity: &Identity, scope: PolicyScope) -> Result<Standing, Error> {
        match scope {
            PolicyScope::Platform if identity.user.is_operator => Ok(Standing::Above),
            PolicyScope::Platform => Err(Error::Forbidden(
                "only platform operators set limits for every tenant".into(),
            )),
            PolicyScope::Partner(partner) => {
                self.authorize_partner(identity, partner).await?;
                Ok(if identity.user.is_operator {
                    Standing::Above
                } else {
                    Standing::Reader
                })
            }
            PolicyScope::Tenant(tenant) => {
                let access = self
                    .authorize(identity, tenant, Permission::ViewUsage)
                    .await?;
                Ok(match access.role {
                    _ if identity.user.is_operator => Standing::Above,
                    None => Standing::Above,
                    Some(role) => Standing::Member {
                        manage: domain::roles::allows(role, Permission::ManageTenant),
                    },
                })
            }
        }
    }

    /// `scope`'s policy, and whether the caller may change it.
    ///
    /// # Errors
    /// `Forbidden` for the platform's policy unless an operator; `NotFound` for a partner or
    /// tenant the caller does not reach; `Forbidden` for a member without `ViewUsage`.
    pub async fn limit_policy(
        &self,
        identity: &Identity,
        scope: PolicyScope,
    ) -> Result<PolicyView, Error> {
        let standing = self.standing(identity, scope).await?;
        let policy = self.store.limit_policy(scope).await?;
        let editable = match standing {
            Standing::Above => true,
            Standing::Member { manage } => manage && !policy.as_ref().is_some_and(|it| it.locked),
            Standing::Reader => false,
        };
        Ok(PolicyView { policy, editable })
    }

    /// Replaces `scope`'s policy (`None` removes it). A tenant's own administrators cannot
    /// lock it, nor change one its partner or an operator locked.
    ///
    /// # Errors
    /// As [`Manager::limit_policy`]; `Forbidden` when the caller may not change it; `Invalid`
    /// naming the field that is out of bounds.
    pub async fn set_limit_policy(
        &self,
        identity: &Identity,
        scope: PolicyScope,
        policy: Option<LimitPolicy>,
    ) -> Result<Option<LimitPolicy>, Error> {
        let standing = self.standing(identity, scope).await?;
        let before = self.store.limit_policy(scope).await?;
        match standing {
            Standing::Above => {}
            Standing::Member { manage: true } => {
                if before.as_ref().is_some_and(|it| it.locked) {
                    return Err(Error::Forbidden(
                        "these limits are set by your provider; ask them to change them".into(),
                    ));
                }
                if policy.as_ref().is_some_and(|it| it.locked) {
                    return Err(Error::invalid(
                        "locked",
                        "only your provider can lock a tenant's limits",
                    ));
                }
            }
            Standing::Member { manage: false } => {
                return Err(Error::Forbidden(
                    "changing the tenant's limits needs a role that manages the tenant".into(),
                ));
            }
            Standing::Reader => {
                return Err(Error::Forbidden(
                    "a partner's shared limits are set by the platform's operators".into(),
                ));
            }
        }
        if let Some(policy) = &policy {
            policy
                .validate()
                .map_err(|e| Error::invalid(&e.field, e.message))?;
            if !matches!(scope, PolicyScope::Tenant(_)) && policy.locked {
                return Err(Error::invalid(
                    "locked",
                    "only a tenant's limits can be locked",
                ));
            }
        }
        let policy = policy.filter(LimitPolicy::any);
        let audit = identity
            .audit(tenant_of(scope), "limits.set")
            .target("limits", scope_label(scope))
            .change(
                before
                    .as_ref()
                    .and_then(|it| serde_json::to_string(it).ok()),
                policy
                    .as_ref()
                    .and_then(|it| serde_json::to_string(it).ok()),
            );
        self.store
            .set_limit_policy(scope, policy.as_ref(), &audit)
            .await?;
        self.changed().await;
        Ok(policy)
    }

    /// The key whose effective limits the caller asks for, and its tenant's partner.
    ///
    /// # Errors
    /// As for reading the tenant's keys; `NotFound` for a key of another tenant.
    pub async fn key_for_limits(
        &self,
        identity: &Identity,
        tenant: TenantId,
        key: ApiKeyId,
    ) -> Result<(ApiKey, Option<PartnerId>), Error> {
        self.authorize(identity, tenant, Permission::ViewKeys)
            .await?;
        let found = self
            .store
            .get_key(tenant, key)
            .await
            .map_err(Error::missing("key"))?;
        let partner = self.store.get_tenant(tenant).await?.partner_id;
        Ok((found, partner))
    }

    /// The budget alerts `recipient` received, newest first.
    ///
    /// # Errors
    /// As for reading the tenant's limits or the partner.
    pub async fn budget_alerts(
        &self,
        identity: &Identity,
        recipient: AlertRecipient,
    ) -> Result<Vec<StoredAlert>, Error> {
        match recipient {
            AlertRecipient::Tenant(tenant) => {
                self.standing(identity, PolicyScope::Tenant(tenant)).await?;
            }
            AlertRecipient::Partner(partner) => {
                self.authorize_partner(identity, partner).await?;
            }
        }
        Ok(self.store.list_alerts(recipient, ALERTS_LISTED).await?)
    }
}

fn tenant_of(scope: PolicyScope) -> Option<TenantId> {
    match scope {
        PolicyScope::Tenant(tenant) => Some(tenant),
        _ => None,
    }
}

fn scope_label(scope: PolicyScope) -> String {
    match scope {
        PolicyScope::Platform => "platform".into(),
        PolicyScope::Partner(id) => format!("partner:{id}"),
        PolicyScope::Tenant(id) => format!("tenant:{id}"),
    }
}
