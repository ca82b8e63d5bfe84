//! Usage for the tenant's dashboard: summaries over a window and the most recent records,
//! read from the usage records the data plane writes.

use std::collections::HashMap;

use domain::usage_summary::{GroupBy, UsageSummary, summarize};
use domain::{Permission, TenantId, UsageRecord, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Error, Identity, Manager};

/// The longest window a summary covers.
const MAX_WINDOW: time::Duration = time::Duration::days(31);
/// Records read for one summary; beyond this the summary says it is truncated.
const MAX_RECORDS: u32 = 200_000;
/// The most buckets a series may have.
const MAX_BUCKETS: i64 = 2_000;

/// Users looked up one by one for labels (explorer callers who are not members: operators
/// and partner administrators); beyond this they are shown by id.
const MAX_USER_LOOKUPS: usize = 20;

/// Names for the key ids usage records carry: API keys, service accounts, and the people who
/// called from the explorer (whose key id is their user id).
#[derive(Debug, Default)]
pub struct KeyLabels(HashMap<Uuid, String>);

impl KeyLabels {
    /// The name of `id`, or a short form of the id when it names nothing known.
    pub fn label(&self, id: Uuid) -> String {
        self.0.get(&id).cloned().unwrap_or_else(|| {
            let short = id.simple().to_string();
            format!("key {}", &short[..8])
        })
    }
}

/// A summary with what it needs to be shown.
#[derive(Debug)]
pub struct UsageReport {
    pub summary: UsageSummary,
    /// Records were left out (a window too busy to read whole).
    pub truncated: bool,
    /// Names of the keys in `summary.groups` when grouped by key.
    pub labels: KeyLabels,
}

/// What a summary covers.
#[derive(Debug, Clone, Copy)]
pub struct SummaryRequest {
    pub from: OffsetDateTime,
    pub to: OffsetDateTime,
    pub bucket_seconds: i64,
    pub group_by: GroupBy,
}

impl Manager {
    /// Requests, errors, tokens and latency over a window, per bucket and per model, key or
    /// experiment arm.
    ///
    /// # Errors
    /// Missing permission; a window that is empty, reversed, longer than 31 days, or cut into
    /// more than 2000 buckets.
    pub async fn usage_summary(
        &self,
        identity: &Identity,
        tenant: TenantId,
        request: SummaryRequest,
    ) -> Result<UsageReport, Error> {
        self.authorize(identity, tenant, Permission::ViewUsage)
            .await?;
        if request.to <= request.from {
            return Err(Error::invalid("to", "`to` must be after `from`"));
        }
        if request.to - request.from > MAX_WINDOW {
            return Err(Error::invalid("from", "a summary covers at most 31 days"));
        }
        if !(60..=MAX_WINDOW.whole_seconds()).contains(&request.bucket_seconds) {
            return Err(Error::invalid(
                "bucket_seconds",
                format!(
                    "`bucket_seconds` must be between 60 and {} (31 days)",
                    MAX_WINDOW.whole_seconds()
                ),
            ));
        }
        if (request.to - request.from).whole_seconds() / request.bucket_seconds > MAX_BUCKETS {
            return Err(Error::invalid(
                "bucket_seconds",
                format!("at most {MAX_BUCKETS} buckets: choose larger buckets"),
            ));
        }
        let records = self
            .store
            .usage_between(tenant, request.from, request.to, MAX_RECORDS)
            .await?;
        let truncated = records.len() >= usize::try_from(MAX_RECORDS).unwrap_or(usize::MAX);
        let labels = match request.group_by {
            GroupBy::Key => self.key_labels(tenant, &records).await?,
            GroupBy::Model | GroupBy::Variant => KeyLabels::default(),
        };
        Ok(UsageReport {
            summary: summarize(
                &records,
                request.from,
                request.to,
                request.bucket_seconds,
                request.group_by,
            ),
            truncated,
            labels,
        })
    }

    /// Names every key id in `records`: keys by name (or prefix), service accounts by name,
    /// explorer callers by email.
    async fn key_labels(
        &self,
        tenant: TenantId,
        records: &[UsageRecord],
    ) -> Result<KeyLabels, Error> {
        let mut labels = HashMap::new();
        for key in self.store.list_keys(tenant).await? {
            let name = key.name.clone().filter(|it| !it.trim().is_empty());
            labels.insert(
                key.id.0,
                name.unwrap_or_else(|| format!("{}…{}", key.display_prefix, key.last_four)),
            );
        }
        for account in self.store.list_service_accounts(tenant).await? {
            labels.insert(account.id.0, format!("{} (service account)", account.name));
        }
        for member in self.store.list_members(tenant).await? {
            labels.insert(member.user_id.0, format!("Explorer · {}", member.email));
        }
        let mut unknown: Vec<Uuid> = records
            .iter()
            .map(|it| it.key_id.0)
            .filter(|it| !labels.contains_key(it))
            .collect();
        unknown.sort_unstable();
        unknown.dedup();
        for id in unknown.into_iter().take(MAX_USER_LOOKUPS) {
            if let Ok(user) = self.store.get_user(UserId(id)).await {
                labels.insert(id, format!("Explorer · {}", user.email));
            }
        }
        Ok(KeyLabels(labels))
    }

    /// The tenant's most recent requests, newest first, with names for their keys.
    ///
    /// # Errors
    /// Missing permission.
    pub async fn recent_usage(
        &self,
        identity: &Identity,
        tenant: TenantId,
        limit: u32,
    ) -> Result<(Vec<UsageRecord>, KeyLabels), Error> {
        self.authorize(identity, tenant, Permission::ViewUsage)
            .await?;
        if !(1..=200).contains(&limit) {
            return Err(Error::invalid("limit", "`limit` must be between 1 and 200"));
        }
        let records = self.store.list_usage(tenant, limit).await?;
        let labels = self.key_labels(tenant, &records).await?;
        Ok((records, labels))
    }
}
