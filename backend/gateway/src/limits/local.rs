//! The counters in process memory (`LocalLimiter`): the same semantics as Redis's script
//! (`store_redis::limits`), the same arithmetic (`store::limits::arithmetic`), on this node's
//! clock. Used when no Redis is configured, and as the fail-open fallback when it is down.
//!
//! Counters live in shards of a hash map, each behind its own mutex; a call locks the shards
//! of its keys in index order (so two calls cannot deadlock) and holds them for the whole
//! check-then-take, which makes it all or nothing. Expired counters are pruned as a shard is
//! used, at most once a second, so memory follows the counters in use. Each name is hashed once
//! per call, for its shard and its place in the shard's table. A period's counter is kept
//! under the counter's name with the id of the period it counts (Redis keeps one key per
//! period): a new period starts it over, and an adjustment of an earlier one finds nothing to
//! adjust, as the earlier period no longer counts.

/// Counter names are the gateway's own (ids and configured aliases), not a caller's text: a
/// fast seeded hash is enough, where SipHash was half of an admission's work.
type HashMap<K, V> = hashbrown::HashMap<K, V, foldhash::fast::RandomState>;
use std::hash::BuildHasher;

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use smallvec::SmallVec;
use store::limits::arithmetic::{live_until, rolling, sliding_reset, sliding_retry, sliding_used};
use store::limits::{
    Admission, BATCH_MEMORY_MS, Bucket, Counter, CounterState, DAY_MS, PERIOD_GRACE_MS, Pending,
    Refusal, Window,
};

const SHARDS: usize = 16;
const PRUNE_EVERY_MS: u64 = 1_000;

/// The time the counters go by, in Unix milliseconds (periods and rolling days are calendar
/// time).
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now_ms(&self) -> u64;
}

/// The system's clock, never going back: a step back of the wall clock holds time still
/// until it catches up.
#[derive(Debug, Default)]
pub struct SystemClock {
    last: AtomicU64,
}

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |it| u64::try_from(it.as_millis()).unwrap_or(u64::MAX));
        let seen = self.last.fetch_max(wall, Ordering::Relaxed);
        seen.max(wall)
    }
}

/// A clock tests move by hand.
#[derive(Debug)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    pub fn new(now_ms: u64) -> Self {
        ManualClock(AtomicU64::new(now_ms))
    }

    /// Starts at the system's time.
    pub fn at_system_time() -> Self {
        ManualClock::new(SystemClock::default().now_ms())
    }

    pub fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The counters of this node.
#[derive(Debug)]
pub struct LocalLimiter {
    shards: Box<[Mutex<Shard>]>,
    hasher: foldhash::fast::RandomState,
    clock: Arc<dyn Clock>,
}

#[derive(Debug, Default)]
struct Shard {
    slots: Slots,
    next_prune_ms: u64,
}

/// A counter's name as a call uses it: hashed once, with the shard that holds it.
#[derive(Debug, Clone, Copy)]
struct Name<'a> {
    text: &'a str,
    hash: u64,
    shard: usize,
}

/// One shard's counters by name, each kept with its name's hash (so a growing table never
/// hashes again).
#[derive(Debug, Default)]
struct Slots(HashTable<(u64, Box<str>, Slot)>);

impl Slots {
    fn get(&self, name: Name<'_>) -> Option<&Slot> {
        self.0
            .find(name.hash, |it| *it.1 == *name.text)
            .map(|it| &it.2)
    }

    fn get_mut(&mut self, name: Name<'_>) -> Option<&mut Slot> {
        self.0
            .find_mut(name.hash, |it| *it.1 == *name.text)
            .map(|it| &mut it.2)
    }

