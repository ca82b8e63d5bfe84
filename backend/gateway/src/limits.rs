//! The rate-limit and budget counters as the admit stage calls them (`Limiter`): the shared
//! counters (`store::SharedLimiter`, Redis) when configured, this node's (`LocalLimiter`)
//! otherwise or when the caller's fail-open policy falls back to them.
//!
//! A call's settlements and in-flight releases are queued here and ride on the next admission
//! to the shared counters, so each call costs one round trip; a flusher on the `TaskTracker`
//! sends what waited ~50 ms with no admission to carry it, or when the queue fills. What fails
//! to send is kept for the next try, up to a bound; beyond it the oldest is dropped, counted
//! and logged.

mod local;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use metrics::Counter as MetricCounter;
use store::SharedLimiter;
use store::limits::{Admission, Counter, Pending, hash_tag};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use local::{Clock, LocalLimiter, ManualClock, SystemClock};

/// How the limiter talks to the shared counters.
#[derive(Debug, Clone)]
pub struct Config {
    /// The most one round trip may take before the counters count as unavailable.
    pub timeout: Duration,
    /// Adjustments kept waiting at most; beyond, the oldest is dropped (and counted).
    pub max_pending: usize,
    /// Adjustments one admission carries at most.
    pub max_carried: usize,
    /// How long an adjustment waits for an admission to carry it before the flusher sends it.
    pub flush_after: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            timeout: Duration::from_millis(250),
            max_pending: 8_192,
            max_carried: 64,
            flush_after: Duration::from_millis(50),
        }
    }
}

/// The shared counters could not be asked (down, or too slow; or, with
/// `store::Error::Other`, they refused the request as malformed, a bug): the caller applies
/// the tenant's policy, refusing (fail closed) or asking [`Limiter::admit_local`] (fail open).
#[derive(Debug, thiserror::Error)]
#[error("the shared rate-limit counters are unavailable")]
pub struct LimitsUnavailable(#[source] pub store::Error);

/// The admit stage's counters.
#[derive(Debug, Clone)]
pub struct Limiter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    shared: Option<Arc<dyn SharedLimiter>>,
    local: LocalLimiter,
    config: Config,
    queue: Mutex<VecDeque<Queued>>,
    /// Wakes the flusher early: the queue is filling.
    wake: Notify,
    /// Dropped since the flusher last said so.
    dropped_unreported: AtomicU64,
    /// Whether the last round trip to the shared counters failed.
    unreachable: std::sync::atomic::AtomicBool,
    metrics: Metrics,
}

#[derive(Debug)]
struct Queued {
    since: Instant,
    item: Pending,
    /// Whether an admission may carry it: not after the counters refused a request that
    /// carried it as malformed, so that a bad adjustment cannot keep failing admissions (the
    /// flusher then sends it alone, and drops it if it is refused again).
    carry: bool,
}

/// Pre-registered handles, so that counting allocates nothing.
#[derive(Debug)]
struct Metrics {
    admit_ok: MetricCounter,
    admit_error: MetricCounter,
    settle_ok: MetricCounter,
    settle_error: MetricCounter,
    fallbacks: MetricCounter,
    dropped: MetricCounter,
    /// 1 while the last round trip to the shared counters failed.
    unreachable: metrics::Gauge,
}

impl Metrics {
    fn new() -> Self {
        let trip = |op: &'static str, outcome: &'static str| metrics::counter!("gateway_limits_round_trips_total", "op" => op, "outcome" => outcome);
        Metrics {
            admit_ok: trip("admit", "ok"),
            admit_error: trip("admit", "error"),
            settle_ok: trip("settle", "ok"),
            settle_error: trip("settle", "error"),
            fallbacks: metrics::counter!("gateway_limits_fallbacks_total"),
            dropped: metrics::counter!("gateway_limits_settlements_dropped_total"),
            unreachable: metrics::gauge!("gateway_limits_shared_unreachable"),
        }
    }
}

impl Limiter {
    /// Counters on this node only.
    pub fn local(local: LocalLimiter) -> Self {
        Limiter::build(None, local, Config::default())
    }

