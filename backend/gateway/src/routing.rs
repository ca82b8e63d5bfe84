//! Which deployment of a route a call tries, in what order, and how long it waits before
//! trying one again. Pure decisions over the route and its live figures: the attempt loop
//! that acts on them is `dispatch`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::catalog::{Deployment, Route};

/// How a route spreads calls over deployments of equal priority. Lower priorities are always
/// tried first; the strategy orders each priority's deployments, and the next ones are the
/// fallbacks of the ones before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Configuration order.
    #[default]
    Priority,
    /// Random, in proportion to each deployment's weight (weight 0: only as a fallback).
    Weighted,
    /// Each call starts one deployment further than the last.
    RoundRobin,
    /// Lowest moving average of time to first byte first; unmeasured ones first, so that
    /// every deployment gets measured.
    LeastLatency,
    /// Lowest `cost` the operator set first; deployments without one last.
    LeastCost,
    /// Lowest share of its `rpm`/`tpm` ceilings used in the last minute on this node first (a
    /// deployment without ceilings counts as unused); equal shares in configuration order.
    UsageAware,
    /// An experiment (A/B test or canary): each end user's first try goes to one deployment,
    /// chosen by a hash of the route and the end user in proportion to the weights, so the
    /// same user always lands on the same arm; the others follow in configuration order.
    Split,
}

impl Strategy {
    pub const NAMES: [&'static str; 7] = [
        "priority",
        "weighted",
        "round_robin",
        "least_latency",
        "least_cost",
        "usage_aware",
        "split",
    ];

    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "priority" => Strategy::Priority,
            "weighted" => Strategy::Weighted,
            "round_robin" => Strategy::RoundRobin,
            "least_latency" => Strategy::LeastLatency,
            "least_cost" => Strategy::LeastCost,
            "usage_aware" => Strategy::UsageAware,
            "split" => Strategy::Split,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Priority => "priority",
            Strategy::Weighted => "weighted",
            Strategy::RoundRobin => "round_robin",
            Strategy::LeastLatency => "least_latency",
            Strategy::LeastCost => "least_cost",
            Strategy::UsageAware => "usage_aware",
            Strategy::Split => "split",
        }
    }

    /// Whether ordering needs the caller's end user (`RequestCtx::end_user`): endpoints hash
    /// it only then, so other routes pay nothing for it.
    pub fn needs_end_user(self) -> bool {
        self == Strategy::Split
    }
}