    /// The slot `name`, made by `make` when there is none (the name copied only then).
    fn get_or_insert(&mut self, name: Name<'_>, make: impl FnOnce() -> Slot) -> &mut Slot {
        let entry = self.0.entry(name.hash, |it| *it.1 == *name.text, |it| it.0);
        let entry = match entry {
            Entry::Occupied(entry) => entry,
            Entry::Vacant(entry) => entry.insert((name.hash, name.text.into(), make())),
        };
        &mut entry.into_mut().2
    }

    /// Sets the slot `name` to `slot`, replacing what it held.
    fn put(&mut self, name: Name<'_>, slot: Slot) {
        match self.0.entry(name.hash, |it| *it.1 == *name.text, |it| it.0) {
            Entry::Occupied(mut entry) => entry.get_mut().2 = slot,
            Entry::Vacant(entry) => {
                entry.insert((name.hash, name.text.into(), slot));
            }
        }
    }

    fn retain(&mut self, mut keep: impl FnMut(&Slot) -> bool) {
        self.0.retain(|it| keep(&it.2));
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

#[derive(Debug)]
struct Slot {
    /// Gone at this instant, like a Redis key's expiry.
    expires_at_ms: u64,
    state: State,
}

#[derive(Debug)]
enum State {
    /// A sliding window's buckets `index` (`current`) and `index − 1` (`previous`).
    Sliding {
        index: u64,
        current: u64,
        previous: u64,
    },
    /// A batch's mark.
    Mark,
    /// A period's total, and which period it counts.
    Period { id: Arc<str>, total: u64 },
    /// A rolling window's daily counts.
    Days(Vec<(u64, u64)>),
    /// In-flight calls and their lease ends.
    Members(HashMap<String, u64>),
}

impl Default for LocalLimiter {
    fn default() -> Self {
        LocalLimiter::new(Arc::new(SystemClock::default()))
    }
}

impl LocalLimiter {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        LocalLimiter {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: foldhash::fast::RandomState::default(),
            clock,
        }
    }

    /// How many counters are held (expired ones not yet pruned included).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|it| lock(it).slots.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Applies `pending`, then admits `call_id` on `counters`, all or nothing (see
    /// `store::SharedLimiter::admit`).
    pub fn admit(&self, pending: &[Pending], counters: &[Counter], call_id: &str) -> Admission {
        let now = self.clock.now_ms();
        let names: SmallVec<[Name<'_>; 8]> = counters.iter().map(|it| self.name(&it.key)).collect();
        let adjusted: SmallVec<[Name<'_>; 8]> =
            pending.iter().map(|it| self.name(it.key())).collect();
        let mut locked = self.lock_for(adjusted.iter().chain(names.iter()).map(|it| it.shard), now);
        apply_all(&mut locked, pending, &adjusted, now);

        // First pass: every counter as it is, and the first that refuses.
        let mut refused = None;
        let mut states: SmallVec<[Look; 8]> = SmallVec::new();
        for (i, (counter, name)) in counters.iter().zip(&names).enumerate() {
            let slot = locked.slots(name.shard).and_then(|it| it.get(*name));
            let look = look(slot, &counter.window, now);
            let need = match counter.window {
                Window::InFlight { .. } => u64::from(counter.take > 0),
                _ => counter.take,
            };
            let fits = counter.take == 0 || look.used.saturating_add(need) <= counter.limit;
            if !fits && refused.is_none() {
                let retry = if need > counter.limit {
                    None
                } else {
                    look.retry(&counter.window, now, counter.limit, need)
                };
                refused = Some(Refusal {
                    index: i,
                    retry_after_ms: retry.unwrap_or(0).max(1),
                    exceeds_limit: retry.is_none(),
                });
            }
            states.push(look);
        }

        // Second pass, only when admitted: take.
        if refused.is_none() {
            for ((counter, name), look) in counters.iter().zip(&names).zip(&mut states) {
                if counter.take == 0 {
                    continue;
                }
                if let Some(taken) = locked
                    .slots(name.shard)
                    .map(|slots| take(slots, *name, counter, call_id, now))
                {
                    *look = taken;
                }
            }
        }

        let counters = counters
            .iter()
            .zip(&states)
            .map(|(counter, look)| CounterState {
                used: look.used,
                remaining: counter.limit.saturating_sub(look.used),
                reset_ms: look.reset_ms,
                bucket: if refused.is_none() {
                    Bucket::at(&counter.window, now)
                } else {
                    None
                },
            })
            .collect();
        Admission {
            refused,
            counters,
            now_ms: now,
        }
    }

    /// Applies `pending` alone.
    pub fn settle(&self, pending: &[Pending]) {
        let now = self.clock.now_ms();
        let adjusted: SmallVec<[Name<'_>; 8]> =
            pending.iter().map(|it| self.name(it.key())).collect();
        let mut locked = self.lock_for(adjusted.iter().map(|it| it.shard), now);
        apply_all(&mut locked, pending, &adjusted, now);
    }

    /// `text` hashed, with the shard that holds it.
    fn name<'a>(&self, text: &'a str) -> Name<'a> {
        let hash = self.hasher.hash_one(text);
        let shard = usize::try_from(hash % SHARDS as u64).unwrap_or(0);
        Name { text, hash, shard }
    }

    /// Locks `shards` in index order, pruning those that are due.
    fn lock_for(&self, shards: impl Iterator<Item = usize>, now: u64) -> Locked<'_> {
        let mut wanted: SmallVec<[usize; 8]> = shards.collect();
        wanted.sort_unstable();
        wanted.dedup();
        let guards = wanted
            .into_iter()
            .filter_map(|i| self.shards.get(i).map(|it| (i, lock(it))))
            .map(|(i, mut guard)| {
                if now >= guard.next_prune_ms {
                    guard.slots.retain(|slot| slot.expires_at_ms > now);
                    guard.next_prune_ms = now + PRUNE_EVERY_MS;
                }
                (i, guard)
            })
            .collect();
        Locked { guards }
    }
}

fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The shards one call holds.
struct Locked<'a> {
    guards: SmallVec<[(usize, MutexGuard<'a, Shard>); 8]>,
}

impl Locked<'_> {
    /// The counters of `shard`; `lock_for` locked the shard of every name the call uses, so
    /// this is never `None`.
    fn slots(&mut self, shard: usize) -> Option<&mut Slots> {
        self.guards
            .iter_mut()
            .find(|(i, _)| *i == shard)
            .map(|(_, guard)| &mut guard.slots)
    }
}

/// Applies `pending` in order, skipping a batch whose mark is set already (it was applied).
fn apply_all(locked: &mut Locked<'_>, pending: &[Pending], adjusted: &[Name<'_>], now: u64) {
    let mut skipping = false;
    for (item, name) in pending.iter().zip(adjusted) {
        let Some(slots) = locked.slots(name.shard) else {
            continue;
        };
        if let Pending::Batch { .. } = item {
            skipping = !mark_batch(slots, *name, now);
        } else if !skipping {
            apply(slots, item, *name, now);
        }
    }
}

