//! Sluice's domain: tenants, API keys, usage records and the canonical inference types.
//!
//! Nothing here performs IO, so nothing here can fail because of the outside world.

pub mod api_key;
pub mod ids;
pub mod llm;
pub mod tenant;
pub mod usage;

pub use api_key::{ApiKey, KeyHash, KeySecret, NewKeySecret};
pub use ids::{ApiKeyId, RequestId, TenantId, UsageId};
pub use tenant::{Tenant, TenantStatus};
pub use usage::{UsageRecord, UsageStatus};
