//! Usage over time for dashboards: requests, errors, tokens and latency percentiles per time
//! bucket and per model or key, computed from usage records (never from metric labels).

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::{UsageRecord, UsageStatus};

/// What a dashboard groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Model,
    Key,
    /// The experiment arm (`UsageRecord::variant`); calls of models without an experiment
    /// are grouped under the empty key.
    Variant,
}

/// Counts and latency of a set of requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageFigures {
    pub requests: u64,
    pub errors: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub latency_p50_ms: Option<u64>,
    pub latency_p95_ms: Option<u64>,
    /// What the calls were charged (their price; 0 for those on the tenant's own credential
    /// and cache hits).
    pub spend: crate::pricing::Money,
    /// Calls that used tokens of a model with no price: not in `spend`.
    pub unpriced: u64,
}

/// One time bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageBucket {
    pub start: OffsetDateTime,
    pub figures: UsageFigures,
}

/// A window's usage: totals, a series of equal buckets (empty ones included, so charts need no
/// gap filling), and a breakdown by model or key, busiest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageSummary {
    pub from: OffsetDateTime,
    pub to: OffsetDateTime,
    pub bucket_seconds: i64,
    pub totals: UsageFigures,
    pub series: Vec<UsageBucket>,
    pub groups: Vec<(String, UsageFigures)>,
    /// Mirrors to shadow deployments (`UsageStatus::Shadow`): kept out of the totals, the
    /// series and the groups, which count only the tenant's own calls.
    pub shadow: UsageFigures,
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], p: u64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as u64).div_ceil(100).max(1);
    sorted.get(usize::try_from(rank - 1).ok()?).copied()
}

#[derive(Default)]
struct Accumulator {
    figures: UsageFigures,
    latencies: Vec<u64>,
}

impl Accumulator {
    fn add(&mut self, record: &UsageRecord) {
        self.figures.requests += 1;
        // A call the server cut ended in an error for its client, whatever it was billed.
        if matches!(
            record.status,
            UsageStatus::Error | UsageStatus::ServerClosed
        ) {
            self.figures.errors += 1;
        }
        self.figures.prompt_tokens += record.prompt_tokens;
        self.figures.completion_tokens += record.completion_tokens;
        match record.price {
            Some(price) => self.figures.spend = self.figures.spend.saturating_add(price),
            None if record.prompt_tokens + record.completion_tokens > 0 => {
                self.figures.unpriced += 1;
            }
            None => {}
        }
        self.latencies.push(record.latency_ms);
    }

    fn finish(mut self) -> UsageFigures {
        self.latencies.sort_unstable();
        self.figures.latency_p50_ms = percentile(&self.latencies, 50);
        self.figures.latency_p95_ms = percentile(&self.latencies, 95);
        self.figures
    }
}