/// Sets batch `name`'s mark; false when it was set already.
fn mark_batch(slots: &mut Slots, name: Name<'_>, now: u64) -> bool {
    if live(slots.get(name), now).is_some() {
        return false;
    }
    slots.put(
        name,
        Slot {
            expires_at_ms: now.saturating_add(BATCH_MEMORY_MS),
            state: State::Mark,
        },
    );
    true
}

/// What a counter holds at `now`.
#[derive(Debug, Default)]
struct Look {
    used: u64,
    reset_ms: u64,
    // For the retry estimate.
    previous: u64,
    current: u64,
    days: Vec<(u64, u64)>,
    earliest_lease_end: Option<u64>,
}

impl Look {
    /// When `need` fits under `limit`; `None`: never.
    fn retry(&self, window: &Window, now: u64, limit: u64, need: u64) -> Option<u64> {
        match window {
            Window::Sliding { span_ms } => {
                let span = (*span_ms).max(1);
                sliding_retry(self.previous, self.current, span, now % span, limit, need)
            }
            Window::Period { ends_at_ms, .. } => Some(ends_at_ms.saturating_sub(now)),
            Window::Rolling { days } => rolling(&self.days, *days, now, limit, need).2,
            Window::InFlight { .. } => self.earliest_lease_end.map(|it| it.saturating_sub(now)),
        }
    }
}

