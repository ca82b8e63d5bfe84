//! Usage rollups: the usage records summed per tenant, key, model, experiment arm and minute,
//! hour or UTC day. The usage writer adds each record to its three rollups in the transaction
//! that inserts it (only if it was new, so a replayed record is never counted twice), which
//! keeps them equal to the ledger; dashboards, bills and invoices read them instead of folding
//! raw records.

use std::collections::HashMap;

use time::OffsetDateTime;

use crate::pricing::Money;
use crate::{ApiKeyId, TenantId, UsageRecord, UsageStatus};

/// How wide a rollup's time bucket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grain {
    Minute,
    Hour,
    /// A UTC day.
    Day,
}

impl Grain {
    /// Every grain, finest first.
    pub const ALL: [Grain; 3] = [Grain::Minute, Grain::Hour, Grain::Day];

    pub const fn seconds(self) -> i64 {
        match self {
            Grain::Minute => 60,
            Grain::Hour => 3_600,
            Grain::Day => 86_400,
        }
    }

    /// The stored form.
    pub const fn as_str(self) -> &'static str {
        match self {
            Grain::Minute => "minute",
            Grain::Hour => "hour",
            Grain::Day => "day",
        }
    }

    pub fn from_stored(text: &str) -> Option<Grain> {
        Grain::ALL.into_iter().find(|it| it.as_str() == text)
    }

    /// The start of the bucket holding `at`.
    pub fn floor(self, at: OffsetDateTime) -> OffsetDateTime {
        let seconds = at.unix_timestamp();
        let start = seconds - seconds.rem_euclid(self.seconds());
        OffsetDateTime::from_unix_timestamp(start).unwrap_or(at)
    }

    /// The coarsest grain whose buckets tile `[from, to)` cut into `bucket_seconds`: every
    /// bound a multiple of its width. `None` when not even minutes do.
    pub fn coarsest_for(
        from: OffsetDateTime,
        to: OffsetDateTime,
        bucket_seconds: i64,
    ) -> Option<Grain> {
        Grain::ALL.into_iter().rev().find(|grain| {
            let width = grain.seconds();
            from.unix_timestamp() % width == 0
                && to.unix_timestamp() % width == 0
                && bucket_seconds % width == 0
        })
    }
}

/// Upper bounds (inclusive, milliseconds) of the latency histogram's buckets; one more bucket
/// holds everything slower. About 1.6 × apart, so a percentile read from the histogram is
/// within a bucket's width of the exact one, as a Prometheus histogram's is.
pub const LATENCY_BOUNDS_MS: [u64; 24] = [
    5, 10, 15, 25, 40, 60, 100, 150, 250, 400, 600, 1_000, 1_500, 2_500, 4_000, 6_000, 10_000,
    15_000, 25_000, 40_000, 60_000, 100_000, 150_000, 300_000,
];

/// Buckets of the latency histogram.
pub const LATENCY_BUCKETS: usize = LATENCY_BOUNDS_MS.len() + 1;

/// The histogram bucket a latency falls in.
pub fn latency_bucket(ms: u64) -> usize {
    LATENCY_BOUNDS_MS.partition_point(|bound| *bound < ms)
}

/// The sums of a set of usage records. Every sum saturates (and is never negative: prices and
/// counts are not), so a priced-at-the-maximum call cannot make a bucket fail to add up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollupFigures {
    pub requests: u64,
    /// Calls that ended in an error for their client (`error`, `server_closed`).
    pub errors: u64,
    pub cache_hits: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cached_tokens: u64,
    pub cache_write_tokens: u64,
    pub reasoning_tokens: u64,
    /// What the platform pays for the calls with a known cost.
    pub cost: Money,
    /// What the platform charges a partner for the calls with a wholesale price.
    pub wholesale: Money,
    /// What the priced calls are charged.
    pub price: Money,
    /// Calls that used tokens of a model with no price: not in `price`.
    pub unpriced: u64,
    /// Calls per latency bucket ([`LATENCY_BOUNDS_MS`]).
    pub latency: [u64; LATENCY_BUCKETS],
}

