//! Rate-limit and budget counters shared by every node: what one call asks of them
//! ([`Counter`]), what they answer ([`Admission`]), what is adjusted after the call
//! ([`Pending`]), and the port ([`SharedLimiter`]) that Redis implements (`store-redis`) and
//! the gateway implements again in process.
//!
//! The engine knows counters, not tenants or keys: the caller names each counter and picks
//! its window and limit.
//!
//! # Windows
//!
//! * [`Window::Sliding`]: requests or tokens per span (a minute, a day) as a *sliding window
//!   counter*: two fixed buckets of one span each, the previous one weighed by the share of it
//!   still inside the span that ends now. It is an estimate that assumes the previous bucket's
//!   use was spread evenly, for two numbers per counter. We chose it over GCRA because a
//!   reservation must be *settled* later (a call reserves its estimated tokens and corrects
//!   them when it ends): with buckets a correction is an addition to the bucket the take
//!   landed in, exact and order-free, whereas GCRA keeps one theoretical arrival time whose
//!   later corrections interact with every take since.
//! * [`Window::Period`]: a calendar budget (day, week, month): one counter per period id, which
//!   expires an hour after the period's end, so late settlements still land.
//! * [`Window::Rolling`]: the last `days` UTC days, one bucket per day, summed.
//! * [`Window::InFlight`]: calls in progress, each a member with a lease; a member whose lease
//!   ran out is gone (its node died), so slots free themselves.
//!
//! # Hash tags
//!
//! Every key one [`SharedLimiter::admit`] or [`SharedLimiter::settle`] touches, the pending
//! adjustments' included, must carry the same Redis Cluster hash tag (`{...}`, e.g.
//! `{t:<tenant uuid>}:k:<key uuid>:rpm`): the Redis implementation runs one script over all of
//! them, which Redis Cluster allows only within one slot. The caller guarantees it ([`hash_tag`]
//! helps group adjustments).

#[cfg(feature = "contract")]
pub mod contract;

use std::sync::Arc;

use async_trait::async_trait;

use crate::Error;

/// Milliseconds in a day: rolling windows count whole UTC days since the Unix epoch.
pub const DAY_MS: u64 = 86_400_000;

/// How long a period's counter outlives the period's end, so that settlements of calls that
/// ended after it still land (and are then forgotten).
pub const PERIOD_GRACE_MS: u64 = 3_600_000;

/// One limit that applies to a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    /// The counter's full name, built by the caller; unique within one call, and with the
    /// call's hash tag (see the module's documentation). Shared: a key's plan is built once
    /// and its names go with every call's settlements.
    pub key: Arc<str>,
    pub window: Window,
    /// The most the window may hold; 0 refuses every take but a check (`take` 0).
    pub limit: u64,
    /// What this call takes: requests, tokens, micro-dollars. 0 only checks, and is never
    /// refused. For [`Window::InFlight`] any non-zero take is one slot.
    pub take: u64,
}

/// How a counter forgets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Window {
    /// A sliding window of `span_ms` (see the module's documentation).
    Sliding { span_ms: u64 },
    /// A calendar period, computed by the caller: `id` names it (e.g. `2026-12`), `ends_at_ms`
    /// is its end in Unix milliseconds.
    Period { id: Arc<str>, ends_at_ms: u64 },
    /// The last `days` UTC days, today's included.
    Rolling { days: u32 },
    /// Calls in progress, each held for at most `lease_ms` unless released.
    InFlight { lease_ms: u64 },
}

/// Where a take landed, to settle it later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bucket {
    /// The bucket `index` (Unix milliseconds / `span_ms`) of a sliding window.
    Sliding { span_ms: u64, index: u64 },
    /// The period's counter.
    Period { id: Arc<str>, ends_at_ms: u64 },
    /// The UTC `day` (Unix milliseconds / [`DAY_MS`]) of a rolling window.
    Rolling { days: u32, day: u64 },
}