fn live(slot: Option<&Slot>, now: u64) -> Option<&State> {
    slot.filter(|it| it.expires_at_ms > now).map(|it| &it.state)
}

fn look(slot: Option<&Slot>, window: &Window, now: u64) -> Look {
    let state = live(slot, now);
    match window {
        Window::Sliding { span_ms } => {
            let span = (*span_ms).max(1);
            let index = now / span;
            let (current, previous) = match state {
                Some(State::Sliding {
                    index: at,
                    current,
                    previous,
                }) if *at == index => (*current, *previous),
                Some(State::Sliding {
                    index: at, current, ..
                }) if *at + 1 == index => (0, *current),
                _ => (0, 0),
            };
            let into = now % span;
            Look {
                used: sliding_used(previous, current, span, into),
                reset_ms: sliding_reset(previous, current, span, into),
                previous,
                current,
                ..Look::default()
            }
        }
        Window::Period { id, ends_at_ms } => Look {
            used: match state {
                Some(State::Period { id: at, total }) if at == id => *total,
                _ => 0,
            },
            reset_ms: ends_at_ms.saturating_sub(now),
            ..Look::default()
        },
        Window::Rolling { days } => {
            let counts = match state {
                Some(State::Days(counts)) => counts.clone(),
                _ => Vec::new(),
            };
            let (used, reset_ms, _) = rolling(&counts, *days, now, u64::MAX, 0);
            Look {
                used,
                reset_ms,
                days: counts,
                ..Look::default()
            }
        }
        Window::InFlight { .. } => {
            let ends = match state {
                Some(State::Members(members)) => {
                    members.values().copied().filter(|end| *end > now).collect()
                }
                _ => Vec::new(),
            };
            Look {
                used: u64::try_from(ends.len()).unwrap_or(u64::MAX),
                reset_ms: ends.iter().max().map_or(0, |it| it - now),
                earliest_lease_end: ends.iter().min().copied(),
                ..Look::default()
            }
        }
    }
}

/// The slot `name` as a live one of the kind `fresh` makes, replacing an expired one or one of
/// another kind. The name is copied only when the slot is new (always `Some`).
fn slot_mut<'a>(
    slots: &'a mut Slots,
    name: Name<'_>,
    now: u64,
    same_kind: impl Fn(&State) -> bool,
    fresh: impl Fn() -> State,
) -> &'a mut Slot {
    let new = || Slot {
        expires_at_ms: now,
        state: fresh(),
    };
    let slot = slots.get_or_insert(name, new);
    if slot.expires_at_ms <= now || !same_kind(&slot.state) {
        *slot = new();
    }
    slot
}

fn is_sliding(state: &State) -> bool {
    matches!(state, State::Sliding { .. })
}

/// Moves a sliding window's buckets to `index`.
fn roll(state: &mut State, to: u64) {
    if let State::Sliding {
        index,
        current,
        previous,
    } = state
        && *index != to
    {
        *previous = if *index + 1 == to { *current } else { 0 };
        *current = 0;
        *index = to;
    }
}

fn add(n: &mut u64, delta: i64) {
    *n = if delta >= 0 {
        n.saturating_add(delta.unsigned_abs())
    } else {
        n.saturating_sub(delta.unsigned_abs())
    };
}