impl RollupFigures {
    /// Adds one record.
    pub fn add(&mut self, record: &UsageRecord) {
        self.requests = self.requests.saturating_add(1);
        // A call the server cut ended in an error for its client, whatever it was billed.
        if matches!(
            record.status,
            UsageStatus::Error | UsageStatus::ServerClosed
        ) {
            self.errors = self.errors.saturating_add(1);
        }
        if record.status == UsageStatus::CacheHit {
            self.cache_hits = self.cache_hits.saturating_add(1);
        }
        self.prompt_tokens = self.prompt_tokens.saturating_add(record.prompt_tokens);
        self.completion_tokens = self
            .completion_tokens
            .saturating_add(record.completion_tokens);
        self.cached_tokens = self.cached_tokens.saturating_add(record.cached_tokens);
        self.cache_write_tokens = self
            .cache_write_tokens
            .saturating_add(record.cache_write_tokens);
        self.reasoning_tokens = self
            .reasoning_tokens
            .saturating_add(record.reasoning_tokens);
        if let Some(cost) = record.cost {
            self.cost = self.cost.saturating_add(cost);
        }
        if let Some(wholesale) = record.wholesale {
            self.wholesale = self.wholesale.saturating_add(wholesale);
        }
        match record.price {
            Some(price) => self.price = self.price.saturating_add(price),
            None if record.prompt_tokens > 0 || record.completion_tokens > 0 => {
                self.unpriced = self.unpriced.saturating_add(1);
            }
            None => {}
        }
        if let Some(count) = self.latency.get_mut(latency_bucket(record.latency_ms)) {
            *count = count.saturating_add(1);
        }
    }

    /// Adds another set's sums.
    pub fn merge(&mut self, other: &RollupFigures) {
        self.requests = self.requests.saturating_add(other.requests);
        self.errors = self.errors.saturating_add(other.errors);
        self.cache_hits = self.cache_hits.saturating_add(other.cache_hits);
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.completion_tokens = self
            .completion_tokens
            .saturating_add(other.completion_tokens);
        self.cached_tokens = self.cached_tokens.saturating_add(other.cached_tokens);
        self.cache_write_tokens = self
            .cache_write_tokens
            .saturating_add(other.cache_write_tokens);
        self.reasoning_tokens = self.reasoning_tokens.saturating_add(other.reasoning_tokens);
        self.cost = self.cost.saturating_add(other.cost);
        self.wholesale = self.wholesale.saturating_add(other.wholesale);
        self.price = self.price.saturating_add(other.price);
        self.unpriced = self.unpriced.saturating_add(other.unpriced);
        for (mine, theirs) in self.latency.iter_mut().zip(other.latency) {
            *mine = mine.saturating_add(theirs);
        }
    }

    /// The `p`th percentile latency (nearest rank), read from the histogram: interpolated
    /// within the bucket that holds the rank, the last bound for the open-ended bucket.
    pub fn latency_percentile(&self, p: u64) -> Option<u64> {
        let total = self
            .latency
            .iter()
            .fold(0u64, |sum, it| sum.saturating_add(*it));
        if total == 0 {
            return None;
        }
        let rank = u64::try_from((u128::from(p) * u128::from(total)).div_ceil(100))
            .unwrap_or(total)
            .clamp(1, total);
        let mut below = 0u64;
        for (index, count) in self.latency.iter().copied().enumerate() {
            if count == 0 || below.saturating_add(count) < rank {
                below = below.saturating_add(count);
                continue;
            }
            let lower = index
                .checked_sub(1)
                .and_then(|it| LATENCY_BOUNDS_MS.get(it))
                .copied()
                .unwrap_or(0);
            let Some(upper) = LATENCY_BOUNDS_MS.get(index).copied() else {
                return Some(lower);
            };
            // The rank's place among the bucket's calls, spread evenly over its width.
            let within = u128::from(rank - below) * u128::from(upper - lower) / u128::from(count);
            return Some(lower + u64::try_from(within).unwrap_or(upper - lower));
        }
        LATENCY_BOUNDS_MS.last().copied()
    }
}

/// One rollup: a bucket of one tenant's key, model and arm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollup {
    pub tenant_id: TenantId,
    pub grain: Grain,
    /// The bucket's start, a multiple of the grain's width since the epoch.
    pub start: OffsetDateTime,
    pub key_id: ApiKeyId,
    pub model_alias: String,
    /// The experiment arm; empty for calls of models without one.
    pub variant: String,
    /// Mirrors to shadow deployments, kept apart from the tenant's own calls.
    pub shadow: bool,
    pub figures: RollupFigures,
}

/// One minute of one tenant's key, model, arm and shadow flag, as `fold` gathers it.
struct MinuteGroup<'a> {
    tenant_id: TenantId,
    key_id: ApiKeyId,
    model: &'a str,
    variant: &'a str,
    shadow: bool,
    /// Seconds since the epoch, a whole minute.
    minute: i64,
    figures: RollupFigures,
}

