//! Storage ports: the traits the gateway and the admin commands use to reach durable state.
//!
//! Implementations live in `store-sqlite` (the embedded default) and `store-pg` (production).
//! Both run the same contract suite (`contract`, behind the feature of the same name), so they
//! cannot drift apart.

#[cfg(feature = "contract")]
pub mod contract;
mod error;
pub mod limits;

use async_trait::async_trait;
use domain::invoice::{Invoice, InvoiceContent};
use domain::ledger::Adjustment;
use domain::partner::{Branding, Partner, PartnerAdmin, PartnerDomain};
use domain::rollup::{Grain, Rollup, RollupFigures};
use domain::service_account::{ServiceAccount, SigningKey};
use domain::session::{EmailPurpose, EmailToken, Invitation, Member, PersonalAccessToken, Session};
use domain::sso::{SsoDomain, SsoState};
use domain::{
    ApiKey, ApiKeyId, AuditEntry, AuditEvent, Email, InvitationId, InvoiceId, KeyHash, PartnerId,
    Role, ServiceAccountId, Tenant, TenantId, TenantStatus, TokenId, UsageRecord, User, UserId,
};
use time::OffsetDateTime;

pub use error::{BoxError, Error};
pub use limits::SharedLimiter;

/// A key-value cache shared by every node (Redis): answers the response cache keeps for
/// other nodes. Entries expire by themselves; a cache that fails is a cache that misses.
#[async_trait]
pub trait SharedCache: Send + Sync + std::fmt::Debug {
    /// # Errors
    /// When the cache cannot be reached.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error>;

    /// # Errors
    /// When the cache cannot be reached.
    async fn put(&self, key: &str, value: &[u8], ttl: std::time::Duration) -> Result<(), Error>;
}

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