/// Applies one adjustment: only to a bucket that still counts; a decrease of nothing does
/// nothing (and creates nothing).
fn apply(slots: &mut Slots, item: &Pending, name: Name<'_>, now: u64) {
    match item {
        // Marks are set by `apply_all`.
        Pending::Batch { .. } => {}
        Pending::Release { member, .. } => {
            if let Some(Slot {
                state: State::Members(members),
                ..
            }) = slots.get_mut(name)
            {
                members.remove(member);
            }
        }
        Pending::Settle { bucket, delta, .. } => {
            let Some(until) = live_until(bucket, now) else {
                return;
            };
            if *delta == 0 {
                return;
            }
            let exists = |name: Name<'_>, slots: &Slots| {
                slots.get(name).is_some_and(|it| it.expires_at_ms > now)
            };
            match bucket {
                Bucket::Sliding { span_ms, index } => {
                    if *delta < 0 && !exists(name, slots) {
                        return;
                    }
                    let current_index = now / (*span_ms).max(1);
                    let slot = slot_mut(slots, name, now, is_sliding, || State::Sliding {
                        index: current_index,
                        current: 0,
                        previous: 0,
                    });
                    roll(&mut slot.state, current_index);
                    if let State::Sliding {
                        current, previous, ..
                    } = &mut slot.state
                    {
                        add(
                            if *index == current_index {
                                current
                            } else {
                                previous
                            },
                            *delta,
                        );
                    }
                    slot.expires_at_ms = until;
                }
                Bucket::Period { id, .. } => match slots.get_mut(name) {
                    Some(slot) if slot.expires_at_ms > now => {
                        // Another period counts now: this one's adjustment changes nothing.
                        if let State::Period { id: at, total } = &mut slot.state
                            && at == id
                        {
                            add(total, *delta);
                            slot.expires_at_ms = slot.expires_at_ms.max(until);
                        }
                    }
                    _ if *delta > 0 => {
                        slots.put(
                            name,
                            Slot {
                                expires_at_ms: until,
                                state: State::Period {
                                    id: id.clone(),
                                    total: delta.unsigned_abs(),
                                },
                            },
                        );
                    }
                    _ => {}
                },
                Bucket::Rolling { day, .. } => {
                    if *delta < 0 && !exists(name, slots) {
                        return;
                    }
                    let slot = slot_mut(
                        slots,
                        name,
                        now,
                        |it| matches!(it, State::Days(_)),
                        || State::Days(Vec::new()),
                    );
                    if let State::Days(counts) = &mut slot.state {
                        match counts.iter_mut().find(|(d, _)| d == day) {
                            Some((_, n)) => add(n, *delta),
                            None if *delta > 0 => counts.push((*day, delta.unsigned_abs())),
                            None => {}
                        }
                    }
                    slot.expires_at_ms = slot.expires_at_ms.max(until);
                }
            }
        }
    }
}

