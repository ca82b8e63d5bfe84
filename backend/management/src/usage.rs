//! Usage for the tenant's dashboard: summaries over a window, read from the usage rollups, and
//! the most recent records.

use std::collections::HashMap;

use domain::rollup::Grain;
use domain::usage_summary::{GroupBy, UsageSummary, summarize};
use domain::{Permission, TenantId, UsageRecord, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Error, Identity, Manager};

/// The longest window a summary covers.
const MAX_WINDOW: time::Duration = time::Duration::days(31);
/// Rollups read for one summary; beyond this the summary says it is truncated.
const MAX_ROLLUPS: u32 = 200_000;
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
    /// Rollups were left out (a window with too many keys and models to read whole).
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

/// The first whole minute at or after `at`.
fn ceil_minute(at: OffsetDateTime) -> OffsetDateTime {
    let floor = Grain::Minute.floor(at);
    if floor == at {
        at
    } else {
        floor + time::Duration::minutes(1)
    }
}

impl Manager {
    /// Requests, errors, tokens, spend and latency over a window, per bucket and per model,
    /// key or experiment arm, from the rollups of the coarsest grain that tiles it. Rollups
    /// start on whole minutes, so a window's end is moved to the next whole minute and its span
    /// to whole minutes (the summary says which window it covers).
    ///
    /// # Errors
    /// Missing permission; a window that is empty, reversed, longer than 31 days, or cut into
    /// more than 2000 buckets or buckets that are not whole minutes.
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
        // Whole minutes, anchored at the end (the newest calls stay in), the span kept.
        let to = ceil_minute(request.to);
        let span_minutes = ((request.to - request.from).whole_seconds() + 59) / 60;
        let request = SummaryRequest {
            from: to - time::Duration::minutes(span_minutes),
            to,
            ..request
        };
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
        let grain = Grain::coarsest_for(request.from, request.to, request.bucket_seconds)
            .ok_or_else(|| {
                Error::invalid("bucket_seconds", "`bucket_seconds` must be whole minutes")
            })?;
        let rollups = self
            .store
            .rollups_between(tenant, grain, request.from, request.to, MAX_ROLLUPS)
            .await?;
        let truncated = rollups.len() >= usize::try_from(MAX_ROLLUPS).unwrap_or(usize::MAX);
        let labels = match request.group_by {
            GroupBy::Key => {
                self.key_labels(tenant, rollups.iter().map(|it| it.key_id.0))
                    .await?
            }
            GroupBy::Model | GroupBy::Variant => KeyLabels::default(),
        };
        Ok(UsageReport {
            summary: summarize(
                &rollups,
                request.from,
                request.to,
                request.bucket_seconds,
                request.group_by,
            ),
            truncated,
            labels,
        })
    }

    /// Names every key id in `ids`: keys by name (or prefix), service accounts by name,
    /// explorer callers by email.
    async fn key_labels(
        &self,
        tenant: TenantId,
        ids: impl Iterator<Item = Uuid>,
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
        let mut unknown: Vec<Uuid> = ids.filter(|it| !labels.contains_key(it)).collect();
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
        let labels = self
            .key_labels(tenant, records.iter().map(|it| it.key_id.0))
            .await?;
        Ok((records, labels))
    }
}