impl Bucket {
    /// The bucket a take into `window` lands in at `now_ms`; `None` for in-flight windows
    /// (released by call id, not settled).
    pub fn at(window: &Window, now_ms: u64) -> Option<Bucket> {
        match window {
            Window::Sliding { span_ms } => Some(Bucket::Sliding {
                span_ms: *span_ms,
                index: now_ms / (*span_ms).max(1),
            }),
            Window::Period { id, ends_at_ms } => Some(Bucket::Period {
                id: id.clone(),
                ends_at_ms: *ends_at_ms,
            }),
            Window::Rolling { days } => Some(Bucket::Rolling {
                days: *days,
                day: now_ms / DAY_MS,
            }),
            Window::InFlight { .. } => None,
        }
    }
}

/// An adjustment of a counter after the call that took from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// Corrects a take: `delta` is actual − reserved (negative gives back; a failed call gives
    /// back all it took). A bucket that no longer counts is left alone, and a counter never
    /// goes below 0.
    Settle {
        key: Arc<str>,
        bucket: Bucket,
        delta: i64,
    },
    /// Frees the in-flight slot of call `member` (the call id given at admit).
    Release { key: Arc<str>, member: String },
    /// Makes the adjustments after it, up to the next mark, one batch applied at most once:
    /// a batch sent again because the reply to its first sending was lost (it may or may not
    /// have been applied) is skipped when it was. `key` names the batch under the hash tag of
    /// its adjustments (see [`batch_key`]); the mark is remembered for [`BATCH_MEMORY_MS`].
    Batch { key: Arc<str> },
}

/// How long a batch's mark is remembered: a batch sent again later than this after its first
/// sending could be applied twice. Retries come within milliseconds (the next admission of
/// the same tag, or the flusher within a second) unless the counters stay unreachable this
/// long. Each carrying round trip leaves one small key for this long (about 12 MB in Redis
/// at 1 000 carrying calls a second).
pub const BATCH_MEMORY_MS: u64 = 2 * 60_000;

/// The name of batch `id`'s mark under hash tag `tag` (as [`hash_tag`] answers it).
pub fn batch_key(tag: &str, id: &str) -> Arc<str> {
    format!("{{{tag}}}:batch:{id}").into()
}

impl Pending {
    /// The counter's name.
    pub fn key(&self) -> &str {
        match self {
            Pending::Settle { key, .. } | Pending::Release { key, .. } | Pending::Batch { key } => {
                key
            }
        }
    }
}

/// What the counters answered one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// `None`: admitted, every take was made. `Some`: nothing was taken anywhere.
    pub refused: Option<Refusal>,
    /// One per counter, in the order asked.
    pub counters: Vec<CounterState>,
    /// The clock the counters used (Redis's `TIME` for Redis), in Unix milliseconds.
    pub now_ms: u64,
}

impl Admission {
    pub fn is_admitted(&self) -> bool {
        self.refused.is_none()
    }
}

/// The first counter that refused a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Its position among the counters asked.
    pub index: usize,
    /// When the same take could pass, as far as can be told now (at least 1 ms): for a
    /// sliding window when enough of the previous buckets slid out, for a period its end, for
    /// a rolling window when enough days left it, for in-flight calls the earliest lease end.
    pub retry_after_ms: u64,
    /// The take alone is above the limit: no wait will let it pass.
    pub exceeds_limit: bool,
}

/// A counter's state after the call: taken from if admitted, as it was if refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterState {
    /// What the window holds (a sliding window's weighted estimate, rounded down).
    pub used: u64,
    /// `limit − used`, at least 0.
    pub remaining: u64,
    /// Time until the window holds nothing of what it holds now (OpenAI's
    /// `x-ratelimit-reset-*`): for a period, its end.
    pub reset_ms: u64,
    /// Where the take landed, to settle it; `None` when refused or for in-flight windows.
    pub bucket: Option<Bucket>,
}