/// The stored price lists and markups (the management API's): rows are only ever added, each
/// from its date on, so a price change never rewrites the past.
#[async_trait]
pub trait PriceStore: Send + Sync {
    /// Every stored entry and markup, oldest first.
    async fn list_prices(
        &self,
    ) -> Result<
        (
            Vec<domain::pricing::PriceEntry>,
            Vec<domain::pricing::MarkupEntry>,
        ),
        Error,
    >;
    /// # Errors
    /// `Conflict` when the list already has this provider and model from the same time.
    async fn add_price(
        &self,
        entry: &domain::pricing::PriceEntry,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    /// # Errors
    /// `Conflict` when the list already has a markup from the same time.
    async fn add_markup(
        &self,
        markup: &domain::pricing::MarkupEntry,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
}

/// The limit policies above keys' (the management API's): one per scope, replaced whole.
#[async_trait]
pub trait LimitStore: Send + Sync {
    async fn limit_policy(
        &self,
        scope: domain::limits::PolicyScope,
    ) -> Result<Option<domain::limits::LimitPolicy>, Error>;
    /// Replaces the scope's policy; `None` removes it.
    async fn set_limit_policy(
        &self,
        scope: domain::limits::PolicyScope,
        policy: Option<&domain::limits::LimitPolicy>,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
}

/// Which invoices of a tenant were finalized and not voided, as seen when an invoice's
/// carried usage was worked out: finalizing refuses if it changed meanwhile, so two invoices
/// never carry the same late usage. (A finalize always raises the last number; a void only
/// lowers the count; so equal figures mean the same set.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinalizedSet {
    pub count: i64,
    pub last_number: Option<i64>,
}

/// Prepaid credit: top-ups (each counted once per reference) and each prepaid tenant's account,
/// whose balance the database works out as of an instant.
#[async_trait]
pub trait CreditStore: Send + Sync {
    /// Adds a top-up with its audit entry and answers it with `true`; when the tenant has one
    /// with the same reference already, nothing is added and that one is answered, `false`.
    ///
    /// # Errors
    /// `NotFound` when the tenant does not exist.
    async fn add_top_up(
        &self,
        top_up: &domain::credit::TopUp,
        audit: &AuditEntry,
    ) -> Result<(domain::credit::TopUp, bool), Error>;
    /// The tenant's top-ups, newest first, at most `limit`.
    async fn list_top_ups(
        &self,
        tenant: TenantId,
        limit: u32,
    ) -> Result<Vec<domain::credit::TopUp>, Error>;
    /// Puts the tenant on prepaid credit, or changes whether it stops at zero, with its audit
    /// entry (the balance is worked out by `rebase_credit`).
    ///
    /// # Errors
    /// `NotFound` when the tenant does not exist.
    async fn set_credit_account(
        &self,
        tenant: TenantId,
        stop_at_zero: bool,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    /// The tenant's account, when it is on prepaid credit.
    async fn credit_account(
        &self,
        tenant: TenantId,
    ) -> Result<Option<domain::credit::CreditAccount>, Error>;
    /// Top-ups less prices (mirrors left out) and corrections of everything before `at`.
    async fn credit_balance_at(
        &self,
        tenant: TenantId,
        at: OffsetDateTime,
    ) -> Result<domain::pricing::Money, Error>;
    /// Works the account's balance out as of `at` and keeps it, bumping the store revision so
    /// every node's snapshot (and its counter of what is spent after `at`) follows; `None`
    /// when the tenant is not on prepaid credit.
    async fn rebase_credit(
        &self,
        tenant: TenantId,
        at: OffsetDateTime,
    ) -> Result<Option<domain::credit::CreditAccount>, Error>;
    /// Every prepaid account.
    async fn credit_accounts(&self) -> Result<Vec<domain::credit::CreditAccount>, Error>;
}

/// Tenants' invoices: drafts, frozen when finalized, voided but never deleted.
#[async_trait]
pub trait InvoiceStore: Send + Sync {
    /// Adds a draft with its audit entry.
    ///
    /// # Errors
    /// `NotFound` when the tenant does not exist; `Conflict` when an invoice of the tenant
    /// that is not void covers part of the period.
    async fn add_invoice(&self, invoice: &Invoice, audit: &AuditEntry) -> Result<(), Error>;
    /// Freezes a draft with its content, numbered next in the platform's sequence.
    ///
    /// # Errors
    /// `NotFound`; `Conflict` when it is not a draft, or when the tenant's finalized invoices
    /// are no longer `seen` (the content must be worked out again).
    async fn finalize_invoice(
        &self,
        tenant: TenantId,
        id: InvoiceId,
        content: &InvoiceContent,
        seen: FinalizedSet,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<Invoice, Error>;
    /// Voids a draft or a finalized invoice, with the reason.
    ///
    /// # Errors
    /// `NotFound`; `Conflict` when it is void already.
    async fn void_invoice(
        &self,
        tenant: TenantId,
        id: InvoiceId,
        reason: &str,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<Invoice, Error>;
    /// # Errors
    /// `NotFound`.
    async fn get_invoice(&self, tenant: TenantId, id: InvoiceId) -> Result<Invoice, Error>;
    /// The tenant's invoices, latest period first, at most `limit`.
    async fn list_invoices(&self, tenant: TenantId, limit: u32) -> Result<Vec<Invoice>, Error>;
    /// The tenant's finalized invoices (not void), earliest period first, and the set they
    /// make: what late usage is carried against.
    async fn finalized_invoices(
        &self,
        tenant: TenantId,
    ) -> Result<(Vec<Invoice>, FinalizedSet), Error>;
}

/// Collecting finalized invoices through the payment provider: each tenant's customer there,
/// and each invoice's collection (how far its sync got, whether it is paid).
#[async_trait]
pub trait PaymentStore: Send + Sync {
    /// Finalized invoices (not void) finalized at or after `since` whose collection is not
    /// stored or still `sending`, earliest finalized first, at most `limit`.
    async fn invoices_to_send(
        &self,
        since: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Invoice>, Error>;
    /// The payer's customer at the provider (a tenant's, or a partner's for its sub-tenants).
    async fn billing_customer(
        &self,
        payer: domain::payment::Payer,
    ) -> Result<Option<String>, Error>;
    /// Keeps `customer` as the payer's unless it has one already; answers the one kept.
    async fn keep_billing_customer(
        &self,
        payer: domain::payment::Payer,
        customer: &str,
    ) -> Result<String, Error>;
    /// An invoice's collection.
    async fn invoice_payment(
        &self,
        invoice: InvoiceId,
    ) -> Result<Option<domain::payment::InvoicePayment>, Error>;
    /// The collections of the tenant's invoices.
    async fn invoice_payments(
        &self,
        tenant: TenantId,
    ) -> Result<Vec<domain::payment::InvoicePayment>, Error>;
    /// Records a sync's progress: stores the collection, or replaces it while it is still
    /// `sending` (a notice that arrived meanwhile is never overwritten). Leaving `sending`
    /// bumps the store revision, so every node's gateway learns when the tenant falls due.
    ///
    /// # Returns
    /// Whether it was stored.
    async fn save_invoice_payment(
        &self,
        payment: &domain::payment::InvoicePayment,
    ) -> Result<bool, Error>;
    /// A change the provider reported or an invoice's voiding: `Paid` unless paid or void
    /// already, `Failed` only while due, `Void` unless paid; with its audit entry and a
    /// revision bump (the tenant's calls may be refused or allowed again).
    ///
    /// # Returns
    /// The collection as it is now and whether it changed; `None` when no collection has that
    /// provider invoice.
    async fn settle_invoice_payment(
        &self,
        provider_invoice: &str,
        change: domain::payment::PaymentStatus,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<Option<(domain::payment::InvoicePayment, bool)>, Error>;
}

/// Budget alerts, raised once per budget, period and threshold, and their deliveries.
#[async_trait]
pub trait AlertStore: Send + Sync {
    /// Stores `alert` unless the same alert (its `dedupe_key`) was raised before.
    ///
    /// # Returns
    /// Whether it was new.
    async fn raise_alert(&self, alert: &domain::limits::BudgetAlert) -> Result<bool, Error>;
    /// A recipient's alerts with their deliveries, newest first.
    async fn list_alerts(
        &self,
        recipient: domain::limits::AlertRecipient,
        limit: u32,
    ) -> Result<Vec<domain::limits::StoredAlert>, Error>;
    /// Claims up to `limit` pending alerts due at `now` for delivery: each claimed alert's
    /// next attempt moves to `now + lease` and its attempts count one more, so no other node
    /// claims it meanwhile (and one that died mid-delivery is tried again after the lease).
    async fn claim_due_alerts(
        &self,
        now: time::OffsetDateTime,
        lease: time::Duration,
        limit: u32,
    ) -> Result<Vec<domain::limits::StoredAlert>, Error>;
    /// Records how the attempt on alert `id` ended.
    async fn alert_attempted(
        &self,
        id: domain::AlertId,
        outcome: &domain::limits::AttemptOutcome,
    ) -> Result<(), Error>;
    /// The recipient's webhook, if it set one.
    async fn webhook(
        &self,
        recipient: domain::limits::AlertRecipient,
    ) -> Result<Option<domain::limits::WebhookEndpoint>, Error>;
    /// Sets (`Some`) or removes the recipient's webhook.
    async fn set_webhook(
        &self,
        recipient: domain::limits::AlertRecipient,
        endpoint: Option<&domain::limits::WebhookEndpoint>,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
}

/// Tenants. Platform-level: tenants are what everything else is scoped by.
#[async_trait]
pub trait TenantStore: Send + Sync {
    /// # Errors
    /// `Conflict` when a tenant with the same name exists.
    async fn create_tenant(&self, tenant: &Tenant, audit: &AuditEntry) -> Result<(), Error>;
    /// # Errors
    /// `NotFound` when there is no such tenant.
    async fn get_tenant(&self, id: TenantId) -> Result<Tenant, Error>;
    async fn find_tenant_by_name(&self, name: &str) -> Result<Option<Tenant>, Error>;
    /// All tenants, oldest first.
    async fn list_tenants(&self) -> Result<Vec<Tenant>, Error>;
    /// # Errors
    /// `NotFound` when there is no such tenant.
    async fn set_tenant_status(
        &self,
        id: TenantId,
        status: TenantStatus,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    /// The regions whose deployments may serve the tenant's calls; empty: any.
    ///
    /// # Errors
    /// `NotFound` when there is no such tenant.
    async fn tenant_regions(&self, id: TenantId) -> Result<Vec<String>, Error>;
    /// # Errors
    /// `NotFound` when there is no such tenant.
    async fn set_tenant_regions(
        &self,
        id: TenantId,
        regions: &[String],
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    /// The tenant's own semantic-cache threshold; `None`: each model's.
    ///
    /// # Errors
    /// `NotFound` when there is no such tenant.
    async fn tenant_semantic_threshold(
        &self,
        id: TenantId,
    ) -> Result<Option<domain::tenant::SemanticThreshold>, Error>;
    /// # Errors
    /// `NotFound` when there is no such tenant.
    async fn set_tenant_semantic_threshold(
        &self,
        id: TenantId,
        threshold: Option<domain::tenant::SemanticThreshold>,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
}

/// One answer the semantic cache keeps: found again by the embedding of the prompt that
/// got it, within the tenant, the model alias and the request's other parameters (`scope`).
#[derive(Debug, Clone, PartialEq)]
pub struct SemanticEntry {
    /// Unique among the tenant's entries (the gateway uses a UUID).
    pub id: String,
    pub alias: String,
    /// The hash of everything but the prompt, as hex: only requests equal in all of it match.
    pub scope: String,
    /// The prompt's embedding, normalised.
    pub vector: Vec<f32>,
    /// The complete answer, as the client got it (JSON).
    pub body: String,
    pub counts: domain::llm::TokenCounts,
    /// The deployment that gave the answer.
    pub deployment: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// The semantic cache's entries, kept so that a restarted node finds them again. Writes and
/// loads are off the request path; the index a node searches is in its memory.
#[async_trait]
pub trait SemanticCacheStore: Send + Sync {
    /// # Errors
    /// `NotFound` when the tenant does not exist.
    async fn put_semantic_entry(
        &self,
        tenant: TenantId,
        entry: &SemanticEntry,
    ) -> Result<(), Error>;
    /// The entries of every tenant that have not expired at `now`, newest first, at most
    /// `limit`: what a starting node loads.
    async fn load_semantic_entries(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<(TenantId, SemanticEntry)>, Error>;
    /// Removes the entries expired at `now`; answers how many.
    async fn delete_expired_semantic_entries(&self, now: OffsetDateTime) -> Result<u64, Error>;
}

/// API keys, always scoped by the tenant that owns them.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// # Errors
    /// `NotFound` when the tenant does not exist; `Conflict` on a duplicate id or hash.
    async fn insert_key(
        &self,
        tenant: TenantId,
        key: &ApiKey,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
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
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    /// Replaces a key's name, models, scopes and expiry.
    ///
    /// # Errors
    /// `NotFound` when the key does not exist in this tenant.
    async fn update_key(
        &self,
        tenant: TenantId,
        key: &ApiKey,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    /// Inserts `new` and makes the old key expire at `old_expires_at` (an earlier expiry
    /// wins), in one transaction: both keys work during the grace period.
    ///
    /// # Errors
    /// `NotFound` when the old key does not exist in this tenant or is revoked.
    async fn rotate_key(
        &self,
        tenant: TenantId,
        old: ApiKeyId,
        old_expires_at: OffsetDateTime,
        new: &ApiKey,
        audit: &AuditEntry,
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
    /// Tenants' own provider credentials, still sealed: the gateway opens them.
    pub credentials: Vec<domain::credential::ProviderCredential>,
    /// Service accounts that are not revoked.
    pub service_accounts: Vec<ServiceAccount>,
    /// Signing keys that verify tokens (not retired, or retired in the future).
    pub signing_keys: Vec<SigningKey>,
    /// Partners with their domains, for branding by host.
    pub partners: Vec<Partner>,
    /// Who reaches which tenant, for the explorer's per-person tokens: every membership with
    /// its role, and each partner administrator with each of the partner's sub-tenants.
    pub reach: Vec<TenantReach>,
    /// Platform operators, who reach every tenant.
    pub operators: Vec<domain::UserId>,
    /// Every tenant's own model aliases.
    pub routes: Vec<domain::route::TenantRoute>,
    /// The tenants that restrict their calls to regions, with the regions.
    pub tenant_regions: Vec<(TenantId, Vec<String>)>,
    /// The tenants that set their own semantic-cache threshold, with it.
    pub semantic_thresholds: Vec<(TenantId, domain::tenant::SemanticThreshold)>,
    /// The stored price lists and markups, which join the node's own in its price book.
    pub prices: Vec<domain::pricing::PriceEntry>,
    pub markups: Vec<domain::pricing::MarkupEntry>,
    /// Every stored limit policy (platform, partners', tenants').
    pub limit_policies: Vec<domain::limits::ScopedPolicy>,
    /// Every prepaid account, with its balance as of its instant.
    pub credit_accounts: Vec<domain::credit::CreditAccount>,
    /// Tenants with an invoice due, each with the earliest instant one of them passes its
    /// grace period (from then on, while unpaid, its calls are refused).
    pub payment_holds: Vec<(TenantId, OffsetDateTime)>,
}

/// One person's reach into one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantReach {
    pub user: domain::UserId,
    pub tenant: TenantId,
    /// `None` for a partner administrator in the partner's sub-tenant.
    pub role: Option<domain::Role>,
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
    /// The tenant's records created in `[from, to)` after `after` (the last record of the
    /// previous page), oldest first, at most `limit`: pages of a stream that holds no
    /// connection between them.
    async fn usage_between(
        &self,
        tenant: TenantId,
        from: OffsetDateTime,
        to: OffsetDateTime,
        after: Option<UsageCursor>,
        limit: u32,
    ) -> Result<Vec<UsageRecord>, Error>;
    /// The tenant's rollups of one grain whose buckets start in `[from, to)`, oldest first, at
    /// most `limit`.
    async fn rollups_between(
        &self,
        tenant: TenantId,
        grain: Grain,
        from: OffsetDateTime,
        to: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Rollup>, Error>;
    /// The tenant's rollups of one grain whose buckets start in `[from, to)` summed per model,
    /// mirrors to shadow deployments left out, latency left empty: a bill's lines, summed by
    /// the database (a year of many keys is a few rows).
    async fn rollup_sums(
        &self,
        tenant: TenantId,
        grain: Grain,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<(String, RollupFigures)>, Error>;
    /// Adds a correction to a tenant's bill, with its audit entry, in one transaction.
    ///
    /// # Errors
    /// `NotFound` when the tenant does not exist.
    async fn add_adjustment(
        &self,
        adjustment: &Adjustment,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    /// The tenant's corrections effective in `[from, to)`, oldest first.
    async fn adjustments_between(
        &self,
        tenant: TenantId,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<Adjustment>, Error>;
    /// Folds the records written before rollups existed into them, once per database (the
    /// first caller claims it; the rest answer 0): run by `migrate`, before a node serves.
    /// Answers how many records it folded.
    async fn backfill_rollups(&self) -> Result<u64, Error>;
}

/// Where a page of usage records ends: the next page starts after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageCursor {
    pub created_at: OffsetDateTime,
    pub id: domain::UsageId,
}

impl UsageCursor {
    pub fn of(record: &UsageRecord) -> Self {
        UsageCursor {
            created_at: record.created_at,
            id: record.id,
        }
    }
}

/// People, their passwords and one-time email tokens.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// # Errors
    /// `Conflict` when the email address is taken.
    async fn create_user(&self, user: &User, audit: &AuditEntry) -> Result<(), Error>;
    /// # Errors
    /// `NotFound`.
    async fn get_user(&self, id: UserId) -> Result<User, Error>;
    async fn find_user_by_email(&self, email: &Email) -> Result<Option<User>, Error>;
    async fn count_users(&self) -> Result<u64, Error>;
    /// Counts a failed sign-in and, once `max_failures` are reached, locks the account until
    /// `lock_until`; returns the new count. Atomic, so parallel guesses are all counted.
    async fn record_failed_login(
        &self,
        id: UserId,
        max_failures: u32,
        lock_until: OffsetDateTime,
    ) -> Result<u32, Error>;
    async fn record_successful_login(&self, id: UserId) -> Result<(), Error>;
    /// Sets a new password hash and ends every session of the user.
    async fn set_password(&self, id: UserId, hash: &str, audit: &AuditEntry) -> Result<(), Error>;
    async fn mark_email_verified(
        &self,
        id: UserId,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    async fn set_operator(
        &self,
        id: UserId,
        operator: bool,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    async fn create_email_token(&self, token: &EmailToken) -> Result<(), Error>;
    /// Uses a token once and returns its user.
    ///
    /// # Errors
    /// `NotFound` when the token is unknown, used, expired or for another purpose.
    async fn use_email_token(
        &self,
        hash: KeyHash,
        purpose: EmailPurpose,
        now: OffsetDateTime,
    ) -> Result<UserId, Error>;
}

/// Browser sessions and personal access tokens.
#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create_session(&self, session: &Session) -> Result<(), Error>;
    /// The session, if it exists and has not expired at `now`.
    async fn get_session(
        &self,
        id_hash: KeyHash,
        now: OffsetDateTime,
    ) -> Result<Option<Session>, Error>;
    async fn delete_session(&self, id_hash: KeyHash) -> Result<(), Error>;
    async fn create_token(
        &self,
        token: &PersonalAccessToken,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    /// The user's tokens, revoked ones included, oldest first.
    async fn list_tokens(&self, user: UserId) -> Result<Vec<PersonalAccessToken>, Error>;
    async fn find_token(&self, hash: KeyHash) -> Result<Option<PersonalAccessToken>, Error>;
    /// # Errors
    /// `NotFound` when the user has no such token.
    async fn revoke_token(
        &self,
        user: UserId,
        id: TokenId,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
}

/// Tenants' members and invitations.
#[async_trait]
pub trait MemberStore: Send + Sync {
    /// Creates a tenant owned by `owner`, in one transaction.
    ///
    /// # Errors
    /// `Conflict` when the name is taken.
    async fn create_tenant_with_owner(
        &self,
        tenant: &Tenant,
        owner: UserId,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    /// The tenants a user belongs to, with their role, oldest first.
    async fn tenants_of(&self, user: UserId) -> Result<Vec<(Tenant, Role)>, Error>;
    async fn role_of(&self, tenant: TenantId, user: UserId) -> Result<Option<Role>, Error>;
    /// Oldest first.
    async fn list_members(&self, tenant: TenantId) -> Result<Vec<Member>, Error>;
    /// # Errors
    /// `NotFound` when the user is not a member; `Conflict` when the tenant would be left
    /// without an owner.
    async fn set_member_role(
        &self,
        tenant: TenantId,
        user: UserId,
        role: Role,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    /// # Errors
    /// As for `set_member_role`.
    async fn remove_member(
        &self,
        tenant: TenantId,
        user: UserId,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    async fn create_invitation(
        &self,
        invitation: &Invitation,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    /// Newest first.
    async fn list_invitations(&self, tenant: TenantId) -> Result<Vec<Invitation>, Error>;
    /// # Errors
    /// `NotFound` when the invitation is not open in this tenant.
    async fn revoke_invitation(
        &self,
        tenant: TenantId,
        id: InvitationId,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    /// The invitation with this token, open or not.
    async fn find_invitation(&self, token: KeyHash) -> Result<Option<Invitation>, Error>;
    /// Accepts an open invitation for `user`, adding the membership, in one transaction.
    ///
    /// # Errors
    /// `NotFound` when the invitation is not open; `Conflict` when the user is a member.
    async fn accept_invitation(
        &self,
        id: InvitationId,
        user: UserId,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<(TenantId, Role), Error>;
}

/// Tenants' own model aliases (`domain::route`).
#[async_trait]
pub trait RouteStore: Send + Sync {
    /// By alias.
    async fn list_routes(&self, tenant: TenantId)
    -> Result<Vec<domain::route::TenantRoute>, Error>;
    /// Creates the alias, or replaces its spec (keeping when it was created). Answers whether
    /// it was created.
    ///
    /// # Errors
    /// `NotFound` when the tenant does not exist.
    async fn put_route(
        &self,
        route: &domain::route::TenantRoute,
        audit: &AuditEntry,
    ) -> Result<bool, Error>;
    /// # Errors
    /// `NotFound` when the tenant has no such alias.
    async fn delete_route(
        &self,
        tenant: TenantId,
        alias: &str,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
}

/// Tenants' own provider credentials, sealed.
#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// # Errors
    /// `Conflict` when the tenant has a credential of that name.
    async fn create_credential(
        &self,
        credential: &domain::credential::ProviderCredential,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    /// Oldest first.
    async fn list_credentials(
        &self,
        tenant: TenantId,
    ) -> Result<Vec<domain::credential::ProviderCredential>, Error>;
    /// # Errors
    /// `NotFound` when the credential is not this tenant's.
    async fn delete_credential(
        &self,
        tenant: TenantId,
        id: domain::CredentialId,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    /// Every sealed secret of the platform (tenants' credentials and token signing keys), for
    /// master-key rotation.
    async fn sealed_secrets(&self) -> Result<Vec<(SecretRef, domain::crypto::Sealed)>, Error>;
    /// Replaces sealed secrets in one transaction (master-key rotation).
    async fn reseal_secrets(
        &self,
        resealed: &[(SecretRef, domain::crypto::Sealed)],
        audit: &AuditEntry,
    ) -> Result<(), Error>;
}

/// Which stored secret a sealed value belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    Credential(domain::CredentialId),
    /// A token signing key, by `kid`.
    SigningKey(String),
    /// A webhook's signing secret, by its recipient.
    Webhook(domain::limits::AlertRecipient),
}

impl std::fmt::Display for SecretRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretRef::Credential(id) => write!(f, "provider credential {id}"),
            SecretRef::SigningKey(kid) => write!(f, "signing key {kid}"),
            SecretRef::Webhook(domain::limits::AlertRecipient::Tenant(id)) => {
                write!(f, "webhook secret of tenant {id}")
            }
            SecretRef::Webhook(domain::limits::AlertRecipient::Partner(id)) => {
                write!(f, "webhook secret of partner {id}")
            }
        }
    }
}

/// Service accounts (OAuth 2.0 clients) and the keys their access tokens are signed with.
#[async_trait]
pub trait ServiceAccountStore: Send + Sync {
    async fn create_service_account(
        &self,
        account: &ServiceAccount,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    /// Oldest first, revoked ones included.
    async fn list_service_accounts(&self, tenant: TenantId) -> Result<Vec<ServiceAccount>, Error>;
    /// # Errors
    /// `NotFound` when it is not this tenant's.
    async fn get_service_account(
        &self,
        tenant: TenantId,
        id: ServiceAccountId,
    ) -> Result<ServiceAccount, Error>;
    /// By client id alone, for the token endpoint, which learns the tenant from the account.
    async fn find_service_account(
        &self,
        id: ServiceAccountId,
    ) -> Result<Option<ServiceAccount>, Error>;
    /// # Errors
    /// `NotFound` when it is not this tenant's or already revoked.
    async fn revoke_service_account(
        &self,
        tenant: TenantId,
        id: ServiceAccountId,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    /// Replaces the client secret; the old one stops working at once.
    ///
    /// # Errors
    /// `NotFound` when it is not this tenant's or revoked.
    async fn replace_service_account_secret(
        &self,
        tenant: TenantId,
        id: ServiceAccountId,
        secret_hash: KeyHash,
        secret_last_four: &str,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    /// Stores a new signing key and, in the same transaction, retires every other key at
    /// `retire_others_at` at the latest: later, so tokens they signed keep verifying until
    /// they expire; now, after a suspected leak.
    async fn insert_signing_key(
        &self,
        key: &SigningKey,
        retire_others_at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    /// Newest first, retired ones included.
    async fn signing_keys(&self) -> Result<Vec<SigningKey>, Error>;
}

/// Partners (white-label resellers), their domains, administrators and sub-tenants.
///
/// Every change bumps the store revision: partners and domains are part of the access
/// snapshot, so branding changes reach every node within a second.
#[async_trait]
pub trait PartnerStore: Send + Sync {
    /// Creates a partner with its domains and, when given, its first administrator.
    ///
    /// # Errors
    /// `Conflict` for a name, key prefix or domain already taken.
    async fn create_partner(
        &self,
        partner: &Partner,
        first_admin: Option<UserId>,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    /// With its domains. `NotFound` when there is none.
    async fn get_partner(&self, id: PartnerId) -> Result<Partner, Error>;
    /// Oldest first, with domains.
    async fn list_partners(&self) -> Result<Vec<Partner>, Error>;
    /// The partner holding `host` as a verified domain, with its domains; pending claims
    /// never count.
    async fn partner_by_host(&self, host: &str) -> Result<Option<Partner>, Error>;
    /// The partners `user` administers, oldest first.
    async fn partners_of(&self, user: UserId) -> Result<Vec<Partner>, Error>;
    async fn is_partner_admin(&self, partner: PartnerId, user: UserId) -> Result<bool, Error>;
    async fn update_branding(
        &self,
        partner: PartnerId,
        branding: &Branding,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    /// Adds a claim, pending or (vouched for by an operator) verified.
    ///
    /// # Errors
    /// `Conflict` when this partner has the host already, or another partner holds it
    /// verified. Other partners' pending claims do not stand in the way.
    async fn add_partner_domain(
        &self,
        partner: PartnerId,
        domain: &PartnerDomain,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    /// Marks the partner's claim of `host` verified at `at` (a claim verified already keeps
    /// its first time).
    ///
    /// # Errors
    /// `NotFound` when the partner has no such claim; `Conflict` when another partner holds
    /// the host verified.
    async fn verify_partner_domain(
        &self,
        partner: PartnerId,
        host: &str,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    /// The partners of the tenants `user` is a member of (`None` for a tenant of the platform
    /// itself) and of the partners `user` administers, each once, in no particular order.
    async fn partner_affiliations(&self, user: UserId) -> Result<Vec<Option<PartnerId>>, Error>;
    /// # Errors
    /// `NotFound` when the host is not this partner's.
    async fn remove_partner_domain(
        &self,
        partner: PartnerId,
        host: &str,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    /// # Errors
    /// `Conflict` when the user administers the partner already.
    async fn add_partner_admin(
        &self,
        partner: PartnerId,
        user: UserId,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    /// # Errors
    /// `NotFound` when the user does not administer it; `Conflict` for its last administrator.
    async fn remove_partner_admin(
        &self,
        partner: PartnerId,
        user: UserId,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    /// Oldest first.
    async fn list_partner_admins(&self, partner: PartnerId) -> Result<Vec<PartnerAdmin>, Error>;
    /// The partner's sub-tenants, oldest first.
    async fn list_partner_tenants(&self, partner: PartnerId) -> Result<Vec<Tenant>, Error>;
}

/// Single sign-on: sign-ins in flight and domains that must sign in through a provider.
#[async_trait]
pub trait SsoStore: Send + Sync {
    async fn create_sso_state(&self, state: &SsoState) -> Result<(), Error>;
    /// Removes and returns the state with this hash: each state works once.
    async fn take_sso_state(&self, state_hash: KeyHash) -> Result<Option<SsoState>, Error>;
    /// # Errors
    /// `Conflict` when another tenant has claimed the domain.
    async fn set_sso_domain(&self, rule: &SsoDomain, audit: &AuditEntry) -> Result<(), Error>;
    /// # Errors
    /// `NotFound` when the domain is not this tenant's.
    async fn remove_sso_domain(
        &self,
        tenant: TenantId,
        domain: &str,
        audit: &AuditEntry,
    ) -> Result<(), Error>;
    async fn list_sso_domains(&self, tenant: TenantId) -> Result<Vec<SsoDomain>, Error>;
    /// The rule for an email domain, whoever's it is.
    async fn sso_domain(&self, domain: &str) -> Result<Option<SsoDomain>, Error>;
}

/// Which audit events to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this tenant's events; `None` lists every event (platform operators).
    pub tenant: Option<TenantId>,
    /// Actions starting with this (`key.` matches `key.create`).
    pub action_prefix: Option<String>,
    pub actor_id: Option<String>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
}

/// The append-only, hash-chained audit log.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends an event that has no other change to go with (sign-ins, exports).
    async fn record(&self, entry: &AuditEntry) -> Result<(), Error>;
    /// Newest first, before `before_seq` when paging.
    async fn list_audit(
        &self,
        filter: &AuditFilter,
        before_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, Error>;
    /// Oldest first, after `after_seq`: the chain, for verification.
    async fn audit_chain(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditEvent>, Error>;
}

/// One storage backend: every port plus a health check.
#[async_trait]
pub trait Store:
    TenantStore
    + KeyStore
    + AccessStore
    + UsageStore
    + AccountStore
    + SessionStore
    + MemberStore
    + AuditStore
    + CredentialStore
    + RouteStore
    + ServiceAccountStore
    + PartnerStore
    + SsoStore
    + SemanticCacheStore
    + PriceStore
    + LimitStore
    + AlertStore
    + InvoiceStore
    + CreditStore
    + PaymentStore
    + std::fmt::Debug
    + 'static
{
    /// `sqlite` or `postgres`, for logs.
    fn backend(&self) -> &'static str;
    /// # Errors
    /// `Unavailable` when the database cannot be reached.
    async fn ping(&self) -> Result<(), Error>;
}