impl MinuteGroup<'_> {
    fn holds(&self, record: &UsageRecord, minute: i64) -> bool {
        self.minute == minute
            && self.tenant_id == record.tenant_id
            && self.key_id == record.key_id
            && self.shadow == (record.status == UsageStatus::Shadow)
            && self.model == record.model_alias
            && self.variant == record.variant.as_deref().unwrap_or("")
    }
}

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Sums `records` into their rollups at every grain, one per distinct bucket, key, model, arm
/// and shadow flag, in a stable order (so that concurrent writers lock rows in the same order).
/// Runs on the usage writer for every batch, so each record is looked up once, by its minute
/// (and mostly not even that: a batch's records tend to share the last one's group); hours and
/// days are summed from the few minute groups.
pub fn fold<'a>(records: impl IntoIterator<Item = &'a UsageRecord>) -> Vec<Rollup> {
    type GroupKey<'a> = (TenantId, ApiKeyId, &'a str, &'a str, bool, i64);
    let mut groups: Vec<MinuteGroup<'a>> = Vec::new();
    let mut index: HashMap<GroupKey<'a>, usize> = HashMap::new();
    let mut last: Option<usize> = None;
    for record in records {
        let seconds = record.created_at.unix_timestamp();
        let minute = seconds - seconds.rem_euclid(Grain::Minute.seconds());
        let found = last.filter(|it| groups.get(*it).is_some_and(|g| g.holds(record, minute)));
        let place = match found {
            Some(place) => place,
            None => {
                let variant = record.variant.as_deref().unwrap_or("");
                let shadow = record.status == UsageStatus::Shadow;
                let key = (
                    record.tenant_id,
                    record.key_id,
                    record.model_alias.as_str(),
                    variant,
                    shadow,
                    minute,
                );
                *index.entry(key).or_insert_with(|| {
                    groups.push(MinuteGroup {
                        tenant_id: record.tenant_id,
                        key_id: record.key_id,
                        model: &record.model_alias,
                        variant,
                        shadow,
                        minute,
                        figures: RollupFigures::default(),
                    });
                    groups.len() - 1
                })
            }
        };
        if let Some(group) = groups.get_mut(place) {
            group.figures.add(record);
        }
        last = Some(place);
    }
    let mut rollups: Vec<Rollup> = Vec::with_capacity(groups.len() * 3);
    type CoarserKey<'a> = (Grain, i64, TenantId, ApiKeyId, &'a str, &'a str, bool);
    let mut coarser: HashMap<CoarserKey<'a>, usize> = HashMap::new();
    for group in &groups {
        let rollup = |grain: Grain, start: i64| Rollup {
            tenant_id: group.tenant_id,
            grain,
            start: at(start),
            key_id: group.key_id,
            model_alias: group.model.to_owned(),
            variant: group.variant.to_owned(),
            shadow: group.shadow,
            figures: group.figures.clone(),
        };
        rollups.push(rollup(Grain::Minute, group.minute));
        for grain in [Grain::Hour, Grain::Day] {
            let start = group.minute - group.minute.rem_euclid(grain.seconds());
            let key = (
                grain,
                start,
                group.tenant_id,
                group.key_id,
                group.model,
                group.variant,
                group.shadow,
            );
            match coarser.get(&key) {
                Some(existing) => {
                    if let Some(it) = rollups.get_mut(*existing) {
                        it.figures.merge(&group.figures);
                    }
                }
                None => {
                    coarser.insert(key, rollups.len());
                    rollups.push(rollup(grain, start));
                }
            }
        }
    }
    rollups.sort_by(|a, b| {
        (
            a.tenant_id,
            a.grain,
            a.start,
            a.key_id,
            &a.model_alias,
            &a.variant,
            a.shadow,
        )
            .cmp(&(
                b.tenant_id,
                b.grain,
                b.start,
                b.key_id,
                &b.model_alias,
                &b.variant,
                b.shadow,
            ))
    });
    rollups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RequestId, UsageId};

    fn record(at: OffsetDateTime, model: &str, latency: u64) -> UsageRecord {
        UsageRecord {
            id: UsageId::new(),
            request_id: RequestId::new(),
            tenant_id: TenantId(uuid::Uuid::nil()),
            key_id: ApiKeyId(uuid::Uuid::nil()),
            endpoint: "chat.completions".into(),
            model_alias: model.into(),
            provider: "mock".into(),
            upstream_model: model.into(),
            attempts: Vec::new(),
            variant: None,
            stream: false,
            prompt_tokens: 10,
            completion_tokens: 5,
            cached_tokens: 2,
            cache_write_tokens: 1,
            reasoning_tokens: 3,
            estimated: false,
            raw_usage: None,
            status: UsageStatus::Ok,
            http_status: 200,
            error_code: None,
            latency_ms: latency,
            ttft_ms: None,
            created_at: at,
            cost: Some(Money::from_nanos(7)),
            wholesale: None,
            price: Some(Money::from_nanos(11)),
        }
    }

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(seconds).unwrap()
    }

    #[test]
    fn every_record_lands_once_in_each_grain() {
        let day = 1_800_000_000 - 1_800_000_000 % 86_400;
        let mut shadow = record(at(day + 61), "gpt", 30);
        shadow.status = UsageStatus::Shadow;
        let mut arm = record(at(day + 3_700), "gpt", 30);
        arm.variant = Some("canary".into());
        let records = [
            record(at(day + 1), "gpt", 30),
            record(at(day + 59), "gpt", 30),
            record(at(day + 61), "gpt", 30),
            shadow,
            arm,
            record(at(day + 3_700), "claude", 30),
        ];
        let rollups = fold(&records);
        for grain in Grain::ALL {
            let mine: Vec<&Rollup> = rollups.iter().filter(|it| it.grain == grain).collect();
            let requests: u64 = mine.iter().map(|it| it.figures.requests).sum();
            assert_eq!(requests, 6, "{grain:?}");
            let price: i64 = mine.iter().map(|it| it.figures.price.nanos()).sum();
            assert_eq!(price, 66, "{grain:?}");
            assert!(mine.iter().all(|it| it.start == grain.floor(it.start)));
        }
        let minutes: Vec<(i64, &str, &str, bool, u64)> = rollups
            .iter()
            .filter(|it| it.grain == Grain::Minute)
            .map(|it| {
                (
                    it.start.unix_timestamp() - day,
                    it.model_alias.as_str(),
                    it.variant.as_str(),
                    it.shadow,
                    it.figures.requests,
                )
            })
            .collect();
        assert_eq!(
            minutes,
            [
                (0, "gpt", "", false, 2),
                (60, "gpt", "", false, 1),
                (60, "gpt", "", true, 1),
                (3_660, "claude", "", false, 1),
                (3_660, "gpt", "canary", false, 1),
            ]
        );
        let days: Vec<&Rollup> = rollups.iter().filter(|it| it.grain == Grain::Day).collect();
        assert_eq!(days.len(), 4, "gpt, gpt's shadow, gpt's canary, claude");
        let gpt = days
            .iter()
            .find(|it| it.model_alias == "gpt" && it.variant.is_empty() && !it.shadow)
            .unwrap();
        assert_eq!(
            (
                gpt.figures.prompt_tokens,
                gpt.figures.completion_tokens,
                gpt.figures.cached_tokens,
                gpt.figures.cache_write_tokens,
                gpt.figures.reasoning_tokens,
                gpt.figures.cost.nanos(),
            ),
            (30, 15, 6, 3, 9, 21)
        );
    }

    #[test]
    fn the_fold_equals_summing_each_record_into_each_grain() {
        // Interleaved keys, models, arms and times across minutes, hours and days: the groups
        // the fold keeps by minute add up to what summing record by record gives.
        let keys = [ApiKeyId::new(), ApiKeyId::new(), ApiKeyId::new()];
        let day = 1_800_000_000 - 1_800_000_000 % 86_400;
        let records: Vec<UsageRecord> = (0..500_i64)
            .map(|i| {
                let mut it = record(
                    at(day + (i * 7_919) % 200_000),
                    ["a", "b"][(i % 2) as usize],
                    (i as u64) * 13,
                );
                it.key_id = keys[(i % 3) as usize];
                it.variant = (i % 5 == 0).then(|| "arm".to_owned());
                if i % 11 == 0 {
                    it.status = UsageStatus::Shadow;
                }
                it
            })
            .collect();
        let mut expected: std::collections::BTreeMap<
            (Grain, i64, ApiKeyId, String, String, bool),
            RollupFigures,
        > = std::collections::BTreeMap::new();
        for it in &records {
            for grain in Grain::ALL {
                let key = (
                    grain,
                    grain.floor(it.created_at).unix_timestamp(),
                    it.key_id,
                    it.model_alias.clone(),
                    it.variant.clone().unwrap_or_default(),
                    it.status == UsageStatus::Shadow,
                );
                expected.entry(key).or_default().add(it);
            }
        }
        let folded: std::collections::BTreeMap<_, _> = fold(&records)
            .into_iter()
            .map(|it| {
                (
                    (
                        it.grain,
                        it.start.unix_timestamp(),
                        it.key_id,
                        it.model_alias,
                        it.variant,
                        it.shadow,
                    ),
                    it.figures,
                )
            })
            .collect();
        assert_eq!(folded, expected);
    }

    #[test]
    fn errors_cache_hits_and_unpriced_calls_are_counted() {
        let now = at(1_800_000_000);
        let mut failed = record(now, "gpt", 10);
        failed.status = UsageStatus::ServerClosed;
        let mut hit = record(now, "gpt", 10);
        hit.status = UsageStatus::CacheHit;
        hit.price = Some(Money::ZERO);
        let mut unpriced = record(now, "gpt", 10);
        unpriced.price = None;
        let mut nothing_used = record(now, "gpt", 10);
        nothing_used.price = None;
        nothing_used.prompt_tokens = 0;
        nothing_used.completion_tokens = 0;
        let rollups = fold(&[failed, hit, unpriced, nothing_used]);
        let day = rollups.iter().find(|it| it.grain == Grain::Day).unwrap();
        assert_eq!(
            (
                day.figures.errors,
                day.figures.cache_hits,
                day.figures.unpriced
            ),
            (1, 1, 1),
            "a call that used nothing is not unpriced"
        );
        assert_eq!(day.figures.price.nanos(), 11);
    }

    #[test]
    fn merged_figures_equal_figures_of_all_records() {
        let now = at(1_800_000_000);
        let records: Vec<UsageRecord> = (0..50).map(|i| record(now, "gpt", i * 37)).collect();
        let (left, right) = records.split_at(17);
        let mut merged = RollupFigures::default();
        for half in [left, right] {
            let mut part = RollupFigures::default();
            half.iter().for_each(|it| part.add(it));
            merged.merge(&part);
        }
        let mut whole = RollupFigures::default();
        records.iter().for_each(|it| whole.add(it));
        assert_eq!(merged, whole);
    }

    #[test]
    fn latency_buckets_and_percentiles() {
        assert_eq!(latency_bucket(0), 0);
        assert_eq!(latency_bucket(5), 0);
        assert_eq!(latency_bucket(6), 1);
        assert_eq!(latency_bucket(300_000), LATENCY_BOUNDS_MS.len() - 1);
        assert_eq!(latency_bucket(u64::MAX), LATENCY_BOUNDS_MS.len());

        let mut figures = RollupFigures::default();
        assert_eq!(figures.latency_percentile(50), None);
        // 10, 20, …, 200 ms: exactly p50 = 100, p95 = 190.
        for ms in (1..=20).map(|it| it * 10) {
            figures.add(&record(at(0), "gpt", ms));
        }
        let p50 = figures.latency_percentile(50).unwrap();
        let p95 = figures.latency_percentile(95).unwrap();
        assert!(
            (60..=100).contains(&p50),
            "p50 {p50} in the exact value's bucket"
        );
        assert!(
            (150..=250).contains(&p95),
            "p95 {p95} in the exact value's bucket"
        );
        assert!(p50 <= p95);

        let mut slow = RollupFigures::default();
        slow.add(&record(at(0), "gpt", 10_000_000));
        assert_eq!(
            slow.latency_percentile(50),
            Some(300_000),
            "the open bucket: its bound"
        );
        assert_eq!(slow.latency_percentile(0), Some(300_000));
    }

    #[test]
    fn coarsest_grain_that_tiles_a_window() {
        let day = 1_800_000_000 - 1_800_000_000 % 86_400;
        let grain = |from, to, bucket| Grain::coarsest_for(at(from), at(to), bucket);
        assert_eq!(grain(day, day + 86_400 * 7, 86_400), Some(Grain::Day));
        assert_eq!(grain(day, day + 86_400, 3_600), Some(Grain::Hour));
        assert_eq!(
            grain(day + 3_600, day + 86_400 * 2, 21_600),
            Some(Grain::Hour)
        );
        assert_eq!(grain(day + 60, day + 3_660, 60), Some(Grain::Minute));
        assert_eq!(grain(day + 900, day + 86_400, 900), Some(Grain::Minute));
        assert_eq!(grain(day + 1, day + 3_600, 60), None);
        assert_eq!(Grain::Hour.floor(at(day + 7_199)), at(day + 3_600));
        assert_eq!(Grain::Day.floor(at(day - 1)), at(day - 86_400));
        for grain in Grain::ALL {
            assert_eq!(Grain::from_stored(grain.as_str()), Some(grain));
        }
    }
}
