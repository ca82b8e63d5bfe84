//! Usage over time for dashboards: requests, errors, tokens, spend and latency percentiles per
//! time bucket and per model, key or experiment arm, folded from usage rollups (never from
//! metric labels, and never from the raw records: a year of traffic reads as fast as a day).

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::rollup::{Rollup, RollupFigures};

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
    /// Read from the rollups' latency histogram: within a bucket's width of the exact value.
    pub latency_p50_ms: Option<u64>,
    pub latency_p95_ms: Option<u64>,
    /// What the calls were charged (their price; 0 for those on the tenant's own credential
    /// and cache hits).
    pub spend: crate::pricing::Money,
    /// Calls that used tokens of a model with no price: not in `spend`.
    pub unpriced: u64,
}

impl From<&RollupFigures> for UsageFigures {
    fn from(sums: &RollupFigures) -> Self {
        UsageFigures {
            requests: sums.requests,
            errors: sums.errors,
            prompt_tokens: sums.prompt_tokens,
            completion_tokens: sums.completion_tokens,
            latency_p50_ms: sums.latency_percentile(50),
            latency_p95_ms: sums.latency_percentile(95),
            spend: sums.price,
            unpriced: sums.unpriced,
        }
    }
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
    /// Mirrors to shadow deployments: kept out of the totals, the series and the groups, which
    /// count only the tenant's own calls.
    pub shadow: UsageFigures,
}

/// Summarises `rollups` (of one tenant, one grain that divides `bucket_seconds`, any order)
/// over `[from, to)` in buckets of `bucket_seconds`; rollups outside the window are ignored.
pub fn summarize(
    rollups: &[Rollup],
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
    let mut series: Vec<RollupFigures> = vec![RollupFigures::default(); buckets];
    let mut totals = RollupFigures::default();
    let mut groups: BTreeMap<String, RollupFigures> = BTreeMap::new();
    let mut shadow = RollupFigures::default();
    for rollup in rollups {
        if rollup.start < from || rollup.start >= to {
            continue;
        }
        let sums = &rollup.figures;
        if rollup.shadow {
            shadow.merge(sums);
            continue;
        }
        let offset = (rollup.start - from).whole_seconds() / bucket_seconds;
        if let Some(bucket) = usize::try_from(offset).ok().and_then(|i| series.get_mut(i)) {
            bucket.merge(sums);
        }
        totals.merge(sums);
        let key = match group_by {
            GroupBy::Model => rollup.model_alias.clone(),
            GroupBy::Key => rollup.key_id.to_string(),
            GroupBy::Variant => rollup.variant.clone(),
        };
        groups.entry(key).or_default().merge(sums);
    }
    let mut groups: Vec<(String, UsageFigures)> = groups
        .iter()
        .map(|(key, sums)| (key.clone(), sums.into()))
        .collect();
    groups.sort_by(|a, b| b.1.requests.cmp(&a.1.requests).then_with(|| a.0.cmp(&b.0)));
    UsageSummary {
        from,
        to,
        bucket_seconds,
        totals: (&totals).into(),
        series: series
            .iter()
            .enumerate()
            .map(|(i, sums)| UsageBucket {
                start: from
                    + time::Duration::seconds(bucket_seconds * i64::try_from(i).unwrap_or(0)),
                figures: sums.into(),
            })
            .collect(),
        groups,
        shadow: (&shadow).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollup::{Grain, fold};
    use crate::{ApiKeyId, RequestId, TenantId, UsageId, UsageRecord, UsageStatus};

    /// The hourly rollups of `records`.
    fn hourly(records: &[UsageRecord]) -> Vec<Rollup> {
        fold(records)
            .into_iter()
            .filter(|it| it.grain == Grain::Hour)
            .collect()
    }

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
            &hourly(&[priced, cheap, unpriced, nothing_used]),
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
        let summary = summarize(&hourly(&records), from, to, 3600, GroupBy::Model);
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
        // 10, 20, …, 200 ms: p50 is 100 and p95 190, read within their histogram buckets.
        let p50 = summary.series[0].figures.latency_p50_ms.unwrap();
        let p95 = summary.series[0].figures.latency_p95_ms.unwrap();
        assert!(
            (60..=100).contains(&p50) && (150..=250).contains(&p95),
            "{p50} {p95}"
        );
        assert_eq!(summary.series[1].figures.latency_p50_ms, None);
        assert_eq!(summary.groups[0].0, "gpt");
        assert_eq!(
            summary.groups[1],
            ("claude".to_owned(), summary.series[2].figures.clone())
        );
        let by_key = summarize(&hourly(&records), from, to, 3600, GroupBy::Key);
        assert_eq!(by_key.groups[0].0, a.to_string());
        records[0].variant = Some("canary".into());
        let by_variant = summarize(&hourly(&records), from, to, 3600, GroupBy::Variant);
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
        let with_shadow = summarize(&hourly(&records), from, to, 3600, GroupBy::Variant);
        assert_eq!(with_shadow.totals, by_variant.totals);
        assert_eq!(with_shadow.series, by_variant.series);
        assert_eq!(with_shadow.groups, by_variant.groups);
        assert_eq!(with_shadow.shadow.requests, 1);
        assert_eq!(with_shadow.shadow.prompt_tokens, 10);
        assert_eq!(
            with_shadow.shadow.latency_p50_ms,
            Some(10),
            "7 ms: in the 5-10 bucket"
        );
    }
}
