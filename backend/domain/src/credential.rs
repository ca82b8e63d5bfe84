//! Provider credentials a tenant brings: stored sealed, shown only as a mask, used in place of
//! the platform's key for that tenant's calls.

use time::OffsetDateTime;

use crate::crypto::Sealed;
use crate::{CredentialId, TenantId, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderCredential {
    pub id: CredentialId,
    pub tenant_id: TenantId,
    pub name: String,
    /// The configured provider whose platform key this one replaces for the tenant's calls.
    pub provider: String,
    /// Where to send those calls instead of the provider's configured URL (the tenant's own
    /// Azure resource, say), in the normalised form `outbound::normalize_outbound_url` gives.
    pub base_url: Option<String>,
    pub sealed: Sealed,
    pub mask: String,
    pub created_by: Option<UserId>,
    pub created_at: OffsetDateTime,
}