/// The counters every node shares.
///
/// # Invariants
/// * One call of either method is one round trip: the adjustments first, then the admission,
///   atomically.
/// * Every key written gets an expiry.
#[async_trait]
pub trait SharedLimiter: Send + Sync + std::fmt::Debug {
    /// Applies `pending` (in order), then admits `call_id` on `counters`, all or nothing.
    ///
    /// # Errors
    /// `Unavailable` when the counters cannot be reached (or did not answer in time);
    /// `Other` when they refused the request as malformed.
    async fn admit(
        &self,
        pending: &[Pending],
        counters: &[Counter],
        call_id: &str,
    ) -> Result<Admission, Error>;

    /// Applies `pending` alone, when no call comes to carry it.
    ///
    /// # Errors
    /// As [`SharedLimiter::admit`].
    async fn settle(&self, pending: &[Pending]) -> Result<(), Error>;
}

/// The Redis Cluster hash tag of `key`: what is between the first `{` and the next `}`, if
/// that is not empty, else the whole key (Redis's own rule).
pub fn hash_tag(key: &str) -> &str {
    if let Some(open) = key.find('{')
        && let Some(len) = key[open + 1..].find('}')
        && len > 0
    {
        return &key[open + 1..open + 1 + len];
    }
    key
}

/// The arithmetic both implementations share, so that they answer alike to the millisecond.
pub mod arithmetic {
    use super::{Bucket, DAY_MS};

    /// A sliding window's weighted estimate: `current` plus `previous` weighed by the share of
    /// the previous bucket still inside the span ending at `into_ms` into the current one.
    pub fn sliding_used(previous: u64, current: u64, span_ms: u64, into_ms: u64) -> u64 {
        let span = u128::from(span_ms.max(1));
        let left = span - u128::from(into_ms).min(span);
        let weighted = u128::from(previous) * left / span;
        current.saturating_add(u64::try_from(weighted).unwrap_or(u64::MAX))
    }

    /// Time until a sliding window holds nothing of its `previous` and `current` buckets.
    pub fn sliding_reset(previous: u64, current: u64, span_ms: u64, into_ms: u64) -> u64 {
        let to_end = span_ms.saturating_sub(into_ms);
        if current > 0 {
            to_end + span_ms
        } else if previous > 0 {
            to_end
        } else {
            0
        }
    }

    /// Time until `take` fits in a sliding window under `limit`, assuming no other take;
    /// `None` when it never will (`take > limit`).
    pub fn sliding_retry(
        previous: u64,
        current: u64,
        span_ms: u64,
        into_ms: u64,
        limit: u64,
        take: u64,
    ) -> Option<u64> {
        if take > limit {
            return None;
        }
        let span = u128::from(span_ms.max(1));
        let into = u128::from(into_ms).min(span);
        let (previous, current, room) = (
            u128::from(previous),
            u128::from(current),
            u128::from(limit - take),
        );
        // Within the current bucket the previous one's weight, previous × (span − into − t) /
        // span, falls as t grows; the floor makes the estimate fit once that product is below
        // (room − current + 1) × span.
        if current <= room && previous == 0 {
            return Some(0);
        }
        if current <= room {
            let allowed = (room - current + 1) * span; // Strictly below this.
            let needed = (previous * (span - into)).saturating_sub(allowed - 1);
            let t = needed.div_ceil(previous);
            if t < span - into {
                return Some(u64::try_from(t).unwrap_or(u64::MAX));
            }
        }
        // Then the current bucket becomes the previous one, starting from full weight.
        let to_end = span - into;
        if current <= room {
            return Some(u64::try_from(to_end).unwrap_or(u64::MAX));
        }
        let allowed = (room + 1) * span;
        let needed = (current * span).saturating_sub(allowed - 1);
        let t = needed.div_ceil(current);
        Some(u64::try_from(to_end + t).unwrap_or(u64::MAX))
    }

