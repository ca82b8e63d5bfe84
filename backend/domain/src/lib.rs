//! Sluice's domain: tenants, API keys, usage records and the canonical inference types.
//!
//! Nothing here performs IO, so nothing here can fail because of the outside world.

pub mod account;
pub mod api_key;
pub mod audit;
pub mod credential;
pub mod credit;
pub mod crypto;
pub mod ids;
pub mod invoice;
pub mod ledger;
pub mod limits;
pub mod llm;
pub mod outbound;
pub mod partner;
pub mod payment;
pub mod pricing;
pub mod roles;
pub mod rollup;
pub mod route;
pub mod service_account;
pub mod session;
pub mod sso;
pub mod tenant;
pub mod usage;
pub mod usage_summary;

pub use account::{Email, User};
pub use api_key::{ApiKey, KeyHash, KeyLimits, KeyScopes, KeySecret, NewKeySecret};
pub use audit::{Actor, AuditEntry, AuditEvent};
pub use ids::{
    AdjustmentId, AlertId, ApiKeyId, AuditEventId, CredentialId, InvitationId, InvoiceId,
    PartnerId, RequestId, ServiceAccountId, TenantId, TokenId, TopUpId, UsageId, UserId,
};
pub use roles::{Permission, Role};
pub use tenant::{Tenant, TenantStatus};
pub use usage::{UsageAttempt, UsageRecord, UsageStatus};
