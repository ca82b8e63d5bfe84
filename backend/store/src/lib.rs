//! Storage ports: the traits the gateway and the admin commands use to reach durable state.
//!
//! Implementations live in `store-sqlite` (the embedded default) and `store-pg` (production).
//! Both run the same contract suite (`contract`, behind the feature of the same name), so they
//! cannot drift apart.

#[cfg(feature = "contract")]
pub mod contract;
mod error;

use async_trait::async_trait;
use domain::{ApiKey, ApiKeyId, Tenant, TenantId, TenantStatus, UsageRecord};
use time::OffsetDateTime;

pub use error::{BoxError, Error};

#[cfg(test)]
mod tests {
    #[test]
    fn chunks_are_powers_of_two_covering_everything_in_order() {
        let items: Vec<u32> = (0..203).collect();
        let sizes: Vec<usize> = super::power_of_two_chunks(&items, 64)
            .map(<[u32]>::len)
            .collect();
        assert_eq!(sizes, [64, 64, 64, 8, 2, 1]);
        let joined: Vec<u32> = super::power_of_two_chunks(&items, 64)
            .flatten()
            .copied()
            .collect();
        assert_eq!(joined, items);
        assert_eq!(super::power_of_two_chunks(&items[..0], 64).count(), 0);
        assert_eq!(
            super::power_of_two_chunks(&items[..5], 100)
                .map(<[u32]>::len)
                .collect::<Vec<_>>(),
            [4, 1]
        );
    }
}

/// Splits `items` into chunks whose lengths are powers of two no larger than `max` (itself a
/// power of two), largest first.
///
/// Multi-row statements are prepared once per distinct row count; with power-of-two counts a
/// backend caches at most `log2(max) + 1` statements however batches vary, instead of
/// re-preparing a statement for every odd-sized batch.
pub fn power_of_two_chunks<T>(items: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    let max = max.max(1).next_power_of_two();
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let size = if rest.len() >= max {
            max
        } else {
            // The largest power of two that fits.
            1 << (usize::BITS - 1 - rest.len().leading_zeros())
        };
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        Some(chunk)
    })
}

/// Tenants. Platform-level: tenants are what everything else is scoped by.
#[async_trait]
pub trait TenantStore: Send + Sync {
    /// # Errors
    /// `Conflict` when a tenant with the same name exists.
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), Error>;
    /// # Errors
    /// `NotFound` when there is no such tenant.
    async fn get_tenant(&self, id: TenantId) -> Result<Tenant, Error>;
    async fn find_tenant_by_name(&self, name: &str) -> Result<Option<Tenant>, Error>;
    /// All tenants, oldest first.
    async fn list_tenants(&self) -> Result<Vec<Tenant>, Error>;
    /// # Errors
    /// `NotFound` when there is no such tenant.
    async fn set_tenant_status(&self, id: TenantId, status: TenantStatus) -> Result<(), Error>;
}

/// API keys, always scoped by the tenant that owns them.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// # Errors
    /// `NotFound` when the tenant does not exist; `Conflict` on a duplicate id or hash.
    async fn insert_key(&self, tenant: TenantId, key: &ApiKey) -> Result<(), Error>;
    /// The tenant's keys, revoked ones included, oldest first.
    async fn list_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>, Error>;
    /// # Errors
    /// `NotFound` when the key does not exist in this tenant (other tenants' keys included).
    async fn get_key(&self, tenant: TenantId, key: ApiKeyId) -> Result<ApiKey, Error>;
    /// Marks a key revoked at `at`. Revoking a revoked key keeps the first revocation time.
    ///
    /// # Errors
    /// `NotFound` when the key does not exist in this tenant.
    async fn revoke_key(
        &self,
        tenant: TenantId,
        key: ApiKeyId,
        at: OffsetDateTime,
    ) -> Result<(), Error>;
    /// Which tenant owns a key; for operator tools that are given only a key id.
    async fn key_owner(&self, key: ApiKeyId) -> Result<Option<TenantId>, Error>;
}

/// Everything the data plane needs to authenticate, loaded in one go into memory.
#[derive(Debug, Clone, Default)]
pub struct AccessData {
    /// Keys that are not revoked (expired ones included: expiry is checked per request).
    pub keys: Vec<ApiKey>,
    pub tenants: Vec<Tenant>,
}

/// The in-memory snapshot's source and its change counter.
#[async_trait]
pub trait AccessStore: Send + Sync {
    async fn load_access(&self) -> Result<AccessData, Error>;
    /// A counter that grows with every change to tenants or keys; nodes poll it to know
    /// when to reload their snapshot.
    async fn revision(&self) -> Result<i64, Error>;
}

/// Append-only usage records.
#[async_trait]
pub trait UsageStore: Send + Sync {
    /// Inserts records, skipping ids that exist already, and returns how many were new.
    async fn insert_usage(&self, records: &[UsageRecord]) -> Result<u64, Error>;
    /// The tenant's most recent records, newest first.
    async fn list_usage(&self, tenant: TenantId, limit: u32) -> Result<Vec<UsageRecord>, Error>;
}

/// One storage backend: every port plus a health check.
#[async_trait]
pub trait Store:
    TenantStore + KeyStore + AccessStore + UsageStore + std::fmt::Debug + 'static
{
    /// `sqlite` or `postgres`, for logs.
    fn backend(&self) -> &'static str;
    /// # Errors
    /// `Unavailable` when the database cannot be reached.
    async fn ping(&self) -> Result<(), Error>;
}