    /// Counters shared through `shared`, with `local` for the fail-open fallback; the flusher
    /// runs on `tasks` until `cancel`, and then sends what is queued one last time.
    pub fn shared(
        shared: Arc<dyn SharedLimiter>,
        local: LocalLimiter,
        config: Config,
        tasks: &TaskTracker,
        cancel: CancellationToken,
    ) -> Self {
        let res = Limiter::build(Some(shared), local, config);
        let flusher = res.clone();
        tasks.spawn(async move { flusher.flush_loop(cancel).await });
        res
    }

    fn build(shared: Option<Arc<dyn SharedLimiter>>, local: LocalLimiter, config: Config) -> Self {
        Limiter {
            inner: Arc::new(Inner {
                shared,
                local,
                config,
                queue: Mutex::new(VecDeque::new()),
                wake: Notify::new(),
                dropped_unreported: AtomicU64::new(0),
                unreachable: std::sync::atomic::AtomicBool::new(false),
                metrics: Metrics::new(),
            }),
        }
    }

    /// Whether counters are shared between nodes.
    pub fn is_shared(&self) -> bool {
        self.inner.shared.is_some()
    }

    /// Where calls are counted now: `shared`, `local` (no shared counters configured) or
    /// `unreachable` (configured, but the last round trip failed: each tenant's policy
    /// applies, and fail-open calls are counted by this node alone).
    pub fn state(&self) -> &'static str {
        match &self.inner.shared {
            None => "local",
            Some(_) if self.inner.unreachable.load(Ordering::Relaxed) => "unreachable",
            Some(_) => "shared",
        }
    }

    fn reached(&self, ok: bool) {
        let inner = &*self.inner;
        if inner.unreachable.swap(!ok, Ordering::Relaxed) == ok {
            inner.metrics.unreachable.set(if ok { 0.0 } else { 1.0 });
        }
    }

    /// Admits `call_id` on `counters`, all or nothing, carrying this node's queued adjustments
    /// of the same hash tag in the same round trip.
    ///
    /// # Errors
    /// [`LimitsUnavailable`] when the shared counters did not answer within the configured
    /// timeout; the carried adjustments are queued again.
    pub async fn admit(
        &self,
        counters: &[Counter],
        call_id: &str,
    ) -> Result<Admission, LimitsUnavailable> {
        let inner = &*self.inner;
        let Some(shared) = &inner.shared else {
            return Ok(inner.local.admit(&[], counters, call_id));
        };
        let carried = match counters.first() {
            Some(first) => self.take_queued(hash_tag(&first.key)),
            None => Vec::new(),
        };
        let asked = tokio::time::timeout(
            inner.config.timeout,
            shared.admit(&carried, counters, call_id),
        )
        .await;
        let error = match asked {
            Ok(Ok(admission)) => {
                inner.metrics.admit_ok.increment(1);
                self.reached(true);
                return Ok(admission);
            }
            Ok(Err(e)) => e,
            Err(_) => {
                store::Error::Unavailable("the shared counters did not answer in time".into())
            }
        };
        inner.metrics.admit_error.increment(1);
        self.reached(false);
        let carry = matches!(error, store::Error::Unavailable(_));
        self.requeue(carried, carry);
        Err(LimitsUnavailable(error))
    }

    /// Admits on this node's counters: the fail-open fallback (counted as one when counters
    /// are shared). Settle what it admits with [`Limiter::settle_local`].
    pub fn admit_local(&self, counters: &[Counter], call_id: &str) -> Admission {
        if self.inner.shared.is_some() {
            self.inner.metrics.fallbacks.increment(1);
        }
        self.inner.local.admit(&[], counters, call_id)
    }

    /// Queues an adjustment of what [`Limiter::admit`] admitted; it never waits.
    pub fn settle(&self, item: Pending) {
        let inner = &*self.inner;
        if inner.shared.is_none() {
            inner.local.settle(std::slice::from_ref(&item));
            return;
        }
        let len = {
            let mut queue = self.queue();
            queue.push_back(Queued {
                since: Instant::now(),
                item,
                carry: true,
            });
            self.trim(&mut queue);
            queue.len()
        };
        if len >= inner.config.max_pending / 2 {
            inner.wake.notify_one();
        }
    }

    /// Adjusts what [`Limiter::admit_local`] admitted.
    pub fn settle_local(&self, item: Pending) {
        self.inner.local.settle(std::slice::from_ref(&item));
    }

    /// Adjustments waiting to be sent.
    pub fn pending(&self) -> usize {
        self.queue().len()
    }

    /// Sends every queued adjustment now, one round trip per hash tag.
    ///
    /// # Errors
    /// [`LimitsUnavailable`] when a round trip failed; what it carried is queued again.
    pub async fn flush(&self) -> Result<(), LimitsUnavailable> {
        self.flush_older_than(Duration::ZERO).await
    }

    fn queue(&self) -> MutexGuard<'_, VecDeque<Queued>> {
        self.inner
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Drops the oldest adjustments beyond the bound.
    fn trim(&self, queue: &mut VecDeque<Queued>) {
        let over = queue.len().saturating_sub(self.inner.config.max_pending);
        if over > 0 {
            queue.drain(..over);
            let over = u64::try_from(over).unwrap_or(u64::MAX);
            self.inner.metrics.dropped.increment(over);
            self.inner
                .dropped_unreported
                .fetch_add(over, Ordering::Relaxed);
        }
    }

    /// Takes up to `max_carried` queued adjustments of hash tag `tag`, oldest first, looking
    /// no further than a few times that into the queue (the request path holds the lock).
    fn take_queued(&self, tag: &str) -> Vec<Pending> {
        let max = self.inner.config.max_carried;
        let mut queue = self.queue();
        let mut res = Vec::new();
        let mut i = 0;
        while i < queue.len() && i < max * 4 && res.len() < max {
            if queue[i].carry && hash_tag(queue[i].item.key()) == tag {
                if let Some(it) = queue.remove(i) {
                    res.push(it.item);
                }
            } else {
                i += 1;
            }
        }
        res
    }

    /// Puts back adjustments that could not be sent, ahead of newer ones (so that the bound
    /// drops them first).
    fn requeue(&self, items: Vec<Pending>, carry: bool) {
        if items.is_empty() {
            return;
        }
        let now = Instant::now();
        let mut queue = self.queue();
        for item in items.into_iter().rev() {
            queue.push_front(Queued {
                since: now,
                item,
                carry,
            });
        }
        self.trim(&mut queue);
    }

    /// Sends the adjustments that waited `age` or more, grouped by hash tag (one round trip
    /// each, as Redis Cluster requires).
    async fn flush_older_than(&self, age: Duration) -> Result<(), LimitsUnavailable> {
        let inner = &*self.inner;
        let Some(shared) = &inner.shared else {
            return Ok(());
        };
        let due: Vec<Pending> = {
            let mut queue = self.queue();
            let now = Instant::now();
            let n = queue
                .iter()
                .take_while(|it| now.duration_since(it.since) >= age)
                .count();
            // A full queue goes out whatever its age.
            let n = if queue.len() >= inner.config.max_pending / 2 {
                queue.len()
            } else {
                n
            };
            queue.drain(..n).map(|it| it.item).collect()
        };
        let mut groups: Vec<(String, Vec<Pending>)> = Vec::new();
        for item in due {
            let tag = hash_tag(item.key());
            match groups.iter_mut().find(|(it, _)| it == tag) {
                Some((_, group)) => group.push(item),
                None => groups.push((tag.to_owned(), vec![item])),
            }
        }
        let mut failed: Option<store::Error> = None;
        let mut unsent = Vec::new();
        for (_, group) in groups {
            for chunk in group.chunks(inner.config.max_carried.max(1)) {
                if failed.is_some() {
                    unsent.extend_from_slice(chunk);
                    continue;
                }
                match tokio::time::timeout(inner.config.timeout, shared.settle(chunk)).await {
                    Ok(Ok(())) => inner.metrics.settle_ok.increment(1),
                    Ok(Err(e @ (store::Error::Other(_) | store::Error::Conflict(_)))) => {
                        // Refused as malformed: sending it again would fail again.
                        inner.metrics.settle_error.increment(1);
                        let n = u64::try_from(chunk.len()).unwrap_or(u64::MAX);
                        inner.metrics.dropped.increment(n);
                        tracing::error!(error = %e, dropped = n, "limits: settlements refused by the shared counters, dropped");
                    }
                    outcome => {
                        inner.metrics.settle_error.increment(1);
                        failed = Some(match outcome {
                            Ok(Err(e)) => e,
                            _ => store::Error::Unavailable(
                                "the shared counters did not answer in time".into(),
                            ),
                        });
                        unsent.extend_from_slice(chunk);
                    }
                }
            }
        }
        self.requeue(unsent, true);
        failed.map_or(Ok(()), |e| Err(LimitsUnavailable(e)))
    }

    async fn flush_loop(&self, cancel: CancellationToken) {
        let flush_after = self.inner.config.flush_after;
        let mut backoff = flush_after;
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                () = self.inner.wake.notified() => {}
                () = tokio::time::sleep(backoff) => {}
            }
            match self.flush_older_than(flush_after).await {
                Ok(()) => backoff = flush_after,
                Err(e) => {
                    tracing::debug!(error = %e, pending = self.pending(), "limits: settlements not sent; kept for the next try");
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
            self.report_dropped();
        }
        if let Err(e) = self.flush().await {
            tracing::warn!(error = %e, pending = self.pending(), "limits: settlements not sent at shutdown");
        }
        self.report_dropped();
    }

    fn report_dropped(&self) {
        let dropped = self.inner.dropped_unreported.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            tracing::warn!(
                dropped,
                bound = self.inner.config.max_pending,
                "limits: settlements dropped, the queue was full (the shared counters are unreachable)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::Duration;

    use store::limits::{Admission, Counter, Pending, SharedLimiter, Window};
    use tokio_util::sync::CancellationToken;
    use tokio_util::task::TaskTracker;

    use super::{Config, Limiter, LocalLimiter, ManualClock};

    /// Shared counters that are up or down on demand, and record what they were sent. (The
    /// counters themselves are a `LocalLimiter`: this tests the queue, not the arithmetic.)
    #[derive(Debug)]
    struct Switch {
        up: AtomicBool,
        hang: AtomicBool,
        counters: LocalLimiter,
        admits: AtomicUsize,
        settles: AtomicUsize,
        carried: std::sync::Mutex<Vec<usize>>,
    }

    impl Switch {
        fn new() -> Arc<Self> {
            Arc::new(Switch {
                up: AtomicBool::new(true),
                hang: AtomicBool::new(false),
                counters: LocalLimiter::new(Arc::new(ManualClock::at_system_time())),
                admits: AtomicUsize::new(0),
                settles: AtomicUsize::new(0),
                carried: std::sync::Mutex::new(Vec::new()),
            })
        }

        async fn gate(&self) -> Result<(), store::Error> {
            if self.hang.load(Ordering::Relaxed) {
                std::future::pending::<()>().await;
            }
            if self.up.load(Ordering::Relaxed) {
                Ok(())
            } else {
                Err(store::Error::Unavailable("down".into()))
            }
        }
    }

    #[async_trait::async_trait]
    impl SharedLimiter for Switch {
        async fn admit(
            &self,
            pending: &[Pending],
            counters: &[Counter],
            call_id: &str,
        ) -> Result<Admission, store::Error> {
            self.gate().await?;
            self.admits.fetch_add(1, Ordering::Relaxed);
            self.carried.lock().unwrap().push(pending.len());
            Ok(self.counters.admit(pending, counters, call_id))
        }

        async fn settle(&self, pending: &[Pending]) -> Result<(), store::Error> {
            self.gate().await?;
            self.settles.fetch_add(1, Ordering::Relaxed);
            self.counters.settle(pending);
            Ok(())
        }
    }

    fn rpm(tenant: &str) -> Counter {
        Counter {
            key: format!("{{t:{tenant}}}:rpm"),
            window: Window::Sliding { span_ms: 60_000 },
            limit: 100,
            take: 1,
        }
    }

    fn give_back(admission: &Admission, counter: &Counter) -> Pending {
        Pending::Settle {
            key: counter.key.clone(),
            bucket: admission.counters[0].bucket.clone().unwrap(),
            delta: -1,
        }
    }

    fn shared(switch: &Arc<Switch>, config: Config) -> (Limiter, TaskTracker, CancellationToken) {
        let tasks = TaskTracker::new();
        let cancel = CancellationToken::new();
        let limiter = Limiter::shared(
            switch.clone(),
            LocalLimiter::default(),
            config,
            &tasks,
            cancel.clone(),
        );
        (limiter, tasks, cancel)
    }

    fn quiet() -> Config {
        // No flush during the test unless asked.
        Config {
            flush_after: Duration::from_secs(3_600),
            ..Config::default()
        }
    }

    #[tokio::test]
    async fn settlements_ride_on_the_next_admission_of_the_same_tag() {
        let switch = Switch::new();
        let (limiter, _tasks, _cancel) = shared(&switch, quiet());
        let first = limiter.admit(&[rpm("a")], "c1").await.unwrap();
        limiter.settle(give_back(&first, &rpm("a")));
        let other = limiter.admit(&[rpm("b")], "c2").await.unwrap();
        assert!(other.is_admitted());
        assert_eq!(
            limiter.pending(),
            1,
            "tenant b's call does not carry a's settlement"
        );
        let second = limiter.admit(&[rpm("a")], "c3").await.unwrap();
        assert_eq!(
            second.counters[0].used, 1,
            "1 + 1 − 1: the release landed first"
        );
        assert_eq!(limiter.pending(), 0);
        assert_eq!(
            switch.admits.load(Ordering::Relaxed),
            3,
            "one round trip per call"
        );
        assert_eq!(*switch.carried.lock().unwrap(), [0, 0, 1]);
        assert_eq!(switch.settles.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn the_flusher_sends_what_no_admission_carried() {
        let switch = Switch::new();
        let config = Config {
            flush_after: Duration::from_millis(20),
            ..Config::default()
        };
        let (limiter, tasks, cancel) = shared(&switch, config);
        let admitted = limiter.admit(&[rpm("a")], "c1").await.unwrap();
        limiter.settle(give_back(&admitted, &rpm("a")));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while limiter.pending() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(limiter.pending(), 0);
        assert_eq!(switch.settles.load(Ordering::Relaxed), 1);
        let check = Counter {
            take: 0,
            ..rpm("a")
        };
        assert_eq!(
            switch.counters.admit(&[], &[check], "x").counters[0].used,
            0
        );
        cancel.cancel();
        tasks.close();
        tasks.wait().await;
    }

    #[tokio::test]
    async fn unavailable_counters_answer_quickly_and_keep_the_settlements() {
        let switch = Switch::new();
        let config = Config {
            timeout: Duration::from_millis(100),
            ..quiet()
        };
        let (limiter, _tasks, _cancel) = shared(&switch, config);
        let admitted = limiter.admit(&[rpm("a")], "c1").await.unwrap();
        limiter.settle(give_back(&admitted, &rpm("a")));

        switch.hang.store(true, Ordering::Relaxed);
        let started = std::time::Instant::now();
        let refused = limiter.admit(&[rpm("a")], "c2").await;
        assert!(refused.is_err(), "a hung Redis is an unavailable one");
        assert!(started.elapsed() < Duration::from_millis(500));
        assert_eq!(limiter.pending(), 1, "the carried settlement is kept");
        assert!(limiter.flush().await.is_err());
        assert_eq!(limiter.pending(), 1);

        // The caller's fail-open policy: this node's counters.
        let local = limiter.admit_local(&[rpm("a")], "c2");
        assert!(local.is_admitted());
        assert_eq!(local.counters[0].used, 1);

        switch.hang.store(false, Ordering::Relaxed);
        limiter.flush().await.unwrap();
        assert_eq!(limiter.pending(), 0);
    }

    #[tokio::test]
    async fn beyond_the_bound_the_oldest_settlements_are_dropped() {
        let switch = Switch::new();
        switch.up.store(false, Ordering::Relaxed);
        let config = Config {
            max_pending: 4,
            ..quiet()
        };
        let (limiter, _tasks, _cancel) = shared(&switch, config);
        for i in 0..6 {
            limiter.settle(Pending::Release {
                key: "{t:a}:slots".into(),
                member: format!("call{i}"),
            });
        }
        assert_eq!(limiter.pending(), 4);
        assert!(limiter.admit(&[rpm("a")], "c").await.is_err());
        assert_eq!(limiter.pending(), 4, "put back, still bounded");
        let kept: Vec<String> = limiter
            .queue()
            .iter()
            .map(|it| match &it.item {
                Pending::Release { member, .. } => member.clone(),
                Pending::Settle { .. } => String::new(),
            })
            .collect();
        assert_eq!(
            kept,
            ["call2", "call3", "call4", "call5"],
            "the newest are kept"
        );
    }

    /// The real shared counters, or `None` (said loudly) without a Redis; under `CI=true` a
    /// missing Redis fails.
    #[expect(clippy::print_stderr, reason = "a skipped test must be visible")]
    async fn redis() -> Option<store_redis::RedisLimiter> {
        let url =
            std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        match store_redis::RedisLimiter::connect(&url, Duration::from_millis(250)).await {
            Ok(it) => Some(it),
            Err(e) => {
                assert!(
                    !std::env::var("CI").is_ok_and(|it| it == "true" || it == "1"),
                    "Redis at {url} is required (CI) but unreachable: {e}"
                );
                eprintln!("\n!!!!!!!! SKIPPING Redis test: no server at {url} ({e}) !!!!!!!!\n");
                None
            }
        }
    }

    #[tokio::test]
    async fn over_redis_each_call_is_one_round_trip_carrying_the_last_settlement() {
        let Some(redis) = redis().await else { return };
        let tasks = TaskTracker::new();
        let limiter = Limiter::shared(
            Arc::new(redis.clone()),
            LocalLimiter::default(),
            quiet(),
            &tasks,
            CancellationToken::new(),
        );
        let tpm = Counter {
            key: format!("{{t:{}}}:tpm", uuid::Uuid::now_v7()),
            window: Window::Sliding { span_ms: 3_600_000 },
            limit: 1_000_000,
            take: 500,
        };
        let before = redis.round_trips();
        for call in 0..20 {
            let admission = limiter
                .admit(std::slice::from_ref(&tpm), &format!("call-{call}"))
                .await
                .unwrap();
            assert!(admission.is_admitted());
            // The call used 200 tokens of the 500 it reserved.
            limiter.settle(Pending::Settle {
                key: tpm.key.clone(),
                bucket: admission.counters[0].bucket.clone().unwrap(),
                delta: -300,
            });
        }
        assert_eq!(redis.round_trips() - before, 20, "one round trip per call");
        assert_eq!(limiter.pending(), 1, "the last call's settlement waits");
        limiter.flush().await.unwrap();
        assert_eq!(redis.round_trips() - before, 21);
        let check = Counter { take: 0, ..tpm };
        let state = limiter.admit(&[check], "check").await.unwrap();
        assert_eq!(state.counters[0].used, 20 * 200);
    }

    #[tokio::test]
    async fn a_settlement_the_counters_refuse_stops_riding_and_is_dropped_by_the_flusher() {
        let Some(redis) = redis().await else { return };
        let tasks = TaskTracker::new();
        let limiter = Limiter::shared(
            Arc::new(redis),
            LocalLimiter::default(),
            quiet(),
            &tasks,
            CancellationToken::new(),
        );
        let counter = Counter {
            key: format!("{{t:{}}}:rpm", uuid::Uuid::now_v7()),
            ..rpm("unused")
        };
        // A delta beyond what the script holds exactly: a caller's bug.
        limiter.settle(Pending::Settle {
            key: counter.key.clone(),
            bucket: store::limits::Bucket::Sliding {
                span_ms: 60_000,
                index: 1,
            },
            delta: i64::MAX,
        });
        let refused = limiter.admit(std::slice::from_ref(&counter), "c1").await;
        assert!(matches!(
            refused,
            Err(super::LimitsUnavailable(store::Error::Other(_)))
        ));
        assert_eq!(limiter.pending(), 1, "kept, but no longer carried");
        let admitted = limiter.admit(std::slice::from_ref(&counter), "c2").await;
        assert!(
            admitted.unwrap().is_admitted(),
            "the next call is not held hostage"
        );
        assert!(limiter.flush().await.is_ok());
        assert_eq!(limiter.pending(), 0, "dropped when refused alone");
    }

    #[tokio::test]
    async fn without_shared_counters_everything_is_local() {
        let limiter = Limiter::local(LocalLimiter::default());
        assert!(!limiter.is_shared());
        let counter = Counter {
            limit: 1,
            ..rpm("a")
        };
        let admitted = limiter
            .admit(std::slice::from_ref(&counter), "c1")
            .await
            .unwrap();
        assert!(admitted.is_admitted());
        assert!(
            !limiter
                .admit(std::slice::from_ref(&counter), "c2")
                .await
                .unwrap()
                .is_admitted()
        );
        limiter.settle(Pending::Settle {
            key: counter.key.clone(),
            bucket: admitted.counters[0].bucket.clone().unwrap(),
            delta: -1,
        });
        assert!(limiter.admit(&[counter], "c3").await.unwrap().is_admitted());
    }
}
