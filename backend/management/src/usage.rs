//! Usage for the tenant's dashboard: summaries over a window and the most recent records,
//! read from the usage records the data plane writes.

use domain::usage_summary::{GroupBy, UsageSummary, summarize};
use domain::{Permission, TenantId, UsageRecord};
use time::OffsetDateTime;

use crate::{Error, Identity, Manager};

/// The longest window a summary covers.
const MAX_WINDOW: time::Duration = time::Duration::days(31);
/// Records read for one summary; beyond this the summary says it is truncated.
const MAX_RECORDS: u32 = 200_000;
/// The most buckets a series may have.
const MAX_BUCKETS: i64 = 2_000;

/// What a summary covers.
#[derive(Debug, Clone, Copy)]
pub struct SummaryRequest {
    pub from: OffsetDateTime,
    pub to: OffsetDateTime,
    pub bucket_seconds: i64,
    pub group_by: GroupBy,
}

impl Manager {
    /// Requests, errors, tokens and latency over a window, per bucket and per model or key.
    /// Returns the summary and whether records were left out (a window too busy to read whole).
    ///
    /// # Errors
    /// Missing permission; a window that is empty, reversed, longer than 31 days, or cut into
    /// more than 2000 buckets.
    pub async fn usage_summary(
        &self,
        identity: &Identity,
        tenant: TenantId,
        request: SummaryRequest,
    ) -> Result<(UsageSummary, bool), Error> {
        self.authorize(identity, tenant, Permission::ViewUsage)
            .await?;
        if request.to <= request.from {
            return Err(Error::invalid("to", "`to` must be after `from`"));
        }
        if request.to - request.from > MAX_WINDOW {
            return Err(Error::invalid("from", "a summary covers at most 31 days"));
        }
        if request.bucket_seconds < 60 {
            return Err(Error::invalid(
                "bucket_seconds",
                "`bucket_seconds` must be at least 60",
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
        Ok((
            summarize(
                &records,
                request.from,
                request.to,
                request.bucket_seconds,
                request.group_by,
            ),
            truncated,
        ))
    }

    /// The tenant's most recent requests, newest first.
    ///
    /// # Errors
    /// Missing permission.
    pub async fn recent_usage(
        &self,
        identity: &Identity,
        tenant: TenantId,
        limit: u32,
    ) -> Result<Vec<UsageRecord>, Error> {
        self.authorize(identity, tenant, Permission::ViewUsage)
            .await?;
        if !(1..=200).contains(&limit) {
            return Err(Error::invalid("limit", "`limit` must be between 1 and 200"));
        }
        Ok(self.store.list_usage(tenant, limit).await?)
    }
}