/// Summarises `records` (of one tenant, any order) over `[from, to)` in buckets of
/// `bucket_seconds`; records outside the window are ignored.
pub fn summarize(
    records: &[UsageRecord],
    from: OffsetDateTime,
    to: OffsetDateTime,
    bucket_seconds: i64,
    group_by: GroupBy,
) -> UsageSummary {
    let bucket_seconds = bucket_seconds.max(1);
    let span = (to - from).whole_seconds().max(0);
    // Rounded up without `span + bucket_seconds - 1`, which overflows for huge buckets.
    let buckets =
        usize::try_from(span / bucket_seconds + i64::from(span % bucket_seconds != 0)).unwrap_or(0);
    let mut series: Vec<Accumulator> = (0..buckets).map(|_| Accumulator::default()).collect();
    let mut totals = Accumulator::default();
    let mut groups: BTreeMap<String, Accumulator> = BTreeMap::new();
    let mut shadow = Accumulator::default();
    for record in records {
        if record.created_at < from || record.created_at >= to {
            continue;
        }
        if record.status == UsageStatus::Shadow {
            shadow.add(record);
            continue;
        }
        let offset = (record.created_at - from).whole_seconds() / bucket_seconds;
        if let Some(bucket) = usize::try_from(offset).ok().and_then(|i| series.get_mut(i)) {
            bucket.add(record);
        }
        totals.add(record);
        let key = match group_by {
            GroupBy::Model => record.model_alias.clone(),
            GroupBy::Key => record.key_id.to_string(),
            GroupBy::Variant => record.variant.clone().unwrap_or_default(),
        };
        groups.entry(key).or_default().add(record);
    }
    let mut groups: Vec<(String, UsageFigures)> = groups
        .into_iter()
        .map(|(key, acc)| (key, acc.finish()))
        .collect();
    groups.sort_by(|a, b| b.1.requests.cmp(&a.1.requests).then_with(|| a.0.cmp(&b.0)));
    UsageSummary {
        from,
        to,
        bucket_seconds,
        totals: totals.finish(),
        series: series
            .into_iter()
            .enumerate()
            .map(|(i, acc)| UsageBucket {
                start: from
                    + time::Duration::seconds(bucket_seconds * i64::try_from(i).unwrap_or(0)),
                figures: acc.finish(),
            })
            .collect(),
        groups,
        shadow: shadow.finish(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ApiKeyId, RequestId, TenantId, UsageId};

    fn record(
        at: OffsetDateTime,
        model: &str,
        key: ApiKeyId,
        latency: u64,
        ok: bool,
    ) -> UsageRecord {
        UsageRecord {
            id: UsageId::new(),
            request_id: RequestId::new(),
            tenant_id: TenantId::new(),
            key_id: key,
            endpoint: "chat.completions".into(),
            model_alias: model.into(),
            provider: "mock".into(),
            upstream_model: model.into(),
            attempts: Vec::new(),
            variant: None,
            stream: false,
            prompt_tokens: 10,
            completion_tokens: 5,
            cached_tokens: 0,
            cache_write_tokens: 0,
            reasoning_tokens: 0,
            estimated: false,
            raw_usage: None,
            status: if ok {
                UsageStatus::Ok
            } else {
                UsageStatus::Error
            },
            http_status: if ok { 200 } else { 502 },
            error_code: None,
            latency_ms: latency,
            ttft_ms: None,
            created_at: at,
            cost: None,
            wholesale: None,
            price: None,
        }
    }

    #[test]
    fn spend_is_summed_exactly_and_unpriced_calls_are_counted_apart() {
        let from = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let key = ApiKeyId::new();
        let mut priced = record(from, "gpt", key, 10, true);
        priced.price = Some(crate::pricing::Money::from_nanos(1_500));
        let mut cheap = record(from, "gpt", key, 10, true);
        cheap.price = Some(crate::pricing::Money::from_nanos(1));
        let unpriced = record(from, "new", key, 10, true);
        let mut nothing_used = record(from, "new", key, 10, false);
        nothing_used.prompt_tokens = 0;
        nothing_used.completion_tokens = 0;
        let summary = summarize(
            &[priced, cheap, unpriced, nothing_used],
            from,
            from + time::Duration::hours(1),
            3600,
            GroupBy::Model,
        );
        assert_eq!(summary.totals.spend.nanos(), 1_501);
        assert_eq!(
            summary.totals.unpriced, 1,
            "a failed call that used nothing is not unpriced"
        );
        let gpt = &summary.groups.iter().find(|(it, _)| it == "gpt").unwrap().1;
        assert_eq!((gpt.spend.nanos(), gpt.unpriced), (1_501, 0));
    }

    #[test]
    fn buckets_groups_and_percentiles() {
        let from = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let to = from + time::Duration::hours(3);
        let (a, b) = (ApiKeyId::new(), ApiKeyId::new());
        let mut records: Vec<UsageRecord> = (1..=20)
            .map(|i: u64| {
                record(
                    from + time::Duration::minutes(i64::try_from(i).unwrap()),
                    "gpt",
                    a,
                    i * 10,
                    true,
                )
            })
            .collect();
        records.push(record(
            from + time::Duration::minutes(150),
            "claude",
            b,
            1000,
            false,
        ));
        records.push(record(from - time::Duration::seconds(1), "gpt", a, 1, true));
        records.push(record(to, "gpt", a, 1, true));
        let summary = summarize(&records, from, to, 3600, GroupBy::Model);
        assert_eq!(summary.series.len(), 3);
        assert_eq!(summary.series[0].figures.requests, 20);
        assert_eq!(
            summary.series[1].figures.requests, 0,
            "empty buckets are kept"
        );
        assert_eq!(summary.series[1].start, from + time::Duration::hours(1));
        assert_eq!(summary.series[2].figures.errors, 1);
        assert_eq!(
            summary.totals.requests, 21,
            "records outside the window are ignored"
        );
        assert_eq!(summary.totals.prompt_tokens, 210);
        assert_eq!(summary.series[0].figures.latency_p50_ms, Some(100));
        assert_eq!(summary.series[0].figures.latency_p95_ms, Some(190));
        assert_eq!(summary.series[1].figures.latency_p50_ms, None);
        assert_eq!(summary.groups[0].0, "gpt");
        assert_eq!(
            summary.groups[1],
            ("claude".to_owned(), summary.series[2].figures.clone())
        );
        let by_key = summarize(&records, from, to, 3600, GroupBy::Key);
        assert_eq!(by_key.groups[0].0, a.to_string());
        records[0].variant = Some("canary".into());
        let by_variant = summarize(&records, from, to, 3600, GroupBy::Variant);
        let keys: Vec<(&str, u64)> = by_variant
            .groups
            .iter()
            .map(|(key, it)| (key.as_str(), it.requests))
            .collect();
        assert_eq!(keys, [("", 20), ("canary", 1)], "no variant: the empty key");
        assert_eq!(by_variant.shadow, UsageFigures::default());

        // Mirrors to a shadow deployment are counted apart, never as the tenant's calls.
        let mut mirror = record(from, "gpt", a, 7, true);
        mirror.status = UsageStatus::Shadow;
        mirror.variant = Some("shadow-arm".into());
        records.push(mirror);
        let with_shadow = summarize(&records, from, to, 3600, GroupBy::Variant);
        assert_eq!(with_shadow.totals, by_variant.totals);
        assert_eq!(with_shadow.series, by_variant.series);
        assert_eq!(with_shadow.groups, by_variant.groups);
        assert_eq!(with_shadow.shadow.requests, 1);
        assert_eq!(with_shadow.shadow.prompt_tokens, 10);
        assert_eq!(with_shadow.shadow.latency_p50_ms, Some(7));
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[1, 2, 3, 4], 50), Some(2));
        assert_eq!(percentile(&[1, 2, 3, 4], 95), Some(4));
    }
}
