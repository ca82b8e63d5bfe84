//! Plans already built, by key: naming a call's counters formats ids into every name (about
//! 1 500 instructions a counter), the same names for every call of a key. A built plan is
//! reused while the policies and the key it was built from are the ones the call carries
//! (compared by pointer: the access snapshot replaces them when they change) and the UTC day
//! is the one it was built on (budget periods' names change at midnight only).
//!
//! Plans with per-model limits are not kept: their counters depend on the call's model.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use domain::{ApiKey, ApiKeyId};
use store::limits::DAY_MS;
use time::OffsetDateTime;

use super::plan::{Models, Plan, Who};
use crate::access::TenantLimits;

const SHARDS: usize = 8;
/// The most plans a shard keeps; past it the shard starts over (keys come and go).
const PER_SHARD: usize = 8_192;

type Map = HashMap<ApiKeyId, Arc<Built>, foldhash::fast::RandomState>;

/// Plans built for keys, reused across their calls.
#[derive(Debug, Default)]
pub(crate) struct BuiltPlans {
    shards: [Mutex<Map>; SHARDS],
}

#[derive(Debug)]
struct Built {
    limits: Option<Arc<TenantLimits>>,
    key: Arc<ApiKey>,
    day: i64,
    plan: Plan,
}

impl Built {
    fn fits(&self, limits: Option<&Arc<TenantLimits>>, key: &Arc<ApiKey>, day: i64) -> bool {
        self.day == day
            && Arc::ptr_eq(&self.key, key)
            && match (&self.limits, limits) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            }
    }
}

impl BuiltPlans {
    /// The plan of a call of `key` on `model` at `now`, its in-flight slots held for
    /// `lease_ms`: as [`Plan::of`] builds it, from a kept copy where there is one.
    pub(crate) fn plan(
        &self,
        who: Who<'_>,
        limits: Option<&Arc<TenantLimits>>,
        key: &Arc<ApiKey>,
        model: &str,
        now: OffsetDateTime,
        lease_ms: u64,
    ) -> Plan {
        let per_model = limits.is_some_and(|it| it.each().any(|policy| !policy.models.is_empty()));
        if per_model {
            return Plan::of(who, Models::One(model), now, lease_ms);
        }
        let day = i64::try_from(now.unix_timestamp_nanos() / 1_000_000 / i128::from(DAY_MS))
            .unwrap_or(i64::MAX);
        let shard = &self.shards[key.id.0.as_u128() as usize % SHARDS];
        let kept = shard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key.id)
            .cloned();
        if let Some(built) = kept.filter(|it| it.fits(limits, key, day)) {
            let mut plan = built.plan.clone();
            plan.set_lease(lease_ms);
            return plan;
        }
        let plan = Plan::of(who, Models::One(model), now, lease_ms);
        let built = Arc::new(Built {
            limits: limits.cloned(),
            key: key.clone(),
            day,
            plan: plan.clone(),
        });
        let mut map = shard.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= PER_SHARD {
            map.clear();
        }
        map.insert(key.id, built);
        plan
    }
}