    /// The state of a rolling window of `days` on `today`, from its daily counts (any order;
    /// days outside the window are ignored): what it holds, when it is empty again, and when
    /// `take` fits under `limit` (`None`: never).
    pub fn rolling(
        counts: &[(u64, u64)],
        days: u32,
        now_ms: u64,
        limit: u64,
        take: u64,
    ) -> (u64, u64, Option<u64>) {
        let today = now_ms / DAY_MS;
        let first = (today + 1).saturating_sub(u64::from(days));
        let mut live: Vec<(u64, u64)> = counts
            .iter()
            .copied()
            .filter(|(day, n)| *day >= first && *day <= today && *n > 0)
            .collect();
        live.sort_unstable();
        let used = live.iter().fold(0u64, |acc, (_, n)| acc.saturating_add(*n));
        let exit = |day: u64| (day + u64::from(days)) * DAY_MS - now_ms;
        let reset = live.last().map_or(0, |(day, _)| exit(*day));
        let retry = if take > limit {
            None
        } else {
            let mut left = used;
            let mut at = Some(0);
            for (day, n) in &live {
                if left.saturating_add(take) <= limit {
                    break;
                }
                left -= n;
                at = Some(exit(*day));
            }
            at
        };
        (used, reset, retry)
    }

    /// Whether a settlement into `bucket` at `now_ms` still counts (its bucket is in the
    /// window), and until when its counter must live if written now.
    pub fn live_until(bucket: &Bucket, now_ms: u64) -> Option<u64> {
        match bucket {
            Bucket::Sliding { span_ms, index } => {
                let span = (*span_ms).max(1);
                let current = now_ms / span;
                (*index + 1 >= current && *index <= current).then_some((current + 2) * span)
            }
            Bucket::Period { ends_at_ms, .. } => {
                let until = ends_at_ms.saturating_add(super::PERIOD_GRACE_MS);
                (now_ms < until).then_some(until)
            }
            Bucket::Rolling { days, day } => {
                let today = now_ms / DAY_MS;
                (*day <= today && *day + u64::from(*days) > today)
                    .then_some((today + u64::from(*days)) * DAY_MS)
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn sliding_estimate_weighs_the_previous_bucket_by_what_is_left_of_it() {
            assert_eq!(sliding_used(600, 10, 60_000, 0), 610);
            assert_eq!(sliding_used(600, 10, 60_000, 15_000), 460);
            assert_eq!(sliding_used(600, 10, 60_000, 59_999), 10);
            assert_eq!(sliding_used(0, 0, 60_000, 30_000), 0);
        }

        #[test]
        fn sliding_retry_is_when_the_estimate_first_fits() {
            for (previous, current, into, limit, take) in [
                (600u64, 10u64, 15_000u64, 500u64, 1u64),
                (600, 10, 0, 100, 20),
                (600, 100, 30_000, 100, 1),
                (0, 100, 30_000, 100, 1),
                (0, 100, 30_000, 100, 100),
                (7, 3, 1, 9, 2),
            ] {
                let span = 60_000;
                let t = sliding_retry(previous, current, span, into, limit, take).unwrap();
                let at = |t: u64| {
                    let into = into + t;
                    if into < span {
                        sliding_used(previous, current, span, into)
                    } else {
                        sliding_used(current, 0, span, into - span)
                    }
                };
                assert!(at(t) + take <= limit, "fits after {t}");
                if t > 0 {
                    assert!(at(t - 1) + take > limit, "not before {t}");
                }
            }
            assert_eq!(sliding_retry(0, 0, 60_000, 0, 5, 6), None);
        }

        #[test]
        fn rolling_counts_only_days_inside_the_window() {
            let now = 100 * DAY_MS + 1000;
            let counts = [(97, 1000), (98, 50), (99, 30), (100, 5)];
            let (used, reset, retry) = rolling(&counts, 3, now, 100, 20);
            assert_eq!(used, 85);
            assert_eq!(reset, 103 * DAY_MS - now);
            assert_eq!(retry, Some(101 * DAY_MS - now), "day 98 leaves first");
            assert_eq!(rolling(&counts, 3, now, 100, 101).2, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::hash_tag;

    #[test]
    fn hash_tags_follow_redis_rules() {
        assert_eq!(hash_tag("{t:1}:k:2:rpm"), "t:1");
        assert_eq!(hash_tag("plain"), "plain");
        assert_eq!(hash_tag("{}:x"), "{}:x");
        assert_eq!(hash_tag("a{b}c{d}"), "b");
        assert_eq!(hash_tag("a{b"), "a{b");
    }
}