/// Takes `counter.take` (admitted), and answers what the counter holds then.
fn take(slots: &mut Slots, name: Name<'_>, counter: &Counter, call_id: &str, now: u64) -> Look {
    match &counter.window {
        Window::Sliding { span_ms } => {
            let span = (*span_ms).max(1);
            let index = now / span;
            let slot = slot_mut(slots, name, now, is_sliding, || State::Sliding {
                index,
                current: 0,
                previous: 0,
            });
            roll(&mut slot.state, index);
            if let State::Sliding { current, .. } = &mut slot.state {
                *current = current.saturating_add(counter.take);
            }
            slot.expires_at_ms = (index + 2) * span;
            look(Some(slot), &counter.window, now)
        }
        Window::Period { id, ends_at_ms } => {
            let slot = slot_mut(
                slots,
                name,
                now,
                |it| matches!(it, State::Period { id: at, .. } if at == id),
                || State::Period {
                    id: id.clone(),
                    total: 0,
                },
            );
            if let State::Period { total, .. } = &mut slot.state {
                *total = total.saturating_add(counter.take);
            }
            slot.expires_at_ms = ends_at_ms.saturating_add(PERIOD_GRACE_MS);
            look(Some(slot), &counter.window, now)
        }
        Window::Rolling { days } => {
            let today = now / DAY_MS;
            let first = (today + 1).saturating_sub(u64::from(*days));
            let slot = slot_mut(
                slots,
                name,
                now,
                |it| matches!(it, State::Days(_)),
                || State::Days(Vec::new()),
            );
            if let State::Days(counts) = &mut slot.state {
                counts.retain(|(day, _)| *day >= first && *day <= today);
                match counts.iter_mut().find(|(day, _)| *day == today) {
                    Some((_, n)) => *n = n.saturating_add(counter.take),
                    None => counts.push((today, counter.take)),
                }
            }
            slot.expires_at_ms = (today + u64::from(*days)) * DAY_MS;
            look(Some(slot), &counter.window, now)
        }
        Window::InFlight { lease_ms } => {
            let end = now.saturating_add(*lease_ms);
            let slot = slot_mut(
                slots,
                name,
                now,
                |it| matches!(it, State::Members(_)),
                || State::Members(HashMap::default()),
            );
            if let State::Members(members) = &mut slot.state {
                members.retain(|_, lease_end| *lease_end > now);
                members.insert(call_id.to_owned(), end);
            }
            slot.expires_at_ms = slot.expires_at_ms.max(end);
            look(Some(slot), &counter.window, now)
        }
    }
}

#[async_trait::async_trait]
impl store::SharedLimiter for LocalLimiter {
    async fn admit(
        &self,
        pending: &[Pending],
        counters: &[Counter],
        call_id: &str,
    ) -> Result<Admission, store::Error> {
        Ok(LocalLimiter::admit(self, pending, counters, call_id))
    }

    async fn settle(&self, pending: &[Pending]) -> Result<(), store::Error> {
        LocalLimiter::settle(self, pending);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use store::limits::SharedLimiter;
    use store::limits::contract::Harness;

    use super::{Clock, LocalLimiter, ManualClock};

    struct Local {
        limiter: LocalLimiter,
        clock: Arc<ManualClock>,
    }

    #[async_trait::async_trait]
    impl Harness for Local {
        fn limiter(&self) -> &dyn SharedLimiter {
            &self.limiter
        }

        fn key(&self, name: &str) -> String {
            format!("{{test}}:{name}")
        }

        async fn advance(&self, ms: u64) {
            self.clock.advance(ms);
        }
    }

    async fn local() -> Option<Local> {
        // A minute into an hour: early in every sliding bucket of the suite, so that its
        // refusals are exercised every run (Redis's runs depend on the time of day).
        let hour = 3_600_000;
        let now = ManualClock::at_system_time().now_ms() / hour * hour + 60_000;
        let clock = Arc::new(ManualClock::new(now));
        Some(Local {
            limiter: LocalLimiter::new(clock.clone()),
            clock,
        })
    }

    mod contract {
        use super::local;

        store::limiter_contract_tests!(local);
    }

    #[test]
    fn expired_counters_are_pruned() {
        use store::limits::{Counter, Window};
        let clock = Arc::new(ManualClock::at_system_time());
        let limiter = LocalLimiter::new(clock.clone());
        for i in 0..100 {
            let counter = Counter {
                key: format!("k{i}").into(),
                window: Window::Sliding { span_ms: 1_000 },
                limit: 10,
                take: 1,
            };
            assert!(limiter.admit(&[], &[counter], "c").is_admitted());
        }
        assert_eq!(limiter.len(), 100);
        clock.advance(3_000);
        let touch = |i: usize| Counter {
            key: format!("touch{i}").into(),
            window: Window::Sliding { span_ms: 1_000 },
            limit: 10,
            take: 0,
        };
        // Every shard pruned once it is used after its counters expired.
        for i in 0..1_000 {
            let _ = limiter.admit(&[], &[touch(i)], "c");
        }
        assert_eq!(limiter.len(), 0, "checks leave nothing behind");
    }
}