/// A stable 64-bit hash (FNV-1a, then SplitMix64's finaliser to spread FNV's weak low bits):
/// the same on every node and every build, so an end user's arm survives restarts and does not
/// depend on which node answers, unlike std's randomly keyed hasher.
fn stable_hash(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        // A separator, so ("ab", "c") and ("a", "bc") differ.
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The end user's identity as `split` sees it: the request's own end-user id (`user`, or
/// Messages' `metadata.user_id`) when it has one, else the API key. The two are kept apart, so
/// a `user` that happens to equal a key id is still another user.
pub fn end_user_hash(user: Option<&str>, key: domain::ApiKeyId) -> u64 {
    match user {
        Some(user) => stable_hash(&[b"user", user.as_bytes()]),
        None => stable_hash(&[b"key", key.0.as_bytes()]),
    }
}

/// Which of `tier` (deployment indices) an end user's first try goes to: a point of the hash
/// of the route's alias and the end user, over the tier's weights.
fn sticky_choice(
    alias: &str,
    end_user: u64,
    tier: &[usize],
    weight: impl Fn(usize) -> u64,
) -> Option<usize> {
    let total: u64 = tier.iter().map(|&i| weight(i)).sum();
    if total == 0 {
        return None;
    }
    let mut point = stable_hash(&[alias.as_bytes(), &end_user.to_le_bytes()]) % total;
    for (n, &i) in tier.iter().enumerate() {
        let w = weight(i);
        if point < w {
            return Some(n);
        }
        point -= w;
    }
    None
}

/// A deployment's live figures, shared by every call on this node.
#[derive(Debug, Default)]
pub struct DeploymentStats {
    /// Moving average of the time to the first byte, in microseconds; 0 until measured.
    ttfb_micros: AtomicU64,
}

impl DeploymentStats {
    /// Folds in one answer's time to first byte (weight 1/5: a few slow answers move it,
    /// one does not dominate it).
    pub fn answered_after(&self, ttfb: Duration) {
        let sample = u64::try_from(ttfb.as_micros()).unwrap_or(u64::MAX).max(1);
        // A lost race between two updates loses one sample: harmless for an average.
        let old = self.ttfb_micros.load(Ordering::Relaxed);
        let new = if old == 0 {
            sample
        } else {
            old.saturating_mul(4).saturating_add(sample) / 5
        };
        self.ttfb_micros.store(new, Ordering::Relaxed);
    }

    /// The moving average; zero when nothing was measured yet.
    pub fn ttfb(&self) -> Duration {
        Duration::from_micros(self.ttfb_micros.load(Ordering::Relaxed))
    }
}

/// Indices into a route's deployments; a few fit without allocating.
pub(crate) type Order = smallvec::SmallVec<[usize; 4]>;

/// The order in which a call tries `route`'s deployments that `serves` accepts, each once;
/// the attempt loop cycles through it while tries remain. `end_user` is the caller's
/// [`end_user_hash`], which only `split` reads.
pub(crate) fn order(
    route: &Route,
    end_user: Option<u64>,
    serves: impl Fn(&Deployment) -> bool,
) -> Order {
    // Shadow deployments never answer a caller: they get mirrors instead.
    let mut res: Order = (0..route.deployments.len())
        .filter(|&i| {
            route
                .deployments
                .get(i)
                .is_some_and(|it| it.shadow.is_none() && serves(it))
        })
        .collect();
    if res.len() < 2 {
        return res;
    }
    let deployments = &route.deployments;
    let priority = |i: &usize| deployments.get(*i).map_or(u32::MAX, |it| it.priority);
    // Stable: configuration order within a priority, which the strategies below reorder.
    res.sort_by_key(priority);
    let mut start = 0;
    while start < res.len() {
        let tier = priority(&res[start]);
        let end = res[start..]
            .iter()
            .position(|i| priority(i) != tier)
            .map_or(res.len(), |n| start + n);
        order_tier(route, end_user, &mut res[start..end]);
        start = end;
    }
    res
}

/// Orders the deployments of one priority by the route's strategy.
fn order_tier(route: &Route, end_user: Option<u64>, tier: &mut [usize]) {
    if tier.len() < 2 {
        return;
    }
    let deployments = &route.deployments;
    match route.strategy {
        Strategy::Priority => {}
        Strategy::RoundRobin => {
            let turn = route.turn.fetch_add(1, Ordering::Relaxed);
            tier.rotate_left(turn % tier.len());
        }
        Strategy::LeastLatency => {
            tier.sort_by_key(|i| {
                deployments
                    .get(*i)
                    .map_or(Duration::MAX, |it| it.stats.ttfb())
            });
        }
        Strategy::LeastCost => {
            tier.sort_by_key(|i| {
                deployments
                    .get(*i)
                    .and_then(|it| it.cost_micros)
                    .unwrap_or(u64::MAX)
            });
        }
        Strategy::Weighted => {
            let weight = |i: usize| deployments.get(i).map_or(0, |it| u64::from(it.weight));
            weighted_shuffle(tier, weight, &mut |below| fastrand::u64(0..below));
        }
        Strategy::Split => {
            let weight = |i: usize| deployments.get(i).map_or(0, |it| u64::from(it.weight));
            // Without an end user (a caller of no endpoint that names one) the split is still
            // kept, just not sticky.
            let end_user = end_user.unwrap_or_else(|| fastrand::u64(..));
            if let Some(first) = sticky_choice(&route.alias, end_user, tier, weight) {
                tier[..=first].rotate_right(1);
            }
        }
        Strategy::UsageAware => {
            let now = Instant::now();
            // Read once each: other calls move the counts while this one sorts.
            let mut keyed: smallvec::SmallVec<[(u64, usize); 4]> = tier
                .iter()
                .map(|&i| {
                    let used = deployments
                        .get(i)
                        .and_then(|it| it.ceiling.as_ref())
                        .map_or(0, |it| it.utilisation(now));
                    (used, i)
                })
                .collect();
            keyed.sort_by_key(|it| it.0);
            for (slot, (_, i)) in tier.iter_mut().zip(keyed) {
                *slot = i;
            }
        }
    }
}

/// Orders `items` as draws without replacement, each in proportion to its weight; weight-0
/// items keep their order after the others. `pick(n)` returns a number in `0..n`.
fn weighted_shuffle(
    items: &mut [usize],
    weight: impl Fn(usize) -> u64,
    pick: &mut impl FnMut(u64) -> u64,
) {
    for first in 0..items.len() {
        let rest = &items[first..];
        let total: u64 = rest.iter().map(|&i| weight(i)).sum();
        if total == 0 {
            return;
        }
        let mut point = pick(total);
        let mut chosen = first;
        for (n, &i) in rest.iter().enumerate() {
            let w = weight(i);
            if point < w {
                chosen = first + n;
                break;
            }
            point -= w;
        }
        items[first..=chosen].rotate_right(1);
    }
}

/// How long to wait before the next try: nothing when it goes to a deployment not tried
/// yet, else `base` doubled for each earlier round with up to half of it again as jitter, or
/// the upstream's `retry-after` when that is longer.
pub(crate) fn backoff(
    base: Duration,
    round: u32,
    retry_after: Option<Duration>,
    jitter: impl FnOnce(u64) -> u64,
) -> Duration {
    if round == 0 {
        return Duration::ZERO;
    }
    let doubled = base.saturating_mul(1 << (round - 1).min(10));
    let half = u64::try_from(doubled.as_millis() / 2).unwrap_or(u64::MAX);
    let wait = doubled + Duration::from_millis(jitter(half.saturating_add(1)));
    retry_after.map_or(wait, |it| it.max(wait))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_draws_follow_the_weights_and_zero_weights_go_last() {
        let weights = [3_u64, 1, 0];
        let mut firsts = [0_u32; 3];
        // Seeded: the same draws on every run.
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..4000 {
            let mut items = [0, 1, 2];
            weighted_shuffle(&mut items, |i| weights[i], &mut |n| rng.u64(0..n));
            firsts[items[0]] += 1;
            assert_eq!(items[2], 2, "weight 0 is only a fallback");
        }
        assert_eq!(firsts[2], 0);
        let share = f64::from(firsts[0]) / 4000.0;
        assert!((0.7..0.8).contains(&share), "{firsts:?}");
    }

    const PINNED: u64 = 248_441_471_262_254_366;

    /// Over 10,000 end users, each arm's share of first tries is within two points of its
    /// weight, and a user's arm never changes.
    #[test]
    fn a_split_spreads_end_users_by_weight_and_keeps_each_on_one_arm() {
        for weights in [&[90_u64, 10][..], &[50, 30, 20][..]] {
            let tier: Vec<usize> = (0..weights.len()).collect();
            let mut firsts = vec![0_u32; weights.len()];
            for n in 0..10_000 {
                let user = end_user_hash(Some(&format!("user-{n}")), domain::ApiKeyId::new());
                let first = sticky_choice("gpt", user, &tier, |i| weights[i]).unwrap();
                assert_eq!(
                    sticky_choice("gpt", user, &tier, |i| weights[i]),
                    Some(first),
                    "sticky"
                );
                firsts[first] += 1;
            }
            let total: u64 = weights.iter().sum();
            for (arm, &count) in firsts.iter().enumerate() {
                let share = f64::from(count) / 10_000.0;
                #[expect(clippy::cast_precision_loss, reason = "small test numbers")]
                let target = weights[arm] as f64 / total as f64;
                assert!(
                    (share - target).abs() <= 0.02,
                    "{weights:?}: arm {arm} got {share}"
                );
            }
        }
        // Without `user`, the key decides; a `user` equal to a key's id is another user.
        let key = domain::ApiKeyId::new();
        assert_eq!(end_user_hash(None, key), end_user_hash(None, key));
        assert_ne!(
            end_user_hash(None, key),
            end_user_hash(Some(&key.to_string()), key)
        );
        assert_eq!(sticky_choice("gpt", 1, &[0, 1], |_| 0), None);
        // Pinned: arms must not move when this code is rebuilt or runs on another node.
        assert_eq!(stable_hash(&[b"a", b"bc"]), PINNED);
        assert_ne!(stable_hash(&[b"ab", b"c"]), stable_hash(&[b"a", b"bc"]));
    }

    #[test]
    fn backoff_doubles_honours_retry_after_and_never_waits_for_a_new_deployment() {
        let base = Duration::from_millis(100);
        assert_eq!(
            backoff(base, 0, Some(Duration::from_secs(9)), |_| 0),
            Duration::ZERO
        );
        assert_eq!(backoff(base, 1, None, |_| 0), base);
        assert_eq!(backoff(base, 3, None, |_| 0), Duration::from_millis(400));
        assert_eq!(
            backoff(base, 3, None, |n| n - 1),
            Duration::from_millis(600)
        );
        assert_eq!(
            backoff(base, 1, Some(Duration::from_secs(2)), |_| 0),
            Duration::from_secs(2)
        );
        assert_eq!(backoff(base, 60, None, |_| 0), base * 1024);
    }

    #[test]
    fn ttfb_average_starts_at_the_first_sample() {
        let stats = DeploymentStats::default();
        assert_eq!(stats.ttfb(), Duration::ZERO);
        stats.answered_after(Duration::from_millis(100));
        assert_eq!(stats.ttfb(), Duration::from_millis(100));
        stats.answered_after(Duration::from_millis(600));
        assert_eq!(stats.ttfb(), Duration::from_millis(200));
    }
}
